//! Time-varying `d×d` matrices as the user wrote them (`P_η(t)`, `U_η(t)`, the metric `W`).
//!
//! The spec keeps the user's exact data (literal text, expression trees); random matrices are
//! drawn once, deterministically, and kept as `f64`, whose values are exact dyadic rationals.
//! Float evaluation for the fast path lives in `model::kernel`; exact and interval evaluation
//! in `numeric`.

use nalgebra::DMatrix;

use crate::error::InputError;
use crate::system::decode::Field;
use crate::system::expr::{Expr, Literal};
use crate::system::random::{self, MatrixLaw, RandomMatrix};
use crate::system::tensor::{self, Product};

/// A `d×d` matrix-valued function of `t ≥ 0`.
#[derive(Debug, Clone)]
pub enum MatrixFn {
    Identity,
    Zero,
    /// Constant entries, row-major, each with its literal text.
    Const(Vec<Vec<Literal>>),
    /// Entries that are expressions in `t` (at least one entry is a string).
    Entrywise(Vec<Vec<Expr>>),
    /// `diag(d_1(t), …, d_n(t)) · times(t)`.
    DiagTimes { diag: Vec<Expr>, times: Box<MatrixFn> },
    /// `s(t) · times(t)`.
    ScalarTimes { scalar: Expr, times: Box<MatrixFn> },
    /// Piecewise constant in `t`: layer `k` on `[k·τ, (k+1)·τ)`; periodic repeats the list,
    /// otherwise the last layer holds for all later times.
    Layers { layers: Vec<MatrixFn>, layer_time: Literal, periodic: bool },
    /// A seeded random matrix, drawn once (the drawn values are the exact input).
    Random(RandomMatrix),
    /// `A·B` of two exact factors (`d×k`, `k×d`), kept as a product (`system::tensor`).
    Product(Product),
}

impl MatrixFn {
    /// Reads a matrix spec; `d` is the required size.
    pub fn decode(f: &Field, d: usize) -> Result<MatrixFn, InputError> {
        use crate::system::doc::Value;
        match f.value {
            Value::Str(s) => match s.as_str() {
                "identity" => Ok(MatrixFn::Identity),
                "zero" => Ok(MatrixFn::Zero),
                other => Err(f.err(format!(
                    "unknown matrix '{other}' (expected \"identity\", \"zero\", rows of numbers or expressions, or a table with diag/scalar/layers/random/product)"
                ))),
            },
            Value::Array(_) => decode_rows(f, d),
            Value::Table(_) => decode_table(f, d),
            other => Err(f.err(format!("expected a matrix, found {}", other.kind()))),
        }
    }

    /// True when the matrix does not depend on `t`.
    pub fn is_constant(&self) -> bool {
        match self {
            MatrixFn::Identity | MatrixFn::Zero | MatrixFn::Const(_) | MatrixFn::Random(_) | MatrixFn::Product(_) => true,
            MatrixFn::Entrywise(rows) => rows.iter().flatten().all(Expr::is_constant),
            MatrixFn::DiagTimes { diag, times } => diag.iter().all(Expr::is_constant) && times.is_constant(),
            MatrixFn::ScalarTimes { scalar, times } => scalar.is_constant() && times.is_constant(),
            MatrixFn::Layers { layers, .. } => layers.len() == 1 && layers[0].is_constant(),
        }
    }

    pub fn is_identity(&self) -> bool {
        matches!(self, MatrixFn::Identity)
    }

    /// The `f64` value at time `t` (entries of literals are their correctly rounded doubles).
    /// This is the plain evaluation; `model::kernel` has the structured, allocation-free one.
    pub fn eval(&self, t: f64, d: usize) -> DMatrix<f64> {
        match self {
            MatrixFn::Identity => DMatrix::identity(d, d),
            MatrixFn::Zero => DMatrix::zeros(d, d),
            MatrixFn::Const(rows) => DMatrix::from_fn(d, d, |i, j| rows[i][j].value),
            MatrixFn::Entrywise(rows) => DMatrix::from_fn(d, d, |i, j| rows[i][j].eval(t)),
            MatrixFn::DiagTimes { diag, times } => {
                let mut m = times.eval(t, d);
                for (i, e) in diag.iter().enumerate() {
                    let s = e.eval(t);
                    m.row_mut(i).scale_mut(s);
                }
                m
            }
            MatrixFn::ScalarTimes { scalar, times } => times.eval(t, d) * scalar.eval(t),
            MatrixFn::Layers { layers, layer_time, periodic } => {
                layers[layer_index(t, layer_time.value, layers.len(), *periodic)].eval(t, d)
            }
            MatrixFn::Random(r) => r.values.clone(),
            MatrixFn::Product(p) => p.eval(),
        }
    }

    /// Times in `(t0, t1)` where the matrix jumps (layer boundaries), sorted.
    pub fn breakpoints(&self, t0: f64, t1: f64, out: &mut Vec<f64>) {
        match self {
            MatrixFn::Layers { layers, layer_time, periodic } => {
                let tau = layer_time.value;
                let last = if *periodic { f64::INFINITY } else { (layers.len() - 1) as f64 * tau };
                let mut k = (t0 / tau).floor() + 1.0;
                while k * tau < t1 && k * tau <= last {
                    out.push(k * tau);
                    k += 1.0;
                }
                for l in layers {
                    l.breakpoints(t0, t1, out);
                }
            }
            MatrixFn::DiagTimes { times, .. } | MatrixFn::ScalarTimes { times, .. } => times.breakpoints(t0, t1, out),
            _ => {}
        }
    }

    /// Redraws every random matrix inside with seeds mixed with `stream` (bulk runs).
    pub fn redraw(&self, stream: u64) -> MatrixFn {
        match self {
            MatrixFn::Random(r) => MatrixFn::Random(r.redraw(stream)),
            MatrixFn::DiagTimes { diag, times } => MatrixFn::DiagTimes { diag: diag.clone(), times: Box::new(times.redraw(stream)) },
            MatrixFn::ScalarTimes { scalar, times } => {
                MatrixFn::ScalarTimes { scalar: scalar.clone(), times: Box::new(times.redraw(stream)) }
            }
            MatrixFn::Layers { layers, layer_time, periodic } => MatrixFn::Layers {
                layers: layers.iter().map(|l| l.redraw(stream)).collect(),
                layer_time: layer_time.clone(),
                periodic: *periodic,
            },
            other => other.clone(),
        }
    }

    /// True if a factor is read from a tensor file (a side file next to the system file).
    pub fn uses_tensor_file(&self) -> bool {
        match self {
            MatrixFn::Product(p) => [p.a(), p.b()].iter().any(|f| matches!(f.data, tensor::FactorData::Doubles(_))),
            MatrixFn::DiagTimes { times, .. } | MatrixFn::ScalarTimes { times, .. } => times.uses_tensor_file(),
            MatrixFn::Layers { layers, .. } => layers.iter().any(MatrixFn::uses_tensor_file),
            _ => false,
        }
    }

    /// True if a random matrix occurs inside.
    pub fn has_random(&self) -> bool {
        match self {
            MatrixFn::Random(_) => true,
            MatrixFn::DiagTimes { times, .. } | MatrixFn::ScalarTimes { times, .. } => times.has_random(),
            MatrixFn::Layers { layers, .. } => layers.iter().any(MatrixFn::has_random),
            _ => false,
        }
    }
}

/// The layer active at time `t`: `k = ⌊t/τ⌋`, wrapped (periodic) or clamped to the last layer.
pub fn layer_index(t: f64, tau: f64, n: usize, periodic: bool) -> usize {
    let k = (t / tau).floor().max(0.0);
    if periodic {
        (k % n as f64) as usize
    } else {
        (k as usize).min(n - 1)
    }
}

fn decode_rows(f: &Field, d: usize) -> Result<MatrixFn, InputError> {
    use crate::system::doc::Value;
    let rows = f.array()?;
    if rows.len() != d {
        return Err(f.err(format!("expected {d} rows (dim = {d}), found {}", rows.len())));
    }
    let mut cells = Vec::with_capacity(d);
    for r in &rows {
        let row = r.array()?;
        if row.len() != d {
            return Err(r.err(format!("expected {d} entries (dim = {d}), found {}", row.len())));
        }
        cells.push(row);
    }
    let all_numbers = cells.iter().flatten().all(|c| matches!(c.value, Value::Num(_)));
    if all_numbers {
        let m = cells.iter().map(|row| row.iter().map(Field::number).collect()).collect::<Result<_, _>>()?;
        Ok(MatrixFn::Const(m))
    } else {
        let m = cells.iter().map(|row| row.iter().map(Field::expression).collect()).collect::<Result<_, _>>()?;
        Ok(MatrixFn::Entrywise(m))
    }
}

fn decode_table(f: &Field, d: usize) -> Result<MatrixFn, InputError> {
    let t = f.table(&["diag", "scalar", "times", "layers", "layer_time", "periodic", "random", "make", "product", "scale"])?;
    if let Some(p) = t.get("product") {
        let t = f.table(&["product", "scale"])?;
        let product = MatrixFn::Product(tensor::decode_product(&p, d)?);
        // `scale` is the existing `s·M` form, so every check of `s·M` applies unchanged.
        return Ok(match t.get("scale") {
            Some(s) => MatrixFn::ScalarTimes { scalar: s.expression()?, times: Box::new(product) },
            None => product,
        });
    }
    if let Some(diag) = t.get("diag") {
        let t = f.table(&["diag", "times"])?;
        let entries = diag.array()?;
        if entries.len() != d {
            return Err(diag.err(format!("expected {d} diagonal entries (dim = {d}), found {}", entries.len())));
        }
        let diag = entries.iter().map(Field::expression).collect::<Result<_, _>>()?;
        let times = Box::new(MatrixFn::decode(&t.require("times")?, d)?);
        return Ok(MatrixFn::DiagTimes { diag, times });
    }
    if let Some(s) = t.get("scalar") {
        let t = f.table(&["scalar", "times"])?;
        let scalar = s.expression()?;
        let times = Box::new(MatrixFn::decode(&t.require("times")?, d)?);
        return Ok(MatrixFn::ScalarTimes { scalar, times });
    }
    if let Some(ls) = t.get("layers") {
        let t = f.table(&["layers", "layer_time", "periodic"])?;
        let items = ls.array()?;
        if items.is_empty() {
            return Err(ls.err("a layer schedule needs at least one layer"));
        }
        let layers = items.iter().map(|l| MatrixFn::decode(l, d)).collect::<Result<_, _>>()?;
        let lt = t.require("layer_time")?;
        let layer_time = lt.number()?;
        if layer_time.value <= 0.0 {
            return Err(lt.err(format!("layer_time must be positive, found '{}'{}", layer_time.text, underflow_note(&layer_time))));
        }
        let periodic = match t.get("periodic") {
            Some(p) => p.boolean()?,
            None => false,
        };
        return Ok(MatrixFn::Layers { layers, layer_time, periodic });
    }
    if let Some(r) = t.get("random") {
        let t = f.table(&["random", "make"])?;
        let law = MatrixLaw::decode(&r)?;
        let make = match t.get("make") {
            Some(m) => Some(random::Make::decode(&m)?),
            None => None,
        };
        let drawn = RandomMatrix::draw(law, make, d);
        if drawn.values.iter().any(|x| !x.is_finite()) {
            return Err(r.err("the drawn matrix has entries that overflow a 64-bit float (the law's scale is too large)"));
        }
        return Ok(MatrixFn::Random(drawn));
    }
    Err(f.err("a matrix table needs one of the keys 'diag', 'scalar', 'layers', 'random' or 'product'"))
}

/// Why a literal that must be positive was refused although its exact value may be positive:
/// `1e-400` is, but its double is 0, which the float path cannot use. Empty otherwise.
pub(crate) fn underflow_note(l: &Literal) -> &'static str {
    let exactly_positive = crate::numeric::exact::rational(&l.text).is_some_and(|q| q > 0);
    if exactly_positive && l.value == 0.0 {
        " (positive, but it underflows to 0 in double precision, below about 4.9e-324)"
    } else {
        ""
    }
}
