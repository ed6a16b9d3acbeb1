//! Shared body of the two system targets: parse a document, decode and validate it, and when it
//! is a valid system, check that the exported JSON reads back to the very same export.
#![allow(dead_code)] // each target uses one `Format`

use std::path::Path;

use attncert::system::doc::{parse_json, parse_toml};
use attncert::system::export::to_json;
use attncert::system::System;

static VERBOSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

#[derive(Clone, Copy)]
pub enum Format {
    Toml,
    Json,
}

pub fn run(data: &[u8], format: Format) {
    // Both formats are UTF-8 only; other bytes never reach the library.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, doc) = match format {
        Format::Toml => (Path::new("fuzz.toml"), parse_toml(Path::new("fuzz.toml"), text)),
        Format::Json => (Path::new("fuzz.json"), parse_json(Path::new("fuzz.json"), text)),
    };
    // ATTNCERT_FUZZ_VERBOSE=1 prints why an input is rejected (to check that seeds are valid).
    let verbose = *VERBOSE.get_or_init(|| std::env::var_os("ATTNCERT_FUZZ_VERBOSE").is_some());
    let sys = match doc.and_then(|doc| System::from_value(path, &doc)) {
        Ok(sys) => sys,
        Err(e) => {
            if verbose {
                eprintln!("rejected: {e}");
            }
            return;
        }
    };
    if verbose {
        eprintln!("valid system: {} tokens, dim {}", sys.tokens, sys.dim);
    }

    // A valid system exports to JSON that is itself a valid system with the same export
    // (random draws become explicit numbers; everything else keeps its text).
    let json = to_json(&sys);
    let again = parse_json(Path::new("export.json"), &json)
        .and_then(|doc| System::from_value(Path::new("export.json"), &doc))
        .unwrap_or_else(|e| panic!("the export of a valid system does not read back: {e}\n--- export ---\n{json}"));
    let json2 = to_json(&again);
    assert_eq!(json, json2, "export is not a fixed point");
}
