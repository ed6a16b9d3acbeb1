//! Enclosures of the user's exact data in outward-rounded interval arithmetic: expressions in `t`
//! and time-varying matrices over a whole time range `T ⊆ [0, ∞]`.
//!
//! Soundness: every function returns an interval containing the exact value for *every* `t ∈ T`
//! (decimal literals enclosed from their text, `pi` by inari's enclosure, each operation outward
//! rounded by inari). Tightness: not tight in general (the dependency problem of interval
//! arithmetic: `t − t` over `[0, 1]` gives `[−1, 1]`); each operation is inari's tightest.

use inari::Interval;

use crate::numeric::interval::enclose_decimal;
use crate::system::expr::{ExprScalar, Func, Literal, Node};
use crate::system::matrix::MatrixFn;

/// An interval matrix, row-major.
pub type IMat = Vec<Vec<Interval>>;

/// The point interval `[x, x]` of a finite double (exact).
pub fn point(x: f64) -> Interval {
    Interval::try_from((x, x)).unwrap_or(Interval::ENTIRE)
}

/// `[0, +∞]`: all times.
pub fn all_times() -> Interval {
    Interval::try_from((0.0, f64::INFINITY)).unwrap_or(Interval::ENTIRE)
}

/// The enclosure of a literal: the tightest interval of doubles around its exact decimal value.
/// Every literal reaching here passed the exact reader's gate (`system::doc` for a plain number,
/// the lexer of `system::expr` for one inside an expression); `ENTIRE` is the sound answer
/// should one built by hand not have.
pub fn literal(l: &Literal) -> Interval {
    enclose_decimal(&l.text).unwrap_or(Interval::ENTIRE)
}

impl ExprScalar for Interval {
    fn literal(lit: &Literal) -> Self {
        literal(lit)
    }
    fn pi() -> Self {
        Interval::PI
    }
    fn add(&self, o: &Self) -> Self {
        *self + *o
    }
    fn sub(&self, o: &Self) -> Self {
        *self - *o
    }
    fn mul(&self, o: &Self) -> Self {
        *self * *o
    }
    fn div(&self, o: &Self) -> Self {
        *self / *o
    }
    fn neg(&self) -> Self {
        -*self
    }
    fn powi(&self, n: i32) -> Self {
        Interval::powi(*self, n)
    }
    fn sin(&self) -> Self {
        Interval::sin(*self)
    }
    fn cos(&self) -> Self {
        Interval::cos(*self)
    }
    fn exp(&self) -> Self {
        Interval::exp(*self)
    }
    fn abs(&self) -> Self {
        Interval::abs(*self)
    }
    fn sqrt(&self) -> Self {
        Interval::sqrt(*self)
    }
    fn sign(&self) -> Self {
        Interval::sign(*self)
    }
}

/// An enclosure of an expression over a box of `t`, with two proved properties:
/// - `defined`: every partial operation is applied inside its domain for every `t` in the box
///   (no denominator can be 0, no `sqrt` argument can be negative, no negative power of a base
///   that can be 0), so the expression has a value everywhere on the box;
/// - `regular`: defined, and every discontinuous operation (`sign`) is applied away from its
///   jump, so the expression is a composition of continuous functions, continuous on the box.
///
/// inari quietly drops the undefined part of an operation's input (`sqrt([−1, 4]) = [0, 2]`),
/// so `value` alone says nothing about definedness: callers that claim anything for *every* `t`
/// must check `defined`. (Intermediate values may be unbounded: `cos(10·π·t)` over
/// `t ∈ [0, ∞)` is regular; boundedness is read off `value`.)
#[derive(Debug, Clone, Copy)]
pub struct Enclosure {
    pub value: Interval,
    pub defined: bool,
    pub regular: bool,
}

/// Encloses an expression tree over `t ∈ tt`.
pub fn expr(node: &Node, tt: Interval) -> Enclosure {
    let e = |n: &Node| expr(n, tt);
    let leaf = |value: Interval| Enclosure { value, defined: true, regular: true };
    // Combines operands with the operation's own domain (`ok_domain`) and continuity (`ok_cont`).
    let join = |args: &[Enclosure], value: Interval, ok_domain: bool, ok_cont: bool| {
        let defined = ok_domain && args.iter().all(|a| a.defined);
        Enclosure { value, defined, regular: defined && ok_cont && args.iter().all(|a| a.regular) }
    };
    let out = match node {
        Node::Num(l) => leaf(literal(l)),
        Node::T => leaf(tt),
        Node::Pi => leaf(Interval::PI),
        Node::Neg(a) => {
            let a = e(a);
            join(&[a], -a.value, true, true)
        }
        Node::Add(a, b) => {
            let (a, b) = (e(a), e(b));
            join(&[a, b], a.value + b.value, true, true)
        }
        Node::Sub(a, b) => {
            let (a, b) = (e(a), e(b));
            join(&[a, b], a.value - b.value, true, true)
        }
        Node::Mul(a, b) => {
            let (a, b) = (e(a), e(b));
            join(&[a, b], a.value * b.value, true, true)
        }
        // Division is defined, and continuous, where the denominator is nonzero.
        Node::Div(a, b) => {
            let (a, b) = (e(a), e(b));
            let nonzero = !b.value.contains(0.0);
            join(&[a, b], a.value / b.value, nonzero, true)
        }
        // x^n is defined and continuous for n ≥ 0, and for n < 0 where x ≠ 0.
        Node::Pow(a, n) => {
            let a = e(a);
            join(&[a], a.value.powi(*n), *n >= 0 || !a.value.contains(0.0), true)
        }
        Node::Call(f, a) => {
            let a = e(a);
            match f {
                Func::Sin => join(&[a], a.value.sin(), true, true),
                Func::Cos => join(&[a], a.value.cos(), true, true),
                Func::Exp => join(&[a], a.value.exp(), true, true),
                Func::Abs => join(&[a], a.value.abs(), true, true),
                // sqrt is defined and continuous on [0, ∞), including at 0.
                Func::Sqrt => join(&[a], a.value.sqrt(), a.value.inf() >= 0.0, true),
                // sign is defined everywhere and jumps at 0.
                Func::Sign => join(&[a], a.value.sign(), true, !a.value.contains(0.0)),
            }
        }
    };
    // An empty value means no t in the box gives a value.
    let defined = out.defined && !out.value.is_empty();
    Enclosure { defined, regular: out.regular && defined, ..out }
}

/// An enclosure of a matrix over a box of `t`: every `M(t)`, `t ∈ tt`, lies inside `m` when
/// `defined` (see [`Enclosure`]); `regular` proves every entry continuous on the box.
#[derive(Debug, Clone)]
pub struct MatrixEnclosure {
    pub m: IMat,
    pub defined: bool,
    pub regular: bool,
}

/// Encloses a matrix over `t ∈ tt`, entrywise.
pub fn matrix(m: &MatrixFn, tt: Interval, d: usize) -> MatrixEnclosure {
    let pt = |x: f64| point(x);
    let exact = |m: IMat| MatrixEnclosure { m, defined: true, regular: true };
    match m {
        MatrixFn::Identity => exact((0..d).map(|i| (0..d).map(|j| pt(if i == j { 1.0 } else { 0.0 })).collect()).collect()),
        MatrixFn::Zero => exact(vec![vec![pt(0.0); d]; d]),
        MatrixFn::Const(rows) => exact(rows.iter().map(|r| r.iter().map(literal).collect()).collect()),
        MatrixFn::Random(r) => exact((0..d).map(|i| (0..d).map(|j| pt(r.values[(i, j)])).collect()).collect()),
        // Interval sums of the exact factors' products (derivation at `Product::enclosure`).
        MatrixFn::Product(p) => {
            let e = p.enclosure();
            exact(e.chunks(d).map(<[Interval]>::to_vec).collect())
        }
        MatrixFn::Entrywise(rows) => {
            let (mut defined, mut regular) = (true, true);
            let m = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|e| {
                            let x = expr(e.root(), tt);
                            defined &= x.defined;
                            regular &= x.regular;
                            x.value
                        })
                        .collect()
                })
                .collect();
            MatrixEnclosure { m, defined, regular }
        }
        // (diag(δ)·M)_ij = δ_i·M_ij: the product of enclosures encloses the product.
        MatrixFn::DiagTimes { diag, times } => {
            let mut inner = matrix(times, tt, d);
            for (i, e) in diag.iter().enumerate() {
                let x = expr(e.root(), tt);
                inner.defined &= x.defined;
                inner.regular &= x.regular;
                for v in inner.m[i].iter_mut() {
                    *v = x.value * *v;
                }
            }
            inner
        }
        MatrixFn::ScalarTimes { scalar, times } => {
            let mut inner = matrix(times, tt, d);
            let x = expr(scalar.root(), tt);
            for v in inner.m.iter_mut().flatten() {
                *v = x.value * *v;
            }
            inner.defined &= x.defined;
            inner.regular &= x.regular;
            inner
        }
        MatrixFn::Layers { layers, layer_time, periodic } => layers_over(layers, layer_time, *periodic, tt, d),
    }
}

/// The layers that can be active somewhere in `tt`: layer `k = ⌊t/τ⌋` (wrapped or clamped). The
/// quotient `t/τ` is enclosed in interval arithmetic (τ is an exact decimal), widened by one layer
/// on each side for the boundaries; when that range is not a small exact integer range (huge `t/τ`
/// loses integer resolution above 2⁵³), every layer is taken. Sound either way: a superset.
fn active_layers(n: usize, tau: &Literal, periodic: bool, tt: Interval) -> Vec<usize> {
    let q = tt / literal(tau);
    let (lo, hi) = ((q.inf().floor() - 1.0).max(0.0), q.sup().floor() + 1.0);
    let exact_range = hi.is_finite() && hi < 9.0e15 && hi - lo + 1.0 < n as f64;
    if !exact_range {
        return if periodic || !lo.is_finite() || lo >= 9.0e15 { (0..n).collect() } else { ((lo as usize).min(n - 1)..n).collect() };
    }
    let mut ks: Vec<usize> =
        (lo as u64..=hi as u64).map(|k| if periodic { (k % n as u64) as usize } else { (k as usize).min(n - 1) }).collect();
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// The hull over every layer that can be active in `tt`. Regular only when one layer is possible.
fn layers_over(layers: &[MatrixFn], tau: &Literal, periodic: bool, tt: Interval, d: usize) -> MatrixEnclosure {
    let active = active_layers(layers.len(), tau, periodic, tt);
    let mut out: Option<MatrixEnclosure> = None;
    for &k in &active {
        let e = matrix(&layers[k], tt, d);
        out = Some(match out {
            None => e,
            Some(h) => MatrixEnclosure {
                m: h.m.iter().zip(&e.m).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x.convex_hull(*y)).collect()).collect(),
                defined: h.defined && e.defined,
                regular: false,
            },
        });
    }
    out.unwrap_or_else(|| MatrixEnclosure { m: vec![vec![Interval::ENTIRE; d]; d], defined: false, regular: false })
}

/// A certified upper bound of the spectral norm of every matrix in the box:
/// `‖A‖₂ ≤ ‖A‖_F = sqrt(Σ a_ij²)` and `‖A‖₂ ≤ sqrt(‖A‖₁‖A‖∞)`; both evaluated with `mag`
/// (the largest |a| in an entry's interval) in interval arithmetic, and the smaller sup taken.
pub fn norm2_upper(a: &IMat) -> f64 {
    let mags: Vec<Vec<Interval>> = a.iter().map(|r| r.iter().map(|x| point(x.mag())).collect()).collect();
    let frob = mags.iter().flatten().fold(point(0.0), |s, &m| s + m * m).sqrt().sup();
    let d = a.len();
    let row_max = mags.iter().map(|r| r.iter().fold(point(0.0), |s, &m| s + m).sup()).fold(0.0, f64::max);
    let col_max = (0..d).map(|j| mags.iter().fold(point(0.0), |s, r| s + r[j]).sup()).fold(0.0, f64::max);
    let mixed = (point(row_max) * point(col_max)).sqrt().sup();
    frob.min(mixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::expr::parse;

    fn over(src: &str, lo: f64, hi: f64) -> Enclosure {
        expr(parse(src).unwrap().root(), Interval::try_from((lo, hi)).unwrap())
    }

    #[test]
    fn bounded_periodic_entries_over_all_time() {
        let e = expr(parse("2*cos(10*pi*t)").unwrap().root(), all_times());
        assert!(e.regular);
        assert_eq!((e.value.inf(), e.value.sup()), (-2.0, 2.0));
        let e = expr(parse("abs(2*sin(0.3*t + 1))").unwrap().root(), all_times());
        assert_eq!((e.value.inf(), e.value.sup()), (0.0, 2.0));
    }

    #[test]
    fn undefined_is_flagged() {
        // inari drops the negative part of sqrt's argument; `defined` must not.
        assert!(!over("sin(sqrt(t - 1))", 0.0, 4.0).defined);
        assert!(over("sin(sqrt(t - 1))", 1.0, 4.0).defined);
        assert!(!over("t/t", 0.0, 1.0).defined);
        assert!(over("sign(t - 0.5)", 0.0, 1.0).defined);
    }

    #[test]
    fn tiny_layer_times_take_every_layer() {
        let tau = Literal { text: "1e-300".into(), value: 1e-300 };
        assert_eq!(active_layers(2, &tau, true, point(3.0)), vec![0, 1]);
        let tau = Literal { text: "0.5".into(), value: 0.5 };
        assert_eq!(active_layers(4, &tau, true, point(1.2)), vec![1, 2, 3]);
        assert_eq!(active_layers(4, &tau, false, all_times()), vec![0, 1, 2, 3]);
    }

    #[test]
    fn unbounded_or_irregular_is_flagged() {
        assert!(expr(parse("t").unwrap().root(), all_times()).regular, "continuous, though unbounded");
        assert!(!expr(parse("t").unwrap().root(), all_times()).value.is_common_interval());
        assert!(!over("1/t", 0.0, 1.0).regular);
        assert!(over("1/t", 0.5, 1.0).regular);
        assert!(!over("sign(t - 0.5)", 0.0, 1.0).regular);
        assert!(over("sqrt(t)", 0.0, 1.0).regular);
        assert!(!over("sqrt(t - 1)", 0.0, 2.0).regular);
        assert!(!over("t^-2", 0.0, 1.0).regular);
    }

    #[test]
    fn decimal_literals_are_enclosed_not_rounded() {
        let e = over("0.1", 0.0, 0.0).value;
        assert!(e.inf() < 0.1 || e.sup() > 0.1);
        assert!(e.inf() < e.sup());
        assert_eq!(over("0.5", 0.0, 0.0).value.inf(), 0.5);
    }
}
