//! Three-valued facts about one time-varying matrix, shared by the `P` and `U` hypotheses:
//! is it constant, symmetric, the identity. Exact (rational polynomials) where the entries allow,
//! else intervals: a difference is proved by disjoint enclosures at some time, an identity only
//! by exact arithmetic or identical expression trees.

#![allow(clippy::needless_range_loop)] // index loops read like the matrix algebra

use inari::Interval;
use rug::Rational;
use serde_json::{json, Value};

use super::verdict::Verdict;
pub use crate::numeric::show::{show_iv, show_lower, show_upper};
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

/// The enclosure of `M(t)` at one time, if `M` is proved defined there (an undefined entry
/// must never serve as a counter-witness).
fn at(m: &MatrixFn, t: f64, d: usize) -> Option<IMat> {
    let e = enclose::matrix(m, point(t), d);
    e.defined.then_some(e.m)
}

/// The first probe time at which two entries (as functions of the matrix) have disjoint enclosures.
fn probe_difference(m: &MatrixFn, d: usize, pair: impl Fn(&IMat) -> Option<(String, Interval, Interval)>) -> Option<(f64, String, Interval, Interval)> {
    PROBES.iter().find_map(|&t| pair(&at(m, t, d)?).map(|(what, a, b)| (t, what, a, b)))
}

/// `M(t)` has a value for every `t ≥ 0` (checked before any claim that needs no other
/// evaluation, such as "no entry depends on t": `1/0` depends on nothing and is no matrix).
pub fn defined_everywhere(m: &MatrixFn, d: usize) -> bool {
    enclose::matrix(m, enclose::all_times(), d).defined
}

/// `M(t)` does not depend on `t`.
pub fn constant(m: &MatrixFn, d: usize) -> Fact {
    if !defined_everywhere(m, d) {
        return (Verdict::Undecided, UNDEFINED.into(), json!({}));
    }
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
    let Some(base) = at(m, 0.0, d) else {
        return (Verdict::Undecided, "M(0) is not proved defined; no change was probed".into(), json!({}));
    };
    for &t in &PROBES[1..] {
        let Some(mt) = at(m, t, d) else { continue };
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
    if !defined_everywhere(m, d) {
        return (Verdict::Undecided, UNDEFINED.into(), json!({}));
    }
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
    if let Some(f) = structurally_symmetric(m, d) {
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

/// Symmetry proved from how the matrix is written, for every `t`: the composite forms whose
/// exact polynomial expansion is unavailable (`sin`, layers) but whose structure settles it.
fn structurally_symmetric(m: &MatrixFn, d: usize) -> Option<Fact> {
    if !symmetric_by_construction(m, d) {
        return None;
    }
    let (detail, reason) = match m {
        MatrixFn::Entrywise(_) => ("mirror entries are identical expressions", "identical-expressions"),
        _ => ("symmetric by construction: a scalar multiple, a diagonal scaling or a layer schedule of symmetric matrices", "by-construction"),
    };
    Some((Verdict::Holds, detail.into(), json!({ "reason": reason })))
}

/// Each case is an identity for every `t`:
/// - `I`, `0`, exact constants with equal mirror entries (rationals, compared exactly);
/// - entrywise expressions whose mirror entries are identical trees (or equal polynomials);
/// - `s(t)·M`: `(sM)ᵀ = s·Mᵀ = sM` when `M` is symmetric;
/// - `diag(d)·M`: `d_i M_ij = d_j M_ji` when all `d_i` are one expression and `M` is
///   symmetric, or when `M` is diagonal (then `diag(d)·M` is diagonal);
/// - layers: every layer symmetric makes the matrix symmetric at every `t`.
fn symmetric_by_construction(m: &MatrixFn, d: usize) -> bool {
    match m {
        MatrixFn::Identity | MatrixFn::Zero => true,
        MatrixFn::Const(_) | MatrixFn::Random(_) | MatrixFn::Product(_) => poly::constant_matrix(m, d).is_some_and(|e| (0..d).all(|i| (0..i).all(|j| e[i][j] == e[j][i]))),
        MatrixFn::Entrywise(rows) => (0..d).all(|i| {
            (0..i).all(|j| rows[i][j].root() == rows[j][i].root() || matches!((poly::of(rows[i][j].root()), poly::of(rows[j][i].root())), (Some(a), Some(b)) if a == b))
        }),
        MatrixFn::ScalarTimes { times, .. } => symmetric_by_construction(times, d),
        MatrixFn::DiagTimes { diag, times } => {
            let one_scalar = diag.iter().all(|e| e.root() == diag[0].root());
            (one_scalar && symmetric_by_construction(times, d)) || diagonal_by_construction(times, d)
        }
        MatrixFn::Layers { layers, .. } => layers.iter().all(|l| symmetric_by_construction(l, d)),
    }
}

/// `M(t)` is diagonal for every `t`: `I`, `0`, or exact constants with zero off-diagonal entries.
fn diagonal_by_construction(m: &MatrixFn, d: usize) -> bool {
    match m {
        MatrixFn::Identity | MatrixFn::Zero => true,
        _ => poly::constant_matrix(m, d).is_some_and(|e| (0..d).all(|i| (0..d).all(|j| i == j || e[i][j] == 0))),
    }
}

/// The two matrices are written identically (same forms, same literal texts, same expression
/// trees, same random draws), hence equal for every `t`. `false` says nothing.
pub fn same_structure(a: &MatrixFn, b: &MatrixFn) -> bool {
    use MatrixFn as M;
    match (a, b) {
        (M::Identity, M::Identity) | (M::Zero, M::Zero) => true,
        (M::Const(x), M::Const(y)) => x == y,
        (M::Random(x), M::Random(y)) => x.values == y.values,
        (M::Product(x), M::Product(y)) => x.same(y),
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
    if !defined_everywhere(m, d) {
        return (Verdict::Undecided, UNDEFINED.into(), json!({}));
    }
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

/// An upper bound on `rank M(t)` for every `t`, from how the matrix is written: `rank(A·B) ≤ k`
/// for a product of a `d×k` and a `k×d` factor, and a scalar or diagonal factor in front never
/// raises the rank (`rank(D·M) ≤ rank M`). `None` when the form gives no such bound.
pub fn rank_at_most(m: &MatrixFn) -> Option<usize> {
    // (`zero` is left to the exact checks, whose messages say "0" rather than "a product".)
    match m {
        MatrixFn::Product(p) => Some(p.inner()),
        // A rank bound is a claim about M(t) for every t: it needs the scalar and diagonal
        // factors proved defined everywhere (an undefined matrix is never a counter-witness).
        MatrixFn::ScalarTimes { scalar, times } => expr_defined_everywhere(scalar).then(|| rank_at_most(times)).flatten(),
        MatrixFn::DiagTimes { diag, times } => diag.iter().all(expr_defined_everywhere).then(|| rank_at_most(times)).flatten(),
        _ => None,
    }
}

fn expr_defined_everywhere(e: &crate::system::expr::Expr) -> bool {
    crate::numeric::enclose::expr(e.root(), crate::numeric::enclose::all_times()).defined
}

/// The exact entries of a constant rational matrix, else an interval box holding `M(t)` for
/// every `t ≥ 0` (a claim about every member of the box is a claim for every `t`).
pub enum Entries {
    Exact(Vec<Vec<Rational>>),
    Enclosed(IMat),
}

/// `None` when `M(t)` is not proved defined for every `t ≥ 0`.
pub fn entries(m: &MatrixFn, d: usize) -> Option<Entries> {
    match poly::constant_matrix(m, d) {
        Some(e) => Some(Entries::Exact(e)),
        None => {
            let e = enclose::matrix(m, enclose::all_times(), d);
            e.defined.then_some(Entries::Enclosed(e.m))
        }
    }
}

/// The reason given when [`entries`] is `None`.
pub const UNDEFINED: &str = "the matrix is not proved defined for every t ≥ 0 (a denominator may vanish, or a square root see a negative argument)";

/// An interval matrix from exact entries (tightest enclosure of each).
pub fn enclose_exact(e: &[Vec<Rational>]) -> IMat {
    e.iter().map(|r| r.iter().map(crate::numeric::interval::enclose_rational).collect()).collect()
}
