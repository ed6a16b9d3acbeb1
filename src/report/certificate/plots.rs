//! The report's plots: the misalignment `E`, the Lyapunov functions and (for `d = 3`) the
//! token paths of a *verified* certificate.
//!
//! What is drawn is what the certificate proves. A step records its enclosures of `E` and of
//! the Lyapunov functions over its whole-step a-priori box only, which is far coarser than the
//! certified set at its end; the claims (`E(T) ≤ b`) are the checker's enclosures over that end
//! set. So the report recomputes, with the checker's own formulas (`certificate::lyapunov`,
//! `check::to_set`), the enclosures over the certified set at `t = 0` and at every step's end,
//! and draws those; the whole-step band is drawn lighter behind them. The plots are
//! illustrations, drawn in `f64` pixels, but every band or line contains (bounds) the
//! enclosures it depicts: runs of steps merged for size are drawn as their outer envelope.

use inari::Interval;
use nalgebra::DMatrix;

use super::svg::{self, band, decades, legend, legend_column, merge, padded, upper_line, usable, Frame, Segment, Swatch, BOTTOM, LEFT, PAD};
use crate::certificate::check::{self, Accepted};
use crate::certificate::flow::Dynamics;
use crate::certificate::lyapunov::{self, Family, Functions};
use crate::certificate::{Certificate, ClaimKind};
use crate::model;
use crate::numeric::show::{show_lower, show_upper};
use crate::system::System;
use crate::theorem::{self, Limit};

/// Segments per band or line and points per token path: keeps a long certificate's page small.
const MAX_SEGMENTS: usize = 300;
const MAX_PATH_POINTS: usize = 600;
/// Most entries in the Lyapunov legend (the colours repeat after ten anyway).
const MAX_LEGEND: usize = 15;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LYAPUNOV_WIDTH: f64 = 800.0;
const PANEL: f64 = 320.0;

const COLOURS: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const CLAIM: &str = "#b00020";
const WHOLE_STEP: &str = "#a9c6e3";
const STEP_END: &str = "#1f4e79";
const OUTLINE: &str = "#9a9a9a";

/// Every plot of the page: `(svg, caption)`.
pub fn all(cert: &Certificate, ok: &Accepted, system: Option<&System>) -> Vec<(String, String)> {
    if cert.steps.is_empty() {
        return Vec::new();
    }
    let certified = system.map(|sys| Certified::new(cert, ok, sys));
    let mut out = vec![misalignment_plot(cert, ok, certified.as_ref())];
    if !cert.lyapunov.is_empty() {
        out.push(lyapunov_plot(cert, ok, certified.as_ref()));
    }
    if let Some(c) = certified.as_ref().filter(|c| c.sys.dim == 3) {
        out.extend(token_plot(cert, ok, c));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The certified sets

/// The certified set at `t = 0` (if the system's initial set can be formed) and at each step's
/// end, with the checker's enclosures over them.
struct Certified<'a> {
    sys: &'a System,
    funcs: Option<Functions>,
    points: Vec<SetPoint>,
}

/// One certified set: every solution is in it at time `t`.
struct SetPoint {
    t: f64,
    /// `E` over the set (NaN for an enclosure that says nothing, which is then not drawn).
    e: [f64; 2],
    /// Each Lyapunov function over the set (empty when the functions cannot be set up).
    v: Vec<[f64; 2]>,
    /// The midpoint of the set's interval hull, and the largest radius around it.
    mid: Vec<f64>,
    rad: f64,
}

impl Certified<'_> {
    fn new<'a>(cert: &Certificate, ok: &Accepted, sys: &'a System) -> Certified<'a> {
        // The functions as `verify` sets them up; their values do not depend on the verdict.
        let funcs = lyapunov::setup(sys, &cert.theorem, ok.verdict == "holds", cert.radius).ok().filter(|f| f.names == cert.lyapunov);
        let n = sys.tokens * sys.dim;
        let start = Dynamics::new(sys).and_then(|dy| dy.initial(cert.radius)).ok().map(|r| (0.0, r));
        // `verify` accepted every `end`; one that does not read (only in hand-made data) is skipped.
        let ends = cert.steps.iter().filter_map(|s| Some((s.t1, check::to_set(&s.end, n, "end").ok()?.hull())));
        let points = start.into_iter().chain(ends).map(|(t, hull)| SetPoint::new(t, &hull, sys.dim, funcs.as_ref())).collect();
        Certified { sys, funcs, points }
    }

    /// Whether the first set is the initial one (the step ends all have `t > 0`).
    fn starts_at_zero(&self) -> bool {
        self.points.first().is_some_and(|p| p.t == 0.0)
    }
}

impl SetPoint {
    fn new(t: f64, hull: &[Interval], dim: usize, funcs: Option<&Functions>) -> SetPoint {
        let tokens: Vec<Vec<Interval>> = hull.chunks(dim).map(<[Interval]>::to_vec).collect();
        SetPoint {
            t,
            e: ends(lyapunov::misalignment(&tokens)),
            v: funcs.map_or_else(Vec::new, |f| f.values(&tokens).into_iter().map(ends).collect()),
            mid: hull.iter().map(|x| x.mid()).collect(),
            rad: hull.iter().map(|x| x.rad()).fold(0.0, f64::max),
        }
    }
}

/// An enclosure's ends; NaN for an empty one, which proves nothing.
fn ends(x: Interval) -> [f64; 2] {
    if x.is_empty() {
        [f64::NAN; 2]
    } else {
        [x.inf(), x.sup()]
    }
}

/// The strongest proved bound of the claims of `kind` about `function`, if any.
fn proved(ok: &Accepted, kind: ClaimKind, function: Option<&str>) -> Option<f64> {
    ok.claims
        .iter()
        .filter(|p| ClaimKind::parse(&p.claim.kind) == Some(kind) && p.claim.function.as_deref() == function)
        .map(|p| p.proved)
        .filter(|b| b.is_finite())
        .reduce(f64::min)
}

fn time_range(cert: &Certificate) -> (f64, f64) {
    let t1 = cert.end_time();
    if t1 > 0.0 && t1.is_finite() {
        (0.0, t1)
    } else {
        (0.0, 1.0)
    }
}

/// The plot area of a `w`-wide single plot, `HEIGHT` high, `right` pixels kept free on the right.
fn frame(w: f64, right: f64, x: (f64, f64), y: (f64, f64), log: bool) -> Frame {
    Frame { left: LEFT, top: PAD, width: w - LEFT - PAD - right, height: HEIGHT - PAD - BOTTOM, x, y, log }
}

/// Why the end sets were not evaluated (verify reads every one it accepts, so this is the
/// embedded system not decoding, or hand-made data).
const NOT_EVALUATED: &str = "the embedded system does not decode, or the sets do not read";

/// The caption's note on runs merged for size, when there are any.
fn merged_note(n: usize) -> String {
    if n > MAX_SEGMENTS {
        format!(" ({n} of them: runs of consecutive ones are drawn as their outer envelope)")
    } else {
        String::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Misalignment

fn misalignment_plot(cert: &Certificate, ok: &Accepted, c: Option<&Certified>) -> (String, String) {
    let whole = usable(cert.steps.iter().map(|s| Segment::over(s.t0, s.t1, s.misalignment)));
    let at_sets = c.map(|c| usable(c.points.iter().map(|p| Segment::at(p.t, p.e)))).filter(|s| !s.is_empty());
    let claim = proved(ok, ClaimKind::MisalignmentAtEnd, None);
    // Every upper end is on the axis (they are what is proved); the floor is a decade below the
    // smallest, and lower ends under it are drawn on the bottom edge.
    let highs = whole.iter().chain(at_sets.iter().flatten()).map(|s| s.hi).chain(claim);
    let f = frame(WIDTH, 0.0, time_range(cert), decades(highs), true);
    let whole_attrs = format!("class=\"whole-step\" fill=\"{WHOLE_STEP}\" fill-opacity=\"0.5\"");
    let mut body = band(&f, &merge(&whole, MAX_SEGMENTS), &whole_attrs);
    let mut entries = vec![(Swatch::Fill(WHOLE_STEP, 0.5), "E over each whole step (its a-priori box)".to_string())];
    if let Some(s) = &at_sets {
        let attrs = format!("class=\"step-end\" fill=\"{STEP_END}\" fill-opacity=\"0.85\" stroke=\"{STEP_END}\" stroke-width=\"1\"");
        body += &band(&f, &merge(s, MAX_SEGMENTS), &attrs);
        entries.push((Swatch::Fill(STEP_END, 0.85), "E over the certified set at t = 0 and at each step end".into()));
    }
    if let Some(b) = claim {
        body += &claim_line(&f, b);
        entries.push((Swatch::Dashed(CLAIM), format!("proved claim: E(T) ≤ {}", show_upper(b))));
    }
    let (key, last) = legend(&entries, LEFT, HEIGHT + 8.0, WIDTH - PAD);
    let svg = svg::open(WIDTH, last + 10.0, "plot-misalignment") + &body + &f.axes("t", "misalignment E (log scale)") + &key + "</svg>\n";
    (svg, misalignment_caption(cert, at_sets.is_some(), claim, &f))
}

/// A dashed line across the plot at a proved bound.
fn claim_line(f: &Frame, b: f64) -> String {
    let y = f.py(b);
    format!(
        "<line class=\"claim\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{CLAIM}\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>\n",
        f.left,
        f.left + f.width
    )
}

fn misalignment_caption(cert: &Certificate, at_sets: bool, claim: Option<f64>, f: &Frame) -> String {
    let floor = show_lower(10f64.powf(f.y.0));
    let steps = merged_note(cert.steps.len());
    let dark = if at_sets {
        format!(
            "Dark band: the enclosure of E over the certified set at t = 0 and at the end of every step{steps}, \
joined by straight lines (these are the sets the claims are proved on). Light band: the enclosure of E over each \
whole step's a-priori box, valid for every t in the step but much coarser. "
        )
    } else {
        format!("Band: the enclosure of E over each whole step's a-priori box{steps} (the report could not evaluate E over the certified end sets: {NOT_EVALUATED}). ")
    };
    let claim = claim.map_or(String::new(), |b| format!("Dashed: the proved claim E(T) ≤ {} at T = {}. ", show_upper(b), show_lower(cert.end_time())));
    format!("Misalignment E, log10 scale. {dark}{claim}Lower ends below {floor} are drawn on the bottom edge.")
}

// ---------------------------------------------------------------------------------------------
// Lyapunov functions

fn lyapunov_plot(cert: &Certificate, ok: &Accepted, c: Option<&Certified>) -> (String, String) {
    let names = &cert.lyapunov;
    let at_sets = c.filter(|c| c.funcs.is_some());
    let series: Vec<Vec<Segment>> = (0..names.len()).map(|j| lyapunov_series(cert, at_sets, j)).collect();
    let claims: Vec<Option<f64>> = names.iter().map(|n| proved(ok, ClaimKind::LyapunovAtEnd, Some(n))).collect();
    // Thm 3.2's V_P is negative; every other theorem's functions are ≥ 0 (1 − vᵀy, V(a), their
    // max) and go to 0 (or a small value): a log axis shows what is proved near the end.
    let log = cert.theorem != "3.2";
    let highs = series.iter().flatten().map(|s| s.hi).chain(claims.iter().flatten().copied());
    let y = if log { decades(highs) } else { padded(highs) };
    let entries = lyapunov_legend(names, &claims);
    let key_width = entries.iter().map(|(_, l)| svg::entry_width(l)).fold(0.0, f64::max);
    let f = frame(LYAPUNOV_WIDTH, key_width + 16.0, time_range(cert), y, log);
    let mut body = String::new();
    for (j, segs) in series.iter().enumerate() {
        let colour = COLOURS[j % COLOURS.len()];
        body += &upper_line(&f, &merge(segs, MAX_SEGMENTS), &format!("class=\"lyapunov\" stroke=\"{colour}\" stroke-width=\"1.4\""));
    }
    for (j, b) in claims.iter().enumerate() {
        if let Some(b) = b {
            body += &svg::diamond(f.px(cert.end_time()), f.py(*b), COLOURS[j % COLOURS.len()]);
        }
    }
    let height = HEIGHT.max(PAD + 12.0 + entries.len() as f64 * svg::ROW);
    let key = legend_column(&entries, f.left + f.width + 16.0, PAD + 12.0);
    let ylabel = if log { "Lyapunov functions (log scale)" } else { "Lyapunov function" };
    let svg = svg::open(LYAPUNOV_WIDTH, height, if log { "plot-lyapunov log" } else { "plot-lyapunov linear" })
        + &body
        + &f.axes("t", ylabel)
        + &key
        + "</svg>\n";
    (svg, lyapunov_caption(cert, ok, at_sets.is_some(), &f))
}

/// Function `j`'s enclosures: over the certified sets when the report can evaluate them, else
/// the recorded whole-step ones.
fn lyapunov_series(cert: &Certificate, at_sets: Option<&Certified>, j: usize) -> Vec<Segment> {
    let none = [f64::NAN; 2];
    match at_sets {
        Some(c) => usable(c.points.iter().map(|p| Segment::at(p.t, p.v.get(j).copied().unwrap_or(none)))),
        None => usable(cert.steps.iter().map(|s| Segment::over(s.t0, s.t1, s.values.get(j).copied().unwrap_or(none)))),
    }
}

/// One entry per function (at most [`MAX_LEGEND`]), with its proved end bound.
fn lyapunov_legend(names: &[String], claims: &[Option<f64>]) -> Vec<(Swatch<'static>, String)> {
    let shown = if names.len() > MAX_LEGEND { MAX_LEGEND - 1 } else { names.len() };
    let mut entries: Vec<(Swatch<'static>, String)> = names
        .iter()
        .zip(claims)
        .take(shown)
        .enumerate()
        .map(|(j, (name, b))| {
            let label = b.map_or(name.clone(), |b| format!("{name}(T) ≤ {}", show_upper(b)));
            (Swatch::Line(COLOURS[j % COLOURS.len()]), label)
        })
        .collect();
    if shown < names.len() {
        entries.push((Swatch::Line("#ffffff"), format!("… {} more (colours repeat)", names.len() - shown)));
    }
    entries
}

fn lyapunov_caption(cert: &Certificate, ok: &Accepted, at_sets: bool, f: &Frame) -> String {
    let scale = if f.log { "log10 scale" } else { "linear scale" };
    let over = if at_sets {
        "over the certified set at t = 0 and at the end of every step"
    } else {
        "over each whole step's a-priori box (the report could not evaluate the functions over the certified end sets: the embedded system does not decode or the theorem's functions cannot be set up for it)"
    };
    let floor = if f.log { format!(" Upper ends below {} are drawn on the bottom edge.", show_lower(10f64.powf(f.y.0))) } else { String::new() };
    let mut out = format!(
        "Lyapunov functions of Theorem {}, {scale}: each line is the upper end of a function's certified enclosure {over}{}; \
a diamond at T marks each proved claim V(T) ≤ b, with b in the legend.{floor}",
        cert.theorem,
        merged_note(cert.steps.len())
    );
    for p in ok.claims.iter().filter(|p| ClaimKind::parse(&p.claim.kind) == Some(ClaimKind::LyapunovNonincreasing)) {
        let name = p.claim.function.as_deref().unwrap_or("V");
        out += &format!(" {name} is proved non-increasing on [0, T]: d{name}/dt ≤ {} on every step.", show_upper(p.proved));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Token paths (d = 3)

/// Each token's path through the midpoints of its certified sets, projected onto the x–y and
/// x–z planes side by side, over the outline of `E_W` and with the predicted limit marked;
/// `None` if the sets do not have `tokens · 3` coordinates.
fn token_plot(cert: &Certificate, ok: &Accepted, c: &Certified) -> Option<(String, String)> {
    let sys = c.sys;
    let points = thin(&c.points, MAX_PATH_POINTS);
    if points.is_empty() || points.iter().any(|p| p.mid.len() != 3 * sys.tokens) {
        return None;
    }
    let paths: Vec<Vec<[f64; 3]>> = (0..sys.tokens).map(|i| points.iter().map(|p| [p.mid[3 * i], p.mid[3 * i + 1], p.mid[3 * i + 2]]).collect()).collect();
    let limit = predicted_limit(cert, ok, c);
    let winv = sys.metric_f64().try_inverse();
    let mut body = String::new();
    for (p, (k, axis)) in [(1, "y"), (2, "z")].into_iter().enumerate() {
        let outline = winv.as_ref().and_then(|m| shadow(m, k)).unwrap_or_default();
        body += &token_panel(p as f64 * PANEL, (k, axis), &paths, &outline, limit.as_ref().map(|l| &l.point), c.starts_at_zero());
    }
    let entries = token_legend(sys, c.starts_at_zero(), limit.as_ref());
    let (key, last) = legend(&entries, 20.0, PANEL - 12.0, 2.0 * PANEL - PAD);
    let svg = svg::open(2.0 * PANEL, last + 10.0, "plot-tokens") + &body + &key + "</svg>\n";
    let rad = points.iter().map(|p| p.rad).fold(0.0, f64::max);
    Some((svg, token_caption(sys, c.starts_at_zero(), limit.as_ref(), rad)))
}

/// The theorem's predicted limit (when its hypotheses hold), as a point to mark.
struct Predicted {
    point: Vec<f64>,
    /// What it is, e.g. "predicted limit v".
    label: String,
}

/// The limit the theorem (or conjecture) predicts, when its hypotheses hold and it names a
/// point: Thm 6.1's top eigenvector `v` of `U` (on the tokens' side, as the checker signs
/// it), Thm 5.1's first token `y_1(0)`. Thm 3.2 and 4.1 name no point.
fn predicted_limit(cert: &Certificate, ok: &Accepted, c: &Certified) -> Option<Predicted> {
    if ok.verdict != "holds" {
        return None;
    }
    let spec = theorem::all().ok()?.into_iter().find(|s| s.id == cert.theorem)?;
    let word = if spec.kind == "conjecture" { "conjectured" } else { "predicted" };
    let (point, name) = match spec.limit {
        Limit::Eigenvector => match &c.funcs.as_ref()?.family {
            Family::Eigen { v, .. } => (v.iter().map(|x| x.mid()).collect(), "v (top eigenvector of U)"),
            _ => return None,
        },
        Limit::FirstToken => (model::initial_state(c.sys).column(0).iter().copied().collect(), "y_1(0)"),
        Limit::Equilibrium | Limit::Consensus => return None,
    };
    Some(Predicted { point, label: format!("{word} limit {name}") })
}

/// One square panel `offset` pixels from the left: coordinate 0 across, `k` up.
fn token_panel(offset: f64, (k, axis): (usize, &str), paths: &[Vec<[f64; 3]>], outline: &[(f64, f64)], limit: Option<&Vec<f64>>, from_zero: bool) -> String {
    let xs = paths.iter().flatten().map(|q| q[0]).chain(outline.iter().map(|o| o.0)).chain(limit.map(|l| l[0]));
    let ys = paths.iter().flatten().map(|q| q[k]).chain(outline.iter().map(|o| o.1)).chain(limit.map(|l| l[k]));
    // Equal scales on both axes, so the projection is not distorted.
    let (x, y) = square(padded(xs), padded(ys));
    let side = PANEL - LEFT.max(BOTTOM) - PAD;
    let f = Frame { left: offset + LEFT, top: PAD, width: side, height: side, x, y, log: false };
    let mut out = String::new();
    if !outline.is_empty() {
        out += &format!("<polygon class=\"outline\" points=\"{}\" fill=\"#f4f4f4\" stroke=\"{OUTLINE}\" stroke-width=\"1\"/>\n", svg::points(&f, outline.iter().copied()));
    }
    out += &f.axes("x", axis);
    for (i, path) in paths.iter().enumerate() {
        out += &token_path(&f, path, k, COLOURS[i % COLOURS.len()], from_zero);
    }
    if let Some(l) = limit {
        out += &svg::cross(f.px(l[0]), f.py(l[k]), "#000", "limit");
    }
    out
}

fn token_path(f: &Frame, path: &[[f64; 3]], k: usize, colour: &str, from_zero: bool) -> String {
    let mut out = format!("<polyline class=\"path\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\"/>\n", svg::points(f, path.iter().map(|q| (q[0], q[k]))));
    if let (Some(a), Some(b)) = (path.first(), path.last()) {
        if from_zero {
            out += &svg::circle(f.px(a[0]), f.py(a[k]), colour, "start");
        }
        out += &svg::square(f.px(b[0]), f.py(b[k]), colour, "end");
    }
    out
}

fn token_legend(sys: &System, from_zero: bool, limit: Option<&Predicted>) -> Vec<(Swatch<'static>, String)> {
    let mut entries: Vec<(Swatch<'static>, String)> = (0..sys.tokens.min(COLOURS.len())).map(|i| (Swatch::Line(COLOURS[i]), format!("token {}", i + 1))).collect();
    if sys.tokens > COLOURS.len() {
        entries.push((Swatch::Line("#ffffff"), format!("tokens 11–{}: colours repeat", sys.tokens)));
    }
    if from_zero {
        entries.push((Swatch::Circle("#222"), "t = 0".into()));
    }
    entries.push((Swatch::Square("#222"), "t = T".into()));
    if let Some(l) = limit {
        entries.push((Swatch::Cross("#000"), l.label.clone()));
    }
    entries.push((Swatch::Line(OUTLINE), if sys.metric_is_identity() { "unit sphere".into() } else { "ellipsoid E_W".to_string() }));
    entries
}

fn token_caption(sys: &System, from_zero: bool, limit: Option<&Predicted>, rad: f64) -> String {
    let start = if from_zero { "at t = 0 (circle) and " } else { "" };
    let surface = if sys.metric_is_identity() { "the unit sphere, on which the tokens move" } else { "the ellipsoid E_W = {yᵀWy = 1}, on which the tokens move" };
    let mut out = format!(
        "Token paths: the midpoint of each token's certified enclosure {start}at the end of every step, up to T (square), \
projected onto the x–y plane (left) and the x–z plane (right); each of these enclosures lies within {} of its \
midpoint in every coordinate. Grey: the outline of {surface}.",
        show_upper(rad)
    );
    if let Some(l) = limit {
        let shown: Vec<String> = l.point.iter().map(|x| format!("{x:.4}")).collect();
        out += &format!(" Cross: the {} ≈ ({}).", l.label, shown.join(", "));
    }
    out
}

/// At most `max` points, evenly thinned, always keeping the first and the last.
fn thin(points: &[SetPoint], max: usize) -> Vec<&SetPoint> {
    let stride = points.len().div_ceil(max.max(2) - 1).max(1);
    let last = points.len().saturating_sub(1);
    points.iter().enumerate().filter(|(n, _)| n % stride == 0 || *n == last).map(|(_, p)| p).collect()
}

/// The outline of `E_W`'s shadow on the plane of coordinates 0 and `k`. `E_W = W^{-1/2}·S`,
/// so its shadow is `{ p : pᵀM⁻¹p ≤ 1 }` with `M` the `(0, k)` block of `W⁻¹`, whose boundary
/// is `L·(cos θ, sin θ)` for `M = L·Lᵀ` (Cholesky). `None` if `M` is not positive definite.
fn shadow(winv: &DMatrix<f64>, k: usize) -> Option<Vec<(f64, f64)>> {
    let (a, b, c) = (winv[(0, 0)], (winv[(0, k)] + winv[(k, 0)]) / 2.0, winv[(k, k)]);
    let l11 = a.sqrt();
    let l21 = b / l11;
    let l22 = (c - l21 * l21).sqrt();
    if !(l11 > 0.0 && l22 > 0.0 && l21.is_finite()) {
        return None;
    }
    let n = 96;
    Some((0..n).map(|i| (i as f64 * std::f64::consts::TAU / n as f64).sin_cos()).map(|(s, co)| (l11 * co, l21 * co + l22 * s)).collect())
}

/// Widens the shorter of two ranges so both have the same length.
fn square(x: (f64, f64), y: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    let half = (x.1 - x.0).max(y.1 - y.0) / 2.0;
    let centre = |r: (f64, f64)| (r.0 + r.1) / 2.0;
    ((centre(x) - half, centre(x) + half), (centre(y) - half, centre(y) + half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_sphere_shadow_is_the_unit_circle() {
        let o = shadow(&DMatrix::identity(3, 3), 2).unwrap();
        assert!(o.iter().all(|(x, y)| (x * x + y * y - 1.0).abs() < 1e-12));
    }

    #[test]
    fn ellipsoid_shadow_touches_its_extent() {
        // W = diag(4, 1, 1): E_W reaches x = ±1/2 and y = ±1.
        let w = DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![4.0, 1.0, 1.0]));
        let o = shadow(&w.try_inverse().unwrap(), 1).unwrap();
        let max = |f: fn(&(f64, f64)) -> f64| o.iter().map(f).fold(0.0, f64::max);
        assert!((max(|p| p.0) - 0.5).abs() < 1e-12 && (max(|p| p.1) - 1.0).abs() < 1e-12);
    }
}
