//! Tightened claims are never accepted: from a valid certificate, lower one claim's bound below
//! what the steps prove (by an amount the input chooses) and check that `verify` rejects it.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

const SEED: &str = include_str!("../seeds/certificate_claims/tiny.json");

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let mut cert = attncert::certificate::Certificate::parse(Path::new("tiny.json"), SEED).expect("the seed certificate reads");
    let ok = attncert::certificate::check::verify(&cert).expect("the seed certificate verifies");
    let k = data[0] as usize % cert.claims.len();
    let proved = ok.claims[k].proved;
    // A relative cut in (0, 1], never zero, so the bound ends strictly below the proved one.
    let cut = (u64::from_le_bytes(data[1..9].try_into().unwrap()) % 1_000_000 + 1) as f64 / 1e6;
    let bound = proved - proved.abs().max(1e-300) * cut;
    if !(bound < proved) {
        return;
    }
    cert.claims[k].bound = bound;
    assert!(attncert::certificate::check::verify(&cert).is_err(), "claim {k} tightened to {bound:e} (proved {proved:e}) was accepted");
});
