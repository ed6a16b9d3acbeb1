//! Theorems as data: each `theorems/*.toml` names its hypotheses by id, its Lyapunov function,
//! its conclusion and the kind of limit it predicts. Running a theorem is running its list.

use std::path::Path;

use serde_json::{json, Value};

use crate::error::InputError;
use crate::hypothesis::{self, verdict, Context, Outcome, Verdict};
use crate::model;
use crate::system::decode::Field;
use crate::system::{doc, System};

include!(concat!(env!("OUT_DIR"), "/theorem_specs.rs"));

/// What a holding theorem predicts the tokens converge to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// An equilibrium (Theorem 3.2).
    Equilibrium,
    /// Some common point (Theorem 4.1).
    Consensus,
    /// The first token's initial position (Theorem 5.1, Remark 5.1).
    FirstToken,
    /// The top eigenvector of `U` on the tokens' side (Theorem 6.1).
    Eigenvector,
}

/// One theorem, remark or conjecture.
#[derive(Debug, Clone)]
pub struct Spec {
    pub id: String,
    pub title: String,
    /// `theorem`, `remark` or `conjecture`.
    pub kind: String,
    pub reference: String,
    pub hypotheses: Vec<String>,
    pub lyapunov: String,
    pub conclusion: String,
    pub limit: Limit,
}

/// Reads one spec; unknown hypothesis ids are an error (a spec must only name what can be checked).
pub fn parse_spec(name: &str, text: &str) -> Result<Spec, InputError> {
    let path = Path::new(name);
    let v = doc::parse_toml(path, text)?;
    let root = Field::root(path, &v);
    let t = root.table(&["id", "title", "kind", "reference", "hypotheses", "lyapunov", "conclusion", "limit"])?;
    let s = |k: &str| -> Result<String, InputError> { Ok(t.require(k)?.string()?.to_string()) };
    let hyp_field = t.require("hypotheses")?;
    let mut hypotheses = Vec::new();
    for h in hyp_field.array()? {
        let id = h.string()?;
        if !hypothesis::KNOWN.contains(&id) {
            return Err(h.err(format!("unknown hypothesis '{id}' (known: {})", hypothesis::KNOWN.join(", "))));
        }
        hypotheses.push(id.to_string());
    }
    let limit = match t.require("limit")?.one_of(&["equilibrium", "consensus", "first-token", "eigenvector"])? {
        "equilibrium" => Limit::Equilibrium,
        "consensus" => Limit::Consensus,
        "first-token" => Limit::FirstToken,
        _ => Limit::Eigenvector,
    };
    Ok(Spec {
        id: s("id")?,
        title: s("title")?,
        kind: t.require("kind")?.one_of(&["theorem", "remark", "conjecture"])?.to_string(),
        reference: s("reference")?,
        hypotheses,
        lyapunov: s("lyapunov")?,
        conclusion: s("conclusion")?,
        limit,
    })
}

/// Every built-in spec, in file order (theorems, then the remark and the conjecture by id).
pub fn all() -> Result<Vec<Spec>, InputError> {
    let mut specs: Vec<Spec> = SPECS.iter().map(|(n, t)| parse_spec(&format!("theorems/{n}"), t)).collect::<Result<_, _>>()?;
    specs.sort_by_key(|s| (s.kind != "theorem", s.kind == "conjecture", s.id.trim_start_matches(['r', 'c']).to_string()));
    Ok(specs)
}

/// The default set `check` runs: the paper's theorems and its remark (not conjectures).
pub fn defaults() -> Result<Vec<Spec>, InputError> {
    Ok(all()?.into_iter().filter(|s| s.kind != "conjecture").collect())
}

/// The outcome of one theorem on one system.
#[derive(Debug, Clone)]
pub struct TheoremReport {
    pub spec: Spec,
    pub verdict: Verdict,
    pub hypotheses: Vec<Outcome>,
    /// For a holding theorem: the predicted limit, in words (floats shown are for reading; the
    /// certified data are in the hypotheses' witnesses).
    pub prediction: Option<String>,
}

/// Runs every hypothesis of `spec` on the system behind `ctx`.
pub fn run(ctx: &Context, spec: &Spec) -> TheoremReport {
    let hypotheses: Vec<Outcome> = spec
        .hypotheses
        .iter()
        .map(|id| hypothesis::check(ctx, id).unwrap_or_else(|| Outcome::undecided(id, "no checker for this hypothesis", json!({}))))
        .collect();
    let verdict = verdict::all(hypotheses.iter().map(|o| o.verdict));
    let prediction = (verdict == Verdict::Holds).then(|| predict(ctx, spec));
    TheoremReport { spec: spec.clone(), verdict, hypotheses, prediction }
}

fn fmt_vec(v: &[f64]) -> String {
    let shown: Vec<String> = v.iter().take(6).map(|x| format!("{x:.6}")).collect();
    let more = if v.len() > 6 { format!(", … ({} entries)", v.len()) } else { String::new() };
    format!("({}{more})", shown.join(", "))
}

fn predict(ctx: &Context, spec: &Spec) -> String {
    match spec.limit {
        Limit::Equilibrium => "an equilibrium of the gradient flow of V_P".into(),
        Limit::Consensus => "a single common point (the theorem does not say which)".into(),
        Limit::FirstToken => {
            let y = model::initial_state(ctx.sys);
            let y1: Vec<f64> = y.column(0).iter().copied().collect();
            format!("y_1(0) ≈ {}", fmt_vec(&y1))
        }
        Limit::Eigenvector => match ctx.top_eigen().direction() {
            Some((v, eps)) => {
                // The side of v̂ the tokens are on, from the exact sign of v̂ᵀy_1 (v̂ is doubles, hence
                // exact rationals); the eigen-hemisphere check proved all tokens share it.
                let tokens = ctx.tokens();
                let dot = tokens[0].iter().zip(&v).fold(rug::Rational::new(), |acc, (a, &b)| acc + a * crate::numeric::exact::from_f64(b));
                let v: Vec<f64> = v.iter().map(|x| if dot < 0 { -x } else { *x }).collect();
                format!("v ≈ {} (within {} of the true v in the 2-norm, certified)", fmt_vec(&v), crate::hypothesis::matrix::show_upper(eps))
            }
            None => "the top eigenvector of U".into(),
        },
    }
}

/// The JSON form of reports: `{ "theorems": [ { "id", "verdict", "hypotheses": [ … ] } ] }`.
pub fn to_json(sys: &System, reports: &[TheoremReport]) -> Value {
    json!({
        "system": sys.name,
        "file": sys.source.display().to_string(),
        "theorems": reports.iter().map(|r| json!({
            "id": r.spec.id,
            "title": r.spec.title,
            "kind": r.spec.kind,
            "verdict": r.verdict.as_str(),
            "conclusion": r.spec.conclusion,
            "lyapunov": r.spec.lyapunov,
            "prediction": r.prediction,
            "hypotheses": r.hypotheses.iter().map(|o| json!({
                "id": o.id,
                "verdict": o.verdict.as_str(),
                "detail": o.detail,
                "witness": o.witness,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn built_in_specs_parse() {
        let all = super::all().expect("built-in theorem specs are valid");
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["3.2", "4.1", "5.1", "6.1", "r5.1", "c6.1"]);
    }
}
