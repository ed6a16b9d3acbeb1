//! `import::config::parse` (a model directory's config.json) on arbitrary text: no panic; an
//! accepted configuration has heads dividing the width and sizes within the tool's limits.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = attncert::import::config::parse(Path::new("config.json"), text) {
        assert!(c.heads >= 1 && c.hidden % c.heads == 0 && c.hidden <= attncert::system::MAX_DIM);
        assert!(c.layer_norm_eps >= 0.0 && c.layer_norm_eps.is_finite());
    }
});
