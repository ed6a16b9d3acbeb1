//! Hypotheses on the query/key matrices `P_η(t)`: bounded, uniformly continuous (Theorems 4.1,
//! 5.1, 6.1), and constant, symmetric, positive definite (Theorem 3.2).

use inari::Interval;
use serde_json::json;

use super::matrix::{self as facts, iv, q, show_iv, Entries, Fact};
use super::verdict::Verdict;
use crate::numeric::enclose::{self, all_times, norm2_upper, point, IMat};
use crate::numeric::{exact, interval, poly};
use crate::system::expr::Literal;
use crate::system::matrix::MatrixFn;

/// `sup_{t ≥ 0} ‖M(t)‖₂ ≤ b` with a certified `b`; fails only with a proof of unboundedness
/// (an entry that is a polynomial of positive degree: `|entry| ≤ ‖M‖₂`, and the polynomial is
/// unbounded on `[0, ∞)`).
pub fn bounded(m: &MatrixFn, d: usize) -> Fact {
    if let Some(ps) = poly::matrix(m, d) {
        for (i, row) in ps.iter().enumerate() {
            for (j, p) in row.iter().enumerate() {
                if let Some(k) = p.degree().filter(|&k| k > 0) {
                    return (
                        Verdict::Fails,
                        format!("entry [{i}][{j}] is a polynomial of degree {k} in t, unbounded on [0, ∞); ‖P(t)‖₂ ≥ |entry|"),
                        json!({ "entry": [i, j], "coefficients": p.0.iter().map(q).collect::<Vec<_>>() }),
                    );
                }
            }
        }
    }
    let enc = enclose::matrix(m, all_times(), d);
    if !enc.defined {
        return (Verdict::Undecided, format!("P(t): {}", facts::UNDEFINED), json!({}));
    }
    let a = enc.m;
    for (i, row) in a.iter().enumerate() {
        for (j, x) in row.iter().enumerate() {
            if !x.is_common_interval() {
                return (
                    Verdict::Undecided,
                    format!("entry [{i}][{j}] has no finite enclosure over t ∈ [0, ∞) (found {})", show_iv(*x)),
                    json!({ "entry": [i, j] }),
                );
            }
        }
    }
    let b = norm2_upper(&a);
    (Verdict::Holds, format!("‖P(t)‖₂ ≤ {} for all t ≥ 0", facts::show_upper(b)), json!({ "bound": b }))
}

/// An enclosure of `M` and of `dM/dt` over `tt`, and whether `M` is regular (continuous) there.
/// Products use the product rule on the structure: `d/dt (D(t)·M(t)) = D'·M + D·M'`, so a
/// diagonal schedule times a constant matrix costs `d` derivatives, not `d²`. `None` for layer
/// schedules (they are analysed for jumps instead).
fn with_derivative(m: &MatrixFn, tt: Interval, d: usize) -> Option<(IMat, IMat, bool)> {
    let zero = || vec![vec![point(0.0); d]; d];
    Some(match m {
        MatrixFn::Identity | MatrixFn::Zero | MatrixFn::Const(_) | MatrixFn::Random(_) | MatrixFn::Product(_) => (enclose::matrix(m, tt, d).m, zero(), true),
        MatrixFn::Entrywise(rows) => {
            let mut regular = true;
            let mut val = zero();
            let mut der = zero();
            for (i, row) in rows.iter().enumerate() {
                for (j, e) in row.iter().enumerate() {
                    let v = enclose::expr(e.root(), tt);
                    regular &= v.regular;
                    val[i][j] = v.value;
                    der[i][j] = enclose::expr(e.derivative().root(), tt).value;
                }
            }
            (val, der, regular)
        }
        MatrixFn::DiagTimes { diag, times } => {
            let (mv, md, mut regular) = with_derivative(times, tt, d)?;
            let mut val = zero();
            let mut der = zero();
            for (i, e) in diag.iter().enumerate() {
                let dv = enclose::expr(e.root(), tt);
                let dd = enclose::expr(e.derivative().root(), tt).value;
                regular &= dv.regular;
                for j in 0..d {
                    val[i][j] = dv.value * mv[i][j];
                    der[i][j] = dd * mv[i][j] + dv.value * md[i][j];
                }
            }
            (val, der, regular)
        }
        MatrixFn::ScalarTimes { scalar, times } => {
            let (mv, md, regular) = with_derivative(times, tt, d)?;
            let sv = enclose::expr(scalar.root(), tt);
            let sd = enclose::expr(scalar.derivative().root(), tt).value;
            let val = mv.iter().map(|r| r.iter().map(|&x| sv.value * x).collect()).collect();
            let der = mv.iter().zip(&md).map(|(r, rd)| r.iter().zip(rd).map(|(&x, &xd)| sd * x + sv.value * xd).collect()).collect();
            (val, der, regular && sv.regular)
        }
        MatrixFn::Layers { .. } => return None,
    })
}

/// Uniform continuity on `[0, ∞)`.
///
/// Holds with a Lipschitz constant `L`: if every entry is continuous on a range (regular
/// enclosure: only continuous operations, denominators away from 0) and its symbolic derivative
/// is bounded there by `L_ij` (where `abs(u)` has derivative `sign(u)·u'`, enclosed as
/// `[−1, 1]·u'`), the entry is absolutely continuous with `|f'| ≤ L_ij` a.e., hence
/// `L_ij`-Lipschitz, and `‖M(s) − M(t)‖₂ ≤ ‖(L_ij)‖₂ |s − t|`.
/// Where the derivative is unbounded near 0: continuity on the compact `[0, t₀]` (so uniform
/// continuity there, Heine–Cantor) plus Lipschitz on `[t₀, ∞)` proves it on the union, since two
/// uniformly continuous pieces sharing the point `t₀` make a uniformly continuous whole.
/// Fails with a jump of a layer schedule. Otherwise undecided (`sin(t²)` stays undecided).
pub fn uniformly_continuous(m: &MatrixFn, d: usize) -> Fact {
    if !facts::defined_everywhere(m, d) {
        return (Verdict::Undecided, facts::UNDEFINED.into(), json!({}));
    }
    if m.is_constant() {
        return (Verdict::Holds, "constant: Lipschitz with L = 0".into(), json!({ "lipschitz": 0.0 }));
    }
    if let MatrixFn::Layers { layers, layer_time, periodic } = m {
        return layer_schedule(layers, layer_time, *periodic, d);
    }
    if with_derivative(m, all_times(), d).is_none() {
        return (Verdict::Undecided, "a layer schedule nested inside a product is not analysed".into(), json!({}));
    }
    for t0 in [0.0, 1.0, 10.0, 100.0] {
        let tail = Interval::try_from((t0, f64::INFINITY)).unwrap_or(Interval::ENTIRE);
        let Some(lip) = lipschitz_on(m, tail, d) else { continue };
        if t0 == 0.0 {
            return (Verdict::Holds, format!("Lipschitz on [0, ∞) with L ≤ {}", facts::show_upper(lip)), json!({ "lipschitz": lip }));
        }
        if continuous_on(m, 0.0, t0, d) {
            return (
                Verdict::Holds,
                format!("continuous on [0, {t0}] (compact) and Lipschitz on [{t0}, ∞) with L ≤ {}", facts::show_upper(lip)),
                json!({ "lipschitz": lip, "from": t0 }),
            );
        }
    }
    (Verdict::Undecided, "no bound on dP/dt over a tail [t₀, ∞) was found".into(), json!({}))
}

/// `‖dM/dt‖₂` bound over `tt`, if every entry is regular and its derivative bounded there.
fn lipschitz_on(m: &MatrixFn, tt: Interval, d: usize) -> Option<f64> {
    let (_, der, regular) = with_derivative(m, tt, d)?;
    (regular && der.iter().flatten().all(|x| x.is_common_interval())).then(|| norm2_upper(&der))
}

/// Every entry is regular on `[a, b]`, proved on up to 64 sub-boxes (intervals overestimate on
/// wide boxes; splitting tightens them).
fn continuous_on(m: &MatrixFn, a: f64, b: f64, d: usize) -> bool {
    const PIECES: usize = 64;
    (0..PIECES).all(|k| {
        let lo = a + (b - a) * k as f64 / PIECES as f64;
        let hi = if k + 1 == PIECES { b } else { a + (b - a) * (k + 1) as f64 / PIECES as f64 };
        let Ok(tt) = Interval::try_from((lo, hi)) else { return false };
        with_derivative(m, tt, d).is_some_and(|(_, _, regular)| regular)
    })
}

/// A schedule is uniformly continuous only if it never jumps. A jump at a boundary `k·τ` is proved
/// when the left layer is regular (continuous) on `[k·τ − δ, k·τ]`, so its *left limit* is its
/// value at `k·τ`, the right layer is defined at `k·τ` (its value there is `P(k·τ)`), and the two
/// enclosures at `k·τ` are disjoint: then `P` is discontinuous at `k·τ`.
fn layer_schedule(layers: &[MatrixFn], tau: &Literal, periodic: bool, d: usize) -> Fact {
    let n = layers.len();
    let boundaries: Vec<usize> = if periodic { (1..=n).collect() } else { (1..n).collect() };
    let tau_iv = enclose::literal(tau);
    let mut undecided = false;
    for k in boundaries {
        let (left, right) = (&layers[k - 1], &layers[k % n]);
        if n == 1 {
            break;
        }
        let tb = tau_iv * point(k as f64);
        if let (Some(a), Some(b)) = (poly::constant_matrix(left, d), poly::constant_matrix(right, d)) {
            if let Some((i, j, jump)) = max_difference(&a, &b) {
                return (
                    Verdict::Fails,
                    format!("jump at t = {k}·τ from layer {} to layer {}: entry [{i}][{j}] changes by {} ≠ 0 (decided exactly)", k - 1, k % n, short(&jump)),
                    json!({ "boundary": k, "layers": [k - 1, k % n], "entry": [i, j], "jump": q(&jump) }),
                );
            }
            continue;
        }
        let before = Interval::try_from((tb.inf() - tau_iv.inf() / 1024.0, tb.sup())).unwrap_or(Interval::ENTIRE);
        let (lim, here) = (enclose::matrix(left, before, d), enclose::matrix(right, tb, d));
        if !(lim.regular && here.defined) {
            undecided = true;
            continue;
        }
        let (a, b) = (enclose::matrix(left, tb, d).m, here.m);
        match (0..d).flat_map(|i| (0..d).map(move |j| (i, j))).find(|&(i, j)| a[i][j].disjoint(b[i][j])) {
            Some((i, j)) => {
                return (
                    Verdict::Fails,
                    format!("jump at t = {k}·τ: entry [{i}][{j}] ∈ {} on the left, ∈ {} on the right", show_iv(a[i][j]), show_iv(b[i][j])),
                    json!({ "boundary": k, "entry": [i, j], "left": iv(a[i][j]), "right": iv(b[i][j]) }),
                )
            }
            None => undecided = true,
        }
    }
    if undecided {
        (Verdict::Undecided, "layers meet at their boundaries within the enclosures; continuity is not proved".into(), json!({}))
    } else {
        // All consecutive layers are exactly equal: the schedule is one constant or one layer
        // repeated; its continuity is that of the layer.
        let one = &layers[0];
        if one.is_constant() {
            (Verdict::Holds, "every layer is the same constant matrix".into(), json!({ "lipschitz": 0.0 }))
        } else {
            (Verdict::Undecided, "time-varying layers are not analysed for continuity".into(), json!({}))
        }
    }
}

/// The entry where two exact matrices differ most, with the size of the difference.
fn max_difference(a: &[Vec<rug::Rational>], b: &[Vec<rug::Rational>]) -> Option<(usize, usize, rug::Rational)> {
    let mut best: Option<(usize, usize, rug::Rational)> = None;
    for (i, (ra, rb)) in a.iter().zip(b).enumerate() {
        for (j, (x, y)) in ra.iter().zip(rb).enumerate() {
            let diff = rug::Rational::from(x - y).abs();
            if diff != 0 && best.as_ref().is_none_or(|(_, _, m)| diff > *m) {
                best = Some((i, j, diff));
            }
        }
    }
    best
}

/// `P` positive definite (Theorem 3.2): `xᵀPx > 0` for all `x ≠ 0`, which is positive
/// definiteness of the symmetric part `(P + Pᵀ)/2` (for symmetric `P`, of `P` itself). Decided on
/// that part: exact LDLᵀ pivots for rational entries of size `d ≤ 40`, else an interval LDLᵀ of
/// the box of symmetric parts over all `t` whose pivots all exclude 0 with the right sign.
pub fn positive_definite(m: &MatrixFn, d: usize) -> Fact {
    // rank P ≤ k < d: some x ≠ 0 has P·x = 0, so xᵀPx = 0 and P is not positive definite.
    if let Some(k) = facts::rank_at_most(m).filter(|&k| k < d) {
        return (
            Verdict::Fails,
            format!("P = A·B with inner dimension {k} < d = {d}: rank P ≤ {k}, so xᵀPx = 0 for some x ≠ 0 in its kernel (exact, by rank)"),
            json!({ "rank_at_most": k, "dim": d }),
        );
    }
    let Some(entries) = facts::entries(m, d) else { return (Verdict::Undecided, facts::UNDEFINED.into(), json!({})) };
    let half = |a: &rug::Rational, b: &rug::Rational| rug::Rational::from(a + b) / 2;
    let entries = match entries {
        Entries::Exact(e) => Entries::Exact((0..d).map(|i| (0..d).map(|j| half(&e[i][j], &e[j][i])).collect()).collect()),
        Entries::Enclosed(a) => Entries::Enclosed((0..d).map(|i| (0..d).map(|j| (a[i][j] + a[j][i]) / point(2.0)).collect()).collect()),
    };
    match entries {
        Entries::Exact(e) if exact::ldlt_skipped(&e).is_none() => match exact::positive_definite(&e) {
            exact::Definiteness::PositiveDefinite { pivots } => {
                let min = pivots.iter().min().cloned().unwrap_or_default();
                (
                    Verdict::Holds,
                    format!("exact LDLᵀ: all {d} pivots positive (smallest {})", short(&min)),
                    json!({ "pivots": pivots.iter().map(q).collect::<Vec<_>>() }),
                )
            }
            exact::Definiteness::NotPositiveDefinite { index, pivot } => (
                Verdict::Fails,
                format!("exact LDLᵀ: pivot {index} = {} ≤ 0, so the leading {}×{} minor is not positive", short(&pivot), index + 1, index + 1),
                json!({ "index": index, "pivot": q(&pivot) }),
            ),
        },
        Entries::Exact(e) => {
            let (verdict, detail, witness) = interval_pd(&facts::enclose_exact(&e));
            let why = exact::ldlt_skipped(&e).unwrap_or_default();
            (verdict, format!("{detail} (exact LDLᵀ skipped: {why})"), witness)
        }
        Entries::Enclosed(a) => interval_pd(&a),
    }
}

fn interval_pd(a: &enclose::IMat) -> Fact {
    match interval::positive_definite(a) {
        interval::PdResult::Holds { min_pivot_lower } => (
            Verdict::Holds,
            format!("interval LDLᵀ: every pivot ≥ {} > 0", facts::show_lower(min_pivot_lower)),
            json!({ "min_pivot_lower": min_pivot_lower }),
        ),
        interval::PdResult::Fails { index, pivot_upper } => (
            Verdict::Fails,
            format!("interval LDLᵀ of the entries' enclosures: pivot {index} ≤ {} ≤ 0", facts::show_upper(pivot_upper)),
            json!({ "index": index, "pivot_upper": pivot_upper }),
        ),
        interval::PdResult::Undecided { reason } => (Verdict::Undecided, reason, json!({})),
    }
}

pub fn short(r: &rug::Rational) -> String {
    if *r.denom() == 1 || r.to_string().len() <= 16 {
        q(r)
    } else {
        let f = r.to_f64();
        if f != 0.0 && f.is_finite() {
            format!("≈ {f:.6e}")
        } else {
            // Beyond the double range (`-2e-1100` would print as `≈ 0.000000e0`, a negative pivot
            // shown as zero): MPFR's exponent range holds every literal's value.
            format!("≈ {}", rug::Float::with_val(53, r).to_string_radix(10, Some(7)))
        }
    }
}

#[cfg(test)]
mod short_tests {
    use super::short;

    /// Found by red-team 3: tiny pivots were shown as `≈ 0.000000e0` whatever their sign.
    #[test]
    fn tiny_values_keep_sign_and_exponent() {
        let r = crate::numeric::exact::rational("-2e-1100").unwrap();
        assert_eq!(short(&r), "≈ -2.000000e-1100");
        let r = crate::numeric::exact::rational("1.5e-400").unwrap();
        assert_eq!(short(&r), "≈ 1.500000e-400");
        assert_eq!(short(&crate::numeric::exact::rational("0.1234567890123456789").unwrap()), "≈ 1.234568e-1");
    }
}
