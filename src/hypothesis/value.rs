//! Hypotheses on the value matrices `U_η`: invertible, the same in every head, and the spectral
//! hypotheses of Theorem 6.1 (a simple, positive top eigenvalue, and tokens on one side of its
//! eigenvector).

#![allow(clippy::needless_range_loop)] // index loops read like the matrix algebra

use inari::Interval;
use rug::Rational;
use serde_json::json;

use super::matrix::{self as facts, iv, q, show_iv, Entries, Fact};
use super::verdict::{Outcome, Verdict};
use crate::numeric::enclose::IMat;
use crate::numeric::{interval, poly};
use crate::system::matrix::MatrixFn;
use crate::system::System;

/// Exact arithmetic on characteristic polynomials stays cheap up to this size.
const EXACT_EIGEN_MAX_DIM: usize = 12;
/// Exact elimination (rational entries grow) stays cheap up to this size; above, intervals.
const EXACT_DET_MAX_DIM: usize = 40;

/// The certified spectral facts about head 1's `U`, shared by three hypotheses.
#[derive(Debug, Clone)]
pub enum TopEigen {
    /// `U` is not constant or not symmetric, or that could not be decided: the spectral
    /// hypotheses are not examined.
    Precondition { verdict: Verdict, reason: String },
    /// `λ1 ∈ lambda1` is simple, `λ2 ≤ lambda2_upper`; `vector` is a float unit eigenvector with
    /// a certified bound on its distance to the true one (up to sign), when one was found.
    Simple { lambda1: Interval, lambda2_upper: f64, method: &'static str, vector: Option<(Vec<f64>, f64)> },
    /// The top eigenvalue is proved multiple (`lambda1` encloses it when known).
    Multiple { reason: String, lambda1: Option<Interval> },
    Undecided { reason: String },
}

impl TopEigen {
    /// A unit eigenvector estimate and the certified bound on its error.
    pub fn direction(&self) -> Option<(Vec<f64>, f64)> {
        match self {
            TopEigen::Simple { vector, .. } => vector.clone(),
            _ => None,
        }
    }
}

pub fn top_eigen(u: &MatrixFn, d: usize) -> TopEigen {
    let (cv, creason, _) = facts::constant(u, d);
    if cv != Verdict::Holds {
        return TopEigen::Precondition { verdict: cv, reason: format!("U is not known to be constant ({creason})") };
    }
    let (sv, sreason, _) = facts::symmetric(u, d);
    if sv != Verdict::Holds {
        return TopEigen::Precondition { verdict: sv, reason: format!("U is not known to be symmetric ({sreason})") };
    }
    if let Some(c) = scalar_multiple_of_identity(u, d) {
        if d >= 2 {
            let lambda1 = Some(crate::numeric::interval::enclose_rational(&c));
            return TopEigen::Multiple { reason: format!("U = {}·I exactly: λ1 = {} has multiplicity {d}", q(&c), q(&c)), lambda1 };
        }
    }
    let (boxed, exact) = match facts::entries(u, d) {
        Some(Entries::Exact(e)) => (facts::enclose_exact(&e), Some(e)),
        Some(Entries::Enclosed(a)) => (a, None),
        None => return TopEigen::Undecided { reason: format!("U: {}", facts::UNDEFINED) },
    };
    let mut result = from_interval(interval::top_eigenvalue_simple(&boxed), "interval inertia counts (Sylvester)");
    if let (TopEigen::Undecided { .. }, Some(e)) = (&result, &exact) {
        if d <= EXACT_EIGEN_MAX_DIM {
            result = from_interval(interval::top_eigenvalue_exact(e), "exact Sturm sequences");
        }
    }
    if let TopEigen::Simple { lambda1, lambda2_upper, method, .. } = result {
        let gap = (Interval::try_from((lambda2_upper, lambda2_upper)).unwrap_or(Interval::ENTIRE) - lambda1).mig();
        let vector = interval::top_eigenvector(&boxed, lambda1, gap);
        return TopEigen::Simple { lambda1, lambda2_upper, method, vector };
    }
    result
}

/// `c` when `U = c·I` exactly (its top eigenvalue is then `d`-fold, no spectral work needed).
fn scalar_multiple_of_identity(u: &MatrixFn, d: usize) -> Option<Rational> {
    if u.is_identity() {
        return Some(Rational::from(1));
    }
    let e = poly::constant_matrix(u, d)?;
    let c = e[0][0].clone();
    let ok = e.iter().enumerate().all(|(i, r)| r.iter().enumerate().all(|(j, x)| if i == j { *x == c } else { *x == 0 }));
    ok.then_some(c)
}

fn from_interval(r: interval::EigenResult, method: &'static str) -> TopEigen {
    match r {
        interval::EigenResult::Holds { lambda1, lambda2_upper, .. } => TopEigen::Simple { lambda1, lambda2_upper, method, vector: None },
        interval::EigenResult::Fails { reason, lambda1, .. } => TopEigen::Multiple { reason, lambda1: Some(lambda1) },
        interval::EigenResult::Undecided { reason } => TopEigen::Undecided { reason },
    }
}

pub fn simple_top(id: &str, e: &TopEigen) -> Outcome {
    match e {
        TopEigen::Precondition { reason, .. } => Outcome::undecided(id, reason.clone(), json!({})),
        TopEigen::Simple { lambda1, lambda2_upper, method, .. } => {
            // λ1 − λ2 ≥ inf(λ1) − λ2_upper, evaluated rounding down.
            let gap = (Interval::try_from((lambda1.inf(), lambda1.inf())).unwrap_or(Interval::ENTIRE)
                - Interval::try_from((*lambda2_upper, *lambda2_upper)).unwrap_or(Interval::ENTIRE))
            .inf();
            Outcome::holds(
                id,
                format!(
                    "λ1 ∈ {}, λ2 ≤ {}, gap ≥ {} ({method})",
                    show_iv(*lambda1),
                    facts::show_upper(*lambda2_upper),
                    facts::show_lower(gap)
                ),
                json!({ "lambda1": iv(*lambda1), "lambda2_upper": lambda2_upper, "method": method }),
            )
        }
        TopEigen::Multiple { reason, lambda1 } => Outcome::fails(id, reason.clone(), json!({ "lambda1": lambda1.map(iv) })),
        TopEigen::Undecided { reason } => Outcome::undecided(id, reason.clone(), json!({})),
    }
}

pub fn top_positive(id: &str, e: &TopEigen) -> Outcome {
    let lambda1 = match e {
        TopEigen::Simple { lambda1, .. } | TopEigen::Multiple { lambda1: Some(lambda1), .. } => *lambda1,
        TopEigen::Precondition { reason, .. } | TopEigen::Undecided { reason } => {
            return Outcome::undecided(id, reason.clone(), json!({}))
        }
        TopEigen::Multiple { lambda1: None, .. } => return Outcome::undecided(id, "no enclosure of λ1 is available", json!({})),
    };
    let w = json!({ "lambda1": iv(lambda1) });
    if lambda1.inf() > 0.0 {
        Outcome::holds(id, format!("λ1 ≥ {} > 0", facts::show_lower(lambda1.inf())), w)
    } else if lambda1.sup() <= 0.0 {
        Outcome::fails(id, format!("λ1 ≤ {} ≤ 0", facts::show_upper(lambda1.sup())), w)
    } else {
        Outcome::undecided(id, format!("λ1 ∈ {} contains 0", show_iv(lambda1)), w)
    }
}

/// Theorem 6.1's initial condition: all tokens strictly on one side of the top eigenvector.
pub fn eigen_hemisphere(id: &str, e: &TopEigen, tokens: &[Vec<Rational>]) -> Outcome {
    match e.direction() {
        Some((v, eps)) => {
            let mut o = super::hemisphere::initial_eigen_hemisphere(tokens, &v, eps);
            o.id = id.to_string();
            o
        }
        None => Outcome::undecided(id, "no certified top eigenvector of U is available", json!({})),
    }
}

/// `U` invertible: an exact nonzero determinant, or interval elimination whose pivots all
/// exclude 0 (then every matrix in the box has a nonzero determinant).
pub fn invertible(u: &MatrixFn, d: usize) -> Fact {
    // A product of inner dimension k < d has rank ≤ k < d for every t: singular, exactly.
    if let Some(k) = facts::rank_at_most(u).filter(|&k| k < d) {
        return (
            Verdict::Fails,
            format!("U = A·B with inner dimension {k} < d = {d}: rank U ≤ {k}, so det U = 0 (exact, by rank)"),
            json!({ "rank_at_most": k, "dim": d }),
        );
    }
    let Some(entries) = facts::entries(u, d) else { return (Verdict::Undecided, facts::UNDEFINED.into(), json!({})) };
    match entries {
        Entries::Exact(e) if d > EXACT_DET_MAX_DIM => interval_nonsingular(facts::enclose_exact(&e)),
        Entries::Exact(e) => {
            let det = exact_determinant(e);
            if det == 0 {
                (Verdict::Fails, "det U = 0 exactly".into(), json!({ "det": "0" }))
            } else {
                (Verdict::Holds, format!("det U = {} ≠ 0 (exact)", super::key_query::short(&det)), json!({ "det": q(&det) }))
            }
        }
        Entries::Enclosed(a) => interval_nonsingular(a),
    }
}

/// Gaussian elimination in exact rationals with row exchanges (sign tracked).
fn exact_determinant(mut m: Vec<Vec<Rational>>) -> Rational {
    let n = m.len();
    let mut det = Rational::from(1);
    for k in 0..n {
        let Some(p) = (k..n).find(|&i| m[i][k] != 0) else { return Rational::new() };
        if p != k {
            m.swap(p, k);
            det = -det;
        }
        det *= &m[k][k];
        for i in k + 1..n {
            if m[i][k] == 0 {
                continue;
            }
            let f = Rational::from(&m[i][k] / &m[k][k]);
            for j in k..n {
                let delta = Rational::from(&f * &m[k][j]);
                m[i][j] -= delta;
            }
        }
    }
    det
}

/// Interval Gaussian elimination with the pivot of largest magnitude-lower-bound in each
/// column: if every pivot interval excludes 0, every member matrix is nonsingular (its exact
/// elimination uses the same row order and each exact pivot lies in its interval).
fn interval_nonsingular(mut m: IMat) -> Fact {
    let n = m.len();
    let mut smallest = f64::INFINITY;
    for k in 0..n {
        let p = (k..n).max_by(|&a, &b| m[a][k].mig().total_cmp(&m[b][k].mig())).unwrap_or(k);
        m.swap(p, k);
        if m[k][k].contains(0.0) {
            return (Verdict::Undecided, format!("interval elimination: pivot {k} contains 0"), json!({ "pivot": k }));
        }
        smallest = smallest.min(m[k][k].mig());
        for i in k + 1..n {
            // An exact zero below the pivot needs no elimination (sparse inputs stay cheap).
            if m[i][k].inf() == 0.0 && m[i][k].sup() == 0.0 {
                continue;
            }
            let f = m[i][k] / m[k][k];
            for j in k..n {
                let delta = f * m[k][j];
                m[i][j] -= delta;
            }
        }
    }
    (Verdict::Holds, format!("interval elimination: every pivot has |pivot| ≥ {}", facts::show_lower(smallest)), json!({ "min_pivot_magnitude": smallest }))
}

/// Every head has the same `U` (exactly as polynomials, or as identical expressions).
pub fn same_across_heads(sys: &System) -> Outcome {
    let id = "value-same-across-heads";
    let d = sys.dim;
    let first = &sys.heads[0].u;
    for (k, h) in sys.heads.iter().enumerate().skip(1) {
        match (poly::matrix(first, d), poly::matrix(&h.u, d)) {
            (Some(a), Some(b)) if a != b => {
                return Outcome::fails(id, format!("U of head {} differs from U of head 1 (exact)", k + 1), json!({ "head": k + 1 }))
            }
            (Some(_), Some(_)) => {}
            _ if facts::same_structure(&h.u, first) => {}
            _ => return Outcome::undecided(id, format!("U of head {} could not be compared exactly with head 1", k + 1), json!({})),
        }
    }
    Outcome::holds(id, format!("all {} heads have the same U", sys.heads.len()), json!({ "heads": sys.heads.len() }))
}
