//! The trusted certificate checker behind `attncert verify`.
//!
//! It re-derives everything from the certificate's data and the exact system: it never calls
//! the producer (`crate::certify`). What it trusts: the system reader, the hypothesis checkers,
//! inari, and the enclosure formulas in [`flow`] and [`lyapunov`], each derived where it is
//! written. The argument, step by step (`S_0` = the initial set, `S_{k+1}` = `end` of step k):
//!
//! 1. steps tile `[0, T]`: `t0` of step 0 is 0, each `t0` equals the previous `t1`, `t1 > t0`;
//! 2. the a-priori operator of order `min(3, p)` (`Σ_{k<3} [0, h^k]·y_k(t0, S_k) + [0, h³]·y_3([t0, t1],
//!    box)`, see `flow::apriori_operator`) maps `box` into its interior, so every solution
//!    from `S_k` exists on the step and stays in `box`;
//! 3. the checker's own enclosure of `y(t1)` (order-`p` Taylor with mean-value form) lies in
//!    `end`, so `S_{k+1} = end` contains every solution at `t1` (`end` a box, a parallelepiped
//!    `x + B·r`, or a doubleton `x + C·u + B·r`: containment proved in `flow::coordinates`);
//! 4. the recorded Lyapunov values, derivative bounds and `E` contain the checker's own
//!    enclosures over `box`, so they hold for every solution on the step;
//! 5. each claim follows from the recorded (now verified) data.
//!
//! By induction every solution from the initial set is inside `box` on each step and inside
//! `end` at each `t1`: the claims hold for all of them.

use std::path::Path;

use inari::Interval;

use super::flow::{self, Dynamics, Linear, Set};
use super::lyapunov::{self, Functions};
use super::{BoxSet, Certificate, Claim, ClaimKind, FORMAT, READS};
use crate::hypothesis::{verdict::Verdict, Context};
use crate::numeric::jet::MAX_LEN;
use crate::system::{doc, System};
use crate::theorem;

/// A claim the checker proved, with the bound it derived itself from an enclosure: for an
/// upper-bound claim (`≤ b`, see [`ClaimKind::is_lower`]) `proved` is the proved upper bound
/// (`proved ≤ claim.bound`), for a lower-bound claim (`≥ b`) the proved lower bound
/// (`proved ≥ claim.bound`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvedClaim {
    pub claim: Claim,
    pub proved: f64,
}

/// What an accepted certificate proves.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The theorem's verdict, re-checked from the exact system.
    pub verdict: String,
    pub steps: usize,
    pub end_time: f64,
    pub claims: Vec<ProvedClaim>,
}

/// Why a certificate was rejected: the first step or claim that does not follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// 0-based step index, when a step is at fault.
    pub step: Option<usize>,
    /// 0-based claim index, when a claim is at fault.
    pub claim: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.step, self.claim) {
            (Some(k), _) => write!(f, "step {}: {}", k + 1, self.reason),
            (_, Some(c)) => write!(f, "claim {}: {}", c + 1, self.reason),
            _ => write!(f, "{}", self.reason),
        }
    }
}

fn reject(reason: impl Into<String>) -> Rejection {
    Rejection { step: None, claim: None, reason: reason.into() }
}

fn at_step(k: usize, reason: impl Into<String>) -> Rejection {
    Rejection { step: Some(k), claim: None, reason: reason.into() }
}

fn at_claim(c: usize, reason: impl Into<String>) -> Rejection {
    Rejection { step: None, claim: Some(c), reason: reason.into() }
}

/// Whether an enclosure the checker computed can carry a proof: non-empty and bounded.
/// Comparisons with an empty interval (inf = +∞, sup = −∞) succeed vacuously, and inari
/// returns one for operations outside their domain (`sqrt` of a negative interval, `x/[0, 0]`),
/// so every enclosure is tested before it is compared.
fn proper(x: Interval) -> bool {
    !x.is_empty() && x.inf().is_finite() && x.sup().is_finite()
}

/// The certifiable theorems.
/// The order of the a-priori operator (see `flow::apriori_operator`: order 1 suffers from
/// the overestimation of `F` over the box, higher orders cost a series at the start set for
/// little more; 3 measured best on the paper's systems). Part of the format: a certificate's
/// boxes are checked with this operator, or with the step's order when lower (order-1 steps
/// cross kinks and layer boundaries, where only the interval field `F` is defined).
pub const APRIORI: u32 = 3;

pub const THEOREMS: [&str; 5] = ["3.2", "4.1", "5.1", "6.1", "c6.1"];

/// Re-reads the embedded system text with the ordinary system reader.
pub fn embedded_system(cert: &Certificate) -> Result<System, String> {
    let path = Path::new(&cert.system.file);
    let value = match cert.system.format.as_str() {
        "toml" => doc::parse_toml(path, &cert.system.text),
        "json" => doc::parse_json(path, &cert.system.text),
        other => return Err(format!("system.format '{other}' is neither \"toml\" nor \"json\"")),
    };
    // Side files are refused: the certificate's own text is the whole input (`tensor::without_side_files`).
    value
        .and_then(|v| crate::system::tensor::without_side_files(|| System::from_value(path, &v)))
        .map_err(|e| format!("the embedded system does not read: {e}"))
}

/// Verifies a certificate: `Ok` with what it proves, or the first reason it does not.
pub fn verify(cert: &Certificate) -> Result<Accepted, Rejection> {
    if cert.format != FORMAT || !READS.contains(&cert.version) {
        return Err(reject(format!("not a {FORMAT} of version {READS:?}")));
    }
    if cert.version < 5 && cert.steps.iter().any(|s| s.end.linear.is_some()) {
        return Err(reject(format!("a version-{} certificate has no doubleton sets (linear)", cert.version)));
    }
    if !THEOREMS.contains(&cert.theorem.as_str()) {
        return Err(reject(format!("theorem '{}' cannot be certified (one of {})", cert.theorem, THEOREMS.join(", "))));
    }
    let sys = embedded_system(cert).map_err(reject)?;
    let verdict = recheck_verdict(&sys, &cert.theorem).map_err(reject)?;
    if verdict.as_str() != cert.verdict {
        return Err(reject(format!("the certificate records verdict '{}', but the hypotheses re-check as '{}'", cert.verdict, verdict.as_str())));
    }
    if !(cert.radius.is_finite() && cert.radius >= 0.0) {
        return Err(reject("radius must be a finite number ≥ 0"));
    }
    let dy = Dynamics::new(&sys).map_err(reject)?;
    let funcs = lyapunov::setup(&sys, &cert.theorem, verdict == Verdict::Holds, cert.radius).map_err(reject)?;
    if funcs.names != cert.lyapunov {
        return Err(reject(format!("lyapunov names {:?} differ from the theorem's {:?}", cert.lyapunov, funcs.names)));
    }
    let initial = dy.initial(cert.radius).map_err(reject)?;
    let mut set = Set::from_box(initial.clone());
    let mut t = 0.0;
    for (k, step) in cert.steps.iter().enumerate() {
        set = check_step(&dy, &funcs, step, t, &set).map_err(|r| at_step(k, r))?;
        t = step.t1;
    }
    let claims = cert
        .claims
        .iter()
        .enumerate()
        .map(|(c, claim)| check_claim(&dy, &funcs, cert, claim, (&initial, &set)).map_err(|r| at_claim(c, r)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Accepted { verdict: verdict.as_str().into(), steps: cert.steps.len(), end_time: t, claims })
}

fn recheck_verdict(sys: &System, id: &str) -> Result<Verdict, String> {
    let spec = theorem::all().map_err(|e| e.to_string())?.into_iter().find(|s| s.id == id).ok_or(format!("unknown theorem '{id}'"))?;
    Ok(theorem::run(&Context::new(sys), &spec).verdict)
}

/// A recorded set: a plain box, or a parallelepiped with an `n`-vector center and an `n×n`
/// matrix of finite doubles, or a doubleton: a parallelepiped plus a linear part (an `n×n`
/// matrix of finite doubles and its box, finite with `lo ≤ hi`).
pub fn to_set(b: &BoxSet, n: usize, what: &str) -> Result<Set, String> {
    let r = to_box(b, n, what)?;
    match (&b.center, &b.matrix) {
        (None, None) if b.linear.is_none() => Ok(Set::from_box(r)),
        (Some(x), Some(m)) => {
            if x.len() != n || m.len() != n * n {
                return Err(format!("{what}: center has {} entries and matrix {}, expected {n} and {}", x.len(), m.len(), n * n));
            }
            if !x.iter().chain(m).all(|v| v.is_finite()) {
                return Err(format!("{what}: center or matrix has a non-finite entry"));
            }
            let lin = match &b.linear {
                None => None,
                Some(l) => {
                    if l.matrix.len() != n * n || !l.matrix.iter().all(|v| v.is_finite()) {
                        return Err(format!("{what}: linear.matrix has {} entries, expected {} finite doubles", l.matrix.len(), n * n));
                    }
                    let u = to_box(&BoxSet::plain(l.lo.clone(), l.hi.clone()), n, &format!("{what}.linear"))?;
                    Some(Linear { c: l.matrix.chunks(n).map(<[f64]>::to_vec).collect(), u })
                }
            };
            Ok(Set { x: x.clone(), b: Some(m.chunks(n).map(<[f64]>::to_vec).collect()), r, lin })
        }
        _ => Err(format!("{what}: center and matrix come together (and linear only with both)")),
    }
}

/// A recorded box as intervals: same length as the state, finite, `lo ≤ hi`.
fn to_box(b: &BoxSet, n: usize, what: &str) -> Result<Vec<Interval>, String> {
    if b.lo.len() != n || b.hi.len() != n {
        return Err(format!("{what} has {}/{} bounds, the state has {n} coordinates", b.lo.len(), b.hi.len()));
    }
    b.lo.iter()
        .zip(&b.hi)
        .enumerate()
        .map(|(c, (&lo, &hi))| {
            if lo.is_finite() && hi.is_finite() && lo <= hi {
                Interval::try_from((lo, hi)).map_err(|_| format!("{what}: coordinate {c} is not an interval"))
            } else {
                Err(format!("{what}: coordinate {} has lo = {lo:e} > hi = {hi:e} or is not finite", c + 1))
            }
        })
        .collect()
}

/// Steps 1–4 of the module's argument for one step; returns `end`, the next start set.
fn check_step(dy: &Dynamics, funcs: &Functions, step: &super::Step, t: f64, start: &Set) -> Result<Set, String> {
    // 1. Time tiles [0, T] with no gap and no overlap: equality of doubles, exact.
    if step.t0 != t {
        return Err(format!("starts at t = {:e}, but the previous step ends at t = {t:e}", step.t0));
    }
    if !(step.t1.is_finite() && step.t1 > step.t0) {
        return Err(format!("t1 = {:e} does not follow t0 = {:e}", step.t1, step.t0));
    }
    if step.order as usize >= MAX_LEN || step.variational_order as usize >= MAX_LEN || step.variational_order == 0 {
        return Err(format!("order {} or variational order {} is outside 1..={}", step.order, step.variational_order, MAX_LEN - 1));
    }
    flow::check_step_cost(dy, step.order, step.variational_order)?;
    let n = dy.len();
    if step.apriori.center.is_some() || step.apriori.matrix.is_some() || step.apriori.linear.is_some() {
        return Err("box must be a plain box".into());
    }
    let bx = to_box(&step.apriori, n, "box")?;
    let end = to_set(&step.end, n, "end")?;
    flow::check_set_cost(n, start)?;
    flow::check_set_cost(n, &end)?;
    // 2. The a-priori box, for every solution from the start set and from its center.
    let over = flow::apriori_holds(dy, step.t0, step.t1, APRIORI.min(step.order), &start.hull_with_center(), &bx)?;
    let rem = flow::remainder(dy, step.t0, step.t1, step.order, &bx, &over)?;
    let field = flow::field_over(&over);
    // 3. The end set contains our own enclosure of the flow at t1 (for a parallelepiped: the
    //    coordinates of our enclosure in its frame lie in its box).
    let img = flow::image(dy, (step.t0, step.t1), (step.order, step.variational_order), start, &bx, &rem)?;
    let ours = flow::coordinates(&img, &end)?;
    let frame = if end.b.is_some() { "in the end set's frame, " } else { "" };
    if let Some(c) = (0..n).find(|&c| !proper(ours[c])) {
        return Err(format!("the checker's enclosure of the flow at t1 is empty or unbounded at {} (nothing is proved)", flow::coord(dy, c)));
    }
    if let Some(c) = (0..n).find(|&c| !ours[c].subset(end.r[c])) {
        return Err(format!(
            "end does not contain the flow at t1 = {:e}: {frame}{} is in [{:e}, {:e}], end gives [{:e}, {:e}]",
            step.t1,
            flow::coord(dy, c),
            ours[c].inf(),
            ours[c].sup(),
            end.r[c].inf(),
            end.r[c].sup()
        ));
    }
    // 4. The recorded functions over the box.
    let tokens = dy.tokens(&bx);
    let f = dy.tokens(&field);
    let values = funcs.values(&tokens);
    let rates = funcs.derivative_upper(dy, flow::span(step.t0, step.t1), &tokens, &f)?;
    if step.values.len() != values.len() || step.derivative_upper.len() != rates.len() {
        return Err(format!("records {} values and {} derivative bounds, the theorem has {} functions", step.values.len(), step.derivative_upper.len(), values.len()));
    }
    for (i, name) in funcs.names.iter().enumerate() {
        if !proper(values[i]) || !rates[i].is_finite() {
            return Err(format!("the checker could not enclose {name} or bound its derivative over the box (nothing is proved)"));
        }
        let [lo, hi] = step.values[i];
        if !(lo <= values[i].inf() && values[i].sup() <= hi) {
            return Err(format!("{name} over the box is in [{:e}, {:e}], not inside the recorded [{lo:e}, {hi:e}]", values[i].inf(), values[i].sup()));
        }
        if !(rates[i] <= step.derivative_upper[i]) {
            return Err(format!("the derivative of {name} is bounded by {:e} only, above the recorded {:e}", rates[i], step.derivative_upper[i]));
        }
    }
    let e = lyapunov::misalignment(&tokens);
    if !proper(e) {
        return Err("the checker could not enclose E over the box (nothing is proved)".into());
    }
    let [lo, hi] = step.misalignment;
    if !(lo <= e.inf() && e.sup() <= hi) {
        return Err(format!("E over the box is in [{:e}, {:e}], not inside the recorded [{lo:e}, {hi:e}]", e.inf(), e.sup()));
    }
    Ok(end)
}

/// Step 5: a claim, from the verified steps, the initial set `S_0` (a box) and the final set
/// (`end` of the last step, `S_0` itself without steps).
fn check_claim(dy: &Dynamics, funcs: &Functions, cert: &Certificate, claim: &Claim, (first, last): (&[Interval], &Set)) -> Result<ProvedClaim, String> {
    let kind = ClaimKind::parse(&claim.kind).ok_or(format!("unknown claim kind '{}'", claim.kind))?;
    let function = match &claim.function {
        Some(name) => Some(funcs.names.iter().position(|n| n == name).ok_or(format!("no Lyapunov function named '{name}'"))?),
        None => None,
    };
    // A bound of ±∞ (JSON `-1e400` reads as −∞) or NaN says nothing a reader can use.
    if !claim.bound.is_finite() {
        return Err(format!("the bound {} is not a finite number", claim.bound));
    }
    let function = match (function, kind.takes_function()) {
        (None, true) => return Err(format!("{} must name a Lyapunov function", claim.kind)),
        (Some(f), false) => return Err(format!("{} is about no Lyapunov function, but names '{}'", claim.kind, funcs.names[f])),
        (f, _) => f,
    };
    let tokens = dy.tokens(&last.hull());
    let proved = if kind.is_lower() {
        lower_bound(dy, funcs, cert, claim, (kind, function), (first, &tokens))?
    } else {
        upper_bound(funcs, cert, claim, (kind, function), &tokens)?
    };
    // The sup of an empty enclosure is −∞, its inf +∞: either would pass some bound.
    if !proved.is_finite() {
        return Err(format!("the checker's bound for {} is {proved:e}, not a finite number (nothing is proved)", claim.kind));
    }
    let holds = if kind.is_lower() { proved >= claim.bound } else { proved <= claim.bound };
    if !holds {
        let r = if kind.is_lower() { "≥" } else { "≤" };
        return Err(format!("{} claims {r} {:e}, but the certificate proves only {r} {:e}", claim.kind, claim.bound, proved));
    }
    Ok(ProvedClaim { claim: claim.clone(), proved })
}

/// The checker's upper bound for an upper-bound claim (`function` given iff the kind takes one).
fn upper_bound(funcs: &Functions, cert: &Certificate, claim: &Claim, (kind, function): (ClaimKind, Option<usize>), tokens: &[Vec<Interval>]) -> Result<f64, String> {
    // Every proved value below is the upper end of an enclosure the checker computed itself
    // (over `last`, or recorded per step and verified against its own): never the neutral
    // element of an empty maximum, which would "prove" any bound.
    Ok(match kind {
        // D⁺V ≤ (recorded bound) ≤ bound ≤ 0 on every step, V continuous: V is non-increasing.
        // Without steps nothing is known about a derivative.
        ClaimKind::LyapunovNonincreasing => {
            let f = function.ok_or("names no function")?;
            if funcs.leading != Some(f) {
                return Err(format!("{} is not the function the theorem makes non-increasing", funcs.names[f]));
            }
            if !(claim.bound <= 0.0) {
                return Err(format!("a derivative bound {:e} > 0 does not make a function non-increasing", claim.bound));
            }
            if cert.steps.is_empty() {
                return Err("a certificate without steps proves nothing about a derivative".into());
            }
            cert.steps.iter().map(|s| s.derivative_upper[f]).fold(f64::NEG_INFINITY, f64::max)
        }
        // Every solution is in `last` at T: E, the angle, V there are bounded by their
        // enclosures over `last` (the initial set when there are no steps: then T = 0).
        ClaimKind::MisalignmentAtEnd => lyapunov::misalignment(tokens).sup(),
        ClaimKind::MaxAngleAtEnd => lyapunov::max_angle(tokens).sup(),
        ClaimKind::LyapunovAtEnd => funcs.values(tokens)[function.ok_or("names no function")?].sup(),
        _ => return Err(format!("{} is not an upper bound", claim.kind)),
    })
}

/// The checker's lower bound for a lower-bound claim, from the tokens of the initial box
/// `first` and of the final set `last`.
fn lower_bound(
    dy: &Dynamics,
    funcs: &Functions,
    cert: &Certificate,
    claim: &Claim,
    (kind, function): (ClaimKind, Option<usize>),
    (first, last): (&[Interval], &[Vec<Interval>]),
) -> Result<f64, String> {
    // A lower bound is the inf of an enclosure: the inf of an empty one is +∞, of a NaN-ended
    // one meaningless, so each is tested `proper` before its inf is used. (`claim.bound` is
    // finite here, so `bound <= 0.0` is the plain negation of `bound > 0`.)
    let inf = |x: Interval, what: &str| if proper(x) { Ok(x.inf()) } else { Err(format!("the checker could not enclose {what} (nothing is proved)")) };
    match kind {
        // Every solution is in `last` at T, so E(y(T)) lies in the enclosure of E over `last`
        // and is ≥ its inf. E = (1/ℓ) Σ_i ½|u_1 − u_i|² ≥ 0 for any tokens, so b ≤ 0 would be
        // true of anything and proves nothing.
        ClaimKind::MisalignmentAboveAtEnd => {
            if claim.bound <= 0.0 {
                return Err(format!("E ≥ {:e} holds for any tokens: a lower bound on E must be > 0", claim.bound));
            }
            inf(lyapunov::misalignment(last), "E over the final set")
        }
        // As for E: V(y(T)) lies in the enclosure of V over `last`. Any finite b is a statement
        // (the functions take negative values, e.g. V_P).
        ClaimKind::LyapunovAboveAtEnd => {
            let f = function.ok_or("names no function")?;
            inf(funcs.values(last)[f], &format!("{} over the final set", funcs.names[f]))
        }
        // Every solution has y(0) in `first` and y(T) in `last`, so V(y(T)) ∈ A = V(last) and
        // V(y(0)) ∈ B = V(first), and V(y(T)) − V(y(0)) ∈ A − B, inari's outward-rounded
        // interval difference (it contains a − b for all a ∈ A, b ∈ B): it is ≥ inf(A − B).
        // T > 0 is needed: without steps `last` is `first` and the claim would be about no time.
        ClaimKind::LyapunovIncrease => {
            let f = function.ok_or("names no function")?;
            if claim.bound <= 0.0 {
                return Err(format!("an increase ≥ {:e} ≤ 0 does not show that {} increases: the bound must be > 0", claim.bound, funcs.names[f]));
            }
            if cert.steps.is_empty() {
                return Err("a certificate without steps proves no increase (T = 0)".into());
            }
            let name = &funcs.names[f];
            let at_end = funcs.values(last)[f];
            let at_start = funcs.values(&dy.tokens(first))[f];
            inf(at_end, &format!("{name} over the final set"))?;
            inf(at_start, &format!("{name} over the initial set"))?;
            inf(at_end - at_start, &format!("{name}(T) − {name}(0)"))
        }
        _ => Err(format!("{} is not a lower bound", claim.kind)),
    }
}
