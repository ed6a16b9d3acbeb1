//! Output destinations: standard output, or a file written atomically (a temporary file in the
//! same folder, renamed into place only when complete), so a failed run never leaves a partial
//! file behind.
//!
//! A file gets the permissions an ordinary new file would get (`0666` less the umask), or keeps
//! those of the file it replaces. Standard output closed by its reader (`| head`) is not an
//! error: the sink stops writing and says so ([`Sink::is_closed`]), as Unix tools exit quietly.

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

    /// The name used by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// Where output goes.
pub enum Sink {
    /// Standard output; `closed` once its reader has gone away (a broken pipe).
    Stdout { out: std::io::Stdout, closed: bool },
    File { file: tempfile::NamedTempFile, target: PathBuf },
}

impl Sink {
    pub fn stdout() -> Sink {
        Sink::Stdout { out: std::io::stdout(), closed: false }
    }

    /// A temporary file beside `target`; nothing appears at `target` until [`Sink::finish`].
    pub fn file(target: &Path) -> Result<Sink> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        // tempfile's default is 0600; a result file is meant to be shared like any other new
        // file: 0666, less the umask (which the kernel applies at creation).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let file = builder.tempfile_in(&dir).map_err(|source| Error::Io { path: target.to_path_buf(), source })?;
        Ok(Sink::File { file, target: target.to_path_buf() })
    }

    /// Writes `s`. On standard output, a reader that went away (broken pipe) ends the output
    /// quietly: this and later writes do nothing and [`Sink::is_closed`] turns true.
    pub fn write_str(&mut self, s: &str) -> Result<()> {
        let r = match self {
            Sink::Stdout { closed: true, .. } => return Ok(()),
            Sink::Stdout { out, closed } => {
                let mut lock = out.lock();
                match lock.write_all(s.as_bytes()).and_then(|_| lock.flush()) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        *closed = true;
                        Ok(())
                    }
                    r => r,
                }
            }
            Sink::File { file, .. } => file.write_all(s.as_bytes()),
        };
        r.map_err(|source| Error::Io { path: self.path(), source })
    }

    /// Writes raw bytes to a file sink (a binary output such as `import`'s tensor side file).
    pub fn write_bytes(&mut self, b: &[u8]) -> Result<()> {
        match self {
            Sink::Stdout { .. } => Err(Error::Usage("binary output needs a file, not standard output".into())),
            Sink::File { file, target } => file.write_all(b).map_err(|source| Error::Io { path: target.clone(), source }),
        }
    }

    /// Whether standard output's reader has gone away (nothing more will be written).
    pub fn is_closed(&self) -> bool {
        matches!(self, Sink::Stdout { closed: true, .. })
    }

    fn path(&self) -> PathBuf {
        match self {
            Sink::Stdout { .. } => PathBuf::from("<stdout>"),
            Sink::File { target, .. } => target.clone(),
        }
    }

    /// Completes the output: renames the temporary file onto its target, which keeps the
    /// permissions of a file it replaces.
    pub fn finish(self) -> Result<()> {
        if let Sink::File { file, target } = self {
            let io = |source| Error::Io { path: target.clone(), source };
            if let Ok(meta) = std::fs::metadata(&target) {
                if meta.is_file() {
                    file.as_file().set_permissions(meta.permissions()).map_err(io)?;
                }
            }
            file.as_file().sync_all().map_err(io)?;
            file.persist(&target).map_err(|e| io(e.error))?;
        }
        Ok(())
    }
}
