//! Pictures and data of runs: `attncert plot` (SVG snapshots on hand-written run files, so the
//! integrators can change without touching them; PNG smoke tests that decode the file),
//! `simulate --tokens` (layout, and the tokens agree with the monitors), `export --run` (the
//! exported run simulates to the batch's run, bit for bit), and bad input (exit 2, one line, no
//! picture left behind).

use std::path::Path;
use std::process::Command;

use attncert::plot::{self, Image, Options};
use attncert::report::runfile::{self, RunFile};

fn attncert(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attncert")).args(args).current_dir(dir).output().expect("run attncert");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("theorems/examples").join(name).to_str().unwrap().to_string()
}

/// One run: `E` reaches 0 (rounding at consensus) at the last sample, so it is drawn at the
/// floor with a note; two Lyapunov functions.
const ONE_RUN: &str = "t,E,V_eigen_1,V_eigen_max\n0,0.5,0.1,0.9\n1,0.05,0.01,0.2\n2,1e-6,1e-7,1e-4\n3,0,2e-12,1e-9\n";
/// A batch of three runs with shared times.
const RUNS: &str = "run,t,E\n0,0,0.9\n0,5,0.1\n0,10,0.001\n1,0,0.8\n1,5,0.3\n1,10,0.02\n2,0,0.95\n2,5,0.05\n2,10,1e-4\n";
/// Two tokens on the sphere meeting at (0, 0, 1).
const TOKENS: &str = r#"{"system": "two tokens", "tokens": 2, "dim": 3, "samples": [
  {"t": 0, "y": [[1, 0, 0], [0, 1, 0]]},
  {"t": 1, "y": [[0.6, 0, 0.8], [0, 0.6, 0.8]]},
  {"t": 2, "y": [[0, 0, 1], [0, 0, 1]]}]}"#;

fn parse(name: &str, text: &str) -> RunFile {
    let p = Path::new(name);
    if name.ends_with(".csv") {
        runfile::parse_csv(p, text).unwrap()
    } else {
        runfile::parse_json(p, text).unwrap()
    }
}

fn svg(name: &str, text: &str) -> String {
    let bytes = plot::render(&parse(name, text), Path::new(name), &Options { image: Image::Svg, title: None }).unwrap();
    String::from_utf8(bytes).unwrap()
}

/// The SVG is the same on every run and machine (no time stamps, no system fonts): snapshots.
#[test]
fn svg_snapshots() {
    let one = svg("one.csv", ONE_RUN);
    assert_eq!(one, svg("one.csv", ONE_RUN));
    assert!(one.contains("E ≤ 0 at 1 of 4 samples"), "the floor is said");
    insta::assert_snapshot!("plot_one_run_svg", one);
    let runs = svg("runs.csv", RUNS);
    assert!(runs.contains("E(t) of 3 runs") && runs.contains("median") && runs.contains("10–90% of runs"));
    insta::assert_snapshot!("plot_runs_svg", runs);
    let tokens = svg("tokens.json", TOKENS);
    assert!(tokens.contains("two tokens: token paths"));
    insta::assert_snapshot!("plot_tokens_svg", tokens);
}

/// Every kind of picture as PNG: a PNG file of the figure's size with something drawn on it.
#[test]
fn png_decodes() {
    for (name, text) in [("one.csv", ONE_RUN), ("runs.csv", RUNS), ("tokens.json", TOKENS)] {
        let bytes = plot::render(&parse(name, text), Path::new(name), &Options { image: Image::Png, title: Some("t".into()) }).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes)).read_info().unwrap();
        let (w, h) = (reader.info().width, reader.info().height);
        assert!(w >= 700 && h >= 400, "{name}: {w}×{h}");
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let dark = buf.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count();
        assert!(dark > 1000, "{name}: only {dark} dark pixels");
    }
}

/// A single sample draws (a point on a widened axis); a batch of one run has no band.
#[test]
fn degenerate_inputs_draw() {
    for (name, text) in [("a.csv", "t,E\n0,0.5\n"), ("b.csv", "run,t,E\n4,0,0.5\n4,1,0.25\n"), ("c.csv", "t,E\n0,0\n1,0\n"), ("d.csv", "t,E,V_P\n0,1,-3\n1,0.5,-4\n")] {
        let s = svg(name, text);
        assert!(s.starts_with("<svg"), "{name}");
    }
    assert!(svg("d.csv", "t,E,V_P\n0,1,-3\n1,0.5,-4\n").contains("−V_P"));
}

/// `--tokens`: one row per time and token, tokens numbered from 1, d coordinates, on the unit
/// sphere (W = I); the JSON holds the same numbers; `E` from the tokens is the monitor's `E`.
#[test]
fn tokens_layout() {
    let dir = tempfile::tempdir().unwrap();
    let ex = example("sec7_3.toml");
    let (code, _, err) = attncert(dir.path(), &["simulate", &ex, "--at", "0,1,5", "--out", "m.csv", "--tokens", "y.csv"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = attncert(dir.path(), &["simulate", &ex, "--at", "0,1,5", "--out", "m.json", "--tokens", "y.json"]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(dir.path().join("y.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "t,token,x1,x2,x3");
    assert_eq!(lines.len(), 1 + 3 * 10);
    assert!(lines[1].starts_with("0,1,") && lines[10].starts_with("0,10,") && lines[11].starts_with("1,1,"));
    let RunFile::Tokens(a) = runfile::read(&dir.path().join("y.csv")).unwrap() else { panic!("not tokens") };
    let RunFile::Tokens(b) = runfile::read(&dir.path().join("y.json")).unwrap() else { panic!("not tokens") };
    assert_eq!(a.y, b.y, "CSV and JSON hold the same doubles");
    assert_eq!((a.dim, a.t.clone(), b.system.as_deref()), (3, vec![0.0, 1.0, 5.0], Some("Section 7.3: Theorem 6.1")));
    let RunFile::Monitors(m) = runfile::read(&dir.path().join("m.csv")).unwrap() else { panic!("not monitors") };
    for (i, sample) in a.y.iter().enumerate() {
        for p in sample {
            assert!((p.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let cols: Vec<&[f64]> = sample.iter().map(Vec::as_slice).collect();
        let e = attncert::model::lyapunov::misalignment(&cols);
        assert!((e - m.runs[0].values[0][i]).abs() < 1e-14, "E at sample {i}: {e} vs {}", m.runs[0].values[0][i]);
    }
    // The discrete model adds its layer column.
    let (code, _, err) = attncert(dir.path(), &["simulate", &ex, "--discrete", "--tau", "0.5", "--at", "0,1", "--tokens", "d.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(dir.path().join("d.csv")).unwrap().starts_with("t,layer,token,x1,x2,x3\n0,0,1,"));
}

/// `export --run r --seed S` writes the system run r of `simulate --runs N --seed S`
/// simulates: simulating it gives that run's rows, digit for digit.
#[test]
fn export_run_is_the_batch_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        "tokens = 4\ndim = 3\nattention = \"causal\"\n[[heads]]\nP = { random = { seed = 5, half_width = 1 } }\n\
         [initial]\nrandom = { seed = 6, law = \"sphere\" }\n",
    )
    .unwrap();
    let (code, batch, err) = attncert(dir.path(), &["simulate", "r.toml", "--at", "0,1,3", "--runs", "5", "--seed", "11", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    for r in [0, 3] {
        let (code, _, err) = attncert(dir.path(), &["export", "r.toml", "--run", &r.to_string(), "--seed", "11", "-o", "one.json"]);
        assert_eq!(code, 0, "{err}");
        let (code, one, err) = attncert(dir.path(), &["simulate", "one.json", "--at", "0,1,3", "--format", "csv"]);
        assert_eq!(code, 0, "{err}");
        let want: Vec<String> = batch.lines().skip(1).filter_map(|l| l.strip_prefix(&format!("{r},")).map(str::to_string)).collect();
        let got: Vec<String> = one.lines().skip(1).map(str::to_string).collect();
        assert_eq!(got, want, "run {r}");
        let text = std::fs::read_to_string(dir.path().join("one.json")).unwrap();
        assert!(text.contains(&format!("(run {r} of --runs, --seed 11)")));
    }
    // The exported run is an ordinary system file: `check` reads it.
    let (code, _, err) = attncert(dir.path(), &["check", "one.json", "--theorem", "5.1"]);
    assert!([0, 1, 3].contains(&code), "{err}");
}

/// Simulate, then plot, for each output kind, as a user does.
#[test]
fn simulate_then_plot() {
    let dir = tempfile::tempdir().unwrap();
    let ex = example("sec7_1.toml");
    let random = example("scale_50x3.toml");
    for args in [
        vec!["simulate", &ex, "--until", "5", "--out", "a.json", "--tokens", "a_tokens.csv"],
        vec!["simulate", &ex, "--until", "5", "--out", "a.csv"],
        vec!["simulate", &random, "--at", "0,0.5,1", "--runs", "3", "--out", "b.csv"],
        vec!["simulate", &random, "--at", "0,0.5,1", "--runs", "3", "--out", "b.jsonl"],
    ] {
        let (code, _, err) = attncert(dir.path(), &args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    for (input, out) in [("a.json", "a.svg"), ("a_tokens.csv", "t.png"), ("a.csv", "a.png"), ("b.csv", "b.svg"), ("b.jsonl", "c.png")] {
        let (code, stdout, err) = attncert(dir.path(), &["plot", input, "-o", out]);
        assert_eq!(code, 0, "{input}: {err}");
        assert!(stdout.is_empty() && err.is_empty(), "{input}: {stdout}{err}");
        assert!(std::fs::metadata(dir.path().join(out)).unwrap().len() > 1000);
    }
    let svg = std::fs::read_to_string(dir.path().join("a.svg")).unwrap();
    assert!(svg.contains("Section 7.1"), "the title is the system's name");
    let (code, _, err) = attncert(dir.path(), &["plot", "a.csv", "-o", "x.img", "--format", "svg", "--title", "My run"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(dir.path().join("x.img")).unwrap().contains("My run"));
}

/// Bad input: exit 2, one line naming the file (and line and column where there is one), no
/// picture left behind, never a panic.
#[test]
fn bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("empty.csv", ""),
        ("header_only.csv", "t,E\n"),
        ("garbage.csv", "hello,world\n1,2\n"),
        ("nan.csv", "t,E\n0,0.5\n1,NaN\n"),
        ("negative_time.csv", "t,E\n-1,0.5\n1,0.25\n"),
        ("short_row.csv", "t,E,V_P\n0,0.5,-1\n1,0.4\n"),
        ("text_table.csv", "# Section 7.3\n         t               E\n"),
        ("empty.json", ""),
        ("broken.json", "{\"samples\": [ {\"t\": 0, \"E\": 0.5 }"),
        ("wrong.json", "[1, 2, 3]"),
        ("bad_line.jsonl", "{\"run\":0,\"t\":0,\"E\":1}\n{\"run\":0,\"t\":1,\"E\":\"x\"}\n"),
        ("tokens_d5.json", "{\"samples\": [{\"t\": 0, \"y\": [[1, 0, 0, 0, 0]]}]}"),
        ("run.txt", "t,E\n0,1\n"),
    ];
    let mut all = String::new();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
        let (code, stdout, stderr) = attncert(dir.path(), &["plot", name, "-o", "fig.svg"]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stdout.is_empty() && !stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.starts_with(&format!("error: {name}")), "{name}: {stderr}");
        assert!(!dir.path().join("fig.svg").exists(), "{name}: left a picture");
        all += &stderr;
    }
    std::fs::write(dir.path().join("ok.csv"), "t,E\n0,1\n").unwrap();
    for args in [
        vec!["plot", "missing.csv", "-o", "fig.svg"],
        vec!["plot", "ok.csv", "-o", "fig.jpg"],
        vec!["plot", "ok.csv", "-o", "fig.svg", "--format", "png"],
        vec!["simulate", "ok.csv", "--tokens", "y.txt"],
    ] {
        let (code, _, stderr) = attncert(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(!dir.path().join("fig.svg").exists() && !dir.path().join("fig.jpg").exists());
        all += &stderr;
    }
    let random = example("scale_50x3.toml");
    let (code, _, stderr) = attncert(dir.path(), &["simulate", &random, "--runs", "2", "--tokens", "y.csv"]);
    assert_eq!(code, 2, "{stderr}");
    all += &stderr;
    insta::assert_snapshot!("plot_bad_input_messages", all);
}

/// Extreme but valid numbers still draw: huge and tiny times and values, subnormals.
#[test]
fn extreme_numbers_draw() {
    for text in [
        "t,E\n0,1\n1.7976931348623157e308,2\n",
        "t,E\n1.7976931348623157e308,2\n",
        "t,E\n0,1e-310\n1,1.5e308\n",
        "t,E\n0,5e-324\n1,1e308\n",
        "t,E\n1e300,1\n",
        "run,t,E\n0,0,1e-300\n1,0,1e300\n",
        "t,token,x1,x2,x3\n0,1,1e300,0,0\n0,2,0,0,0\n",
        "t,token,x1,x2\n0,1,5e-324,0\n",
    ] {
        let file = runfile::parse_csv(Path::new("x.csv"), text).unwrap();
        for image in [Image::Svg, Image::Png] {
            let r = plot::render(&file, Path::new("x.csv"), &Options { image, title: None });
            assert!(r.is_ok(), "{text}: {:?}", r.err());
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(400))]
    /// The reader and the picture on arbitrary CSV-like text: an error or a drawing, never a
    /// panic (the fuzz target `run_file` does the same on any bytes).
    #[test]
    fn reader_and_plot_never_panic(
        header in proptest::prop_oneof![
            proptest::strategy::Just("t,E\n"), proptest::strategy::Just("run,t,E,V_P\n"), proptest::strategy::Just("t,layer,E\n"),
            proptest::strategy::Just("t,token,x1,x2,x3\n"), proptest::strategy::Just("t,token,x1,x2\n"), proptest::strategy::Just("")
        ],
        body in "[0-9eE.,+ \n-]{0,160}",
    ) {
        let text = format!("{header}{body}");
        if let Ok(file) = runfile::parse_csv(Path::new("p.csv"), &text) {
            let _ = plot::render(&file, Path::new("p.csv"), &Options { image: Image::Svg, title: None });
        }
    }
}
