//! What happens to a finding: confirmed by a tight re-simulation, shrunk to the smallest system
//! that still shows it (and still passes the filter), certified where the system is small
//! enough (the certificate is re-checked by the trusted `verify` before anything is called
//! proved), and written as a system file with its certificate.

use std::path::Path;

use serde_json::json;

use super::generate::Relax;
use super::search::{self, Class, Observation, Watch};
use super::{filter, shrink, Case, Finding, Options};
use crate::certificate::check::verify;
use crate::certificate::SystemSource;
use crate::certify::{self, Sets};
use crate::simulate::Method;
use crate::theorem::Spec;

/// Certify findings of at most this many state variables (`ℓ·d`): a few seconds each.
pub const CERTIFY_MAX_VARIABLES: usize = 40;
/// At most this many simplifications are tried per finding.
const SHRINK_BUDGET: usize = 40;

/// The confirmation method: DOP853 at `rtol = 1e-12`, or the same layer map (exact model, no
/// integration error to confirm away).
fn tight(method: Method) -> Method {
    match method {
        Method::Discrete { .. } => method,
        _ => Method::Dop853 { rtol: 1e-12, atol: 1e-14 },
    }
}

/// Re-simulates `case` tightly, on twice the horizon for a stall (a slow convergence must not
/// pass for one); `Some(observation)` when the class is the same.
fn confirm(case: &Case, theorem: &str, class: Class, method: Method) -> Option<Observation> {
    let watch = Watch::new(theorem, &case.sys);
    let horizon = watch.horizon * if class == Class::Stalled { 2.0 } else { 1.0 };
    let obs = search::search(&case.sys, &watch, tight(method), horizon).ok()?;
    (obs.class == class).then_some(obs)
}

/// Confirms, shrinks, certifies and writes a finding.
pub fn follow_up(opts: &Options, spec: &Spec, index: u64, case: Case, seen: &Observation, method: Method, out: Option<&Path>) -> Finding {
    let Some(mut obs) = confirm(&case, &opts.theorem, seen.class, method) else {
        return Finding { confirmation: "not confirmed by the tight re-simulation".into(), certificate: None, proof: "none".into(), shrunk: json!(null), file: None };
    };
    let relax = Relax(opts.relax.clone());
    let name = format!("finding {} seed {} case {index}", opts.theorem, opts.seed);
    let mut case = case;
    let mut steps = Vec::new();
    let mut tried = 0;
    'outer: while tried < SHRINK_BUDGET {
        for (what, draft) in shrink::candidates(&case.draft) {
            tried += 1;
            if tried > SHRINK_BUDGET {
                break 'outer;
            }
            let Ok(smaller) = filter(spec, &relax, draft, &name) else { continue };
            let watch = Watch::new(&opts.theorem, &smaller.sys);
            let quick = search::search(&smaller.sys, &watch, method, watch.horizon);
            if quick.is_ok_and(|q| q.class == seen.class) {
                if let Some(o) = confirm(&smaller, &opts.theorem, seen.class, method) {
                    steps.push(what);
                    case = smaller;
                    obs = o;
                    continue 'outer;
                }
            }
        }
        break;
    }
    let shrunk = json!({ "tokens": case.sys.tokens, "dim": case.sys.dim, "heads": case.sys.heads.len(), "steps": steps });
    let (certificate, proof) = match method {
        Method::Discrete { .. } => (None, "observed: the layer map is exact; certificates cover the flow (7) only".to_string()),
        _ => certify_finding(opts, &case, &obs, index, out),
    };
    let file = out.and_then(|dir| {
        let path = dir.join(format!("finding-{}-{}-{index}.toml", opts.theorem, opts.seed));
        write_atomic(&path, &case.text).ok().map(|()| path.display().to_string())
    });
    Finding { confirmation: format!("confirmed ({})", confirmation_method(method)), certificate, proof, shrunk, file }
}

fn confirmation_method(method: Method) -> &'static str {
    match method {
        Method::Discrete { .. } => "the layer map recomputed",
        _ => "DOP853, rtol 1e-12",
    }
}

/// The time to certify to, and the claim kind that proves the finding there.
fn target(obs: &Observation) -> Option<(f64, &'static str)> {
    match obs.class {
        Class::LyapunovIncrease if obs.rise_from_start.0 > 0.0 => Some((obs.rise_from_start.1, "lyapunov-increase")),
        // A stall is an equilibrium: certify a fixed, readable horizon.
        Class::Stalled => Some((10.0, "misalignment-above-at-end")),
        Class::WrongLimit => Some((obs.t_end.min(20.0), "lyapunov-above-at-end")),
        _ => None,
    }
}

/// Certifies a finding and re-checks the certificate with the trusted checker; returns the
/// certificate's file and what is proved (or why nothing is).
fn certify_finding(opts: &Options, case: &Case, obs: &Observation, index: u64, out: Option<&Path>) -> (Option<String>, String) {
    let n = case.sys.tokens * case.sys.dim;
    if n > CERTIFY_MAX_VARIABLES {
        return (None, format!("observed: not certified ({n} variables, more than {CERTIFY_MAX_VARIABLES})"));
    }
    let Some((until, kind)) = target(obs) else {
        return (None, "observed: the Lyapunov function never rose above its initial value, which is what a certificate could prove".into());
    };
    // A point set, boxes and a fixed tolerance: a finding's claim has a wide margin, so the
    // point-set default (widths near rounding level, many short steps) would only cost time.
    let copts = certify::Options { theorem: opts.theorem.clone(), until, radius: 0.0, max_steps: 20_000, sets: Sets::Box, tolerance: Some(1e-8), variational_order: 5, lower_bounds: true, ..certify::Options::default() };
    let source = SystemSource { file: format!("finding-{}-{}-{index}.toml", opts.theorem, opts.seed), format: "toml".into(), text: case.text.clone() };
    let cert = match certify::certify(&case.sys, source, &copts, |_| {}) {
        Ok(c) => c,
        Err(e) => return (None, format!("observed: certify refused: {e}")),
    };
    let accepted = match verify(&cert) {
        Ok(a) => a,
        Err(r) => return (None, format!("observed: the certificate was rejected: {r}")),
    };
    // The strongest claim of the kind (the token farthest from the predicted limit); a rise
    // only of the function the theorem makes non-increasing (the others are ISS-Lyapunov
    // functions, allowed to rise).
    let leading = obs.lyapunov.map(|(name, _)| name);
    let proved = accepted
        .claims
        .iter()
        .filter(|c| c.claim.kind == kind && c.claim.bound > 0.0)
        .filter(|c| kind != "lyapunov-increase" || c.claim.function.as_deref() == leading)
        .max_by(|a, b| a.claim.bound.total_cmp(&b.claim.bound));
    let file = out.and_then(|dir| {
        let path = dir.join(format!("finding-{}-{}-{index}.cert.json", opts.theorem, opts.seed));
        write_atomic(&path, &cert.to_json()).ok().map(|()| path.display().to_string())
    });
    let proof = match proved {
        Some(c) => format!(
            "verified: {}{} ≥ {:e} at t = {} for every solution from the exact initial tokens (a finite-time statement)",
            c.claim.kind,
            c.claim.function.as_deref().map(|f| format!(" {f}")).unwrap_or_default(),
            c.claim.bound,
            accepted.end_time
        ),
        None => format!("observed: the certificate (to t = {}) proves no {kind} bound", accepted.end_time),
    };
    (file, proof)
}

/// Writes a file through a temporary file renamed into place.
fn write_atomic(path: &Path, text: &str) -> crate::error::Result<()> {
    let mut sink = crate::report::output::Sink::file(path)?;
    sink.write_str(text)?;
    sink.finish()
}
