//! Step-averaged time coefficients: the Legendre-moment method of the float fast path.
//!
//! The time dependence of (7) enters through scalar coefficient functions `g_k(t)` (the
//! diagonal entries and scalar factors of `P(t) = s(t)·D(t)·C`). With `|sin|` entries, as in
//! the paper's Section 7.4 system (24,122 kinks on `(0, 150)`), a Runge–Kutta stage rule meets
//! a kink of `g` inside nearly every step, and its quadrature of `g` has an `O(h²·jump)` local
//! error whatever the method's order.
//!
//! Over a step `[t0, t0 + h]` (`τ = 2(t − t0)/h − 1 ∈ [−1, 1]`) this module replaces each `g`
//! by its L² projection onto polynomials of degree `q − 1`,
//!
//! ```text
//!   g̃(τ) = Σ_{k<q} c_k P_k(τ),   c_k = (2k+1)/2 ∫_{−1}^{1} g(t(τ)) P_k(τ) dτ,
//! ```
//!
//! computed from *exact* integrals: in closed form for `a·sin(ωt + φ)`, `a·cos(…)` and
//! `|a·sin(ωt + φ)|` (split at the zeros of the sine), by Gauss–Legendre quadrature otherwise.
//! The integrator then runs on `x' = F(x, g̃(t))`, smooth inside the step. Error (linear part):
//! `g − g̃` is orthogonal to degree `< q` and of size `O(h·jump)` at a kink, so a kink costs
//! `O(h^{q+2}·jump)` locally instead of `O(h²·jump)`; the softmax's curvature adds
//! `O(h³·jump²)`; a smooth `g` gets `O(h^{2q+1})`. Measured in `bench/work_precision.py`.
//!
//! Untrusted (a float fast path, like `kernel` and `reduced`): the tests hold the closed forms
//! to high-resolution quadrature.

use crate::system::expr::{Expr, Func, Node};

/// The largest supported number of moments (degree `q − 1 = 2`).
pub const MAX_Q: usize = 3;

/// A coefficient function in a form whose moments are known.
#[derive(Debug, Clone)]
pub enum Form {
    /// Does not depend on `t`.
    Const(f64),
    /// `a·sin(ω t + φ)` (cosines are shifted sines).
    Sin { a: f64, w: f64, p: f64 },
    /// `a·|sin(ω t + φ)|`: kinks at the zeros of the sine.
    AbsSin { a: f64, w: f64, p: f64 },
    /// Anything else: Gauss–Legendre quadrature of the compiled expression (`kinked`: it
    /// contains `abs` or `sign` of something time-dependent, so the step is subdivided).
    General { expr: Expr, kinked: bool },
}

impl Form {
    /// Recognises the closed forms in an expression tree (anything else is `General`).
    pub fn of(e: &Expr) -> Form {
        let node = e.root();
        if !node.contains_t() {
            return Form::Const(e.eval(0.0));
        }
        if let Some((a, w, p)) = sinusoid(node) {
            return Form::Sin { a, w, p };
        }
        if let Some((a, w, p)) = abs_sinusoid(node) {
            return Form::AbsSin { a, w, p };
        }
        Form::General { expr: e.clone(), kinked: has_kink(node) }
    }

    /// Whether the function has kinks or jumps in `t` (so the moment method pays off).
    pub fn has_kinks(&self) -> bool {
        match self {
            Form::AbsSin { w, .. } => *w != 0.0,
            Form::General { kinked, .. } => *kinked,
            Form::Const(_) | Form::Sin { .. } => false,
        }
    }

    /// The value at `t` (for the pointwise path and tests).
    pub fn eval(&self, t: f64) -> f64 {
        match self {
            Form::Const(c) => *c,
            Form::Sin { a, w, p } => a * (w * t + p).sin(),
            Form::AbsSin { a, w, p } => a * (w * t + p).sin().abs(),
            Form::General { expr, .. } => expr.eval(t),
        }
    }

    /// The Legendre coefficients `c_0 … c_{q−1}` of the projection on `[t0, t0 + h]` into
    /// `out[..q]` (`q ≤ MAX_Q`, `h ≥ 0`; `h = 0` gives the value at `t0`).
    pub fn legendre(&self, t0: f64, h: f64, out: &mut [f64]) {
        let q = out.len();
        debug_assert!(q <= MAX_Q);
        out.fill(0.0);
        if h == 0.0 || q == 0 {
            if q > 0 {
                out[0] = self.eval(t0);
            }
            return;
        }
        match self {
            Form::Const(c) => out[0] = *c,
            Form::Sin { a, w, p } => sin_moments(*a, w * (t0 + 0.5 * h) + p, 0.5 * w * h, out),
            Form::AbsSin { a, w, p } => {
                let (uc, hh) = (w * (t0 + 0.5 * h) + p, 0.5 * w * h);
                // |sin(u + Hτ)| = |sin(−u − Hτ)|: make the phase speed non-negative.
                let (uc, hh) = if hh < 0.0 { (-uc, -hh) } else { (uc, hh) };
                abs_sin_moments(*a, uc, hh, out)
            }
            Form::General { expr, kinked } => {
                quadrature_moments(|t| expr.eval(t), t0, h, if *kinked { KINKED_PIECES } else { 1 }, out)
            }
        }
    }
}

/// `P_k(τ)` for `k < MAX_Q`.
#[inline]
pub fn legendre_p(k: usize, tau: f64) -> f64 {
    match k {
        0 => 1.0,
        1 => tau,
        _ => 1.5 * tau * tau - 0.5,
    }
}

// ---------------------------------------------------------------------------------------------
// Recognising the forms
// ---------------------------------------------------------------------------------------------

/// `node = slope·t + intercept`, if it is affine in `t` by its structure.
fn affine(node: &Node) -> Option<(f64, f64)> {
    if !node.contains_t() {
        return Some((0.0, node.eval_generic(&0.0f64)));
    }
    match node {
        Node::T => Some((1.0, 0.0)),
        Node::Neg(a) => affine(a).map(|(s, c)| (-s, -c)),
        Node::Add(a, b) => Some(add(affine(a)?, affine(b)?, 1.0)),
        Node::Sub(a, b) => Some(add(affine(a)?, affine(b)?, -1.0)),
        Node::Mul(a, b) => match (a.contains_t(), b.contains_t()) {
            (true, false) => affine(a).map(|(s, c)| scale((s, c), b.eval_generic(&0.0f64))),
            (false, true) => affine(b).map(|(s, c)| scale((s, c), a.eval_generic(&0.0f64))),
            _ => None,
        },
        Node::Div(a, b) if !b.contains_t() => affine(a).map(|(s, c)| scale((s, c), 1.0 / b.eval_generic(&0.0f64))),
        _ => None,
    }
}

fn add((s1, c1): (f64, f64), (s2, c2): (f64, f64), sign: f64) -> (f64, f64) {
    (s1 + sign * s2, c1 + sign * c2)
}

fn scale((s, c): (f64, f64), k: f64) -> (f64, f64) {
    (s * k, c * k)
}

/// `node = a·sin(ω t + φ)` (or a cosine, a negation, a constant multiple of one).
fn sinusoid(node: &Node) -> Option<(f64, f64, f64)> {
    match node {
        Node::Call(Func::Sin, arg) => affine(arg).map(|(w, p)| (1.0, w, p)),
        Node::Call(Func::Cos, arg) => affine(arg).map(|(w, p)| (1.0, w, p + std::f64::consts::FRAC_PI_2)),
        Node::Neg(a) => sinusoid(a).map(|(a, w, p)| (-a, w, p)),
        Node::Mul(a, b) if !a.contains_t() => sinusoid(b).map(|(k, w, p)| (k * a.eval_generic(&0.0f64), w, p)),
        Node::Mul(a, b) if !b.contains_t() => sinusoid(a).map(|(k, w, p)| (k * b.eval_generic(&0.0f64), w, p)),
        Node::Div(a, b) if !b.contains_t() => sinusoid(a).map(|(k, w, p)| (k / b.eval_generic(&0.0f64), w, p)),
        _ => None,
    }
}

/// `node = a·|sin(ω t + φ)|`: `|k·sin(…)|` or a constant multiple of one.
fn abs_sinusoid(node: &Node) -> Option<(f64, f64, f64)> {
    match node {
        Node::Call(Func::Abs, inner) => sinusoid(inner).map(|(a, w, p)| (a.abs(), w, p)),
        Node::Mul(a, b) if !a.contains_t() => abs_sinusoid(b).map(|(k, w, p)| (k * a.eval_generic(&0.0f64), w, p)),
        Node::Mul(a, b) if !b.contains_t() => abs_sinusoid(a).map(|(k, w, p)| (k * b.eval_generic(&0.0f64), w, p)),
        Node::Neg(a) => abs_sinusoid(a).map(|(k, w, p)| (-k, w, p)),
        _ => None,
    }
}

/// `abs` or `sign` of a time-dependent argument somewhere in the tree.
fn has_kink(node: &Node) -> bool {
    match node {
        Node::Call(Func::Abs | Func::Sign, a) => a.contains_t() || has_kink(a),
        Node::Call(_, a) | Node::Neg(a) | Node::Pow(a, _) => has_kink(a),
        Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => has_kink(a) || has_kink(b),
        Node::Num(_) | Node::T | Node::Pi => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Closed forms
// ---------------------------------------------------------------------------------------------

/// Spherical Bessel functions `j_0, j_1, j_2` at `x`: `∫_{−1}^{1} e^{ixσ} P_k(σ) dσ = 2 i^k j_k(x)`.
/// The closed forms cancel for small `x` (`j_2` loses `ε/x⁴`), so below 1 the power series
/// (`j_n = x^n/(2n+1)!! Σ_m (−x²/2)^m / (m! (2n+3)(2n+5)…(2n+2m+1))`, 12 terms: the remainder
/// is below `(1/2)^12/12! ≈ 5e-13` of the first term… times `x^24`, far below rounding).
/// The series is summed by Horner's rule in `x²` from a table of its coefficients (this runs
/// for each of the 1000 coefficients of the Section 7.4 system at every step: no divisions).
fn bessel3(x: f64) -> [f64; 3] {
    let ax = x.abs();
    let mut j = if ax < 1.0 {
        let x2 = ax * ax;
        let sum = |c: &[f64; SERIES_TERMS]| c.iter().rev().fold(0.0, |acc, &cm| acc * x2 + cm);
        let s = &*BESSEL_SERIES;
        // Leading factors x^n / (2n+1)!!.
        [sum(&s[0]), ax / 3.0 * sum(&s[1]), x2 / 15.0 * sum(&s[2])]
    } else {
        let (s, c) = ax.sin_cos();
        let j0 = s / ax;
        let j1 = s / (ax * ax) - c / ax;
        let j2 = (3.0 / (ax * ax) - 1.0) * s / ax - 3.0 * c / (ax * ax);
        [j0, j1, j2]
    };
    if x < 0.0 {
        j[1] = -j[1]; // j_1 is odd, j_0 and j_2 even
    }
    j
}

const SERIES_TERMS: usize = 12;

/// `BESSEL_SERIES[n][m] = (−1/2)^m / (m! (2n+3)(2n+5)…(2n+2m+1))`: the coefficient of `x^{2m}`
/// in `j_n(x)·(2n+1)!!/x^n`.
static BESSEL_SERIES: std::sync::LazyLock<[[f64; SERIES_TERMS]; 3]> = std::sync::LazyLock::new(|| {
    let mut c = [[0.0; SERIES_TERMS]; 3];
    for (n, row) in c.iter_mut().enumerate() {
        let mut term = 1.0;
        for (m, cm) in row.iter_mut().enumerate() {
            *cm = term;
            term *= -0.5 / ((m + 1) as f64 * (2 * n + 2 * m + 3) as f64);
        }
    }
    c
});

/// `∫_{−1}^{1} sin(u + Hσ) σ^k dσ` for `k = 0, 1, 2`.
fn sin_power_moments(u: f64, hh: f64) -> [f64; 3] {
    let [j0, j1, j2] = bessel3(hh);
    let (s, c) = u.sin_cos();
    [2.0 * j0 * s, 2.0 * j1 * c, (2.0 / 3.0) * s * (j0 - 2.0 * j2)]
}

/// Legendre coefficients of `a·sin(u + Hτ)` on `τ ∈ [−1, 1]`.
fn sin_moments(a: f64, u: f64, hh: f64, out: &mut [f64]) {
    let [j0, j1, j2] = bessel3(hh);
    let (s, c) = u.sin_cos();
    let all = [a * j0 * s, 3.0 * a * j1 * c, -5.0 * a * j2 * s];
    out.copy_from_slice(&all[..out.len()]);
}

/// Legendre coefficients of `a·|sin(u + Hτ)|` on `τ ∈ [−1, 1]`, `H ≥ 0`: the interval is split
/// at the zeros `τ_m = (mπ − u)/H` and each piece `τ = τ_m + rσ` integrated in closed form
/// (local variables, so nothing cancels however large `u` is).
fn abs_sin_moments(a: f64, u: f64, hh: f64, out: &mut [f64]) {
    use std::f64::consts::PI;
    let mut acc = [0.0; MAX_Q];
    let mut lo = -1.0;
    // Zeros strictly inside: mπ ∈ (u − H, u + H).
    let m_first = ((u - hh) / PI).floor() + 1.0;
    let mut m = m_first;
    loop {
        let z = if hh > 0.0 { (m * PI - u) / hh } else { f64::INFINITY };
        let hi = if z < 1.0 { z.max(lo) } else { 1.0 };
        piece(u, hh, lo, hi, &mut acc);
        if hi >= 1.0 {
            break;
        }
        lo = hi;
        m += 1.0;
    }
    for (k, o) in out.iter_mut().enumerate() {
        *o = a * (2 * k + 1) as f64 * 0.5 * acc[k];
    }
}

/// Adds `∫_{lo}^{hi} |sin(u + Hτ)| P_k(τ) dτ` (no zero inside) to `acc[k]`.
fn piece(u: f64, hh: f64, lo: f64, hi: f64, acc: &mut [f64; MAX_Q]) {
    let (tm, r) = (0.5 * (lo + hi), 0.5 * (hi - lo));
    if r <= 0.0 {
        return;
    }
    let um = u + hh * tm;
    let [s0, s1, s2] = sin_power_moments(um, hh * r);
    // The sign of the sine on the piece: that of its mean (the piece has no zero inside).
    let sign = if s0 < 0.0 { -1.0 } else { 1.0 };
    acc[0] += sign * r * s0;
    acc[1] += sign * r * (tm * s0 + r * s1);
    acc[2] += sign * r * ((1.5 * tm * tm - 0.5) * s0 + 3.0 * tm * r * s1 + 1.5 * r * r * s2);
}

// ---------------------------------------------------------------------------------------------
// Quadrature (the fallback, and the tests' reference)
// ---------------------------------------------------------------------------------------------

/// Sub-steps of the quadrature of a kinked general expression (its kinks are not located:
/// the moments then carry an `O((h/8)²)` error at a kink, better than a stage rule's).
const KINKED_PIECES: usize = 8;

/// Nodes and weights of `n`-point Gauss–Legendre on `[−1, 1]` (Newton on `P_n`, computed once).
pub fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    // `(P_n(x), P_n'(x))` by the three-term recurrence.
    let p = |x: f64| {
        let (mut p0, mut p1) = (1.0, x);
        for k in 2..=n {
            let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
            p0 = p1;
            p1 = p2;
        }
        (p1, n as f64 * (x * p1 - p0) / (x * x - 1.0))
    };
    (0..n)
        .map(|i| {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            for _ in 0..100 {
                let (pn, dp) = p(x);
                let dx = pn / dp;
                x -= dx;
                if dx.abs() <= 4.0 * f64::EPSILON {
                    break;
                }
            }
            // The weight from the derivative at the converged node.
            let dp = p(x).1;
            (x, 2.0 / ((1.0 - x * x) * dp * dp))
        })
        .collect()
}

fn gl8() -> &'static [(f64, f64)] {
    static NODES: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    NODES.get_or_init(|| gauss_legendre(8))
}

/// Legendre coefficients of `g` on `[t0, t0 + h]` by 8-point Gauss–Legendre on `pieces`
/// equal sub-steps (exact to degree 15 per piece).
pub fn quadrature_moments(g: impl Fn(f64) -> f64, t0: f64, h: f64, pieces: usize, out: &mut [f64]) {
    let mut acc = [0.0; MAX_Q];
    let r = 1.0 / pieces as f64;
    for j in 0..pieces {
        let mid = -1.0 + (2 * j + 1) as f64 * r;
        for &(x, w) in gl8() {
            let tau = mid + r * x;
            let v = w * r * g(t0 + 0.5 * h * (tau + 1.0));
            for (k, a) in acc.iter_mut().enumerate().take(out.len()) {
                *a += v * legendre_p(k, tau);
            }
        }
    }
    for (k, o) in out.iter_mut().enumerate() {
        *o = (2 * k + 1) as f64 * 0.5 * acc[k];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Expr {
        crate::system::expr::parse(s).unwrap()
    }

    /// Reference: the moments by 8-point Gauss–Legendre on 64 pieces between consecutive
    /// kinks `t_m = (mπ − φ)/ω` (no closed form involved).
    fn reference(f: &Form, t0: f64, h: f64) -> Vec<f64> {
        // Cuts in the step's variable τ ∈ [−1, 1] (so tiny steps at large t0 do not cancel).
        let mut cuts = vec![-1.0];
        if let Form::AbsSin { w, p, .. } = *f {
            if w != 0.0 {
                let (u0, u1) = ((w * t0 + p).min(w * (t0 + h) + p), (w * t0 + p).max(w * (t0 + h) + p));
                let mut m = (u0 / std::f64::consts::PI).floor() + 1.0;
                let mut zs = vec![];
                while m * std::f64::consts::PI < u1 {
                    zs.push(2.0 * ((m * std::f64::consts::PI - p) / w - t0) / h - 1.0);
                    m += 1.0;
                }
                zs.sort_by(f64::total_cmp);
                cuts.extend(zs.into_iter().filter(|&z| z > -1.0 && z < 1.0));
            }
        }
        cuts.push(1.0);
        let mut acc = [0.0; 3];
        for win in cuts.windows(2) {
            let (a, b) = (win[0], win[1]);
            let r = 0.5 * (b - a) / 64.0;
            for j in 0..64 {
                let mid = a + (2 * j + 1) as f64 * r;
                for &(x, w) in gl8() {
                    let tau = mid + r * x;
                    let v = w * r * f.eval(t0 + 0.5 * h * (tau + 1.0));
                    for (k, c) in acc.iter_mut().enumerate() {
                        *c += v * legendre_p(k, tau);
                    }
                }
            }
        }
        (0..3).map(|k| (2 * k + 1) as f64 * 0.5 * acc[k]).collect()
    }

    #[test]
    fn recognises_the_paper_forms() {
        assert!(matches!(Form::of(&parse("abs(2*sin(0.859728*t + 3.237599))")), Form::AbsSin { .. }));
        assert!(matches!(Form::of(&parse("2*cos(10*pi*t)")), Form::Sin { .. }));
        assert!(matches!(Form::of(&parse("-sin(3*t - 1)/2")), Form::Sin { .. }));
        assert!(matches!(Form::of(&parse("0.5*abs(sin(2*(t+1)))")), Form::AbsSin { .. }));
        assert!(matches!(Form::of(&parse("-3*abs(sin(t))")), Form::AbsSin { a, .. } if a == -3.0));
        assert!(matches!(Form::of(&parse("3.5")), Form::Const(_)));
        assert!(matches!(Form::of(&parse("abs(t - 1)")), Form::General { kinked: true, .. }));
        assert!(matches!(Form::of(&parse("exp(-t)")), Form::General { kinked: false, .. }));
        for s in ["abs(2*sin(0.859728*t + 3.237599))", "2*cos(10*pi*t)", "-sin(3*t - 1)/2", "0.5*abs(sin(2*(t+1)))", "-3*abs(sin(t))"] {
            let (e, f) = (parse(s), Form::of(&parse(s)));
            for t in [0.0, 0.3, 7.1, 149.9] {
                assert!((e.eval(t) - f.eval(t)).abs() <= 1e-14 * (1.0 + e.eval(t).abs()), "{s} at {t}");
            }
        }
    }

    #[test]
    fn projection_reproduces_polynomials_and_constants() {
        let f = Form::of(&parse("2.5"));
        let mut out = [0.0; 3];
        f.legendre(1.0, 0.5, &mut out);
        assert_eq!(out, [2.5, 0.0, 0.0]);
        let mut out = [0.0; 3];
        quadrature_moments(|t| 1.0 + 2.0 * t + t * t, 0.0, 2.0, 1, &mut out);
        // On [0, 2]: t = τ + 1, so g = (τ+1)² + 2(τ+1) + 1 = τ² + 4τ + 4 = (2P2+1)/3 + 4P1 + 4.
        assert!((out[0] - (4.0 + 1.0 / 3.0)).abs() < 1e-13 && (out[1] - 4.0).abs() < 1e-13 && (out[2] - 2.0 / 3.0).abs() < 1e-13, "{out:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Closed forms against 4096-piece quadrature, for steps with no, one and many kinks
        /// (`ωh` up to 40 is a dozen zeros) and for large phases (`t0` up to 1000).
        #[test]
        fn closed_forms_match_quadrature(a in -3.0f64..3.0, w in -5.0f64..5.0, p in -7.0f64..7.0,
                                         t0 in 0.0f64..1000.0, logh in -6.0f64..0.9) {
            let h = 10f64.powf(logh);
            for f in [Form::AbsSin { a, w, p }, Form::Sin { a, w, p }] {
                let mut got = [0.0; 3];
                f.legendre(t0, h, &mut got);
                let want = reference(&f, t0, h);
                for k in 0..3 {
                    prop_assert!((got[k] - want[k]).abs() <= 1e-11 * (1.0 + a.abs()), "{f:?} t0={t0} h={h} k={k}: {} vs {}", got[k], want[k]);
                }
            }
        }

        /// A kink exactly at, or a hair from, a step's ends or middle.
        #[test]
        fn kinks_at_step_ends(w in 0.1f64..3.0, m in 1u32..50, frac in prop::sample::select(vec![0.0, 1e-13, 0.5, 1.0 - 1e-13, 1.0]), h in 0.01f64..2.0) {
            let p = 0.3;
            let tk = (m as f64 * std::f64::consts::PI - p) / w; // sin(w tk + p) = 0
            let t0 = tk - frac * h;
            let f = Form::AbsSin { a: 2.0, w, p };
            let mut got = [0.0; 3];
            f.legendre(t0, h, &mut got);
            let want = reference(&f, t0, h);
            for k in 0..3 {
                prop_assert!((got[k] - want[k]).abs() <= 1e-11, "k={k}: {} vs {}", got[k], want[k]);
            }
        }
    }

    #[test]
    fn bessel_series_and_closed_form_agree_at_the_switch() {
        let (lo, hi) = (bessel3(1.0 - 1e-12), bessel3(1.0 + 1e-12));
        for k in 0..3 {
            // |j_k'| < 1, so 2e-12 apart in x is at most 2e-12 apart in value.
            assert!((lo[k] - hi[k]).abs() < 3e-12, "j_{k}");
        }
    }

    /// The projection's error is orthogonal to degree < q and shrinks like h^q for smooth g.
    #[test]
    fn smooth_projection_error_order() {
        let f = Form::Sin { a: 1.0, w: 1.0, p: 0.2 };
        let err = |h: f64| {
            let mut c = [0.0; 2];
            f.legendre(1.0, h, &mut c);
            // sup error of the projection on the step, sampled
            (0..=20).map(|i| {
                let tau = -1.0 + i as f64 / 10.0;
                (f.eval(1.0 + 0.5 * h * (tau + 1.0)) - (c[0] + c[1] * tau)).abs()
            }).fold(0.0, f64::max)
        };
        let ratio = err(0.1) / err(0.05);
        assert!((ratio - 4.0).abs() < 0.2, "ratio {ratio}");
    }
}
