//! A straight-line program ("tape") of a function built from `+ − × ÷`, negation, `exp`,
//! `sqrt` and `max`, recorded once by running generic code (`model::reference::rhs`) on
//! [`Var`], then evaluated on truncated Taylor series in outward-rounded intervals.
//!
//! Why: the Taylor recurrence of an ODE `y' = g(y, p(t))` needs coefficient `k` of `g` from
//! coefficients `0 … k` of `y`. Re-running `g` on ever longer series costs `O(len³)` per
//! operation and recomputes every `exp` `len` times; on the tape each coefficient of each node
//! is computed once, in `O(len²)` per node. The same holds for the forward derivatives of the
//! coefficients along initial directions (the variational equation, for Lohner's method).
//!
//! Soundness: every recurrence below is an identity of formal power series (derived at its
//! case), evaluated in inari's outward-rounded arithmetic; by the inclusion property each
//! computed coefficient encloses the exact one for every point of the inputs' enclosures.
//! They are Taylor coefficients of the function only where it is smooth on the whole input:
//! `÷` with `0 ∉` the divisor, `sqrt` of a positive argument, `max` with one argument
//! dominating. These are decided on the zeroth coefficients (enclosures over the whole input);
//! elsewhere evaluation stops with [`NotSmooth`].
//! Tightness: not tight (sums of products: the dependency problem), as for any interval AD.

use std::cell::RefCell;
use std::ops::Range;

use inari::Interval;

use crate::numeric::enclose::point;
use crate::numeric::jet::{Lift, Series};
use crate::numeric::scalar::Scalar;

const ZERO: Interval = inari::const_interval!(0.0, 0.0);

/// One node of the program; operands are indices of earlier nodes.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Input,
    Const(Interval),
    Add(u32, u32),
    Sub(u32, u32),
    Mul(u32, u32),
    Div(u32, u32),
    Neg(u32),
    Exp(u32),
    Sqrt(u32),
    Max(u32, u32),
}

/// The recorded program: nodes `0 … inputs−1` are the inputs, `outputs` name result nodes.
#[derive(Clone, Debug)]
pub struct Tape {
    ops: Vec<Op>,
    inputs: usize,
    outputs: Vec<u32>,
}

/// The function is not smooth somewhere on the input (see the module note).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotSmooth;

/// A node under recording. Only meaningful inside [`Tape::record`].
#[derive(Clone, Copy, Debug)]
pub struct Var(u32);

thread_local! {
    static RECORDING: RefCell<Vec<Op>> = const { RefCell::new(Vec::new()) };
}

fn push(op: Op) -> Var {
    RECORDING.with(|r| {
        let mut ops = r.borrow_mut();
        ops.push(op);
        Var((ops.len() - 1) as u32)
    })
}

impl Tape {
    /// Records `f` applied to `inputs` input variables.
    pub fn record(inputs: usize, f: impl FnOnce(&[Var]) -> Vec<Var>) -> Tape {
        RECORDING.with(|r| r.borrow_mut().clear());
        let vars: Vec<Var> = (0..inputs).map(|_| push(Op::Input)).collect();
        let outputs = f(&vars).into_iter().map(|v| v.0).collect();
        let ops = RECORDING.with(|r| std::mem::take(&mut *r.borrow_mut()));
        Tape { ops, inputs, outputs }
    }

    pub fn nodes(&self) -> usize {
        self.ops.len()
    }
}

/// The value of a constant node.
fn constant(v: Var) -> Option<Interval> {
    RECORDING.with(|r| match r.borrow()[v.0 as usize] {
        Op::Const(x) => Some(x),
        _ => None,
    })
}

fn is(v: Var, x: f64) -> bool {
    constant(v).is_some_and(|c| c.inf() == x && c.sup() == x)
}

// Folding at record time, each exact in interval arithmetic (so the tape computes the same
// enclosures as the unfolded program): `x ± [0, 0] = x`, `[0, 0] · x = [0, 0]` (for every
// nonempty `x`, even unbounded ones), `[1, 1] · x = x`, `x / [1, 1] = x`; operations on two
// constants are done once, in the same outward-rounded arithmetic.
impl std::ops::Add for Var {
    type Output = Var;
    fn add(self, o: Var) -> Var {
        match (constant(self), constant(o)) {
            (Some(a), Some(b)) => push(Op::Const(a + b)),
            _ if is(o, 0.0) => self,
            _ if is(self, 0.0) => o,
            _ => push(Op::Add(self.0, o.0)),
        }
    }
}

impl std::ops::Sub for Var {
    type Output = Var;
    fn sub(self, o: Var) -> Var {
        match (constant(self), constant(o)) {
            (Some(a), Some(b)) => push(Op::Const(a - b)),
            _ if is(o, 0.0) => self,
            _ if is(self, 0.0) => -o,
            _ => push(Op::Sub(self.0, o.0)),
        }
    }
}

impl std::ops::Mul for Var {
    type Output = Var;
    fn mul(self, o: Var) -> Var {
        match (constant(self), constant(o)) {
            (Some(a), Some(b)) => push(Op::Const(a * b)),
            _ if is(self, 0.0) => self,
            _ if is(o, 0.0) => o,
            _ if is(self, 1.0) => o,
            _ if is(o, 1.0) => self,
            _ => push(Op::Mul(self.0, o.0)),
        }
    }
}

impl std::ops::Div for Var {
    type Output = Var;
    fn div(self, o: Var) -> Var {
        if is(o, 1.0) {
            self
        } else {
            push(Op::Div(self.0, o.0))
        }
    }
}

impl std::ops::Neg for Var {
    type Output = Var;
    fn neg(self) -> Var {
        match constant(self) {
            Some(a) => push(Op::Const(-a)),
            None => push(Op::Neg(self.0)),
        }
    }
}

impl Scalar for Var {
    fn from_f64(x: f64) -> Self {
        push(Op::Const(point(x)))
    }
    fn exp(self) -> Self {
        push(Op::Exp(self.0))
    }
    fn sqrt(self) -> Self {
        push(Op::Sqrt(self.0))
    }
    fn max(self, o: Self) -> Self {
        push(Op::Max(self.0, o.0))
    }
}

impl Lift for Var {
    fn lift(x: Interval) -> Self {
        push(Op::Const(x))
    }
}

/// Coefficients `0 … len−1` of every node, with two flags per node: `konst` (its coefficients
/// past the zeroth are exactly 0) and `state` (it depends on a state input; only those carry
/// derivatives).
pub struct Table {
    len: usize,
    c: Vec<Interval>,
    konst: Vec<bool>,
    state: Vec<bool>,
}

impl Table {
    fn at(&self, node: u32, k: usize) -> Interval {
        self.c[node as usize * self.len + k]
    }

    /// The series of input `i` (a state coordinate: the solution's Taylor series).
    pub fn series(&self, i: usize) -> Series {
        let mut s = Series::constant(ZERO);
        s.len = self.len;
        s.c[..self.len].copy_from_slice(&self.c[i * self.len..(i + 1) * self.len]);
        s
    }
}

/// `Σ_{j ∈ js} a_j b_{k−j}` for node coefficient rows `a`, `b`.
fn cauchy(a: &[Interval], b: &[Interval], k: usize, js: Range<usize>) -> Interval {
    js.fold(ZERO, |s, j| s + a[j] * b[k - j])
}

impl Tape {
    /// The Taylor series, truncated after `len` coefficients, of every node along the solution
    /// of `y' = g(y, p(t))` through `y(t*) = y0`, for every `y0` in the given enclosure: inputs
    /// `0 … n−1` are the state `y` (`n = y0.len()`), the others the parameters `p`, given as
    /// series in `t` around `t*`; outputs `0 … n−1` are `g`.
    ///
    /// Recurrence: `y_{k+1} = g_k / (k+1)`, and `g_k` depends on `y_0 … y_k` only, so round
    /// `k` computes coefficient `k` of every node from the inputs' coefficients `≤ k`.
    pub fn ode_series(&self, y0: &[Interval], params: &[Series], len: usize) -> Result<Table, NotSmooth> {
        let n = y0.len();
        assert!(n + params.len() == self.inputs && self.outputs.len() == n && len >= 1, "tape shape");
        let nodes = self.ops.len();
        let mut t = Table { len, c: vec![ZERO; nodes * len], konst: vec![false; nodes], state: vec![false; nodes] };
        for (i, &y) in y0.iter().enumerate() {
            t.c[i * len] = y;
            t.state[i] = true;
        }
        for (i, p) in params.iter().enumerate() {
            let node = n + i;
            t.konst[node] = p.len == 1;
            for k in 0..len.min(p.len) {
                t.c[node * len + k] = p.c[k];
            }
        }
        self.flags(&mut t);
        for k in 0..len {
            for node in self.inputs..nodes {
                let v = self.coefficient(&t, node, k)?;
                t.c[node * len + k] = v;
            }
            if k + 1 < len {
                let kk = point((k + 1) as f64);
                for (i, &out) in self.outputs.iter().enumerate() {
                    t.c[i * len + k + 1] = t.at(out, k) / kk;
                }
            }
        }
        Ok(t)
    }

    fn flags(&self, t: &mut Table) {
        for node in self.inputs..self.ops.len() {
            let (konst, state) = match self.ops[node] {
                Op::Input => unreachable!("inputs come first"),
                Op::Const(_) => (true, false),
                Op::Neg(a) | Op::Exp(a) | Op::Sqrt(a) => (t.konst[a as usize], t.state[a as usize]),
                Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Max(a, b) => {
                    let (a, b) = (a as usize, b as usize);
                    (t.konst[a] && t.konst[b], t.state[a] || t.state[b])
                }
            };
            t.konst[node] = konst;
            t.state[node] = state;
        }
    }

    /// Coefficient `k` of `node`, given coefficients `≤ k` of its operands and `< k` of itself.
    fn coefficient(&self, t: &Table, node: usize, k: usize) -> Result<Interval, NotSmooth> {
        let len = t.len;
        let row = |x: u32| &t.c[x as usize * len..x as usize * len + len];
        let me = &t.c[node * len..node * len + len];
        let kk = point(k as f64);
        Ok(match self.ops[node] {
            Op::Input => unreachable!("inputs are set by the caller"),
            Op::Const(x) => {
                if k == 0 {
                    x
                } else {
                    ZERO
                }
            }
            Op::Add(a, b) => t.at(a, k) + t.at(b, k),
            Op::Sub(a, b) => t.at(a, k) - t.at(b, k),
            Op::Neg(a) => -t.at(a, k),
            // (ab)_k = Σ_{j=0..k} a_j b_{k−j}; a constant factor has only its zeroth term.
            Op::Mul(a, b) => {
                if t.konst[a as usize] {
                    t.at(a, 0) * t.at(b, k)
                } else if t.konst[b as usize] {
                    t.at(a, k) * t.at(b, 0)
                } else {
                    cauchy(row(a), row(b), k, 0..k + 1)
                }
            }
            // q = a/b ⇔ a = q·b: a_k = Σ_{j=0..k} b_j q_{k−j}, so
            // q_k = (a_k − Σ_{j=1..k} b_j q_{k−j}) / b_0, smooth where 0 ∉ b_0.
            Op::Div(a, b) => {
                let b0 = t.at(b, 0);
                if b0.contains(0.0) {
                    return Err(NotSmooth);
                }
                if t.konst[b as usize] {
                    t.at(a, k) / b0
                } else {
                    (t.at(a, k) - cauchy(row(b), me, k, 1..k + 1)) / b0
                }
            }
            // e = exp(a) ⇔ e' = a'·e: k e_k = Σ_{j=1..k} j a_j e_{k−j}.
            Op::Exp(a) => {
                if k == 0 {
                    t.at(a, 0).exp()
                } else {
                    let ra = row(a);
                    (1..=k).fold(ZERO, |s, j| s + point(j as f64) * ra[j] * me[k - j]) / kk
                }
            }
            // r = sqrt(a) ⇔ r² = a: a_k = Σ_{j=0..k} r_j r_{k−j}, so
            // r_k = (a_k − Σ_{j=1..k−1} r_j r_{k−j}) / (2 r_0), smooth where a_0 > 0.
            Op::Sqrt(a) => {
                let a0 = t.at(a, 0);
                if !(a0.inf() > 0.0) {
                    return Err(NotSmooth);
                }
                if k == 0 {
                    a0.sqrt()
                } else {
                    (t.at(a, k) - cauchy(me, me, k, 1..k)) / (point(2.0) * me[0])
                }
            }
            // max(a, b) is a or b where one dominates over the whole input; a kink otherwise.
            Op::Max(a, b) => t.at(dominant(t, a, b)?, k),
        })
    }
}

/// The operand of `max(a, b)` that dominates over the whole input.
fn dominant(t: &Table, a: u32, b: u32) -> Result<u32, NotSmooth> {
    let (a0, b0) = (t.at(a, 0), t.at(b, 0));
    if a0.inf() >= b0.sup() {
        Ok(a)
    } else if b0.inf() >= a0.sup() {
        Ok(b)
    } else {
        Err(NotSmooth)
    }
}

/// Forward derivatives of every node's coefficients along `m` directions of the initial state:
/// `d[(node·m + e)·len + k]` is coefficient `k` of `∂node/∂y0 · v_e`.
struct Derivatives {
    m: usize,
    len: usize,
    d: Vec<Interval>,
}

impl Derivatives {
    fn row(&self, node: u32, e: usize) -> &[Interval] {
        let at = (node as usize * self.m + e) * self.len;
        &self.d[at..at + self.len]
    }
}

/// Which groups of state inputs (inputs `g·size … (g+1)·size − 1`, e.g. the coordinates of
/// one token) each node depends on, as bitsets of `words` words per node. A node's derivative
/// along a direction of a group it does not depend on is exactly zero, and is never computed.
struct Support {
    words: usize,
    bits: Vec<u64>,
}

impl Support {
    fn has(&self, node: u32, g: usize) -> bool {
        self.bits[node as usize * self.words + g / 64] >> (g % 64) & 1 == 1
    }
}

impl Tape {
    fn support(&self, n: usize, size: usize) -> Support {
        let words = n.div_ceil(size).div_ceil(64).max(1);
        let mut bits = vec![0u64; self.ops.len() * words];
        for i in 0..n {
            let g = i / size;
            bits[i * words + g / 64] |= 1 << (g % 64);
        }
        for node in self.inputs..self.ops.len() {
            let (a, b) = match self.ops[node] {
                Op::Input | Op::Const(_) => continue,
                Op::Neg(a) | Op::Exp(a) | Op::Sqrt(a) => (a as usize, a as usize),
                Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Max(a, b) => (a as usize, b as usize),
            };
            for w in 0..words {
                bits[node * words + w] = bits[a * words + w] | bits[b * words + w];
            }
        }
        Support { words, bits }
    }

    /// Columns `dirs` of the Taylor coefficients `A_0 … A_{len−1}` of the variational matrix
    /// `V(t) = ∂y(t)/∂y(t*)` (so `A_0 = I`), along every solution enclosed by `t`, which must
    /// come from [`Tape::ode_series`] with at least `len − 1` coefficients. Returns
    /// `a[k][i][e]` for `e` indexing `dirs`. `group` is the size of the groups of state
    /// coordinates used to skip exact zeros (see [`Support`]; any size is correct).
    ///
    /// `V` solves `V' = ∂g/∂y·V`; its column `j` is the derivative of `y` along `e_j`, so the
    /// recurrence of [`Tape::ode_series`] differentiated along `e_j` gives it:
    /// `A_{k+1}[·][j] = (∂g/∂y·e_j)_k / (k+1)`, round by round, with each node's derivative
    /// coefficients from the differentiated recurrence stated at each case.
    pub fn ode_variational(&self, t: &Table, dirs: Range<usize>, group: usize, len: usize) -> Result<Vec<Vec<Vec<Interval>>>, NotSmooth> {
        let n = self.outputs.len();
        let m = dirs.len();
        assert!(len >= 1 && len <= t.len + 1 && group >= 1, "table too short");
        let nodes = self.ops.len();
        let support = self.support(n, group);
        let mut dv = Derivatives { m, len, d: vec![ZERO; nodes * m * len] };
        for (e, j) in dirs.clone().enumerate() {
            dv.d[(j * m + e) * len] = point(1.0);
        }
        // The groups the directions fall in, and the directions of each.
        let groups: Vec<(usize, Range<usize>)> = {
            let (g0, g1) = (dirs.start / group, dirs.end.div_ceil(group));
            (g0..g1).map(|g| (g, (g * group).max(dirs.start) - dirs.start..((g + 1) * group).min(dirs.end) - dirs.start)).collect()
        };
        for k in 0..len.saturating_sub(1) {
            for node in self.inputs..nodes {
                for (g, es) in &groups {
                    if !support.has(node as u32, *g) {
                        continue;
                    }
                    for e in es.clone() {
                        let v = self.derivative(t, &dv, &support, *g, node, e, k)?;
                        dv.d[(node * m + e) * len + k] = v;
                    }
                }
            }
            let kk = point((k + 1) as f64);
            for (i, &out) in self.outputs.iter().enumerate() {
                for e in 0..m {
                    let v = dv.row(out, e)[k] / kk;
                    dv.d[(i * m + e) * len + k + 1] = v;
                }
            }
        }
        Ok((0..len).map(|k| (0..n).map(|i| (0..m).map(|e| dv.row(i as u32, e)[k]).collect()).collect()).collect())
    }

    /// Coefficient `k` of the derivative `δnode` along direction `e` (in group `g`), given
    /// those `≤ k` of the operands and `< k` of the node itself. Operands that do not depend on
    /// group `g` have `δ = 0` and their terms are left out.
    #[allow(clippy::too_many_arguments)]
    fn derivative(&self, t: &Table, dv: &Derivatives, s: &Support, g: usize, node: usize, e: usize, k: usize) -> Result<Interval, NotSmooth> {
        let len = t.len;
        let val = |x: u32| &t.c[x as usize * len..x as usize * len + len];
        let dep = |x: u32| s.has(x, g);
        let me = dv.row(node as u32, e);
        Ok(match self.ops[node] {
            Op::Input | Op::Const(_) => ZERO,
            Op::Add(a, b) => dv.row(a, e)[k] + dv.row(b, e)[k],
            Op::Sub(a, b) => dv.row(a, e)[k] - dv.row(b, e)[k],
            Op::Neg(a) => -dv.row(a, e)[k],
            // δ(ab) = δa·b + a·δb, each a Cauchy product; a constant factor has only its
            // zeroth term.
            Op::Mul(a, b) => {
                let mut s = ZERO;
                if dep(a) {
                    s += if t.konst[b as usize] { dv.row(a, e)[k] * t.at(b, 0) } else { cauchy(dv.row(a, e), val(b), k, 0..k + 1) };
                }
                if dep(b) {
                    s += if t.konst[a as usize] { t.at(a, 0) * dv.row(b, e)[k] } else { cauchy(val(a), dv.row(b, e), k, 0..k + 1) };
                }
                s
            }
            // q = a/b: δq·b = δa − q·δb, so
            // δq_k = (δa_k − Σ_{j=0..k} q_j δb_{k−j} − Σ_{j=1..k} b_j δq_{k−j}) / b_0.
            Op::Div(a, b) => {
                let mut s = if dep(a) { dv.row(a, e)[k] } else { ZERO };
                if dep(b) {
                    s -= cauchy(val(node as u32), dv.row(b, e), k, 0..k + 1);
                }
                if !t.konst[b as usize] {
                    s -= cauchy(val(b), me, k, 1..k + 1);
                }
                s / t.at(b, 0)
            }
            // δ exp(a) = exp(a)·δa: δe_k = Σ_{j=0..k} e_j δa_{k−j}.
            Op::Exp(a) => cauchy(val(node as u32), dv.row(a, e), k, 0..k + 1),
            // r² = a: 2 r·δr = δa, so δr_k = (δa_k − 2 Σ_{j=1..k} r_j δr_{k−j}) / (2 r_0).
            Op::Sqrt(a) => {
                let r = val(node as u32);
                (dv.row(a, e)[k] - point(2.0) * cauchy(r, me, k, 1..k + 1)) / (point(2.0) * r[0])
            }
            Op::Max(a, b) => dv.row(dominant(t, a, b)?, e)[k],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(i: Interval, x: f64, tol: f64) -> bool {
        i.inf() - tol <= x && x <= i.sup() + tol
    }

    /// `y' = y²` from `y(0) = 1`: `y = 1/(1−t)`, all coefficients 1; `V = ∂y/∂y0 = 1/(1−t)²`,
    /// coefficients `k+1`.
    #[test]
    fn riccati_series_and_variational() {
        let tape = Tape::record(1, |v| vec![v[0] * v[0]]);
        let t = tape.ode_series(&[point(1.0)], &[], 8).unwrap();
        let s = t.series(0);
        assert!((0..8).all(|k| contains(s.c[k], 1.0, 1e-14)));
        let a = tape.ode_variational(&t, 0..1, 1, 8).unwrap();
        assert!((0..8).all(|k| contains(a[k][0][0], (k + 1) as f64, 1e-13)), "{a:?}");
    }

    /// `y' = exp(−y)·sqrt(y)/max(y, 1/2) + p(t)` against the recurrence-free evaluation on
    /// [`Series`] (the same identities computed by re-running on longer series).
    #[test]
    fn agrees_with_series_evaluation() {
        let g = |y: Var, p: Var| (-y).exp() * y.sqrt() / y.max(Var::from_f64(0.5)) + p;
        let tape = Tape::record(2, |v| vec![g(v[0], v[1])]);
        let mut p = Series::variable(point(0.0), 6);
        p.c[2] = point(0.25);
        let t = tape.ode_series(&[point(2.0)], &[p], 6).unwrap();
        // Picard on Series: y_{k+1} = g(y)_k/(k+1).
        let mut y = Series::constant(point(2.0));
        for k in 0..5 {
            y.len = k + 1;
            let f = (-y).exp() * y.sqrt() / y.max(Series::from_f64(0.5)) + p;
            y.c[k + 1] = f.c[k] / point((k + 1) as f64);
        }
        let s = t.series(0);
        for k in 0..6 {
            assert!(contains(s.c[k], y.c[k].mid(), 1e-14), "k = {k}");
        }
    }

    #[test]
    fn kinks_stop_evaluation() {
        let tape = Tape::record(1, |v| vec![v[0].sqrt()]);
        assert_eq!(tape.ode_series(&[Interval::try_from((-1.0, 1.0)).unwrap()], &[], 3).err(), Some(NotSmooth));
        let tape = Tape::record(1, |v| vec![Var::from_f64(1.0) / v[0]]);
        assert_eq!(tape.ode_series(&[Interval::try_from((-1.0, 1.0)).unwrap()], &[], 3).err(), Some(NotSmooth));
        let tape = Tape::record(1, |v| vec![v[0].max(-v[0])]);
        assert_eq!(tape.ode_series(&[Interval::try_from((-1.0, 1.0)).unwrap()], &[], 3).err(), Some(NotSmooth));
    }
}
