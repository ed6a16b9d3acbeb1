//! Sampled trajectories as a text table, CSV rows or JSON; the tokens of `simulate --tokens`.

use nalgebra::DMatrix;
use serde_json::{json, Map, Value};

use crate::simulate::{Method, Sample, Trajectory};
use crate::system::{Attention, Normalization, System};

/// A one-line description of the system for report headers.
pub fn describe(sys: &System) -> String {
    format!(
        "{}: {} tokens in R^{}, {} attention, {} head{}, {} normalisation, W = {}",
        sys.name,
        sys.tokens,
        sys.dim,
        match sys.attention {
            Attention::Full => "full",
            Attention::Causal => "causal",
        },
        sys.heads.len(),
        if sys.heads.len() == 1 { "" } else { "s" },
        match sys.normalization {
            Normalization::Paper => "paper (rows sum to 1/sqrt(d))",
            Normalization::Softmax => "softmax",
        },
        match sys.metric {
            crate::system::Metric::Identity => "I",
            crate::system::Metric::EqualsP => "P",
            crate::system::Metric::Matrix(_) => "matrix",
        }
    )
}

pub fn describe_method(m: Method) -> String {
    match m {
        Method::Rk4 { h } => format!("rk4 (h = {h})"),
        Method::Dopri5 { rtol, atol } => format!("dopri5 (rtol = {rtol:e}, atol = {atol:e})"),
        Method::Bs3 { rtol, atol } => format!("bs3 (rtol = {rtol:e}, atol = {atol:e})"),
        Method::Dop853 { rtol, atol } => format!("dop853 (rtol = {rtol:e}, atol = {atol:e})"),
        Method::Discrete { tau } => format!("discrete layer map (tau = {tau})"),
    }
}

/// The step averaging in use, for the method line (empty when pointwise).
pub fn describe_moments(traj: &Trajectory) -> String {
    match traj.moments {
        Some(q) => format!(", coefficients averaged over each step ({q} Legendre moment{})", if q == 1 { "" } else { "s" }),
        None => String::new(),
    }
}

fn method_json(m: Method) -> Value {
    match m {
        Method::Rk4 { h } => json!({ "name": "rk4", "h": h }),
        Method::Dopri5 { rtol, atol } => json!({ "name": "dopri5", "rtol": rtol, "atol": atol }),
        Method::Bs3 { rtol, atol } => json!({ "name": "bs3", "rtol": rtol, "atol": atol }),
        Method::Dop853 { rtol, atol } => json!({ "name": "dop853", "rtol": rtol, "atol": atol }),
        Method::Discrete { tau } => json!({ "name": "discrete", "tau": tau }),
    }
}

/// The value shown for monitor `k`: a monitor that is non-negative by definition
/// ([`crate::simulate::nonnegative`]) is shown as 0 where rounding made it negative (or `-0`).
pub fn shown(traj: &Trajectory, k: usize, v: f64) -> f64 {
    if traj.nonnegative.get(k).copied().unwrap_or(false) && v <= 0.0 {
        0.0
    } else {
        v
    }
}

fn shown_values<'a>(traj: &'a Trajectory, values: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
    values.iter().enumerate().map(move |(k, &v)| shown(traj, k, v))
}

/// Whether the samples carry layers (the discrete model): a `layer` column then follows `t`.
fn has_layers(traj: &Trajectory) -> bool {
    traj.samples.first().is_some_and(|s| s.layer.is_some())
}

/// The table printed by `attncert simulate`.
pub fn text(sys: &System, method: Method, traj: &Trajectory) -> String {
    let mut out = format!("# {}\n# method: {}{}\n", describe(sys), describe_method(method), describe_moments(traj));
    let layers = has_layers(traj);
    out += &format!("{:>10}", "t");
    if layers {
        out += &format!("  {:>8}", "layer");
    }
    for n in &traj.names {
        out += &format!("  {n:>14}");
    }
    out.push('\n');
    for s in &traj.samples {
        out += &format!("{:>10}", fmt_t(s.t));
        if let Some(k) = s.layer {
            out += &format!("  {k:>8}");
        }
        for v in shown_values(traj, &s.values) {
            out += &format!("  {v:>14.6e}");
        }
        out.push('\n');
    }
    out += &format!(
        "# steps {} (rejected {}), right-hand-side evaluations {}, max drift off E_W {:.1e}\n",
        traj.stats.steps, traj.stats.rejected, traj.stats.rhs_evals, traj.max_drift
    );
    out
}

fn fmt_t(t: f64) -> String {
    let s = format!("{t}");
    if s.len() <= 10 {
        s
    } else {
        format!("{t:.4e}")
    }
}

/// CSV header: `t,E,…`, with `layer` after `t` for the discrete model and a leading `run`
/// column for bulk runs.
pub fn csv_header(traj: &Trajectory, with_run: bool) -> String {
    let mut h = if with_run { "run,t".to_string() } else { "t".to_string() };
    if has_layers(traj) {
        h += ",layer";
    }
    for n in &traj.names {
        h.push(',');
        h += n;
    }
    h.push('\n');
    h
}

/// CSV rows, full precision: `t` in the shorter round-trip form, every monitor in the
/// round-trip exponent form (`1.640709790251549e-11`).
pub fn csv_rows(traj: &Trajectory, run: Option<u64>) -> String {
    let mut out = String::new();
    for s in &traj.samples {
        if let Some(r) = run {
            out += &format!("{r},");
        }
        out += &crate::simulate::shortest(s.t);
        if let Some(k) = s.layer {
            out += &format!(",{k}");
        }
        for v in shown_values(traj, &s.values) {
            out += &format!(",{v:e}");
        }
        out.push('\n');
    }
    out
}

fn sample_json(traj: &Trajectory, s: &Sample, run: Option<u64>) -> Value {
    let values: Vec<f64> = shown_values(traj, &s.values).collect();
    let mut lyap = Map::new();
    for (n, v) in traj.names.iter().zip(&values).skip(1) {
        lyap.insert(n.clone(), json!(v));
    }
    let mut o = Map::new();
    if let Some(r) = run {
        o.insert("run".into(), json!(r));
    }
    o.insert("t".into(), json!(s.t));
    if let Some(k) = s.layer {
        o.insert("layer".into(), json!(k));
    }
    o.insert("E".into(), json!(values[0]));
    o.insert("lyapunov".into(), Value::Object(lyap));
    Value::Object(o)
}

/// The JSON document of one trajectory: `{ "samples": [ { "t", "E", "lyapunov": {…} } ], … }`
/// (with `"layer"` after `"t"` for the discrete model).
pub fn json(sys: &System, method: Method, traj: &Trajectory) -> String {
    let samples: Vec<Value> = traj.samples.iter().map(|s| sample_json(traj, s, None)).collect();
    let doc = json!({
        "system": sys.name,
        "file": sys.source.display().to_string(),
        "method": method_json(method),
        "samples": samples,
        "stats": { "steps": traj.stats.steps, "rejected": traj.stats.rejected, "rhs_evals": traj.stats.rhs_evals },
        "max_drift": traj.max_drift,
        "moments": traj.moments,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// JSON Lines for bulk runs: one `{ "run", "t", "E", "lyapunov" }` object per line.
pub fn json_lines(traj: &Trajectory, run: u64) -> String {
    traj.samples.iter().map(|s| serde_json::to_string(&sample_json(traj, s, Some(run))).unwrap_or_default() + "\n").collect()
}

/// `simulate --tokens` as CSV, long format: header `t,token,x1,…,xd` (with `layer` after `t`
/// for the discrete model), then one row per sample time and token, tokens numbered from 1 as
/// in the paper (`y_1` is token 1), coordinates in the round-trip exponent form.
pub fn tokens_csv(traj: &Trajectory, tokens: &[DMatrix<f64>]) -> String {
    let layers = has_layers(traj);
    let d = tokens.first().map_or(0, |y| y.nrows());
    let mut out = if layers { "t,layer,token".to_string() } else { "t,token".to_string() };
    for c in 1..=d {
        out += &format!(",x{c}");
    }
    out.push('\n');
    for (s, y) in traj.samples.iter().zip(tokens) {
        let t = crate::simulate::shortest(s.t);
        let lead = match s.layer {
            Some(k) => format!("{t},{k}"),
            None => t,
        };
        for (i, col) in y.column_iter().enumerate() {
            out += &format!("{lead},{}", i + 1);
            for x in col.iter() {
                out += &format!(",{x:e}");
            }
            out.push('\n');
        }
    }
    out
}

/// `simulate --tokens` as JSON: `{ "system", "file", "method", "tokens": ℓ, "dim": d,
/// "samples": [ { "t", ["layer",] "y": [[x1, …, xd] per token] } ] }`.
pub fn tokens_json(sys: &System, method: Method, traj: &Trajectory, tokens: &[DMatrix<f64>]) -> String {
    let samples: Vec<Value> = traj
        .samples
        .iter()
        .zip(tokens)
        .map(|(s, y)| {
            let mut o = Map::new();
            o.insert("t".into(), json!(s.t));
            if let Some(k) = s.layer {
                o.insert("layer".into(), json!(k));
            }
            let cols: Vec<Vec<f64>> = y.column_iter().map(|c| c.iter().copied().collect()).collect();
            o.insert("y".into(), json!(cols));
            Value::Object(o)
        })
        .collect();
    let doc = json!({
        "system": sys.name,
        "file": sys.source.display().to_string(),
        "method": method_json(method),
        "tokens": sys.tokens,
        "dim": sys.dim,
        "samples": samples,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
