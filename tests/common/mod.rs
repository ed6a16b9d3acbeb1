//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use attncert::system::{doc, System};

/// A system from TOML text (the path is only for messages).
pub fn system(toml: &str) -> System {
    let v = doc::parse_toml(Path::new("test.toml"), toml).expect("valid TOML");
    System::from_value(Path::new("test.toml"), &v).expect("valid system")
}

/// The error message for an invalid system given as TOML.
pub fn system_error(toml: &str) -> String {
    let v = match doc::parse_toml(Path::new("bad.toml"), toml) {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    match System::from_value(Path::new("bad.toml"), &v) {
        Ok(_) => panic!("expected an error for:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

pub fn matrix(m: &[Vec<f64>]) -> String {
    let rows: Vec<String> =
        m.iter().map(|r| format!("[{}]", r.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", "))).collect();
    format!("[{}]", rows.join(", "))
}

pub fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}
