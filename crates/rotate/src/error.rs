//! Typed errors of the rotation library and the exit code each maps to
//! (one table for every binary: [`vault::Exit`]).
//! Messages are one line, name the file (and line), say what to do next and
//! never contain a secret value.

use crate::activation::ActivateError;
use crate::config::{ConfigReason, Refusal};
use crate::gateway::GatewayError;
use crate::sinks::SinkError;
use crate::transaction::{SourceError, Unrestored};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// litekeys.toml is malformed or has an unknown key.
    #[error("{}:{line}: {reason}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        reason: ConfigReason,
    },

    /// litekeys.toml (named or found) cannot be read.
    #[error(
        "{}: {source}; pass --config FILE or create it (see `litekeys-rotate --help`)",
        path.display()
    )]
    ConfigUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Two sinks (or a sink and the source) are the same file.
    #[error(
        "{}: the same file as {} (sink at {origin}); list each file once",
        path.display(),
        other.display()
    )]
    SameFile {
        path: PathBuf,
        other: PathBuf,
        origin: String,
    },

    /// The command is refused as asked (salt with a database, init over an
    /// existing file, a declined confirmation).
    #[error(transparent)]
    Refused(#[from] Refusal),

    #[error(
        "{}: another rotation (or litekeys/sops write) holds the lock; try again when it has finished",
        .0.display()
    )]
    Locked(PathBuf),

    /// The encrypted source could not be read, opened or written.
    #[error("{0}")]
    Vault(#[from] vault::Error),

    /// The encrypted source cannot be rotated as it stands.
    #[error("{}: {source}", path.display())]
    Source { path: PathBuf, source: SourceError },

    /// A sink file (or the source, when written) cannot be read, parsed
    /// or written.
    #[error("{}: {source}", path.display())]
    Sink { path: PathBuf, source: SinkError },

    /// An earlier transaction's journal is still there.
    #[error("{}: a transaction is pending; run `litekeys-rotate recover`", .0.display())]
    Pending(PathBuf),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A gateway check failed outside a transaction.
    #[error(transparent)]
    Gateway(#[from] GatewayError),

    /// Activation (restart + verify) failed and every file was restored.
    #[error(
        "verification failed: {failure}; rolled back {restored} file(s) to the old keys and the gateway runs on the old key again"
    )]
    RolledBack {
        failure: Box<ActivateError>,
        restored: usize,
    },

    /// A rollback or recovery could not put every file back. The message
    /// may span lines: it says what is where and what to fix by hand.
    #[error(transparent)]
    RollbackIncomplete(#[from] Incomplete),
}

/// Why a rollback is incomplete.
#[derive(Debug, thiserror::Error)]
pub enum Incomplete {
    /// Some files could not be restored.
    #[error(transparent)]
    Files(#[from] Unrestored),
    /// Every file was restored; the gateway did not come back on them.
    #[error(
        "verification failed: {failure}; every file was restored to the old keys, but the gateway did not come back on them: {again}; restart it by hand and check the old key"
    )]
    GatewayDown {
        failure: Box<ActivateError>,
        again: Box<ActivateError>,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn sink(path: &Path, source: impl Into<SinkError>) -> Self {
        Error::Sink {
            path: path.to_path_buf(),
            source: source.into(),
        }
    }

    pub(crate) fn source(path: &Path, source: impl Into<SourceError>) -> Self {
        Error::Source {
            path: path.to_path_buf(),
            source: source.into(),
        }
    }

    /// The exit code of this error in the table every binary shares.
    pub fn exit(&self) -> vault::Exit {
        use vault::Exit;
        match self {
            Error::Config { .. }
            | Error::ConfigUnreadable { .. }
            | Error::SameFile { .. }
            | Error::Refused(_) => Exit::Usage,
            Error::Locked(_) => Exit::Locked,
            Error::Vault(e) => match e {
                vault::Error::Value { .. } | vault::Error::ValueType { .. } => Exit::DecryptValue,
                vault::Error::MacMismatch { .. } => Exit::MacMismatch,
                vault::Error::NoIdentity { .. } => Exit::NoIdentity,
                _ => Exit::Error,
            },
            Error::Source { .. }
            | Error::Sink { .. }
            | Error::Pending(_)
            | Error::Io { .. }
            | Error::Gateway(_) => Exit::Error,
            Error::RolledBack { .. } => Exit::RolledBack,
            Error::RollbackIncomplete(_) => Exit::RollbackIncomplete,
        }
    }
}

/// The one mapping of the source's lock: busy is [`Error::Locked`].
impl From<vault::store::LockError> for Error {
    fn from(e: vault::store::LockError) -> Self {
        match e {
            vault::store::LockError::Busy(p) => Error::Locked(p),
            vault::store::LockError::Io { path, source } => Error::Io { path, source },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
