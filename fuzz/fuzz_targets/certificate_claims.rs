//! Tightened claims are never accepted: from a valid certificate, tighten one claim's bound past
//! what the steps prove (by an amount the input chooses) and check that `verify` rejects it.
//! An upper bound (`≤ b`) is lowered below the proved one, a lower bound (`≥ b`) raised above.
//! Two seeds: a paper system (upper bounds) and a counterexample with lower bounds.
#![no_main]

use std::path::Path;

use attncert::certificate::ClaimKind;
use libfuzzer_sys::fuzz_target;

const SEEDS: [(&str, &str); 2] = [
    ("tiny.json", include_str!("../seeds/certificate_claims/tiny.json")),
    ("lower_bounds.json", include_str!("../seeds/certificate_claims/lower_bounds.json")),
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let (name, text) = SEEDS[usize::from(data[0] & 1)];
    let mut cert = attncert::certificate::Certificate::parse(Path::new(name), text).expect("the seed certificate reads");
    let ok = attncert::certificate::check::verify(&cert).expect("the seed certificate verifies");
    let k = usize::from(data[0] >> 1) % cert.claims.len();
    let proved = ok.claims[k].proved;
    let lower = ClaimKind::parse(&cert.claims[k].kind).expect("the seed's claim kinds parse").is_lower();
    // A relative cut in (0, 1], never zero, so the bound ends strictly past the proved one.
    let cut = (u64::from_le_bytes(data[1..9].try_into().unwrap()) % 1_000_000 + 1) as f64 / 1e6;
    let step = proved.abs().max(1e-300) * cut;
    let bound = if lower { proved + step } else { proved - step };
    if !(if lower { bound > proved } else { bound < proved }) {
        return;
    }
    cert.claims[k].bound = bound;
    let rel = if lower { "raised" } else { "lowered" };
    assert!(attncert::certificate::check::verify(&cert).is_err(), "claim {k} {rel} to {bound:e} (proved {proved:e}) was accepted");
});
