//! Hypothesis checkers: each answers holds (with a witness), fails (with a counter-witness) or
//! undecided (with the reason), proved in exact rational or outward-rounded interval arithmetic
//! on the exact input. Ids are the names theorem specs (`theorems/*.toml`) use.

pub mod hemisphere;
pub mod key_query;
pub mod matrix;
pub mod structure;
pub mod value;
pub mod verdict;

use std::cell::OnceCell;

use rug::Rational;
use serde_json::{json, Value};

use crate::numeric::exact;
use crate::system::{Head, Initial, System};
use matrix::Fact;
pub use verdict::{Outcome, Verdict};

/// Every hypothesis id this version can check.
pub const KNOWN: &[&str] = &[
    "attention-full",
    "attention-causal",
    "heads-one",
    "metric-identity",
    "metric-equals-P",
    "metric-equals-UtU",
    "value-identity",
    "value-constant",
    "value-symmetric",
    "value-invertible",
    "value-same-across-heads",
    "value-simple-top-eigenvalue",
    "value-top-eigenvalue-positive",
    "key-query-constant",
    "key-query-symmetric",
    "key-query-positive-definite",
    "key-query-bounded",
    "key-query-uniformly-continuous",
    "initial-on-manifold",
    "initial-hemisphere",
    "initial-eigen-hemisphere",
    "initial-no-antipode",
];

/// A system and what several checks share (computed once, on first use).
pub struct Context<'a> {
    pub sys: &'a System,
    tokens: OnceCell<Vec<Vec<Rational>>>,
    eigen: OnceCell<value::TopEigen>,
}

impl<'a> Context<'a> {
    pub fn new(sys: &'a System) -> Self {
        Context { sys, tokens: OnceCell::new(), eigen: OnceCell::new() }
    }

    /// The initial tokens as exact rationals (decimal literals exactly; random draws are doubles,
    /// exact too), before normalisation: positive scaling changes no sign a check looks at.
    pub fn tokens(&self) -> &[Vec<Rational>] {
        self.tokens.get_or_init(|| match &self.sys.initial {
            Initial::Tokens(rows) => {
                rows.iter().map(|r| r.iter().map(|l| exact::rational(&l.text).unwrap_or_default()).collect()).collect()
            }
            Initial::Random { values, .. } => {
                values.column_iter().map(|c| c.iter().map(|&x| exact::from_f64(x)).collect()).collect()
            }
        })
    }

    /// The certified top eigenpair of head 1's `U` (Theorem 6.1).
    pub fn top_eigen(&self) -> &value::TopEigen {
        self.eigen.get_or_init(|| value::top_eigen(&self.sys.heads[0].u, self.sys.dim))
    }
}

/// Runs hypothesis `id`; `None` for an unknown id.
pub fn check(ctx: &Context, id: &str) -> Option<Outcome> {
    let sys = ctx.sys;
    let d = sys.dim;
    let outcome = match id {
        "attention-full" | "attention-causal" | "heads-one" | "metric-identity" | "metric-equals-P" | "metric-equals-UtU"
        | "initial-on-manifold" => structure::check(sys, id),
        "value-identity" => per_head(id, &sys.heads, |h| matrix::identity(&h.u, d)),
        "value-constant" => per_head(id, &sys.heads, |h| matrix::constant(&h.u, d)),
        "value-symmetric" => per_head(id, &sys.heads, |h| matrix::symmetric(&h.u, d)),
        "value-invertible" => per_head(id, &sys.heads, |h| value::invertible(&h.u, d)),
        "value-same-across-heads" => value::same_across_heads(sys),
        "value-simple-top-eigenvalue" => value::simple_top(id, ctx.top_eigen()),
        "value-top-eigenvalue-positive" => value::top_positive(id, ctx.top_eigen()),
        "key-query-constant" => per_head(id, &sys.heads, |h| matrix::constant(&h.p, d)),
        "key-query-symmetric" => per_head(id, &sys.heads, |h| matrix::symmetric(&h.p, d)),
        "key-query-positive-definite" => per_head(id, &sys.heads, |h| key_query::positive_definite(&h.p, d)),
        "key-query-bounded" => per_head(id, &sys.heads, |h| key_query::bounded(&h.p, d)),
        "key-query-uniformly-continuous" => per_head(id, &sys.heads, |h| key_query::uniformly_continuous(&h.p, d)),
        "initial-hemisphere" => hemisphere::initial_hemisphere(ctx.tokens()),
        "initial-eigen-hemisphere" => value::eigen_hemisphere(id, ctx.top_eigen(), ctx.tokens()),
        "initial-no-antipode" => hemisphere::initial_no_antipode(ctx.tokens()),
        _ => return None,
    };
    Some(outcome)
}

/// A hypothesis on every head: fails if one fails, undecided if one is, else holds.
fn per_head(id: &str, heads: &[Head], f: impl Fn(&Head) -> Fact) -> Outcome {
    let facts: Vec<Fact> = heads.iter().map(f).collect();
    let verdict = verdict::all(facts.iter().map(|f| f.0));
    if let [(_, detail, witness)] = facts.as_slice() {
        return Outcome { id: id.into(), verdict, detail: detail.clone(), witness: witness.clone() };
    }
    // Name the heads that decide the verdict first.
    let detail = facts
        .iter()
        .enumerate()
        .filter(|(_, f)| verdict == Verdict::Holds || f.0 == verdict)
        .map(|(k, f)| format!("head {}: {}", k + 1, f.1))
        .collect::<Vec<_>>()
        .join("; ");
    let witness = json!({ "heads": facts.iter().map(|f| json!({ "verdict": f.0.as_str(), "detail": f.1, "witness": f.2 })).collect::<Vec<Value>>() });
    Outcome { id: id.into(), verdict, detail, witness }
}
