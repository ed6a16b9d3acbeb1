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
