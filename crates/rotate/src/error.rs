//! Typed errors of the rotation library and the exit code each maps to.
//! Messages are one line, name the file (and line), say what to do next and
//! never contain a secret value.

use std::path::{Path, PathBuf};

/// Exit codes of `litekeys-rotate` (listed in `--help`).
pub mod code {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DRIFT: u8 = 3;
    pub const LOCKED: u8 = 4;
    pub const ROLLED_BACK: u8 = 5;
    pub const ROLLBACK_INCOMPLETE: u8 = 6;
    // The source could not be opened: the codes sops and `litekeys` use, so
    // scripts can tell a tampered file from a missing identity.
    pub const DECRYPT_VALUE: u8 = 25;
    pub const MAC_MISMATCH: u8 = 51;
    pub const NO_IDENTITY: u8 = 128;
}

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

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Refused(_) => code::USAGE,
            Error::Locked(_) => code::LOCKED,
            Error::Vault(e) => match e {
                vault::Error::Value { .. } | vault::Error::ValueType { .. } => code::DECRYPT_VALUE,
                vault::Error::MacMismatch { .. } => code::MAC_MISMATCH,
                vault::Error::NoIdentity { .. } => code::NO_IDENTITY,
                _ => code::ERROR,
            },
            Error::Sink { .. } | Error::Io { .. } => code::ERROR,
            Error::RolledBack(_) => code::ROLLED_BACK,
            Error::RollbackIncomplete(_) => code::ROLLBACK_INCOMPLETE,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
