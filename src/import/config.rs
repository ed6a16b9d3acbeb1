//! `config.json` of a Hugging Face model directory: the family (`model_type`) and the sizes.

use std::path::Path;

use serde_json::Value;

use crate::error::InputError;

/// The model families `import` knows the weight layout of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BERT and its distillations (MiniLM): full attention, PyTorch `Linear` weights `(out, in)`,
    /// embedding LayerNorm.
    Bert,
    /// GPT-2: causal attention, `Conv1D` weights `(in, out)` (`c_attn` packs Q, K, V), no
    /// embedding LayerNorm.
    Gpt2,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::Gpt2 => "gpt2",
        }
    }
}

/// What `import` needs from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub family: Family,
    /// `d`, the width of the residual stream.
    pub hidden: usize,
    pub heads: usize,
    pub layers: usize,
    /// LayerNorm's `ε` (the embedding LayerNorm of BERT).
    pub layer_norm_eps: f64,
    pub max_positions: usize,
}

/// Largest width accepted (the system file's `dim` limit).
const MAX_HIDDEN: usize = crate::system::MAX_DIM;

/// Parses `config.json` text; `path` names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Config, InputError> {
    let err = |field: &str, why: String| InputError::new(path, field, why);
    let v: Value = serde_json::from_str(text).map_err(|e| err("", format!("malformed JSON: {e}")))?;
    let Value::Object(map) = &v else { return Err(err("", "expected a JSON object".into())) };
    let kind = match map.get("model_type") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(err("model_type", "expected a string".into())),
        None => return Err(err("model_type", "missing: cannot tell the model family (supported: \"bert\", \"gpt2\")".into())),
    };
    let family = match kind {
        "bert" => Family::Bert,
        "gpt2" => Family::Gpt2,
        other => {
            return Err(err(
                "model_type",
                format!("unsupported model type \"{other}\" (supported: \"bert\" for BERT/MiniLM, \"gpt2\" for GPT-2)"),
            ))
        }
    };
    // The two families name the same sizes differently.
    let keys: [&str; 5] = match family {
        Family::Bert => ["hidden_size", "num_attention_heads", "num_hidden_layers", "layer_norm_eps", "max_position_embeddings"],
        Family::Gpt2 => ["n_embd", "n_head", "n_layer", "layer_norm_epsilon", "n_positions"],
    };
    let count = |k: &str| -> Result<usize, InputError> {
        match map.get(k).and_then(Value::as_u64) {
            Some(n) if n >= 1 && n <= MAX_HIDDEN as u64 * 100 => Ok(n as usize),
            Some(n) => Err(err(k, format!("{n} is out of range"))),
            None => Err(err(k, "missing, or not a positive whole number".into())),
        }
    };
    let hidden = count(keys[0])?;
    let heads = count(keys[1])?;
    let layers = count(keys[2])?;
    let max_positions = count(keys[4])?;
    if hidden > MAX_HIDDEN {
        return Err(err(keys[0], format!("{hidden} is larger than this tool supports ({MAX_HIDDEN})")));
    }
    if hidden % heads != 0 {
        return Err(err(keys[1], format!("{heads} heads do not divide the width {hidden}")));
    }
    let layer_norm_eps = match map.get(keys[3]) {
        // The defaults of transformers' BertConfig and GPT2Config.
        None => match family {
            Family::Bert => 1e-12,
            Family::Gpt2 => 1e-5,
        },
        Some(x) => match x.as_f64() {
            Some(e) if e.is_finite() && e >= 0.0 => e,
            _ => return Err(err(keys[3], "expected a non-negative number".into())),
        },
    };
    Ok(Config { family, hidden, heads, layers, layer_norm_eps, max_positions })
}

impl Config {
    /// `d_h`, the width of one head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}
