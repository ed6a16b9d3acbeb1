//! The campaign's hand-parsed inputs on arbitrary text: the range and shard arguments
//! (`--tokens 2..6`, `--tau-scan 0.05..5`, `--shard 3/16`) and the JSON-lines reader behind
//! `attncert fuzz merge`, with the summary of whatever it accepts. None may panic; a range or
//! shard that parses must round-trip, and every accepted record must be summarised.
#![no_main]

use std::path::Path;

use attncert::campaign::args::{parse_f64_range, parse_range, parse_shard};
use attncert::campaign::record::{parse_jsonl, Summary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((a, b)) = parse_range("--tokens", Some(text), (2, 6)) {
        assert_eq!(parse_range("--tokens", Some(&format!("{a}..{b}")), (0, 0)).unwrap(), (a, b));
    }
    if let Ok((k, n)) = parse_shard(text) {
        assert_eq!(parse_shard(&format!("{k}/{n}")).unwrap(), (k, n));
    }
    let _ = parse_f64_range("--tau-scan", text);
    if let Ok(records) = parse_jsonl(Path::new("f.jsonl"), text) {
        let mut s = Summary::default();
        for r in &records {
            s.add(r);
        }
        assert_eq!(s.cases, records.len() as u64);
        let _ = s.text();
    }
});
