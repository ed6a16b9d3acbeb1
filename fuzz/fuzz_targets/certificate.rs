//! The certificate reader and checker on arbitrary text: no panic, and never a hang (the
//! checker runs only on small certificates, whose cost is bounded).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(cert) = attncert::certificate::Certificate::parse(Path::new("fuzz.json"), text) else { return };
    let small = cert.steps.len() <= 8
        && cert.steps.iter().all(|s| s.order <= 8 && s.apriori.lo.len() <= 12)
        && cert.system.text.len() <= 2000;
    if small {
        if let Ok(sys) = attncert::certificate::check::embedded_system(&cert) {
            if sys.tokens * sys.dim <= 12 {
                let _ = attncert::certificate::check::verify(&cert);
            }
        }
    }
});
