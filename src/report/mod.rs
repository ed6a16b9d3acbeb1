//! Rendering: the library computes data, this module turns it into text, CSV, JSON, Markdown
//! and HTML. Nothing here decides anything; nothing else prints.

pub mod certificate;
pub mod check;
pub mod output;
pub mod runfile;
pub mod samples;
pub mod verdict;
