//! The command line as users and scripts see it.

mod common;

use std::process::Command;

fn attncert(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attncert"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run attncert");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The README's main command, verbatim.
#[test]
fn readme_main_command() {
    let (code, out, err) = attncert(&["simulate", "theorems/examples/sec7_3.toml", "--until", "50", "--at", "0,1,5,10,20,50"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("simulate_sec7_3_text", out);
}

#[test]
fn json_output_has_the_documented_shape() {
    let (code, out, err) = attncert(&["simulate", "theorems/examples/sec7_2.toml", "--at", "0,1,2", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let samples = v["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    for (s, t) in samples.iter().zip([0.0, 1.0, 2.0]) {
        assert_eq!(s["t"].as_f64(), Some(t));
        assert!(s["E"].as_f64().unwrap() >= 0.0);
        assert!(s["lyapunov"]["V_hemisphere"].as_f64().is_some());
    }
    assert!(v["stats"]["rhs_evals"].as_u64().unwrap() > 0);
}

#[test]
fn csv_file_output_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let (code, out, err) = attncert(&["simulate", "theorems/examples/sec7_1.toml", "--samples", "5", "--until", "2", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "t,E,V_P");
    assert_eq!(lines.len(), 6);
    assert!(lines[5].starts_with("2,"));
}

const RANDOM_SYSTEM: &str = "tokens = 4\ndim = 3\nattention = \"causal\"\n[[heads]]\n\
    P = { random = { seed = 5, half_width = 1 } }\n[initial]\nrandom = { seed = 6, law = \"sphere\" }\n";

/// Bulk runs: rows in run order, identical on repetition, different for another master seed.
#[test]
fn bulk_runs_are_ordered_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.toml");
    std::fs::write(&file, RANDOM_SYSTEM).unwrap();
    let f = file.to_str().unwrap();
    let run = |seed: &str| {
        let (code, out, err) = attncert(&["simulate", f, "--at", "0,1,3", "--runs", "6", "--seed", seed, "--format", "csv"]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let a = run("1");
    assert_eq!(a, run("1"));
    assert_ne!(a, run("2"));
    let lines: Vec<&str> = a.lines().collect();
    assert_eq!(lines[0], "run,t,E,V_cascade_2,V_cascade_max");
    assert_eq!(lines.len(), 1 + 6 * 3);
    for (k, line) in lines[1..].iter().enumerate() {
        assert!(line.starts_with(&format!("{},", k / 3)), "row {k}: {line}");
    }
    let (code, out, _) = attncert(&["simulate", f, "--at", "1", "--runs", "3", "--format", "json"]);
    assert_eq!(code, 0);
    for (r, line) in out.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["run"].as_u64(), Some(r as u64));
    }
}

/// `export` writes a JSON system file that reads back to the same system: simulating it gives
/// the same numbers, digit for digit (random draws round-trip as shortest decimals).
#[test]
fn export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sec7_2.toml", "sec7_3.toml"] {
        let src = format!("theorems/examples/{name}");
        let json = dir.path().join(format!("{name}.json"));
        let (code, _, err) = attncert(&["export", &src, "-o", json.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let a = attncert(&["simulate", &src, "--at", "0,2", "--format", "csv"]).1;
        let b = attncert(&["simulate", json.to_str().unwrap(), "--at", "0,2", "--format", "csv"]).1;
        assert_eq!(a, b, "{name}");
    }
    let file = dir.path().join("r.toml");
    std::fs::write(&file, RANDOM_SYSTEM).unwrap();
    let json = dir.path().join("r.json");
    assert_eq!(attncert(&["export", file.to_str().unwrap(), "-o", json.to_str().unwrap()]).0, 0);
    let a = attncert(&["simulate", file.to_str().unwrap(), "--at", "0,2", "--format", "csv"]).1;
    let b = attncert(&["simulate", json.to_str().unwrap(), "--at", "0,2", "--format", "csv"]).1;
    assert_eq!(a, b);
}

/// `--discrete`: each row is the layer reported, at its own time `k·τ`, with a `layer` column
/// (text, CSV, JSON); `t = 0.05` and `0.15` both report layer 1 with τ = 0.1, so both rows say
/// `t = 0.1` (they used to say 0.05 and 0.15).
#[test]
fn discrete_rows_show_the_layer_and_its_time() {
    let ex = "theorems/examples/sec7_2.toml";
    let base = ["simulate", ex, "--discrete", "--tau", "0.1", "--at", "0,0.05,0.15,1"];
    let (code, out, err) = attncert(&[&base[..], &["--format", "csv"]].concat());
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][..3], ["t", "layer", "E"]);
    let tl: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(tl, [("0", "0"), ("0.1", "1"), ("0.1", "1"), ("1", "10")]);
    let (code, out, _) = attncert(&base);
    assert_eq!(code, 0);
    let header = out.lines().nth(2).unwrap();
    assert!(header.split_whitespace().take(3).eq(["t", "layer", "E"]), "{header}");
    let row = out.lines().nth(4).unwrap();
    assert!(row.split_whitespace().take(2).eq(["0.1", "1"]), "{row}");
    let (code, out, _) = attncert(&[&base[..], &["--format", "json"]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["samples"][2];
    assert_eq!((s["t"].as_f64(), s["layer"].as_u64()), (Some(0.1), Some(1)));
    // The flow has no layer column.
    let (_, out, _) = attncert(&["simulate", ex, "--at", "0,1", "--format", "csv"]);
    assert!(out.starts_with("t,E,"), "{out}");
}

/// Monitors that are non-negative by definition are shown as 0 where rounding made them
/// negative (Section 7.2 at t = 100 printed `E = -2.220446e-16`); `V_P` (negative by definition)
/// and `V_hemisphere` with `W ≠ I` are left alone. CSV numbers are in the round-trip exponent
/// form (`E` near consensus used to come out as `0.0000000000164…`).
#[test]
fn nonnegative_monitors_and_csv_numbers() {
    let (code, out, err) = attncert(&["simulate", "theorems/examples/sec7_2.toml", "--at", "0,100", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    for line in out.lines().skip(1) {
        for field in line.split(',').skip(1) {
            assert!(!field.starts_with('-'), "negative value in {line}");
            assert!(field.contains('e'), "not in exponent form: {field} in {line}");
            let x: f64 = field.parse().unwrap();
            assert_eq!(format!("{x:e}"), field, "not the shortest round-trip form");
        }
    }
    let (_, text, _) = attncert(&["simulate", "theorems/examples/sec7_2.toml", "--at", "100"]);
    assert!(!text.contains("-2.2"), "{text}");
    let (_, json, _) = attncert(&["simulate", "theorems/examples/sec7_2.toml", "--at", "100", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["samples"][0]["E"].as_f64().unwrap() >= 0.0);
    let (_, out, _) = attncert(&["simulate", "theorems/examples/sec7_1.toml", "--at", "30", "--format", "csv"]);
    let row: Vec<f64> = out.lines().nth(1).unwrap().split(',').map(|f| f.parse().unwrap()).collect();
    assert!(row[1] > 0.0 && row[1] < 1e-10 && row[2] < -100.0, "E small positive, V_P negative: {row:?}");
}

/// The library side of the clamp: which monitors are non-negative by definition.
#[test]
fn nonnegative_by_definition() {
    use attncert::model::monitors;
    use attncert::simulate::nonnegative;
    let flags = |name: &str| {
        let sys = attncert::system::System::load(&common::repo(&format!("theorems/examples/{name}"))).unwrap();
        monitors(&sys).iter().map(|m| (m.name(), nonnegative(&sys, m))).collect::<Vec<_>>()
    };
    assert_eq!(flags("sec7_1.toml")[..2], [("E".into(), true), ("V_P".into(), false)]);
    assert!(flags("sec7_2.toml").iter().all(|(_, f)| *f));
    assert!(flags("sec7_3.toml").iter().all(|(_, f)| *f));
    // W = P ≠ I: a token on E_W may be longer than 1, so 1 − vᵀy_i < 0 is a real value.
    let sys = common::system(
        "tokens = 2\ndim = 2\nmetric = \"P\"\n[[heads]]\nP = [[0.25, 0], [0, 0.25]]\n[initial]\ntokens = [[1, 0.1], [1, -0.1]]\n",
    );
    let hemi = monitors(&sys).into_iter().find(|m| m.name() == "V_hemisphere").expect("a hemisphere monitor");
    assert!(!nonnegative(&sys, &hemi));
}

/// Spawns the binary with its standard output closed before it writes anything.
fn with_closed_stdout(args: &[&str]) -> (i32, String) {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_attncert"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run attncert");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A reader that goes away (`| head`) ends the output quietly: no "error: <stdout>: Broken
/// pipe", and the exit code the command would have had (bulk runs stop early).
#[test]
fn closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.toml");
    std::fs::write(&file, RANDOM_SYSTEM).unwrap();
    let f = file.to_str().unwrap();
    for (args, expected) in [
        (vec!["simulate", "theorems/examples/sec7_1.toml", "--samples", "2000", "--until", "1"], 0),
        (vec!["simulate", "theorems/examples/sec7_1.toml", "--samples", "2000", "--until", "1", "--format", "json"], 0),
        (vec!["simulate", f, "--runs", "100000", "--at", "0,1"], 0),
        (vec!["simulate", f, "--runs", "100000", "--at", "0,1", "--format", "json"], 0),
        (vec!["export", "theorems/examples/sec7_2.toml"], 0),
        (vec!["check", "theorems/examples/sec7_3.toml", "--theorem", "6.1"], 0),
        (vec!["check", "theorems/examples/sec7_1.toml", "--theorem", "6.1"], 1),
    ] {
        let (code, stderr) = with_closed_stdout(&args);
        assert_eq!(code, expected, "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// `--runs` passes `--kernel` to every run (it used to be ignored): `reduced` on a system it
/// does not apply to is refused as it is for one run.
#[test]
fn bulk_runs_honour_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("u.toml");
    std::fs::write(&file, RANDOM_SYSTEM.replace("[initial]", "U = { random = { seed = 9, half_width = 1 } }\n[initial]")).unwrap();
    let f = file.to_str().unwrap();
    let (code, _, err) = attncert(&["simulate", f, "--at", "1", "--kernel", "reduced"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, err2) = attncert(&["simulate", f, "--at", "1", "--kernel", "reduced", "--runs", "2"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(err, err2);
    let (code, _, err) = attncert(&["simulate", f, "--at", "1", "--kernel", "batched", "--runs", "2"]);
    assert_eq!(code, 0, "{err}");
}

/// The end of a bulk run sums up on standard error: runs, median and worst E at the final
/// time, wall time (standard output keeps only the rows).
#[test]
fn bulk_runs_print_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.toml");
    std::fs::write(&file, RANDOM_SYSTEM).unwrap();
    let (code, out, err) = attncert(&["simulate", file.to_str().unwrap(), "--at", "0,2", "--runs", "5"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1 + 5 * 2);
    let csv_e: Vec<f64> = out.lines().skip(1).filter(|l| l.split(',').nth(1) == Some("2")).map(|l| l.split(',').nth(2).unwrap().parse().unwrap()).collect();
    let mut sorted = csv_e.clone();
    sorted.sort_by(f64::total_cmp);
    let line = err.lines().last().unwrap_or_default();
    assert!(line.starts_with("5 runs; E at t = 2: median "), "{err}");
    assert!(line.contains(&format!("median {:.3e}, worst {:.3e}; wall time ", sorted[2], sorted[4])), "{line} vs {sorted:?}");
    assert!(line.ends_with(" s"), "{line}");
}

/// Output files get the permissions of an ordinary new file (0666 less the umask), where they
/// used to be 0600 whatever the umask; a replaced file keeps its mode (a 0644 file used to turn
/// 0600). Same `Sink` for every command's `-o/--out`.
#[cfg(unix)]
#[test]
fn output_files_honour_the_umask_and_keep_an_existing_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_attncert");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let sh = |umask: &str, args: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec '{bin}' {args}"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{args}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let a = dir.path().join("a.csv");
    let sim = |p: &std::path::Path| format!("simulate theorems/examples/sec7_1.toml --at 1 --out '{}'", p.display());
    sh("022", &sim(&a));
    assert_eq!(mode(&a), 0o644);
    let b = dir.path().join("b.csv");
    sh("077", &sim(&b));
    assert_eq!(mode(&b), 0o600);
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640)).unwrap();
    sh("077", &sim(&a));
    assert_eq!(mode(&a), 0o640, "an existing file keeps its mode");
    let c = dir.path().join("c.json");
    sh("022", &format!("export theorems/examples/sec7_1.toml -o '{}'", c.display()));
    assert_eq!(mode(&c), 0o644);
    let d = dir.path().join("d.json");
    sh("002", &format!("check theorems/examples/sec7_1.toml --theorem 3.2 -o '{}'", d.display()));
    assert_eq!(mode(&d), 0o664);
    // Nothing but the outputs is left (no temporary files).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
}
