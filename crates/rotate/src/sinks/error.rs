//! Why a sink file cannot be read, edited or replaced ([`SinkError`];
//! [`SinkFailure`] adds the path), and why the sinks cannot be planned
//! ([`PlanError`]). None of these shows a value.

use super::systemd_quote::QuoteError;
use crate::config::LayoutError;
use std::path::{Path, PathBuf};

/// A sink file (or the source, when written) that cannot be read, parsed or
/// written, named as configured.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct SinkFailure {
    pub path: PathBuf,
    pub kind: SinkError,
}

impl SinkFailure {
    pub(crate) fn new(path: &Path, kind: impl Into<SinkError>) -> Self {
        SinkFailure {
            path: path.to_path_buf(),
            kind: kind.into(),
        }
    }
}

/// Two sinks (or a sink and the source) are the same file.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: the same file as {} (sink at {origin}); list each file once",
    path.display(),
    other.display()
)]
pub struct SameFile {
    pub path: PathBuf,
    pub other: PathBuf,
    pub origin: String,
}

/// Why the sinks cannot be planned (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Sink(#[from] SinkFailure),
    #[error(transparent)]
    SameFile(#[from] SameFile),
}

/// Why a sink file cannot be read, edited or replaced.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Its symlinks cannot be followed.
    #[error("{0}")]
    Resolve(std::io::Error),
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    /// A FIFO would block the read (holding the lock), a device would never
    /// end: only regular files (or symlinks to them) are sinks.
    #[error("is a {what}, not a regular file; a sink must be a regular file (or a symlink to one)")]
    NotRegular { what: &'static str },
    #[error("is {size} bytes, more than the {limit} a sink may hold; is it the right file?")]
    TooLarge { size: u64, limit: u64 },
    #[error("cannot write it: {0}")]
    Write(std::io::Error),
    #[error("not UTF-8 text; fix or remove it and run again")]
    NotText,
    #[error("the value of {0} is not UTF-8")]
    ValueNotText(String),
    #[error("the value of {key} {why}; it cannot be written to this file safely")]
    Unwritable { key: String, why: Unwritable },
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error(
        "not valid JSON at line {line} column {column} ({what}); fix it and run again (nothing was changed)"
    )]
    Json {
        line: usize,
        column: usize,
        what: String,
    },
    #[error("cannot find {at} in the text")]
    FieldNotFound { at: String },
    /// A JSON edit that would mean more than the intended change.
    #[error("internal error: the in-place edit did not round-trip; nothing was changed")]
    RoundTrip,
    #[error("not valid YAML at line {line} ({what}); fix it and run again (nothing was changed)")]
    Yaml { line: usize, what: String },
    #[error("not valid TOML at line {line} ({what}); fix it and run again (nothing was changed)")]
    Toml { line: usize, what: String },
    /// The sink's pointer names nothing in the file.
    #[error("has no {at}; fix the file or the sink's pointer (nothing was changed)")]
    PointerNotFound { at: String },
    #[error("{at} is {what}, not a string; make it a string (nothing was changed)")]
    NotString { at: String, what: &'static str },
    /// A value the in-place edit cannot replace without rewriting more.
    #[error(
        "{at} is {why}; litekeys replaces a one-line string in place only: write it as a quoted string on one line (nothing was changed)"
    )]
    NotInPlace { at: String, why: &'static str },
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Writable(#[from] WritableError),
}

/// What a value holds that this kind of file cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unwritable {
    #[error("holds a newline or NUL")]
    NewlineOrNul,
    #[error("holds '$' (environment.d expands it)")]
    Dollar,
    #[error("holds a single quote and other special characters")]
    Quotes,
}

/// Why a file cannot be replaced by rename.
#[derive(Debug, thiserror::Error)]
pub enum WritableError {
    #[error("is a directory, not a file")]
    IsDirectory,
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write in {}: {source}", dir.display())]
    CannotWriteIn {
        dir: PathBuf,
        source: std::io::Error,
    },
}
