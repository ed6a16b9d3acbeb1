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
/// Every literal reaching here was validated as a plain decimal (`system::doc`); `ENTIRE` is the
/// sound answer should one not be.
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

/// An enclosure of an expression over a box of `t`, and whether the expression is provably
/// *regular* there: every partial operation (`/`, `sqrt`, `sign`, negative powers) is applied
/// strictly inside the set where it is continuous. A regular expression is a composition of
/// continuous functions, hence continuous on the box. (Intermediate values may be unbounded:
/// `cos(10·π·t)` over `t ∈ [0, ∞)` is regular; boundedness is read off `value`.)
#[derive(Debug, Clone, Copy)]
pub struct Enclosure {
    pub value: Interval,
    pub regular: bool,
}

/// Encloses an expression tree over `t ∈ tt`.
pub fn expr(node: &Node, tt: Interval) -> Enclosure {
    let e = |n: &Node| expr(n, tt);
    let both = |a: Enclosure, b: Enclosure, v: Interval, ok: bool| Enclosure { value: v, regular: a.regular && b.regular && ok };
    let out = match node {
        Node::Num(l) => Enclosure { value: literal(l), regular: true },
        Node::T => Enclosure { value: tt, regular: true },
        Node::Pi => Enclosure { value: Interval::PI, regular: true },
        Node::Neg(a) => {
            let a = e(a);
            Enclosure { value: -a.value, regular: a.regular }
        }
        Node::Add(a, b) => {
            let (a, b) = (e(a), e(b));
            both(a, b, a.value + b.value, true)
        }
        Node::Sub(a, b) => {
            let (a, b) = (e(a), e(b));
            both(a, b, a.value - b.value, true)
        }
        Node::Mul(a, b) => {
            let (a, b) = (e(a), e(b));
            both(a, b, a.value * b.value, true)
        }
        // Division is continuous where the denominator is nonzero.
        Node::Div(a, b) => {
            let (a, b) = (e(a), e(b));
            both(a, b, a.value / b.value, !b.value.contains(0.0))
        }
        // x^n is continuous for n ≥ 0, and for n < 0 where x ≠ 0.
        Node::Pow(a, n) => {
            let a = e(a);
            Enclosure { value: a.value.powi(*n), regular: a.regular && (*n >= 0 || !a.value.contains(0.0)) }
        }
        Node::Call(f, a) => {
            let a = e(a);
            let (value, ok) = match f {
                Func::Sin => (a.value.sin(), true),
                Func::Cos => (a.value.cos(), true),
                Func::Exp => (a.value.exp(), true),
                Func::Abs => (a.value.abs(), true),
                // sqrt is continuous on [0, ∞) (including at 0); outside it is undefined.
                Func::Sqrt => (a.value.sqrt(), a.value.inf() >= 0.0),
                // sign jumps at 0.
                Func::Sign => (a.value.sign(), !a.value.contains(0.0)),
            };
            Enclosure { value, regular: a.regular && ok }
        }
    };
    // An empty value means the operation left its domain everywhere on the box.
    Enclosure { regular: out.regular && !out.value.is_empty(), ..out }
}

/// Encloses a matrix over `t ∈ tt`: entrywise, every member `M(t)`, `t ∈ tt`, lies inside.
/// Also returns whether every entry is regular (continuous) on `tt`; a layer schedule is regular
/// only on a range inside one layer.
pub fn matrix(m: &MatrixFn, tt: Interval, d: usize) -> (IMat, bool) {
    let pt = |x: f64| point(x);
    match m {
        MatrixFn::Identity => ((0..d).map(|i| (0..d).map(|j| pt(if i == j { 1.0 } else { 0.0 })).collect()).collect(), true),
        MatrixFn::Zero => (vec![vec![pt(0.0); d]; d], true),
        MatrixFn::Const(rows) => (rows.iter().map(|r| r.iter().map(literal).collect()).collect(), true),
        MatrixFn::Random(r) => ((0..d).map(|i| (0..d).map(|j| pt(r.values[(i, j)])).collect()).collect(), true),
        MatrixFn::Entrywise(rows) => {
            let mut regular = true;
            let m = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|e| {
                            let x = expr(e.root(), tt);
                            regular &= x.regular;
                            x.value
                        })
                        .collect()
                })
                .collect();
            (m, regular)
        }
        // (diag(δ)·M)_ij = δ_i·M_ij: the product of enclosures encloses the product.
        MatrixFn::DiagTimes { diag, times } => {
            let (mut inner, mut regular) = matrix(times, tt, d);
            for (i, e) in diag.iter().enumerate() {
                let x = expr(e.root(), tt);
                regular &= x.regular;
                for v in inner[i].iter_mut() {
                    *v = x.value * *v;
                }
            }
            (inner, regular)
        }
        MatrixFn::ScalarTimes { scalar, times } => {
            let (mut inner, regular) = matrix(times, tt, d);
            let x = expr(scalar.root(), tt);
            for v in inner.iter_mut().flatten() {
                *v = x.value * *v;
            }
            (inner, regular && x.regular)
        }
        MatrixFn::Layers { layers, layer_time, periodic } => layers_over(layers, layer_time, *periodic, tt, d),
    }
}

/// The hull over every layer that can be active somewhere in `tt`. Layer boundaries `k·τ` are
/// exact rationals while we compute in doubles: take one extra layer on each side, which can
/// only widen the hull (sound). Regular only when a single layer is possible.
fn layers_over(layers: &[MatrixFn], tau: &Literal, periodic: bool, tt: Interval, d: usize) -> (IMat, bool) {
    let n = layers.len();
    let tau_lo = literal(tau).inf();
    let k_lo = ((tt.inf() / literal(tau).sup()).floor() - 1.0).max(0.0);
    let k_hi = (tt.sup() / tau_lo).floor() + 1.0;
    let active: Vec<usize> = if !k_hi.is_finite() || k_hi - k_lo + 1.0 >= n as f64 && periodic {
        if periodic { (0..n).collect() } else { ((k_lo as usize).min(n - 1)..n).collect() }
    } else {
        let mut ks: Vec<usize> = (k_lo as u64..=k_hi as u64)
            .map(|k| if periodic { (k % n as u64) as usize } else { (k as usize).min(n - 1) })
            .collect();
        ks.sort_unstable();
        ks.dedup();
        ks
    };
    let mut hull: Option<IMat> = None;
    let mut regular = active.len() == 1;
    for k in active {
        let (m, r) = matrix(&layers[k], tt, d);
        regular &= r;
        hull = Some(match hull {
            None => m,
            Some(h) => h.iter().zip(&m).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x.convex_hull(*y)).collect()).collect(),
        });
    }
    (hull.unwrap_or_else(|| vec![vec![Interval::ENTIRE; d]; d]), regular)
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
