//! Reading back what `attncert simulate` wrote, for `attncert plot`: the CSV and JSON of one
//! run, the CSV and JSON Lines of `--runs`, and the tokens of `--tokens`.
//!
//! Untrusted input (a file may have been edited, cut short or be something else entirely):
//! every problem is an [`InputError`] naming the file, the line or sample and the column, and
//! nothing here panics (`fuzz/fuzz_targets/run_file.rs`). Values must be finite numbers:
//! `simulate` never writes anything else, so a NaN is a damaged file, not a point to skip.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::InputError;

/// One trajectory's monitors: `values[k][i]` is monitor `k` at time `t[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run number of a `--runs` batch; `None` for a single run.
    pub id: Option<u64>,
    pub t: Vec<f64>,
    pub values: Vec<Vec<f64>>,
}

/// Monitors of one run or of a batch: `names[0]` is `E`, the rest the Lyapunov functions.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitors {
    /// The system's name, where the file says it (single-run JSON).
    pub system: Option<String>,
    pub names: Vec<String>,
    /// In run order; one run without an id for a single run.
    pub runs: Vec<Run>,
}

/// Token positions at sample times: `y[i][j]` is token `j + 1` at time `t[i]` (`dim` numbers).
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub system: Option<String>,
    pub dim: usize,
    pub t: Vec<f64>,
    pub y: Vec<Vec<Vec<f64>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunFile {
    Monitors(Monitors),
    Tokens(Tokens),
}

/// Reads a run file; the extension says CSV (`.csv`) or JSON (`.json`, `.jsonl`).
pub fn read(path: &Path) -> Result<RunFile, InputError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let json = match ext.as_deref() {
        Some("csv") => false,
        Some("json") | Some("jsonl") => true,
        _ => {
            return Err(InputError::new(
                path,
                "",
                "plot reads the CSV (.csv) or JSON (.json, .jsonl) that `attncert simulate --out` writes; \
                 the extension of this file says neither",
            ))
        }
    };
    let text = std::fs::read_to_string(path).map_err(|e| InputError::new(path, "", format!("cannot read the file: {e}")))?;
    if json {
        parse_json(path, &text)
    } else {
        parse_csv(path, &text)
    }
}

fn err(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> InputError {
    InputError::new(path, field, reason)
}

/// A finite number from CSV text.
fn number(path: &Path, line: usize, col: &str, s: &str) -> Result<f64, InputError> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(x) => Err(err(path, format!("line {line}, column {col}"), format!("{x} is not a finite number (simulate writes none: a damaged file?)"))),
        Err(_) => Err(err(path, format!("line {line}, column {col}"), format!("cannot read '{}' as a number", clip(s)))),
    }
}

/// At most 40 characters of a field, for messages.
fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        s.chars().take(40).collect::<String>() + "…"
    }
}

fn integer(path: &Path, line: usize, col: &str, s: &str) -> Result<u64, InputError> {
    s.trim().parse::<u64>().map_err(|_| err(path, format!("line {line}, column {col}"), format!("cannot read '{}' as a whole number ≥ 0", clip(s))))
}

/// The CSV of `simulate` (`t[,layer],E,…`), of `--runs` (`run,t[,layer],E,…`) or of
/// `--tokens` (`t[,layer],token,x1,…`).
pub fn parse_csv(path: &Path, text: &str) -> Result<RunFile, InputError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(err(path, "", "the file is empty: no header line, no samples"));
    };
    if header.trim_start().starts_with('#') {
        return Err(err(path, "line 1", "this is the text table of `simulate` (for people); write CSV or JSON with --out RUN.csv or RUN.json"));
    }
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let rows: Vec<(usize, Vec<&str>)> = lines.map(|(n, l)| (n, l.split(',').collect())).collect();
    for (n, r) in &rows {
        if r.len() != cols.len() {
            return Err(err(path, format!("line {n}"), format!("{} fields, but the header has {} ({})", r.len(), cols.len(), clip(header))));
        }
    }
    let find = |name: &str| cols.iter().position(|c| *c == name);
    let Some(ti) = find("t") else {
        return Err(err(path, "line 1", format!("no column 't' in the header '{}': not a file of `attncert simulate`", clip(header))));
    };
    if rows.is_empty() {
        return Err(err(path, "", "the file has a header but no samples"));
    }
    if let Some(tok) = find("token") {
        return csv_tokens(path, &cols, ti, tok, &rows);
    }
    let Some(ei) = find("E") else {
        return Err(err(path, "line 1", format!("no column 'E' (nor 'token') in the header '{}': not a file of `attncert simulate`", clip(header))));
    };
    let run_col = find("run");
    let layer_col = find("layer");
    // E first, then the Lyapunov functions in the file's order.
    let mut monitor_cols = vec![ei];
    monitor_cols.extend((0..cols.len()).filter(|&k| k != ei && k != ti && Some(k) != run_col && Some(k) != layer_col));
    let names: Vec<String> = monitor_cols.iter().map(|&k| cols[k].to_string()).collect();
    let mut runs: BTreeMap<u64, Run> = BTreeMap::new();
    for (n, r) in &rows {
        let id = match run_col {
            Some(k) => Some(integer(path, *n, "run", r[k])?),
            None => None,
        };
        if let Some(k) = layer_col {
            integer(path, *n, "layer", r[k])?;
        }
        let t = number(path, *n, "t", r[ti])?;
        let run = runs.entry(id.unwrap_or(0)).or_insert_with(|| Run { id, t: vec![], values: vec![vec![]; monitor_cols.len()] });
        push_time(path, &format!("line {n}"), run, t)?;
        for (v, &k) in run.values.iter_mut().zip(&monitor_cols) {
            v.push(number(path, *n, cols[k], r[k])?);
        }
    }
    Ok(RunFile::Monitors(Monitors { system: None, names, runs: runs.into_values().collect() }))
}

/// `simulate` starts at `t = 0`: a negative time is a damaged or foreign file.
fn nonnegative_time(path: &Path, at: &str, t: f64) -> Result<f64, InputError> {
    if t >= 0.0 {
        Ok(t)
    } else {
        Err(err(path, at, format!("time {t} is negative: `attncert simulate` starts at t = 0")))
    }
}

/// Appends `t` to a run's times: they must not decrease (a repeat of a run number, e.g. two
/// batches pasted together, shows up as time going back).
fn push_time(path: &Path, at: &str, run: &mut Run, t: f64) -> Result<(), InputError> {
    let t = nonnegative_time(path, at, t)?;
    if let Some(&last) = run.t.last() {
        if t < last {
            let which = run.id.map_or(String::new(), |r| format!(" of run {r}"));
            return Err(err(path, at, format!("time {t} comes after {last}{which}: times must not decrease (two batches with the same run numbers?)")));
        }
    }
    run.t.push(t);
    Ok(())
}

fn csv_tokens(path: &Path, cols: &[&str], ti: usize, tok: usize, rows: &[(usize, Vec<&str>)]) -> Result<RunFile, InputError> {
    let coord: Vec<usize> = (0..cols.len()).filter(|&k| k != ti && k != tok && cols[k] != "layer").collect();
    if coord.is_empty() {
        return Err(err(path, "line 1", "a tokens file needs coordinate columns x1, …, xd after 'token'"));
    }
    let mut t: Vec<f64> = vec![];
    let mut y: Vec<Vec<Vec<f64>>> = vec![];
    for (n, r) in rows {
        let time = nonnegative_time(path, &format!("line {n}, column t"), number(path, *n, "t", r[ti])?)?;
        let j = integer(path, *n, "token", r[tok])?;
        let point = coord.iter().map(|&k| number(path, *n, cols[k], r[k])).collect::<Result<Vec<f64>, _>>()?;
        // Token 1 opens a new sample; the others continue the current one in order.
        if j == 1 {
            if let Some(&last) = t.last() {
                if time < last {
                    return Err(err(path, format!("line {n}"), format!("time {time} comes after {last}: times must not decrease")));
                }
            }
            t.push(time);
            y.push(vec![point]);
            continue;
        }
        let (Some(&now), Some(cur)) = (t.last(), y.last_mut()) else {
            return Err(err(path, format!("line {n}, column token"), format!("token {j} before token 1: each sample time lists tokens 1, 2, … in order")));
        };
        if time != now || j != cur.len() as u64 + 1 {
            return Err(err(
                path,
                format!("line {n}"),
                format!("token {j} at t = {time}, expected token {} at t = {now}: each sample time lists tokens 1, 2, … in order", cur.len() + 1),
            ));
        }
        cur.push(point);
    }
    check_token_counts(path, &y)?;
    Ok(RunFile::Tokens(Tokens { system: None, dim: coord.len(), t, y }))
}

/// Every sample must hold the same tokens.
fn check_token_counts(path: &Path, y: &[Vec<Vec<f64>>]) -> Result<(), InputError> {
    let l = y.first().map_or(0, Vec::len);
    if let Some((i, s)) = y.iter().enumerate().find(|(_, s)| s.len() != l) {
        return Err(err(path, format!("sample {i}"), format!("{} tokens, but the first sample has {l}", s.len())));
    }
    Ok(())
}

/// The JSON of one run (`{ "system", "samples": [ { "t", "E", "lyapunov" } ] }`), of
/// `--tokens` (`"samples": [ { "t", "y" } ]`), or the JSON Lines of `--runs`.
pub fn parse_json(path: &Path, text: &str) -> Result<RunFile, InputError> {
    if text.trim().is_empty() {
        return Err(err(path, "", "the file is empty: no samples"));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) if o.contains_key("samples") => json_document(path, &o),
        Ok(Value::Object(o)) if o.contains_key("run") => json_lines(path, text),
        Ok(_) => Err(err(path, "", "a JSON value but not a run of `attncert simulate` (no \"samples\", no \"run\")")),
        // Several values, one per line: the JSON Lines of `--runs` (or a damaged document).
        Err(_) if text.trim_start().starts_with('{') && text.trim().lines().count() > 1 && !text.contains("\"samples\"") => json_lines(path, text),
        Err(e) => Err(err(path, format!("line {}, column {}", e.line(), e.column()), format!("not valid JSON: {e}"))),
    }
}

fn json_number(path: &Path, at: &str, v: Option<&Value>) -> Result<f64, InputError> {
    match v.and_then(Value::as_f64) {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(err(path, at, match v {
            None => "missing".to_string(),
            Some(v) => format!("expected a finite number, found {}", clip(&v.to_string())),
        })),
    }
}

/// The Lyapunov functions of a sample object, as `(name, value)` in the file's key order.
/// `at` is where the object is: `samples[3].` in a document, `line 7, field ` in JSON Lines.
fn lyapunov(path: &Path, at: &str, o: &serde_json::Map<String, Value>) -> Result<Vec<(String, f64)>, InputError> {
    match o.get("lyapunov") {
        None => Ok(vec![]),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| Ok((k.clone(), json_number(path, &format!("{at}lyapunov.{k}"), Some(v))?))).collect(),
        Some(v) => Err(err(path, format!("{at}lyapunov"), format!("expected an object of numbers, found {}", clip(&v.to_string())))),
    }
}

fn json_document(path: &Path, o: &serde_json::Map<String, Value>) -> Result<RunFile, InputError> {
    let system = o.get("system").and_then(Value::as_str).map(str::to_string);
    let Some(Value::Array(samples)) = o.get("samples") else {
        return Err(err(path, "samples", "expected an array of samples"));
    };
    let Some(first) = samples.first() else {
        return Err(err(path, "samples", "no samples"));
    };
    if first.get("y").is_some() {
        return json_tokens(path, system, samples);
    }
    let mut run = Run { id: None, t: vec![], values: vec![] };
    let mut names: Vec<String> = vec![];
    for (i, s) in samples.iter().enumerate() {
        let at = format!("samples[{i}].");
        let Value::Object(s) = s else {
            return Err(err(path, format!("samples[{i}]"), "expected an object { \"t\", \"E\", \"lyapunov\" }"));
        };
        let t = json_number(path, &format!("{at}t"), s.get("t"))?;
        let e = json_number(path, &format!("{at}E"), s.get("E"))?;
        let lyap = lyapunov(path, &at, s)?;
        if i == 0 {
            names = std::iter::once("E".to_string()).chain(lyap.iter().map(|(n, _)| n.clone())).collect();
            run.values = vec![vec![]; names.len()];
        }
        add_sample(path, &at, &names, &mut run, t, e, &lyap)?;
    }
    Ok(RunFile::Monitors(Monitors { system, names, runs: vec![run] }))
}

/// Adds one sample; its Lyapunov functions must be those of the first sample.
fn add_sample(path: &Path, at: &str, names: &[String], run: &mut Run, t: f64, e: f64, lyap: &[(String, f64)]) -> Result<(), InputError> {
    if lyap.len() + 1 != names.len() || lyap.iter().zip(&names[1..]).any(|((a, _), b)| a != b) {
        let got: Vec<&str> = lyap.iter().map(|(n, _)| n.as_str()).collect();
        return Err(err(path, format!("{at}lyapunov"), format!("functions [{}], but the first sample has [{}]", got.join(", "), names[1..].join(", "))));
    }
    push_time(path, at.trim_end_matches(['.', ' ']).trim_end_matches(", field"), run, t)?;
    run.values[0].push(e);
    for (v, (_, x)) in run.values[1..].iter_mut().zip(lyap) {
        v.push(*x);
    }
    Ok(())
}

fn json_lines(path: &Path, text: &str) -> Result<RunFile, InputError> {
    let mut runs: BTreeMap<u64, Run> = BTreeMap::new();
    let mut names: Vec<String> = vec![];
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty()) {
        let at = format!("line {n}, field ");
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(line) else {
            return Err(err(path, format!("line {n}"), "not a JSON object { \"run\", \"t\", \"E\", \"lyapunov\" } (the JSON Lines of `simulate --runs`)"));
        };
        let id = o.get("run").and_then(Value::as_u64).ok_or_else(|| err(path, format!("{at}run"), "expected a run number ≥ 0"))?;
        let t = json_number(path, &format!("{at}t"), o.get("t"))?;
        let e = json_number(path, &format!("{at}E"), o.get("E"))?;
        let lyap = lyapunov(path, &at, &o)?;
        if names.is_empty() {
            names = std::iter::once("E".to_string()).chain(lyap.iter().map(|(n, _)| n.clone())).collect();
        }
        let run = runs.entry(id).or_insert_with(|| Run { id: Some(id), t: vec![], values: vec![vec![]; names.len()] });
        add_sample(path, &at, &names, run, t, e, &lyap)?;
    }
    Ok(RunFile::Monitors(Monitors { system: None, names, runs: runs.into_values().collect() }))
}

fn json_tokens(path: &Path, system: Option<String>, samples: &[Value]) -> Result<RunFile, InputError> {
    let mut t = vec![];
    let mut y = vec![];
    let mut dim = None;
    for (i, s) in samples.iter().enumerate() {
        let at = format!("samples[{i}]");
        let time = nonnegative_time(path, &format!("{at}.t"), json_number(path, &format!("{at}.t"), s.get("t"))?)?;
        if let Some(&last) = t.last() {
            if time < last {
                return Err(err(path, format!("{at}.t"), format!("time {time} comes after {last}: times must not decrease")));
            }
        }
        let Some(Value::Array(points)) = s.get("y") else {
            return Err(err(path, format!("{at}.y"), "expected an array of tokens, each an array of coordinates"));
        };
        let mut sample = Vec::with_capacity(points.len());
        for (j, p) in points.iter().enumerate() {
            let pat = format!("{at}.y[{j}]");
            let Value::Array(xs) = p else {
                return Err(err(path, pat, "expected an array of coordinates"));
            };
            let point = xs.iter().enumerate().map(|(k, x)| json_number(path, &format!("{pat}[{k}]"), Some(x))).collect::<Result<Vec<f64>, _>>()?;
            match dim {
                None if point.is_empty() => return Err(err(path, pat, "a token with no coordinates")),
                None => dim = Some(point.len()),
                Some(d) if d != point.len() => return Err(err(path, pat, format!("{} coordinates, but the first token has {d}", point.len()))),
                Some(_) => {}
            }
            sample.push(point);
        }
        t.push(time);
        y.push(sample);
    }
    check_token_counts(path, &y)?;
    if y.first().is_some_and(Vec::is_empty) {
        return Err(err(path, "samples[0].y", "no tokens"));
    }
    Ok(RunFile::Tokens(Tokens { system, dim: dim.unwrap_or(0), t, y }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<RunFile, InputError> {
        parse_csv(Path::new("r.csv"), text)
    }

    #[test]
    fn reads_a_single_run_csv() {
        let RunFile::Monitors(m) = csv("t,E,V_eigen_1\n0,0.5,0.1\n1,2.5e-1,5e-2\n").unwrap() else { panic!() };
        assert_eq!(m.names, ["E", "V_eigen_1"]);
        assert_eq!(m.runs.len(), 1);
        assert_eq!(m.runs[0].t, [0.0, 1.0]);
        assert_eq!(m.runs[0].values, [vec![0.5, 0.25], vec![0.1, 0.05]]);
    }

    #[test]
    fn reads_runs_csv_and_groups_by_run() {
        let RunFile::Monitors(m) = csv("run,t,E\n0,0,1\n0,1,0.5\n1,0,0.9\n1,1,0.4\n").unwrap() else { panic!() };
        assert_eq!(m.runs.iter().map(|r| r.id).collect::<Vec<_>>(), [Some(0), Some(1)]);
        assert_eq!(m.runs[1].values[0], [0.9, 0.4]);
    }

    #[test]
    fn bad_csv_names_line_and_column() {
        let e = csv("t,E\n0,1\n1,NaN\n").unwrap_err();
        assert_eq!(e.field, "line 3, column E");
        let e = csv("t,E\n0,1\n1,abc\n").unwrap_err();
        assert!(e.reason.contains("'abc'"), "{e}");
        let e = csv("t,E\n0,1,2\n").unwrap_err();
        assert_eq!(e.field, "line 2");
        assert!(csv("").unwrap_err().reason.contains("empty"));
        assert!(csv("t,E\n").unwrap_err().reason.contains("no samples"));
        assert!(csv("# Section 7.3\n").unwrap_err().reason.contains("text table"));
        let e = csv("run,t,E\n0,0,1\n0,1,0.5\n0,0,1\n").unwrap_err();
        assert!(e.reason.contains("must not decrease"), "{e}");
    }

    #[test]
    fn reads_tokens_csv() {
        let RunFile::Tokens(k) = csv("t,token,x1,x2\n0,1,1,0\n0,2,0,1\n1,1,0.8,0.6\n1,2,0.6,0.8\n").unwrap() else { panic!() };
        assert_eq!(k.dim, 2);
        assert_eq!(k.t, [0.0, 1.0]);
        assert_eq!(k.y[1][1], [0.6, 0.8]);
        let e = csv("t,token,x1\n0,1,1\n0,3,0\n").unwrap_err();
        assert!(e.reason.contains("expected token 2"), "{e}");
        let e = csv("t,token,x1\n0,1,1\n0,2,0\n1,1,1\n").unwrap_err();
        assert!(e.reason.contains("1 tokens, but the first sample has 2"), "{e}");
    }

    #[test]
    fn reads_json_document_and_lines() {
        let p = Path::new("r.json");
        let doc = r#"{"system": "S", "samples": [{"t": 0, "E": 0.5, "lyapunov": {"V_P": -3}}, {"t": 1, "E": 0.25, "lyapunov": {"V_P": -4}}]}"#;
        let RunFile::Monitors(m) = parse_json(p, doc).unwrap() else { panic!() };
        assert_eq!(m.system.as_deref(), Some("S"));
        assert_eq!(m.names, ["E", "V_P"]);
        assert_eq!(m.runs[0].values[1], [-3.0, -4.0]);
        let lines = "{\"run\":0,\"t\":0,\"E\":1,\"lyapunov\":{}}\n{\"run\":1,\"t\":0,\"E\":0.5,\"lyapunov\":{}}\n";
        let RunFile::Monitors(m) = parse_json(p, lines).unwrap() else { panic!() };
        assert_eq!(m.runs.len(), 2);
        let e = parse_json(p, r#"{"samples": [{"t": 0, "E": "x"}]}"#).unwrap_err();
        assert_eq!(e.field, "samples[0].E");
        assert!(parse_json(p, "  ").unwrap_err().reason.contains("empty"));
        let tokens = r#"{"samples": [{"t": 0, "y": [[1, 0, 0], [0, 1, 0]]}]}"#;
        let RunFile::Tokens(k) = parse_json(p, tokens).unwrap() else { panic!() };
        assert_eq!((k.dim, k.y[0].len()), (3, 2));
    }
}
