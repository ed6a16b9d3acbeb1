//! Three-valued facts about one time-varying matrix, shared by the `P` and `U` hypotheses:
//! is it constant, symmetric, the identity. Exact (rational polynomials) where the entries allow,
//! else intervals: a difference is proved by disjoint enclosures at some time, an identity only
//! by exact arithmetic or identical expression trees.

#![allow(clippy::needless_range_loop)] // index loops read like the matrix algebra

use inari::Interval;
use rug::ops::Pow;
use rug::Rational;
use serde_json::{json, Value};

use super::verdict::Verdict;
use crate::numeric::enclose::{self, point, IMat};
use crate::numeric::poly;
use crate::system::matrix::MatrixFn;

/// A fact with its evidence: verdict, one readable line, JSON witness.
pub type Fact = (Verdict, String, Value);

/// Times at which a claimed identity between entries is probed for a counter-example. Each is a
/// double, so "at t = 0.05" is a statement about that exact time.
const PROBES: [f64; 10] = [0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 1.7, 3.0, 10.0, 123.4];

pub fn q(r: &Rational) -> String {
    if *r.denom() == 1 {
        r.numer().to_string()
    } else {
        r.to_string()
    }
}

pub fn iv(x: Interval) -> Value {
    json!([x.inf(), x.sup()])
}

/// An interval for people: `{x}` for a point, else `[lo, hi]` rounded *outward* (so the printed
/// interval still contains the enclosure, checked exactly with rationals), with at least 6
/// significant digits and more until the printed width is within 4× the true width.
pub fn show_iv(x: Interval) -> String {
    if x.inf() == x.sup() {
        return format!("{{{}}}", x.inf() + 0.0); // + 0.0 turns −0 into 0
    }
    if !x.is_common_interval() {
        return format!("[{}, {}]", x.inf(), x.sup());
    }
    let width = x.sup() - x.inf();
    let mut digits = 6;
    loop {
        let (lo, hi) = (outward(x.inf(), digits, false), outward(x.sup(), digits, true));
        let printed = hi.parse::<f64>().unwrap_or(f64::INFINITY) - lo.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
        if printed <= 4.0 * width || digits >= 17 {
            return format!("[{lo}, {hi}]");
        }
        digits += 1;
    }
}

/// `x` to `digits` significant digits, rounded down (`up = false`) or up: the printed decimal is
/// on the outer side of `x` exactly (compared as rationals).
fn outward(x: f64, digits: usize, up: bool) -> String {
    use crate::numeric::exact;
    if x == 0.0 {
        return "0".into();
    }
    let exp10 = x.abs().log10().floor() as i32;
    let scientific = !(-4..7).contains(&exp10);
    let decimals = (digits as i32 - 1 - exp10).max(0) as usize;
    let show = |v: f64| -> String {
        if scientific {
            let p = digits - 1;
            format!("{v:.p$e}")
        } else {
            format!("{v:.decimals$}")
        }
    };
    let exact_x = exact::from_f64(x);
    let outside = |text: &str| exact::rational(text).is_some_and(|q| if up { q >= exact_x } else { q <= exact_x });
    let nearest = show(x);
    if outside(&nearest) {
        return trim(&nearest);
    }
    // Move one unit of the last printed place outwards: 10^(exp10 − digits + 1), or 10^−decimals.
    let place = if scientific { exp10 - digits as i32 + 1 } else { -(decimals as i32) };
    let ten = rug::Integer::from(10);
    let unit = if place >= 0 { Rational::from(ten.pow(place as u32)) } else { Rational::from((1, ten.pow((-place) as u32))) };
    let printed = exact::rational(&nearest).unwrap_or_default();
    let moved = show(if up { printed + unit } else { printed - unit }.to_f64());
    if outside(&moved) {
        trim(&moved)
    } else {
        format!("{x:e}") // the exact shortest form of the double itself
    }
}

/// A proved upper bound for people: at least 6 significant digits, rounded up.
pub fn show_upper(x: f64) -> String {
    if x.is_finite() { outward(x, 6, true) } else { format!("{x}") }
}

/// A proved lower bound for people: at least 6 significant digits, rounded down.
pub fn show_lower(x: f64) -> String {
    if x.is_finite() { outward(x, 6, false) } else { format!("{x}") }
}

/// Drops trailing zeros of the mantissa (`1.500` → `1.5`, `2.000e-3` → `2e-3`).
fn trim(s: &str) -> String {
    let (mant, exp) = s.split_once('e').map_or((s, None), |(m, e)| (m, Some(e)));
    let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
    match exp {
        Some(e) => format!("{mant}e{e}"),
        None => mant.to_string(),
    }
}


fn at(m: &MatrixFn, t: f64, d: usize) -> IMat {
    enclose::matrix(m, point(t), d).0
}

/// The first probe time at which two entries (as functions of the matrix) have disjoint enclosures.
fn probe_difference(m: &MatrixFn, d: usize, pair: impl Fn(&IMat) -> Option<(String, Interval, Interval)>) -> Option<(f64, String, Interval, Interval)> {
    PROBES.iter().find_map(|&t| pair(&at(m, t, d)).map(|(what, a, b)| (t, what, a, b)))
}

/// `M(t)` does not depend on `t`.
pub fn constant(m: &MatrixFn, d: usize) -> Fact {
    if m.is_constant() {
        return (Verdict::Holds, "no entry depends on t".into(), json!({ "reason": "no-t" }));
    }
    if let Some(ps) = poly::matrix(m, d) {
        for (i, row) in ps.iter().enumerate() {
            for (j, p) in row.iter().enumerate() {
                if p.degree().unwrap_or(0) > 0 {
                    return (
                        Verdict::Fails,
                        format!("entry [{i}][{j}] is a polynomial of degree {} in t", p.degree().unwrap_or(0)),
                        json!({ "entry": [i, j], "coefficients": p.0.iter().map(q).collect::<Vec<_>>() }),
                    );
                }
            }
        }
        return (Verdict::Holds, "every entry is an exact rational constant".into(), json!({ "reason": "exact" }));
    }
    let base = at(m, 0.0, d);
    for &t in &PROBES[1..] {
        let mt = at(m, t, d);
        for i in 0..d {
            for j in 0..d {
                if base[i][j].disjoint(mt[i][j]) {
                    return (
                        Verdict::Fails,
                        format!("entry [{i}][{j}] ∈ {} at t = 0 but ∈ {} at t = {t}", show_iv(base[i][j]), show_iv(mt[i][j])),
                        json!({ "entry": [i, j], "t0": 0.0, "t1": t, "at_t0": iv(base[i][j]), "at_t1": iv(mt[i][j]) }),
                    );
                }
            }
        }
    }
    (Verdict::Undecided, "depends on t syntactically, but no change was proved at the probe times".into(), json!({}))
}

/// `M(t) = M(t)ᵀ` for every `t ≥ 0`.
pub fn symmetric(m: &MatrixFn, d: usize) -> Fact {
    if let Some(ps) = poly::matrix(m, d) {
        for i in 0..d {
            for j in 0..i {
                if ps[i][j] != ps[j][i] {
                    let coefficients = |p: &poly::Poly| p.0.iter().map(q).collect::<Vec<_>>();
                    let detail = match (ps[i][j].as_constant(), ps[j][i].as_constant()) {
                        (Some(a), Some(b)) => format!("entry [{i}][{j}] = {} ≠ entry [{j}][{i}] = {} (exact)", q(&a), q(&b)),
                        _ => format!("entries [{i}][{j}] and [{j}][{i}] are different polynomials in t"),
                    };
                    let w = json!({ "entry": [i, j], "coefficients": coefficients(&ps[i][j]), "transpose_coefficients": coefficients(&ps[j][i]) });
                    return (Verdict::Fails, detail, w);
                }
            }
        }
        return (Verdict::Holds, "M = Mᵀ exactly (decimal inputs)".into(), json!({ "reason": "exact" }));
    }
    if let Some(f) = structurally_symmetric(m) {
        return f;
    }
    let diff = probe_difference(m, d, |a| {
        (0..d).flat_map(|i| (0..i).map(move |j| (i, j))).find(|&(i, j)| a[i][j].disjoint(a[j][i])).map(|(i, j)| (format!("[{i}][{j}]"), a[i][j], a[j][i]))
    });
    match diff {
        Some((t, what, a, b)) => (
            Verdict::Fails,
            format!("at t = {t}: entry {what} ∈ {} but its transpose ∈ {}", show_iv(a), show_iv(b)),
            json!({ "t": t, "entry": what, "value": iv(a), "transpose": iv(b) }),
        ),
        None => (Verdict::Undecided, "symmetry could be neither proved exactly nor refuted at the probe times".into(), json!({})),
    }
}

/// Entrywise expressions whose mirror entries are identical trees are symmetric for every `t`.
fn structurally_symmetric(m: &MatrixFn) -> Option<Fact> {
    let MatrixFn::Entrywise(rows) = m else { return None };
    let d = rows.len();
    let same = (0..d).all(|i| (0..i).all(|j| rows[i][j].root() == rows[j][i].root()));
    same.then(|| (Verdict::Holds, "mirror entries are identical expressions".into(), json!({ "reason": "identical-expressions" })))
}

/// The two matrices are written identically (same forms, same literal texts, same expression
/// trees, same random draws), hence equal for every `t`. `false` says nothing.
pub fn same_structure(a: &MatrixFn, b: &MatrixFn) -> bool {
    use MatrixFn as M;
    match (a, b) {
        (M::Identity, M::Identity) | (M::Zero, M::Zero) => true,
        (M::Const(x), M::Const(y)) => x == y,
        (M::Random(x), M::Random(y)) => x.values == y.values,
        (M::Entrywise(x), M::Entrywise(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(r, q)| r.len() == q.len() && r.iter().zip(q).all(|(e, f)| e.root() == f.root()))
        }
        (M::DiagTimes { diag: d1, times: t1 }, M::DiagTimes { diag: d2, times: t2 }) => {
            d1.len() == d2.len() && d1.iter().zip(d2).all(|(e, f)| e.root() == f.root()) && same_structure(t1, t2)
        }
        (M::ScalarTimes { scalar: s1, times: t1 }, M::ScalarTimes { scalar: s2, times: t2 }) => {
            s1.root() == s2.root() && same_structure(t1, t2)
        }
        (M::Layers { layers: l1, layer_time: a1, periodic: p1 }, M::Layers { layers: l2, layer_time: a2, periodic: p2 }) => {
            a1 == a2 && p1 == p2 && l1.len() == l2.len() && l1.iter().zip(l2).all(|(x, y)| same_structure(x, y))
        }
        _ => false,
    }
}

/// `M(t) = I` for every `t ≥ 0`.
pub fn identity(m: &MatrixFn, d: usize) -> Fact {
    if m.is_identity() {
        return (Verdict::Holds, "given as \"identity\"".into(), json!({ "reason": "identity" }));
    }
    if let Some(ps) = poly::matrix(m, d) {
        for (i, row) in ps.iter().enumerate() {
            for (j, p) in row.iter().enumerate() {
                let want = poly::Poly::constant(Rational::from(u32::from(i == j)));
                if *p != want {
                    let shown = p.as_constant().map_or_else(|| "a non-constant polynomial".into(), |c| q(&c));
                    return (
                        Verdict::Fails,
                        format!("entry [{i}][{j}] = {shown}, not {}", u32::from(i == j)),
                        json!({ "entry": [i, j], "coefficients": p.0.iter().map(q).collect::<Vec<_>>() }),
                    );
                }
            }
        }
        return (Verdict::Holds, "equals I exactly".into(), json!({ "reason": "exact" }));
    }
    let diff = probe_difference(m, d, |a| {
        (0..d).flat_map(|i| (0..d).map(move |j| (i, j))).find_map(|(i, j)| {
            let e = point(if i == j { 1.0 } else { 0.0 });
            a[i][j].disjoint(e).then(|| (format!("[{i}][{j}]"), a[i][j], e))
        })
    });
    match diff {
        Some((t, what, a, e)) => (
            Verdict::Fails,
            format!("at t = {t}: entry {what} ∈ {}, not {}", show_iv(a), e.inf()),
            json!({ "t": t, "entry": what, "value": iv(a) }),
        ),
        None => (Verdict::Undecided, "could be neither proved equal to I exactly nor refuted at the probe times".into(), json!({})),
    }
}

/// The exact entries of a constant rational matrix, else an interval enclosure valid for all `t`
/// (callers use this only after `constant` holds, so either describes the one matrix).
pub enum Entries {
    Exact(Vec<Vec<Rational>>),
    Enclosed(IMat),
}

pub fn entries(m: &MatrixFn, d: usize) -> Entries {
    match poly::constant_matrix(m, d) {
        Some(e) => Entries::Exact(e),
        None => Entries::Enclosed(enclose::matrix(m, enclose::all_times(), d).0),
    }
}

/// An interval matrix from exact entries (tightest enclosure of each).
pub fn enclose_exact(e: &[Vec<Rational>]) -> IMat {
    e.iter().map(|r| r.iter().map(crate::numeric::interval::enclose_rational).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::exact;

    #[test]
    fn printed_bounds_are_outward() {
        for x in [1.1832004912, 0.43887543, -0.0214822, 1.1581391578120618e-15, 123456789.5, -7.5e-9, 2.0 / 3.0] {
            let (lo, hi) = (show_lower(x), show_upper(x));
            assert!(exact::rational(&lo).unwrap() <= exact::from_f64(x), "{x}: lower {lo}");
            assert!(exact::rational(&hi).unwrap() >= exact::from_f64(x), "{x}: upper {hi}");
        }
        assert_eq!(show_upper(1.1581391578120618e-15), "1.15814e-15");
        assert_eq!(show_iv(Interval::try_from((0.43887541, 0.43887549)).unwrap()), "[0.4388754, 0.4388755]");
        assert_eq!(show_iv(Interval::try_from((1.0, 3.0)).unwrap()), "[1, 3]");
    }
}
