//! The time plots: one run's `E(t)` and Lyapunov functions on log axes, and a batch's runs with
//! their median and band (Figure 5). Plans hold the numbers as drawn; `paint` draws them on any
//! plotters backend.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::series::{band, LogAxis, DRAWN_MAX, DRAWN_MIN};
use super::{failed, Plan, FAMILY};
use crate::error::Result;
use crate::report::runfile::{Monitors, Run};

/// A plotters drawing area with pixel coordinates.
pub type Area<DB> = DrawingArea<DB, Shift>;

const WIDTH: u32 = 960;
const PANEL: u32 = 340;
const TITLE: u32 = 44;
const NOTE: u32 = 22;
/// Thin lines drawn at most in a batch picture (the band and median use every run).
pub const MAX_THIN: usize = 300;
/// Samples up to which each sample is also marked with a dot.
const MARK: usize = 40;
/// The band of a batch: from this quantile to its complement.
pub const BAND_Q: f64 = 0.1;

/// Line colours: E in near-black, then a cycle of ten colours that stay apart on white (the
/// Okabe–Ito colours without yellow, and four darker ones).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(110, 110, 110),
    RGBColor(140, 40, 40),
    RGBColor(100, 70, 160),
    RGBColor(120, 120, 20),
];
const INK: RGBColor = RGBColor(25, 25, 25);
const RUNS: RGBColor = RGBColor(60, 100, 160);
const MEDIAN: RGBColor = RGBColor(10, 40, 110);

pub fn palette(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// One drawn series: points as drawn (clipped to the axis), its name and colour.
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// One log-scale panel.
#[derive(Debug, Clone)]
pub struct Panel {
    pub ylabel: String,
    pub axis: LogAxis,
    pub lines: Vec<Line>,
}

/// One run: `E` above, the Lyapunov functions below (when the system has any).
#[derive(Debug, Clone)]
pub struct MonitorsPlan {
    pub title: String,
    pub x: (f64, f64),
    pub panels: Vec<Panel>,
    pub marks: bool,
    pub notes: Vec<String>,
}

/// A batch: thin lines, band, median of `E`.
#[derive(Debug, Clone)]
pub struct RunsPlan {
    pub title: String,
    pub x: (f64, f64),
    pub axis: LogAxis,
    pub thin: Vec<Vec<(f64, f64)>>,
    /// The band as a closed polygon (lower edge forward, upper edge back).
    pub band: Option<Vec<(f64, f64)>>,
    pub median: Option<Vec<(f64, f64)>>,
    pub runs: usize,
    pub notes: Vec<String>,
}

/// The time range, widened around a single time so the axis has a length.
fn x_range<'a>(runs: impl IntoIterator<Item = &'a Run>) -> (f64, f64) {
    let (lo, hi) = runs.into_iter().flat_map(|r| r.t.iter().copied()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| (a.min(t), b.max(t)));
    if !(lo.is_finite() && hi.is_finite()) {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        let pad = (lo.abs() * 0.05).max(0.5);
        if (hi + pad).is_finite() {
            (lo - pad, hi + pad)
        } else {
            (lo - 2.0 * pad, hi)
        }
    }
}

/// How a series is drawn on a log axis: negated when it is negative throughout (`V_P =
/// −½Σexp(…) < 0`: its size is what a log axis shows), else as is with values `≤ 0` at the floor.
fn signed(name: &str, v: &[f64]) -> (String, Vec<f64>) {
    if !v.is_empty() && v.iter().all(|&x| x < 0.0) {
        (format!("−{name}"), v.iter().map(|x| -x).collect())
    } else {
        (name.to_string(), v.to_vec())
    }
}

/// The notes for values a log axis cannot show, if any: `≤ 0`, or beyond the drawable range.
fn floor_notes(name: &str, v: &[f64], axis: &LogAxis) -> Vec<String> {
    let mut notes = vec![];
    let n = v.iter().filter(|&&x| x <= 0.0).count();
    if n > 0 {
        let why = if name == "E" || name.starts_with("V_eigen") || name.starts_with("V_cascade") { " (0 up to rounding)" } else { "" };
        notes.push(format!("{name} ≤ 0 at {n} of {} samples{why}: drawn at the axis floor {:.0e}", v.len(), axis.floor));
    }
    let out = v.iter().filter(|&&x| x > 0.0 && axis.clip(x) != x).count();
    if out > 0 {
        notes.push(format!(
            "{name} beyond the drawable range ({DRAWN_MIN:e} to {DRAWN_MAX:e}, at most 300 decades) at {out} samples: drawn at the nearer end of the axis"
        ));
    }
    notes
}

/// The plan for a monitors file: a batch picture when the file is a `--runs` batch.
pub fn plan(m: &Monitors, title: String) -> Plan {
    if m.runs.len() > 1 || m.runs.first().is_some_and(|r| r.id.is_some()) {
        Plan::Runs(runs_plan(m, title))
    } else {
        Plan::Monitors(monitors_plan(m, title))
    }
}

fn monitors_plan(m: &Monitors, title: String) -> MonitorsPlan {
    let empty = Run { id: None, t: vec![], values: vec![] };
    let run = m.runs.first().unwrap_or(&empty);
    let mut notes = vec![];
    let mut panels = vec![];
    let groups: [(&str, std::ops::Range<usize>); 2] = [("E (misalignment)", 0..1), ("Lyapunov functions", 1..m.names.len())];
    for (ylabel, range) in groups {
        let series: Vec<(String, Vec<f64>, usize)> = range
            .filter_map(|k| run.values.get(k).map(|v| (k, v)))
            .map(|(k, v)| {
                let (name, v) = signed(&m.names[k], v);
                (name, v, k)
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        let axis = LogAxis::fit(series.iter().flat_map(|(_, v, _)| v.iter().copied()));
        let mut lines = vec![];
        for (name, v, k) in series {
            notes.extend(floor_notes(&name, &v, &axis));
            let color = if k == 0 { INK } else { palette(k - 1) };
            lines.push(Line { name, color, points: run.t.iter().zip(&v).map(|(&t, &y)| (t, axis.clip(y))).collect() });
        }
        panels.push(Panel { ylabel: ylabel.to_string(), axis, lines });
    }
    if m.names.iter().any(|n| n == "V_P") {
        notes.push("V_P = −½ Σ exp(…) is negative: its magnitude −V_P is drawn".into());
    }
    MonitorsPlan { title, x: x_range(m.runs.iter()), panels, marks: run.t.len() <= MARK, notes }
}

fn runs_plan(m: &Monitors, title: String) -> RunsPlan {
    let n = m.runs.len();
    let axis = LogAxis::fit(m.runs.iter().flat_map(|r| r.values.first().into_iter().flatten().copied()));
    let all_e: Vec<f64> = m.runs.iter().flat_map(|r| r.values.first().into_iter().flatten().copied()).collect();
    let mut notes = floor_notes("E", &all_e, &axis);
    let line = |t: &[f64], v: &[f64]| -> Vec<(f64, f64)> { t.iter().zip(v).map(|(&t, &y)| (t, axis.clip(y))).collect() };
    let thin: Vec<Vec<(f64, f64)>> = m.runs.iter().take(MAX_THIN).filter_map(|r| r.values.first().map(|v| line(&r.t, v))).collect();
    if n > MAX_THIN {
        notes.push(format!("thin lines: the first {MAX_THIN} of {n} runs; the median and the band use all {n}"));
    }
    let (band_poly, median) = match (n >= 2).then(|| band(&m.runs, 0, BAND_Q)).flatten() {
        Some(b) => {
            let mut poly = line(&b.t, &b.lo);
            poly.extend(line(&b.t, &b.hi).into_iter().rev());
            (Some(poly), Some(line(&b.t, &b.median)))
        }
        None if n >= 2 => {
            notes.push("the runs do not share their sample times: no median or band".into());
            (None, None)
        }
        None => (None, None),
    };
    RunsPlan { title, x: x_range(m.runs.iter()), axis, thin, band: band_poly, median, runs: n, notes }
}

/// A tick label of a log axis: `1e-8`.
fn sci(v: f64) -> String {
    format!("{v:.0e}")
}

/// Splits off the title (top) and the notes (bottom); returns the area in between.
fn frame<DB: DrawingBackend>(root: &Area<DB>, title: &str, notes: &[String]) -> Result<Area<DB>> {
    root.fill(&WHITE).map_err(failed)?;
    let (_, h) = root.dim_in_pixel();
    let notes_h = if notes.is_empty() { 0 } else { NOTE * notes.len() as u32 + 10 };
    let (top, bottom) = root.split_vertically(h.saturating_sub(notes_h));
    for (i, n) in notes.iter().enumerate() {
        bottom.draw(&Text::new(n.clone(), (16, 2 + NOTE as i32 * i as i32), (FAMILY, 15).into_font().color(&INK))).map_err(failed)?;
    }
    top.titled(title, (FAMILY, 22).into_font().color(&INK)).map_err(failed)
}

fn style_mesh<'a, DB: DrawingBackend + 'a, X, Y>(chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>, ylabel: &str) -> Result<()>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc("t")
        .y_desc(ylabel)
        .y_labels(10)
        .x_labels(10)
        .y_label_formatter(&|v| sci(*v))
        .label_style((FAMILY, 15).into_font().color(&INK))
        .axis_desc_style((FAMILY, 17).into_font().color(&INK))
        .bold_line_style(BLACK.mix(0.10))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(failed)
}

/// The legend box of every picture (upper right, translucent), labels at `size` px.
pub(super) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, DB, CT>, size: u32) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FAMILY, size).into_font().color(&INK))
        .draw()
        .map_err(failed)
}

impl MonitorsPlan {
    pub fn size(&self) -> (u32, u32) {
        let notes = if self.notes.is_empty() { 0 } else { NOTE * self.notes.len() as u32 + 10 };
        (WIDTH, TITLE + PANEL * self.panels.len().max(1) as u32 + notes)
    }

    pub fn paint<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<()> {
        let body = frame(root, &self.title, &self.notes)?;
        let areas = body.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .margin_right(40)
                .x_label_area_size(44)
                .y_label_area_size(84)
                .build_cartesian_2d(self.x.0..self.x.1, (panel.axis.floor..panel.axis.hi).log_scale())
                .map_err(failed)?;
            style_mesh(&mut chart, &panel.ylabel)?;
            for line in &panel.lines {
                let style = ShapeStyle::from(&line.color).stroke_width(2);
                chart
                    .draw_series(LineSeries::new(line.points.iter().copied(), style))
                    .map_err(failed)?
                    .label(line.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
                if self.marks {
                    chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 3, line.color.filled()))).map_err(failed)?;
                }
            }
            legend(&mut chart, 15)?;
        }
        Ok(())
    }
}

impl RunsPlan {
    pub fn size(&self) -> (u32, u32) {
        let notes = if self.notes.is_empty() { 0 } else { NOTE * self.notes.len() as u32 + 10 };
        (WIDTH, TITLE + 2 * PANEL - 80 + notes)
    }

    pub fn paint<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<()> {
        let runs = if self.runs == 1 { "1 run".to_string() } else { format!("{} runs", self.runs) };
        let body = frame(root, &format!("{}: E(t) of {runs}", self.title), &self.notes)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(10)
            .margin_right(40)
            .x_label_area_size(44)
            .y_label_area_size(84)
            .build_cartesian_2d(self.x.0..self.x.1, (self.axis.floor..self.axis.hi).log_scale())
            .map_err(failed)?;
        style_mesh(&mut chart, "E (misalignment)")?;
        let thin = ShapeStyle::from(&RUNS.mix(0.35)).stroke_width(1);
        for (i, pts) in self.thin.iter().enumerate() {
            let s = chart.draw_series(LineSeries::new(pts.iter().copied(), thin)).map_err(failed)?;
            if i == 0 {
                s.label(format!("each run ({})", self.thin.len())).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], thin));
            }
        }
        if let Some(poly) = &self.band {
            let fill = RUNS.mix(0.25).filled();
            chart
                .draw_series(std::iter::once(Polygon::new(poly.clone(), fill)))
                .map_err(failed)?
                .label(format!("{:.0}–{:.0}% of runs", BAND_Q * 100.0, (1.0 - BAND_Q) * 100.0))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], fill));
        }
        if let Some(med) = &self.median {
            let style = ShapeStyle::from(&MEDIAN).stroke_width(3);
            chart
                .draw_series(LineSeries::new(med.iter().copied(), style))
                .map_err(failed)?
                .label("median")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        legend(&mut chart, 15)?;
        Ok(())
    }
}
