//! `doc::parse_json` then `System::from_value` on arbitrary text: no panic, hang or huge
//! allocation; a valid system's JSON export reads back to the same export.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "system_common.rs"]
mod system_common;

fuzz_target!(|data: &[u8]| system_common::run(data, system_common::Format::Json));
