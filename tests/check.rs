//! `attncert check`: verdicts with witnesses on the paper's systems, a failing case for every
//! hypothesis, and exact-input edge cases where a float tolerance would give the wrong answer.

mod common;

use std::process::Command;

use attncert::hypothesis::{self, Context, Verdict};
use attncert::theorem;

fn attncert(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attncert")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The verdict and detail of one hypothesis on a system given as TOML.
fn hyp(toml: &str, id: &str) -> (Verdict, String) {
    let o = outcome(toml, id);
    (o.verdict, o.detail)
}

fn outcome(toml: &str, id: &str) -> hypothesis::Outcome {
    let sys = common::system(toml);
    let ctx = Context::new(&sys);
    hypothesis::check(&ctx, id).expect("known id")
}

fn verdict_of(sys_file: &str, id: &str) -> Verdict {
    let sys = attncert::system::System::load(&common::repo(sys_file)).unwrap();
    let ctx = Context::new(&sys);
    let spec = theorem::all().unwrap().into_iter().find(|s| s.id == id).unwrap();
    theorem::run(&ctx, &spec).verdict
}

/// Each paper example satisfies its own theorem (the paper's Section 7 illustrates each one).
#[test]
fn paper_examples_satisfy_their_theorems() {
    assert_eq!(verdict_of("theorems/examples/sec7_1.toml", "3.2"), Verdict::Holds);
    assert_eq!(verdict_of("theorems/examples/sec7_2.toml", "4.1"), Verdict::Holds);
    assert_eq!(verdict_of("theorems/examples/sec7_3.toml", "6.1"), Verdict::Holds);
    assert_eq!(verdict_of("theorems/examples/sec7_4.toml", "5.1"), Verdict::Holds);
}

#[test]
fn paper_example_reports() {
    for (name, file) in [("sec7_1", "sec7_1.toml"), ("sec7_2", "sec7_2.toml"), ("sec7_3", "sec7_3.toml"), ("sec7_4", "sec7_4.toml")] {
        let path = format!("theorems/examples/{file}");
        let (code, out, err) = attncert(&["check", &path]);
        assert!(err.is_empty(), "{err}");
        assert_eq!(code, 1, "{name}: every example fails some other theorem, so exit 1");
        insta::assert_snapshot!(format!("check_{name}_text"), out);
        let (_, json, _) = attncert(&["check", &path, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["theorems"].as_array().unwrap().len(), 5);
        insta::assert_snapshot!(format!("check_{name}_json"), json);
    }
}

#[test]
fn exit_codes() {
    assert_eq!(attncert(&["check", "theorems/examples/sec7_3.toml", "--theorem", "6.1"]).0, 0);
    assert_eq!(attncert(&["check", "theorems/examples/sec7_3.toml", "--theorem", "4.1"]).0, 1);
    let (code, _, err) = attncert(&["check", "theorems/examples/sec7_3.toml", "--theorem", "9.9"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown theorem '9.9'"), "{err}");
    // Undecided without failure: exit 3 (sin(t²) is never shown uniformly continuous).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("u.toml");
    std::fs::write(&f, format!("tokens = 2\ndim = 2\n[[heads]]\nP = {{ scalar = \"sin(t^2)\", times = \"identity\" }}\n{TOKENS2}")).unwrap();
    assert_eq!(attncert(&["check", f.to_str().unwrap(), "--theorem", "4.1"]).0, 3);
}

const TOKENS2: &str = "[initial]\ntokens = [[1, 0], [0.6, 0.8]]\n";

fn sys2(head: &str, extra: &str) -> String {
    format!("tokens = 2\ndim = 2\n{extra}\n[[heads]]\n{head}\n{TOKENS2}")
}

/// One system per hypothesis on which it fails, with the counter-witness shown (snapshot).
#[test]
fn every_hypothesis_can_fail() {
    let cases: Vec<(&str, String)> = vec![
        ("attention-full", sys2("P = \"identity\"", "attention = \"causal\"")),
        ("attention-causal", sys2("P = \"identity\"", "")),
        ("heads-one", format!("tokens = 2\ndim = 2\n[[heads]]\nP = \"identity\"\n[[heads]]\nP = \"zero\"\n{TOKENS2}")),
        ("metric-identity", sys2("P = [[2, 0], [0, 1]]", "metric = [[2, 0], [0, 1.5]]")),
        ("metric-equals-P", sys2("P = [[2, 0], [0, 1]]", "metric = [[2, 0], [0, 1.5]]")),
        ("metric-equals-UtU", sys2("P = \"identity\"\nU = [[2, 0], [0, 1]]", "metric = \"identity\"")),
        ("value-identity", sys2("P = \"identity\"\nU = [[1, 0], [0, 1.0000000000000000001]]", "")),
        ("value-constant", sys2("P = \"identity\"\nU = { scalar = \"cos(t)\", times = \"identity\" }", "")),
        ("value-symmetric", sys2("P = \"identity\"\nU = [[1, 0.1], [0.10000000000000000001, 1]]", "")),
        ("value-invertible", sys2("P = \"identity\"\nU = [[1, 2], [0.5, 1]]", "")),
        ("value-same-across-heads", format!("tokens = 2\ndim = 2\n[[heads]]\nP = \"identity\"\n[[heads]]\nP = \"identity\"\nU = \"zero\"\n{TOKENS2}")),
        ("value-simple-top-eigenvalue", sys2("P = \"identity\"\nU = [[3, 0], [0, 3]]", "")),
        ("value-top-eigenvalue-positive", sys2("P = \"identity\"\nU = [[-1, 0], [0, -2]]", "")),
        ("key-query-constant", sys2("P = { diag = [\"2*cos(10*pi*t)\", \"1\"], times = \"identity\" }", "")),
        ("key-query-symmetric", sys2("P = [[1, 0.4965], [0.496500000000001, 1]]", "")),
        ("key-query-positive-definite", sys2("P = [[1, 2], [2, 1]]", "")),
        ("key-query-bounded", sys2("P = { scalar = \"1 + t^2\", times = [[0, 1], [1, 0]] }", "")),
        ("key-query-uniformly-continuous", sys2("P = { layers = [\"identity\", [[1, 0], [0, -1]]], layer_time = 0.5, periodic = true }", "")),
        ("initial-hemisphere", "tokens = 3\ndim = 2\n[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[1, 0], [-1, 0], [0, 1]]\n".to_string()),
        ("initial-eigen-hemisphere", "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = [[2, 0], [0, 1]]\n[initial]\ntokens = [[1, 0.5], [-1, 0.5]]\n".to_string()),
        ("initial-no-antipode", "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[0.6, 0.8], [-0.6, -0.8]]\n".to_string()),
    ];
    let mut ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    ids.sort_unstable();
    let mut known: Vec<&str> = hypothesis::KNOWN.iter().copied().filter(|&id| id != "initial-on-manifold").collect();
    known.sort_unstable();
    assert_eq!(ids, known, "a failing case for every hypothesis (initial-on-manifold cannot fail: zero tokens are bad input)");
    let mut report = String::new();
    for (id, toml) in &cases {
        let o = outcome(toml, id);
        assert_eq!(o.verdict, Verdict::Fails, "{id}: {}", o.detail);
        report += &format!("{id}: {}\n    witness: {}\n", o.detail, serde_json::to_string(&o.witness).unwrap());
    }
    insta::assert_snapshot!("failing_hypotheses", report);
}

/// Tokens exactly on a hemisphere's boundary: no open hemisphere holds them (Gordan).
#[test]
fn boundary_tokens_are_not_in_an_open_hemisphere() {
    let toml = "tokens = 2\ndim = 2\n[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[1, 0], [-1, 0]]\n";
    assert_eq!(hyp(toml, "initial-hemisphere").0, Verdict::Fails);
    let toml = "tokens = 3\ndim = 3\n[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[1, 0, 0], [0, 1, 0], [-1, -1, 0.000000000000000000001]]\n";
    assert_eq!(hyp(toml, "initial-hemisphere").0, Verdict::Holds, "a 1e-21 tilt out of the plane is enough");
}

/// `y_2 = −y_1` exactly is an antipode; a perturbation below f64 resolution is not.
#[test]
fn exact_antipodes() {
    let base = "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\n[initial]\n";
    assert_eq!(hyp(&format!("{base}tokens = [[0.6, 0.8], [-0.6, -0.8]]"), "initial-no-antipode").0, Verdict::Fails);
    assert_eq!(hyp(&format!("{base}tokens = [[0.6, 0.8], [-1.2, -1.6]]"), "initial-no-antipode").0, Verdict::Fails);
    assert_eq!(
        hyp(&format!("{base}tokens = [[0.6, 0.8], [-0.6, -0.80000000000000000001]]"), "initial-no-antipode").0,
        Verdict::Holds
    );
}

/// Asymmetry below `f64` resolution is asymmetry; equal decimals written differently are equal.
#[test]
fn decimal_symmetry_is_exact() {
    let v = |u: &str| hyp(&sys2(&format!("P = \"identity\"\nU = {u}"), ""), "value-symmetric").0;
    assert_eq!(v("[[1, 0.1], [0.10000000000000000001, 1]]"), Verdict::Fails);
    assert_eq!(v("[[1, 0.4965], [0.496500000000001, 1]]"), Verdict::Fails);
    assert_eq!(v("[[1, 0.1], [0.100, 1]]"), Verdict::Holds);
    assert_eq!(v("[[1, \"1/10\"], [0.1, 1]]"), Verdict::Holds);
    assert_eq!(v("[[1, \"sin(t)\"], [\"sin(t)\", 1]]"), Verdict::Holds);
}

/// `sin(t²)` is not uniformly continuous and must never be reported so; `sin(t)` is (L ≤ 1).
#[test]
fn uniform_continuity_is_never_claimed_wrongly() {
    let uc = |s: &str| hyp(&sys2(&format!("P = {{ scalar = \"{s}\", times = \"identity\" }}"), ""), "key-query-uniformly-continuous").0;
    assert_ne!(uc("sin(t^2)"), Verdict::Holds);
    assert_ne!(uc("cos(exp(t))"), Verdict::Holds);
    assert_eq!(uc("sin(t)"), Verdict::Holds);
    assert_eq!(uc("sqrt(t)"), Verdict::Holds, "derivative unbounded at 0, Lipschitz on [1, ∞)");
    assert_eq!(uc("abs(2*sin(0.3*t + 1))"), Verdict::Holds);
    assert_ne!(uc("sign(sin(t))"), Verdict::Holds);
}

/// Inputs from the soundness audit that once got a wrong verdict: each now gets a correct one
/// or an honest undecided.
#[test]
fn audit_regressions() {
    let tok = "[initial]\ntokens = [[1, 0.1], [1, -0.1]]\n";
    let sys = |p: &str| format!("tokens = 2\ndim = 2\n[[heads]]\nP = {p}\n{tok}");
    // P(t) = I for all t, written as a schedule whose first layer is sign(1 − t) on [0, 1): the
    // value of the left layer *at* the boundary (0) is not its left limit (1). Never "fails".
    let layered = sys("{ layers = [[[\"sign(1-t)\", 0], [0, 1]], [[1, 0], [0, 1]]], layer_time = 1, periodic = false }");
    assert_ne!(hyp(&layered, "key-query-uniformly-continuous").0, Verdict::Fails);
    let layered = sys("{ layers = [[[\"(1-t)/(1-t)\", 0], [0, 1]], [[1, 0], [0, 1]]], layer_time = 1, periodic = false }");
    assert_ne!(hyp(&layered, "key-query-uniformly-continuous").0, Verdict::Fails);
    // A tiny layer time: t/τ beyond 2⁶⁴ must not pick a wrong layer for a counter-witness.
    let tiny = sys("{ layers = [[[1, 0], [0, 1]], [[\"sign(3-t)^2\", 0], [0, 1]]], layer_time = 1e-300, periodic = true }");
    assert_ne!(hyp(&tiny, "key-query-constant").0, Verdict::Fails);
    // P undefined for t < 1: nothing is claimed for every t.
    let undefined = format!("tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = [[\"sin(sqrt(t-1))\", 0], [0, 1]]\n{tok}");
    assert_ne!(hyp(&undefined, "key-query-bounded").0, Verdict::Holds);
    assert_ne!(hyp(&sys("[[\"t/t\", 0], [0, 1]]"), "key-query-constant").0, Verdict::Fails);
    // Positive definiteness means xᵀPx > 0: [[1, 3], [0, 1]] is not (x = (1, −1)).
    assert_eq!(hyp(&sys("[[1, 3], [0, 1]]"), "key-query-positive-definite").0, Verdict::Fails);
    assert_ne!(hyp(&sys("[[1, \"3*sin(t)^2\"], [0, 1]]"), "key-query-positive-definite").0, Verdict::Holds);
    // 3^2000000000 is not expanded exactly (it hung).
    let start = std::time::Instant::now();
    let _ = hyp(&sys("[[\"3^2000000000\", 0], [0, 1]]"), "key-query-bounded");
    assert!(start.elapsed().as_secs() < 10);
}

/// A metric that is not positive definite is refused above d = 40 too (once a float Cholesky on
/// truncated values accepted it).
#[test]
fn large_indefinite_metric_is_refused() {
    let d = 41;
    let mut rows: Vec<Vec<String>> = (0..d).map(|i| (0..d).map(|j| if i == j { "1".to_string() } else { "0".to_string() }).collect()).collect();
    rows[0][1] = "1.0000000000000002".into();
    rows[1][0] = "1.0000000000000002".into();
    rows[1][1] = "1.000000000000000266".into();
    let metric = format!("[{}]", rows.iter().map(|r| format!("[{}]", r.join(", "))).collect::<Vec<_>>().join(", "));
    let token: Vec<&str> = (0..d).map(|i| if i == 2 { "1" } else { "0" }).collect();
    let toml = format!("tokens = 1\ndim = {d}\nmetric = {metric}\n[[heads]]\nP = \"zero\"\n[initial]\ntokens = [[{}]]\n", token.join(", "));
    let err = common::system_error(&toml);
    assert!(err.contains("metric") && err.contains("positive definite"), "{err}");
}

/// From the re-audit: a matrix with no value (`1/0`) is neither constant, symmetric nor
/// uniformly continuous: undecided, never holds.
#[test]
fn undefined_matrices_prove_nothing() {
    let sys = |head: &str| format!("tokens = 2\ndim = 2\n[[heads]]\n{head}\n[initial]\ntokens = [[1, 0.1], [1, -0.1]]\n");
    for (head, id) in [
        ("P = [[\"1/0\", 0], [0, 1]]", "key-query-uniformly-continuous"),
        ("P = [[\"sqrt(-1)\", 0], [0, 1]]", "key-query-constant"),
        ("P = { diag = [\"1/0\", \"1\"], times = \"identity\" }", "key-query-uniformly-continuous"),
        ("P = \"identity\"\nU = [[\"1/0\", 0], [0, 1]]", "value-constant"),
        ("P = \"identity\"\nU = [[1, \"1/(t-1)\"], [\"1/(t-1)\", 1]]", "value-symmetric"),
    ] {
        assert_eq!(hyp(&sys(head), id).0, Verdict::Undecided, "{head} {id}");
    }
}

/// Symmetry that holds by construction is decided, not left undecided (an auditor's case:
/// `s(t)·M` with a symmetric `M` stayed undecided because `sin` has no exact expansion).
#[test]
fn symmetric_by_construction_is_decided() {
    let sym = "[[2, 0.5], [0.5, 1]]";
    let holds = [
        format!("P = {{ scalar = \"1+0.5*sin(t)\", times = {sym} }}"),
        format!("P = {{ diag = [\"2+sin(t)\", \"2+sin(t)\"], times = {sym} }}"),
        "P = { diag = [\"2+sin(t)\", \"3+cos(t)\"], times = [[1, 0], [0, 2]] }".to_string(),
        "P = { diag = [\"2+sin(t)\", \"3+cos(t)\"], times = \"identity\" }".to_string(),
        format!("P = {{ layers = [{sym}, {{ scalar = \"1+0.5*sin(t)\", times = {sym} }}], layer_time = 0.5 }}"),
        "P = { scalar = \"2+cos(3*t)\", times = { random = { seed = 3, half_width = 1 }, make = \"symmetric\" } }".to_string(),
        format!("P = {{ layers = [{{ random = {{ seed = 4, half_width = 1 }}, make = \"symmetric\" }}, {sym}], layer_time = 1 }}"),
    ];
    for head in &holds {
        let (v, detail) = hyp(&sys2(head, ""), "key-query-symmetric");
        assert_eq!(v, Verdict::Holds, "{head}: {detail}");
    }
    // Not symmetric by construction: a non-scalar diagonal times a non-diagonal matrix is
    // refuted at a probe time, never claimed.
    let (v, detail) = hyp(&sys2(&format!("P = {{ diag = [\"2+sin(t)\", \"3+cos(t)\"], times = {sym} }}"), ""), "key-query-symmetric");
    assert_eq!(v, Verdict::Fails, "{detail}");
    let (v, _) = hyp(&sys2("P = { layers = [[[1, 0.5], [0.5, 1]], [[1, 0.5], [0.4, 1]]], layer_time = 0.5 }", ""), "key-query-symmetric");
    assert_ne!(v, Verdict::Holds);
}
