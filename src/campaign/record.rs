//! A campaign's output: one JSON line per case, and the summary of any set of lines (one
//! campaign, or the shards of one merged with `attncert fuzz merge`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::search::Observation;
use crate::error::{Error, InputError, Result};

/// Writes a float as JSON (`null` when not finite: JSON has no infinities).
fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// Adds what the search saw to a case's record.
pub fn observation(rec: &mut Value, obs: &Observation) {
    rec["class"] = json!(obs.class.name());
    rec["t"] = num(obs.t_end);
    rec["horizon"] = num(obs.horizon);
    rec["E"] = num(obs.misalignment);
    rec["lyapunov"] = obs.lyapunov.map_or(Value::Null, |(n, v)| json!({ n: num(v) }));
    rec["worst_rise"] = num(obs.worst_rise);
    rec["limit_distance"] = obs.limit_distance.map_or(Value::Null, num);
    rec["speed"] = num(obs.speed);
    rec["rhs_evals"] = json!(obs.stats.rhs_evals);
}

/// The summary of a set of case records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub cases: u64,
    pub classes: BTreeMap<String, u64>,
    pub redraws: BTreeMap<String, u64>,
    /// `(case, theorem, class, file)` of every finding.
    pub findings: Vec<(u64, String, String, Option<String>)>,
    /// The non-finding case whose Lyapunov function came nearest to rising: `(case, rise)`.
    pub closest: Option<(u64, f64)>,
    pub seconds: f64,
    pub check_seconds: f64,
    pub search_seconds: f64,
}

impl Summary {
    /// Adds one case's record.
    pub fn add(&mut self, rec: &Value) {
        self.cases += 1;
        let class = rec["class"].as_str().unwrap_or("?").to_string();
        *self.classes.entry(class.clone()).or_default() += 1;
        if let Some(r) = rec["redraws"].as_object() {
            for (why, n) in r {
                *self.redraws.entry(why.clone()).or_default() += n.as_u64().unwrap_or(0);
            }
        }
        let case = rec["case"].as_u64().unwrap_or(0);
        if super::search::Class::parse(&class).is_some_and(|c| c.is_finding()) {
            let theorem = rec["theorem"].as_str().unwrap_or("?").to_string();
            self.findings.push((case, theorem, class, rec["file"].as_str().map(String::from)));
        } else if let Some(rise) = rec["worst_rise"].as_f64() {
            if self.closest.is_none_or(|(_, r)| rise > r) {
                self.closest = Some((case, rise));
            }
        }
    }

    /// The summary as text lines.
    pub fn text(&self) -> String {
        let mut out = format!("# {} cases", self.cases);
        if self.seconds > 0.0 {
            out += &format!(
                " in {:.1} s ({:.1} cases/s; CPU: filter {:.1} s, search {:.1} s)",
                self.seconds,
                self.cases as f64 / self.seconds,
                self.check_seconds,
                self.search_seconds
            );
        }
        out += "\n# classes:";
        for (c, n) in &self.classes {
            out += &format!(" {c} {n},");
        }
        out.pop();
        out += "\n";
        if !self.redraws.is_empty() {
            let total: u64 = self.redraws.values().sum();
            out += &format!("# redraws (draws the filter rejected): {total}:");
            let mut by: Vec<(&String, &u64)> = self.redraws.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1));
            for (why, n) in by.iter().take(8) {
                out += &format!(" {why} {n},");
            }
            out.pop();
            out += "\n";
        }
        if let Some((case, rise)) = &self.closest {
            out += &format!("# closest call: case {case}, largest Lyapunov rise between observations {rise:.3e} (relative; a finding above {:.0e})\n", super::search::INCREASE_TOLERANCE);
        }
        out += &format!("# findings: {}\n", self.findings.len());
        for (case, theorem, class, file) in &self.findings {
            out += &format!("#   case {case} (theorem {theorem}): {class}{}\n", file.as_ref().map(|f| format!(", {f}")).unwrap_or_default());
        }
        out
    }
}

/// Reads every `*.jsonl` file under the given files or directories (not recursively) and
/// summarises them; duplicate `(seed, theorem, relaxed, case)` lines are an error (two shards
/// that overlap, or one shard's output twice).
pub fn merge(paths: &[PathBuf]) -> Result<(Summary, Vec<Value>)> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut here: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::Input(InputError::new(p, "", format!("cannot read the directory: {e}"))))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            here.sort();
            files.extend(here);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(Error::Usage("no .jsonl files to merge".into()));
    }
    let mut records = Vec::new();
    for f in &files {
        records.extend(read_jsonl(f)?);
    }
    records.sort_by_key(|r| (key(r), r["case"].as_u64().unwrap_or(0)));
    let mut summary = Summary::default();
    for w in records.windows(2) {
        if key(&w[0]) == key(&w[1]) && w[0]["case"] == w[1]["case"] {
            return Err(Error::Usage(format!("case {} of {} appears twice (overlapping shards?)", w[0]["case"], key(&w[0]))));
        }
    }
    for r in &records {
        summary.add(r);
    }
    Ok((summary, records))
}

fn key(r: &Value) -> String {
    format!("theorem {} seed {} relaxed {}", r["theorem"].as_str().unwrap_or("?"), r["seed"], r["relaxed"])
}

/// One campaign record per line; every line must be a JSON object with a `case` number and a
/// `class` (errors name the file and line).
pub fn read_jsonl(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Input(InputError::new(path, "", format!("cannot read: {e}"))))?;
    parse_jsonl(path, &text)
}

/// [`read_jsonl`] on text (`path` for messages).
pub fn parse_jsonl(path: &Path, text: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let field = format!("line {}", n + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| Error::Input(InputError::new(path, &field, format!("not JSON: {e}"))))?;
        if !v.is_object() || !v["case"].is_u64() || !v["class"].is_string() {
            return Err(Error::Input(InputError::new(path, &field, "not a campaign record (needs an object with \"case\" and \"class\")")));
        }
        out.push(v);
    }
    Ok(out)
}
