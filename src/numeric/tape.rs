//! A straight-line program ("tape") of a function built from `+ − × ÷`, negation, `exp`,
//! `sqrt` and `max`, recorded once by running generic code (`model::reference::rhs`) on
//! [`Var`], then [`fuse`]d (dead nodes dropped, `+ − ×` and negation merged into sums of
//! products: a quarter of the nodes on model (7)) and evaluated on truncated Taylor
//! series in outward-rounded intervals.
//!
//! Why: the Taylor recurrence of an ODE `y' = g(y, p(t))` needs coefficient `k` of `g` from
//! coefficients `0 … k` of `y`. Re-running `g` on ever longer series costs `O(len³)` per
//! operation and recomputes every `exp` `len` times; on the tape each coefficient of each node
//! is computed once, in `O(len²)` per node. The same holds for the forward derivatives of the
//! coefficients along initial directions (the variational equation, for Lohner's method).
//!
//! Soundness: every recurrence below is an identity of formal power series (derived at its
//! case), evaluated in outward-rounded interval arithmetic (inari's, or `midrad`'s
//! midpoint–radius sums with their rounding bound); by the inclusion property each
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
use crate::numeric::midrad::{add, cauchy, sub, mid_rad, to_interval, zeros, Coeffs, Lanes, Row, Sum, Zeros};
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
    /// `Σ_t ±a_t·b_t` over `terms[start..end]` (what [`fuse`] makes of `+ − ×` and negation).
    Sum(u32, u32),
}

/// One term of an [`Op::Sum`]: `±a`, or `±a·b`.
#[derive(Clone, Copy, Debug)]
pub struct Term {
    a: u32,
    b: Option<u32>,
    negate: bool,
}

/// The recorded program: nodes `0 … inputs−1` are the inputs, `outputs` name result nodes.
#[derive(Clone, Debug)]
pub struct Tape {
    ops: Vec<Op>,
    terms: Vec<Term>,
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
    /// Records `f` applied to `inputs` input variables, then [`fuse`]s the program.
    pub fn record(inputs: usize, f: impl FnOnce(&[Var]) -> Vec<Var>) -> Tape {
        fuse(&Tape::record_plain(inputs, f))
    }

    /// Records `f` as it runs, one node per operation.
    fn record_plain(inputs: usize, f: impl FnOnce(&[Var]) -> Vec<Var>) -> Tape {
        RECORDING.with(|r| r.borrow_mut().clear());
        let vars: Vec<Var> = (0..inputs).map(|_| push(Op::Input)).collect();
        let outputs = f(&vars).into_iter().map(|v| v.0).collect();
        let ops = RECORDING.with(|r| std::mem::take(&mut *r.borrow_mut()));
        Tape { ops, terms: Vec::new(), inputs, outputs }
    }

    /// The operands of `node`, each once per occurrence.
    fn operands(&self, node: usize) -> impl Iterator<Item = u32> + '_ {
        let (pair, sum): (Option<(u32, Option<u32>)>, &[Term]) = match self.ops[node] {
            Op::Input | Op::Const(_) => (None, &[]),
            Op::Neg(a) | Op::Exp(a) | Op::Sqrt(a) => (Some((a, None)), &[]),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Max(a, b) => (Some((a, Some(b))), &[]),
            Op::Sum(start, end) => (None, &self.terms[start as usize..end as usize]),
        };
        let sum = sum.iter().map(|t| (t.a, t.b));
        pair.into_iter().chain(sum).flat_map(|(a, b)| std::iter::once(a).chain(b))
    }

    pub fn nodes(&self) -> usize {
        self.ops.len()
    }
}

/// Rewrites a recorded program into an equivalent, shorter one: drops the nodes no output
/// needs, and turns every `+`, `−`, `×` and negation into an [`Op::Sum`] of products, merging
/// into it each such node used only by it (`((x·y + z) − u·v)` becomes one node
/// `x·y + z − u·v`; products are not distributed over sums).
///
/// Why: a dot product of length `d` was `2d − 1` nodes, each with its own coefficients,
/// derivative lanes and rounding bound; fused it is one node with one bound (and no rounding
/// of the partial sums). Fusing a fused program changes nothing. Soundness: the fused
/// program computes the same real function (the identities of `+`, `−`, `×`), and
/// [`Op::Sum`]'s recurrences are those of its terms added. The node-by-node cases of `+ − ×`
/// and negation in [`Tape::coefficient`] and [`Tape::derivative`] stay, as the reference the
/// fusion tests compare against (`Tape::record_plain`). The node order stays topological (a sum takes the place of its
/// root, after all its operands).
fn fuse(plain: &Tape) -> Tape {
    let n = plain.ops.len();
    let additive = |op: Op| matches!(op, Op::Add(..) | Op::Sub(..) | Op::Neg(_));
    let linear = |op: Op| additive(op) || matches!(op, Op::Mul(..));
    // Liveness, backwards from the outputs (inputs always stay: they are the interface).
    let mut live = vec![false; n];
    live[..plain.inputs].fill(true);
    for &o in &plain.outputs {
        live[o as usize] = true;
    }
    for node in (0..n).rev() {
        if live[node] {
            for x in plain.operands(node) {
                live[x as usize] = true;
            }
        }
    }
    // Uses by live nodes and outputs; a node used once records its user.
    let mut uses = vec![0usize; n];
    let mut user = vec![usize::MAX; n];
    for node in (0..n).filter(|&i| live[i]) {
        for x in plain.operands(node) {
            uses[x as usize] += 1;
            user[x as usize] = node;
        }
    }
    for &o in &plain.outputs {
        uses[o as usize] += 1;
        user[o as usize] = usize::MAX;
    }
    let merged: Vec<bool> = (0..n).map(|x| live[x] && linear(plain.ops[x]) && uses[x] == 1 && user[x] != usize::MAX && additive(plain.ops[user[x]])).collect();
    let mut tape = Tape { ops: Vec::new(), terms: Vec::new(), inputs: plain.inputs, outputs: Vec::new() };
    let mut new = vec![u32::MAX; n];
    for node in (0..n).filter(|&i| live[i] && !merged[i]) {
        let m = |x: u32| new[x as usize];
        let op = match plain.ops[node] {
            Op::Add(..) | Op::Sub(..) | Op::Mul(..) | Op::Neg(_) => {
                let start = tape.terms.len() as u32;
                // Depth first over the merged nodes below `node`, with the sign so far.
                let mut stack = vec![(node as u32, false)];
                while let Some((x, negate)) = stack.pop() {
                    let expand = x as usize == node || merged[x as usize];
                    match plain.ops[x as usize] {
                        Op::Add(a, b) if expand => stack.extend([(b, negate), (a, negate)]),
                        Op::Sub(a, b) if expand => stack.extend([(b, !negate), (a, negate)]),
                        Op::Neg(a) if expand => stack.push((a, !negate)),
                        Op::Mul(a, b) if expand => tape.terms.push(Term { a: m(a), b: Some(m(b)), negate }),
                        _ => tape.terms.push(Term { a: m(x), b: None, negate }),
                    }
                }
                Op::Sum(start, tape.terms.len() as u32)
            }
            Op::Sum(from, to) => {
                let start = tape.terms.len() as u32;
                for &Term { a, b, negate } in &plain.terms[from as usize..to as usize] {
                    tape.terms.push(Term { a: m(a), b: b.map(m), negate });
                }
                Op::Sum(start, tape.terms.len() as u32)
            }
            Op::Input => Op::Input,
            Op::Const(x) => Op::Const(x),
            Op::Div(a, b) => Op::Div(m(a), m(b)),
            Op::Max(a, b) => Op::Max(m(a), m(b)),
            Op::Exp(a) => Op::Exp(m(a)),
            Op::Sqrt(a) => Op::Sqrt(m(a)),
        };
        new[node] = tape.ops.len() as u32;
        tape.ops.push(op);
    }
    tape.outputs = plain.outputs.iter().map(|&o| new[o as usize]).collect();
    tape
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
/// derivatives). `slope` holds, for `exp` nodes only, the coefficients `(j+1)·a_{j+1}` of the
/// derivative of their argument `a`.
pub struct Table {
    len: usize,
    c: Coeffs,
    slope: Coeffs,
    konst: Vec<bool>,
    state: Vec<bool>,
}

impl Table {
    /// The number of coefficients per node.
    pub fn coefficients(&self) -> usize {
        self.len
    }

    fn at(&self, node: u32, k: usize) -> Interval {
        self.c.get(node as usize * self.len + k)
    }

    fn row(&self, node: u32) -> Row<'_> {
        let at = node as usize * self.len;
        self.c.row(at..at + self.len)
    }

    fn set(&mut self, node: usize, k: usize, x: Interval) {
        self.c.set(node * self.len + k, x);
    }

    /// The series of input `i` (a state coordinate: the solution's Taylor series).
    pub fn series(&self, i: usize) -> Series {
        let mut s = Series::constant(ZERO);
        s.len = self.len;
        s.c[..self.len].copy_from_slice(self.c.intervals(i * self.len..(i + 1) * self.len));
        s
    }
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
        let exps = self.ops.iter().filter(|op| matches!(op, Op::Exp(_))).count();
        let mut t = Table { len, c: Coeffs::zeros(nodes * len), slope: Coeffs::zeros(0), konst: vec![false; nodes], state: vec![false; nodes] };
        for (i, &y) in y0.iter().enumerate() {
            t.set(i, 0, y);
            t.state[i] = true;
        }
        for (i, p) in params.iter().enumerate() {
            let node = n + i;
            t.konst[node] = p.len == 1;
            for k in 0..len.min(p.len) {
                t.set(node, k, p.c[k]);
            }
        }
        self.flags(&mut t);
        // Row `e` of `slope` belongs to the `e`-th exp node.
        let exp_row: Vec<usize> = self.ops.iter().scan(0, |e, op| Some(if matches!(op, Op::Exp(_)) { *e += 1; *e - 1 } else { usize::MAX })).collect();
        t.slope = Coeffs::zeros(exps * len);
        for k in 0..len {
            for (node, &er) in exp_row.iter().enumerate().skip(self.inputs) {
                if k >= 1 && t.konst[node] {
                    // Coefficients past the zeroth of a constant are exactly 0, as stored.
                    continue;
                }
                if let (Op::Exp(a), true) = (self.ops[node], k >= 1) {
                    // (j+1)·a_{j+1} for j = k−1, needed from round k on: exact factor k.
                    let v = point(k as f64) * t.at(a, k);
                    t.slope.set(er * len + k - 1, v);
                }
                let slope = (er != usize::MAX).then(|| t.slope.row(er * len..(er + 1) * len));
                let v = self.coefficient(&t, slope, node, k)?;
                t.set(node, k, v);
            }
            if k + 1 < len {
                let kk = point((k + 1) as f64);
                for (i, &out) in self.outputs.iter().enumerate() {
                    let v = t.at(out, k) / kk;
                    t.set(i, k + 1, v);
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
                _ => self.operands(node).fold((true, false), |(k, s), x| (k && t.konst[x as usize], s || t.state[x as usize])),
            };
            t.konst[node] = konst;
            t.state[node] = state;
        }
    }

    /// Coefficient `k` of `node`, given coefficients `≤ k` of its operands and `< k` of itself
    /// (and, for `exp`, its argument's `slope` up to `k − 1`).
    fn coefficient(&self, t: &Table, slope: Option<Row>, node: usize, k: usize) -> Result<Interval, NotSmooth> {
        let row = |x: u32| t.row(x);
        let me = t.row(node as u32);
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
            Op::Add(a, b) => add(t.at(a, k), t.at(b, k)),
            Op::Sub(a, b) => sub(t.at(a, k), t.at(b, k)),
            Op::Neg(a) => -t.at(a, k),
            // (ab)_k = Σ_{j=0..k} a_j b_{k−j}; a constant factor has only its zeroth term.
            Op::Mul(a, b) => cauchy(row(a), row(b), k, factor_range(t, a, b, k)),
            // (Σ ±a·b)_k = Σ ±(ab)_k, each a Cauchy product as for `Mul`, all in one
            // midpoint–radius sum; a lone `±a` is `±a_k`, exact.
            Op::Sum(start, end) => {
                let terms = &self.terms[start as usize..end as usize];
                if let [Term { a, b: None, negate }] = *terms {
                    let x = t.at(a, k);
                    return Ok(if negate { -x } else { x });
                }
                let mut sum = Sum::default();
                for &Term { a, b, negate } in terms {
                    match b {
                        None => sum.term(row(a).mr(k), negate),
                        Some(b) => sum.cauchy(row(a), row(b), k, factor_range(t, a, b, k), negate),
                    }
                }
                sum.finish().unwrap_or_else(|| {
                    terms.iter().fold(ZERO, |acc, &Term { a, b, negate }| {
                        let x = match b {
                            None => t.at(a, k),
                            Some(b) => (0..k + 1).fold(ZERO, |s, j| s + t.at(a, j) * t.at(b, k - j)),
                        };
                        if negate {
                            acc - x
                        } else {
                            acc + x
                        }
                    })
                })
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
                    sub(t.at(a, k), cauchy(row(b), me, k, 1..k + 1)) / b0
                }
            }
            // e = exp(a) ⇔ e' = a'·e: k e_k = Σ_{j=1..k} j a_j e_{k−j} = Σ_{i=0..k−1} s_i e_{k−1−i}
            // with s_i = (i+1) a_{i+1} the coefficients of a' (the `slope` row).
            Op::Exp(a) => {
                if k == 0 {
                    t.at(a, 0).exp()
                } else {
                    cauchy(slope.expect("exp nodes have a slope row"), me, k - 1, 0..k) / kk
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
                    sub(t.at(a, k), cauchy(me, me, k, 1..k)) / (point(2.0) * me.at(0))
                }
            }
            // max(a, b) is a or b where one dominates over the whole input; a kink otherwise.
            Op::Max(a, b) => t.at(dominant(t, a, b)?, k),
        })
    }
}

/// The `j` of the nonzero products `a_j·b_{k−j}` in `(ab)_k`: a constant factor has only its
/// zeroth coefficient (the others are exactly 0).
fn factor_range(t: &Table, a: u32, b: u32, k: usize) -> Range<usize> {
    if t.konst[a as usize] {
        0..1
    } else if t.konst[b as usize] {
        k..k + 1
    } else {
        0..k + 1
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

/// Forward derivatives of every node's coefficients along `m` directions of the initial state,
/// in midpoint–radius form: coefficient `k` of `∂node/∂y0 · v_e` is
/// `⟨mid[at(node, k) + e], rad[at(node, k) + e]⟩`, directions innermost.
struct Derivatives {
    m: usize,
    len: usize,
    mid: Zeros<f64>,
    rad: Zeros<f64>,
}

impl Derivatives {
    fn at(&self, node: u32, k: usize) -> usize {
        (node as usize * self.len + k) * self.m
    }

    /// Lanes `es` of coefficient `k` of `node`.
    fn lanes(&self, node: u32, k: usize, es: &Range<usize>) -> (&[f64], &[f64]) {
        let at = self.at(node, k);
        (&self.mid[at + es.start..at + es.end], &self.rad[at + es.start..at + es.end])
    }
}

/// Which groups of state inputs (inputs `g·size … (g+1)·size − 1`, e.g. the coordinates of
/// one token) the coefficients `0 … k` of each node depend on, as bitsets of `words` words per
/// node, for the current round `k`. A node's derivative along a direction of a group it does
/// not depend on is exactly zero, and is never computed.
///
/// Round 0: a state input depends on its own group, a node on the union of its operands'.
/// Round `k ≥ 1`: coefficient `k` of state input `i` is `g_{i, k−1}/k`, so the input gains the
/// groups of output `i` at round `k − 1`; nodes again take the union of their operands' (a
/// coefficient `k` depends on the operands' coefficients `0 … k` only). (Keeping the round-0
/// sets for every `k` was a soundness bug: it dropped the coupling through the state.)
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
    /// The round-0 sets of the state inputs (see [`Support`]); nodes by [`Tape::propagate`].
    fn support(&self, n: usize, size: usize) -> Support {
        let words = n.div_ceil(size).div_ceil(64).max(1);
        let mut bits = vec![0u64; self.ops.len() * words];
        for i in 0..n {
            let g = i / size;
            bits[i * words + g / 64] |= 1 << (g % 64);
        }
        Support { words, bits }
    }

    /// Every node's set from its operands' (inputs keep theirs).
    fn propagate(&self, s: &mut Support) {
        let words = s.words;
        for node in self.inputs..self.ops.len() {
            s.bits[node * words..(node + 1) * words].fill(0);
            for x in self.operands(node) {
                for w in 0..words {
                    s.bits[node * words + w] |= s.bits[x as usize * words + w];
                }
            }
        }
    }

    /// The next round's sets: state input `i` gains output `i`'s groups.
    fn feed_back(&self, s: &mut Support) {
        let words = s.words;
        let outs: Vec<u64> = self.outputs.iter().flat_map(|&o| s.bits[o as usize * words..(o as usize + 1) * words].to_vec()).collect();
        for (i, chunk) in outs.chunks(words).enumerate() {
            for (w, &x) in chunk.iter().enumerate() {
                s.bits[i * words + w] |= x;
            }
        }
    }

    /// Columns `dirs` of the Taylor coefficients `A_0 … A_{len−1}` of the variational matrix
    /// `V(t) = ∂y(t)/∂y(t*)` (so `A_0 = I`), along every solution enclosed by `t`, which must
    /// come from [`Tape::ode_series`] with at least `len − 1` coefficients. Returns
    /// `a[k][i][e]` for `e` indexing `dirs`. `group` is the size of the groups of state
    /// coordinates used to skip exact zeros (see [`Support`]; any size gives the same result).
    ///
    /// `V` solves `V' = ∂g/∂y·V`; its column `j` is the derivative of `y` along `e_j`, so the
    /// recurrence of [`Tape::ode_series`] differentiated along `e_j` gives it:
    /// `A_{k+1}[·][j] = (∂g/∂y·e_j)_k / (k+1)`, round by round, with each node's derivative
    /// coefficients from the differentiated recurrence stated at each case of
    /// [`Tape::derivative`]. All directions of a node are computed together, as
    /// midpoint–radius sums ([`Lanes`], the same bounds as [`cauchy`]).
    pub fn ode_variational(&self, t: &Table, dirs: Range<usize>, group: usize, len: usize) -> Result<Vec<Vec<Vec<Interval>>>, NotSmooth> {
        let n = self.outputs.len();
        let m = dirs.len();
        assert!(len >= 1 && len <= t.len + 1 && group >= 1, "table too short");
        let nodes = self.ops.len();
        let mut dv = Derivatives { m, len, mid: zeros(nodes * len * m), rad: zeros(nodes * len * m) };
        for (e, j) in dirs.clone().enumerate() {
            let at = dv.at(j as u32, 0);
            dv.mid[at + e] = 1.0;
        }
        let mut support = self.support(n, group);
        let mut lanes = Lanes::new(m);
        let blocks = dirs.start / group..dirs.end.div_ceil(group);
        // The lanes of group `g`, clipped to `dirs`, as a range of `e`.
        let lanes_of = |g: usize| (g * group).max(dirs.start) - dirs.start..((g + 1) * group).min(dirs.end) - dirs.start;
        for k in 0..len.saturating_sub(1) {
            if k >= 1 {
                self.feed_back(&mut support);
            }
            self.propagate(&mut support);
            for node in self.inputs..nodes {
                // Maximal runs of consecutive groups the node depends on: inside a run an
                // operand's lanes of groups it does not depend on hold exact zeros.
                let mut g = blocks.start;
                while g < blocks.end {
                    if !support.has(node as u32, g) {
                        g += 1;
                        continue;
                    }
                    let first = g;
                    while g < blocks.end && support.has(node as u32, g) {
                        g += 1;
                    }
                    let es = lanes_of(first).start..lanes_of(g - 1).end;
                    self.derivative(t, &mut dv, &mut lanes, node, k, es)?;
                }
            }
            // δy_{k+1} = δg_k · [1/(k+1)], a one-term product.
            let inv = mid_rad(point(1.0) / point((k + 1) as f64));
            for (i, &out) in self.outputs.iter().enumerate() {
                let all = 0..m;
                lanes.clear(all.clone());
                let (xm, xr) = dv.lanes(out, k, &all);
                lanes.product(all.clone(), xm, xr, inv);
                let at = dv.at(i as u32, k + 1);
                let (om, or) = (&mut dv.mid[at..at + m], &mut dv.rad[at..at + m]);
                lanes.finish(all, om, or);
            }
        }
        Ok((0..len)
            .map(|k| {
                (0..n)
                    .map(|i| {
                        let at = dv.at(i as u32, k);
                        (0..m).map(|e| to_interval(dv.mid[at + e], dv.rad[at + e])).collect()
                    })
                    .collect()
            })
            .collect())
    }

    /// Lanes `es` of coefficient `k` of the derivative `δnode`, given those `≤ k` of the
    /// operands and `< k` of the node itself. An operand whose lanes are zero (it does not
    /// depend on the lanes' groups) contributes exact zeros, which is what the sums below
    /// compute for it too.
    fn derivative(&self, t: &Table, dv: &mut Derivatives, lanes: &mut Lanes, node: usize, k: usize, es: Range<usize>) -> Result<(), NotSmooth> {
        let val = |x: u32| t.row(x);
        let me = node as u32;
        lanes.clear(es.clone());
        // Σ_{j ∈ js} δx_j · (c·y)_{k−j} (δx from `dv`, y a value row) for c = ±1 or ±2,
        // whose products with midpoint and radius are exact.
        let cauchy_dv = |lanes: &mut Lanes, dv: &Derivatives, x: u32, y: Row, js: Range<usize>, c: f64| {
            for j in js {
                let (xm, xr) = dv.lanes(x, j, &es);
                let (ym, yr) = y.mr(k - j);
                lanes.product(es.clone(), xm, xr, (c * ym, c.abs() * yr));
            }
        };
        let copy = |dv: &mut Derivatives, from: u32, negate: bool| {
            let (src, dst) = (dv.at(from, k), dv.at(me, k));
            for e in es.clone() {
                dv.mid[dst + e] = if negate { -dv.mid[src + e] } else { dv.mid[src + e] };
                dv.rad[dst + e] = dv.rad[src + e];
            }
        };
        let mut scale = None;
        match self.ops[node] {
            Op::Input | Op::Const(_) => return Ok(()),
            Op::Neg(a) => {
                copy(dv, a, true);
                return Ok(());
            }
            Op::Max(a, b) => {
                copy(dv, dominant(t, a, b)?, false);
                return Ok(());
            }
            // δ(Σ ±a·b) = Σ ±(δa·b + a·δb), as for `Mul`, skipping the factors that do not
            // depend on the state (their δ is exactly 0); a lone `±a` is copied exactly.
            Op::Sum(start, end) => {
                let terms = &self.terms[start as usize..end as usize];
                if let [Term { a, b: None, negate }] = *terms {
                    copy(dv, a, negate);
                    return Ok(());
                }
                for &Term { a, b, negate } in terms {
                    let sign = if negate { -1.0 } else { 1.0 };
                    match b {
                        None if t.state[a as usize] => {
                            let (am, ar) = dv.lanes(a, k, &es);
                            lanes.term(es.clone(), am, ar, negate);
                        }
                        None => {}
                        Some(b) => {
                            for (x, y) in [(a, b), (b, a)] {
                                if t.state[x as usize] {
                                    let js = if t.konst[y as usize] { k..k + 1 } else { 0..k + 1 };
                                    cauchy_dv(lanes, dv, x, val(y), js, sign);
                                }
                            }
                        }
                    }
                }
            }
            // δ(a ± b) = δa ± δb.
            Op::Add(a, b) | Op::Sub(a, b) => {
                let (am, ar) = dv.lanes(a, k, &es);
                lanes.term(es.clone(), am, ar, false);
                let (bm, br) = dv.lanes(b, k, &es);
                lanes.term(es.clone(), bm, br, matches!(self.ops[node], Op::Sub(..)));
            }
            // δ(ab) = δa·b + a·δb, each a Cauchy product; a constant factor has only its
            // zeroth term.
            Op::Mul(a, b) => {
                for (x, y) in [(a, b), (b, a)] {
                    let js = if t.konst[y as usize] { k..k + 1 } else { 0..k + 1 };
                    cauchy_dv(lanes, dv, x, val(y), js, 1.0);
                }
            }
            // q = a/b: δq·b = δa − q·δb, so
            // δq_k = (δa_k − Σ_{j=0..k} q_j δb_{k−j} − Σ_{j=1..k} b_j δq_{k−j}) / b_0.
            Op::Div(a, b) => {
                let (am, ar) = dv.lanes(a, k, &es);
                lanes.term(es.clone(), am, ar, false);
                // Σ_{j=0..k} q_j δb_{k−j} = Σ_{i=0..k} δb_i q_{k−i}.
                cauchy_dv(lanes, dv, b, val(me), 0..k + 1, -1.0);
                if !t.konst[b as usize] {
                    // Σ_{j=1..k} b_j δq_{k−j} = Σ_{i=0..k−1} δq_i b_{k−i}.
                    cauchy_dv(lanes, dv, me, val(b), 0..k, -1.0);
                }
                scale = Some(mid_rad(point(1.0) / t.at(b, 0)));
            }
            // δ exp(a) = exp(a)·δa: δe_k = Σ_{j=0..k} δa_j e_{k−j}.
            Op::Exp(a) => cauchy_dv(lanes, dv, a, val(me), 0..k + 1, 1.0),
            // r² = a: 2 r·δr = δa, so δr_k = (δa_k − 2 Σ_{j=1..k} r_j δr_{k−j}) / (2 r_0);
            // the doubling is exact, moved onto the division.
            Op::Sqrt(a) => {
                let (am, ar) = dv.lanes(a, k, &es);
                lanes.term(es.clone(), am, ar, false);
                // Σ_{j=1..k} r_j δr_{k−j}, times 2, = Σ_{i=0..k−1} δr_i (2r)_{k−i}.
                cauchy_dv(lanes, dv, me, val(me), 0..k, -2.0);
                scale = Some(mid_rad(point(1.0) / (point(2.0) * t.at(me, 0))));
            }
        }
        let at = dv.at(me, k);
        let (om, or) = (&mut dv.mid[at + es.start..at + es.end], &mut dv.rad[at + es.start..at + es.end]);
        lanes.finish(es.clone(), om, or);
        if let Some(y) = scale {
            // A one-term product ⟨x_e⟩·[1/divisor], read from and written back to the lanes.
            lanes.clear(es.clone());
            lanes.product(es.clone(), om, or, y);
            lanes.finish(es, om, or);
        }
        Ok(())
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

    /// A function with shared nodes, negations, constants, dead code and products of sums.
    fn mixed(v: &[Var]) -> Vec<Var> {
        let (x, y, p) = (v[0], v[1], v[2]);
        let shared = x * y - y;
        let _dead = shared * x + Var::from_f64(3.0);
        let s = -(shared * p + x * x) + Var::from_f64(0.5) * y;
        let e = (-(s * s)).exp();
        vec![e * shared - (x - y * p) * Var::from_f64(2.0), shared + s / (Var::from_f64(2.0) + y * y)]
    }

    /// Fusing `+ − ×` into sums of products shortens the program and changes the
    /// enclosures only by rounding: the fused and the node-by-node coefficients (series and
    /// variational) overlap, agree in their midpoints, and the fused ones are no wider than
    /// the node-by-node ones beyond the midpoint–radius factor.
    #[test]
    fn fusion_agrees_with_plain_evaluation() {
        let (fused, plain) = (Tape::record(3, mixed), Tape::record_plain(3, mixed));
        assert!(2 * fused.nodes() < plain.nodes() + 2, "{} vs {} nodes", fused.nodes(), plain.nodes());
        // The dead branch (and its constant 3) is gone.
        assert!(!fused.ops.iter().any(|op| matches!(op, Op::Const(c) if c.inf() == 3.0)));
        assert!(fused.ops.iter().all(|op| !matches!(op, Op::Add(..) | Op::Sub(..) | Op::Mul(..) | Op::Neg(_))));
        let twice = fuse(&fused);
        assert_eq!((twice.nodes(), twice.terms.len()), (fused.nodes(), fused.terms.len()));
        let y0 = [Interval::try_from((0.3, 0.3 + 1e-9)).unwrap(), point(-0.7)];
        let mut p = Series::variable(point(0.25), 9);
        p.c[2] = point(-0.5);
        let (tf, tp) = (fused.ode_series(&y0, &[p], 9).unwrap(), plain.ode_series(&y0, &[p], 9).unwrap());
        let close = |a: Interval, b: Interval| {
            !a.intersection(b).is_empty() && (a.mid() - b.mid()).abs() <= 1e-12 * (1.0 + b.mag()) && a.wid() <= 1.5 * b.wid() + 1e-14 * (1.0 + b.mag())
        };
        for i in 0..2 {
            let (a, b) = (tf.series(i), tp.series(i));
            for k in 0..9 {
                assert!(close(a.c[k], b.c[k]), "y{i}_{k}: {:?} vs {:?}", a.c[k], b.c[k]);
            }
        }
        let (vf, vp) = (fused.ode_variational(&tf, 0..2, 1, 8).unwrap(), plain.ode_variational(&tp, 0..2, 1, 8).unwrap());
        for k in 0..8 {
            for i in 0..2 {
                for e in 0..2 {
                    assert!(close(vf[k][i][e], vp[k][i][e]), "A_{k}[{i}][{e}]: {:?} vs {:?}", vf[k][i][e], vp[k][i][e]);
                }
            }
        }
    }

    /// The fused program's outputs are the same functions: on points, both evaluate `f`
    /// (the zeroth round of the series is `f(y0)`, coefficient 1 of the state is `f/1`).
    #[test]
    fn fusion_keeps_outputs_and_inputs() {
        let fused = Tape::record(3, mixed);
        assert_eq!(fused.inputs, 3);
        assert!(fused.ops[..3].iter().all(|op| matches!(op, Op::Input)));
        let (x, y, p) = (0.3_f64, -0.7_f64, 0.25_f64);
        let shared = x * y - y;
        let s = -(shared * p + x * x) + 0.5 * y;
        let f = [(-(s * s)).exp() * shared - (x - y * p) * 2.0, shared + s / (2.0 + y * y)];
        let t = fused.ode_series(&[point(x), point(y)], &[Series::constant(point(p))], 2).unwrap();
        for i in 0..2 {
            assert!(contains(t.series(i).c[1], f[i], 1e-15), "{:?} vs {}", t.series(i).c[1], f[i]);
        }
    }

    /// A random program on two state inputs and one parameter: each op takes earlier nodes
    /// (`kind`, `i`, `j` reduced modulo what exists); the outputs are two of the nodes.
    fn random_program(ops: &[(u8, usize, usize)], outs: (usize, usize)) -> impl Fn(&[Var]) -> Vec<Var> + '_ {
        move |v: &[Var]| {
            let mut nodes: Vec<Var> = v.to_vec();
            for &(kind, i, j) in ops {
                let (a, b) = (nodes[i % nodes.len()], nodes[j % nodes.len()]);
                nodes.push(match kind % 7 {
                    0 => a + b,
                    1 => a - b,
                    2 => a * b,
                    3 => -a,
                    4 => (a * Var::from_f64(0.25)).exp(),
                    5 => a / (Var::from_f64(2.0) + b * b),
                    _ => Var::from_f64(0.5) * a + Var::from_f64(-1.5),
                });
            }
            vec![nodes[outs.0 % nodes.len()], nodes[outs.1 % nodes.len()]]
        }
    }

    proptest::proptest! {
        /// On random programs (sharing, dead code, negations, constants, products of sums),
        /// the fused and the node-by-node tapes enclose the same exact values: at a point
        /// their series and variational coefficients (both enclosures of the same numbers)
        /// intersect, and over a box the fused ones meet the node-by-node ones at corner and
        /// middle points (both contain the exact value there).
        #[test]
        fn fusion_preserves_random_programs(
            ops in proptest::collection::vec((0..7u8, 0..64usize, 0..64usize), 1..24),
            outs in (0..64usize, 0..64usize),
            y in (-1.0..1.0f64, -1.0..1.0f64, -1.0..1.0f64),
        ) {
            let program = random_program(&ops, outs);
            let (fused, plain) = (Tape::record(3, &program), Tape::record_plain(3, &program));
            let param = || {
                let mut p = Series::variable(point(y.2), 6);
                p.c[2] = point(0.5);
                p
            };
            let at = |tape: &Tape, y0: &[Interval]| -> Option<(Table, Vec<Vec<Vec<Interval>>>)> {
                let t = tape.ode_series(y0, &[param()], 6).ok()?;
                let v = tape.ode_variational(&t, 0..2, 1, 6).ok()?;
                let finite = (0..2).all(|i| t.series(i).c[..6].iter().all(|c| c.inf().is_finite() && c.sup().is_finite()));
                finite.then_some((t, v))
            };
            let meet = |a: Interval, b: Interval| !a.intersection(b).is_empty();
            // At a point.
            let y0 = [point(y.0), point(y.1)];
            let (Some((tf, vf)), Some((tp, vp))) = (at(&fused, &y0), at(&plain, &y0)) else { return Ok(()) };
            for i in 0..2 {
                for k in 0..6 {
                    proptest::prop_assert!(meet(tf.series(i).c[k], tp.series(i).c[k]), "y{i}_{k}: {:?} vs {:?}", tf.series(i).c[k], tp.series(i).c[k]);
                    for e in 0..2 {
                        proptest::prop_assert!(meet(vf[k][i][e], vp[k][i][e]), "A_{k}[{i}][{e}]: {:?} vs {:?}", vf[k][i][e], vp[k][i][e]);
                    }
                }
            }
            // Over a box, against points of it.
            let r = 1e-3;
            let bx = [Interval::try_from((y.0 - r, y.0 + r)).unwrap(), Interval::try_from((y.1 - r, y.1 + r)).unwrap()];
            let Some((tb, vb)) = at(&fused, &bx) else { return Ok(()) };
            for (dx, dy) in [(-r, -r), (-r, r), (r, -r), (r, r), (0.0, 0.0)] {
                let Some((tq, vq)) = at(&plain, &[point(y.0 + dx), point(y.1 + dy)]) else { continue };
                for i in 0..2 {
                    for k in 0..6 {
                        // Both contain the exact value at the point (at a corner the box's
                        // bound can be that value itself, so not a subset test).
                        proptest::prop_assert!(meet(tq.series(i).c[k], tb.series(i).c[k]), "y{i}_{k} at ({dx}, {dy}): {:?} vs {:?}", tq.series(i).c[k], tb.series(i).c[k]);
                        for e in 0..2 {
                            proptest::prop_assert!(meet(vq[k][i][e], vb[k][i][e]), "A_{k}[{i}][{e}] at ({dx}, {dy})");
                        }
                    }
                }
            }
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

    /// Skipping exact zeros by dependency groups changes nothing: `y0' = y0·y1`,
    /// `y1' = y1 + y1²` with groups of one coordinate against one group of both. (Groups fixed
    /// at their round-0 dependencies once gave `A_2[0][1] = 1.25` here instead of `1.5`.)
    #[test]
    fn skipping_zeros_changes_nothing() {
        let tape = Tape::record(2, |v| vec![v[0] * v[1], v[1] + v[1] * v[1]]);
        let t = tape.ode_series(&[point(1.0), point(0.5)], &[], 5).unwrap();
        let per_coordinate = tape.ode_variational(&t, 0..2, 1, 6).unwrap();
        let together = tape.ode_variational(&t, 0..2, 2, 6).unwrap();
        // The same sums, except that the skipped exact zeros add no rounding terms.
        let same = |a: Interval, b: Interval| a.subset(b) && b.wid() - a.wid() <= 1e-300 + 1e-14 * b.mag();
        for k in 0..6 {
            for i in 0..2 {
                for e in 0..2 {
                    assert!(same(per_coordinate[k][i][e], together[k][i][e]), "{k} {i} {e}");
                }
            }
        }
        // A_2[0][1]: y0 = exp(∫y1), y1(t) = y1(0)·e^t/(1 + y1(0)(1 − e^t)); ∂/∂y1(0) of the
        // t² coefficient of y0 is 3/2 at y0 = 1, y1 = 1/2.
        assert!(contains(together[2][0][1], 1.5, 1e-12), "{:?}", together[2][0][1]);
        // And by directions one at a time.
        let second = tape.ode_variational(&t, 1..2, 1, 6).unwrap();
        for k in 0..6 {
            for i in 0..2 {
                assert!(same(second[k][i][0], together[k][i][1]), "{k} {i}");
            }
        }
    }
}
