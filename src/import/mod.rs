//! `attncert import`: one layer of a Hugging Face model (BERT/MiniLM or GPT-2) as a system file
//! (issue 14; the mapping and what it drops: docs/IMPORT.md).
//!
//! Untrusted in the sense of ARCHITECTURE.md: it *produces* an input. Whatever it writes is the
//! exact input by definition; the weights are copied bit for bit into a safetensors side file,
//! the initial tokens written as the exact decimal text of the doubles computed.
//!
//! For layer `l`, head `η` (`W_Q, W_K, W_V ∈ R^{d_h×d}`, `W_O`'s block `∈ R^{d×d_h}`):
//! `P_η = W_Qᵀ W_K / sqrt(d_h)` with `normalization = "softmax"`, `U_η = W_O W_V`, `W = I`.

pub mod config;
pub mod tokens;
pub mod weights;
mod write;

use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};
use config::Config;

/// Where the initial tokens come from.
#[derive(Debug, Clone)]
pub enum Input {
    Text(String),
    Ids(Vec<u32>),
}

/// What `import` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub model_dir: PathBuf,
    pub layer: usize,
    pub input: Input,
    /// The system file to write; the side file is the same path with extension `.safetensors`.
    pub out: PathBuf,
}

/// What was written, for the command's summary line.
#[derive(Debug, Clone)]
pub struct Summary {
    pub system: PathBuf,
    pub side: PathBuf,
    pub family: &'static str,
    pub layer: usize,
    pub layers: usize,
    pub heads: usize,
    pub dim: usize,
    pub head_dim: usize,
    pub tokens: usize,
}

/// Reads `config.json`.
pub fn read_config(dir: &Path) -> Result<Config, InputError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| InputError::new(&path, "", format!("cannot read the model's configuration: {e}")))?;
    config::parse(&path, &text)
}

pub fn import(opts: &Options) -> Result<Summary> {
    let cfg = read_config(&opts.model_dir)?;
    if opts.layer >= cfg.layers {
        return Err(Error::Usage(format!("--layer {} is out of range: the model has {} layers (0..={})", opts.layer, cfg.layers, cfg.layers - 1)));
    }
    let (ids, pieces, tokenizer) = match &opts.input {
        Input::Ids(ids) => (ids.clone(), None, None),
        Input::Text(t) => {
            let tk = tokens::tokenize(&opts.model_dir, t)?;
            (tk.ids, Some(tk.pieces), Some(tk.source))
        }
    };
    if ids.is_empty() {
        return Err(Error::Usage("no tokens: the text tokenizes to nothing, or --tokens is empty".into()));
    }
    let model_path = opts.model_dir.join("model.safetensors");
    let file = weights::ModelFile::open(&model_path)?;
    let st = file.tensors()?;
    let heads = weights::layer(&st, file.path(), &cfg, opts.layer)?;
    let emb = weights::embeddings(&st, file.path(), &cfg)?;
    let y0 = weights::initial_tokens(&emb, &ids, cfg.layer_norm_eps).map_err(Error::Usage)?;
    if let Some(i) = y0.iter().position(|y| y.iter().all(|&x| x == 0.0)) {
        return Err(Error::Usage(format!("token {i} embeds to the zero vector, which has no direction on the sphere")));
    }
    let doc = write::Doc { cfg: &cfg, opts, ids: &ids, pieces: pieces.as_deref(), tokenizer: tokenizer.as_deref(), heads: &heads, y0: &y0 };
    let side = write::write(&doc)?;
    Ok(Summary {
        system: opts.out.clone(),
        side,
        family: cfg.family.name(),
        layer: opts.layer,
        layers: cfg.layers,
        heads: cfg.heads,
        dim: cfg.hidden,
        head_dim: cfg.head_dim(),
        tokens: ids.len(),
    })
}

/// `1/sqrt(d_h)` as an expression: an exact rational when `d_h` is a square (`1/8` for 64),
/// else the irrational `1/sqrt(d_h)`, which `check` encloses.
pub fn scale_text(dh: usize) -> String {
    let r = (dh as f64).sqrt().round() as usize;
    if r * r == dh {
        format!("1/{r}")
    } else {
        format!("1/sqrt({dh})")
    }
}
