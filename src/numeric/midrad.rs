//! Sums of products of intervals in midpoint–radius form, for the Taylor recurrences of
//! [`crate::numeric::tape`] (their Cauchy products are most of the certificate's arithmetic).
//!
//! Why: an inari product is a call with sign cases and directed roundings; here a term costs
//! three `f64` products and four sums in round-to-nearest, and one rigorous bound on all the
//! rounding errors of the sum is added at the end (Rump's midpoint–radius arithmetic, with
//! the error bounds of Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1–3.2).
//!
//! Soundness: every coefficient is stored both as an inari interval `x` and as `⟨m, r⟩` with
//! `x ⊆ [m − r, m + r]` (exact reals; see [`mid_rad`]). [`cauchy`] returns an interval that
//! contains `Σ a_j·b_{k−j}` for every choice of the factors in their intervals (derivation at
//! the function). When a sum is not finite (an unbounded or empty interval among the factors,
//! or an overflow) it falls back to inari's arithmetic on the intervals themselves.
//! Everything here is plain round-to-nearest `f64` arithmetic with the rounding errors bounded
//! in the derivations: inari switches the rounding mode (`ldmxcsr`) around each operation,
//! which is what made its products and even its `rad` the bottleneck.
//! Tightness: the radius of `a·b` is overestimated by at most a factor 1.5 (by
//! `rad(a)·rad(b)`, negligible for narrow factors); rounding adds `≈ 4n·2⁻⁵³·Σ|mid·mid|`.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut, Range};

use inari::Interval;

const ZERO: Interval = inari::const_interval!(0.0, 0.0);

/// `u = 2⁻⁵³`, the unit roundoff of `f64` round-to-nearest.
const U: f64 = 1.0 / 9_007_199_254_740_992.0;
/// `η = 2⁻¹⁰⁷⁴`, the smallest positive subnormal: the absolute error bound of a product that
/// underflows is `η/2`.
const ETA: f64 = 5e-324; // parses to exactly 2⁻¹⁰⁷⁴

thread_local! {
    static SPARE_F64: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
    static SPARE_INTERVALS: RefCell<Vec<Vec<Interval>>> = const { RefCell::new(Vec::new()) };
}

/// How many freed buffers of each kind a thread keeps.
const SPARE: usize = 16;

/// A zero-filled buffer that goes back to a per-thread pool when dropped: the Taylor tables
/// are megabytes, allocated a few times per step, and fresh allocations of that size are
/// fresh pages from the kernel each time (measured: a sixth of the run in page faults).
#[derive(Debug)]
pub struct Zeros<T: Copy + 'static> {
    v: Vec<T>,
    pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>,
}

impl<T: Copy + 'static> Zeros<T> {
    fn take(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>, n: usize, zero: T) -> Zeros<T> {
        let mut v = pool.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        v.clear();
        v.resize(n, zero);
        Zeros { v, pool }
    }
}

impl<T: Copy + 'static> Drop for Zeros<T> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.v);
        // `try_with`: nothing to return to while the thread's pools are being torn down.
        let _ = self.pool.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < SPARE {
                p.push(v);
            }
        });
    }
}

impl<T: Copy + 'static> Deref for Zeros<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.v
    }
}

impl<T: Copy + 'static> DerefMut for Zeros<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.v
    }
}

/// `n` zeros.
pub fn zeros(n: usize) -> Zeros<f64> {
    Zeros::take(&SPARE_F64, n, 0.0)
}

/// Interval coefficients with their midpoint–radius forms alongside.
#[derive(Debug)]
pub struct Coeffs {
    c: Zeros<Interval>,
    m: Zeros<f64>,
    r: Zeros<f64>,
}

impl Coeffs {
    pub fn zeros(n: usize) -> Coeffs {
        Coeffs { c: Zeros::take(&SPARE_INTERVALS, n, ZERO), m: zeros(n), r: zeros(n) }
    }

    pub fn get(&self, i: usize) -> Interval {
        self.c[i]
    }

    pub fn set(&mut self, i: usize, x: Interval) {
        self.c[i] = x;
        (self.m[i], self.r[i]) = mid_rad(x);
    }

    pub fn row(&self, at: Range<usize>) -> Row<'_> {
        Row { c: &self.c[at.clone()], m: &self.m[at.clone()], r: &self.r[at] }
    }

    pub fn intervals(&self, at: Range<usize>) -> &[Interval] {
        &self.c[at]
    }
}

/// The next `f64` above `x` (for finite `x`): `x + ulp`, at least `x·(1 + u)` for `x > 0`
/// (`ulp(x) ≥ 2⁻⁵²·2^⌊log₂x⌋ ≥ u·x`), `η` for `x = 0`.
pub fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        ETA
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// The next `f64` below `x` (for finite `x`).
pub fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

/// `⟨m, r⟩` with `x ⊆ [m − r, m + r]` exactly; non-finite for unbounded or empty `x`.
///
/// `m = fl(lo/2 + hi/2)` is any double (halving is exact unless subnormal, which only moves
/// `m`); `d = max(fl(hi − m), fl(m − lo))` is a differences rounded to nearest, so the exact
/// differences are `≤ d/(1 − u)` (no underflow error in a difference), and two steps up give
/// `next_up(next_up(d)) ≥ d(1 + u)² ≥ d/(1 − u)` (for `d > 0`; `d = 0` is exact).
/// Tightness: `r` exceeds the exact radius by a few ulps.
pub fn mid_rad(x: Interval) -> (f64, f64) {
    let (lo, hi) = (x.inf(), x.sup());
    let m = 0.5 * lo + 0.5 * hi;
    let d = f64::max(hi - m, m - lo);
    if d > 0.0 {
        (m, next_up(next_up(d)))
    } else if d == 0.0 {
        (m, 0.0)
    } else {
        (f64::NAN, f64::NAN)
    }
}

/// `a + b`, each bound rounded to nearest and then one double outward: the rounded sum is
/// within half the gap to its neighbours of the exact one, so the next double outward passes
/// it (`±∞` stay; an overflow to `±∞` is outward too). Tightness: one ulp wider than inari's.
/// Falls back to inari for empty operands.
pub fn add(a: Interval, b: Interval) -> Interval {
    Interval::try_from((next_down(a.inf() + b.inf()), next_up(a.sup() + b.sup()))).unwrap_or_else(|_| a + b)
}

/// `a − b`, as [`add`].
pub fn sub(a: Interval, b: Interval) -> Interval {
    Interval::try_from((next_down(a.inf() - b.sup()), next_up(a.sup() - b.inf()))).unwrap_or_else(|_| a - b)
}

/// A run of coefficients of one series.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    c: &'a [Interval],
    m: &'a [f64],
    r: &'a [f64],
}

impl Row<'_> {
    pub fn at(&self, j: usize) -> Interval {
        self.c[j]
    }

    /// Coefficient `j` in midpoint–radius form.
    pub fn mr(&self, j: usize) -> (f64, f64) {
        (self.m[j], self.r[j])
    }
}

/// Encloses `Σ_{j ∈ js} a_j·b_{k−j}` (a coefficient of a Cauchy product).
///
/// Derivation, with `n = |js|`, `α_j = mid(a_j)`, `β_j = mid(b_{k−j})`, `ρ_a, ρ_b` the radii:
/// 1. For `x ∈ a_j`, `y ∈ b_{k−j}`: `x = α + ξ`, `|ξ| ≤ ρ_a`, `y = β + ζ`, `|ζ| ≤ ρ_b`, so
///    `|xy − αβ| = |αζ + ξβ + ξζ| ≤ |α|ρ_b + ρ_a(|β| + ρ_b) =: ρ_j`. The exact sum lies in
///    `S ± Σρ_j` with `S = Σ αβ`.
/// 2. `s = fl(Σ fl(αβ))` in any order: a product is `αβ(1 + δ) + e`, `|δ| ≤ u`, `|e| ≤ η/2`;
///    a sum of `n` terms errs by at most `γ_{n−1}·Σ|terms|` (`γ_m = mu/(1 − mu)`; a sum is
///    `(x + y)(1 + δ)` even in the subnormal range). With `G = Σ|fl(αβ)|`,
///    `|s − S| ≤ γ_{n−1} G + u Σ|αβ| + nη/2`, and `Σ|αβ| ≤ (G + nη/2)/(1 − u)`, so
///    `|s − S| ≤ γ_n G + nη` (as `γ_{n−1} + γ_1 ≤ γ_n`).
/// 3. `g = fl(Σ|fl(αβ)|)` and `ρ̃ = fl(Σ fl(fl(|α|ρ_b) + fl(ρ_a·fl(|β| + ρ_b))))` sum
///    non-negative numbers; each sum is at least `(1 − u)` times the exact one and each product
///    at least `(1 − u)` times it minus `η/2` (a term `≥ ρ_j(1 − u)³ − η`), so
///    `G ≤ g/(1 − u)^{n−1}` and `Σρ_j ≤ ρ̃/(1 − u)^{n+2} + nη/(1 − u)³`. With `(1 − u)^{−m} ≤ 1 + γ_m` and
///    `(1 + γ_a)(1 + γ_b) ≤ 1 + γ_{a+b}`: the exact sum lies in `s ± R`,
///    `R = (1 + γ_{n+2})ρ̃ + γ_{2n}·g + 2nη` (the `η` terms: `nη(1 + γ_1)/2 + nη/(1 − u)³`), and
///    `γ_m ≤ (m + 1)u` (for `m(m + 1)u ≤ 1`: hence `n < 2²⁰`).
/// 4. `R̂ = fl(fl(ρ̃ + fl(g·c₂))·c₁ + c₃)` with `c₁ = 1 + 2(n + 8)u`, `c₂ = 4(n + 1)u`,
///    `c₃ = (2n + 4)η` (all exact doubles) is `≥ R`: rounding each of its four operations down
///    by a factor `(1 − u)` (and `η/2` per product) leaves `ρ̃` a factor
///    `c₁(1 − u)³ ≥ 1 + (2n + 12)u ≥ 1 + γ_{n+2}`, `g` a factor `c₂(1 − u)⁴ ≥ (2n + 1)u ≥ γ_{2n}`
///    and at least `c₃(1 − u) − 2η ≥ 2nη` of the constant.
/// 5. `[next_down(fl(s − R̂)), next_up(fl(s + R̂))]`: a sum rounded to nearest is within half
///    the gap to the neighbouring double, so one step outward passes the exact bound.
pub fn cauchy(a: Row, b: Row, k: usize, js: Range<usize>) -> Interval {
    let mut acc = Sum::default();
    acc.cauchy(a, b, k, js.clone(), false);
    acc.finish().unwrap_or_else(|| js.fold(ZERO, |s, j| s + a.c[j] * b.c[k - j]))
}

/// A sum of any number of products of coefficients, each `±a_j·b_i`, enclosed as in
/// [`cauchy`]: its derivation takes the `n` products from anywhere (they need not form one
/// Cauchy product), and a term `±x` is the product `x·⟨±1, 0⟩` (whose `fl(α·β)` and radius
/// terms are exact). Negating a product negates `α·β` exactly and leaves the radius terms.
#[derive(Debug, Default)]
pub struct Sum {
    s: f64,
    g: f64,
    rho: f64,
    n: usize,
}

impl Sum {
    /// Adds `±Σ_{j ∈ js} a_j·b_{k−j}`.
    pub fn cauchy(&mut self, a: Row, b: Row, k: usize, js: Range<usize>, negate: bool) {
        let sign = if negate { -1.0 } else { 1.0 };
        self.n += js.len();
        for j in js {
            let (am, ar, bm, br) = (a.m[j], a.r[j], sign * b.m[k - j], b.r[k - j]);
            let p = am * bm;
            self.s += p;
            self.g += p.abs();
            self.rho += am.abs() * br + ar * (bm.abs() + br);
        }
    }

    /// Adds `±x` for `x ∈ ⟨m, r⟩`.
    pub fn term(&mut self, (m, r): (f64, f64), negate: bool) {
        let p = if negate { -m } else { m };
        self.s += p;
        self.g += p.abs();
        self.rho += r;
        self.n += 1;
    }

    /// The enclosure `[next_down(s − R̂), next_up(s + R̂)]` (steps 4–5 of [`cauchy`]); exactly
    /// 0 for no terms; `None` when it is not finite (the caller falls back to inari).
    pub fn finish(&self) -> Option<Interval> {
        if self.n == 0 {
            return Some(ZERO);
        }
        let r = bound(self.n, self.g, self.rho);
        if self.n < 1 << 20 && self.s.is_finite() && r.is_finite() {
            Interval::try_from((next_down(self.s - r), next_up(self.s + r))).ok()
        } else {
            None
        }
    }
}

/// The rounding bound `R̂` of [`cauchy`]'s step 4 for a sum of `n` products with float sums
/// `g = Σ|fl(αβ)|` and `ρ̃` of the radius terms.
fn bound(n: usize, g: f64, rho: f64) -> f64 {
    let nf = n as f64;
    let (c1, c2, c3) = (1.0 + 2.0 * (nf + 8.0) * U, 4.0 * (nf + 1.0) * U, (2.0 * nf + 4.0) * ETA);
    (rho + g * c2) * c1 + c3
}

/// The interval `[m − r, m + r]` rounded outward (step 5 of [`cauchy`]); the whole line when
/// `⟨m, r⟩` is not finite.
pub fn to_interval(m: f64, r: f64) -> Interval {
    if m.is_finite() && r == 0.0 {
        Interval::try_from((m, m)).unwrap_or(Interval::ENTIRE)
    } else if m.is_finite() && r.is_finite() {
        Interval::try_from((next_down(m - r), next_up(m + r))).unwrap_or(Interval::ENTIRE)
    } else {
        Interval::ENTIRE
    }
}

/// Sums of products for many directions at once: `Σ_terms x_e·y` where `x_e` runs over a
/// vector (one entry per direction `e`) and `y` is one interval shared by all directions, all
/// in midpoint–radius form. Each direction's sum is [`cauchy`]'s, term for term (the same
/// derivation and bound); only the loop order differs, directions innermost so that the
/// compiler vectorises it.
pub struct Lanes {
    s: Vec<f64>,
    g: Vec<f64>,
    rho: Vec<f64>,
    n: usize,
}

impl Lanes {
    pub fn new(width: usize) -> Lanes {
        Lanes { s: vec![0.0; width], g: vec![0.0; width], rho: vec![0.0; width], n: 0 }
    }

    /// Starts a new sum in lanes `es`.
    pub fn clear(&mut self, es: Range<usize>) {
        self.s[es.clone()].fill(0.0);
        self.g[es.clone()].fill(0.0);
        self.rho[es].fill(0.0);
        self.n = 0;
    }

    /// Adds `x_e·y` for `e ∈ es`, with `x = ⟨xm, xr⟩` indexed from `es.start` and
    /// `y = ⟨ym, yr⟩` (negate `ym` to subtract: exact).
    pub fn product(&mut self, es: Range<usize>, xm: &[f64], xr: &[f64], (ym, yr): (f64, f64)) {
        let (s, g, rho) = (&mut self.s[es.clone()], &mut self.g[es.clone()], &mut self.rho[es.clone()]);
        let (xm, xr) = (&xm[..es.len()], &xr[..es.len()]);
        let ya = ym.abs() + yr;
        for e in 0..es.len() {
            let p = xm[e] * ym;
            s[e] += p;
            g[e] += p.abs();
            rho[e] += xm[e].abs() * yr + xr[e] * ya;
        }
        self.n += 1;
    }

    /// Adds `±x_e` (a product with the exact `⟨±1, 0⟩`).
    pub fn term(&mut self, es: Range<usize>, xm: &[f64], xr: &[f64], negate: bool) {
        self.product(es, xm, xr, (if negate { -1.0 } else { 1.0 }, 0.0));
    }

    /// Writes each lane's enclosure `⟨s_e, R̂_e⟩` (non-finite lanes, and all lanes of a sum
    /// of `2²⁰` terms or more, past the derivation's `γ_m` bound, as `⟨NaN, ∞⟩`, which
    /// [`to_interval`] turns into the whole line).
    pub fn finish(&self, es: Range<usize>, om: &mut [f64], or: &mut [f64]) {
        let n = self.n.max(1);
        for (i, e) in es.enumerate() {
            let r = bound(n, self.g[e], self.rho[e]);
            if n < 1 << 20 && self.s[e].is_finite() && r.is_finite() {
                om[i] = self.s[e];
                or[i] = r;
            } else {
                om[i] = f64::NAN;
                or[i] = f64::INFINITY;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn coeffs(v: &[(f64, f64)]) -> Coeffs {
        let mut c = Coeffs::zeros(v.len());
        for (i, &(lo, w)) in v.iter().enumerate() {
            c.set(i, Interval::try_from((lo, lo + w)).unwrap());
        }
        c
    }

    /// The interval-arithmetic sum, a sound reference.
    fn reference(a: &Coeffs, b: &Coeffs, k: usize, js: Range<usize>) -> Interval {
        js.fold(ZERO, |acc, j| acc + a.get(j) * b.get(k - j))
    }

    proptest! {
        /// Every sum of products of points of the factors (the endpoints, where the extremes
        /// of a bilinear form lie, and midpoints) is inside, and the enclosure is about as
        /// tight as inari's.
        #[test]
        fn contains_every_choice_and_is_tight(
            v in proptest::collection::vec(((-1e3..1e3f64, 0.0..1e-3f64), (-1e3..1e3f64, 0.0..1e-3f64)), 1..20),
            pick in proptest::collection::vec(0..3u8, 40),
        ) {
            let a = coeffs(&v.iter().map(|x| x.0).collect::<Vec<_>>());
            let b = coeffs(&v.iter().map(|x| x.1).collect::<Vec<_>>());
            let k = v.len() - 1;
            let got = cauchy(a.row(0..v.len()), b.row(0..v.len()), k, 0..v.len());
            let at = |x: Interval, p: u8| match p { 0 => x.inf(), 1 => x.sup(), _ => x.mid() };
            // The exact sum of the chosen points, enclosed by inari.
            let chosen = (0..v.len()).fold(ZERO, |acc, j| {
                let x = Interval::try_from((at(a.get(j), pick[2 * j]), at(a.get(j), pick[2 * j]))).unwrap();
                let y = Interval::try_from((at(b.get(k - j), pick[2 * j + 1]), at(b.get(k - j), pick[2 * j + 1]))).unwrap();
                acc + x * y
            });
            prop_assert!(chosen.subset(got), "{chosen:?} ⊄ {got:?}");
            let inari = reference(&a, &b, k, 0..v.len());
            prop_assert!(got.wid() <= 1.5 * inari.wid() + 1e-12 * (1.0 + inari.mag()), "{got:?} vs {inari:?}");
        }
    }

    proptest! {
        /// A [`Sum`] of products and single terms, some negated, contains the sum of every
        /// choice of points of its factors.
        #[test]
        fn sums_of_mixed_terms_contain_every_choice(
            v in proptest::collection::vec(((-1e3..1e3f64, 0.0..1e-3f64), (-1e3..1e3f64, 0.0..1e-3f64), 0..4u8), 1..12),
            pick in proptest::collection::vec(0..3u8, 24),
        ) {
            let a = coeffs(&v.iter().map(|x| x.0).collect::<Vec<_>>());
            let b = coeffs(&v.iter().map(|x| x.1).collect::<Vec<_>>());
            let at = |x: Interval, p: u8| {
                let y = match p { 0 => x.inf(), 1 => x.sup(), _ => x.mid() };
                Interval::try_from((y, y)).unwrap()
            };
            let mut sum = Sum::default();
            let mut chosen = ZERO;
            for (j, &(_, _, kind)) in v.iter().enumerate() {
                let negate = kind % 2 == 1;
                let x = at(a.get(j), pick[2 * j]);
                let term = if kind < 2 {
                    // The product a_j·b_j, as one term of a Cauchy sum with k = 2j.
                    sum.cauchy(a.row(0..v.len()), b.row(0..v.len()), 2 * j, j..j + 1, negate);
                    x * at(b.get(j), pick[2 * j + 1])
                } else {
                    sum.term(a.row(0..v.len()).mr(j), negate);
                    x
                };
                chosen = if negate { chosen - term } else { chosen + term };
            }
            let got = sum.finish().unwrap();
            prop_assert!(chosen.subset(got), "{chosen:?} ⊄ {got:?}");
        }
    }

    /// Cancellation among single terms and negated products is covered:
    /// `1e16 + 1 − 1e16·1` contains 1.
    #[test]
    fn sum_cancellation_is_covered() {
        let a = coeffs(&[(1e16, 0.0), (1.0, 0.0)]);
        let b = coeffs(&[(1.0, 0.0), (1.0, 0.0)]);
        let mut sum = Sum::default();
        sum.term(a.row(0..2).mr(0), false);
        sum.term(a.row(0..2).mr(1), false);
        sum.cauchy(a.row(0..2), b.row(0..2), 0, 0..1, true);
        let got = sum.finish().unwrap();
        assert!(got.contains(1.0), "{got:?}");
    }

    /// An overflowing sum is not finite: `finish` says so (the tape then falls back to inari).
    #[test]
    fn sum_overflow_is_reported() {
        let a = coeffs(&[(1e300, 0.0), (1e300, 0.0)]);
        let mut sum = Sum::default();
        sum.cauchy(a.row(0..2), a.row(0..2), 1, 0..2, true);
        assert_eq!(sum.finish(), None);
    }

    #[test]
    fn no_terms_sum_to_exactly_zero() {
        assert_eq!(Sum::default().finish(), Some(ZERO));
    }

    #[test]
    fn constants_are_exact() {
        assert_eq!(ETA, f64::from_bits(1));
        assert_eq!(U, 2f64.powi(-53));
    }

    /// Cancellation: the rounding errors of a sum whose terms cancel are covered.
    #[test]
    fn cancellation_is_covered() {
        let a = coeffs(&[(1e16, 0.0), (1.0, 0.0), (-1e16, 0.0)]);
        let b = coeffs(&[(1.0, 0.0), (1.0, 0.0), (1.0, 0.0)]);
        let got = cauchy(a.row(0..3), b.row(0..3), 2, 0..3);
        assert!(got.contains(1.0), "{got:?}");
    }

    /// Underflowing products: the exact sum `3·2⁻¹⁰⁷⁵`-ish is covered.
    #[test]
    fn underflow_is_covered() {
        let tiny = 1e-200;
        let a = coeffs(&[(tiny, 0.0), (tiny, 0.0), (tiny, 0.0)]);
        let b = coeffs(&[(tiny, 0.0), (tiny, 0.0), (tiny, 0.0)]);
        let got = cauchy(a.row(0..3), b.row(0..3), 2, 0..3);
        assert!(got.inf() <= 0.0 && got.sup() > 0.0, "{got:?}");
    }

    /// Unbounded factors fall back to inari.
    #[test]
    fn unbounded_falls_back() {
        let mut a = Coeffs::zeros(2);
        a.set(0, Interval::try_from((1.0, f64::INFINITY)).unwrap());
        a.set(1, Interval::try_from((1.0, 2.0)).unwrap());
        let mut b = Coeffs::zeros(2);
        b.set(0, Interval::try_from((0.0, 0.0)).unwrap());
        b.set(1, Interval::try_from((1.0, 1.0)).unwrap());
        let got = cauchy(a.row(0..2), b.row(0..2), 1, 0..2);
        assert_eq!(got, reference(&a, &b, 1, 0..2));
    }
}
