//! Fuzz campaigns: deterministic per seed, shards that add up to the single run, theorem
//! campaigns that find nothing, relaxed campaigns whose findings are certified and reproduce
//! from their files, and clear errors.

mod common;

use std::path::Path;
use std::process::Command;

use attncert::campaign::{self, record, Options};
use attncert::certificate::{check::verify, Certificate};
use attncert::hypothesis::{Context, Verdict};
use serde_json::Value;

fn options(theorem: &str, relax: &[&str], cases: u64, seed: u64) -> Options {
    Options {
        theorem: theorem.into(),
        relax: relax.iter().map(|s| s.to_string()).collect(),
        cases,
        time: None,
        seed,
        ranges: Options::default_ranges(theorem),
        layers: None,
        shard: (0, 1),
        follow_up: false,
    }
}

fn records(opts: &Options, out: Option<&Path>) -> (campaign::Summary, Vec<Value>) {
    let mut recs = Vec::new();
    let summary = campaign::run(opts, out, |o| {
        recs.push(o.record.clone());
        Ok(())
    })
    .expect("campaign runs");
    (summary, recs)
}

fn without_shard(mut r: Value) -> Value {
    r.as_object_mut().map(|o| o.remove("shard"));
    r
}

/// `--shard k/N` runs the cases `i ≡ k (mod N)` with per-case streams: the shards' lines are
/// exactly the single run's (up to the shard label), and a run repeats itself.
#[test]
fn shards_add_up_to_the_single_run() {
    let single = records(&options("4.1", &[], 24, 5), None).1;
    assert_eq!(single, records(&options("4.1", &[], 24, 5), None).1, "deterministic per seed");
    let mut union = Vec::new();
    for k in 0..3 {
        let mut o = options("4.1", &[], 24, 5);
        o.shard = (k, 3);
        let recs = records(&o, None).1;
        assert!(recs.iter().all(|r| r["case"].as_u64().unwrap() % 3 == k));
        union.extend(recs);
    }
    union.sort_by_key(|r| r["case"].as_u64());
    let union: Vec<Value> = union.into_iter().map(without_shard).collect();
    let single: Vec<Value> = single.into_iter().map(without_shard).collect();
    assert_eq!(union, single);
}

/// The theorems hold: campaigns on them find nothing (the CI runs longer ones).
#[test]
fn theorem_campaigns_find_nothing() {
    for theorem in ["3.2", "4.1", "5.1", "6.1", "c6.1"] {
        let (summary, recs) = records(&options(theorem, &[], 40, 11), None);
        assert!(summary.findings.is_empty(), "{theorem}: {:?}", summary.findings);
        let decided = recs.iter().filter(|r| r["class"] == "converged").count();
        assert!(decided * 3 >= recs.len(), "{theorem}: only {decided} of {} cases decided", recs.len());
        // Every counted case passed the certified filter: all its hypotheses hold.
        for r in recs.iter().filter(|r| r["class"] != "no-case") {
            assert!(r["hypotheses"].as_object().unwrap().values().all(|v| v == "holds"), "{theorem}: {r}");
        }
    }
}

/// Relaxing `initial-no-antipode` breaks Theorem 5.1: a token at −y_1 stays there (a = −1 is an
/// equilibrium). The campaign finds it, shrinks it, certifies `E(10) ≥ b`, and the files
/// reproduce with `check` and `verify`.
#[test]
fn a_needed_hypothesis_is_broken_and_the_counterexample_certified() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options("5.1", &["initial-no-antipode"], 8, 1);
    o.follow_up = true;
    let (summary, recs) = records(&o, Some(dir.path()));
    assert!(!summary.findings.is_empty(), "{}", summary.text());
    let f = recs.iter().find(|r| r["class"] == "stalled" && r["proof"].as_str().is_some_and(|p| p.starts_with("verified:"))).expect("a certified stall");
    assert_eq!(f["confirmation"].as_str().unwrap(), "confirmed (DOP853, rtol 1e-12)");
    assert_eq!(f["shrunk"]["tokens"], 2, "shrunk to the antipodal pair: {f}");
    // The system file: the relaxed hypothesis fails, every other holds.
    let sys = attncert::system::System::load(Path::new(f["file"].as_str().unwrap())).unwrap();
    let spec = attncert::theorem::all().unwrap().into_iter().find(|s| s.id == "5.1").unwrap();
    let report = attncert::theorem::run(&Context::new(&sys), &spec);
    for h in &report.hypotheses {
        let want = if h.id == "initial-no-antipode" { Verdict::Fails } else { Verdict::Holds };
        assert_eq!(h.verdict, want, "{}: {}", h.id, h.detail);
    }
    // The certificate: verify accepts it and proves E(10) bounded away from 0.
    let cert = Certificate::load(Path::new(f["certificate"].as_str().unwrap())).unwrap();
    let ok = verify(&cert).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ok.verdict, "fails");
    let e = ok.claims.iter().find(|c| c.claim.kind == "misalignment-above-at-end").expect("E bounded below");
    assert!(e.claim.bound > 0.5 && ok.end_time == 10.0, "{e:?}");
}

/// Relaxing `value-top-eigenvalue-positive` breaks Theorem 6.1 (found and certified).
#[test]
fn a_negative_top_eigenvalue_breaks_theorem_6_1() {
    let dir = tempfile::tempdir().unwrap();
    // Case 17 of seed 3 (alone: shard 17 of 18 cases is exactly that case).
    let mut o = options("6.1", &["value-top-eigenvalue-positive"], 18, 3);
    o.shard = (17, 18);
    o.follow_up = true;
    let (summary, recs) = records(&o, Some(dir.path()));
    assert!(!summary.findings.is_empty(), "{}", summary.text());
    assert!(recs.iter().any(|r| r["proof"].as_str().is_some_and(|p| p.starts_with("verified:"))), "{}", summary.text());
}

fn attncert(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attncert")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Two shards into one directory, merged.
    for k in 0..2 {
        let (code, out, err) = attncert(&["fuzz", "--theorem", "4.1", "--cases", "10", "--seed", "3", "--shard", &format!("{k}/2"), "--out", d]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("# 5 cases"), "{out}");
    }
    let (code, out, _) = attncert(&["fuzz", "merge", d]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# 10 cases") && out.contains("# findings: 0"), "{out}");
    // The same shard twice is refused.
    let twice = dir.path().join("twice");
    std::fs::create_dir(&twice).unwrap();
    let file = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|x| x == "jsonl")).unwrap();
    std::fs::copy(&file, twice.join("a.jsonl")).unwrap();
    std::fs::copy(&file, twice.join("b.jsonl")).unwrap();
    let (code, _, err) = attncert(&["fuzz", "merge", twice.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("appears twice"), "{err}");
    // JSON lines on stdout, one per case.
    let (code, out, _) = attncert(&["fuzz", "--theorem", "5.1", "--cases", "3", "--format", "jsonl"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3);
    assert!(out.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()));
    // Findings: exit 1, each printed with its file.
    let (code, out, _) = attncert(&["fuzz", "--theorem", "5.1", "--relax", "initial-no-antipode", "--cases", "3", "--seed", "1", "--out", d]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FINDING case 1: stalled (verified:") && out.contains("finding-5.1-1-1.toml"), "{out}");
    // Bad input: exit 2, named.
    for (args, want) in [
        (vec!["fuzz", "--theorem", "6.1", "--relax", "value-identity"], "--relax value-identity: not a hypothesis of theorem 6.1"),
        (vec!["fuzz", "--theorem", "9.9"], "--theorem 9.9 cannot be fuzzed"),
        (vec!["fuzz", "--theorem", "4.1", "--shard", "3/2"], "--shard 3/2: expected k/N with 0 ≤ k < N"),
        (vec!["fuzz", "--theorem", "4.1", "--tokens", "1..3"], "--tokens 1..3: expected a range within 2..64"),
        (vec!["fuzz", "--theorem", "4.1", "--discrete"], "--discrete needs --tau"),
        (vec!["fuzz"], "fuzz needs --theorem"),
    ] {
        let (code, _, err) = attncert(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// The JSON-lines reader names the file and line of a bad record.
#[test]
fn bad_json_lines_are_named() {
    let e = record::parse_jsonl(Path::new("r.jsonl"), "{\"case\": 1, \"class\": \"slow\"}\n[1, 2]\n").unwrap_err().to_string();
    assert_eq!(e, "r.jsonl: line 2: not a campaign record (needs an object with \"case\" and \"class\")");
    let e = record::parse_jsonl(Path::new("r.jsonl"), "{\"case\": 1,").unwrap_err().to_string();
    assert!(e.starts_with("r.jsonl: line 1: not JSON"), "{e}");
}

/// The layer map: a τ scan runs and records each case's τ.
#[test]
fn discrete_campaigns_record_their_tau() {
    let mut o = options("5.1", &[], 6, 2);
    o.layers = Some(campaign::Layers::Scan(0.05, 5.0));
    let (_, recs) = records(&o, None);
    for r in &recs {
        let tau = r["tau"].as_f64().unwrap();
        assert!((0.05..=5.0).contains(&tau), "{r}");
    }
}
