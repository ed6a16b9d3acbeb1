//! Every kind of bad input gets exit code 2 and one clear message naming file, field and reason
//! (snapshots), never a panic, never a partial output file.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attncert")).args(args).current_dir(dir).output().expect("run attncert");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD_TAIL: &str = "[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[1, 0], [0, 1]]\n";

/// `(snapshot name, file name, contents)` of every bad-input case.
fn cases() -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("malformed_toml", "bad.toml", "tokens = 2\ndim = 2\n[[heads]\nP = \"identity\"\n".into()),
        ("malformed_json", "bad.json", "{\"tokens\": 2, \"dim\": 2,, }".into()),
        ("unknown_top_key", "bad.toml", format!("tokens = 2\ndim = 2\nheadz = 1\n{GOOD_TAIL}")),
        ("unknown_head_key", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = \"identity\"\nV = \"identity\"\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("nan_entry", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = [[nan, 0], [0, 1]]\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("infinite_entry", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = [[1, 0], [0, -inf]]\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("overflowing_literal_json", "bad.json", "{\"tokens\": 2, \"dim\": 2, \"heads\": [{\"P\": [[1e400, 0], [0, 1]]}], \"initial\": {\"tokens\": [[1, 0], [0, 1]]}}".into()),
        ("wrong_row_count", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = [[1, 0]]\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("wrong_row_length", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = [[1, 0, 0], [0, 1]]\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("wrong_token_count", "bad.toml", "tokens = 3\ndim = 2\n[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("wrong_diag_length", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = { diag = [\"t\"], times = \"identity\" }\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("metric_not_symmetric", "bad.toml", format!("tokens = 2\ndim = 2\nmetric = [[2, 0.4965], [0.496500000000001, 2]]\n{GOOD_TAIL}")),
        ("metric_not_symmetric_below_f64", "bad.toml", format!("tokens = 2\ndim = 2\nmetric = [[1, 0.1], [0.10000000000000000001, 1]]\n{GOOD_TAIL}")),
        ("metric_not_positive_definite", "bad.toml", format!("tokens = 2\ndim = 2\nmetric = [[1, 2], [2, 1]]\n{GOOD_TAIL}")),
        ("metric_p_time_varying", "bad.toml", "tokens = 2\ndim = 2\nmetric = \"P\"\n[[heads]]\nP = [[\"cos(t)\", 0], [0, 1]]\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("zero_token", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = \"identity\"\n[initial]\ntokens = [[1, 0], [0, 0.0]]\n".into()),
        ("expression_unclosed", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = [[\"2*cos(10*pi*t\", 0], [0, 1]]\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("expression_literal_exponent", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = { scalar = \"1 + 3e-1101*t\", times = \"identity\" }\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("expression_unknown_function", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = { scalar = \"1 + tan(t)\", times = \"identity\" }\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("zero_tokens", "bad.toml", format!("tokens = 0\ndim = 2\n{GOOD_TAIL}")),
        ("unknown_attention", "bad.toml", format!("tokens = 2\ndim = 2\nattention = \"sparse\"\n{GOOD_TAIL}")),
        ("no_heads", "bad.toml", "tokens = 2\ndim = 2\nheads = []\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("missing_initial", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = \"identity\"\n".into()),
        ("fractional_tokens", "bad.toml", format!("tokens = 2.5\ndim = 2\n{GOOD_TAIL}")),
        ("layer_time_zero", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = { layers = [\"identity\"], layer_time = 0 }\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
        ("random_law_mixup", "bad.toml", "tokens = 2\ndim = 2\n[[heads]]\nP = { random = { seed = 1, law = \"normal\", half_width = 1 } }\n[initial]\ntokens = [[1, 0], [0, 1]]\n".into()),
    ]
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = String::new();
    for (name, file, text) in cases() {
        std::fs::write(dir.path().join(file), &text).unwrap();
        let (code, stdout, stderr) = run(dir.path(), &["simulate", file, "--out", "result.csv"]);
        assert_eq!(code, 2, "{name}: exit code {code}, stderr: {stderr}");
        assert!(stdout.is_empty(), "{name}: printed to stdout: {stdout}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line expected: {stderr}");
        assert!(!dir.path().join("result.csv").exists(), "{name}: left an output file");
        all += &format!("{name}: {stderr}");
    }
    insta::assert_snapshot!("bad_input_messages", all);
}

/// A number inside an expression passes the same gate as a plain number (exponent within
/// ±1100), refused as the file is read with the same reason and the field path, by every
/// command that reads a system file; it used to be accepted, enclosed as the whole real line,
/// and left hypotheses undecided.
#[test]
fn expression_literals_pass_the_plain_literal_gate() {
    let dir = tempfile::tempdir().unwrap();
    let head = "tokens = 2\ndim = 2\n[[heads]]\n";
    let tail = "[initial]\ntokens = [[1, 0], [0, 1]]\n";
    let files = [
        ("in_expression.toml", format!("{head}P = [[\"1e-99999\", \"0\"], [\"0\", \"1\"]]\n{tail}")),
        ("plain.toml", format!("{head}P = [[1e-99999, 0], [0, 1]]\n{tail}")),
        (
            "in_expression.json",
            r#"{"tokens": 2, "dim": 2, "heads": [{"P": {"scalar": "2e5000*cos(t)", "times": "identity"}}], "initial": {"tokens": [[1, 0], [0, 1]]}}"#.into(),
        ),
    ];
    let mut all = String::new();
    for (file, text) in &files {
        std::fs::write(dir.path().join(file), text).unwrap();
        let mut messages = Vec::new();
        for args in [
            vec!["check", file, "--out", "out.txt"],
            vec!["simulate", file, "--out", "out.csv"],
            vec!["certify", "--theorem", "3.2", "--out", "out.json", file],
            vec!["export", file, "--out", "out.json"],
        ] {
            let (code, stdout, stderr) = run(dir.path(), &args);
            assert_eq!(code, 2, "{args:?}: exit code {code}, stderr: {stderr}");
            assert!(stdout.is_empty(), "{args:?}: printed to stdout: {stdout}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{args:?}: one line expected: {stderr}");
            for out in ["out.txt", "out.csv", "out.json"] {
                assert!(!dir.path().join(out).exists(), "{args:?}: left {out}");
            }
            messages.push(stderr);
        }
        assert!(messages.iter().all(|m| m == &messages[0]), "{file}: commands disagree: {messages:?}");
        all += &messages[0];
    }
    insta::assert_snapshot!("expression_literal_gate_messages", all);
}

#[test]
fn missing_file_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(dir.path(), &["simulate", "nope.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: nope.toml: cannot read the file"), "{stderr}");
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("theorems/examples/sec7_1.toml");
    let ex = ex.to_str().unwrap();
    for args in [
        vec!["simulate", ex, "--rtol", "-1"],
        vec!["simulate", ex, "--at", "1,0.5"],
        vec!["simulate", ex, "--at", "2", "--until", "1"],
        vec!["simulate", ex, "--discrete", "--tau", "0"],
        vec!["simulate", ex, "--runs", "3"],
        vec!["frobnicate", ex],
    ] {
        let (code, _, stderr) = run(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A run that fails half-way (the trajectory overflows) exits 1 and leaves no output file.
#[test]
fn failed_run_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("blowup.toml"),
        "tokens = 2\ndim = 2\n[[heads]]\nP = { scalar = \"exp(exp(exp(t)))\", times = \"identity\" }\n\
         [initial]\ntokens = [[1, 0], [0.6, 0.8]]\n",
    )
    .unwrap();
    let (code, _, stderr) = run(dir.path(), &["simulate", "blowup.toml", "--until", "20", "--out", "out.json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("blowup.toml")], "files left: {left:?}");
}

/// Runs from the repository root (relative example paths keep the messages stable).
fn run_repo(args: &[&str]) -> (i32, String, String) {
    run(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Oversized work is refused up front (exit 2, one line saying what is too large and what to
/// change), where it used to run for ever (1e300 layer maps or RK4 steps), panic ("capacity
/// overflow", exit 101), abort on allocation (exit 134), or blame stiffness for a horizon beyond
/// double precision (exit 1). No output file is left behind.
#[test]
fn oversized_work_is_refused_up_front() {
    let ex = "theorems/examples/sec7_1.toml";
    let random = "theorems/examples/sec7_4.toml";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out = out.to_str().unwrap();
    let mut all = String::new();
    for (name, args) in [
        ("discrete_tiny_tau", vec!["simulate", ex, "--discrete", "--tau", "1e-300", "--until", "1"]),
        ("discrete_subnormal_tau", vec!["simulate", ex, "--discrete", "--tau", "1e-320", "--until", "1"]),
        ("discrete_long_horizon", vec!["simulate", ex, "--discrete", "--tau", "0.1", "--until", "1e300"]),
        ("rk4_tiny_step", vec!["simulate", ex, "--method", "rk4", "--step", "1e-300", "--until", "1"]),
        ("rk4_long_horizon", vec!["simulate", ex, "--method", "rk4", "--until", "1e12"]),
        ("samples_u64_max", vec!["simulate", ex, "--samples", "18446744073709551615"]),
        ("samples_1e11", vec!["simulate", ex, "--samples", "100000000000"]),
        ("horizon_beyond_doubles", vec!["simulate", ex, "--at", "1e308"]),
        ("horizon_beyond_doubles_dop853", vec!["simulate", ex, "--until", "1e20", "--method", "dop853"]),
        ("runs_huge", vec!["simulate", random, "--runs", "18446744073709551615"]),
        ("runs_times_samples", vec!["simulate", random, "--runs", "1000000", "--samples", "1000"]),
    ] {
        let mut args = args;
        args.extend(["--out", out]);
        let (code, stdout, stderr) = run_repo(&args);
        assert_eq!(code, 2, "{name}: exit code {code}, stderr: {stderr}");
        assert!(stdout.is_empty(), "{name}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line expected: {stderr}");
        assert!(!Path::new(out).exists(), "{name}: left an output file");
        all += &format!("{name}: {stderr}");
    }
    insta::assert_snapshot!("oversized_work_messages", all);
}

/// A flag that would have no effect with the others is refused (exit 2, one line naming it),
/// where it used to be ignored silently; the same flags are accepted where they apply.
#[test]
fn flags_without_effect_are_refused() {
    let ex = "theorems/examples/sec7_1.toml";
    let mut all = String::new();
    for (name, args) in [
        ("tau_without_discrete", vec!["--tau", "0.1"]),
        ("discrete_without_tau", vec!["--discrete"]),
        ("method_with_discrete", vec!["--discrete", "--tau", "0.1", "--method", "dopri5"]),
        ("rtol_with_discrete", vec!["--discrete", "--tau", "0.1", "--rtol", "1e-6"]),
        ("step_with_discrete", vec!["--discrete", "--tau", "0.1", "--step", "0.01"]),
        ("samples_with_at", vec!["--at", "0,1", "--samples", "5"]),
        ("step_with_default_method", vec!["--step", "0.01"]),
        ("step_with_dop853", vec!["--method", "dop853", "--step", "0.01"]),
        ("rtol_with_rk4", vec!["--method", "rk4", "--rtol", "1e-6"]),
        ("atol_with_rk4", vec!["--method", "rk4", "--atol", "1e-6"]),
        ("seed_without_runs", vec!["--seed", "3"]),
        ("format_against_extension", vec!["--format", "csv", "--out", "x.json"]),
        ("format_against_no_extension", vec!["--format", "json", "--out", "results"]),
    ] {
        let mut full = vec!["simulate", ex, "--until", "0.1"];
        full.extend(args);
        let (code, stdout, stderr) = run_repo(&full);
        assert_eq!(code, 2, "{name}: exit code {code}, stderr: {stderr}");
        assert!(stdout.is_empty(), "{name}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line expected: {stderr}");
        all += &format!("{name}: {stderr}");
    }
    insta::assert_snapshot!("flags_without_effect_messages", all);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    for args in [
        vec!["--discrete", "--tau", "0.05"],
        vec!["--method", "rk4", "--step", "0.01"],
        vec!["--method", "dop853", "--rtol", "1e-8", "--atol", "1e-10"],
        vec!["--rtol", "1e-8"],
        vec!["--samples", "3"],
        vec!["--at", "0,0.1"],
        vec!["--format", "csv", "--out", csv.to_str().unwrap()],
    ] {
        let mut full = vec!["simulate", ex, "--until", "0.1"];
        full.extend(args.iter().copied());
        let (code, _, stderr) = run_repo(&full);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
}

/// `check` writes text or JSON only: `--format csv` is refused by the parser, and so is a
/// `.csv` output file or a `--format` disagreeing with the extension (it used to print text).
#[test]
fn check_formats_are_text_and_json() {
    let ex = "theorems/examples/sec7_1.toml";
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (csv, txt, json) = (p("c.csv"), p("c.txt"), p("c.json"));
    for args in [
        vec!["check", ex, "--format", "csv"],
        vec!["check", ex, "--out", &csv],
        vec!["check", ex, "--format", "json", "--out", &txt],
        vec!["check", ex, "--format", "text", "--out", &json],
    ] {
        let (code, stdout, stderr) = run_repo(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty() && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "an output file was left");
    let (code, out, _) = run_repo(&["check", ex, "--theorem", "3.2", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    let (code, _, _) = run_repo(&["check", ex, "--theorem", "3.2", "--format", "json", "--out", &json]);
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&json).unwrap()).is_ok());
}
