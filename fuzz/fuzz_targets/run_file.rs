//! The run-file reader behind `attncert plot` on arbitrary text, as CSV and as JSON (the
//! CSV and JSON of `simulate`, the JSON Lines of `--runs`, the tokens of `--tokens`), and the
//! picture of whatever it accepts. Nothing may panic: bad input is an error naming the file;
//! an accepted file is drawn (SVG) or refused with an error (tokens in d ∉ {2, 3}).
#![no_main]

use std::path::Path;

use attncert::plot::{self, Image, Options};
use attncert::report::runfile::{parse_csv, parse_json, RunFile};
use libfuzzer_sys::fuzz_target;

fn draw(file: &RunFile) {
    let opts = Options { image: Image::Svg, title: None };
    if let Ok(svg) = plot::render(file, Path::new("f"), &opts) {
        assert!(svg.starts_with(b"<svg"));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for parsed in [parse_csv(Path::new("f.csv"), text), parse_json(Path::new("f.json"), text)] {
        match parsed {
            Ok(file) => draw(&file),
            Err(e) => assert!(!e.reason.is_empty()),
        }
    }
});
