//! Output destinations: standard output, or a file written atomically (a temporary file in the
//! same folder, renamed into place only when complete), so a failed run never leaves a partial
//! file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The format of an output, from `--format` or a file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
}

impl Format {
    /// `.csv` → CSV, `.json`/`.jsonl` → JSON, anything else → text.
    pub fn from_path(p: &Path) -> Format {
        match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Format::Csv,
            Some("json") | Some("jsonl") => Format::Json,
            _ => Format::Text,
        }
    }
}

/// Where output goes.
pub enum Sink {
    Stdout(std::io::Stdout),
    File { file: tempfile::NamedTempFile, target: PathBuf },
}

impl Sink {
    pub fn stdout() -> Sink {
        Sink::Stdout(std::io::stdout())
    }

    /// A temporary file beside `target`; nothing appears at `target` until [`Sink::finish`].
    pub fn file(target: &Path) -> Result<Sink> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file = tempfile::NamedTempFile::new_in(&dir).map_err(|source| Error::Io { path: target.to_path_buf(), source })?;
        Ok(Sink::File { file, target: target.to_path_buf() })
    }

    pub fn write_str(&mut self, s: &str) -> Result<()> {
        let r = match self {
            Sink::Stdout(o) => o.lock().write_all(s.as_bytes()).and_then(|_| o.lock().flush()),
            Sink::File { file, .. } => file.write_all(s.as_bytes()),
        };
        r.map_err(|source| Error::Io { path: self.path(), source })
    }

    fn path(&self) -> PathBuf {
        match self {
            Sink::Stdout(_) => PathBuf::from("<stdout>"),
            Sink::File { target, .. } => target.clone(),
        }
    }

    /// Completes the output: renames the temporary file onto its target.
    pub fn finish(self) -> Result<()> {
        if let Sink::File { file, target } = self {
            file.as_file().sync_all().map_err(|source| Error::Io { path: target.clone(), source })?;
            file.persist(&target).map_err(|e| Error::Io { path: target.clone(), source: e.error })?;
        }
        Ok(())
    }
}
