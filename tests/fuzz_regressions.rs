//! Every input the fuzzers found (fuzz/findings/) stays fixed: no panic, no hang, a clear answer.

mod common;

use std::time::Instant;

use attncert::numeric::exact;
use attncert::system::{expr, System};

fn findings(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = common::repo(&format!("fuzz/findings/{target}"));
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

/// System files the fuzzers (or their authors) found: each is refused as bad input, quickly.
#[test]
fn system_findings_are_bad_input() {
    for (name, _) in findings("parse_system_toml") {
        let start = Instant::now();
        let r = System::load(&common::repo(&format!("fuzz/findings/parse_system_toml/{name}")));
        let e = r.expect_err(&name);
        assert!(start.elapsed().as_secs() < 10, "{name} took {:?}", start.elapsed());
        assert!(!e.reason.is_empty(), "{name}");
    }
}

/// Printed expressions (and printed derivatives) parse back to the same values.
#[test]
fn expression_findings_round_trip() {
    for (name, bytes) in findings("parse_expr") {
        let src = String::from_utf8_lossy(&bytes);
        let Ok(e) = expr::parse(&src) else { continue };
        for printed in [e.to_string(), e.derivative().to_string()] {
            let back = expr::parse(&printed).unwrap_or_else(|err| panic!("{name}: '{printed}' does not parse: {err}"));
            for t in [0.0, 0.5, 2.0] {
                let (a, b) = (expr::parse(&printed).unwrap().eval(t), back.eval(t));
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{name}");
            }
        }
    }
}

/// Decimal literals with absurd exponents are refused, never misread.
#[test]
fn decimal_findings_are_refused() {
    for (name, bytes) in findings("decimal_literal") {
        let text = String::from_utf8_lossy(&bytes);
        let start = Instant::now();
        assert_eq!(exact::rational(text.trim()), None, "{name}");
        assert!(start.elapsed().as_secs() < 1);
    }
}
