//! Hemisphere hypotheses on the initial tokens, decided in exact arithmetic.
//!
//! * `initial-hemisphere` (Theorem 4.1): some `v` has `vᵀy_i > 0` for every token. "Holds" comes
//!   with `v` and the exact margin `min_i vᵀy_i`; "fails" comes with Gordan weights `μ ≥ 0`,
//!   `μ ≠ 0`, `Σ μ_i y_i = 0`. By Gordan's alternative exactly one of the two exists, and an exact
//!   fraction-free phase-1 simplex always finds one of them. Floating point only *proposes* short
//!   directions; every certificate is re-verified in exact rational arithmetic before it is
//!   reported, so a bug in a heuristic can cost an "undecided", never a wrong verdict.
//! * `initial-eigen-hemisphere` (Theorem 6.1): all tokens strictly on one side of an eigenvector
//!   `v` known only as `v̂` with `‖v − v̂‖₂ ≤ ε`; decided by exact comparisons of squares.
//! * `initial-no-antipode` (Theorem 5.1): no `y_j` (j ≥ 2) is a negative multiple of `y_1`.
//! * [`wendel_probability`]: the probability that random tokens lie in one open hemisphere.
//!
//! The tokens are normalised onto the ellipsoid later, by positive scaling; that changes none of
//! the signs tested here, so every check works on the raw tokens. Tokens are numbered from 1 in
//! messages and witnesses (as in the paper) and from 0 in the Rust API.

use crate::hypothesis::verdict::Outcome;
use rug::float::{Constant, Round};
use rug::ops::{NegAssign, Pow};
use rug::{Assign, Float, Integer, Rational};
use serde_json::{json, Value};
use std::cmp::Ordering;

pub const ID_HEMISPHERE: &str = "initial-hemisphere";
pub const ID_EIGEN_HEMISPHERE: &str = "initial-eigen-hemisphere";
pub const ID_NO_ANTIPODE: &str = "initial-no-antipode";

/// Entries of a vector shown in a detail line before it is elided.
const SHOWN_ENTRIES: usize = 8;

// ================================================================================================
// (a) Theorem 4.1: all tokens in one open hemisphere
// ================================================================================================

/// A certificate for `initial-hemisphere`, in the caller's token order (0-based).
#[derive(Debug, Clone, PartialEq)]
pub enum HemisphereCert {
    /// `vᵀy_i ≥ margin > 0` for every token, `margin = min_i vᵀy_i` exactly.
    Inside { v: Vec<Rational>, margin: Rational },
    /// `μ ≥ 0`, `μ ≠ 0` and `Σ μ_i y_i = 0` exactly: no open hemisphere holds all tokens.
    Gordan { mu: Vec<Rational> },
}

/// Whether `vᵀy_i > 0` for every token, in exact arithmetic.
///
/// Proof of the claim: the inner products are computed exactly, so if all are positive then `v`
/// itself exhibits the open hemisphere `{x : vᵀx > 0}` that holds every token.
pub fn verify_inside(tokens: &[Vec<Rational>], v: &[Rational]) -> bool {
    tokens.iter().all(|y| y.len() == v.len() && dot(v, y).is_positive())
}

/// Whether `μ ≥ 0`, `μ ≠ 0` and `Σ μ_i y_i = 0`, in exact arithmetic.
///
/// Proof that no open hemisphere holds the tokens: if `vᵀy_i > 0` for all `i`, then
/// `0 = vᵀ(Σ μ_i y_i) = Σ μ_i vᵀy_i > 0` because `μ ≥ 0` has a positive entry; a contradiction.
pub fn verify_gordan(tokens: &[Vec<Rational>], mu: &[Rational]) -> bool {
    let Some(d) = tokens.first().map(Vec::len) else { return false };
    if mu.len() != tokens.len() || tokens.iter().any(|y| y.len() != d) {
        return false;
    }
    if mu.iter().any(Rational::is_negative) || mu.iter().all(Rational::is_zero) {
        return false;
    }
    (0..d).all(|k| {
        let mut sum = Rational::new();
        for (m, y) in mu.iter().zip(tokens).filter(|(m, _)| !m.is_zero()) {
            sum += Rational::from(m * &y[k]);
        }
        sum.is_zero()
    })
}

/// Decides `initial-hemisphere` exactly and returns the certificate (already verified).
///
/// `Err` carries the reason for an undecided answer: malformed input, an exhausted pivot budget
/// (the lexicographic simplex terminates, the budget only bounds the time), or a certificate that
/// failed its exact re-verification (an internal error; never reported as a verdict).
pub fn hemisphere_certificate(tokens: &[Vec<Rational>]) -> Result<HemisphereCert, String> {
    certificate(tokens, true)
}

/// [`hemisphere_certificate`], with or without the floating-point shortcuts (tests run both).
fn certificate(tokens: &[Vec<Rational>], shortcuts: bool) -> Result<HemisphereCert, String> {
    let d = check_tokens(tokens)?;
    let scaled: Vec<Scaled> = tokens.iter().map(|y| Scaled::new(y)).collect();
    if shortcuts {
        if let Some(cert) = guess_direction(&scaled, d).and_then(|v| certify_inside(tokens, v)) {
            return Ok(cert);
        }
    }
    let (cols, gram) = lp_columns(&scaled, d);
    if shortcuts {
        if let Some(cert) = float_lp_hint(tokens, &scaled, &cols, gram) {
            return Ok(cert);
        }
    }
    let budget = 50 * (cols.len() + cols[0].len()) + 1000;
    match Simplex::new(&cols).solve(budget)? {
        LpEnd::Feasible(weights) => {
            let weights: Vec<Rational> = weights.into_iter().map(Rational::from).collect();
            certify_gordan(tokens, &scaled, &weights)
                .ok_or_else(|| "internal error: the exact LP's Gordan weights did not verify".into())
        }
        LpEnd::Infeasible(dual) => {
            let v = farkas_direction(&scaled, &dual, gram);
            let v = shorten(&scaled, &v).unwrap_or(v);
            certify_inside(tokens, v).ok_or_else(|| "internal error: the exact LP's direction did not verify".into())
        }
    }
}

/// The `initial-hemisphere` outcome (Theorem 4.1).
pub fn initial_hemisphere(tokens: &[Vec<Rational>]) -> Outcome {
    match hemisphere_certificate(tokens) {
        Err(why) => Outcome::undecided(ID_HEMISPHERE, why, json!({})),
        Ok(HemisphereCert::Inside { v, margin }) => {
            let cosine = cosine_margin_lower(tokens, &v);
            let detail = format!(
                "v = {}: min_i vᵀy_i = {} > 0 (cosine margin ≥ {}): all tokens in the open \
                 hemisphere vᵀy > 0",
                show_vec(&v),
                show_q(&margin),
                fmt_bound(cosine, false)
            );
            let witness = json!({
                "v": exact_strings(&v),
                "margin": margin.to_string(),
                "cosine_margin_lower": cosine,
            });
            Outcome::holds(ID_HEMISPHERE, detail, witness)
        }
        Ok(HemisphereCert::Gordan { mu }) => {
            let support: Vec<usize> = (0..mu.len()).filter(|&i| !mu[i].is_zero()).map(|i| i + 1).collect();
            let detail = format!(
                "Gordan weights {} ≥ 0 with Σ μ_i y_i = 0: no open hemisphere holds all tokens",
                show_weights(&mu)
            );
            let witness = json!({ "mu": exact_strings(&mu), "support": support });
            Outcome::fails(ID_HEMISPHERE, detail, witness)
        }
    }
}

/// Gordan weights for the original tokens from weights `w ≥ 0` of the scaled tokens
/// `z_i = c_i y_i` (`Σ w_i z_i = Σ (w_i c_i) y_i`), as a primitive integer vector, verified.
fn certify_gordan(tokens: &[Vec<Rational>], s: &[Scaled], w: &[Rational]) -> Option<HemisphereCert> {
    let mu: Vec<Rational> = w.iter().zip(s).map(|(w, s)| Rational::from(w * &s.c)).collect();
    let mu: Vec<Rational> = integer_direction(&mu).into_iter().map(Rational::from).collect();
    // The exact test that proves the claim (see `verify_gordan`).
    verify_gordan(tokens, &mu).then_some(HemisphereCert::Gordan { mu })
}

/// Checks that `v` is valid and returns it with its exact margin `min_i vᵀy_i`.
fn certify_inside(tokens: &[Vec<Rational>], v: Vec<Rational>) -> Option<HemisphereCert> {
    if tokens.iter().any(|y| y.len() != v.len()) {
        return None;
    }
    let mut margin: Option<Rational> = None;
    for y in tokens {
        // The exact test that proves the claim (see `verify_inside`).
        let p = dot(&v, y);
        if !p.is_positive() {
            return None;
        }
        if margin.as_ref().is_none_or(|m| p < *m) {
            margin = Some(p);
        }
    }
    margin.map(|margin| HemisphereCert::Inside { v, margin })
}

/// A lower bound of `min_i vᵀy_i / (‖v‖‖y_i‖)`, rounded down (for `v` with all `vᵀy_i > 0`).
///
/// The squares `(vᵀy_i)² / (‖v‖²‖y_i‖²)` are exact rationals; only the final square root is
/// rounded, downwards.
fn cosine_margin_lower(tokens: &[Vec<Rational>], v: &[Rational]) -> f64 {
    let nv = norm2(v);
    let min = tokens
        .iter()
        .map(|y| {
            let p = dot(v, y);
            Rational::from(&p * &p) / Rational::from(&nv * &norm2(y))
        })
        .min_by(|a, b| a.cmp(b));
    min.map_or(f64::NAN, |q| sqrt_bound(&q, Round::Down))
}

/// A token as the primitive integer vector `z = c·y` (`c > 0`), with a float unit direction.
struct Scaled {
    z: Vec<Integer>,
    c: Rational,
    unit: Vec<f64>,
}

impl Scaled {
    fn new(y: &[Rational]) -> Scaled {
        let mut lcm = Integer::from(1);
        for x in y {
            lcm.lcm_mut(x.denom());
        }
        let mut z: Vec<Integer> = y.iter().map(|x| (x.clone() * &lcm).into_numer_denom().0).collect();
        let g = z.iter().fold(Integer::new(), |g, x| g.gcd(x));
        if g > 1 {
            z.iter_mut().for_each(|x| x.div_exact_mut(&g));
        }
        let c = Rational::from((lcm, g.max(Integer::from(1))));
        let unit = unit_direction(&z);
        Scaled { z, c, unit }
    }
}

/// `z/‖z‖` in floating point, robust to entries beyond the range of `f64` (first divided by the
/// largest magnitude, exactly). Only used to propose candidates.
fn unit_direction(z: &[Integer]) -> Vec<f64> {
    let big = z.iter().max_by(|a, b| a.cmp_abs(b)).map(|x| x.clone().abs()).unwrap_or_default();
    if big.is_zero() {
        return vec![0.0; z.len()];
    }
    let f: Vec<f64> = z.iter().map(|x| Rational::from((x.clone(), big.clone())).to_f64()).collect();
    let n = f.iter().map(|x| x * x).sum::<f64>().sqrt();
    f.iter().map(|x| x / n).collect()
}

/// Cheap candidate directions, each rounded to a short decimal vector and checked exactly:
/// the mean of the unit tokens, then (for `ℓ ≤ d`) the least-norm solution of `Y v = 1`.
fn guess_direction(s: &[Scaled], d: usize) -> Option<Vec<Rational>> {
    let mean: Vec<f64> = (0..d).map(|k| s.iter().map(|t| t.unit[k]).sum()).collect();
    if let Some(v) = round_and_check(s, &mean) {
        return Some(v);
    }
    if s.len() <= d {
        return least_norm_solution(s, d).and_then(|g| round_and_check(s, &g));
    }
    None
}

/// The least-norm solution of `Y v = 1` (rows: unit tokens) in floating point, via the Gram
/// system `Y Yᵀ a = 1`, `v = Yᵀ a` (Gaussian elimination with partial pivoting).
fn least_norm_solution(s: &[Scaled], d: usize) -> Option<Vec<f64>> {
    let l = s.len();
    let mut g: Vec<Vec<f64>> = (0..l)
        .map(|i| {
            let mut row: Vec<f64> = (0..l).map(|j| (0..d).map(|k| s[i].unit[k] * s[j].unit[k]).sum()).collect();
            row.push(1.0);
            row
        })
        .collect();
    for c in 0..l {
        let p = (c..l).max_by(|&a, &b| g[a][c].abs().total_cmp(&g[b][c].abs()))?;
        let pivot = g[p][c].abs();
        if pivot.is_nan() || pivot <= 1e-12 {
            return None;
        }
        g.swap(c, p);
        let pivot_row = g[c].clone();
        for (_, row) in g.iter_mut().enumerate().filter(|(r, _)| *r != c) {
            let f = row[c] / pivot_row[c];
            row[c..].iter_mut().zip(&pivot_row[c..]).for_each(|(x, y)| *x -= f * y);
        }
    }
    let a: Vec<f64> = (0..l).map(|i| g[i][l] / g[i][i]).collect();
    Some((0..d).map(|k| (0..l).map(|i| a[i] * s[i].unit[k]).sum()).collect())
}

/// Rounds the float direction `g` (scaled to max-norm 1) to the fewest decimals (1 to 16) for
/// which it verifies exactly on the scaled tokens; `None` if even 16 decimals fail.
fn round_and_check(s: &[Scaled], g: &[f64]) -> Option<Vec<Rational>> {
    let big = g.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if !(big.is_finite() && big > 0.0) {
        return None;
    }
    let g: Vec<f64> = g.iter().map(|x| x / big).collect();
    let candidate = |digits: i32| -> Option<Vec<Rational>> {
        let scale = 10f64.powi(digits);
        let num: Vec<Integer> = g.iter().map(|x| Integer::from_f64((x * scale).round()).unwrap_or_default()).collect();
        // v = num / 10^digits, a positive multiple: signs of vᵀz_i are those of numᵀz_i.
        positive_on_all(s, &num).then(|| {
            let den = Integer::from(10).pow(digits as u32);
            num.into_iter().map(|n| Rational::from((n, den.clone()))).collect()
        })
    };
    candidate(16)?;
    (1..=16).find_map(candidate)
}

/// Whether `numᵀz_i > 0` for every scaled token (integer arithmetic; a fast pre-check, the
/// reported certificate is re-verified on the original tokens).
fn positive_on_all(s: &[Scaled], num: &[Integer]) -> bool {
    let mut acc = Integer::new();
    s.iter().all(|t| {
        acc.assign(0);
        for (a, b) in num.iter().zip(&t.z) {
            acc += a * b;
        }
        acc.is_positive()
    })
}

/// A short decimal version of an exact direction `v`, if one verifies.
fn shorten(s: &[Scaled], v: &[Rational]) -> Option<Vec<Rational>> {
    let big = v.iter().max_by(|a, b| a.cmp_abs(b))?.clone().abs();
    if big.is_zero() {
        return None;
    }
    let g: Vec<f64> = v.iter().map(|x| Rational::from(x / &big).to_f64()).collect();
    round_and_check(s, &g)
}

/// The columns `(a_i; 1)` of the phase-1 LP `Σ μ_i (a_i; 1) = (0; 1)`, `μ ≥ 0`.
///
/// With `d ≤ ℓ`, `a_i = z_i`. With `d > ℓ`, `a_i = (z_jᵀ z_i)_j` (the Gram matrix): it has the
/// same kernel, since `G μ = 0 ⇒ μᵀGμ = ‖Σ μ_i z_i‖² = 0`, and only `ℓ + 1` rows.
fn lp_columns(s: &[Scaled], d: usize) -> (Vec<Vec<Integer>>, bool) {
    let gram = d > s.len();
    let cols = s
        .iter()
        .map(|t| {
            let mut col: Vec<Integer> =
                if gram { s.iter().map(|u| int_dot(&u.z, &t.z)).collect() } else { t.z.clone() };
            col.push(Integer::from(1));
            col
        })
        .collect();
    (cols, gram)
}

/// The direction from a Farkas certificate of the infeasible phase-1 LP.
///
/// At the optimum with positive value, the duals `w = (u, t)` (here scaled by `D > 0`) satisfy
/// `a_iᵀu + t ≤ 0` for every column and `t = bᵀw > 0`, so `a_iᵀu < 0`. For `a_i = z_i` take
/// `v = −u`; for the Gram rows `a_iᵀu = z_iᵀ(Σ_j u_j z_j)`, take `v = −Σ_j u_j z_j`.
fn farkas_direction(s: &[Scaled], dual: &[Integer], gram: bool) -> Vec<Rational> {
    let u = &dual[..dual.len() - 1];
    let v: Vec<Integer> = if gram {
        let d = s[0].z.len();
        (0..d)
            .map(|k| {
                let mut acc = Integer::new();
                for (uj, t) in u.iter().zip(s) {
                    acc -= uj * &t.z[k];
                }
                acc
            })
            .collect()
    } else {
        u.iter().map(|x| Integer::from(-x)).collect()
    };
    let v: Vec<Rational> = v.into_iter().map(Rational::from).collect();
    integer_direction(&v).into_iter().map(Rational::from).collect()
}

/// The primitive integer vector with the same direction as `q` (zero stays zero).
fn integer_direction(q: &[Rational]) -> Vec<Integer> {
    let lcm = q.iter().fold(Integer::from(1), |l, x| l.lcm(x.denom()));
    let mut z: Vec<Integer> = q.iter().map(|x| (x.clone() * &lcm).into_numer_denom().0).collect();
    let g = z.iter().fold(Integer::new(), |g, x| g.gcd(x));
    if g > 1 {
        z.iter_mut().for_each(|x| x.div_exact_mut(&g));
    }
    z
}

// ------------------------------------------------------------------------------------------------
// A floating-point phase-1 simplex, used only as a hint
// ------------------------------------------------------------------------------------------------

/// Solves the phase-1 LP in floating point (on the unit tokens) and turns its answer into a
/// candidate certificate, checked exactly: the dual direction, rounded (holds), or the exact
/// solution of `Σ_{i∈S} μ_i a_i = e` on the float optimal support `S` (fails). `None` when the
/// candidate does not verify; the exact simplex then decides.
fn float_lp_hint(tokens: &[Vec<Rational>], s: &[Scaled], cols: &[Vec<Integer>], gram: bool) -> Option<HemisphereCert> {
    let fcols: Vec<Vec<f64>> = s
        .iter()
        .map(|t| {
            let mut col: Vec<f64> = if gram {
                s.iter().map(|u| u.unit.iter().zip(&t.unit).map(|(a, b)| a * b).sum()).collect()
            } else {
                t.unit.clone()
            };
            col.push(1.0);
            col
        })
        .collect();
    let end = FloatLp::new(&fcols).solve()?;
    if end.value <= 1e-4 {
        if let Some(cert) = gordan_on_support(tokens, s, cols, &end.support) {
            return Some(cert);
        }
    }
    let d = s[0].unit.len();
    let v: Vec<f64> = if gram {
        (0..d).map(|k| -end.dual.iter().zip(s).map(|(uj, t)| uj * t.unit[k]).sum::<f64>()).collect()
    } else {
        end.dual.iter().map(|x| -x).collect()
    };
    certify_inside(tokens, round_and_check(s, &v)?)
}

/// Gordan weights from the exact solution on a support proposed by the float LP, verified.
fn gordan_on_support(
    tokens: &[Vec<Rational>],
    s: &[Scaled],
    cols: &[Vec<Integer>],
    support: &[usize],
) -> Option<HemisphereCert> {
    let x = solve_on_support(cols, support)?;
    let mut w = vec![Rational::new(); cols.len()];
    for (&j, xj) in support.iter().zip(x) {
        w[j] = xj;
    }
    if w.iter().any(Rational::is_negative) {
        return None;
    }
    certify_gordan(tokens, s, &w)
}

/// The end of the float phase-1 LP.
struct FloatEnd {
    /// The optimal value (≈ 0 when Gordan weights exist).
    value: f64,
    /// The basic columns.
    support: Vec<usize>,
    /// The duals `u` (without the last entry): `−u` points into the hemisphere when the value is
    /// positive.
    dual: Vec<f64>,
}

/// Dense-tableau phase-1 simplex in `f64`: `[A | I | b]` with the reduced-cost row. The
/// phase-1 problem is highly degenerate (`b = e_m`), so `b` is perturbed slightly and Dantzig's
/// rule switches to Bland's after a degenerate pivot; an iteration cap bounds it. Nothing here
/// needs to be right: it only proposes a support or a direction that is then checked exactly.
struct FloatLp {
    tab: Vec<Vec<f64>>,
    cost: Vec<f64>,
    basis: Vec<usize>,
    n: usize,
    m: usize,
}

impl FloatLp {
    const TOL: f64 = 1e-12;
    const PERTURB: f64 = 1e-7;

    fn new(cols: &[Vec<f64>]) -> FloatLp {
        let (n, m) = (cols.len(), cols[0].len());
        let tab: Vec<Vec<f64>> = (0..m)
            .map(|i| {
                let mut row: Vec<f64> = cols.iter().map(|c| c[i]).collect();
                row.extend((0..m).map(|k| if k == i { 1.0 } else { 0.0 }));
                // b = e_m, perturbed by distinct tiny amounts against degeneracy.
                row.push(if i + 1 == m { 1.0 } else { Self::PERTURB * (1.0 + i as f64 / m as f64) });
                row
            })
            .collect();
        // Reduced costs c_j − 1ᵀB⁻¹a_j for the all-artificial basis (last entry: −objective).
        let mut cost: Vec<f64> = (0..=n + m).map(|j| -tab.iter().map(|r| r[j]).sum::<f64>()).collect();
        cost[n..n + m].iter_mut().for_each(|c| *c = 0.0);
        FloatLp { tab, cost, basis: (n..n + m).collect(), n, m }
    }

    fn solve(mut self) -> Option<FloatEnd> {
        let rhs = self.n + self.m;
        let mut degenerate = false;
        for _ in 0..20 * (self.n + self.m) + 100 {
            let mut eligible = (0..self.n).filter(|&j| self.cost[j] < -Self::TOL);
            let entering = if degenerate {
                eligible.next()
            } else {
                eligible.min_by(|&a, &b| self.cost[a].total_cmp(&self.cost[b]))
            };
            let Some(s) = entering else { return Some(self.finish()) };
            let rows: Vec<usize> = (0..self.m).filter(|&i| self.tab[i][s] > Self::TOL).collect();
            let ratio = |i: usize| self.tab[i][rhs] / self.tab[i][s];
            let min = rows.iter().map(|&i| ratio(i)).fold(f64::INFINITY, f64::min);
            let r = rows
                .iter()
                .copied()
                .filter(|&i| ratio(i) <= min + Self::TOL)
                .min_by_key(|&i| self.order(self.basis[i]))?;
            degenerate = min <= Self::TOL;
            self.pivot(r, s);
        }
        None
    }

    /// Bland's order of the variables: artificials first (so they leave first), then columns.
    fn order(&self, var: usize) -> usize {
        if var >= self.n {
            var - self.n
        } else {
            self.m + var
        }
    }

    fn pivot(&mut self, r: usize, s: usize) {
        let p = self.tab[r][s];
        self.tab[r].iter_mut().for_each(|x| *x /= p);
        let row = self.tab[r].clone();
        for (_, line) in self.tab.iter_mut().enumerate().filter(|(i, _)| *i != r) {
            let f = line[s];
            if f != 0.0 {
                line.iter_mut().zip(&row).for_each(|(x, y)| *x -= f * y);
            }
        }
        let f = self.cost[s];
        self.cost.iter_mut().zip(&row).for_each(|(x, y)| *x -= f * y);
        self.basis[r] = s;
    }

    fn finish(&self) -> FloatEnd {
        FloatEnd {
            value: -self.cost[self.n + self.m],
            support: self.basis.iter().copied().filter(|&j| j < self.n).collect(),
            // The reduced cost of artificial k is 1 − w_k.
            dual: (0..self.m - 1).map(|k| 1.0 - self.cost[self.n + k]).collect(),
        }
    }
}

/// The exact solution `x` of `Σ_k x_k cols[support_k] = e_m`, if it exists and is unique
/// (fraction-free elimination, then rational back substitution).
fn solve_on_support(cols: &[Vec<Integer>], support: &[usize]) -> Option<Vec<Rational>> {
    let (m, k) = (cols[0].len(), support.len());
    if k == 0 || k > m {
        return None;
    }
    let mut a: Vec<Vec<Integer>> = (0..m)
        .map(|i| {
            let mut row: Vec<Integer> = support.iter().map(|&j| cols[j][i].clone()).collect();
            row.push(Integer::from(u8::from(i + 1 == m)));
            row
        })
        .collect();
    let mut prev = Integer::from(1);
    for c in 0..k {
        let p = (c..m).find(|&i| !a[i][c].is_zero())?;
        a.swap(c, p);
        let pivot_row = a[c].clone();
        for row in a.iter_mut().skip(c + 1) {
            let f = row[c].clone();
            for j in c + 1..=k {
                fraction_free(&mut row[j], &pivot_row[j], &pivot_row[c], &f, &prev);
            }
            row[c] = Integer::new();
        }
        prev = pivot_row[c].clone();
    }
    // Consistency: the eliminated rows must read 0 = 0.
    if a[k..].iter().any(|row| !row[k].is_zero()) {
        return None;
    }
    let mut x = vec![Rational::new(); k];
    for c in (0..k).rev() {
        let mut r = Rational::from(&a[c][k]);
        for j in c + 1..k {
            r -= Rational::from(&x[j] * &a[c][j]);
        }
        x[c] = r / &a[c][c];
    }
    Some(x)
}

// ------------------------------------------------------------------------------------------------
// The exact phase-1 simplex
// ------------------------------------------------------------------------------------------------

/// How the phase-1 LP `min Σ a_r` s.t. `A μ + a = e_m`, `μ, a ≥ 0` ended.
enum LpEnd {
    /// Optimal value 0: `A μ = e_m` with these `μ ≥ 0` (scaled by `D > 0`; `Σ μ > 0` by the
    /// last row), i.e. Gordan weights for the scaled tokens.
    Feasible(Vec<Integer>),
    /// Optimal value > 0: the duals `D·w` (a Farkas certificate, see `farkas_direction`).
    Infeasible(Vec<Integer>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Art(usize),
    Col(usize),
}

/// Revised simplex with a fraction-free (Edmonds/Bareiss) basis inverse: `t = D·B⁻¹` and
/// `rhs = D·x_B` are integer matrices, `D > 0` (± the basis determinant), so every sign test
/// is an exact integer test. Entering: largest scaled reduced cost (Dantzig). Leaving: the
/// lexicographic ratio test on `[x_B | B⁻¹]`, which cannot cycle whatever the entering rule,
/// so the method terminates. Artificials that leave the basis never re-enter (the Farkas
/// argument at the end does not need their reduced costs).
struct Simplex<'a> {
    cols: &'a [Vec<Integer>],
    m: usize,
    basis: Vec<Var>,
    basic: Vec<bool>,
    t: Vec<Vec<Integer>>,
    rhs: Vec<Integer>,
    det: Integer,
    /// `log2` of each column's largest entry, to scale the reduced costs.
    scale: Vec<f64>,
}

impl<'a> Simplex<'a> {
    /// The all-artificial basis `B = I`, feasible since `b = e_m ≥ 0`.
    fn new(cols: &'a [Vec<Integer>]) -> Simplex<'a> {
        let m = cols.first().map_or(0, Vec::len);
        let t = (0..m).map(|i| (0..m).map(|k| Integer::from(u8::from(i == k))).collect()).collect();
        let mut rhs = vec![Integer::new(); m];
        if let Some(last) = rhs.last_mut() {
            *last = Integer::from(1);
        }
        let scale = cols.iter().map(|c| c.iter().map(log2_abs).fold(0.0, f64::max)).collect();
        Simplex {
            cols,
            m,
            basis: (0..m).map(Var::Art).collect(),
            basic: vec![false; cols.len()],
            t,
            rhs,
            det: Integer::from(1),
            scale,
        }
    }

    fn solve(mut self, budget: usize) -> Result<LpEnd, String> {
        if self.m == 0 {
            return Err("internal error: empty LP".into());
        }
        for _ in 0..budget {
            let dual = self.dual();
            let Some(s) = self.entering(&dual) else { return Ok(self.finish(dual)) };
            let col = self.column(s);
            let Some(r) = self.leaving(&col) else {
                return Err("internal error: the phase-1 LP looked unbounded".into());
            };
            self.pivot(r, s, &col);
        }
        Err(format!("the exact LP did not finish within {budget} pivots"))
    }

    /// `D·w` with `w = c_Bᵀ B⁻¹`, the phase-1 costs being 1 on artificials and 0 on columns.
    fn dual(&self) -> Vec<Integer> {
        let mut w = vec![Integer::new(); self.m];
        for (row, var) in self.t.iter().zip(&self.basis) {
            if matches!(var, Var::Art(_)) {
                for (wk, tk) in w.iter_mut().zip(row) {
                    *wk += tk;
                }
            }
        }
        w
    }

    /// A non-basic column with negative reduced cost `−wᵀa_j`, i.e. `(D·w)ᵀa_j > 0`.
    fn entering(&self, dual: &[Integer]) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        let mut acc = Integer::new();
        for (j, a) in self.cols.iter().enumerate() {
            if self.basic[j] {
                continue;
            }
            acc.assign(0);
            for (w, x) in dual.iter().zip(a) {
                acc += w * x;
            }
            if acc.is_positive() {
                let score = log2_abs(&acc) - self.scale[j];
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, j));
                }
            }
        }
        best.map(|(_, j)| j)
    }

    /// `D·B⁻¹ a_s`.
    fn column(&self, s: usize) -> Vec<Integer> {
        self.t
            .iter()
            .map(|row| {
                let mut acc = Integer::new();
                for (tk, ak) in row.iter().zip(&self.cols[s]) {
                    acc += tk * ak;
                }
                acc
            })
            .collect()
    }

    /// The lexicographic minimum-ratio row among rows with a positive pivot entry.
    fn leaving(&self, col: &[Integer]) -> Option<usize> {
        let mut best: Option<usize> = None;
        for r in (0..self.m).filter(|&r| col[r].is_positive()) {
            best = match best {
                Some(b) if !self.lex_less(r, b, col) => Some(b),
                _ => Some(r),
            };
        }
        best
    }

    /// Whether row `a`'s ratio vector `(rhs_a, t_a) / col_a` is lexicographically below row `b`'s
    /// (`col_a, col_b > 0`, so `x/col_a < y/col_b ⇔ x·col_b < y·col_a`).
    fn lex_less(&self, a: usize, b: usize, col: &[Integer]) -> bool {
        let cmp = |x: &Integer, y: &Integer| Integer::from(x * &col[b]).cmp(&Integer::from(y * &col[a]));
        let keys = std::iter::once((&self.rhs[a], &self.rhs[b])).chain(self.t[a].iter().zip(&self.t[b]));
        for (x, y) in keys {
            match cmp(x, y) {
                Ordering::Equal => continue,
                o => return o == Ordering::Less,
            }
        }
        false
    }

    /// Pivots column `s` into row `r`: `x ← (x·p − f·y)/D` for the other rows (the
    /// fraction-free step; the quotient is exact since all entries are minors of the original
    /// tableau), row `r` unchanged, `D ← p`; then signs are flipped so that `D > 0`.
    fn pivot(&mut self, r: usize, s: usize, col: &[Integer]) {
        let p = &col[r];
        let row_r = self.t[r].clone();
        let rhs_r = self.rhs[r].clone();
        for i in (0..self.m).filter(|&i| i != r) {
            let f = &col[i];
            for (x, y) in self.t[i].iter_mut().zip(&row_r) {
                fraction_free(x, y, p, f, &self.det);
            }
            fraction_free(&mut self.rhs[i], &rhs_r, p, f, &self.det);
        }
        self.det.assign(p);
        if self.det.is_negative() {
            self.det.neg_assign();
            self.t.iter_mut().flatten().for_each(NegAssign::neg_assign);
            self.rhs.iter_mut().for_each(NegAssign::neg_assign);
        }
        if let Var::Col(j) = self.basis[r] {
            self.basic[j] = false;
        }
        self.basis[r] = Var::Col(s);
        self.basic[s] = true;
    }

    /// Optimal: value `Σ_{artificial rows} x_r` positive ⇒ infeasible, else feasible.
    fn finish(&self, dual: Vec<Integer>) -> LpEnd {
        let positive = self.basis.iter().zip(&self.rhs).any(|(v, x)| matches!(v, Var::Art(_)) && x.is_positive());
        if positive {
            return LpEnd::Infeasible(dual);
        }
        let mut mu = vec![Integer::new(); self.cols.len()];
        for (v, x) in self.basis.iter().zip(&self.rhs) {
            if let Var::Col(j) = v {
                mu[*j].assign(x);
            }
        }
        LpEnd::Feasible(mu)
    }
}

fn fraction_free(x: &mut Integer, y: &Integer, p: &Integer, f: &Integer, det: &Integer) {
    *x *= p;
    if !f.is_zero() {
        *x -= f * y;
    }
    if *det != 1 {
        x.div_exact_mut(det);
    }
}

/// `log2 |x|` (approximate; `0` for zero), for any size of integer.
fn log2_abs(x: &Integer) -> f64 {
    if x.is_zero() {
        return 0.0;
    }
    let (mantissa, exp) = x.to_f64_exp();
    f64::from(exp) + mantissa.abs().log2()
}

// ================================================================================================
// (b) Theorem 6.1: all tokens on one side of an approximately known eigenvector
// ================================================================================================

/// Where the tokens lie relative to an eigenvector `v` known as `v̂` with `‖v − v̂‖₂ ≤ ε`
/// (for one of the two signs of `v`), token indices 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EigenSide {
    /// `sign·v̂ᵀy_i > ε‖y_i‖` for every token (`sign = ±1`).
    OneSide { sign: i8 },
    /// `v̂ᵀy_pos > ε‖y_pos‖` and `v̂ᵀy_neg < −ε‖y_neg‖`.
    Split { pos: usize, neg: usize },
    /// `|v̂ᵀy_index| ≤ ε‖y_index‖` and no split: the side of this token is not determined.
    Near { index: usize },
}

/// Classifies the tokens against `v̂`, `ε` exactly (`v̂` and `ε` are exact binary rationals).
///
/// Why this decides the hypothesis: the eigenvector is determined up to sign (a simple
/// eigenvalue, as the bound `ε` presupposes); let `v` be the unit eigenvector of the sign with
/// `‖v − v̂‖ ≤ ε`. The hypothesis asks for *some* sign of the eigenvector, i.e. `v` or `−v`. By Cauchy–Schwarz `|vᵀy − v̂ᵀy| ≤ ε‖y‖`, so `v̂ᵀy > ε‖y‖ ⇒ vᵀy > 0` and
/// `v̂ᵀy < −ε‖y‖ ⇒ vᵀy < 0`. `OneSide{σ}`: `σvᵀy_i > 0` for all `i`, the tokens lie in the open
/// hemisphere of the eigenvector `σv`. `Split`: `vᵀy_pos > 0 > vᵀy_neg`, and flipping the sign of
/// `v` flips both, so neither eigenvector has all tokens on its positive side. `Near`: the sign of
/// `vᵀy_index` is not determined by the data.
pub fn eigen_side(tokens: &[Vec<Rational>], v_hat: &[f64], eps: f64) -> Result<EigenSide, String> {
    let (vh, eps2) = eigen_inputs(tokens, v_hat, eps)?;
    let sides: Vec<Ordering> = tokens.iter().map(|y| side(y, &vh, &eps2)).collect();
    let first = |o: Ordering| sides.iter().position(|&s| s == o);
    Ok(match (first(Ordering::Greater), first(Ordering::Less), first(Ordering::Equal)) {
        (Some(pos), Some(neg), _) => EigenSide::Split { pos, neg },
        (_, _, Some(index)) => EigenSide::Near { index },
        (Some(_), None, None) => EigenSide::OneSide { sign: 1 },
        _ => EigenSide::OneSide { sign: -1 },
    })
}

/// Whether `sign·v̂ᵀy_i > ε‖y_i‖` for every token, exactly.
pub fn verify_eigen_one_side(tokens: &[Vec<Rational>], v_hat: &[f64], eps: f64, sign: i8) -> bool {
    let Ok((vh, eps2)) = eigen_inputs(tokens, v_hat, eps) else { return false };
    let want = if sign > 0 { Ordering::Greater } else { Ordering::Less };
    sign != 0 && tokens.iter().all(|y| side(y, &vh, &eps2) == want)
}

/// Whether `v̂ᵀy_pos > ε‖y_pos‖` and `v̂ᵀy_neg < −ε‖y_neg‖`, exactly.
pub fn verify_eigen_split(tokens: &[Vec<Rational>], v_hat: &[f64], eps: f64, pos: usize, neg: usize) -> bool {
    let Ok((vh, eps2)) = eigen_inputs(tokens, v_hat, eps) else { return false };
    match (tokens.get(pos), tokens.get(neg)) {
        (Some(a), Some(b)) => side(a, &vh, &eps2) == Ordering::Greater && side(b, &vh, &eps2) == Ordering::Less,
        _ => false,
    }
}

/// The `initial-eigen-hemisphere` outcome (Theorem 6.1).
pub fn initial_eigen_hemisphere(tokens: &[Vec<Rational>], v_hat: &[f64], eps: f64) -> Outcome {
    let id = ID_EIGEN_HEMISPHERE;
    let side = match eigen_side(tokens, v_hat, eps) {
        Ok(side) => side,
        Err(why) => return Outcome::undecided(id, why, json!({})),
    };
    let vh: Vec<Rational> = v_hat.iter().map(|&x| exact_f64(x)).collect();
    let e = crate::numeric::show::show_upper(eps); // an upper bound: rounded up
    match side {
        EigenSide::OneSide { sign } => {
            // All σ·v̂ᵀy_i > 0, so σ·v̂ᵀy/‖y‖ = |v̂ᵀy|/‖y‖ at the closest token.
            let (k, (lo, hi)) = closest_token(tokens, &vh);
            let detail = format!(
                "σ = {}: σ·v̂ᵀy_i > ε‖y_i‖ for every token (closest: token {}, σ·v̂ᵀy/‖y‖ ∈ [{}, {}], \
                 ε = {e}), so σ·vᵀy_i > 0 for the eigenvector within ε of v̂",
                if sign > 0 { "+1" } else { "-1" },
                k + 1,
                fmt_bound(lo, false),
                fmt_bound(hi, true)
            );
            let witness = json!({ "sign": sign, "eps": eps, "closest_token": k + 1, "closest_projection": [lo, hi] });
            Outcome::holds(id, detail, witness)
        }
        EigenSide::Split { pos, neg } => {
            let (a, b) = (projection(&tokens[pos], &vh), projection(&tokens[neg], &vh));
            let detail = format!(
                "token {}: v̂ᵀy/‖y‖ ∈ {} < -ε while token {}: v̂ᵀy/‖y‖ ∈ {} > ε (ε = {e}): tokens on \
                 both sides of the boundary for either sign of the eigenvector",
                neg + 1,
                show_interval(b),
                pos + 1,
                show_interval(a)
            );
            let witness = json!({
                "eps": eps,
                "positive_token": pos + 1, "positive_projection": [a.0, a.1],
                "negative_token": neg + 1, "negative_projection": [b.0, b.1],
            });
            Outcome::fails(id, detail, witness)
        }
        EigenSide::Near { index } => {
            let a = projection(&tokens[index], &vh);
            let detail = format!(
                "token {}: v̂ᵀy/‖y‖ ∈ {} is within the eigenvector's uncertainty ε = {e} of the boundary",
                index + 1,
                show_interval(a)
            );
            let witness = json!({ "eps": eps, "token": index + 1, "projection": [a.0, a.1] });
            Outcome::undecided(id, detail, witness)
        }
    }
}

/// Validated exact `v̂` and `ε²`.
fn eigen_inputs(tokens: &[Vec<Rational>], v_hat: &[f64], eps: f64) -> Result<(Vec<Rational>, Rational), String> {
    let d = check_tokens(tokens)?;
    if v_hat.len() != d {
        return Err(format!("v̂ has {} entries, the tokens {d}", v_hat.len()));
    }
    if v_hat.iter().any(|x| !x.is_finite()) {
        return Err("v̂ has a non-finite entry".into());
    }
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(format!("the eigenvector error bound ε = {eps} is not a finite number ≥ 0"));
    }
    let e = exact_f64(eps);
    Ok((v_hat.iter().map(|&x| exact_f64(x)).collect(), Rational::from(&e * &e)))
}

/// `Greater` if `v̂ᵀy > ε‖y‖`, `Less` if `v̂ᵀy < −ε‖y‖`, else `Equal`.
///
/// Exact: with `p = v̂ᵀy`, `|p| > ε‖y‖ ⇔ p² > ε²‖y‖²` (both sides are ≥ 0), and then `p ≠ 0`
/// gives the side.
fn side(y: &[Rational], vh: &[Rational], eps2: &Rational) -> Ordering {
    let p = dot(vh, y);
    if Rational::from(&p * &p) > Rational::from(eps2 * &norm2(y)) {
        p.cmp0()
    } else {
        Ordering::Equal
    }
}

/// An outward-rounded enclosure of `v̂ᵀy/‖y‖`: the exact square `p²/‖y‖²`, rooted with
/// directed rounding, carrying the exact sign of `p`.
fn projection(y: &[Rational], vh: &[Rational]) -> (f64, f64) {
    let p = dot(vh, y);
    let q = Rational::from(&p * &p) / norm2(y);
    let (lo, hi) = (sqrt_bound(&q, Round::Down), sqrt_bound(&q, Round::Up));
    if p.is_negative() {
        (-hi, -lo)
    } else {
        (lo, hi)
    }
}

/// The token with the smallest `|v̂ᵀy|/‖y‖` (exact comparison) and the enclosure of `|v̂ᵀy|/‖y‖`.
fn closest_token(tokens: &[Vec<Rational>], vh: &[Rational]) -> (usize, (f64, f64)) {
    let key = |y: &Vec<Rational>| {
        let p = dot(vh, y);
        Rational::from(&p * &p) / norm2(y)
    };
    let k = (0..tokens.len()).min_by(|&a, &b| key(&tokens[a]).cmp(&key(&tokens[b]))).unwrap_or(0);
    let q = key(&tokens[k]);
    (k, (sqrt_bound(&q, Round::Down), sqrt_bound(&q, Round::Up)))
}

// ================================================================================================
// (c) Theorem 5.1: no token antipodal to the first
// ================================================================================================

/// The `c > 0` with `y = −c·y1`, if there is one (exact).
///
/// After positive normalisation `y ↦ y/‖y‖` (any norm), `ŷ = −ŷ1` exactly when `y = −c·y1` with
/// `c = ‖y‖/‖y1‖ > 0`; conversely `y = −c·y1`, `c > 0` gives `ŷ = −ŷ1`.
pub fn negative_multiple(y1: &[Rational], y: &[Rational]) -> Option<Rational> {
    if y1.len() != y.len() {
        return None;
    }
    let k = y1.iter().position(|x| !x.is_zero())?;
    let c = -(y[k].clone() / &y1[k]);
    if !c.is_positive() {
        return None;
    }
    let all = y1.iter().zip(y).all(|(a, b)| -Rational::from(&c * a) == *b);
    all.then_some(c)
}

/// Every token `j ≥ 1` (0-based) antipodal to token 0, with its `c` (`y_j = −c·y_0`).
pub fn antipodes_of_first(tokens: &[Vec<Rational>]) -> Result<Vec<(usize, Rational)>, String> {
    check_tokens(tokens)?;
    let first = &tokens[0];
    Ok(tokens.iter().enumerate().skip(1).filter_map(|(j, y)| Some((j, negative_multiple(first, y)?))).collect())
}

/// Whether `j ≥ 1` and `y_j = −c·y_0` with `c > 0`, exactly.
pub fn verify_antipode(tokens: &[Vec<Rational>], j: usize, c: &Rational) -> bool {
    let (Some(y0), Some(yj)) = (tokens.first(), tokens.get(j)) else { return false };
    j >= 1
        && c.is_positive()
        && y0.len() == yj.len()
        && y0.iter().any(|x| !x.is_zero())
        && y0.iter().zip(yj).all(|(a, b)| -Rational::from(c * a) == *b)
}

/// The `initial-no-antipode` outcome (Theorem 5.1).
pub fn initial_no_antipode(tokens: &[Vec<Rational>]) -> Outcome {
    let id = ID_NO_ANTIPODE;
    match antipodes_of_first(tokens) {
        Err(why) => Outcome::undecided(id, why, json!({})),
        Ok(found) if found.is_empty() => Outcome::holds(
            id,
            "no token y_j (j ≥ 2) is a negative multiple of y_1: none is antipodal to token 1 on the ellipsoid",
            json!({ "tokens": tokens.len() }),
        ),
        Ok(found) => {
            let (j, c) = &found[0];
            let rest: Vec<String> = found[1..].iter().map(|(k, _)| (k + 1).to_string()).collect();
            let more = match rest.len() {
                0 => String::new(),
                1 => format!(" (also token {})", rest[0]),
                _ => format!(" (also tokens {})", rest.join(", ")),
            };
            let factor = if *c == 1 { String::new() } else { format!("{}·", show_q(c)) };
            let detail = format!(
                "token {} = -{factor}y_1: a negative multiple of token 1, hence antipodal to it on the \
                 ellipsoid{more}",
                j + 1
            );
            let list: Vec<Value> = found.iter().map(|(k, c)| json!({ "token": k + 1, "c": c.to_string() })).collect();
            Outcome::fails(id, detail, json!({ "antipodes": list }))
        }
    }
}

// ================================================================================================
// (d) Wendel's formula
// ================================================================================================

/// Largest `ℓ − 1` summed in exact integers (cost `O(min(n, ℓ−n) · ℓ)` bit operations).
const WENDEL_EXACT_MAX: u64 = 1 << 16;

/// Wendel (1962): the probability that `l` independent uniform points on `S^n ⊂ R^{n+1}` lie in
/// one open hemisphere, `2^{−(l−1)} Σ_{k=0}^{n} C(l−1, k)` (1 when `n ≥ l − 1`).
///
/// Exact rational arithmetic rounded once to nearest for `l − 1 ≤ 2^16`; beyond, a 256-bit
/// floating-point sum (relative error far below an `f64` ulp), and for astronomically large `l`
/// with `n` within a few `√l` of `l/2` the continuity-corrected normal approximation (error
/// `O(1/l)` for the symmetric binomial).
pub fn wendel_probability(l: u64, n: u64) -> f64 {
    if l <= 1 || n >= l - 1 {
        return 1.0;
    }
    let m = l - 1;
    if m <= WENDEL_EXACT_MAX {
        wendel_exact(m, n)
    } else {
        wendel_float(m, n)
    }
}

/// `2^{−m} Σ_{k≤n} C(m, k)` for `n < m ≤ 2^16`, summing the shorter tail
/// (`Σ_{k≤n} C(m,k) = 2^m − Σ_{k<m−n} C(m,k)`).
fn wendel_exact(m: u64, n: u64) -> f64 {
    let m32 = m as u32; // m ≤ 2^16
    let complement = n + 1 > m - n;
    let terms = if complement { m - n } else { n + 1 };
    let mut c = Integer::from(1);
    let mut sum = Integer::new();
    for k in 0..terms as u32 {
        sum += &c;
        c *= m32 - k;
        c.div_exact_u_mut(k + 1);
    }
    let total = Integer::from(1) << m32;
    let num = if complement { Integer::from(&total - &sum) } else { sum };
    Float::with_val_round(53, &Rational::from((num, total)), Round::Nearest).0.to_f64()
}

/// The same sum in 256-bit floating point for `m > 2^16`: from the largest term of the shorter
/// tail downwards, stopping when a geometric bound of the rest is below `2^{−80}` of the sum.
fn wendel_float(m: u64, n: u64) -> f64 {
    const PREC: u32 = 256;
    const MAX_TERMS: u64 = 1 << 20;
    let complement = n + 1 > m - n;
    let top = if complement { m - n - 1 } else { n };
    let lg = |x: u64| Float::with_val(PREC, x).ln_gamma();
    let ln2 = Float::with_val(PREC, Constant::Log2);
    let log_term = lg(m + 1) - lg(top + 1) - lg(m - top + 1) - Float::with_val(PREC, m) * ln2;
    let mut term = log_term.exp();
    let mut sum = Float::new(PREC);
    let mut k = top;
    for _ in 0..MAX_TERMS {
        sum += &term;
        if k == 0 {
            break;
        }
        // term_{k−1} = term_k · k/(m−k+1); the rest is at most term·r/(1−r), r = k/(m−k+1).
        let r = Float::with_val(PREC, k) / Float::with_val(PREC, m - k + 1);
        term *= &r;
        let rest = Float::with_val(PREC, &term / (Float::with_val(PREC, 1) - &r));
        if rest < Float::with_val(PREC, &sum >> 80u32) {
            sum += &rest; // an upper estimate of the rest; below 2^{-80} relative either way
            k = 0;
            break;
        }
        k -= 1;
    }
    if k != 0 {
        return wendel_normal(m, n);
    }
    let p = if complement { Float::with_val(PREC, 1) - sum } else { sum };
    p.to_f64()
}

/// `P(Bin(m, 1/2) ≤ n) ≈ Φ((n + 1/2 − m/2)/(√m/2))`.
fn wendel_normal(m: u64, n: u64) -> f64 {
    const PREC: u32 = 128;
    let z = (Float::with_val(PREC, n) + 0.5f64 - Float::with_val(PREC, m) / 2u32)
        / (Float::with_val(PREC, m).sqrt() / 2u32);
    let arg = -z / Float::with_val(PREC, 2).sqrt();
    (arg.erfc() / 2u32).to_f64()
}

// ================================================================================================
// Shared helpers
// ================================================================================================

/// `ℓ ≥ 1` tokens of one dimension `d ≥ 1`, none zero (a zero token has no point on the
/// ellipsoid). Returns `d`.
fn check_tokens(tokens: &[Vec<Rational>]) -> Result<usize, String> {
    let Some(first) = tokens.first() else { return Err("there are no tokens".into()) };
    let d = first.len();
    if d == 0 {
        return Err("the tokens have dimension 0".into());
    }
    for (i, y) in tokens.iter().enumerate() {
        if y.len() != d {
            return Err(format!("token {} has dimension {}, token 1 has dimension {d}", i + 1, y.len()));
        }
        if y.iter().all(Rational::is_zero) {
            return Err(format!("token {} is zero: it has no point on the ellipsoid", i + 1));
        }
    }
    Ok(d)
}

fn dot(a: &[Rational], b: &[Rational]) -> Rational {
    let mut s = Rational::new();
    for (x, y) in a.iter().zip(b) {
        if !x.is_zero() && !y.is_zero() {
            s += Rational::from(x * y);
        }
    }
    s
}

fn norm2(a: &[Rational]) -> Rational {
    dot(a, a)
}

fn int_dot(a: &[Integer], b: &[Integer]) -> Integer {
    let mut s = Integer::new();
    for (x, y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

/// A finite `f64` as the exact rational it denotes (non-finite values, excluded by the
/// callers, map to 0).
fn exact_f64(x: f64) -> Rational {
    Rational::from_f64(x).unwrap_or_default()
}

/// `√q` rounded in the given direction, as an `f64` (`q ≥ 0`).
fn sqrt_bound(q: &Rational, round: Round) -> f64 {
    let (mut f, _) = Float::with_val_round(64, q, round);
    f.sqrt_round(round);
    f.to_f64_round(round)
}

fn exact_strings(v: &[Rational]) -> Vec<String> {
    v.iter().map(Rational::to_string).collect()
}

/// A readable exact number: a short decimal, else a short fraction, else `≈` six digits.
fn show_q(q: &Rational) -> String {
    if let Some(s) = short_decimal(q) {
        return s;
    }
    let s = q.to_string();
    if s.len() <= 24 {
        s
    } else {
        format!("≈{}", Float::with_val(53, q).to_string_radix(10, Some(4)))
    }
}

/// `q` as a terminating decimal with at most 12 fractional digits and 24 characters.
fn short_decimal(q: &Rational) -> Option<String> {
    let mut p = Integer::from(1);
    for k in 0..=12usize {
        if p.is_divisible(q.denom()) {
            let n = Integer::from(q.numer() * &p) / q.denom();
            let s = point(&n, k);
            return (s.len() <= 24).then_some(s);
        }
        p *= 10;
    }
    None
}

/// `n·10^{−k}` as a decimal string (trailing fractional zeros removed).
fn point(n: &Integer, k: usize) -> String {
    let digits = n.clone().abs().to_string();
    let digits = if digits.len() <= k { format!("{}{digits}", "0".repeat(k + 1 - digits.len())) } else { digits };
    let (int, frac) = digits.split_at(digits.len() - k);
    let frac = frac.trim_end_matches('0');
    let body = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
    if n.is_negative() {
        format!("-{body}")
    } else {
        body
    }
}

/// `x` to four significant digits, rounded down (`up = false`) or up: an honest bound.
fn fmt_bound(x: f64, up: bool) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let e = x.abs().log10().floor() as i32;
    let k = 3 - e;
    let mut q = exact_f64(x);
    let ten = Rational::from(Integer::from(10).pow(k.unsigned_abs()));
    if k >= 0 {
        q *= ten;
    } else {
        q /= ten;
    }
    let n = if up { q.ceil() } else { q.floor() }.into_numer_denom().0;
    if (-5..=6).contains(&e) {
        if k >= 0 {
            return point(&n, k as usize);
        }
        return (n * Integer::from(10).pow((-k) as u32)).to_string();
    }
    let digits = n.clone().abs().to_string();
    let exp = digits.len() as i32 - 1 - k;
    let frac = digits[1..].trim_end_matches('0');
    let sign = if n.is_negative() { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{}e{exp}", &digits[..1])
    } else {
        format!("{sign}{}.{frac}e{exp}", &digits[..1])
    }
}

fn show_interval((lo, hi): (f64, f64)) -> String {
    format!("[{}, {}]", fmt_bound(lo, false), fmt_bound(hi, true))
}

/// `(a, b, c)`, eliding the middle of long vectors.
fn show_vec(v: &[Rational]) -> String {
    let shown: Vec<String> = if v.len() <= SHOWN_ENTRIES {
        v.iter().map(show_q).collect()
    } else {
        let mut s: Vec<String> = v[..SHOWN_ENTRIES - 2].iter().map(show_q).collect();
        s.push(format!("… ({} entries) …", v.len()));
        s.push(show_q(&v[v.len() - 1]));
        s
    };
    format!("({})", shown.join(", "))
}

/// `μ = (1, 1, 0)` for short vectors, else the support `μ_3 = 2, μ_17 = 1, …`; long integers
/// are shown as shares `μ_i/Σμ` (the exact weights are in the witness).
fn show_weights(mu: &[Rational]) -> String {
    let short = mu.iter().all(|q| !show_q(q).starts_with('≈'));
    if short && mu.len() <= SHOWN_ENTRIES {
        return format!("μ = {}", show_vec(mu));
    }
    let total = mu.iter().fold(Rational::new(), |t, q| t + q);
    let entry = |i: usize| {
        if short {
            format!("μ_{} = {}", i + 1, show_q(&mu[i]))
        } else {
            let share = Rational::from(&mu[i] / &total).to_f64();
            format!("μ_{}/Σμ ≈ {}", i + 1, Float::with_val(53, share).to_string_radix(10, Some(3)))
        }
    };
    let support: Vec<usize> = (0..mu.len()).filter(|&i| !mu[i].is_zero()).collect();
    let mut parts: Vec<String> = support.iter().take(SHOWN_ENTRIES).map(|&i| entry(i)).collect();
    if support.len() > SHOWN_ENTRIES {
        parts.push(format!("… ({} tokens in the support)", support.len()));
    }
    format!("{} (other μ_i = 0)", parts.join(", "))
}

// ================================================================================================
// Tests
// ================================================================================================

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypothesis::verdict::Verdict;
    use proptest::prelude::*;
    use rand_chacha::ChaCha12Rng;
    use rand_core::{RngCore, SeedableRng};

    fn toks(rows: &[&[i64]]) -> Vec<Vec<Rational>> {
        rows.iter().map(|r| r.iter().map(|&x| Rational::from(x)).collect()).collect()
    }

    fn qs(xs: &[i64]) -> Vec<Rational> {
        xs.iter().map(|&x| Rational::from(x)).collect()
    }

    /// Runs (a) and checks the outcome against its certificate; returns the certificate.
    fn decide(tokens: &[Vec<Rational>]) -> HemisphereCert {
        let cert = hemisphere_certificate(tokens).expect("exact LP decides");
        let out = initial_hemisphere(tokens);
        assert_eq!(out.id, ID_HEMISPHERE);
        match &cert {
            HemisphereCert::Inside { v, margin } => {
                assert!(verify_inside(tokens, v));
                assert!(margin.is_positive());
                assert_eq!(out.verdict, Verdict::Holds);
            }
            HemisphereCert::Gordan { mu } => {
                assert!(verify_gordan(tokens, mu));
                assert_eq!(out.verdict, Verdict::Fails);
            }
        }
        cert
    }

    fn gordan(tokens: &[Vec<Rational>]) -> Vec<Rational> {
        match decide(tokens) {
            HemisphereCert::Gordan { mu } => mu,
            other => panic!("expected Gordan weights, got {other:?}"),
        }
    }

    fn inside(tokens: &[Vec<Rational>]) -> (Vec<Rational>, Rational) {
        match decide(tokens) {
            HemisphereCert::Inside { v, margin } => (v, margin),
            other => panic!("expected a direction, got {other:?}"),
        }
    }

    #[test]
    fn boundary_tokens_fail_with_weights_1_1_0() {
        let t = toks(&[&[1, 0], &[-1, 0], &[0, 1]]);
        assert_eq!(gordan(&t), qs(&[1, 1, 0]));
        let out = initial_hemisphere(&t);
        assert!(out.detail.contains("μ = (1, 1, 0)"), "{}", out.detail);
    }

    #[test]
    fn antipodal_pair_fails() {
        let t = toks(&[&[3, -1, 2], &[-3, 1, -2]]);
        assert_eq!(gordan(&t), qs(&[1, 1]));
        let t = toks(&[&[1, 2], &[5, 1], &[-2, -4]]);
        assert_eq!(gordan(&t), qs(&[2, 0, 1]));
    }

    #[test]
    fn identical_tokens_and_single_token_hold() {
        let (v, m) = inside(&toks(&[&[1i64, -2, 3][..]; 5]));
        assert!(m.is_positive());
        assert_eq!(v.len(), 3);
        inside(&toks(&[&[0, 0, -7]]));
        inside(&[vec![Rational::from((1, 3)), Rational::from((-2, 7))]]);
    }

    #[test]
    fn readable_holds_detail() {
        let out = initial_hemisphere(&toks(&[&[1, 0, 0], &[1, 1, 0], &[1, -1, 0]]));
        assert_eq!(out.verdict, Verdict::Holds);
        assert!(out.detail.starts_with("v = (1, 0, 0): min_i vᵀy_i = 1 > 0"), "{}", out.detail);
        assert_eq!(out.witness["v"][0], "1");
        assert_eq!(out.witness["margin"], "1");
    }

    #[test]
    fn zero_in_the_convex_hull_fails() {
        // (1,0), (−1,1), (−1,−1): 2·y1 + y2 + y3 = 0.
        assert_eq!(gordan(&toks(&[&[1, 0], &[-1, 1], &[-1, -1]])), qs(&[2, 1, 1]));
        // Mean direction fails but a hemisphere exists: the LP finds it.
        let t = toks(&[&[1, 0], &[1, 0], &[1, 0], &[1, 0], &[-1, 1], &[-1, 1], &[-1, 1], &[-2, 1]]);
        let (v, _) = inside(&t);
        assert!(verify_inside(&t, &v));
    }

    #[test]
    fn high_dimension_uses_the_gram_rows() {
        // d = 6 > ℓ = 3: independent → holds; with y3 = −(y1 + y2) → fails.
        let t = toks(&[&[1, 2, 0, 0, 3, 1], &[0, 1, -1, 4, 0, 0], &[2, 0, 0, 1, -5, 2]]);
        inside(&t);
        let t = toks(&[&[1, 2, 0, 0, 3, 1], &[0, 1, -1, 4, 0, 0], &[-1, -3, 1, -4, -3, -1]]);
        assert_eq!(gordan(&t), qs(&[1, 1, 1]));
        // Direct LP paths (no heuristics): Gram for d > ℓ and coordinates.
        for t in [t.clone(), toks(&[&[1, 0], &[-1, 1], &[-1, -1]])] {
            let s: Vec<Scaled> = t.iter().map(|y| Scaled::new(y)).collect();
            let (cols, _) = lp_columns(&s, t[0].len());
            assert!(matches!(Simplex::new(&cols).solve(1000), Ok(LpEnd::Feasible(_))));
        }
    }

    #[test]
    fn lp_finds_directions_without_heuristics() {
        let t = toks(&[&[1, 0, 0], &[0, 1, 0], &[0, 0, 1], &[1, 1, -1]]);
        let s: Vec<Scaled> = t.iter().map(|y| Scaled::new(y)).collect();
        for gram in [false, true] {
            let d = if gram { 9 } else { 3 };
            let (cols, g) = if gram { lp_columns_gram(&s) } else { lp_columns(&s, d) };
            let Ok(LpEnd::Infeasible(dual)) = Simplex::new(&cols).solve(1000) else { panic!() };
            let v = farkas_direction(&s, &dual, g);
            assert!(verify_inside(&t, &v), "gram = {gram}: {v:?}");
        }
    }

    fn lp_columns_gram(s: &[Scaled]) -> (Vec<Vec<Integer>>, bool) {
        let cols = s
            .iter()
            .map(|t| {
                let mut c: Vec<Integer> = s.iter().map(|u| int_dot(&u.z, &t.z)).collect();
                c.push(Integer::from(1));
                c
            })
            .collect();
        (cols, true)
    }

    #[test]
    fn extreme_magnitudes_and_dimension_one() {
        let tiny = Rational::from((1, Integer::from(10).pow(400)));
        let huge = Rational::from(Integer::from(10).pow(400));
        let t =
            vec![vec![tiny.clone(), huge.clone()], vec![huge.clone(), tiny.clone()], vec![-tiny.clone(), huge.clone()]];
        inside(&t);
        let t = vec![vec![tiny.clone(), huge.clone()], vec![-tiny.clone(), -huge.clone()]];
        assert_eq!(gordan(&t), qs(&[1, 1]));
        let out = initial_eigen_hemisphere(&t, &[0.0, 1.0], 1e-300);
        assert_eq!(out.verdict, Verdict::Fails, "{}", out.detail);
        assert_eq!(initial_no_antipode(&t).verdict, Verdict::Fails);
        inside(&toks(&[&[2], &[5], &[1]]));
        assert_eq!(gordan(&toks(&[&[2], &[-5], &[1]])), qs(&[5, 2, 0]));
    }

    #[test]
    fn malformed_input_is_undecided_not_a_panic() {
        for t in [vec![], toks(&[&[1, 2], &[3]]), toks(&[&[0, 0]]), vec![vec![]]] {
            assert_eq!(initial_hemisphere(&t).verdict, Verdict::Undecided);
            assert_eq!(initial_no_antipode(&t).verdict, Verdict::Undecided);
            assert_eq!(initial_eigen_hemisphere(&t, &[1.0, 0.0], 0.0).verdict, Verdict::Undecided);
        }
        let t = toks(&[&[1, 0]]);
        assert_eq!(initial_eigen_hemisphere(&t, &[1.0], 0.0).verdict, Verdict::Undecided);
        assert_eq!(initial_eigen_hemisphere(&t, &[1.0, f64::NAN], 0.0).verdict, Verdict::Undecided);
        assert_eq!(initial_eigen_hemisphere(&t, &[1.0, 0.0], -1.0).verdict, Verdict::Undecided);
        assert!(!verify_gordan(&t, &qs(&[0])));
        assert!(!verify_gordan(&t, &qs(&[-1])));
        assert!(!verify_inside(&t, &qs(&[1])));
    }

    fn token_sets(
        dims: std::ops::RangeInclusive<usize>,
        len: std::ops::RangeInclusive<usize>,
        r: i64,
    ) -> impl Strategy<Value = Vec<Vec<Rational>>> {
        (dims, len).prop_flat_map(move |(d, l)| {
            prop::collection::vec(prop::collection::vec((-r..=r, 1i64..=3), d), l).prop_map(|rows| {
                rows.into_iter()
                    .map(|row| {
                        let mut y: Vec<Rational> = row.into_iter().map(|(n, q)| Rational::from((n, q))).collect();
                        if y.iter().all(Rational::is_zero) {
                            y[0] = Rational::from(1);
                        }
                        y
                    })
                    .collect()
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn hemisphere_verdicts_are_certified(t in token_sets(2..=5, 1..=12, 3)) {
            decide(&t);
        }

        #[test]
        fn degenerate_small_coordinates(t in token_sets(2..=4, 2..=10, 1)) {
            decide(&t);
        }

        #[test]
        fn high_dimension_few_tokens(t in token_sets(5..=8, 1..=5, 2)) {
            decide(&t);
        }

        #[test]
        fn exact_lp_path_agrees(t in token_sets(1..=6, 1..=10, 2)) {
            // Without the float shortcuts the exact LP decides; both answers are verified
            // certificates, so by Gordan's alternative they must be of the same kind.
            let exact = certificate(&t, false).unwrap();
            match &exact {
                HemisphereCert::Inside { v, .. } => prop_assert!(verify_inside(&t, v)),
                HemisphereCert::Gordan { mu } => prop_assert!(verify_gordan(&t, mu)),
            }
            let fast = decide(&t);
            prop_assert_eq!(std::mem::discriminant(&exact), std::mem::discriminant(&fast));
        }

        #[test]
        fn lp_alone_agrees(t in token_sets(2..=5, 1..=10, 2)) {
            // The exact LP by itself (no float guesses) also produces a verified certificate.
            let s: Vec<Scaled> = t.iter().map(|y| Scaled::new(y)).collect();
            let (cols, gram) = lp_columns(&s, t[0].len());
            match Simplex::new(&cols).solve(10_000).unwrap() {
                LpEnd::Feasible(w) => {
                    let mu: Vec<Rational> = w.iter().zip(&s).map(|(w, s)| Rational::from(w * &s.c)).collect();
                    prop_assert!(verify_gordan(&t, &mu));
                    let gordan = matches!(decide(&t), HemisphereCert::Gordan { .. });
                    prop_assert!(gordan);
                }
                LpEnd::Infeasible(dual) => {
                    prop_assert!(verify_inside(&t, &farkas_direction(&s, &dual, gram)));
                    let inside = matches!(decide(&t), HemisphereCert::Inside { .. });
                    prop_assert!(inside);
                }
            }
        }
    }

    // ---- statistics against Wendel's formula ----

    fn normal(rng: &mut ChaCha12Rng) -> f64 {
        let u1 = ((rng.next_u64() >> 11) + 1) as f64 * (-53f64).exp2();
        let u2 = (rng.next_u64() >> 11) as f64 * (-53f64).exp2();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// A Gaussian token rounded to 12 decimals, as an exact rational.
    fn gaussian_token(rng: &mut ChaCha12Rng, d: usize) -> Vec<Rational> {
        let scale = Integer::from(10).pow(12);
        loop {
            let y: Vec<Rational> = (0..d)
                .map(|_| Rational::from((Integer::from_f64((normal(rng) * 1e12).round()).unwrap(), scale.clone())))
                .collect();
            if y.iter().any(|x| !x.is_zero()) {
                return y;
            }
        }
    }

    #[test]
    fn moderate_random_instances() {
        let mut rng = ChaCha12Rng::seed_from_u64(11);
        for (l, d) in [(300usize, 20usize), (40, 12), (20, 60)] {
            let t: Vec<Vec<Rational>> = (0..l).map(|_| gaussian_token(&mut rng, d)).collect();
            decide(&t);
            let half: Vec<Vec<Rational>> = t
                .iter()
                .map(|y| {
                    let mut y = y.clone();
                    y[0] = y[0].clone().abs() + Rational::from((1, 10));
                    y
                })
                .collect();
            assert!(matches!(decide(&half), HemisphereCert::Inside { .. }));
            assert!(matches!(certificate(&half, false), Ok(HemisphereCert::Inside { .. })));
        }
    }

    #[test]
    fn acceptance_rate_matches_wendel() {
        let mut rng = ChaCha12Rng::seed_from_u64(0x4154_544e);
        let draws = 2000u32;
        for (l, d) in [(6usize, 3usize), (10, 3), (8, 4), (5, 2)] {
            let mut holds = 0u32;
            for _ in 0..draws {
                let t: Vec<Vec<Rational>> = (0..l).map(|_| gaussian_token(&mut rng, d)).collect();
                if let HemisphereCert::Inside { .. } = decide(&t) {
                    holds += 1;
                }
            }
            let p = wendel_probability(l as u64, d as u64 - 1);
            let n = f64::from(draws);
            let sd = (n * p * (1.0 - p)).sqrt();
            let z = (f64::from(holds) - n * p) / sd;
            eprintln!("ℓ = {l}, d = {d}: {holds}/{draws} in one hemisphere, Wendel p = {p:.4} (z = {z:+.2})");
            assert!(z.abs() <= 4.5, "ℓ = {l}, d = {d}: {holds}/{draws} vs p = {p} (z = {z})");
        }
    }

    #[test]
    fn wendel_exact_values() {
        assert_eq!(wendel_probability(1, 0), 1.0);
        assert_eq!(wendel_probability(0, 0), 1.0);
        assert_eq!(wendel_probability(3, 1), 0.75);
        assert_eq!(wendel_probability(4, 1), 0.5);
        assert_eq!(wendel_probability(6, 2), 0.5);
        assert_eq!(wendel_probability(10, 2), 46.0 / 512.0);
        assert_eq!(wendel_probability(5, 1), 5.0 / 16.0);
        assert_eq!(wendel_probability(4, 3), 1.0);
        assert_eq!(wendel_probability(4, 100), 1.0);
        assert_eq!(wendel_probability(u64::MAX, u64::MAX), 1.0);
        // ℓ = 2n + 2 points: exactly 1/2 by symmetry.
        assert_eq!(wendel_probability(1002, 500), 0.5);
    }

    #[test]
    fn wendel_float_agrees_with_exact() {
        for (m, n) in [(1000u64, 480u64), (1000, 520), (3000, 10), (3000, 2990), (5000, 2400), (4001, 2000)] {
            let (a, b) = (wendel_exact(m, n), wendel_float(m, n));
            assert!((a - b).abs() <= 1e-15 * a.abs().max(1e-300) + 1e-300, "m = {m}, n = {n}: {a} vs {b}");
        }
        // m = ℓ − 1 odd, n = (m − 1)/2: exactly 1/2 by symmetry.
        assert_eq!(wendel_probability(1_000_002, 500_000), 0.5);
        // m even, n = m/2: 1/2 + C(m, m/2)/2^{m+1} ≈ 1/2 + (1/2)·√(2/(πm))·(1 − 1/(4m)).
        let m = 1_000_000f64;
        let expect = 0.5 + 0.5 * (2.0 / (std::f64::consts::PI * m)).sqrt() * (1.0 - 1.0 / (4.0 * m));
        let p = wendel_probability(1_000_001, 500_000);
        assert!((p - expect).abs() < 1e-13, "{p} vs {expect}");
        let p = wendel_probability(u64::MAX, u64::MAX / 2);
        assert!(p.is_finite() && (0.0..=1.0).contains(&p), "{p}");
        assert_eq!(wendel_probability(10_000_000_000, 3), 0.0);
    }

    // ---- (b) ----

    fn unit(x: f64, y: f64) -> Vec<f64> {
        let n = (x * x + y * y).sqrt();
        vec![x / n, y / n]
    }

    #[test]
    fn eigen_exact_direction_and_small_error() {
        let t = toks(&[&[1, 0], &[2, 1], &[3, -1]]);
        for eps in [0.0, 1e-9, 0.3] {
            let out = initial_eigen_hemisphere(&t, &[1.0, 0.0], eps);
            assert_eq!(out.verdict, Verdict::Holds, "{}", out.detail);
            assert_eq!(eigen_side(&t, &[1.0, 0.0], eps), Ok(EigenSide::OneSide { sign: 1 }));
            assert!(verify_eigen_one_side(&t, &[1.0, 0.0], eps, 1));
        }
        // The negative eigenvector: all tokens on the negative side of v̂.
        assert_eq!(eigen_side(&t, &[-1.0, 0.0], 0.1), Ok(EigenSide::OneSide { sign: -1 }));
        assert!(verify_eigen_one_side(&t, &[-1.0, 0.0], 0.1, -1));
        // 3/√10 ≈ 0.9487 is the smallest cosine; ε = 0.95 is too large.
        let out = initial_eigen_hemisphere(&t, &[1.0, 0.0], 0.95);
        assert_eq!(out.verdict, Verdict::Undecided, "{}", out.detail);
    }

    #[test]
    fn eigen_boundary_tokens_are_undecided() {
        // Exactly on the boundary: with eps = 0 the side is still unknown (vᵀy may be 0 or not).
        let t = toks(&[&[1, 0], &[0, 1]]);
        assert_eq!(eigen_side(&t, &[1.0, 0.0], 0.0), Ok(EigenSide::Near { index: 1 }));
        // Near the boundary within the uncertainty.
        let t = vec![qs(&[1, 0]), vec![Rational::from((1, 1_000_000)), Rational::from(1)]];
        let out = initial_eigen_hemisphere(&t, &[1.0, 0.0], 1e-3);
        assert_eq!(out.verdict, Verdict::Undecided);
        assert!(out.detail.starts_with("token 2:"), "{}", out.detail);
        // … and decided once the uncertainty is below the distance 1e-6.
        assert_eq!(initial_eigen_hemisphere(&t, &[1.0, 0.0], 1e-7).verdict, Verdict::Holds);
    }

    #[test]
    fn eigen_split_fails() {
        let t = toks(&[&[2, 1], &[1, 1], &[-3, 1], &[0, 1]]);
        let vh = unit(1.0, 0.1);
        let out = initial_eigen_hemisphere(&t, &vh, 0.01);
        assert_eq!(out.verdict, Verdict::Fails, "{}", out.detail);
        assert_eq!(eigen_side(&t, &vh, 0.01), Ok(EigenSide::Split { pos: 0, neg: 2 }));
        assert!(verify_eigen_split(&t, &vh, 0.01, 0, 2));
        assert!(!verify_eigen_split(&t, &vh, 0.01, 2, 0));
        assert!(out.detail.starts_with("token 3:"), "{}", out.detail);
        assert_eq!(out.witness["negative_token"], 3);
    }

    #[test]
    fn eigen_bound_is_exact_at_the_threshold() {
        // y = (3, 4), v̂ = (1, 0): v̂ᵀy = 3 = ε‖y‖ for ε = 0.6 exactly → not strictly beyond.
        let t = toks(&[&[3, 4]]);
        assert_eq!(eigen_side(&t, &[1.0, 0.0], 0.5), Ok(EigenSide::OneSide { sign: 1 }));
        assert_eq!(eigen_side(&t, &[1.0, 0.0], 0.75), Ok(EigenSide::Near { index: 0 }));
        // 0.6 as an f64 is slightly below 3/5: then strictly beyond; 0.6 + ulp is above.
        let e = 0.6f64;
        let expect = if exact_f64(e) < Rational::from((3, 5)) {
            EigenSide::OneSide { sign: 1 }
        } else {
            EigenSide::Near { index: 0 }
        };
        assert_eq!(eigen_side(&t, &[1.0, 0.0], e), Ok(expect));
    }

    // ---- (c) ----

    #[test]
    fn antipodes() {
        let out = initial_no_antipode(&toks(&[&[1, 2, -1], &[0, 1, 0], &[-1, -2, 1]]));
        assert_eq!(out.verdict, Verdict::Fails);
        assert_eq!(out.witness["antipodes"][0]["token"], 3);
        assert!(out.detail.starts_with("token 3 = -y_1"), "{}", out.detail);
        let t = toks(&[&[1, 2, -1], &[-2, -4, 2]]);
        assert_eq!(initial_no_antipode(&t).verdict, Verdict::Fails);
        let found = antipodes_of_first(&t).unwrap();
        assert_eq!(found, vec![(1, Rational::from(2))]);
        assert!(verify_antipode(&t, 1, &found[0].1));
        assert!(!verify_antipode(&t, 1, &Rational::from(1)));
        // A positive multiple is the same point, not the antipode.
        assert_eq!(initial_no_antipode(&toks(&[&[1, 2], &[2, 4]])).verdict, Verdict::Holds);
        // A tiny perturbation of the antipode.
        let mut y2 = qs(&[-1, -2, 1]);
        y2[2] += Rational::from((1, 1_000_000_000_000i64));
        let t = vec![qs(&[1, 2, -1]), y2];
        assert_eq!(initial_no_antipode(&t).verdict, Verdict::Holds);
        assert_eq!(initial_no_antipode(&toks(&[&[5, 0]])).verdict, Verdict::Holds);
        // Leading zero coordinates of y_1.
        assert_eq!(initial_no_antipode(&toks(&[&[0, 0, 3], &[0, 0, -1]])).verdict, Verdict::Fails);
        assert_eq!(initial_no_antipode(&toks(&[&[0, 0, 3], &[1, 0, -1]])).verdict, Verdict::Holds);
    }

    // ---- display helpers ----

    #[test]
    fn bounds_are_rounded_outward() {
        assert_eq!(fmt_bound(0.03125, false), "0.03125");
        assert_eq!(fmt_bound(0.031256, false), "0.03125");
        assert_eq!(fmt_bound(0.031256, true), "0.03126");
        assert_eq!(fmt_bound(-0.92505, false), "-0.9251");
        assert_eq!(fmt_bound(-0.92505, true), "-0.925");
        // The double nearest 1.5e-9 lies just below it.
        assert_eq!(fmt_bound(1.5e-9, false), "1.499e-9");
        assert_eq!(fmt_bound(1.5e-9, true), "1.5e-9");
        assert_eq!(fmt_bound(123456.0, true), "123500");
        assert_eq!(show_q(&Rational::from((1, 20))), "0.05");
        assert_eq!(show_q(&Rational::from((1, 3))), "1/3");
        assert_eq!(show_q(&Rational::from(-7)), "-7");
    }

    #[test]
    #[ignore]
    fn show_outcomes() {
        let t = toks(&[&[1, 0], &[2, 1], &[3, -1]]);
        let vh = unit(1.0, 0.1);
        for out in [
            initial_hemisphere(&toks(&[&[1, 0], &[-1, 0], &[0, 1]])),
            initial_hemisphere(&toks(&[&[3, 1, 0], &[1, 2, 1], &[2, -1, 1]])),
            initial_hemisphere(&[
                vec![Rational::from((1, 3)), Rational::from((2, 7))],
                vec![Rational::from((-1, 3)), Rational::from((1, 7))],
            ]),
            initial_eigen_hemisphere(&t, &vh, 1e-9),
            initial_eigen_hemisphere(&t, &[-1.0, 0.0], 0.01),
            initial_eigen_hemisphere(&toks(&[&[2, 1], &[1, 1], &[-3, 1], &[0, 1]]), &vh, 0.01),
            initial_eigen_hemisphere(&toks(&[&[2, 1], &[1, 10]]), &vh, 0.2),
            initial_no_antipode(&toks(&[&[1, 2, -1], &[0, 1, 0], &[-1, -2, 1], &[-3, -6, 3]])),
            initial_no_antipode(&toks(&[&[1, 2, -1], &[0, 1, 0]])),
            initial_no_antipode(&toks(&[&[1, 2], &[1]])),
        ] {
            println!("{} {}: {}\n    {}", out.id, out.verdict.as_str(), out.detail, out.witness);
        }
    }

    // ---- timing (run with --ignored --nocapture in release) ----

    fn timed(name: &str, t: &[Vec<Rational>]) {
        let start = std::time::Instant::now();
        let out = initial_hemisphere(t);
        eprintln!(
            "{name}: {:?} in {:.2?}: {}",
            out.verdict,
            start.elapsed(),
            out.detail.chars().take(200).collect::<String>()
        );
        assert_ne!(out.verdict, Verdict::Undecided);
    }

    #[test]
    #[ignore]
    fn timing_large() {
        let mut rng = ChaCha12Rng::seed_from_u64(7);
        let t: Vec<Vec<Rational>> = (0..1000).map(|_| gaussian_token(&mut rng, 50)).collect();
        timed("l=1000 d=50 gaussian", &t);
        let shift = Rational::from((3, 10));
        let t2: Vec<Vec<Rational>> = t
            .iter()
            .map(|y| {
                let mut y = y.clone();
                y[0] = y[0].clone().abs() + &shift;
                y
            })
            .collect();
        timed("l=1000 d=50 half-space", &t2);
        for (name, t) in [("gaussian", &t), ("half-space", &t2)] {
            let start = std::time::Instant::now();
            let s: Vec<Scaled> = t.iter().map(|y| Scaled::new(y)).collect();
            let (cols, _) = lp_columns(&s, 50);
            let end = Simplex::new(&cols).solve(100_000).unwrap();
            let feasible = matches!(end, LpEnd::Feasible(_));
            eprintln!("exact LP alone, l=1000 d=50 {name}: feasible = {feasible} in {:.2?}", start.elapsed());
        }
        let t3: Vec<Vec<Rational>> = (0..50).map(|_| gaussian_token(&mut rng, 500)).collect();
        timed("l=50 d=500 gaussian", &t3);
        let mut t4 = t3.clone();
        t4[7] = t4[3].iter().map(|x| -x.clone() * Rational::from(2)).collect();
        timed("l=50 d=500 with an antipode", &t4);
        let t5: Vec<Vec<Rational>> = (0..200).map(|_| gaussian_token(&mut rng, 10)).collect();
        timed("l=200 d=10 gaussian", &t5);
    }
}
