//! The weights of one layer, read from `model.safetensors` (memory-mapped), rearranged into the
//! per-head matrices of the mapping (docs/IMPORT.md), each in PyTorch's `(out, in)` orientation:
//! `W_Q, W_K, W_V ∈ R^{d_h×d}` and `W_O ∈ R^{d×d_h}`. Nothing is rounded: every value is
//! copied (f16/bf16 widened exactly).

use std::path::{Path, PathBuf};

use safetensors::SafeTensors;

use super::config::{Config, Family};
use crate::error::InputError;
use crate::system::tensor;

/// A row-major matrix of exact doubles.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub v: Vec<f64>,
}

impl Mat {
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.cols + j]
    }

    fn from_fn(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> Mat {
        Mat { rows, cols, v: (0..rows * cols).map(|n| f(n / cols, n % cols)).collect() }
    }
}

/// One head's four matrices.
#[derive(Debug, Clone)]
pub struct HeadWeights {
    pub wq: Mat,
    pub wk: Mat,
    pub wv: Mat,
    pub wo: Mat,
}

/// The embedding tables the initial tokens are made of.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub word: Mat,
    pub position: Mat,
    /// BERT's token type embeddings (type 0 is used) and LayerNorm `(γ, β)`.
    pub token_type: Option<Mat>,
    pub norm: Option<(Vec<f64>, Vec<f64>)>,
}

/// A memory-mapped safetensors file and the tensor-name prefix of its model (`bert.`,
/// `transformer.` or none, as saved by the different model classes).
pub struct ModelFile {
    path: PathBuf,
    map: memmap2::Mmap,
}

impl ModelFile {
    pub fn open(path: &Path) -> Result<ModelFile, InputError> {
        let file = std::fs::File::open(path).map_err(|e| InputError::new(path, "", format!("cannot open the weights: {e}")))?;
        // SAFETY: the map is read-only and private to this process; a file truncated by another
        // process while mapped could fault, which a command-line tool reading its input accepts
        // (the same contract as the safetensors crate's own examples).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| InputError::new(path, "", format!("cannot map the weights: {e}")))?;
        Ok(ModelFile { path: path.to_path_buf(), map })
    }

    pub fn tensors(&self) -> Result<SafeTensors<'_>, InputError> {
        tensor::parse(&self.map).map_err(|e| InputError::new(&self.path, "", e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a tensor by its name without prefix, trying the prefixes model classes add.
fn get(st: &SafeTensors, path: &Path, family: Family, name: &str, shape: &[usize]) -> Result<Mat, InputError> {
    let prefixes: &[&str] = match family {
        Family::Bert => &["", "bert."],
        Family::Gpt2 => &["", "transformer."],
    };
    let names = st.names();
    let Some(full) = prefixes.iter().map(|p| format!("{p}{name}")).find(|n| names.contains(&n.as_str())) else {
        return Err(InputError::new(path, name, "missing tensor (the model file does not have this weight)"));
    };
    let (got, v) = tensor::tensor_f64(st, &full).map_err(|e| InputError::new(path, &full, e))?;
    if got != shape {
        return Err(InputError::new(path, &full, format!("expected shape {shape:?}, found {got:?}")));
    }
    let (rows, cols) = match shape {
        [r, c] => (*r, *c),
        [n] => (1, *n),
        _ => (1, v.len()),
    };
    Ok(Mat { rows, cols, v })
}

/// The four matrices of every head of layer `layer`.
pub fn layer(st: &SafeTensors, path: &Path, cfg: &Config, layer: usize) -> Result<Vec<HeadWeights>, InputError> {
    let (d, h, dh) = (cfg.hidden, cfg.heads, cfg.head_dim());
    let f = cfg.family;
    match f {
        Family::Bert => {
            let base = format!("encoder.layer.{layer}.attention");
            let q = get(st, path, f, &format!("{base}.self.query.weight"), &[d, d])?;
            let k = get(st, path, f, &format!("{base}.self.key.weight"), &[d, d])?;
            let v = get(st, path, f, &format!("{base}.self.value.weight"), &[d, d])?;
            let o = get(st, path, f, &format!("{base}.output.dense.weight"), &[d, d])?;
            // Linear computes x·Wᵀ: head η of Q is rows η·d_h.. of W; of the output, columns.
            Ok((0..h)
                .map(|e| {
                    let rows = |m: &Mat| Mat::from_fn(dh, d, |i, j| m.at(e * dh + i, j));
                    HeadWeights { wq: rows(&q), wk: rows(&k), wv: rows(&v), wo: Mat::from_fn(d, dh, |i, j| o.at(i, e * dh + j)) }
                })
                .collect())
        }
        Family::Gpt2 => {
            let base = format!("h.{layer}.attn");
            let qkv = get(st, path, f, &format!("{base}.c_attn.weight"), &[d, 3 * d])?;
            let o = get(st, path, f, &format!("{base}.c_proj.weight"), &[d, d])?;
            // Conv1D computes x·W (W is (in, out)): W_Q = W[:, 0:d]ᵀ, W_K = W[:, d:2d]ᵀ, W_V =
            // W[:, 2d:3d]ᵀ, and W_O = c_projᵀ, whose head block is rows η·d_h.. of c_proj, transposed.
            Ok((0..h)
                .map(|e| {
                    let part = |s: usize| Mat::from_fn(dh, d, |i, j| qkv.at(j, s * d + e * dh + i));
                    HeadWeights { wq: part(0), wk: part(1), wv: part(2), wo: Mat::from_fn(d, dh, |i, j| o.at(e * dh + j, i)) }
                })
                .collect())
        }
    }
}

/// The embedding tables.
pub fn embeddings(st: &SafeTensors, path: &Path, cfg: &Config) -> Result<Embeddings, InputError> {
    let f = cfg.family;
    let d = cfg.hidden;
    let shape_of = |name: &str| -> Result<Vec<usize>, InputError> {
        let prefixes = ["", "bert.", "transformer."];
        prefixes
            .iter()
            .find_map(|p| st.tensor(&format!("{p}{name}")).ok().map(|t| t.shape().to_vec()))
            .ok_or_else(|| InputError::new(path, name, "missing tensor (the model file does not have this weight)"))
    };
    match f {
        Family::Bert => {
            let vocab = shape_of("embeddings.word_embeddings.weight")?.first().copied().unwrap_or(0);
            let types = shape_of("embeddings.token_type_embeddings.weight")?.first().copied().unwrap_or(0);
            let word = get(st, path, f, "embeddings.word_embeddings.weight", &[vocab, d])?;
            let position = get(st, path, f, "embeddings.position_embeddings.weight", &[cfg.max_positions, d])?;
            let token_type = get(st, path, f, "embeddings.token_type_embeddings.weight", &[types, d])?;
            // Older checkpoints call LayerNorm's parameters gamma/beta.
            let ln = |a: &str, b: &str| -> Result<(Vec<f64>, Vec<f64>), InputError> {
                Ok((get(st, path, f, a, &[d])?.v, get(st, path, f, b, &[d])?.v))
            };
            let norm = ln("embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias")
                .or_else(|e| ln("embeddings.LayerNorm.gamma", "embeddings.LayerNorm.beta").map_err(|_| e))?;
            Ok(Embeddings { word, position, token_type: Some(token_type), norm: Some(norm) })
        }
        Family::Gpt2 => {
            let vocab = shape_of("wte.weight")?.first().copied().unwrap_or(0);
            let word = get(st, path, f, "wte.weight", &[vocab, d])?;
            let position = get(st, path, f, "wpe.weight", &[cfg.max_positions, d])?;
            Ok(Embeddings { word, position, token_type: None, norm: None })
        }
    }
}

/// The names of what the pure-attention ODE drops of layer `layer` (written into the system
/// file as a comment): biases, LayerNorms, the MLP, dropout and the residual scaling.
pub fn dropped(cfg: &Config, layer: usize) -> Vec<String> {
    match cfg.family {
        Family::Bert => {
            let b = format!("encoder.layer.{layer}");
            vec![
                format!("{b}.attention.self.query.bias"),
                format!("{b}.attention.self.key.bias"),
                format!("{b}.attention.self.value.bias"),
                format!("{b}.attention.output.dense.bias"),
                format!("{b}.attention.output.LayerNorm (post-attention LayerNorm; the ODE normalises onto the unit sphere instead)"),
                format!("{b}.intermediate.dense, {b}.output.dense (the MLP) and {b}.output.LayerNorm"),
                "attention and hidden dropout (inactive at inference)".into(),
                "the residual stream's scale (tokens are normalised to |y| = 1; the skip connection is the discrete map's y + τ·Δy)".into(),
            ]
        }
        Family::Gpt2 => {
            let b = format!("h.{layer}");
            vec![
                format!("{b}.ln_1 (pre-attention LayerNorm; the ODE normalises onto the unit sphere instead)"),
                format!("{b}.attn.c_attn.bias (query, key and value biases)"),
                format!("{b}.attn.c_proj.bias"),
                format!("{b}.ln_2 and {b}.mlp (c_fc, c_proj: the MLP)"),
                "attention, residual and embedding dropout (inactive at inference)".into(),
                "the residual stream's scale (tokens are normalised to |y| = 1; the skip connection is the discrete map's y + τ·Δy)".into(),
            ]
        }
    }
}

/// The initial tokens: `word[id] + position[i] (+ token_type[0])`, then BERT's embedding
/// LayerNorm, each row in f64 (the sums of f32 values and the LayerNorm are rounded once per
/// operation in f64; the resulting doubles are the system file's exact input by definition).
pub fn initial_tokens(emb: &Embeddings, ids: &[u32], eps: f64) -> Result<Vec<Vec<f64>>, String> {
    let d = emb.word.cols;
    let mut out = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let id = id as usize;
        if id >= emb.word.rows {
            return Err(format!("token id {id} is outside the vocabulary ({} entries)", emb.word.rows));
        }
        if i >= emb.position.rows {
            return Err(format!("{} tokens exceed the model's {} positions", ids.len(), emb.position.rows));
        }
        let mut x: Vec<f64> = (0..d).map(|j| emb.word.at(id, j) + emb.position.at(i, j)).collect();
        if let Some(tt) = &emb.token_type {
            for (j, xj) in x.iter_mut().enumerate() {
                *xj += tt.at(0, j);
            }
        }
        if let Some((gamma, beta)) = &emb.norm {
            let mean = x.iter().sum::<f64>() / d as f64;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
            let inv = 1.0 / (var + eps).sqrt();
            for (j, xj) in x.iter_mut().enumerate() {
                *xj = (*xj - mean) * inv * gamma[j] + beta[j];
            }
        }
        out.push(x);
    }
    Ok(out)
}
