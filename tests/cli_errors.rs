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
