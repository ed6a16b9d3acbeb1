//! `attncert plot`: pictures of runs, drawn with `plotters` as SVG or PNG.
//!
//! - one run: `E(t)` on a log axis, and the Lyapunov functions on a second log axis;
//! - a `--runs` batch: every run's `E(t)` as a thin line, the median and the 10–90% band of
//!   the runs at each sample time (the paper's Figure 5);
//! - tokens (`simulate --tokens`): the paths on the unit sphere (`d = 3`, an orthographic view)
//!   or circle (`d = 2`).
//!
//! Untrusted, like every float output: a picture of a simulation, never a proof. Text is laid
//! out with the font shipped in `assets/fonts/` (registered at run time: no fontconfig), and
//! nothing in an SVG depends on the time or the machine, so the same input gives the same file.

pub mod draw;
pub mod series;
pub mod sphere;

use std::path::Path;

use plotters::drawing::IntoDrawingArea;

use crate::error::{Error, Result};
use crate::report::runfile::RunFile;

/// The picture formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    Svg,
    Png,
}

impl Image {
    /// `.svg` or `.png` (any case); `None` for another extension.
    pub fn from_path(p: &Path) -> Option<Image> {
        match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Some(Image::Svg),
            Some("png") => Some(Image::Png),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Image::Svg => "svg",
            Image::Png => "png",
        }
    }
}

/// What to draw and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub image: Image,
    /// The title; default: the system's name where the file has it, else the file's name.
    pub title: Option<String>,
}

/// The font every text is laid out and drawn with: DejaVu Sans, subset to Latin, Greek and
/// mathematical symbols (`scripts/subset_font.sh`; license in `assets/fonts/`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
/// The family name the drawing code asks for.
pub(crate) const FAMILY: &str = "sans-serif";

fn register_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Numerical("the shipped font (assets/fonts/DejaVuSans-subset.ttf) could not be loaded".into()))
    }
}

/// A drawing failure (a plotters error) as this tool's error.
pub(crate) fn failed(e: impl std::fmt::Display) -> Error {
    Error::Numerical(format!("drawing the figure failed: {e}"))
}

/// What a figure shows, prepared from a run file (the numbers apart from the drawing).
pub enum Plan {
    Monitors(draw::MonitorsPlan),
    Runs(draw::RunsPlan),
    Tokens(sphere::Plan),
}

impl Plan {
    fn size(&self) -> (u32, u32) {
        match self {
            Plan::Monitors(p) => p.size(),
            Plan::Runs(p) => p.size(),
            Plan::Tokens(p) => p.size(),
        }
    }

    fn paint<DB: plotters::backend::DrawingBackend>(&self, area: &draw::Area<DB>) -> Result<()> {
        match self {
            Plan::Monitors(p) => p.paint(area),
            Plan::Runs(p) => p.paint(area),
            Plan::Tokens(p) => p.paint(area),
        }
    }
}

/// The picture of a run file, as the bytes of an SVG or PNG file. `source` names the file in
/// titles and messages.
pub fn render(file: &RunFile, source: &Path, opts: &Options) -> Result<Vec<u8>> {
    register_font()?;
    let fallback = source.file_name().map_or_else(|| source.display().to_string(), |n| n.to_string_lossy().into_owned());
    let plan = match file {
        RunFile::Monitors(m) => {
            let title = opts.title.clone().or_else(|| m.system.clone()).unwrap_or(fallback);
            draw::plan(m, title)
        }
        RunFile::Tokens(k) => {
            let title = opts.title.clone().or_else(|| k.system.clone()).unwrap_or(fallback);
            Plan::Tokens(sphere::plan(k, title, source)?)
        }
    };
    let (w, h) = plan.size();
    match opts.image {
        Image::Svg => {
            let mut svg = String::new();
            {
                let area = plotters::backend::SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                plan.paint(&area)?;
                area.present().map_err(failed)?;
            }
            Ok(svg.into_bytes())
        }
        Image::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let area = plotters::backend::BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                plan.paint(&area)?;
                area.present().map_err(failed)?;
            }
            encode_png(&rgb, w, h)
        }
    }
}

/// An 8-bit RGB PNG of a plotters buffer.
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| Error::Numerical(format!("PNG encoding failed: {e}")))?;
        writer.write_image_data(rgb).map_err(|e| Error::Numerical(format!("PNG encoding failed: {e}")))?;
    }
    Ok(out)
}
