//! SVG primitives for the report's plots: a plot frame with axes and ticks, bands and lines of
//! enclosures, legends. Every coordinate written is finite by construction: data go through
//! [`Frame`], which puts whatever lies outside its ranges (NaN, ±∞, ≤ 0 on a log axis) on the
//! nearest edge, so a broken value can shift a mark but never break the picture.
//!
//! All text goes through [`esc`], and every element is closed, so each `<svg>` is well-formed
//! XML (the tests parse it).

use super::esc;

/// An upper estimate of the width of one character at the plots' 11 px font (the page's CSS):
/// legends are laid out with it so
/// that the longest entry still ends inside the picture.
pub const CHAR_W: f64 = 7.0;
/// Vertical distance between legend rows.
pub const ROW: f64 = 16.0;

/// Margins of a plot area: room for tick labels and the axis names on the left and below.
pub const LEFT: f64 = 72.0;
pub const BOTTOM: f64 = 36.0;
pub const PAD: f64 = 12.0;

/// Opens an `<svg>` of `w × h` pixels; `class` names the plot for readers and tests.
pub fn open(w: f64, h: f64, class: &str) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n")
}

/// One enclosure `[lo, hi]` of a scalar, for every `t` in `[t0, t1]` (a whole step), or at the
/// instant `t0 = t1` (a certified set at a step's end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub t0: f64,
    pub t1: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Segment {
    pub fn over(t0: f64, t1: f64, [lo, hi]: [f64; 2]) -> Segment {
        Segment { t0, t1, lo, hi }
    }

    pub fn at(t: f64, v: [f64; 2]) -> Segment {
        Segment::over(t, t, v)
    }

    /// An enclosure that says something: finite times, a finite upper end, a lower end that is
    /// a number (−∞ is allowed: it is drawn on the bottom edge). Others are left out.
    pub fn usable(&self) -> bool {
        self.t0.is_finite() && self.t1.is_finite() && self.hi.is_finite() && !self.lo.is_nan() && self.lo <= self.hi
    }
}

/// The usable segments of `segs`, in order.
pub fn usable(segs: impl IntoIterator<Item = Segment>) -> Vec<Segment> {
    segs.into_iter().filter(Segment::usable).collect()
}

/// Merges runs of consecutive segments into at most `max`, each the outer envelope of its run
/// over the run's time span, so a drawn band still contains every segment's enclosure.
pub fn merge(segs: &[Segment], max: usize) -> Vec<Segment> {
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

/// A plot area in pixels and the data ranges it shows; with `log`, `y` is in decades (log10).
pub struct Frame {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub log: bool,
}

impl Frame {
    pub fn px(&self, x: f64) -> f64 {
        self.left + fraction(x, self.x) * self.width
    }

    /// On a log axis a value ≤ 0 (or NaN) has no logarithm: it goes to the bottom edge, where
    /// everything below the axis' floor is drawn.
    pub fn py(&self, y: f64) -> f64 {
        let v = if !self.log {
            y
        } else if y > 0.0 {
            y.log10()
        } else {
            f64::NEG_INFINITY
        };
        self.top + (1.0 - fraction(v, self.y)) * self.height
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// `x,y` in pixels, one decimal.
    pub fn point(&self, t: f64, v: f64) -> String {
        format!("{:.1},{:.1}", self.px(t), self.py(v))
    }

    /// The frame, ticks with labels, and the axis names.
    pub fn axes(&self, xlabel: &str, ylabel: &str) -> String {
        let b = self.bottom();
        let mut marks = String::new();
        let mut labels = String::new();
        for (v, text) in linear_ticks(self.x) {
            let x = self.px(v);
            marks += &format!("M{x:.1},{b:.1}v4");
            labels += &text_at(x, b + 15.0, "middle", &text, "");
        }
        let yticks = if self.log { log_ticks(self.y) } else { linear_ticks(self.y) };
        for (v, text) in yticks {
            let y = self.py(v);
            marks += &format!("M{:.1},{y:.1}h-4", self.left);
            labels += &text_at(self.left - 6.0, y + 4.0, "end", &text, "");
        }
        let (cx, cy) = (self.left + self.width / 2.0, self.top + self.height / 2.0);
        let yl = self.left - 58.0;
        format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#444\"/>\n\
<path d=\"{marks}\" stroke=\"#444\" fill=\"none\"/>\n{labels}{}\
<text x=\"{yl:.1}\" y=\"{cy:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 {yl:.1} {cy:.1})\">{}</text>\n",
            self.left,
            self.top,
            self.width,
            self.height,
            text_at(cx, b + 30.0, "middle", xlabel, ""),
            esc(ylabel),
        )
    }
}

/// A `<text>` element; `attrs` are extra attributes written as given (constants only).
pub fn text_at(x: f64, y: f64, anchor: &str, text: &str, attrs: &str) -> String {
    format!("<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"{attrs}>{}</text>\n", esc(text))
}

/// A filled band through the segments' upper ends and back along their lower ends: it
/// contains every segment's `[lo, hi]` over `[t0, t1]` (joined by straight lines between
/// segments, which is where the picture interpolates).
pub fn band(f: &Frame, segs: &[Segment], attrs: &str) -> String {
    if segs.is_empty() {
        return String::new();
    }
    let upper = segs.iter().flat_map(|s| [(s.t0, s.hi), (s.t1, s.hi)]);
    let lower = segs.iter().rev().flat_map(|s| [(s.t1, s.lo), (s.t0, s.lo)]);
    format!("<polygon points=\"{}\" {attrs}/>\n", points(f, distinct(upper.chain(lower))))
}

/// A line through the segments' upper ends.
pub fn upper_line(f: &Frame, segs: &[Segment], attrs: &str) -> String {
    if segs.is_empty() {
        return String::new();
    }
    let upper = segs.iter().flat_map(|s| [(s.t0, s.hi), (s.t1, s.hi)]);
    format!("<polyline points=\"{}\" fill=\"none\" {attrs}/>\n", points(f, distinct(upper)))
}

/// Pixel points, one per data point.
pub fn points(f: &Frame, data: impl Iterator<Item = (f64, f64)>) -> String {
    data.map(|(t, v)| f.point(t, v)).collect::<Vec<_>>().join(" ")
}

/// The data without consecutive repeats (an instant's segment gives each point twice).
fn distinct(data: impl Iterator<Item = (f64, f64)>) -> impl Iterator<Item = (f64, f64)> {
    let mut last = None;
    data.filter(move |p| {
        let new = last != Some(*p);
        last = Some(*p);
        new
    })
}

/// A legend symbol, drawn in a 12 × 12 box whose bottom left is the text's baseline start.
#[derive(Clone, Copy)]
pub enum Swatch<'a> {
    Fill(&'a str, f64),
    Line(&'a str),
    Dashed(&'a str),
    Circle(&'a str),
    Square(&'a str),
    Cross(&'a str),
}

impl Swatch<'_> {
    fn draw(self, x: f64, y: f64) -> String {
        let (cx, cy) = (x + 6.0, y - 4.0);
        match self {
            Swatch::Fill(c, o) => format!("<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"9\" fill=\"{c}\" fill-opacity=\"{o}\"/>\n", y - 8.5),
            Swatch::Line(c) => format!("<path d=\"M{x:.1},{cy:.1}h12\" stroke=\"{c}\" stroke-width=\"2\"/>\n"),
            Swatch::Dashed(c) => format!("<path d=\"M{x:.1},{cy:.1}h12\" stroke=\"{c}\" stroke-width=\"1.2\" stroke-dasharray=\"3 2\"/>\n"),
            Swatch::Circle(c) => circle(cx, cy, c, ""),
            Swatch::Square(c) => square(cx, cy, c, ""),
            Swatch::Cross(c) => cross(cx, cy, c, ""),
        }
    }
}

/// ` class="…"`, or nothing for a legend's sample of a mark.
fn class_attr(class: &str) -> String {
    if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    }
}

/// The t = 0 mark: an open circle.
pub fn circle(x: f64, y: f64, colour: &str, class: &str) -> String {
    format!("<circle{} cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"white\" stroke=\"{colour}\" stroke-width=\"1.2\"/>\n", class_attr(class))
}

/// The t = T mark: a filled square.
pub fn square(x: f64, y: f64, colour: &str, class: &str) -> String {
    format!("<rect{} x=\"{:.1}\" y=\"{:.1}\" width=\"6\" height=\"6\" fill=\"{colour}\"/>\n", class_attr(class), x - 3.0, y - 3.0)
}

/// A predicted limit: a bold cross.
pub fn cross(x: f64, y: f64, colour: &str, class: &str) -> String {
    format!("<path{} d=\"M{:.1},{:.1}l10,10M{:.1},{:.1}l-10,10\" stroke=\"{colour}\" stroke-width=\"2.2\"/>\n", class_attr(class), x - 5.0, y - 5.0, x + 5.0, y - 5.0)
}

/// A proved bound: a filled diamond.
pub fn diamond(x: f64, y: f64, colour: &str) -> String {
    format!("<path class=\"claim\" d=\"M{x:.1},{:.1}l4.5,4.5l-4.5,4.5l-4.5,-4.5z\" fill=\"{colour}\" stroke=\"#222\" stroke-width=\"0.6\"/>\n", y - 4.5)
}

/// Legend entries laid out left to right from `(x0, y0)` (first baseline), wrapping before
/// `right`; returns the SVG and the baseline of the last row. Widths use [`CHAR_W`], an upper
/// estimate, so every entry ends left of `right`.
pub fn legend(entries: &[(Swatch, String)], x0: f64, y0: f64, right: f64) -> (String, f64) {
    let mut out = String::from("<g class=\"legend\">\n");
    let (mut x, mut y) = (x0, y0);
    for (swatch, label) in entries {
        let w = entry_width(label);
        if x > x0 && x + w > right {
            x = x0;
            y += ROW;
        }
        out += &swatch.draw(x, y);
        out += &text_at(x + 16.0, y, "start", label, "");
        x += w + 18.0;
    }
    (out + "</g>\n", y)
}

/// Entries one per row, from `(x0, y0)`.
pub fn legend_column(entries: &[(Swatch, String)], x0: f64, y0: f64) -> String {
    let mut out = String::from("<g class=\"legend\">\n");
    for (k, (swatch, label)) in entries.iter().enumerate() {
        let y = y0 + k as f64 * ROW;
        out += &swatch.draw(x0, y);
        out += &text_at(x0 + 16.0, y, "start", label, "");
    }
    out + "</g>\n"
}

/// The width an entry takes: its symbol, a gap, its text.
pub fn entry_width(label: &str) -> f64 {
    16.0 + CHAR_W * label.chars().count() as f64
}

/// Where `v` lies in `range`, clamped to `[0, 1]` (NaN at 0), so every coordinate is finite.
fn fraction(v: f64, range: (f64, f64)) -> f64 {
    let f = (v - range.0) / (range.1 - range.0);
    if f.is_nan() {
        0.0
    } else {
        f.clamp(0.0, 1.0)
    }
}

/// The range of the finite values, widened by 5% on each side (a flat range by ±1 or ±10%).
pub fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else if lo != 0.0 {
        0.1 * lo.abs()
    } else {
        1.0
    };
    (lo - pad, hi + pad)
}

/// A log10 axis for positive `values` (others are ignored): from a decade below the smallest
/// to the decade above the largest, at least one decade; `(-1, 0)` without any.
pub fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite() && *v > 0.0).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (-1.0, 0.0);
    }
    let bottom = lo.log10().floor() - 1.0;
    (bottom, hi.log10().ceil().max(bottom + 1.0))
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
    let step = p * if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
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
    if !(range.0.is_finite() && range.1.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = (range.0.ceil() as i64, range.1.floor() as i64);
    let every = [1, 2, 5, 10, 20, 50, 100, 200].into_iter().find(|e| (hi - lo) / e <= 8).unwrap_or(500);
    (lo..=hi).filter(|k| k % every == 0).map(|k| (10f64.powi(k as i32), format!("1e{k}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(log: bool) -> Frame {
        Frame { left: 10.0, top: 10.0, width: 100.0, height: 100.0, x: (0.0, 1.0), y: (-3.0, 0.0), log }
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
    fn every_value_maps_to_a_finite_pixel() {
        for log in [false, true] {
            let f = frame(log);
            for v in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-300, 1e300, f64::MIN_POSITIVE] {
                assert!(f.py(v).is_finite() && f.px(v).is_finite(), "{v} (log {log})");
            }
        }
        // ≤ 0 on a log axis: the bottom edge, where values below the floor are drawn.
        assert_eq!(frame(true).py(0.0), 110.0);
        assert_eq!(frame(true).py(-2.0), 110.0);
    }

    #[test]
    fn unusable_enclosures_are_left_out() {
        let ok = Segment::at(1.0, [f64::NEG_INFINITY, 1.0]);
        let bad = [[f64::NAN, 1.0], [0.0, f64::NAN], [0.0, f64::INFINITY], [2.0, 1.0]].map(|v| Segment::at(1.0, v));
        assert_eq!(usable(bad.into_iter().chain([ok])), vec![ok]);
    }

    #[test]
    fn log_axis_spans_the_positive_values() {
        assert_eq!(decades([3e-7, 0.5, 0.0, -1.0, f64::NAN].into_iter()), (-8.0, 0.0));
        assert_eq!(decades([0.0, f64::INFINITY].into_iter()), (-1.0, 0.0));
        assert_eq!(decades([1.0].into_iter()), (-1.0, 0.0));
    }
}
