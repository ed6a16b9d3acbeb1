//! Structural hypotheses, decided exactly from the system's form: the mask, the number of heads,
//! the metric, and that tokens start on the ellipsoid.

use rug::Rational;
use serde_json::json;

use super::matrix::q;
use super::verdict::Outcome;
use crate::numeric::{exact, poly};
use crate::system::{Attention, Metric, System};

pub fn check(sys: &System, id: &str) -> Outcome {
    match id {
        "attention-full" => mask(id, sys.attention == Attention::Full, sys),
        "attention-causal" => mask(id, sys.attention == Attention::Causal, sys),
        "heads-one" => {
            let h = sys.heads.len();
            if h == 1 {
                Outcome::holds(id, "one head", json!({ "heads": 1 }))
            } else {
                Outcome::fails(id, format!("{h} heads"), json!({ "heads": h }))
            }
        }
        "metric-identity" => compare_metric(id, sys, identity(sys.dim), "I"),
        "metric-equals-P" => match &sys.metric {
            Metric::EqualsP => Outcome::holds(id, "metric = \"P\"", json!({ "reason": "declared" })),
            _ if low_rank(&sys.heads[0].p, sys.dim).is_some() => {
                let k = low_rank(&sys.heads[0].p, sys.dim).unwrap_or(0);
                Outcome::fails(id, format!("rank P ≤ {k} < d = {} = rank W (W is positive definite): W ≠ P (exact, by rank)", sys.dim), json!({ "rank_at_most": k }))
            }
            _ => match poly::constant_matrix(&sys.heads[0].p, sys.dim) {
                Some(p) => compare_metric(id, sys, p, "P"),
                None => match super::matrix::constant(&sys.heads[0].p, sys.dim) {
                    // W is constant: a P that provably varies cannot equal it.
                    (crate::hypothesis::Verdict::Fails, why, w) => Outcome::fails(id, format!("W is constant but P varies: {why}"), w),
                    _ => Outcome::undecided(id, "P is not an exact rational constant, so W = P cannot be decided", json!({})),
                },
            },
        },
        "metric-equals-UtU" if low_rank(&sys.heads[0].u, sys.dim).is_some() => {
            let k = low_rank(&sys.heads[0].u, sys.dim).unwrap_or(0);
            Outcome::fails(id, format!("rank UᵀU ≤ rank U ≤ {k} < d = {} = rank W (W is positive definite): W ≠ UᵀU (exact, by rank)", sys.dim), json!({ "rank_at_most": k }))
        }
        "metric-equals-UtU" if sys.heads[0].u.is_identity() => compare_metric(id, sys, identity(sys.dim), "UᵀU"),
        "metric-equals-UtU" => match poly::constant_matrix(&sys.heads[0].u, sys.dim) {
            Some(u) => {
                let d = sys.dim;
                let utu: Vec<Vec<Rational>> = (0..d)
                    .map(|i| (0..d).map(|j| (0..d).fold(Rational::new(), |s, k| s + Rational::from(&u[k][i] * &u[k][j]))).collect())
                    .collect();
                compare_metric(id, sys, utu, "UᵀU")
            }
            None => Outcome::undecided(id, "U is not an exact rational constant, so W = UᵀU cannot be decided", json!({})),
        },
        // Every token is normalised y/|y|_W onto E_W; a zero token is refused as bad input, and
        // W is symmetric positive definite (validated), so |y|_W > 0 and yᵀWy = 1 after scaling.
        _ => Outcome::holds(
            id,
            format!("each of the {} tokens is normalised onto E_W (no token is zero; W is SPD)", sys.tokens),
            json!({ "tokens": sys.tokens }),
        ),
    }
}

/// `Some(k)` when the matrix's form bounds its rank by `k < d` (`hypothesis::matrix::rank_at_most`):
/// it then differs from every positive definite metric, which has rank `d`.
fn low_rank(m: &crate::system::MatrixFn, d: usize) -> Option<usize> {
    super::matrix::rank_at_most(m).filter(|&k| k < d)
}

fn mask(id: &str, holds: bool, sys: &System) -> Outcome {
    let name = match sys.attention {
        Attention::Full => "full",
        Attention::Causal => "causal",
    };
    let w = json!({ "attention": name });
    if holds {
        Outcome::holds(id, format!("attention = \"{name}\""), w)
    } else {
        Outcome::fails(id, format!("attention = \"{name}\""), w)
    }
}

fn identity(d: usize) -> Vec<Vec<Rational>> {
    (0..d).map(|i| (0..d).map(|j| Rational::from(u32::from(i == j))).collect()).collect()
}

/// The metric's exact entries (`W = P` needs `P` exact).
fn metric_exact(sys: &System) -> Option<Vec<Vec<Rational>>> {
    match &sys.metric {
        Metric::Identity => Some(identity(sys.dim)),
        Metric::Matrix(rows) => rows.iter().map(|r| r.iter().map(|l| exact::rational(&l.text)).collect()).collect(),
        Metric::EqualsP => poly::constant_matrix(&sys.heads[0].p, sys.dim),
    }
}

fn compare_metric(id: &str, sys: &System, want: Vec<Vec<Rational>>, name: &str) -> Outcome {
    let Some(w) = metric_exact(sys) else {
        return Outcome::undecided(id, "W is not an exact rational matrix", json!({}));
    };
    for (i, (rw, rx)) in w.iter().zip(&want).enumerate() {
        for (j, (a, b)) in rw.iter().zip(rx).enumerate() {
            if a != b {
                return Outcome::fails(
                    id,
                    format!("W[{i}][{j}] = {} but {name}[{i}][{j}] = {} (exact)", q(a), q(b)),
                    json!({ "entry": [i, j], "W": q(a), name: q(b) }),
                );
            }
        }
    }
    Outcome::holds(id, format!("W = {name} exactly"), json!({ "reason": "exact" }))
}
