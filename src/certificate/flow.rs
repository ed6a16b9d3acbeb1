//! Enclosures of the flow of model (7), for the checker (trusted). The producer calls the same
//! functions to predict what the checker will compute; it never supplies their results.
//!
//! A state is a flat vector of `ℓ·d` intervals, token-major. Every function returns an
//! enclosure of the exact quantity for every state in the input box and every `t` in the
//! input time interval, or an error naming why it could not (an undefined or non-smooth
//! matrix entry). The derivations are stated at each function.

use inari::Interval;

use crate::model::reference::{self, ModelAt, Rows};
use crate::numeric::enclose::{self, literal, point, IMat};
use crate::numeric::jet::{Lift, Series, MAX_LEN};
use crate::numeric::tape::{Table, Tape, Var};
use crate::system::expr::Literal;
use crate::system::matrix::MatrixFn;
use crate::system::{Attention, Initial, Metric, Normalization, System};

/// The exact data of (7) in intervals, prepared once per system.
pub struct Dynamics<'a> {
    pub sys: &'a System,
    /// `W`, enclosed (constant by validation).
    w: IMat,
    /// `sqrt(d)` (paper) or `1` (softmax), enclosed.
    z: Interval,
    /// Per head, `P` then `U`: the enclosure of a matrix that does not depend on `t`
    /// (`MatrixFn::is_constant`, and defined), which the tape holds as constants.
    fixed: Vec<Option<IMat>>,
    /// `ẏ = f(t, y)` as a straight-line program, for the Taylor recurrences.
    tape: Tape,
}

/// The hull `[t0, t1]` of a step.
pub fn span(t0: f64, t1: f64) -> Interval {
    point(t0).convex_hull(point(t1))
}

impl<'a> Dynamics<'a> {
    pub fn new(sys: &'a System) -> Result<Dynamics<'a>, String> {
        let d = sys.dim;
        let w = match &sys.metric {
            Metric::Identity => enclose::matrix(&MatrixFn::Identity, point(0.0), d),
            Metric::EqualsP => enclose::matrix(&sys.heads[0].p, point(0.0), d),
            Metric::Matrix(rows) => enclose::matrix(&MatrixFn::Const(rows.clone()), point(0.0), d),
        };
        if !w.defined {
            return Err("the metric W is not defined".into());
        }
        check_size(sys)?;
        let z = match sys.normalization {
            Normalization::Paper => point(d as f64).sqrt(),
            Normalization::Softmax => point(1.0),
        };
        let fixed = sys
            .heads
            .iter()
            .flat_map(|h| [&h.p, &h.u])
            .map(|m| {
                // Constant in t, so its enclosure at t = 0 holds for every t; an undefined one
                // stays a time input, where the series' own checks reject it.
                let e = enclose::matrix(m, point(0.0), d);
                (m.is_constant() && e.defined).then_some(e.m)
            })
            .collect();
        let mut dy = Dynamics { sys, w: w.m, z, fixed, tape: Tape::record(0, |_| vec![]) };
        dy.tape = dy.record_rhs();
        Ok(dy)
    }

    /// `sqrt(d)` (paper) or `1` (softmax), enclosed.
    pub fn z_factor(&self) -> Interval {
        self.z
    }

    /// `W`, enclosed.
    pub fn metric(&self) -> &IMat {
        &self.w
    }

    pub fn len(&self) -> usize {
        self.sys.tokens * self.sys.dim
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens of a flat state, as rows.
    pub fn tokens<S: Copy>(&self, y: &[S]) -> Vec<Vec<S>> {
        y.chunks(self.sys.dim).map(<[S]>::to_vec).collect()
    }

    /// The initial set: each token's exact initial value `x_i` (decimal literals enclosed,
    /// random draws exact), normalised `x_i / sqrt(x_iᵀ W x_i)` in intervals, then widened by
    /// `[−r, r]` in every coordinate. Contains every normalised exact token plus the box.
    pub fn initial(&self, radius: f64) -> Result<Vec<Interval>, String> {
        let raw: Vec<Vec<Interval>> = match &self.sys.initial {
            Initial::Tokens(rows) => rows.iter().map(|r| r.iter().map(literal).collect()).collect(),
            Initial::Random { values, .. } => values.column_iter().map(|c| c.iter().map(|&x| point(x)).collect()).collect(),
        };
        let widen = Interval::try_from((-radius, radius)).map_err(|_| format!("radius {radius} is not a finite number ≥ 0"))?;
        let mut out = Vec::with_capacity(self.len());
        for x in &raw {
            let wx: Vec<Interval> = self.w.iter().map(|row| dot(row, x)).collect();
            let norm = dot(x, &wx).sqrt();
            if norm.inf() <= 0.0 {
                return Err("an initial token is zero (it cannot be normalised onto E_W)".into());
            }
            out.extend(x.iter().map(|&xi| xi / norm + widen));
        }
        Ok(out)
    }

    fn model<S: Lift>(&self, heads: Vec<(Rows<S>, Rows<S>)>) -> ModelAt<S> {
        let c = |m: &IMat, f: &dyn Fn(Interval) -> S| m.iter().map(|r| r.iter().map(|&x| f(x)).collect()).collect();
        ModelAt {
            heads,
            w: c(&self.w, &S::lift),
            causal: self.sys.attention == Attention::Causal,
            z_factor: S::lift(self.z),
        }
    }

    /// Per head, `P` and `U` enclosed over `tt` (hulls over the interval: fine for values,
    /// not for derivatives in `t`). Only `defined` is needed: the integral form
    /// `y(t1) = y(t0) + ∫ f` holds for right-hand sides merely bounded and measurable in `t`.
    pub fn matrices_over(&self, tt: Interval) -> Result<Vec<(IMat, IMat)>, String> {
        let d = self.sys.dim;
        let mut out = Vec::new();
        for (k, h) in self.sys.heads.iter().enumerate() {
            let p = enclose::matrix(&h.p, tt, d);
            let u = enclose::matrix(&h.u, tt, d);
            if !p.defined || !u.defined {
                return Err(format!("head {}: P or U is not defined for every t in [{}, {}]", k + 1, tt.inf(), tt.sup()));
            }
            out.push((p.m, u.m));
        }
        Ok(out)
    }

    /// `F ⊇ { f(t, y) : t ∈ tt, y ∈ y_box }`: model (7) evaluated in interval arithmetic, each
    /// operation outward rounded (an enclosure by the inclusion property; not tight).
    pub fn field(&self, tt: Interval, y: &[Interval]) -> Result<Vec<Interval>, String> {
        let heads = self.matrices_over(tt)?;
        let m = self.model(heads);
        let dy = reference::rhs(&m, &self.tokens(y));
        Ok(dy.concat())
    }

    /// The Taylor coefficients `y_0 … y_{len−1}` (per coordinate) of every solution of
    /// `ẏ = f(t, y)` through `(t*, y(t*))` with `t* ∈ tt` and `y(t*) ∈ y0`, expanded at `t*`.
    ///
    /// Recurrence: `y_{k+1} = f_k / (k+1)`, where `f_k`, the k-th coefficient of
    /// `f(t* + τ, y(t* + τ))`, depends only on `y_0 … y_k`; so evaluating `f` on series
    /// truncated after `k+1` coefficients gives `f_k` exactly (in intervals: an enclosure).
    /// Valid only where `f` is smooth along the whole input: checked by `Series::valid`.
    pub fn taylor(&self, tt: Interval, y0: &[Interval], len: usize) -> Result<Vec<Series>, String> {
        let table = self.table(tt, y0, len)?;
        Ok((0..y0.len()).map(|i| table.series(i)).collect())
    }

    /// The tape's table behind [`Dynamics::taylor`] (every node's coefficients), which
    /// [`Dynamics::variational_of`] can reuse.
    pub fn table(&self, tt: Interval, y0: &[Interval], len: usize) -> Result<Table, String> {
        check_len(len)?;
        self.tape.ode_series(y0, &self.params(tt, len)?, len).map_err(|_| not_smooth(tt))
    }

    /// The Taylor coefficients `A_0 … A_{len−1}` (each `n×n`, row-major) of the variational
    /// matrix `V(t) = ∂y(t)/∂y(t*)` along every solution through `(t*, y(t*))` with `t* ∈ tt`,
    /// `y(t*) ∈ y0`, expanded at `t*`; `A_0 = I`. See [`Tape::ode_variational`]; computed in
    /// blocks of columns to bound the memory (`nodes × block × len` intervals).
    pub fn variational(&self, tt: Interval, y0: &[Interval], len: usize) -> Result<Vec<IMat>, String> {
        check_len(len)?;
        let table = self.table(tt, y0, len.saturating_sub(1).max(1))?;
        self.variational_of(&table, tt, len)
    }

    /// [`Dynamics::variational`] from a [`Dynamics::table`] over `tt` with at least
    /// `len − 1` coefficients (a longer table holds the same leading coefficients).
    pub fn variational_of(&self, table: &Table, tt: Interval, len: usize) -> Result<Vec<IMat>, String> {
        check_len(len)?;
        let n = self.len();
        let mut a = vec![vec![vec![point(0.0); n]; n]; len];
        let block = ((1 << 22) / (self.tape.nodes() * len).max(1)).clamp(1, n.max(1));
        for start in (0..n).step_by(block) {
            let cols = start..(start + block).min(n);
            let part = self.tape.ode_variational(table, cols.clone(), self.sys.dim, len).map_err(|_| not_smooth(tt))?;
            for (k, pk) in part.iter().enumerate() {
                for (i, row) in pk.iter().enumerate() {
                    a[k][i][cols.clone()].copy_from_slice(row);
                }
            }
        }
        Ok(a)
    }

    /// The tape's parameters over `tt` as series of length `len`: the entries (row-major) of
    /// every head's `P` and `U` that depend on time, in that order.
    fn params(&self, tt: Interval, len: usize) -> Result<Vec<Series>, String> {
        let t = Series::variable(tt, len);
        let mut out = Vec::new();
        for (m, fixed) in self.sys.heads.iter().flat_map(|h| [&h.p, &h.u]).zip(&self.fixed) {
            if fixed.is_none() {
                out.extend(matrix_series(m, &t, tt, self.sys.dim).ok_or_else(|| not_smooth(tt))?.into_iter().flatten());
            }
        }
        Ok(out)
    }

    /// Records `ẏ = f(t, y)` as a tape whose inputs are the state and the time-dependent
    /// entries of `P` and `U` (see [`Dynamics::params`]); `W`, the normalisation and
    /// time-constant matrices are constants (so that products with their zeros and ones fold).
    fn record_rhs(&self) -> Tape {
        let (n, d) = (self.len(), self.sys.dim);
        let inputs = n + self.fixed.iter().filter(|f| f.is_none()).count() * d * d;
        Tape::record(inputs, |v| {
            let (y, mut rest) = v.split_at(n);
            let matrices: Vec<Rows<Var>> = self.fixed.iter().map(|f| match f {
                Some(m) => lift_rows(m),
                None => {
                    let (now, later) = rest.split_at(d * d);
                    rest = later;
                    now.chunks(d).map(<[Var]>::to_vec).collect()
                }
            }).collect();
            let heads = matrices.chunks(2).map(|pu| (pu[0].clone(), pu[1].clone())).collect();
            reference::rhs(&self.model(heads), &self.tokens(y)).concat()
        })
    }
}

/// The most memory the dense method may plan for.
const MEMORY_LIMIT: f64 = 8.0 * (1u64 << 30) as f64;

/// Refuses systems whose tape or dense `n×n` variational matrices (`n = ℓd`, a few Taylor
/// terms of each) would not fit in memory, with the estimate, rather than failing midway.
/// The fused tape (`numeric::tape`) has about `heads·(3ℓ² + 3ℓd) + 3ℓd` nodes, each with up
/// to `MAX_LEN` coefficients of 32 bytes, and `heads·2(ℓd² + ℓ²d) + ℓd²` product terms of
/// 16 bytes (the matrix–vector products with `P`, `U` and `W`, and the attention sums).
fn check_size(sys: &System) -> Result<(), String> {
    let (nodes, terms) = tape_size(sys);
    let n = (sys.tokens * sys.dim) as f64;
    let bytes = 32.0 * nodes * MAX_LEN as f64 + 16.0 * terms + 16.0 * 16.0 * n * n;
    if bytes > MEMORY_LIMIT {
        return Err(format!(
            "{} tokens in dimension {} ({} variables) are beyond the dense Taylor–Lohner method: its variational matrices ({}×{}) and tape (~{:.1e} nodes, ~{:.1e} product terms) need about {:.0} GiB",
            sys.tokens,
            sys.dim,
            sys.tokens * sys.dim,
            sys.tokens * sys.dim,
            sys.tokens * sys.dim,
            nodes,
            terms,
            bytes / (1u64 << 30) as f64
        ));
    }
    Ok(())
}

/// The fused tape's estimated nodes and product terms (see [`check_size`]).
fn tape_size(sys: &System) -> (f64, f64) {
    let (l, d, heads) = (sys.tokens as f64, sys.dim as f64, sys.heads.len() as f64);
    (heads * (3.0 * l * l + 3.0 * l * d) + 3.0 * l * d, heads * 2.0 * (l * d * d + l * l * d) + l * d * d)
}

/// The most work one step may ask of the checker, in product-term coefficient operations (about
/// a minute on one core): the paper's systems need below 10⁸, the largest certified ones
/// (10 tokens in `d = 100` at `q = 5`) about 10¹⁰.
pub const STEP_WORK_LIMIT: f64 = 2e11;

/// Refuses a step whose order `p` and variational order `q` would make the checker's own
/// enclosure of it too costly, before any of it is computed (a certificate of a few hundred
/// kilobytes must not keep `verify` busy for hours). The series costs about `terms·p²`; the
/// variational matrices, `n` directions through every term, `n·terms·(q+1)²`, and they hold
/// `2q + 3` dense `n×n` interval matrices at once (`A_k` at the start set and over the box,
/// `M`, `M·B`).
pub fn check_step_cost(dy: &Dynamics, order: u32, q: u32) -> Result<(), String> {
    let (_, terms) = tape_size(dy.sys);
    let n = dy.len() as f64;
    let (p, q) = (f64::from(order.max(1)), f64::from(q.max(1)));
    let work = terms * (p + 1.0) * (p + 1.0) + if order > 1 { n * terms * (q + 1.0) * (q + 1.0) } else { 0.0 };
    let bytes = if order > 1 { (2.0 * q + 3.0) * n * n * 16.0 } else { 0.0 };
    if work > STEP_WORK_LIMIT || bytes > MEMORY_LIMIT {
        return Err(format!(
            "order {order} with variational order {} is too costly for {} variables (about {work:.1e} operations and {:.1} GiB; at most {STEP_WORK_LIMIT:.0e} and {:.0} GiB)",
            q,
            dy.len(),
            bytes / (1u64 << 30) as f64,
            MEMORY_LIMIT / (1u64 << 30) as f64
        ));
    }
    Ok(())
}

/// The most dense `f64`/interval linear algebra a step's framed sets may ask of the checker, in
/// `n²·columns` multiply-adds: a parallelepiped end costs a float inverse, `δ` and `R·(M·B)`
/// (`n` columns), a doubleton twice that (`[C | B]`, `2n` columns), none of it counted by
/// [`check_step_cost`]. Measured on a hostile certificate (red team): `n = 600` with a doubleton,
/// 4.3·10⁸, about a minute; the limit keeps one step near that.
pub const LINEAR_WORK_LIMIT: f64 = 5e8;

/// Refuses a framed set (parallelepiped or doubleton) too large for the checker's dense linear
/// algebra, before any of it is computed. `n` variables; boxes cost nothing here.
pub fn check_set_cost(n: usize, set: &Set) -> Result<(), String> {
    match (&set.b, &set.lin) {
        (None, _) => Ok(()),
        (Some(_), None) => check_frame_cost(n, n, "parallelepiped"),
        (Some(_), Some(_)) => check_frame_cost(n, 2 * n, "doubleton"),
    }
}

/// The budget of [`check_set_cost`] for a frame of `columns` columns in `n` variables.
pub fn check_frame_cost(n: usize, columns: usize, kind: &str) -> Result<(), String> {
    let work = (n as f64) * (n as f64) * columns as f64;
    if work > LINEAR_WORK_LIMIT {
        return Err(format!(
            "a {kind} set in {n} variables is too costly to check (about {work:.1e} dense operations, at most {LINEAR_WORK_LIMIT:.0e}): use box sets"
        ));
    }
    Ok(())
}

fn lift_rows<S: Lift>(m: &IMat) -> Rows<S> {
    m.iter().map(|r| r.iter().map(|&x| S::lift(x)).collect()).collect()
}

fn check_len(len: usize) -> Result<(), String> {
    if len == 0 || len > MAX_LEN {
        return Err(format!("Taylor order {} is outside 0..{}", len as i64 - 1, MAX_LEN - 1));
    }
    Ok(())
}

fn not_smooth(tt: Interval) -> String {
    format!(
        "the right-hand side is not smooth on [{}, {}] (a kink of abs/sign, a singularity or a layer boundary); only an order-1 step may cross it",
        tt.inf(),
        tt.sup()
    )
}

pub fn dot(a: &[Interval], b: &[Interval]) -> Interval {
    a.iter().zip(b).fold(point(0.0), |s, (&x, &y)| s + x * y)
}

/// A matrix as Taylor series in `t` around the series `t`, for `t ∈ tt`; `None` where it is
/// not smooth on `tt` (see [`Series`]), in particular where a layer boundary lies inside.
fn matrix_series(m: &MatrixFn, t: &Series, tt: Interval, d: usize) -> Option<Rows<Series>> {
    let c = |x: Interval| Series::constant(x);
    let out: Rows<Series> = match m {
        MatrixFn::Identity | MatrixFn::Zero | MatrixFn::Const(_) | MatrixFn::Random(_) | MatrixFn::Product(_) => {
            enclose::matrix(m, tt, d).m.iter().map(|r| r.iter().map(|&x| c(x)).collect()).collect()
        }
        MatrixFn::Entrywise(rows) => rows.iter().map(|r| r.iter().map(|e| e.eval_generic(t)).collect()).collect(),
        MatrixFn::DiagTimes { diag, times } => {
            let inner = matrix_series(times, t, tt, d)?;
            inner.into_iter().zip(diag).map(|(row, e)| {
                let s = e.eval_generic(t);
                row.into_iter().map(|x| s * x).collect()
            }).collect()
        }
        MatrixFn::ScalarTimes { scalar, times } => {
            let s = scalar.eval_generic(t);
            matrix_series(times, t, tt, d)?.into_iter().map(|r| r.into_iter().map(|x| s * x).collect()).collect()
        }
        MatrixFn::Layers { layers, layer_time, periodic } => {
            let k = single_layer(layers.len(), layer_time, *periodic, tt)?;
            matrix_series(&layers[k], t, tt, d)?
        }
    };
    out.iter().flatten().all(|s| s.valid).then_some(out)
}

/// The one layer active on the whole open step `(t0, t1)`, if the step is proved to lie in
/// one layer interval `[kτ, (k+1)τ]`: `k ≤ t0/τ` and `t1/τ ≤ k+1` in interval arithmetic.
fn single_layer(n: usize, tau: &Literal, periodic: bool, tt: Interval) -> Option<usize> {
    let tau = literal(tau);
    let (q0, q1) = (point(tt.inf()) / tau, point(tt.sup()) / tau);
    let k = q0.inf().floor();
    if !((0.0..9.0e15).contains(&k) && q1.sup() <= k + 1.0) {
        return None;
    }
    let k = k as u64;
    Some(if periodic { (k % n as u64) as usize } else { (k as usize).min(n - 1) })
}

/// `[0, h^k]·x` for `h ≥ 0`: contains `{s^k·x : s ∈ [0, h]}` (`h^k` rounded up).
fn times_0_hk(h: Interval, k: usize, x: Interval) -> Interval {
    Interval::try_from((0.0, h.powi(k as i32).sup())).unwrap_or(Interval::ENTIRE) * x
}

/// Names coordinate `c` as "token i, coordinate k" (1-based).
pub fn coord(dy: &Dynamics, c: usize) -> String {
    format!("token {}, coordinate {}", c / dy.sys.dim + 1, c % dy.sys.dim + 1)
}

/// The a-priori operator of order `a` on a candidate box `bx` for `t ∈ [t0, t1]`,
/// `h = t1 − t0`:
/// - order 1 (Picard): `start + [0, h]·F([t0, t1], bx)`;
/// - order `a ≥ 2`: `Σ_{k<a} [0, h^k]·y_k(t0, start) + [0, h^a]·y_a([t0, t1], bx)`.
///
/// If the result lies in the *interior* of `bx`, every solution from `start` exists on
/// `[t0, t1]` and stays in `bx`. Proof: let `τ` be the last time up to which a solution stays
/// in `bx` (it exists while it stays in the compact `bx`, `f` being Lipschitz in `y`). For
/// `t ≤ τ`, Taylor's theorem with the Lagrange remainder (coordinatewise, `ξ ∈ [t0, t]`,
/// `y(ξ) ∈ bx`; for order 1 the integral form `y(t) = y(t0) + ∫ f`) puts `y(t)` in the
/// operator's value, inside the interior; so the solution cannot reach the boundary of `bx`
/// at `τ < t1`, and `τ = t1`. (For order ≥ 2 the series must be valid on the step: `f` smooth.)
///
/// Why a low order `a`, apart from the step's order `p`: the box must contain the motion
/// over the step, about `[y0, y0 + h·f]`, at any order; a low order finds a box of nearly that
/// size at a fraction of the cost of the order-`p` series at `start`, while order 1 alone
/// suffers from the interval overestimation of `F` over the box (it enters times `h`; that of
/// `y_a` enters times `h^a`).
///
/// Returns the operator's value and the series `y_0 … y_a` over `([t0, t1], bx)` (so
/// `y_1 = F([t0, t1], bx)` and `y_a` is the order-`a` remainder coefficient). `at_start` is
/// [`start_series`] of the same `start` and order (it does not depend on `bx`).
pub fn apriori_operator(dy: &Dynamics, t0: f64, t1: f64, a: u32, start: &[Interval], at_start: &[Series], bx: &[Interval]) -> Result<(Vec<Interval>, Vec<Series>), String> {
    let h = point(t1) - point(t0);
    let a = a.max(1) as usize;
    let over = if a == 1 {
        // Order 1 needs only `F`, from the interval field (defined across kinks, where the
        // Taylor series is not): recorded as the series `bx + F·τ`.
        let f = dy.field(span(t0, t1), bx)?;
        bx.iter()
            .zip(&f)
            .map(|(&b, &fc)| {
                let mut s = Series::constant(b);
                s.len = 2;
                s.c[1] = fc;
                s
            })
            .collect()
    } else {
        dy.taylor(span(t0, t1), bx, a + 1)?
    };
    let reach = over
        .iter()
        .zip(start)
        .enumerate()
        .map(|(i, (s, &y0))| (1..a).fold(y0, |acc, k| acc + times_0_hk(h, k, at_start[i].c[k])) + times_0_hk(h, a, s.c[a]))
        .collect();
    Ok((reach, over))
}

/// The Taylor coefficients `y_0 … y_{a−1}` at `(t0, start)` used by the order-`a` a-priori
/// operator (only `y_0 = start` for order 1).
pub fn start_series(dy: &Dynamics, t0: f64, a: u32, start: &[Interval]) -> Result<Vec<Series>, String> {
    if a <= 1 {
        // Nothing is evaluated at order 1 (the field may have a kink at the start).
        return Ok(start.iter().map(|&x| Series::constant(x)).collect());
    }
    dy.taylor(point(t0), start, a as usize)
}

/// Checks that the order-`a` a-priori operator maps `bx` into its interior (see
/// [`apriori_operator`]); returns the series over `([t0, t1], bx)`, or the first failing
/// coordinate.
pub fn apriori_holds(dy: &Dynamics, t0: f64, t1: f64, a: u32, start: &[Interval], bx: &[Interval]) -> Result<Vec<Series>, String> {
    let at_start = start_series(dy, t0, a, start)?;
    let (reach, over) = apriori_operator(dy, t0, t1, a, start, &at_start, bx)?;
    for (c, (r, b)) in reach.iter().zip(bx).enumerate() {
        // An empty `r` (an operation outside its domain) would pass the comparison vacuously.
        if r.is_empty() || !(b.inf() < r.inf() && r.sup() < b.sup()) {
            return Err(format!(
                "a-priori inclusion fails at {}: the order-{a} operator gives [{:e}, {:e}], not inside the box ({:e}, {:e})",
                coord(dy, c),
                r.inf(),
                r.sup(),
                b.inf(),
                b.sup()
            ));
        }
    }
    Ok(over)
}

/// `F([t0, t1], bx)`, the field over the a-priori box: coefficient 1 of the series `over` from
/// [`apriori_holds`] (`y_1 = f_0/1`, the field evaluated on the zeroth coefficients).
pub fn field_over(over: &[Series]) -> Vec<Interval> {
    over.iter().map(|s| s.c[1]).collect()
}

/// The Lagrange remainder coefficients of an order-`p` step over the a-priori box,
/// `y_p([t0, t1], bx)`: enclosures of `y^{(p)}(ξ)/p!` for every `ξ` in the step and every
/// solution in the box ([`Dynamics::taylor`] expanded at every `t* ∈ [t0, t1]`). Taken from
/// the series `over` when it is long enough.
pub fn remainder(dy: &Dynamics, t0: f64, t1: f64, order: u32, bx: &[Interval], over: &[Series]) -> Result<Remainder, String> {
    let p = order.max(1) as usize;
    if over.iter().all(|s| s.len > p) {
        return Ok(Remainder { coeffs: over.iter().map(|s| s.c[p]).collect(), table: None });
    }
    let table = dy.table(span(t0, t1), bx, p + 1)?;
    Ok(Remainder { coeffs: (0..bx.len()).map(|i| table.series(i).c[p]).collect(), table: Some(table) })
}

/// The remainder coefficients `y_p([t0, t1], bx)` of a step, with the table they came from
/// (when one was computed), which [`image`] reuses for the variational matrix over the box.
pub struct Remainder {
    pub coeffs: Vec<Interval>,
    pub table: Option<Table>,
}

/// A set of states: `{ x + B·r : r ∈ r }`, or the box `r` itself when `b` is `None`; with
/// `lin` (and `b`), Lohner's doubleton `{ x + C·u + B·r : u ∈ lin.u, r ∈ r }`.
#[derive(Debug, Clone)]
pub struct Set {
    pub x: Vec<f64>,
    /// Row-major `n×n`.
    pub b: Option<Vec<Vec<f64>>>,
    pub r: Vec<Interval>,
    pub lin: Option<Linear>,
}

/// The linear part `C·u`, `u ∈ u`, of a doubleton: the initial box's image under the product
/// of the steps' variational matrices, never re-wrapped (`C` row-major `n×n`).
#[derive(Debug, Clone)]
pub struct Linear {
    pub c: Vec<Vec<f64>>,
    pub u: Vec<Interval>,
}

/// `x + Σ_j A_ij·v_j` per row, in interval arithmetic (each product and sum outward rounded).
fn affine(x: Vec<Interval>, a: &[Vec<f64>], v: &[Interval]) -> Vec<Interval> {
    a.iter().zip(x).map(|(row, x)| row.iter().zip(v).fold(x, |s, (&aij, &vj)| s + point(aij) * vj)).collect()
}

impl Set {
    pub fn from_box(r: Vec<Interval>) -> Set {
        Set { x: vec![0.0; r.len()], b: None, r, lin: None }
    }

    /// An interval box containing the set (`x + B·r`, or `x + C·u + B·r`, in interval
    /// arithmetic: every point of the set is inside by the inclusion property).
    pub fn hull(&self) -> Vec<Interval> {
        match &self.b {
            None => self.r.clone(),
            Some(b) => {
                let x = self.x.iter().map(|&x| point(x)).collect();
                let x = match &self.lin {
                    None => x,
                    Some(l) => affine(x, &l.c, &l.u),
                };
                affine(x, b, &self.r)
            }
        }
    }

    /// A box containing the set and its center `x` (for parallelepipeds `x` need not be in
    /// the set; the mean-value form needs the segments from `x` covered by the a-priori box).
    pub fn hull_with_center(&self) -> Vec<Interval> {
        match &self.b {
            None => self.r.clone(),
            Some(_) => self.hull().iter().zip(&self.x).map(|(h, &x)| h.convex_hull(point(x))).collect(),
        }
    }
}

/// The image of a set at `t1`: `{ c + MB·r' : r' ∈ coeff }` with intervals `c`, `MB` (every
/// solution's `y(t1)` is in it); `mb = None` means the box `c` alone (order 1). From a
/// doubleton, `MB = M·[C | B]` has `2n` columns and `coeff = [u; r]`.
pub struct Image {
    pub c: Vec<Interval>,
    pub mb: Option<IMat>,
    pub coeff: Vec<Interval>,
    /// For the producer's step-size control only (no enclosure rests on it): about the width
    /// the variational matrix's order-`q` remainder adds to the image, the part of the
    /// wrapping a shorter step or a higher `q` reduces.
    pub tail: f64,
}

impl Image {
    /// The box `u` of the linear part a doubleton end set takes over: the image's first `n`
    /// coefficients (the start box around its midpoint, a parallelepiped's `r`, or a
    /// doubleton's `u`). `None` for an order-1 image, which has no linear part.
    pub fn linear_box(&self) -> Option<Vec<Interval>> {
        self.mb.as_ref().map(|_| self.coeff[..self.c.len()].to_vec())
    }

    /// The image as a box.
    pub fn hull(&self) -> Vec<Interval> {
        match &self.mb {
            None => self.c.clone(),
            Some(mb) => mb.iter().zip(&self.c).map(|(row, &c)| row.iter().zip(&self.coeff).fold(c, |s, (&m, &r)| s + m * r)).collect(),
        }
    }
}

/// The image at `t1` of every solution with `y(t0)` in `start`, given an a-priori box `bx`
/// that passed [`apriori_holds`] from `start.hull_with_center()`, and `rem` from [`remainder`]
/// (`F([t0, t1], bx)` for order 1, `y_p([t0, t1], bx)` for order `p`).
///
/// - Order 1: `y(t1) = y(t0) + ∫ f ∈ hull(start) + h·F([t0, t1], bx)`.
/// - Order `p ≥ 2`, a mean-value Taylor form around a point `x̂` (the box's midpoint, or the
///   parallelepiped's center), `x = x̂ + B·r` (`B = I`, `r ∈ start − x̂` for a box):
///   `y(t1; x) = y(t1; x̂) + M·B·r`, with
///   `y(t1; x̂) ∈ Σ_{k<p} h^k y_k(t0, x̂) + h^p·y_p([t0, t1], bx)` (Taylor with Lagrange
///   remainder, coordinatewise), and `M` enclosing the variational matrix `V(t1; ξ)` for every
///   `ξ` on the segment from `x̂` to `x` (so their average, the mean-value matrix, too). `ξ`
///   lies in `H = start.hull_with_center()`, whose solutions stay in `bx`. Entrywise Taylor
///   with Lagrange remainder of order `q` (any `q ≥ 1`) for `V` (smooth as `f` is):
///   `V(t1) ∈ Σ_{k<q} h^k A_k(t0, H) + h^q A_q([t0, t1], bx)·V(τ)`, where `A_k(s, y)` are the
///   coefficients of [`Dynamics::variational`] (the fundamental matrix from time `s`; `V`'s
///   own coefficient at `τ` is `A_q(τ, y(τ))·V(τ)` by linearity), and `V(τ) ∈ I + [−ρ, ρ]`
///   entrywise for `τ ∈ [t0, t1]`: `V' = J·V`, `V(t0) = I`, with `J ∈ A_1([t0, t1], bx)`, so by
///   Grönwall `‖V(τ) − I‖∞ ≤ ρ = h·a·e^{h·a}` with `a ≥ ‖J‖∞`. Only the last term is taken
///   over the a-priori box; the others are over the narrow start set, which is what keeps `M`
///   tight (Lohner's method). Keeping `M·B` as a matrix acting on `r` (not `M` on the box
///   `B·r`) is what avoids the wrapping effect.
pub fn image(dy: &Dynamics, (t0, t1): (f64, f64), (order, q): (u32, u32), start: &Set, bx: &[Interval], rem: &Remainder) -> Result<Image, String> {
    let (table, rem) = (&rem.table, &rem.coeffs[..]);
    let h = point(t1) - point(t0);
    let tt = span(t0, t1);
    if order <= 1 {
        let c = start.hull().iter().zip(rem).map(|(&s, &fc)| s + h * fc).collect();
        return Ok(Image { c, mb: None, coeff: vec![], tail: 0.0 });
    }
    let p = order as usize;
    let n = start.r.len();
    // The start set as `x̂ + F·v`, `v ∈ coeff`: a box as its midpoint plus `I·(r − x̂)`; a
    // parallelepiped as `x + B·r`; a doubleton as `x + [C | B]·[u; r]`.
    let (xhat, frame, coeff): (Vec<f64>, Option<Vec<Vec<f64>>>, Vec<Interval>) = match (&start.b, &start.lin) {
        (None, _) => {
            let m: Vec<f64> = start.r.iter().map(|r| r.mid()).collect();
            let coeff = start.r.iter().zip(&m).map(|(&r, &m)| r - point(m)).collect();
            (m, None, coeff)
        }
        (Some(b), None) => (start.x.clone(), Some(b.clone()), start.r.clone()),
        (Some(b), Some(l)) => {
            let frame = l.c.iter().zip(b).map(|(ci, bi)| ci.iter().chain(bi).copied().collect()).collect();
            (start.x.clone(), Some(frame), l.u.iter().chain(&start.r).copied().collect())
        }
    };
    let at_x: Vec<Interval> = xhat.iter().map(|&x| point(x)).collect();
    let series = dy.taylor(point(t0), &at_x, p)?;
    let q = q.max(1) as usize;
    let a_start = dy.variational(point(t0), &start.hull_with_center(), q)?;
    let a_box = match table {
        Some(t) if t.coefficients() >= q => dy.variational_of(t, tt, q + 1)?,
        _ => dy.variational(tt, bx, q + 1)?,
    };
    // a ≥ ‖J‖∞ = max_i Σ_j |J_ij|, rounded up by summing in intervals.
    let row_mag = |r: &[Interval]| r.iter().fold(point(0.0), |s, x| s + point(x.mag()));
    let a = a_box[1].iter().map(|r| row_mag(r).sup()).fold(0.0, f64::max);
    let ha = point(h.sup()) * point(a);
    let rho = point((ha * ha.exp()).sup());
    let (hp, hq) = (h.powi(p as i32), h.powi(q as i32));
    let unit = Interval::try_from((-1.0, 1.0)).unwrap_or(Interval::ENTIRE);
    let mut c = Vec::with_capacity(n);
    let mut m = vec![vec![point(0.0); n]; n];
    // |F|·|coeff| (`F = I` for a box start), for `tail`: the remainder term's radius times it.
    let reach: Vec<f64> = match &frame {
        None => coeff.iter().map(|x| x.mag()).collect(),
        Some(f) => f.iter().map(|row| row.iter().zip(&coeff).map(|(a, x)| a.abs() * x.mag()).sum()).collect(),
    };
    let mut tail = 0.0_f64;
    for i in 0..n {
        // Horner: Σ_{k<p} h^k y_k, plus the remainder.
        let mut poly = series[i].c[p - 1];
        for k in (0..p - 1).rev() {
            poly = poly * h + series[i].c[k];
        }
        c.push(poly + hp * rem[i]);
        // (A_q·(I + [−ρ, ρ]))_ij = A_q,ij + Σ_k A_q,ik·[−ρ, ρ] ⊆ A_q,ij + [−1, 1]·ρ·Σ_k |A_q,ik|.
        let spread = unit * rho * row_mag(&a_box[q][i]);
        for j in 0..n {
            let mut poly = a_start[q - 1][i][j];
            for k in (0..q - 1).rev() {
                poly = poly * h + a_start[k][i][j];
            }
            m[i][j] = poly + hq * (a_box[q][i][j] + spread);
        }
        tail = tail.max((0..n).map(|k| (hq * (a_box[q][i][k] + spread)).rad() * reach[k]).sum());
    }
    let mb = match &frame {
        None => m,
        Some(b) => m.iter().map(|row| (0..b[0].len()).map(|j| row.iter().zip(b).fold(point(0.0), |s, (&mik, bk)| s + mik * point(bk[j]))).collect()).collect(),
    };
    Ok(Image { c, mb: Some(mb), coeff, tail })
}

/// Whether the image lies in the set `end`; for a parallelepiped `x' + B'·r'`, returns the
/// enclosure of the image's coordinates `r'` (which must lie in `end.r`).
///
/// For a parallelepiped: with `R` a float approximate inverse of `B'` (computed here; any `R`
/// is sound) and `δ ≥ ‖I − R·B'‖∞ < 1`, `B'⁻¹ = (R·B')⁻¹·R` and `‖(R·B')⁻¹ − I‖∞ ≤ δ/(1 − δ)`
/// (Neumann series), so for `v` in the image `r' = B'⁻¹(v − x') ∈ z + [−1, 1]·δ/(1−δ)·‖z‖∞`
/// with `z ⊇ R·(v − x') = R·(c − x') + (R·MB)·coeff`.
///
/// For a doubleton `x' + C'·u + B'·r'`, `u ∈ end.lin.u`: each `v` in the image is
/// `v = c_v + M_v·F·w` with `c_v ∈ c`, `M_v·F ∈ MB`, `w ∈ coeff`, `w = [w₀; w₁]` split after
/// `n` entries (`w₀` is the start's linear coefficient, [`Image::linear_box`]). First
/// `w₀ ∈ u` is checked (`coeff[..n] ⊆ end.lin.u`), then `v = x' + C'·w₀ + B'·r'` with
/// `r' = B'⁻¹(c_v − x' + (M_v·F − [C' | 0])·w) ∈ B'⁻¹((c − x') + (MB − [C' | 0])·coeff)`, so
/// `v` is in the doubleton once that enclosure of `r'` lies in `end.r`; it is computed as for a
/// parallelepiped with `MB − [C' | 0]` (interval minus double, outward) in place of `MB`.
pub fn coordinates(img: &Image, end: &Set) -> Result<Vec<Interval>, String> {
    let hull = img.hull();
    let b = match &end.b {
        None => return Ok(hull),
        Some(b) => b,
    };
    let shifted;
    let mb = match (&img.mb, &end.lin) {
        (mb, None) => mb.as_ref(),
        (None, Some(_)) => return Err("a doubleton end needs a Taylor step (order ≥ 2), which has a linear part".into()),
        (Some(mb), Some(lin)) => {
            let w0 = img.linear_box().unwrap_or_default();
            if lin.u.len() != w0.len() || lin.c.len() != w0.len() {
                return Err(format!("the doubleton's u has {} entries and C {} rows, the state has {}", lin.u.len(), lin.c.len(), w0.len()));
            }
            if let Some(j) = (0..w0.len()).find(|&j| !w0[j].subset(lin.u[j])) {
                return Err(format!("the start set's linear coefficient {} is in [{:e}, {:e}], not inside the end's linear box [{:e}, {:e}]", j + 1, w0[j].inf(), w0[j].sup(), lin.u[j].inf(), lin.u[j].sup()));
            }
            shifted = mb.iter().zip(&lin.c).map(|(row, ci)| row.iter().enumerate().map(|(j, &m)| if j < ci.len() { m - point(ci[j]) } else { m }).collect()).collect::<IMat>();
            Some(&shifted)
        }
    };
    let n = hull.len();
    let r = float_inverse(b).ok_or("the end matrix is singular")?;
    let unit = Interval::try_from((-1.0, 1.0)).unwrap_or(Interval::ENTIRE);
    // δ ≥ ‖I − R·B'‖∞.
    let mut delta = 0.0_f64;
    for i in 0..n {
        let row = (0..n).fold(point(0.0), |s, j| {
            let rb = r[i].iter().zip(b).fold(point(0.0), |a, (&rik, bk)| a + point(rik) * point(bk[j]));
            s + point((point(if i == j { 1.0 } else { 0.0 }) - rb).mag())
        });
        delta = delta.max(row.sup());
    }
    if !(delta < 0.5) {
        return Err(format!("the end matrix is too ill-conditioned to invert rigorously (‖I − R·B‖ ≤ {delta:e})"));
    }
    let shift: Vec<Interval> = match mb {
        None => hull.iter().zip(&end.x).map(|(&v, &x)| v - point(x)).collect(),
        Some(_) => img.c.iter().zip(&end.x).map(|(&v, &x)| v - point(x)).collect(),
    };
    let mut z: Vec<Interval> = r.iter().map(|ri| ri.iter().zip(&shift).fold(point(0.0), |s, (&a, &v)| s + point(a) * v)).collect();
    if let Some(mb) = mb {
        for i in 0..n {
            // (R·MB)_i· applied to coeff (n columns, or 2n from a doubleton).
            for j in 0..img.coeff.len() {
                let rmb = r[i].iter().zip(mb).fold(point(0.0), |s, (&rik, mk)| s + point(rik) * mk[j]);
                z[i] += rmb * img.coeff[j];
            }
        }
    }
    let znorm = z.iter().fold(0.0_f64, |m, x| m.max(x.mag()));
    let k = (point(delta) / (point(1.0) - point(delta))) * point(znorm);
    Ok(z.into_iter().map(|zi| zi + unit * k).collect())
}

/// A float inverse by Gauss–Jordan elimination with partial pivoting (not trusted to be
/// accurate: [`coordinates`] bounds its error).
pub fn float_inverse(b: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = b.len();
    let m = nalgebra::DMatrix::from_fn(n, n, |i, j| b[i][j]);
    let inv = m.try_inverse()?;
    Some((0..n).map(|i| (0..n).map(|j| inv[(i, j)]).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec7(name: &str) -> System {
        let path = format!("{}/theorems/examples/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        System::load(std::path::Path::new(&path)).unwrap()
    }

    /// The tape's Taylor coefficients agree with running `reference::rhs` on ever longer
    /// [`Series`] (the plain Picard recurrence, an independent evaluation of the same identities).
    #[test]
    fn tape_series_agree_with_picard_on_series() {
        for name in ["sec7_1", "sec7_2", "sec7_3"] {
            let sys = sec7(name);
            let dy = Dynamics::new(&sys).unwrap();
            let (t0, len) = (point(0.3), 7);
            let y0 = dy.initial(0.0).unwrap();
            let tape = dy.taylor(t0, &y0, len).unwrap();
            let mut y: Vec<Series> = y0.iter().map(|&x| Series::constant(x)).collect();
            for k in 0..len - 1 {
                for s in y.iter_mut() {
                    s.len = k + 1;
                }
                let t = Series::variable(t0, k + 1);
                let ms = |m| matrix_series(m, &t, t0, sys.dim).unwrap();
                let m = dy.model(sys.heads.iter().map(|h| (ms(&h.p), ms(&h.u))).collect());
                let f = reference::rhs(&m, &dy.tokens(&y)).concat();
                for (yi, fi) in y.iter_mut().zip(&f) {
                    yi.c[k + 1] = fi.c[k] / point((k + 1) as f64);
                }
            }
            for (a, b) in tape.iter().zip(&y) {
                for k in 0..len {
                    let (a, b) = (a.c[k], b.c[k]);
                    assert!(!a.intersection(b).is_empty() && (a.mid() - b.mid()).abs() <= 1e-9 * (1.0 + b.mag()), "{name}, k = {k}: {a:?} vs {b:?}");
                }
            }
        }
    }

    /// `A_1` is the Jacobian `∂f/∂y`: it contains central differences of the float field (up
    /// to their `O(δ²)` error), and `A_0 = I` exactly.
    #[test]
    fn variational_starts_with_identity_and_jacobian() {
        let sys = sec7("sec7_3");
        let dy = Dynamics::new(&sys).unwrap();
        let t = point(0.1);
        let y0 = dy.initial(0.0).unwrap();
        let a = dy.variational(t, &y0, 3).unwrap();
        let f = |y: &[f64]| -> Vec<f64> { dy.field(t, &y.iter().map(|&x| point(x)).collect::<Vec<_>>()).unwrap().iter().map(|x| x.mid()).collect() };
        let mid: Vec<f64> = y0.iter().map(|x| x.mid()).collect();
        let delta = 1e-6;
        for j in 0..mid.len() {
            let (mut up, mut down) = (mid.clone(), mid.clone());
            up[j] += delta;
            down[j] -= delta;
            let (fu, fd) = (f(&up), f(&down));
            for i in 0..mid.len() {
                let diff = (fu[i] - fd[i]) / (2.0 * delta);
                let aij = a[1][i][j];
                assert!(aij.inf() - 1e-7 <= diff && diff <= aij.sup() + 1e-7, "J[{i}][{j}] = {aij:?}, difference {diff}");
                assert!(a[0][i][j] == point(if i == j { 1.0 } else { 0.0 }));
            }
        }
    }

    /// On the paper's systems (full and causal attention), skipping by token dependencies
    /// gives the variational coefficients of the computation without skipping.
    #[test]
    fn token_skipping_is_exact_on_paper_systems() {
        for name in ["sec7_2", "sec7_3"] {
            let sys = sec7(name);
            let dy = Dynamics::new(&sys).unwrap();
            let (t, len) = (point(0.1), 4);
            let y0 = dy.initial(0.0).unwrap();
            let n = y0.len();
            let table = dy.tape.ode_series(&y0, &dy.params(t, len).unwrap(), len).unwrap();
            let by_token = dy.tape.ode_variational(&table, 0..n, sys.dim, len).unwrap();
            let whole = dy.tape.ode_variational(&table, 0..n, n, len).unwrap();
            for k in 0..len {
                for i in 0..n {
                    for j in 0..n {
                        let (a, b) = (by_token[k][i][j], whole[k][i][j]);
                        assert!(a.subset(b) && b.wid() - a.wid() <= 1e-300 + 1e-12 * b.mag(), "{name}: A_{k}[{i}][{j}] {a:?} vs {b:?}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod set_cost_tests {
    use super::*;

    /// Red team (issue 15): a hostile certificate with a framed end in many variables kept
    /// `verify` busy for half an hour in dense `n³` work; such sets are refused before it.
    #[test]
    fn framed_sets_in_many_variables_are_refused() {
        let set = |n: usize, lin: bool| Set {
            x: vec![0.0; n],
            b: Some(vec![]),
            r: vec![],
            lin: lin.then(|| Linear { c: vec![], u: vec![] }),
        };
        assert!(check_set_cost(600, &set(600, true)).is_ok());
        assert!(check_set_cost(1200, &set(1200, false)).is_err());
        assert!(check_set_cost(700, &set(700, true)).unwrap_err().contains("doubleton"));
        let boxed = Set { x: vec![0.0; 5000], b: None, r: vec![], lin: None };
        assert!(check_set_cost(5000, &boxed).is_ok());
    }
}
