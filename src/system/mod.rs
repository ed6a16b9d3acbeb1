//! The input: a system file (TOML or JSON), decoded and validated into a [`System`].
//!
//! A `System` holds the user's exact data: literal text of every number, expression trees,
//! seeded random draws. It is what every command works from; `model` evaluates it in floats,
//! `numeric` encloses it exactly.

pub mod decode;
pub mod doc;
pub mod export;
pub mod expr;
pub mod matrix;
pub mod random;
pub mod tensor;
mod validate;

use std::path::{Path, PathBuf};

use nalgebra::DMatrix;

use crate::error::InputError;
use decode::Field;
use expr::Literal;
pub use matrix::MatrixFn;
use random::TokenLaw;

/// Which tokens a token attends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// All tokens: `j = 1..ℓ`.
    Full,
    /// Auto-regressive: `j ≤ i`.
    Causal,
}

/// How attention weights are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// `Z_i = sqrt(d)·Σ_j exp(·)`: rows of `α` sum to `1/sqrt(d)` (the paper's).
    Paper,
    /// `Z_i = Σ_j exp(·)`: rows sum to 1 (a standard softmax).
    Softmax,
}

/// The metric `W` of the ellipsoid `E_W = { y : yᵀWy = 1 }`.
#[derive(Debug, Clone)]
pub enum Metric {
    Identity,
    /// `W = P` of the single head (Theorem 3.2); validated constant, symmetric, positive definite.
    EqualsP,
    /// A constant symmetric positive definite matrix of literals.
    Matrix(Vec<Vec<Literal>>),
}

/// One attention head.
#[derive(Debug, Clone)]
pub struct Head {
    /// Query/key product `P = QᵀK`.
    pub p: MatrixFn,
    /// Value matrix `U`.
    pub u: MatrixFn,
}

/// The initial tokens, as written (normalisation onto `E_W` happens in `model`/`numeric`).
#[derive(Debug, Clone)]
pub enum Initial {
    /// `ℓ` rows of `d` literals.
    Tokens(Vec<Vec<Literal>>),
    /// Drawn from a seeded law; `values` is the `d×ℓ` draw (columns are tokens).
    Random { seed: u64, law: TokenLaw, values: DMatrix<f64> },
}

/// A validated attention system.
#[derive(Debug, Clone)]
pub struct System {
    pub source: PathBuf,
    pub name: String,
    /// `ℓ`.
    pub tokens: usize,
    /// `d = n + 1`.
    pub dim: usize,
    pub attention: Attention,
    pub normalization: Normalization,
    pub metric: Metric,
    pub heads: Vec<Head>,
    pub initial: Initial,
    /// The direction `v` of the hemisphere Lyapunov function (Theorem 4.1), if the file names one.
    pub hemisphere: Option<Vec<Literal>>,
}

const TOP_KEYS: &[&str] =
    &["name", "tokens", "dim", "attention", "normalization", "metric", "heads", "initial", "lyapunov"];

impl System {
    /// Reads and validates a system file (`.json` as JSON, anything else as TOML).
    pub fn load(path: &Path) -> Result<System, InputError> {
        let doc = doc::read_file(path)?;
        System::from_value(path, &doc)
    }

    /// Decodes a parsed document; `path` is used in messages only.
    pub fn from_value(path: &Path, doc: &doc::Value) -> Result<System, InputError> {
        let root = Field::root(path, doc);
        let t = root.table(TOP_KEYS)?;
        let name = match t.get("name") {
            Some(n) => n.string()?.to_string(),
            None => path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        };
        let tokens = positive_count(&t.require("tokens")?, "tokens (ℓ)")?;
        let dim = positive_count(&t.require("dim")?, "dim (d)")?;
        check_size(&t.require("dim")?, tokens, dim)?;
        let attention = match t.get("attention") {
            None => Attention::Full,
            Some(f) => match f.one_of(&["full", "causal"])? {
                "full" => Attention::Full,
                _ => Attention::Causal,
            },
        };
        let normalization = match t.get("normalization") {
            None => Normalization::Paper,
            Some(f) => match f.one_of(&["paper", "softmax"])? {
                "paper" => Normalization::Paper,
                _ => Normalization::Softmax,
            },
        };
        // Every side file named by the matrices is read and hashed once for this read.
        let (heads, metric) = tensor::with_side_file_cache(|| -> Result<_, InputError> {
            Ok((decode_heads(&t.require("heads")?, dim)?, decode_metric(t.get("metric"), dim)?))
        })?;
        let initial = decode_initial(&t.require("initial")?, tokens, dim)?;
        let hemisphere = match t.get("lyapunov") {
            None => None,
            Some(f) => {
                let lt = f.table(&["v"])?;
                let v = lt.require("v")?;
                let items = v.array()?;
                if items.len() != dim {
                    return Err(v.err(format!("expected {dim} numbers (dim = {dim}), found {}", items.len())));
                }
                let v_lits: Vec<Literal> = items.iter().map(Field::number).collect::<Result<_, _>>()?;
                // Decided on the exact literals: `1e-400` is not zero, though it rounds to 0.
                let exact_zero = v_lits.iter().all(|l| crate::numeric::exact::rational(&l.text).is_some_and(|q| q == 0));
                if exact_zero {
                    return Err(v.err("the hemisphere direction v must not be zero"));
                }
                if v_lits.iter().all(|l| l.value == 0.0) {
                    return Err(v.err("every entry of the hemisphere direction v underflows to 0 in double precision: scale v up (only its direction matters)"));
                }
                Some(v_lits)
            }
        };
        let sys = System {
            source: path.to_path_buf(),
            name,
            tokens,
            dim,
            attention,
            normalization,
            metric,
            heads,
            initial,
            hemisphere,
        };
        validate::validate(&sys, &root)?;
        Ok(sys)
    }

    /// The metric `W` as a float matrix.
    pub fn metric_f64(&self) -> DMatrix<f64> {
        match &self.metric {
            Metric::Identity => DMatrix::identity(self.dim, self.dim),
            Metric::EqualsP => self.heads[0].p.eval(0.0, self.dim),
            Metric::Matrix(rows) => DMatrix::from_fn(self.dim, self.dim, |i, j| rows[i][j].value),
        }
    }

    /// True when `W = I`.
    pub fn metric_is_identity(&self) -> bool {
        match &self.metric {
            Metric::Identity => true,
            Metric::EqualsP => self.heads[0].p.is_identity(),
            Metric::Matrix(_) => false,
        }
    }

    /// The raw initial tokens as a `d×ℓ` float matrix (columns are tokens), not normalised.
    pub fn initial_raw_f64(&self) -> DMatrix<f64> {
        match &self.initial {
            Initial::Tokens(rows) => DMatrix::from_fn(self.dim, self.tokens, |i, j| rows[j][i].value),
            Initial::Random { values, .. } => values.clone(),
        }
    }

    /// True when some field is drawn at random (what `--runs` redraws).
    pub fn has_random(&self) -> bool {
        matches!(self.initial, Initial::Random { .. }) || self.heads.iter().any(|h| h.p.has_random() || h.u.has_random())
    }

    /// The same system with every random field redrawn from its seed mixed with `stream`.
    pub fn redraw(&self, stream: u64) -> System {
        let mut s = self.clone();
        for h in &mut s.heads {
            h.p = h.p.redraw(stream);
            h.u = h.u.redraw(stream);
        }
        if let Initial::Random { seed, law, .. } = &self.initial {
            let seed = random::mix(*seed, stream);
            let values = random::draw_tokens(seed, law, self.dim, self.tokens);
            s.initial = Initial::Random { seed, law: law.clone(), values };
        }
        s
    }

    /// An upper estimate of the number of layer boundaries in `(0, t)`, without listing them.
    pub fn layer_boundaries_before(&self, t: f64) -> f64 {
        fn count(m: &MatrixFn, t: f64) -> f64 {
            match m {
                MatrixFn::Layers { layers, layer_time, .. } => {
                    t / layer_time.value + layers.iter().map(|l| count(l, t)).sum::<f64>()
                }
                MatrixFn::DiagTimes { times, .. } | MatrixFn::ScalarTimes { times, .. } => count(times, t),
                _ => 0.0,
            }
        }
        self.heads.iter().map(|h| count(&h.p, t) + count(&h.u, t)).sum()
    }

    /// Times in `(t0, t1)` where some matrix jumps, sorted and deduplicated.
    pub fn breakpoints(&self, t0: f64, t1: f64) -> Vec<f64> {
        let mut out = Vec::new();
        for h in &self.heads {
            h.p.breakpoints(t0, t1, &mut out);
            h.u.breakpoints(t0, t1, &mut out);
        }
        out.sort_by(f64::total_cmp);
        out.dedup();
        out
    }
}

/// Largest `d`: a `d×d` matrix of doubles is then at most 800 MB.
pub const MAX_DIM: usize = 10_000;
/// Largest `ℓ·d`: the state is then at most 400 MB.
pub const MAX_STATE: usize = 50_000_000;

/// Refuses sizes whose matrices or states would not fit a machine (found by fuzzing: a
/// `dim = 1000000` file otherwise asks for terabytes).
fn check_size(f: &Field, tokens: usize, dim: usize) -> Result<(), InputError> {
    if dim > MAX_DIM {
        return Err(f.err(format!("dim = {dim} is larger than this tool supports ({MAX_DIM}: d×d matrices of doubles)")));
    }
    if tokens.saturating_mul(dim) > MAX_STATE {
        return Err(f.err(format!("tokens × dim = {tokens} × {dim} is larger than this tool supports ({MAX_STATE} numbers)")));
    }
    Ok(())
}

fn positive_count(f: &Field, what: &str) -> Result<usize, InputError> {
    let n = f.count()?;
    if n == 0 {
        return Err(f.err(format!("{what} must be at least 1")));
    }
    if n > 1_000_000 {
        return Err(f.err(format!("{what} = {n} is larger than this tool supports (10⁶)")));
    }
    Ok(n as usize)
}

fn decode_heads(f: &Field, d: usize) -> Result<Vec<Head>, InputError> {
    let items = f.array()?;
    if items.is_empty() {
        return Err(f.err("at least one head is needed"));
    }
    items
        .iter()
        .map(|h| {
            let t = h.table(&["P", "U"])?;
            let p = MatrixFn::decode(&t.require("P")?, d)?;
            let u = match t.get("U") {
                Some(u) => MatrixFn::decode(&u, d)?,
                None => MatrixFn::Identity,
            };
            Ok(Head { p, u })
        })
        .collect()
}

fn decode_metric(f: Option<Field>, d: usize) -> Result<Metric, InputError> {
    let Some(f) = f else { return Ok(Metric::Identity) };
    if let doc::Value::Str(s) = f.value {
        return match s.as_str() {
            "identity" => Ok(Metric::Identity),
            "P" => Ok(Metric::EqualsP),
            other => Err(f.err(format!("unknown metric '{other}' (expected \"identity\", \"P\" or a constant matrix)"))),
        };
    }
    match MatrixFn::decode(&f, d)? {
        MatrixFn::Identity => Ok(Metric::Identity),
        MatrixFn::Const(rows) => Ok(Metric::Matrix(rows)),
        _ => Err(f.err("the metric must be \"identity\", \"P\" or a constant matrix of numbers")),
    }
}

fn decode_initial(f: &Field, l: usize, d: usize) -> Result<Initial, InputError> {
    let t = f.table(&["tokens", "random"])?;
    match (t.get("tokens"), t.get("random")) {
        (Some(_), Some(r)) => Err(r.err("give either 'tokens' or 'random', not both")),
        (None, None) => Err(f.err("missing 'tokens' (ℓ rows of d numbers) or 'random' (a seeded law)")),
        (None, Some(r)) => {
            let (seed, law) = TokenLaw::decode(&r)?;
            let values = random::draw_tokens(seed, &law, d, l);
            Ok(Initial::Random { seed, law, values })
        }
        (Some(tok), None) => {
            let rows = tok.array()?;
            if rows.len() != l {
                return Err(tok.err(format!("expected {l} tokens (tokens = {l}), found {}", rows.len())));
            }
            let mut out = Vec::with_capacity(l);
            for r in &rows {
                let row = r.array()?;
                if row.len() != d {
                    return Err(r.err(format!("expected {d} numbers (dim = {d}), found {}", row.len())));
                }
                out.push(row.iter().map(Field::number).collect::<Result<Vec<_>, _>>()?);
            }
            Ok(Initial::Tokens(out))
        }
    }
}
