//! Token paths: on the unit sphere for `d = 3` (an orthographic view, the far side lighter), on
//! the unit circle for `d = 2`. Other dimensions are refused: a projection of the paths from
//! `R^d` would show a picture whose geometry (distances, the consensus point) is not the
//! system's, so the user is told to look at `E(t)` instead.
//!
//! Tokens on `E_W` with `W ≠ I` are not unit vectors: what is drawn then is their directions
//! `y/‖y‖` on the unit sphere, and the figure says so.

use std::path::Path;

use plotters::prelude::*;

use super::draw::{legend, palette, Area};
use super::series::{direction, View};
use super::{failed, FAMILY};
use crate::error::{InputError, Result};
use crate::report::runfile::Tokens;

const SIDE: u32 = 760;
const TITLE: u32 = 44;
const NOTE: u32 = 22;
/// Paths get a legend entry each up to this many tokens.
const LEGEND_MAX: usize = 12;
const INK: RGBColor = RGBColor(25, 25, 25);

/// A point as drawn: screen coordinates and whether it is on the near side.
type Pt = (f64, f64, bool);

#[derive(Debug, Clone)]
pub struct Plan {
    pub title: String,
    /// Per token, its path.
    pub paths: Vec<Vec<Pt>>,
    /// Guide circles: the coordinate great circles (`d = 3`).
    pub guides: Vec<Vec<Pt>>,
    /// Axis labels at the tips of `+x1, +x2, +x3` (`d = 3`).
    pub axes: Vec<(String, Pt)>,
    pub notes: Vec<String>,
}

/// The plan for a tokens file; `source` names it in the refusal for `d ∉ {2, 3}`.
pub fn plan(k: &Tokens, title: String, source: &Path) -> Result<Plan> {
    if k.dim != 2 && k.dim != 3 {
        return Err(InputError::new(
            source,
            "",
            format!(
                "token paths are drawn for d = 2 (circle) and d = 3 (sphere); this file has d = {}: \
                 a projection would not show the system's geometry, so plot the monitors (E, V) instead",
                k.dim
            ),
        )
        .into());
    }
    let tokens = k.y.first().map_or(0, Vec::len);
    let off_sphere = k.y.iter().flatten().map(|p| (p.iter().map(|a| a * a).sum::<f64>().sqrt() - 1.0).abs()).fold(0.0, f64::max);
    let dirs: Vec<Vec<Vec<f64>>> = k.y.iter().map(|s| s.iter().map(|p| direction(p)).collect()).collect();
    let mut notes = vec![];
    let (t0, t1) = (k.t.first().copied().unwrap_or(0.0), k.t.last().copied().unwrap_or(0.0));
    let mut plan = Plan { title: format!("{title}: token paths"), paths: vec![], guides: vec![], axes: vec![], notes: vec![] };
    if k.dim == 3 {
        // Look from the mean direction of all positions: the paths' centre faces the viewer.
        let mut m = [0.0; 3];
        for p in dirs.iter().flatten() {
            for c in 0..3 {
                m[c] += p[c];
            }
        }
        let view = View::from(m);
        let pt = |p: &[f64]| {
            let (a, b, depth) = view.project(&[p[0], p[1], p[2]]);
            (a, b, depth >= 0.0)
        };
        plan.paths = (0..tokens).map(|j| dirs.iter().map(|s| pt(&s[j])).collect()).collect();
        for axis in 0..3 {
            let (a, b) = ((axis + 1) % 3, (axis + 2) % 3);
            plan.guides.push(
                (0..=180)
                    .map(|i| {
                        let th = i as f64 * std::f64::consts::TAU / 180.0;
                        let mut p = [0.0; 3];
                        p[a] = th.cos();
                        p[b] = th.sin();
                        pt(&p)
                    })
                    .collect(),
            );
            let mut tip = [0.0; 3];
            tip[axis] = 1.0;
            plan.axes.push((format!("x{}", axis + 1), pt(&tip)));
        }
        let v = view.v;
        notes.push(format!(
            "{tokens} tokens, t = {} to {}: ○ start, ● end; orthographic view from ({:.2}, {:.2}, {:.2}), far side lighter",
            short(t0),
            short(t1),
            v[0],
            v[1],
            v[2]
        ));
    } else {
        plan.paths = (0..tokens).map(|j| dirs.iter().map(|s| (s[j][0], s[j][1], true)).collect()).collect();
        plan.axes = vec![("x1".into(), (1.0, 0.0, true)), ("x2".into(), (0.0, 1.0, true))];
        notes.push(format!("{tokens} tokens, t = {} to {}: ○ start, ● end", short(t0), short(t1)));
    }
    if off_sphere > 1e-6 {
        notes.push(format!(
            "the tokens are not unit vectors (off by up to {off_sphere:.1e}: on E_W with W ≠ I): drawn are their directions y/‖y‖"
        ));
    }
    plan.notes = notes;
    Ok(plan)
}

/// `y₁₂`: a name with a subscript number, as the paper writes tokens.
fn subscript(name: &str, k: usize) -> String {
    name.to_string() + &k.to_string().chars().map(|c| char::from_u32(0x2080 + c.to_digit(10).unwrap_or(0)).unwrap_or(c)).collect::<String>()
}

fn short(t: f64) -> String {
    crate::simulate::shortest(t)
}

fn xy(p: &Pt) -> (f64, f64) {
    (p.0, p.1)
}

/// The polylines of a path on one side: a segment is near when both its ends are (a segment
/// crossing the rim is drawn faint), and consecutive segments of a side join into one line.
fn stretches(path: &[Pt], near: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut open = false;
    for seg in path.windows(2) {
        if (seg[0].2 && seg[1].2) != near {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some(line) if open => line.push(xy(&seg[1])),
            _ => out.push(vec![xy(&seg[0]), xy(&seg[1])]),
        }
        open = true;
    }
    out
}

impl Plan {
    pub fn size(&self) -> (u32, u32) {
        (SIDE, SIDE + TITLE + NOTE * self.notes.len() as u32 + 10)
    }

    pub fn paint<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<()> {
        root.fill(&WHITE).map_err(failed)?;
        let (_, h) = root.dim_in_pixel();
        let notes_h = NOTE * self.notes.len() as u32 + 10;
        let (top, bottom) = root.split_vertically(h.saturating_sub(notes_h));
        for (i, n) in self.notes.iter().enumerate() {
            bottom.draw(&Text::new(n.clone(), (16, 2 + NOTE as i32 * i as i32), (FAMILY, 15).into_font().color(&INK))).map_err(failed)?;
        }
        let body = top.titled(&self.title, (FAMILY, 22).into_font().color(&INK)).map_err(failed)?;
        // A square plotting area, centred, so the sphere is round.
        let (w, h) = body.dim_in_pixel();
        let s = w.min(h);
        let (dx, dy) = ((w - s) / 2, (h - s) / 2);
        let square = body.margin(dy, h - s - dy, dx, w - s - dx);
        let mut chart = ChartBuilder::on(&square).margin(12).build_cartesian_2d(-1.12..1.12, -1.12..1.12).map_err(failed)?;
        let faint = |c: RGBColor| c.mix(0.28);
        // Far side first, so the near side is drawn over it.
        let grey = RGBColor(150, 150, 150);
        for near in [false, true] {
            let style = if near { grey.stroke_width(1) } else { grey.mix(0.35).stroke_width(1) };
            chart.draw_series(self.guides.iter().flat_map(|g| stretches(g, near)).map(|s| PathElement::new(s, style))).map_err(failed)?;
            for (j, path) in self.paths.iter().enumerate() {
                let c = palette(j);
                let style = if near { c.stroke_width(2) } else { faint(c).stroke_width(2) };
                chart.draw_series(stretches(path, near).into_iter().map(|s| PathElement::new(s, style))).map_err(failed)?;
            }
        }
        // The outline: the unit circle as drawn.
        let outline: Vec<(f64, f64)> = (0..=360).map(|i| i as f64 * std::f64::consts::TAU / 360.0).map(|a| (a.cos(), a.sin())).collect();
        chart.draw_series(std::iter::once(PathElement::new(outline, INK.stroke_width(2)))).map_err(failed)?;
        for (name, p) in &self.axes {
            let color = if p.2 { RGBColor(90, 90, 90) } else { RGBColor(170, 170, 170) };
            chart.draw_series(std::iter::once(Text::new(name.clone(), (p.0 * 1.04, p.1 * 1.04), (FAMILY, 15).into_font().color(&color)))).map_err(failed)?;
        }
        for (j, path) in self.paths.iter().enumerate() {
            let c = palette(j);
            let shade = |p: &Pt| if p.2 { c.to_rgba() } else { faint(c) };
            if let Some(first) = path.first() {
                chart.draw_series(std::iter::once(Circle::new(xy(first), 6, shade(first).stroke_width(2)))).map_err(failed)?;
            }
            if let Some(last) = path.last() {
                let s = chart.draw_series([Circle::new(xy(last), 5, shade(last).filled()), Circle::new(xy(last), 5, INK.mix(if last.2 { 1.0 } else { 0.3 }).stroke_width(1))]).map_err(failed)?;
                if self.paths.len() <= LEGEND_MAX {
                    s.label(subscript("y", j + 1)).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
                }
            }
        }
        if self.paths.len() <= LEGEND_MAX {
            legend(&mut chart, 14)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stretches;

    /// Every segment is drawn exactly once, on its side, and near lines join up.
    #[test]
    fn stretches_split_by_side() {
        let p = [(0.0, 0.0, true), (1.0, 0.0, true), (2.0, 0.0, true), (3.0, 0.0, false), (4.0, 0.0, true), (5.0, 0.0, true)];
        assert_eq!(stretches(&p, true), vec![vec![(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)], vec![(4.0, 0.0), (5.0, 0.0)]]);
        assert_eq!(stretches(&p, false), vec![vec![(2.0, 0.0), (3.0, 0.0), (4.0, 0.0)]]);
        assert!(stretches(&p[..1], true).is_empty());
    }
}
