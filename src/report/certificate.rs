//! The report of a *verified* certificate, as Markdown or as one self-contained HTML page with
//! inline SVG plots (no scripts, no external resources, so the page can be archived or mailed).
//!
//! Only call these with the [`Accepted`] that `verify` returned for the same certificate: the
//! page says "VERIFIED". Every printed bound is rounded outward with [`show_lower`] /
//! [`show_upper`], so the report never states more than the checker proved. The plots are
//! illustrations, not proofs: they are drawn in `f64` pixels, but a band that merges several
//! steps is their outer envelope, so it still contains every step's enclosure.

use std::path::Path;

use crate::certificate::check::{Accepted, ProvedClaim};
use crate::certificate::{Certificate, ClaimKind, Step};
use crate::numeric::show::{show_lower, show_upper};
use crate::system::{doc, System};

/// Rows of the enclosure table: the first step, the last, and evenly spaced ones between.
const SAMPLED_ROWS: usize = 10;
/// Plot segments per band and points per token path: keeps a long certificate's page small.
const MAX_SEGMENTS: usize = 300;
const MAX_PATH_POINTS: usize = 600;

/// The certificate as Markdown.
pub fn markdown(cert: &Certificate, ok: &Accepted) -> String {
    let s = Summary::new(cert, ok);
    let mut out = format!("# {}\n\n**VERIFIED** by attncert verify: {}\n\n", md_esc(&s.title), s.verified);
    for (key, value) in &s.facts {
        out += &format!("- {}: {}\n", md_esc(key), md_esc(value));
    }
    out += &format!("\n## Claims\n\n{}\n## Enclosures at sampled steps\n\n{}\n\n", md_table(&s.claims), SAMPLES_NOTE);
    out += &md_table(&s.samples);
    out
}

/// The certificate as a self-contained HTML page.
pub fn html(cert: &Certificate, ok: &Accepted) -> String {
    let s = Summary::new(cert, ok);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&s.title)
    );
    out += &format!("<h1>{}</h1>\n<p class=\"verified\">VERIFIED by attncert verify: {}</p>\n<ul>\n", esc(&s.title), esc(&s.verified));
    for (key, value) in &s.facts {
        out += &format!("<li>{}: {}</li>\n", esc(key), esc(value));
    }
    out += &format!("</ul>\n<h2>Claims</h2>\n{}", html_table(&s.claims, "claims"));
    out += &format!("<h2>Enclosures at sampled steps</h2>\n<p>{}</p>\n{}", esc(SAMPLES_NOTE), html_table(&s.samples, "samples"));
    out += "<h2>Plots</h2>\n";
    for (svg, caption) in plots(cert, s.system.as_ref()) {
        out += &format!("<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>\n", esc(&caption));
    }
    out += "</body>\n</html>\n";
    out
}

const SAMPLES_NOTE: &str = "Each row encloses the values over the whole step, for every t in [t0, t1] \
(the printed window lies inside the step's); lower ends are rounded down, upper ends up.";

const CSS: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\
.verified{font-weight:bold;color:#1a7f37}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:right}th{background:#eee}\
td:first-child{text-align:left}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#444}\
svg text{font-size:11px;fill:#222}";

/// Everything both formats print, already rendered as plain text.
struct Summary {
    title: String,
    verified: String,
    facts: Vec<(String, String)>,
    claims: Table,
    samples: Table,
    system: Option<System>,
}

struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Summary {
    fn new(cert: &Certificate, ok: &Accepted) -> Summary {
        let system = parse_system(cert);
        let name = system.as_ref().map_or_else(|| cert.system.file.clone(), |s| s.name.clone());
        // The end time is printed rounded down: a shorter window claims less, never more.
        let verified = format!("{} steps, t ∈ [0, {}]", ok.steps, show_lower(ok.end_time));
        let shape = system.as_ref().map_or(String::new(), |s| format!("; ℓ = {} tokens, d = {}", s.tokens, s.dim));
        let facts = vec![
            ("System".to_string(), format!("{} ({name}{shape})", cert.system.file)),
            (format!("Theorem {}", cert.theorem), format!("verdict {} (re-checked from the exact system)", ok.verdict)),
            ("Initial set".to_string(), initial_set(cert.radius)),
            ("Producer (informational, untrusted)".to_string(), producer(cert)),
        ];
        Summary {
            // System names often already say which theorem they illustrate.
            title: if name.contains(&format!("Theorem {}", cert.theorem)) {
                format!("attncert certificate: {name}")
            } else {
                format!("attncert certificate: {name}, Theorem {}", cert.theorem)
            },
            verified,
            facts,
            claims: claims_table(&ok.claims),
            samples: samples_table(cert),
            system,
        }
    }
}

/// The system, decoded from the certificate's own copy of the file; `None` if it does not
/// decode (the report then just omits the name and the token plot: it proves nothing itself).
fn parse_system(cert: &Certificate) -> Option<System> {
    let path = Path::new(&cert.system.file);
    let parsed = if cert.system.format == "json" {
        doc::parse_json(path, &cert.system.text)
    } else {
        doc::parse_toml(path, &cert.system.text)
    };
    System::from_value(path, &parsed.ok()?).ok()
}

/// The radius is printed rounded down: a smaller initial box is a weaker statement.
fn initial_set(radius: f64) -> String {
    if radius == 0.0 {
        "the exact initial tokens".into()
    } else {
        format!("a box of radius {} around the exact initial tokens (in every coordinate)", show_lower(radius))
    }
}

fn producer(cert: &Certificate) -> String {
    let p = &cert.producer;
    format!("{}, method {}, stopped: {}, {:.2} s", p.program, p.method, p.stop, p.seconds)
}

/// What a claim kind states, with `b` its bound (see [`ClaimKind`]).
fn statement(kind: &str, function: &str) -> String {
    match ClaimKind::parse(kind) {
        Some(ClaimKind::LyapunovNonincreasing) => format!("d{function}/dt ≤ b ≤ 0 on [0, T]"),
        Some(ClaimKind::MisalignmentAtEnd) => "E(y(T)) ≤ b".into(),
        Some(ClaimKind::MaxAngleAtEnd) => "largest angle between tokens at T ≤ b (rad)".into(),
        Some(ClaimKind::LyapunovAtEnd) => format!("{function}(y(T)) ≤ b"),
        Some(ClaimKind::MisalignmentAboveAtEnd) => "E(y(T)) ≥ b > 0".into(),
        Some(ClaimKind::LyapunovAboveAtEnd) => format!("{function}(y(T)) ≥ b"),
        Some(ClaimKind::LyapunovIncrease) => format!("{function}(y(T)) − {function}(y(0)) ≥ b > 0"),
        None => "?".into(),
    }
}

/// Both bounds of a `≤ b` claim are upper bounds, printed rounded up; both of a `≥ b` claim
/// are lower bounds, printed rounded down: either way the table never claims more than proved.
fn claims_table(claims: &[ProvedClaim]) -> Table {
    let head = ["claim", "function", "states", "claimed bound b", "proved bound"];
    let rows = claims
        .iter()
        .map(|p| {
            let function = p.claim.function.clone().unwrap_or_default();
            let states = statement(&p.claim.kind, if function.is_empty() { "V" } else { &function });
            let show = if ClaimKind::parse(&p.claim.kind).is_some_and(ClaimKind::is_lower) { show_lower } else { show_upper };
            vec![p.claim.kind.clone(), function, states, show(p.claim.bound), show(p.proved)]
        })
        .collect();
    Table { head: head.iter().map(|h| h.to_string()).collect(), rows }
}

fn samples_table(cert: &Certificate) -> Table {
    let mut head: Vec<String> = ["step", "t0", "t1", "E lo", "E hi"].iter().map(|h| h.to_string()).collect();
    for name in &cert.lyapunov {
        head.push(format!("{name} [lo, hi]"));
        head.push(format!("d{name}/dt ≤"));
    }
    let rows = sample_indices(cert.steps.len(), SAMPLED_ROWS).into_iter().map(|i| sample_row(cert, i)).collect();
    Table { head, rows }
}

fn sample_row(cert: &Certificate, i: usize) -> Vec<String> {
    let s = &cert.steps[i];
    // The time window is rounded *inward*: the row then claims its enclosures on a sub-window.
    let mut row = vec![(i + 1).to_string(), show_upper(s.t0), show_lower(s.t1)];
    row.push(show_lower(s.misalignment[0]));
    row.push(show_upper(s.misalignment[1]));
    for j in 0..cert.lyapunov.len() {
        row.push(s.values.get(j).map_or("?".into(), |v| format!("[{}, {}]", show_lower(v[0]), show_upper(v[1]))));
        row.push(s.derivative_upper.get(j).map_or("?".into(), |&d| show_upper(d)));
    }
    row
}

/// At most `k` indices out of `0..n`: the first, the last and evenly spaced ones between.
fn sample_indices(n: usize, k: usize) -> Vec<usize> {
    if n <= k || k < 2 {
        return (0..n.min(k)).collect();
    }
    let mut out: Vec<usize> = (0..k).map(|i| i * (n - 1) / (k - 1)).collect();
    out.dedup();
    out
}

fn md_table(t: &Table) -> String {
    // A line break inside a cell would end the table row.
    let cell = |s: &String| md_esc(&s.replace('\n', " "));
    let line = |cells: &[String]| format!("| {} |\n", cells.iter().map(cell).collect::<Vec<_>>().join(" | "));
    let mut out = line(&t.head);
    out += &format!("|{}\n", "---|".repeat(t.head.len()));
    for r in &t.rows {
        out += &line(r);
    }
    out
}

fn html_table(t: &Table, class: &str) -> String {
    let row = |cells: &[String], tag: &str| {
        let inner: String = cells.iter().map(|c| format!("<{tag}>{}</{tag}>", esc(c))).collect();
        format!("<tr>{inner}</tr>\n")
    };
    let body: String = t.rows.iter().map(|r| row(r, "td")).collect();
    format!("<table class=\"{class}\">\n<thead>{}</thead>\n<tbody>\n{body}</tbody>\n</table>\n", row(&t.head, "th"))
}

/// Backslash-escapes the characters that would turn user text (a system's name, the producer's
/// words) into inline HTML or a table column in CommonMark; it still reads as plain text.
fn md_esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes text for HTML and XML, in element content and in double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Plots

/// Every plot of the page: `(svg, caption)`.
fn plots(cert: &Certificate, system: Option<&System>) -> Vec<(String, String)> {
    if cert.steps.is_empty() {
        return Vec::new();
    }
    let mut out = vec![misalignment_plot(&cert.steps)];
    for (j, name) in cert.lyapunov.iter().enumerate() {
        out.push(lyapunov_plot(&cert.steps, j, name));
    }
    if let Some(sys) = system.filter(|s| s.dim == 3) {
        out.extend(token_plot(&cert.steps, sys.tokens));
    }
    out
}

/// One step's enclosure of a scalar, constant over `[t0, t1]`.
#[derive(Clone, Copy)]
struct Segment {
    t0: f64,
    t1: f64,
    lo: f64,
    hi: f64,
}

/// Merges runs of consecutive segments into at most `max`, each the outer envelope of its run,
/// so a drawn band still contains every step's enclosure.
fn merge(segs: &[Segment], max: usize) -> Vec<Segment> {
    let run = segs.len().div_ceil(max.max(1)).max(1);
    segs.chunks(run)
        .map(|c| Segment {
            t0: c[0].t0,
            t1: c[c.len() - 1].t1,
            lo: c.iter().map(|s| s.lo).fold(f64::INFINITY, f64::min),
            hi: c.iter().map(|s| s.hi).fold(f64::NEG_INFINITY, f64::max),
        })
        .collect()
}

fn misalignment_plot(steps: &[Step]) -> (String, String) {
    let segs: Vec<Segment> =
        steps.iter().map(|s| Segment { t0: s.t0, t1: s.t1, lo: s.misalignment[0], hi: s.misalignment[1] }).collect();
    let segs = merge(&segs, MAX_SEGMENTS);
    // log10 axis: a lower end ≤ 0 is drawn at a floor a decade below the smallest positive value.
    let positive = segs.iter().flat_map(|s| [s.lo, s.hi]).filter(|v| *v > 0.0 && v.is_finite());
    let smallest = positive.clone().fold(f64::INFINITY, f64::min);
    let floor = if smallest.is_finite() { (smallest / 10.0).max(1e-300) } else { 1e-16 };
    let largest = positive.fold(floor * 10.0, f64::max);
    let y = (floor.log10().floor(), largest.log10().ceil().max(floor.log10().floor() + 1.0));
    let frame = Frame::new(time_range(steps), y, true);
    let clamped: Vec<Segment> = segs.iter().map(|s| Segment { lo: s.lo.max(floor), hi: s.hi.max(floor), ..*s }).collect();
    let svg = band_svg(&frame, &clamped, "misalignment E (log scale)");
    let caption = format!(
        "Misalignment E: the enclosure [lo, hi] of each step over t, log10 scale; lower ends ≤ 0 are drawn at {}.",
        show_lower(floor)
    );
    (svg, caption)
}

fn lyapunov_plot(steps: &[Step], j: usize, name: &str) -> (String, String) {
    let segs: Vec<Segment> = steps
        .iter()
        .map(|s| {
            let v = s.values.get(j).copied().unwrap_or([f64::NAN, f64::NAN]);
            Segment { t0: s.t0, t1: s.t1, lo: v[0], hi: v[1] }
        })
        .collect();
    let segs = merge(&segs, MAX_SEGMENTS);
    let y = padded(segs.iter().flat_map(|s| [s.lo, s.hi]));
    let frame = Frame::new(time_range(steps), y, false);
    let svg = band_svg(&frame, &segs, name);
    let worst = steps.iter().filter_map(|s| s.derivative_upper.get(j).copied()).fold(f64::NEG_INFINITY, f64::max);
    let caption = format!(
        "Lyapunov function {name}: the enclosure [lo, hi] of its values on each step; its derivative is ≤ {} on every step.",
        show_upper(worst)
    );
    (svg, caption)
}

fn time_range(steps: &[Step]) -> (f64, f64) {
    let t0 = steps.first().map_or(0.0, |s| s.t0);
    let t1 = steps.last().map_or(1.0, |s| s.t1);
    if t1 > t0 { (t0, t1) } else { (t0, t0 + 1.0) }
}

/// The range of the finite values, widened by 5% on each side (a flat range by ±1 or ±10%).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else if lo != 0.0 { 0.1 * lo.abs() } else { 1.0 };
    (lo - pad, hi + pad)
}

/// A filled band, piecewise constant in time, on labelled axes.
fn band_svg(f: &Frame, segs: &[Segment], ylabel: &str) -> String {
    let upper = segs.iter().flat_map(|s| [(s.t0, s.hi), (s.t1, s.hi)]);
    let lower = segs.iter().rev().flat_map(|s| [(s.t1, s.lo), (s.t0, s.lo)]);
    let points: Vec<String> = upper.chain(lower).map(|(t, v)| format!("{:.1},{:.1}", f.px(t), f.py(v))).collect();
    let band = format!("<polygon points=\"{}\" fill=\"#4a7fb5\" fill-opacity=\"0.45\" stroke=\"#2b5d8f\" stroke-width=\"0.8\"/>\n", points.join(" "));
    svg_open(WIDTH, HEIGHT) + &band + &f.axes("t", ylabel) + "</svg>\n"
}

// ---------------------------------------------------------------------------------------------
// Token paths (d = 3)

const COLOURS: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// Each token's path of box midpoints at the end of each step, projected onto the x–y and x–z
/// planes side by side; `None` if the boxes do not have `tokens · 3` coordinates.
fn token_plot(steps: &[Step], tokens: usize) -> Option<(String, String)> {
    let paths: Vec<Vec<[f64; 3]>> = (0..tokens).map(|i| token_path(steps, i)).collect::<Option<_>>()?;
    let all = || paths.iter().flatten();
    let mut svg = svg_open(2.0 * PANEL, PANEL - 4.0);
    for (p, (k, axis)) in [(1, "y"), (2, "z")].into_iter().enumerate() {
        // Equal scales on both axes, so the projection is not distorted.
        let (x, y) = square(padded(all().map(|q| q[0])), padded(all().map(|q| q[k])));
        let f = Frame::panel(p as f64 * PANEL, x, y);
        svg += &f.axes("x", axis);
        for (i, path) in paths.iter().enumerate() {
            svg += &token_polyline(&f, path, k, COLOURS[i % COLOURS.len()]);
        }
    }
    svg += &legend(tokens);
    svg += "</svg>\n";
    let caption = "Token paths: the midpoint of each token's enclosure at the end of every step, \
projected onto the x–y plane (left) and the x–z plane (right); a circle marks the end of the first step, a square the last.";
    Some((svg, caption.to_string()))
}

/// Token `i`'s midpoints, thinned to at most [`MAX_PATH_POINTS`] (always keeping the last).
fn token_path(steps: &[Step], i: usize) -> Option<Vec<[f64; 3]>> {
    let stride = steps.len().div_ceil(MAX_PATH_POINTS).max(1);
    let keep = |n: usize| n % stride == 0 || n + 1 == steps.len();
    let mid = |s: &Step, k: usize| Some((s.apriori.lo.get(3 * i + k)? + s.apriori.hi.get(3 * i + k)?) / 2.0);
    steps
        .iter()
        .enumerate()
        .filter(|(n, _)| keep(*n))
        .map(|(_, s)| Some([mid(s, 0)?, mid(s, 1)?, mid(s, 2)?]))
        .collect()
}

fn token_polyline(f: &Frame, path: &[[f64; 3]], k: usize, colour: &str) -> String {
    let pts: Vec<(f64, f64)> = path.iter().map(|q| (f.px(q[0]), f.py(q[k]))).collect();
    let text: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let mut out = format!("<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\"/>\n", text.join(" "));
    if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
        out += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"none\" stroke=\"{colour}\"/>\n", a.0, a.1);
        out += &format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"5\" height=\"5\" fill=\"{colour}\"/>\n", b.0 - 2.5, b.1 - 2.5);
    }
    out
}

/// Token colours, for the first ten tokens (beyond that the colours repeat).
fn legend(tokens: usize) -> String {
    (0..tokens.min(COLOURS.len()))
        .map(|i| format!("<text x=\"{:.1}\" y=\"{:.1}\" style=\"fill:{}\">token {}</text>\n", 60.0 + 60.0 * i as f64, PANEL - 12.0, COLOURS[i], i + 1))
        .collect()
}

/// Widens the shorter of two ranges so both have the same length.
fn square(x: (f64, f64), y: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    let half = (x.1 - x.0).max(y.1 - y.0) / 2.0;
    let centre = |r: (f64, f64)| (r.0 + r.1) / 2.0;
    ((centre(x) - half, centre(x) + half), (centre(y) - half, centre(y) + half))
}

// ---------------------------------------------------------------------------------------------
// Axes

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const PANEL: f64 = 320.0;
/// Margins of a plot area: room for tick labels on the left and below.
const LEFT: f64 = 72.0;
const BOTTOM: f64 = 36.0;
const PAD: f64 = 12.0;

fn svg_open(w: f64, h: f64) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n")
}

/// A plot area in pixels and the data ranges it shows; with `log`, `y` is in decades (log10).
struct Frame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    x: (f64, f64),
    y: (f64, f64),
    log: bool,
}

impl Frame {
    fn new(x: (f64, f64), y: (f64, f64), log: bool) -> Frame {
        Frame { left: LEFT, top: PAD, width: WIDTH - LEFT - PAD, height: HEIGHT - PAD - BOTTOM, x, y, log }
    }

    /// A square panel starting `offset` pixels from the left.
    fn panel(offset: f64, x: (f64, f64), y: (f64, f64)) -> Frame {
        let side = PANEL - LEFT.max(BOTTOM) - PAD;
        Frame { left: offset + LEFT, top: PAD, width: side, height: side, x, y, log: false }
    }

    fn px(&self, x: f64) -> f64 {
        self.left + fraction(x, self.x) * self.width
    }

    fn py(&self, y: f64) -> f64 {
        let v = if self.log { y.log10() } else { y };
        self.top + (1.0 - fraction(v, self.y)) * self.height
    }

    /// The frame, ticks with labels, and the axis names.
    fn axes(&self, xlabel: &str, ylabel: &str) -> String {
        let b = self.top + self.height;
        let mut marks = String::new();
        let mut labels = String::new();
        for (v, text) in linear_ticks(self.x) {
            let x = self.px(v);
            marks += &format!("M{x:.1},{b:.1}v4");
            labels += &format!("<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n", b + 15.0, esc(&text));
        }
        let yticks = if self.log { log_ticks(self.y) } else { linear_ticks(self.y) };
        for (v, text) in yticks {
            let y = self.py(v);
            marks += &format!("M{:.1},{y:.1}h-4", self.left);
            labels += &format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n", self.left - 6.0, y + 4.0, esc(&text));
        }
        let (cx, cy) = (self.left + self.width / 2.0, self.top + self.height / 2.0);
        format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#444\"/>\n\
<path d=\"{marks}\" stroke=\"#444\" fill=\"none\"/>\n{labels}\
<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n\
<text x=\"{:.1}\" y=\"{cy:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 {:.1} {cy:.1})\">{}</text>\n",
            self.left,
            self.top,
            self.width,
            self.height,
            b + 30.0,
            esc(xlabel),
            self.left - 58.0,
            self.left - 58.0,
            esc(ylabel),
        )
    }
}

/// Where `v` lies in `range`, clamped to `[0, 1]` (NaN at 0), so every coordinate is finite.
fn fraction(v: f64, range: (f64, f64)) -> f64 {
    let f = (v - range.0) / (range.1 - range.0);
    if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) }
}

/// Ticks at multiples of 1, 2 or 5 × 10^k, about five of them.
fn linear_ticks(range: (f64, f64)) -> Vec<(f64, String)> {
    let span = range.1 - range.0;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    let raw = span / 5.0;
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let step = p * if m < 1.5 { 1.0 } else if m < 3.5 { 2.0 } else if m < 7.5 { 5.0 } else { 10.0 };
    let first = (range.0 / step).ceil() as i64;
    (0..12)
        .map(|n| (first + n) as f64 * step)
        .take_while(|v| *v <= range.1 + 1e-9 * step)
        .map(|v| (v, tick_label(v, step)))
        .collect()
}

/// A tick label with as many decimals as the tick step needs (scientific when far from 1).
fn tick_label(v: f64, step: f64) -> String {
    if v.abs() < 1e-9 * step {
        return "0".into();
    }
    let mag = v.abs().log10().floor();
    if !(-3.0..5.0).contains(&mag) {
        return format!("{v:.1e}");
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Ticks at powers of ten across the decades in `range`, at most nine, at round exponents.
fn log_ticks(range: (f64, f64)) -> Vec<(f64, String)> {
    let (lo, hi) = (range.0.ceil() as i64, range.1.floor() as i64);
    let every = [1, 2, 5, 10, 20, 50, 100, 200].into_iter().find(|e| (hi - lo) / e <= 8).unwrap_or(500);
    (lo..=hi).filter(|k| k % every == 0).map(|k| (10f64.powi(k as i32), format!("1e{k}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_first_and_last() {
        assert_eq!(sample_indices(3, 10), vec![0, 1, 2]);
        assert_eq!(sample_indices(0, 10), Vec::<usize>::new());
        let s = sample_indices(1000, 10);
        assert_eq!((s.len(), s[0], s[9]), (10, 0, 999));
    }

    #[test]
    fn merged_band_contains_every_step() {
        let segs: Vec<Segment> = (0..1000).map(|i| Segment { t0: i as f64, t1: i as f64 + 1.0, lo: -(i as f64), hi: i as f64 }).collect();
        let m = merge(&segs, 300);
        assert!(m.len() <= 300);
        for s in &segs {
            let cover = m.iter().find(|c| c.t0 <= s.t0 && s.t1 <= c.t1).map(|c| c.lo <= s.lo && s.hi <= c.hi);
            assert_eq!(cover, Some(true));
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(md_esc("a<b> | c\\"), "a\\<b\\> \\| c\\\\");
    }
}
