//! The two output files: the safetensors side file (per-head factors, bit-identical copies of
//! the model's values) and the system file that names them. Both go through a temporary file
//! renamed into place, the side file first, so a failure never leaves a system file pointing at
//! a missing or partial side file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::Dtype;

use super::config::{Config, Family};
use super::weights::{self, HeadWeights, Mat};
use super::Options;
use crate::error::{Error, Result};
use crate::numeric::exact::decimal_text;
use crate::report::output::Sink;

pub struct Doc<'a> {
    pub cfg: &'a Config,
    pub opts: &'a Options,
    pub ids: &'a [u32],
    pub pieces: Option<&'a [String]>,
    pub tokenizer: Option<&'a str>,
    pub heads: &'a [HeadWeights],
    pub y0: &'a [Vec<f64>],
}

/// Writes both files; returns the side file's path.
pub fn write(doc: &Doc) -> Result<PathBuf> {
    let side = doc.opts.out.with_extension("safetensors");
    if side == doc.opts.out {
        return Err(Error::Usage(format!("-o {}: the system file needs another extension than .safetensors (the side file takes that name)", doc.opts.out.display())));
    }
    let side_name = side.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = side_file(doc.heads)?;
    // Every factor reference records the side file's SHA-256, which the reader checks
    // (system::tensor): the system file then names exactly these bytes, not whatever file is
    // found under that name later.
    let sha256 = crate::system::tensor::sha256_hex(&bytes);
    atomic(&side, &bytes)?;
    atomic(&doc.opts.out, system_text(doc, &side_name, &sha256).as_bytes())?;
    Ok(side)
}

/// F32 when every value is an f32 (always, for f32/f16/bf16 models: widening was exact), so the
/// side file is half the size; F64 otherwise.
fn side_file(heads: &[HeadWeights]) -> Result<Vec<u8>> {
    let all_f32 = heads.iter().flat_map(|h| [&h.wq, &h.wk, &h.wv, &h.wo]).all(|m| m.v.iter().all(|&x| f64::from(x as f32) == x));
    let bytes = |m: &Mat| -> Vec<u8> {
        if all_f32 {
            m.v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect()
        } else {
            m.v.iter().flat_map(|&x| x.to_le_bytes()).collect()
        }
    };
    let dtype = if all_f32 { Dtype::F32 } else { Dtype::F64 };
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (e, h) in heads.iter().enumerate() {
        for (n, m) in [("WQ", &h.wq), ("WK", &h.wk), ("WV", &h.wv), ("WO", &h.wo)] {
            named.push((format!("h{e}.{n}"), vec![m.rows, m.cols], bytes(m)));
        }
    }
    let views: Vec<(String, TensorView)> = named
        .iter()
        .map(|(n, s, b)| TensorView::new(dtype, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Numerical(format!("cannot build the side file: {e}")))?;
    safetensors::serialize(views, None).map_err(|e| Error::Numerical(format!("cannot build the side file: {e}")))
}

fn system_text(doc: &Doc, side: &str, sha256: &str) -> String {
    let cfg = doc.cfg;
    let (d, dh, l) = (cfg.hidden, cfg.head_dim(), doc.opts.layer);
    let mut s = String::new();
    let _ = writeln!(s, "# Imported by `attncert import` from {} (model_type = \"{}\"):", doc.opts.model_dir.display(), cfg.family.name());
    let _ = writeln!(s, "# layer {l} of {}, {} heads, d = {d}, d_h = {dh}. Mapping (docs/IMPORT.md), per head η:", cfg.layers, cfg.heads);
    let _ = writeln!(s, "#   P_η = W_Qᵀ W_K / sqrt(d_h) with a standard softmax, U_η = W_O W_V, metric W = I;");
    let _ = writeln!(s, "#   the factors are the model's own values, copied bit for bit into {side} (SHA-256 recorded per reference).");
    let _ = writeln!(s, "# Kept: the attention scores and the value/output path of every head, and the normalisation onto |y| = 1.");
    let _ = writeln!(s, "# Dropped:");
    for x in weights::dropped(cfg, l) {
        let _ = writeln!(s, "#   - {x}");
    }
    let init = match cfg.family {
        Family::Bert => "word + position + token type 0 embeddings, then the embedding LayerNorm (in f64)",
        Family::Gpt2 => "word + position embeddings (GPT-2 has no embedding LayerNorm), in f64",
    };
    let _ = writeln!(s, "# Initial tokens: {init}; exact decimal text of the doubles computed.");
    let ids: Vec<String> = doc.ids.iter().map(u32::to_string).collect();
    let _ = writeln!(s, "# Token ids: {}", ids.join(", "));
    if let (Some(p), Some(t)) = (doc.pieces, doc.tokenizer) {
        let shown: Vec<String> = p.iter().map(|x| format!("{x:?}")).collect();
        let _ = writeln!(s, "# Tokens ({}): {}", Path::new(t).file_name().map_or_else(|| t.into(), |n| n.to_string_lossy()), shown.join(" "));
    }
    let name = doc.opts.out.file_stem().map_or_else(|| "imported".into(), |n| n.to_string_lossy().into_owned());
    let _ = writeln!(s, "name = {:?}", name);
    let _ = writeln!(s, "tokens = {}", doc.ids.len());
    let _ = writeln!(s, "dim = {d}");
    let attention = if cfg.family == Family::Gpt2 { "causal" } else { "full" };
    let _ = writeln!(s, "attention = \"{attention}\"");
    let _ = writeln!(s, "normalization = \"softmax\"");
    let scale = super::scale_text(dh);
    for e in 0..doc.heads.len() {
        let t = |n: &str, tr: bool| {
            let tr = if tr { ", transpose = true" } else { "" };
            format!("{{ tensor = {side:?}, sha256 = \"{sha256}\", name = \"h{e}.{n}\"{tr} }}")
        };
        let _ = writeln!(s, "\n[[heads]]");
        let _ = writeln!(s, "P = {{ product = [{}, {}], scale = \"{scale}\" }}", t("WQ", true), t("WK", false));
        let _ = writeln!(s, "U = {{ product = [{}, {}] }}", t("WO", false), t("WV", false));
    }
    let _ = writeln!(s, "\n[initial]\ntokens = [");
    for y in doc.y0 {
        let row: Vec<String> = y.iter().map(|&x| decimal_text(x)).collect();
        let _ = writeln!(s, "  [{}],", row.join(", "));
    }
    let _ = writeln!(s, "]");
    s
}

/// Writes `bytes` to a temporary file beside `target` and renames it into place.
fn atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut sink = Sink::file(target)?;
    sink.write_bytes(bytes)?;
    sink.finish()
}
