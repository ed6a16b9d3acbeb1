//! Typed errors of the library. The binary renders them once (`main.rs`) and picks exit codes.

use std::path::PathBuf;

/// Bad input: a file that cannot be read, parsed or validated. Always names the file, the field
/// (a path like `heads[0].P.diag[2]`, empty for file-level problems) and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {reason}", file.display(), if field.is_empty() { String::new() } else { format!(": {field}") })]
pub struct InputError {
    pub file: PathBuf,
    pub field: String,
    pub reason: String,
}

impl InputError {
    pub fn new(file: impl Into<PathBuf>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        InputError { file: file.into(), field: field.into(), reason: reason.into() }
    }
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's input is wrong (exit code 2).
    #[error("{0}")]
    Input(#[from] InputError),
    /// A command-line value is wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A numerical computation broke down (a trajectory left the finite numbers, a step size
    /// underflowed). Not the user's fault in the file, but the run cannot go on (exit code 1).
    #[error("{0}")]
    Numerical(String),
    /// Writing an output failed (exit code 1).
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
