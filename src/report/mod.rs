//! Rendering: the library computes data, this module turns it into text, CSV and JSON. Nothing
//! here decides anything; nothing else prints.

pub mod check;
pub mod output;
pub mod samples;
