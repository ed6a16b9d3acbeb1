//! Embeds every `theorems/*.toml` into the binary, so adding a theorem or a conjecture is a new
//! file (plus any new checker), never a new code path.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("theorems");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("theorems/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("/// `(file name, contents)` of every theorem spec in `theorems/`.\npub const SPECS: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name");
        writeln!(out, "    ({name:?}, include_str!({:?})),", f.display().to_string()).expect("write to string");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("theorem_specs.rs");
    std::fs::write(dest, out).expect("write theorem_specs.rs");
}
