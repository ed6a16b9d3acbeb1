//! Per-hypothesis generators of campaign cases (untrusted: every draw is filtered by the
//! certified checkers before it counts, so a generator can only waste draws, never make a
//! wrong case count).
//!
//! A draw is a system file's text with exact decimal literals: the file a finding is written
//! to is exactly the system that was checked and simulated. Each generator plants the
//! structure its hypothesis asks for (a spectrum of `U`, a hemisphere margin, a bounded and
//! uniformly continuous `P(t)`), and draws toward the edges where a theorem is most likely to
//! break: tiny margins and gaps, large `‖P‖`, fast oscillation, many tokens in low `d`. A
//! relaxed hypothesis is no longer planted, and its negation is sought on purpose most of the
//! time (a negative top eigenvalue, an antipode, a non-symmetric `U`, a jump).

use std::f64::consts::PI;

use rug::Rational;

use crate::system::random::Stream;

/// Inclusive ranges of the case's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranges {
    pub tokens: (usize, usize),
    pub dim: (usize, usize),
    pub heads: (usize, usize),
}

/// The metric `W` of a draft.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricDraft {
    Identity,
    /// `metric = "P"`.
    P,
    Matrix(Vec<Vec<String>>),
}

/// Rows of decimal literals.
pub type Rows = Vec<Vec<String>>;

/// A matrix of a draft, kept structured so a finding can be shrunk (fewer coordinates,
/// simpler entries, constant instead of time-varying).
#[derive(Debug, Clone, PartialEq)]
pub enum Mat {
    Identity,
    Const(Rows),
    /// `diag(expressions)·M`.
    Diag(Vec<String>, Rows),
    /// `s(t)·M`.
    Scalar(String, Rows),
    /// A periodic layer schedule of constant matrices.
    Layers(Vec<Rows>, String),
}

impl Mat {
    pub fn to_toml(&self) -> String {
        let quoted = |e: &str| format!("\"{e}\"");
        match self {
            Mat::Identity => "\"identity\"".into(),
            Mat::Const(m) => matrix_text(m),
            Mat::Diag(d, m) => format!("{{ diag = [{}], times = {} }}", d.iter().map(|e| quoted(e)).collect::<Vec<_>>().join(", "), matrix_text(m)),
            Mat::Scalar(e, m) => format!("{{ scalar = {}, times = {} }}", quoted(e), matrix_text(m)),
            Mat::Layers(ls, tau) => format!("{{ layers = [{}], layer_time = {tau}, periodic = true }}", ls.iter().map(|m| matrix_text(m)).collect::<Vec<_>>().join(", ")),
        }
    }
}

/// A system as text pieces (every number a decimal literal).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub tokens: usize,
    pub dim: usize,
    pub causal: bool,
    pub metric: MetricDraft,
    /// Per head: `P` and `U`.
    pub heads: Vec<(Mat, Mat)>,
    /// `ℓ` rows of `d` literals.
    pub initial: Vec<Vec<String>>,
    /// `[lyapunov] v` (Theorem 4.1's direction), when planted.
    pub hemisphere: Option<Vec<String>>,
    /// What was planted, in words (kept in the system file as comments and in the JSON line).
    pub planted: Vec<String>,
}

impl Draft {
    /// The system file.
    pub fn to_toml(&self, name: &str) -> String {
        let mut out = String::new();
        for p in &self.planted {
            out += &format!("# planted: {p}\n");
        }
        out += &format!("name = {}\ntokens = {}\ndim = {}\n", toml_string(name), self.tokens, self.dim);
        out += &format!("attention = \"{}\"\n", if self.causal { "causal" } else { "full" });
        match &self.metric {
            MetricDraft::Identity => out += "metric = \"identity\"\n",
            MetricDraft::P => out += "metric = \"P\"\n",
            MetricDraft::Matrix(m) => out += &format!("metric = {}\n", matrix_text(m)),
        }
        for (p, u) in &self.heads {
            out += &format!("\n[[heads]]\nP = {}\nU = {}\n", p.to_toml(), u.to_toml());
        }
        if let Some(v) = &self.hemisphere {
            out += &format!("\n[lyapunov]\nv = [{}]\n", v.join(", "));
        }
        out += "\n[initial]\ntokens = [\n";
        for row in &self.initial {
            out += &format!("  [{}],\n", row.join(", "));
        }
        out += "]\n";
        out
    }
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `[[a, b], [c, d]]`.
pub fn matrix_text(m: &[Vec<String>]) -> String {
    let rows: Vec<String> = m.iter().map(|r| format!("[{}]", r.join(", "))).collect();
    format!("[{}]", rows.join(", "))
}

/// Which hypotheses the generator no longer plants (and seeks to break).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relax(pub Vec<String>);

impl Relax {
    pub fn has(&self, id: &str) -> bool {
        self.0.iter().any(|r| r == id)
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers as literals

/// `x` rounded to `sig` significant digits, as the shortest literal of that double.
pub fn lit(x: f64, sig: usize) -> String {
    let rounded: f64 = format!("{:.*e}", sig.saturating_sub(1), x).parse().unwrap_or(x);
    // `-0.0` reads back as zero either way; print it plainly.
    if rounded == 0.0 {
        return "0.0".into();
    }
    format!("{rounded:?}")
}

/// The exact decimal text of a rational whose denominator has no prime factor but 2 and 5
/// (`None` otherwise).
pub fn decimal(q: &Rational) -> Option<String> {
    let mut x = q.clone();
    let mut k = 0usize;
    while *x.denom() != 1 {
        x *= 10;
        k += 1;
        if k > 400 {
            return None;
        }
    }
    let n = x.numer().clone();
    let neg = n < 0;
    let mut digits = n.abs().to_string();
    if k > 0 {
        if digits.len() <= k {
            digits = "0".repeat(k + 1 - digits.len()) + &digits;
        }
        digits.insert(digits.len() - k, '.');
    } else {
        digits += ".0";
    }
    Some(if neg { format!("-{digits}") } else { digits })
}

/// The literal `−x` of a literal `x` (exact: a sign flip of the text).
pub fn negate(x: &str) -> String {
    match x.strip_prefix('-') {
        Some(rest) => rest.to_string(),
        None => format!("-{x}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Random choices, biased to the edges

fn pick(s: &mut Stream, (lo, hi): (usize, usize)) -> usize {
    lo + ((s.unit() * (hi - lo + 1) as f64) as usize).min(hi - lo)
}

fn chance(s: &mut Stream, p: f64) -> bool {
    s.unit() < p
}

fn log_uniform(s: &mut Stream, lo: f64, hi: f64) -> f64 {
    (lo.ln() + s.unit() * (hi.ln() - lo.ln())).exp()
}

/// A margin or gap: a quarter of draws at the edge (`1e-12 … 1e-6`), the rest `1e-4 … hi`.
fn edge_scale(s: &mut Stream, hi: f64) -> f64 {
    if chance(s, 0.25) {
        10f64.powi(-(6 + pick(s, (0, 6)) as i32))
    } else {
        log_uniform(s, 1e-4, hi)
    }
}

fn gaussian(s: &mut Stream, n: usize) -> Vec<f64> {
    (0..n).map(|_| s.normal()).collect()
}

fn unit_vector(s: &mut Stream, d: usize) -> Vec<f64> {
    loop {
        let v = gaussian(s, d);
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-3 {
            return v.iter().map(|x| x / n).collect();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Matrices

fn random_matrix(s: &mut Stream, d: usize, scale: f64) -> Rows {
    (0..d).map(|_| (0..d).map(|_| lit(s.symmetric(scale), 4)).collect()).collect()
}

/// Mirror entries share their literal: symmetric exactly.
#[allow(clippy::needless_range_loop)] // index loops read like the matrix algebra
fn mirror(d: usize, mut entry: impl FnMut(usize, usize) -> String) -> Vec<Vec<String>> {
    let mut m = vec![vec![String::new(); d]; d];
    for i in 0..d {
        for j in i..d {
            let e = entry(i, j);
            m[j][i] = e.clone();
            m[i][j] = e;
        }
    }
    m
}

/// `A·Aᵀ/d + δ·I` rounded entrywise (symmetric exactly; positive definite up to the rounding,
/// which the filter decides exactly). `δ` is sometimes tiny: nearly singular.
fn spd_matrix(s: &mut Stream, d: usize, scale: f64) -> Vec<Vec<String>> {
    let a: Vec<Vec<f64>> = (0..d).map(|_| gaussian(s, d)).collect();
    let delta = if chance(s, 0.2) { 1e-3 } else { 0.3 };
    mirror(d, |i, j| {
        let dot: f64 = (0..d).map(|k| a[i][k] * a[j][k]).sum::<f64>() / d as f64;
        lit(scale * (dot + if i == j { delta } else { 0.0 }), 6)
    })
}

/// A symmetric matrix with at least one negative diagonal entry (indefinite or negative).
fn indefinite_matrix(s: &mut Stream, d: usize, scale: f64) -> Vec<Vec<String>> {
    let neg = pick(s, (0, d - 1));
    mirror(d, |i, j| {
        if i == j && i == neg {
            lit(-scale * (0.2 + s.unit()), 4)
        } else {
            lit(s.symmetric(scale), 4)
        }
    })
}

/// `‖P‖` scale: usually moderate, sometimes large (saturated softmax).
fn p_scale(s: &mut Stream) -> f64 {
    if chance(s, 0.2) {
        log_uniform(s, 2.0, 6.0)
    } else {
        log_uniform(s, 0.2, 2.0)
    }
}

/// Kinds of time dependence of `P`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PKind {
    Const,
    /// `diag(a_k cos(ω_k t + φ_k))·M` (Section 7.2/7.3).
    DiagCos,
    /// `(1 + a sin(ωt))·M`.
    ScalarSin,
    /// `diag(|a_k sin(ω_k t + φ_k)|)·M` (Section 7.4): Lipschitz, with kinks.
    DiagAbsSin,
    /// A periodic layer schedule of constant matrices: bounded, with jumps.
    Layers,
    /// `(1 + a t)·M`: unbounded.
    Unbounded,
}

fn frequency(s: &mut Stream) -> f64 {
    // Fast oscillation is an edge: ω up to 40.
    if chance(s, 0.2) {
        log_uniform(s, 10.0, 40.0)
    } else {
        log_uniform(s, 0.1, 10.0)
    }
}

fn p_mat(s: &mut Stream, d: usize, kind: PKind, m: Rows) -> Mat {
    match kind {
        PKind::Const => Mat::Const(m),
        PKind::DiagCos | PKind::DiagAbsSin => {
            let diag = (0..d)
                .map(|_| {
                    let (a, w, phi) = (lit(0.5 + 2.5 * s.unit(), 3), lit(frequency(s), 3), lit(2.0 * PI * s.unit(), 3));
                    if kind == PKind::DiagCos {
                        format!("{a}*cos({w}*t + {phi})")
                    } else {
                        format!("abs({a}*sin({w}*t + {phi}))")
                    }
                })
                .collect();
            Mat::Diag(diag, m)
        }
        PKind::ScalarSin => Mat::Scalar(format!("1 + {}*sin({}*t)", lit(0.9 * s.unit(), 3), lit(frequency(s), 3)), m),
        PKind::Unbounded => Mat::Scalar(format!("1 + {}*t", lit(log_uniform(s, 0.01, 1.0), 3)), m),
        PKind::Layers => {
            let scale = p_scale(s);
            let layers = std::iter::once(m).chain((0..pick(s, (1, 3))).map(|_| random_matrix(s, d, scale))).collect();
            Mat::Layers(layers, lit(log_uniform(s, 0.05, 2.0), 2))
        }
    }
}

/// A bounded `P(t)`; uniformly continuous unless `jumps` allows layer schedules.
fn bounded_p(s: &mut Stream, d: usize, jumps: bool) -> Mat {
    let kinds: &[PKind] = if jumps {
        &[PKind::Const, PKind::DiagCos, PKind::ScalarSin, PKind::DiagAbsSin, PKind::Layers]
    } else {
        &[PKind::Const, PKind::DiagCos, PKind::ScalarSin, PKind::DiagAbsSin]
    };
    let kind = kinds[pick(s, (0, kinds.len() - 1))];
    let scale = p_scale(s);
    let m = random_matrix(s, d, scale);
    p_mat(s, d, kind, m)
}

/// `P(t)` when `key-query-bounded` / `key-query-uniformly-continuous` may be relaxed: their
/// negation three times in four.
fn p_for(s: &mut Stream, d: usize, relax: &Relax, jumps_allowed: bool) -> Mat {
    if relax.has("key-query-bounded") && chance(s, 0.75) {
        let scale = p_scale(s);
        let m = random_matrix(s, d, scale);
        return p_mat(s, d, PKind::Unbounded, m);
    }
    if relax.has("key-query-uniformly-continuous") && chance(s, 0.75) {
        let scale = p_scale(s);
        let m = random_matrix(s, d, scale);
        return p_mat(s, d, PKind::Layers, m);
    }
    bounded_p(s, d, jumps_allowed)
}

/// A value matrix that is not the identity (relaxing `value-identity`).
fn random_u(s: &mut Stream, d: usize) -> Mat {
    let scale = log_uniform(s, 0.3, 2.0);
    Mat::Const(random_matrix(s, d, scale))
}

// ---------------------------------------------------------------------------------------------
// A symmetric U with an exactly planted spectrum

/// An orthogonal matrix with decimal entries: a product of Givens rotations by the Pythagorean
/// angle `(3/5, 4/5)` (entries have denominators `5^k`, so they are exact decimals).
fn decimal_orthogonal(s: &mut Stream, d: usize) -> Vec<Vec<Rational>> {
    let mut q: Vec<Vec<Rational>> = (0..d).map(|i| (0..d).map(|j| Rational::from(u8::from(i == j))).collect()).collect();
    if d < 2 {
        return q;
    }
    for _ in 0..(d + pick(s, (0, d))) {
        let i = pick(s, (0, d - 1));
        let mut j = pick(s, (0, d - 2));
        if j >= i {
            j += 1;
        }
        let (c, sn) = if chance(s, 0.5) { (Rational::from((3, 5)), Rational::from((4, 5))) } else { (Rational::from((4, 5)), Rational::from((3, 5))) };
        let sn = if chance(s, 0.5) { -sn } else { sn };
        for row in q.iter_mut() {
            let (a, b) = (row[i].clone(), row[j].clone());
            row[i] = c.clone() * &a - sn.clone() * &b;
            row[j] = sn.clone() * a + c.clone() * b;
        }
    }
    q
}

/// The planted spectrum of `U` (decimal eigenvalues, descending, exact).
struct Spectrum {
    values: Vec<Rational>,
    note: String,
}

fn rational_of(text: &str) -> Rational {
    crate::numeric::exact::rational(text).unwrap_or_default()
}

fn spectrum(s: &mut Stream, d: usize, relax: &Relax) -> Spectrum {
    let negative_top = relax.has("value-top-eigenvalue-positive") && chance(s, 0.75);
    let repeated_top = relax.has("value-simple-top-eigenvalue") && chance(s, 0.75);
    let top_text = if negative_top { lit(-log_uniform(s, 0.05, 2.0), 3) } else { lit(log_uniform(s, 0.05, 3.0), 3) };
    let top = rational_of(&top_text);
    let gap = if repeated_top {
        Rational::new()
    } else if chance(s, 0.25) {
        // 1e-12 … 1e-6: the edge where simplicity is hardest to certify and convergence slowest.
        Rational::from((1, 10u64.pow(6 + pick(s, (0, 6)) as u32)))
    } else {
        rational_of(&lit(log_uniform(s, 1e-3, 10.0), 2))
    };
    let mut values = vec![top.clone()];
    if d >= 2 {
        values.push(top.clone() - gap.clone());
    }
    let second = values.last().cloned().unwrap_or_default();
    for _ in 2..d {
        let below = rational_of(&lit(log_uniform(s, 1e-3, 3.0), 2));
        values.push(second.clone() - below);
    }
    let shown: Vec<String> = values.iter().map(|v| decimal(v).unwrap_or_default()).collect();
    Spectrum { note: format!("U = Q·diag({})·Qᵀ, Q orthogonal with decimal entries (top gap {})", shown.join(", "), decimal(&gap).unwrap_or_default()), values }
}

/// `U = Q·Λ·Qᵀ` computed exactly; returns its text, its top eigenvector (`Q e_1`) in doubles,
/// and the note.
fn planted_u(s: &mut Stream, d: usize, relax: &Relax) -> (Vec<Vec<String>>, Vec<f64>, String) {
    let q = decimal_orthogonal(s, d);
    let sp = spectrum(s, d, relax);
    let u = mirror(d, |i, j| {
        let e = (0..d).fold(Rational::new(), |acc, k| acc + q[i][k].clone() * &q[j][k] * &sp.values[k]);
        decimal(&e).unwrap_or_else(|| "0.0".into())
    });
    let v = (0..d).map(|i| q[i][0].to_f64()).collect();
    (u, v, sp.note)
}

/// Breaks the symmetry of `u` by a small exact skew part (relaxing `value-symmetric`).
fn unsymmetrise(s: &mut Stream, u: &mut [Vec<String>]) {
    let d = u.len();
    if d < 2 {
        return;
    }
    let (i, j) = (0, pick(s, (1, d - 1)));
    let eps = rational_of(&lit(log_uniform(s, 1e-6, 0.5), 2));
    u[i][j] = decimal(&(rational_of(&u[i][j]) + eps.clone())).unwrap_or_else(|| u[i][j].clone());
    u[j][i] = decimal(&(rational_of(&u[j][i]) - eps)).unwrap_or_else(|| u[j][i].clone());
}

// ---------------------------------------------------------------------------------------------
// Tokens

fn free_tokens(s: &mut Stream, l: usize, d: usize) -> Vec<Vec<String>> {
    (0..l)
        .map(|_| loop {
            let y = gaussian(s, d);
            if y.iter().any(|x| x.abs() > 1e-3) {
                break y.iter().map(|&x| lit(x, 4)).collect();
            }
        })
        .collect()
}

/// Tokens `y_i = a_i·v + sqrt(1 − a_i²)·w_i` with `w_i ⊥ v` unit: `vᵀy_i/|y_i| = a_i`. One
/// token sits at the margin `a = m` (sometimes 1e-12), the others between `m` and 1. Printed
/// with 17 significant digits, so the margin survives the rounding.
fn hemisphere_tokens(s: &mut Stream, l: usize, v: &[f64], margin: f64) -> Vec<Vec<String>> {
    let edge = pick(s, (0, l - 1));
    (0..l)
        .map(|i| {
            let a = if i == edge { margin } else { margin + s.unit() * (1.0 - margin) };
            let w = loop {
                let g = gaussian(s, v.len());
                let along: f64 = g.iter().zip(v).map(|(x, y)| x * y).sum();
                let w: Vec<f64> = g.iter().zip(v).map(|(x, y)| x - along * y).collect();
                let n = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                if n > 1e-3 || v.len() == 1 {
                    break w.iter().map(|x| x / n.max(1e-300)).collect::<Vec<f64>>();
                }
            };
            let b = (1.0 - a * a).max(0.0).sqrt();
            v.iter().zip(&w).map(|(&vk, &wk)| lit(a * vk + b * wk, 17)).collect()
        })
        .collect()
}

/// Tokens that break a hemisphere hypothesis on purpose: an antipodal pair, or tokens on both
/// sides of `v`.
fn off_hemisphere_tokens(s: &mut Stream, l: usize, v: &[f64]) -> Vec<Vec<String>> {
    let mut t = hemisphere_tokens(s, l, v, 0.05);
    if l >= 2 && chance(s, 0.5) {
        let j = pick(s, (1, l - 1));
        t[j] = t[0].iter().map(|x| negate(x)).collect();
    } else {
        for row in t.iter_mut().skip(1) {
            if chance(s, 0.4) {
                *row = row.iter().map(|x| negate(x)).collect();
            }
        }
    }
    t
}

fn v_text(v: &[f64]) -> Vec<String> {
    v.iter().map(|&x| lit(x, 17)).collect()
}

// ---------------------------------------------------------------------------------------------
// Per theorem

/// Draws a case of `theorem` (`3.2`, `4.1`, `5.1`, `6.1`, `c6.1`) with `relax`ed hypotheses.
pub fn draw(theorem: &str, relax: &Relax, ranges: &Ranges, s: &mut Stream) -> Draft {
    let l = pick(s, ranges.tokens);
    let d = pick(s, ranges.dim);
    match theorem {
        "3.2" => gradient(s, l, d, ranges, relax),
        "4.1" => hemisphere(s, l, d, ranges, relax),
        "5.1" => cascade(s, l, d, ranges, relax),
        _ => eigen(s, l, d, ranges, relax, theorem == "c6.1"),
    }
}

fn heads_count(s: &mut Stream, ranges: &Ranges, one: bool, relax: &Relax) -> usize {
    if one && !relax.has("heads-one") {
        1
    } else if one {
        pick(s, (ranges.heads.0.max(2), ranges.heads.1.max(2)))
    } else {
        pick(s, ranges.heads)
    }
}

fn causal_unless(s: &mut Stream, relax: &Relax, causal: bool, id: &str) -> bool {
    if relax.has(id) && chance(s, 0.75) {
        !causal
    } else {
        causal
    }
}

/// Theorem 3.2: full, one head, `U = I`, constant symmetric positive definite `P`, `W = P`.
fn gradient(s: &mut Stream, l: usize, d: usize, ranges: &Ranges, relax: &Relax) -> Draft {
    let causal = causal_unless(s, relax, false, "attention-full");
    let h = heads_count(s, ranges, true, relax);
    let mut planted = Vec::new();
    let scale = p_scale(s);
    let p0 = spd_matrix(s, d, scale);
    let mut metric = if h == 1 { MetricDraft::P } else { MetricDraft::Matrix(p0.clone()) };
    let mut p = Mat::Const(p0.clone());
    if relax.has("key-query-positive-definite") && chance(s, 0.75) {
        p = Mat::Const(indefinite_matrix(s, d, scale));
        metric = MetricDraft::Identity;
        planted.push("P symmetric, not positive definite".into());
    } else if relax.has("key-query-symmetric") && chance(s, 0.75) {
        // P = S + K with K skew: W keeps the symmetric part.
        let k = random_matrix(s, d, 0.5 * scale);
        let pm: Vec<Vec<String>> = (0..d)
            .map(|i| (0..d).map(|j| if i == j { p0[i][j].clone() } else { decimal(&(rational_of(&p0[i][j]) + rational_of(&k[i][j]) - rational_of(&k[j][i]))).unwrap_or_default() }).collect())
            .collect();
        p = Mat::Const(pm);
        metric = MetricDraft::Matrix(p0.clone());
        planted.push("P = S + K, K skew, W = S".into());
    } else if relax.has("key-query-constant") && chance(s, 0.75) {
        p = p_mat(s, d, PKind::ScalarSin, p0.clone());
        metric = MetricDraft::Matrix(p0.clone());
        planted.push("P(t) = s(t)·P0, W = P0".into());
    }
    if relax.has("metric-equals-P") && chance(s, 0.75) {
        metric = if chance(s, 0.5) { MetricDraft::Identity } else { MetricDraft::Matrix(spd_matrix(s, d, 1.0)) };
    }
    let mut heads = vec![(p, if relax.has("value-identity") && chance(s, 0.75) { random_u(s, d) } else { Mat::Identity })];
    for _ in 1..h {
        heads.push((Mat::Const(spd_matrix(s, d, scale)), Mat::Identity));
    }
    Draft { tokens: l, dim: d, causal, metric, heads, initial: free_tokens(s, l, d), hemisphere: None, planted }
}

/// `h` heads with a bounded `P(t)` each (layer schedules when `jumps`) and `U = I` (a random
/// `U` three times in four when `value-identity` is relaxed).
fn heads_with_identity_u(s: &mut Stream, d: usize, h: usize, relax: &Relax, jumps: bool) -> Vec<(Mat, Mat)> {
    (0..h)
        .map(|_| {
            let p = p_for(s, d, relax, jumps);
            let u = if relax.has("value-identity") && chance(s, 0.75) { random_u(s, d) } else { Mat::Identity };
            (p, u)
        })
        .collect()
}

/// Theorem 4.1: full, `U = I`, bounded uniformly continuous `P(t)`, any SPD `W`, tokens in an
/// open hemisphere.
fn hemisphere(s: &mut Stream, l: usize, d: usize, ranges: &Ranges, relax: &Relax) -> Draft {
    let causal = causal_unless(s, relax, false, "attention-full");
    let h = heads_count(s, ranges, false, relax);
    let heads = heads_with_identity_u(s, d, h, relax, false);
    let metric = if chance(s, 0.3) { MetricDraft::Matrix(spd_matrix(s, d, 1.0)) } else { MetricDraft::Identity };
    let v = unit_vector(s, d);
    let margin = edge_scale(s, 0.5);
    let (initial, planted) = if relax.has("initial-hemisphere") && chance(s, 0.75) {
        (off_hemisphere_tokens(s, l, &v), vec!["tokens on both sides of v or antipodal".to_string()])
    } else {
        (hemisphere_tokens(s, l, &v, margin), vec![format!("tokens in the open hemisphere of v, margin {margin:.1e}")])
    };
    Draft { tokens: l, dim: d, causal, metric, heads, initial, hemisphere: Some(v_text(&v)), planted }
}

/// Theorem 5.1: causal, `U = I`, `W = I`, bounded `P(t)`, no token antipodal to the first.
fn cascade(s: &mut Stream, l: usize, d: usize, ranges: &Ranges, relax: &Relax) -> Draft {
    let causal = causal_unless(s, relax, true, "attention-causal");
    let h = heads_count(s, ranges, false, relax);
    let heads = heads_with_identity_u(s, d, h, relax, true);
    let metric = if relax.has("metric-identity") && chance(s, 0.75) { MetricDraft::Matrix(spd_matrix(s, d, 1.0)) } else { MetricDraft::Identity };
    let mut initial = free_tokens(s, l, d);
    let mut planted = Vec::new();
    if l >= 2 && relax.has("initial-no-antipode") && chance(s, 0.75) {
        let j = pick(s, (1, l - 1));
        initial[j] = initial[0].iter().map(|x| negate(x)).collect();
        planted.push(format!("token {} = −token 1", j + 1));
    } else if l >= 2 && chance(s, 0.2) {
        // Nearly antipodal: the edge of the hypothesis (ε ≥ 1e-9: closer, the escape from the
        // unstable equilibrium a = −1 outlasts any horizon, and the case can only be slow).
        let j = pick(s, (1, l - 1));
        let eps = edge_scale(s, 1e-2).max(1e-9);
        initial[j] = initial[0].iter().map(|x| lit(-rational_of(x).to_f64() * (1.0 + eps * s.symmetric(1.0)) + eps * s.normal(), 17)).collect();
        planted.push(format!("token {} nearly antipodal to token 1 (ε ≈ {eps:.1e})", j + 1));
    }
    Draft { tokens: l, dim: d, causal, metric, heads, initial, hemisphere: None, planted }
}

/// Theorem 6.1 (and the multi-head conjecture c6.1): causal, `W = I`, bounded `P(t)`, one
/// constant symmetric `U` with a simple positive top eigenvalue, tokens on one side of its
/// eigenvector.
fn eigen(s: &mut Stream, l: usize, d: usize, ranges: &Ranges, relax: &Relax, conjecture: bool) -> Draft {
    let causal = causal_unless(s, relax, true, "attention-causal");
    let h = if conjecture { pick(s, (ranges.heads.0.max(2), ranges.heads.1.max(2))) } else { heads_count(s, ranges, true, relax) };
    let (mut u, v, note) = planted_u(s, d, relax);
    let mut planted = vec![note];
    if relax.has("value-symmetric") && chance(s, 0.75) {
        unsymmetrise(s, &mut u);
        planted.push("U made non-symmetric by a skew entry".into());
    }
    let mut u_mat = Mat::Const(u);
    if relax.has("value-constant") && chance(s, 0.75) {
        if let Mat::Const(u0) = u_mat {
            u_mat = Mat::Scalar(format!("1 + {}*sin({}*t)", lit(0.9 * s.unit(), 3), lit(frequency(s), 3)), u0);
        }
        planted.push("U(t) = s(t)·U0".into());
    }
    let same_u = !(relax.has("value-same-across-heads") && chance(s, 0.75));
    let heads = (0..h)
        .map(|k| {
            let p = p_for(s, d, relax, true);
            let uk = if k == 0 || same_u { u_mat.clone() } else { Mat::Const(planted_u(s, d, relax).0) };
            (p, uk)
        })
        .collect();
    let metric = if relax.has("metric-identity") && chance(s, 0.75) { MetricDraft::Matrix(spd_matrix(s, d, 1.0)) } else { MetricDraft::Identity };
    let sigma = if chance(s, 0.5) { 1.0 } else { -1.0 };
    let side: Vec<f64> = v.iter().map(|x| sigma * x).collect();
    let margin = edge_scale(s, 0.5);
    let initial = if relax.has("initial-eigen-hemisphere") && chance(s, 0.75) {
        planted.push("tokens on both sides of the eigenvector".into());
        off_hemisphere_tokens(s, l, &side)
    } else {
        planted.push(format!("tokens on one side of the top eigenvector, margin {margin:.1e}"));
        hemisphere_tokens(s, l, &side, margin)
    };
    Draft { tokens: l, dim: d, causal, metric, heads, initial, hemisphere: None, planted }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal(&Rational::from((3, 5))).unwrap(), "0.6");
        assert_eq!(decimal(&Rational::from((-12, 625))).unwrap(), "-0.0192");
        assert_eq!(decimal(&Rational::from(7)).unwrap(), "7.0");
        assert_eq!(decimal(&Rational::from((1, 3))), None);
        let q = Rational::from((-123_456_789, 1_000_000_000_000_i64));
        assert_eq!(rational_of(&decimal(&q).unwrap()), q);
    }

    #[test]
    fn literals_round_and_negate() {
        assert_eq!(lit(0.123456789, 4), "0.1235");
        assert_eq!(lit(-0.0, 4), "0.0");
        assert_eq!(negate("-1e-3"), "1e-3");
        assert_eq!(negate("0.5"), "-0.5");
    }

    /// The planted spectrum is exact: `U·v = λ1·v` for `v = Q e_1` in rationals.
    #[test]
    fn planted_spectra_are_exact() {
        for seed in 0..20 {
            let mut s = Stream::new(seed);
            let d = 2 + (seed as usize % 4);
            let q = decimal_orthogonal(&mut s, d);
            for i in 0..d {
                for j in 0..d {
                    let dot = (0..d).fold(Rational::new(), |a, k| a + q[k][i].clone() * &q[k][j]);
                    assert_eq!(dot, Rational::from(u8::from(i == j)), "Q is orthogonal");
                }
            }
        }
    }
}
