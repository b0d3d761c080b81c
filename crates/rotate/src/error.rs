//! Typed errors of the rotation library and the exit code each maps to
//! (one table for every binary: [`vault::Exit`]).
//! Messages are one line, name the file (and line), say what to do next and
//! never contain a secret value.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// litekeys.toml is missing, malformed or has an unknown key.
    #[error("{0}")]
    Config(String),

    /// The command is refused as asked (salt with a database, init over an
    /// existing file, a declined confirmation).
    #[error("{0}")]
    Refused(String),

    #[error(
        "{}: another rotation (or litekeys/sops write) holds the lock; try again when it has finished",
        .0.display()
    )]
    Locked(PathBuf),

    /// The encrypted source could not be read, opened or written.
    #[error("{0}")]
    Vault(#[from] vault::Error),

    /// A sink file cannot be read, parsed or written.
    #[error("{}: {reason}", path.display())]
    Sink { path: PathBuf, reason: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Activation (restart + verify) failed and every file was restored.
    #[error("{0}")]
    RolledBack(String),

    /// A rollback or recovery could not put every file back. The message
    /// may span lines: it says what is where and what to fix by hand.
    #[error("{0}")]
    RollbackIncomplete(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn sink(path: &Path, reason: impl Into<String>) -> Self {
        Error::Sink {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// The exit code of this error in the table every binary shares.
    pub fn exit(&self) -> vault::Exit {
        use vault::Exit;
        match self {
            Error::Config(_) | Error::Refused(_) => Exit::Usage,
            Error::Locked(_) => Exit::Locked,
            Error::Vault(e) => match e {
                vault::Error::Value { .. } | vault::Error::ValueType { .. } => Exit::DecryptValue,
                vault::Error::MacMismatch { .. } => Exit::MacMismatch,
                vault::Error::NoIdentity { .. } => Exit::NoIdentity,
                _ => Exit::Error,
            },
            Error::Sink { .. } | Error::Io { .. } => Exit::Error,
            Error::RolledBack(_) => Exit::RolledBack,
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
