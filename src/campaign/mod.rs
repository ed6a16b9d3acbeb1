//! Fuzz campaigns: search for systems that satisfy a theorem's hypotheses (all but the relaxed
//! ones) and yet break its conclusion.
//!
//! A campaign is an untrusted search between two trusted gates (ARCHITECTURE.md):
//!
//! ```text
//! generate (seeded, untrusted) ──► check (trusted filter: only HOLDS counts) ──► search (float)
//!   ──► classify ──► confirm (DOP853, rtol 1e-12) ──► certify + verify (trusted) ──► shrink ──► files, JSON lines
//! ```
//!
//! Nothing is called proved unless `verify` accepted its certificate; a float finding is
//! "observed". Case `i` of seed `S` draws from the stream `mix(S, i)`, whatever the shard or
//! the thread, so a campaign split into shards concatenates into the single-machine one.

pub mod args;
pub mod confirm;
pub mod generate;
pub mod record;
pub mod search;
pub mod shrink;

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::hypothesis::{Context, Verdict};
use crate::simulate::Method;
use crate::system::{doc, random, System};
use crate::theorem::{self, Spec};
use generate::{Draft, Ranges, Relax};
use search::{Class, Watch};

/// The theorems a campaign can target.
pub const THEOREMS: [&str; 5] = ["3.2", "4.1", "5.1", "6.1", "c6.1"];

/// How many draws a case may take to pass the filter before it is given up.
pub const MAX_DRAWS: u32 = 64;

/// The layer model instead of the flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layers {
    /// One `τ` for every case.
    Tau(f64),
    /// `τ` drawn per case, log-uniform on `[a, b]`.
    Scan(f64, f64),
}

/// A campaign.
#[derive(Debug, Clone)]
pub struct Options {
    pub theorem: String,
    pub relax: Vec<String>,
    /// Global number of cases (a shard runs its share of them).
    pub cases: u64,
    /// Stop after this many seconds (the cases done so far count).
    pub time: Option<f64>,
    pub seed: u64,
    pub ranges: Ranges,
    pub layers: Option<Layers>,
    /// `(k, N)`: this shard runs the cases `i ≡ k (mod N)`.
    pub shard: (u64, u64),
    /// Confirm, certify and shrink findings (off: observe only).
    pub follow_up: bool,
}

impl Options {
    /// Default shape ranges per theorem: small systems, where campaigns are fast and findings
    /// readable; the conjecture needs several heads.
    pub fn default_ranges(theorem: &str) -> Ranges {
        let heads = match theorem {
            "3.2" | "6.1" => (1, 1),
            "c6.1" => (2, 4),
            _ => (1, 3),
        };
        Ranges { tokens: (2, 6), dim: (2, 4), heads }
    }

    /// Checks the options against the theorem's spec; returns the spec.
    pub fn validate(&self) -> Result<Spec> {
        if !THEOREMS.contains(&self.theorem.as_str()) {
            return Err(Error::Usage(format!("--theorem {} cannot be fuzzed (one of {})", self.theorem, THEOREMS.join(", "))));
        }
        let spec = theorem::all()?.into_iter().find(|s| s.id == self.theorem).ok_or_else(|| Error::Usage(format!("unknown theorem '{}'", self.theorem)))?;
        for r in &self.relax {
            if !spec.hypotheses.contains(r) {
                return Err(Error::Usage(format!("--relax {r}: not a hypothesis of theorem {} (its hypotheses: {})", spec.id, spec.hypotheses.join(", "))));
            }
        }
        let (k, n) = self.shard;
        if n == 0 || k >= n {
            return Err(Error::Usage(format!("--shard {k}/{n}: expected k/N with 0 ≤ k < N")));
        }
        let r = self.ranges;
        for (name, (lo, hi), min, max) in [("--tokens", r.tokens, 2, 64), ("--dim", r.dim, 2, 16), ("--heads", r.heads, 1, 8)] {
            if lo < min || hi > max || lo > hi {
                return Err(Error::Usage(format!("{name} {lo}..{hi}: expected a range within {min}..{max}")));
            }
        }
        match self.layers {
            Some(Layers::Tau(t)) if !(t.is_finite() && t > 0.0 && t <= 10.0) => return Err(Error::Usage(format!("--tau {t}: expected 0 < τ ≤ 10"))),
            Some(Layers::Scan(a, b)) if !(a.is_finite() && b.is_finite() && 0.0 < a && a <= b && b <= 10.0) => {
                return Err(Error::Usage(format!("--tau-scan {a}..{b}: expected 0 < a ≤ b ≤ 10")))
            }
            _ => {}
        }
        if let Some(t) = self.time {
            if !(t.is_finite() && t > 0.0) {
                return Err(Error::Usage(format!("--time {t}: expected a positive number of seconds")));
            }
        }
        Ok(spec)
    }
}

/// A case that passed the filter: its system, text and the hypotheses' verdicts.
pub struct Case {
    pub draft: Draft,
    pub text: String,
    pub sys: System,
    pub hypotheses: Vec<(String, Verdict, String)>,
}

/// Why draws were rejected: `"<hypothesis> <verdict>"` (or `"invalid system"`), counted.
pub type Redraws = std::collections::BTreeMap<String, u64>;

fn case_name(opts: &Options, index: u64) -> String {
    format!("fuzz {} seed {} case {index}", opts.theorem, opts.seed)
}

/// Reads a system file's text as the system it is (the name only labels messages).
pub fn parse_system(name: &str, text: &str) -> std::result::Result<System, String> {
    let path = Path::new(name);
    doc::parse_toml(path, text).and_then(|v| System::from_value(path, &v)).map_err(|e| e.to_string())
}

/// Runs the theorem's hypotheses on a draft; `Ok` when every non-relaxed one holds, else the
/// first reason it does not.
pub fn filter(spec: &Spec, relax: &Relax, draft: Draft, name: &str) -> std::result::Result<Case, String> {
    let text = draft.to_toml(name);
    let sys = parse_system(&format!("{name}.toml"), &text).map_err(|_| "invalid system".to_string())?;
    let ctx = Context::new(&sys);
    let report = theorem::run(&ctx, spec);
    let hypotheses: Vec<(String, Verdict, String)> = report.hypotheses.iter().map(|o| (o.id.clone(), o.verdict, o.detail.clone())).collect();
    if let Some((id, v, _)) = hypotheses.iter().find(|(id, v, _)| *v != Verdict::Holds && !relax.has(id)) {
        return Err(format!("{id} {}", v.as_str()));
    }
    Ok(Case { draft, text, sys, hypotheses })
}

/// Draws case `index` until it passes the filter (at most [`MAX_DRAWS`] draws).
pub fn draw_case(opts: &Options, spec: &Spec, index: u64, redraws: &mut Redraws) -> Option<(Case, u32)> {
    let relax = Relax(opts.relax.clone());
    let case_seed = random::mix(opts.seed, index);
    for attempt in 0..MAX_DRAWS {
        let mut s = random::Stream::new(random::mix(case_seed, u64::from(attempt)));
        let draft = generate::draw(&opts.theorem, &relax, &opts.ranges, &mut s);
        match filter(spec, &relax, draft, &case_name(opts, index)) {
            Ok(case) => return Some((case, attempt + 1)),
            Err(why) => *redraws.entry(why).or_default() += 1,
        }
    }
    None
}

/// The float method of the search: Dormand–Prince at `rtol = 1e-8` (findings are confirmed at
/// `1e-12`), or the layer map.
pub fn search_method(opts: &Options, index: u64) -> Method {
    match opts.layers {
        None => Method::Dopri5 { rtol: 1e-8, atol: 1e-12 },
        Some(Layers::Tau(tau)) => Method::Discrete { tau },
        Some(Layers::Scan(a, b)) => {
            let mut s = random::Stream::new(random::mix(random::mix(opts.seed, index), u64::MAX));
            let u = s.unit();
            Method::Discrete { tau: (a.ln() + u * (b.ln() - a.ln())).exp() }
        }
    }
}

/// The outcome of one case, as it goes into its JSON line.
pub struct Outcome {
    pub index: u64,
    pub record: Value,
    pub class: Option<Class>,
    pub check_seconds: f64,
    pub search_seconds: f64,
    /// The finding's file, when one was written.
    pub file: Option<String>,
}

/// Runs case `index`: draw and filter, search, and (for a finding, with `follow_up`) confirm,
/// certify, shrink and write it under `out`.
pub fn run_case(opts: &Options, spec: &Spec, index: u64, out: Option<&Path>) -> Outcome {
    let mut redraws = Redraws::new();
    let started = Instant::now();
    let drawn = draw_case(opts, spec, index, &mut redraws);
    let check_seconds = started.elapsed().as_secs_f64();
    let mut base = json!({
        "seed": opts.seed,
        "case": index,
        "shard": format!("{}/{}", opts.shard.0, opts.shard.1),
        "theorem": opts.theorem,
        "relaxed": opts.relax,
    });
    let Some((case, draws)) = drawn else {
        base["class"] = json!("no-case");
        base["draws"] = json!(MAX_DRAWS);
        base["redraws"] = json!(redraws);
        return Outcome { index, record: base, class: None, check_seconds, search_seconds: 0.0, file: None };
    };
    let method = search_method(opts, index);
    let watch = Watch::new(&opts.theorem, &case.sys);
    let horizon = watch.horizon;
    let t = Instant::now();
    let observed = search::search(&case.sys, &watch, method, horizon);
    let search_seconds = t.elapsed().as_secs_f64();
    base["draws"] = json!(draws);
    base["redraws"] = json!(redraws);
    base["shape"] = json!({ "tokens": case.sys.tokens, "dim": case.sys.dim, "heads": case.sys.heads.len(), "causal": case.draft.causal });
    base["planted"] = json!(case.draft.planted);
    if let Method::Discrete { tau } = method {
        base["tau"] = json!(tau);
    }
    base["hypotheses"] = case.hypotheses.iter().map(|(id, v, _)| (id.clone(), json!(v.as_str()))).collect::<serde_json::Map<_, _>>().into();
    let obs = match observed {
        Ok(o) => o,
        Err(e) => {
            base["class"] = json!("error");
            base["error"] = json!(e.to_string());
            return Outcome { index, record: base, class: None, check_seconds, search_seconds, file: None };
        }
    };
    record::observation(&mut base, &obs);
    let mut file = None;
    if obs.class.is_finding() {
        // A theorem campaign that finds something is a bug in attncert or in the theorem: name
        // every hypothesis certificate that held.
        base["hypothesis_details"] = case.hypotheses.iter().map(|(id, v, d)| (id.clone(), json!(format!("{}: {d}", v.as_str())))).collect::<serde_json::Map<_, _>>().into();
        if opts.follow_up {
            let finding = confirm::follow_up(opts, spec, index, case, &obs, method, out);
            base["confirmation"] = json!(finding.confirmation);
            base["certificate"] = json!(finding.certificate);
            base["proof"] = json!(finding.proof);
            base["shrunk"] = json!(finding.shrunk);
            base["file"] = json!(finding.file);
            file = finding.file;
        }
    }
    Outcome { index, record: base, class: Some(obs.class), check_seconds, search_seconds, file }
}

pub use record::Summary;

/// Cases run in parallel per batch; the time limit is checked between batches.
const BATCH: u64 = 32;

/// Runs a campaign on every core: the shard's cases in batches, each batch in parallel (rayon),
/// every outcome handed to `emit` in case order (so the output is the same on any number of
/// threads). Stops after `opts.cases` cases or `opts.time` seconds.
pub fn run(opts: &Options, out: Option<&Path>, mut emit: impl FnMut(&Outcome) -> Result<()>) -> Result<Summary> {
    use rayon::prelude::*;
    let spec = opts.validate()?;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io { path: dir.to_path_buf(), source: e })?;
    }
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut indices = shard_indices(opts.cases, opts.shard).peekable();
    while indices.peek().is_some() {
        if opts.time.is_some_and(|t| started.elapsed().as_secs_f64() >= t) {
            break;
        }
        let batch: Vec<u64> = indices.by_ref().take(BATCH as usize).collect();
        let outcomes: Vec<Outcome> = batch.par_iter().map(|&i| run_case(opts, &spec, i, out)).collect();
        for o in &outcomes {
            summary.add(&o.record);
            summary.check_seconds += o.check_seconds;
            summary.search_seconds += o.search_seconds;
            emit(o)?;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What one confirmed, certified, shrunk finding left.
pub struct Finding {
    pub confirmation: String,
    pub certificate: Option<String>,
    pub proof: String,
    pub shrunk: Value,
    pub file: Option<String>,
}

/// The case indices of a shard, in order: `i ≡ k (mod N)`, `i < cases`.
pub fn shard_indices(cases: u64, (k, n): (u64, u64)) -> impl Iterator<Item = u64> {
    (k..cases).step_by(n.max(1) as usize)
}

