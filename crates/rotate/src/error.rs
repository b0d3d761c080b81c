//! Typed errors of the rotation library and the exit code each maps to
//! (one table for every binary: [`vault::Exit`]).
//! Messages are one line, name the file (and line), say what to do next and
//! never contain a secret value.
//!
//! [`Error`] stands above the rooms it gathers: config, sinks, activation
//! and the gateway return their own errors, wrapped here; the transaction's
//! own (the source, the journal's backup, the rollback) live here, so that
//! the transaction imports this file and nothing here imports it.

use crate::activation::{ActivateError, PreflightError};
use crate::config::{ConfigError, Refusal};
use crate::gateway::GatewayError;
use crate::sinks::{PlanError, SameFile, SinkError, SinkFailure, WritableError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// litekeys.toml (named or found) cannot be read, or is malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// Two sinks (or a sink and the source) are the same file.
    #[error(transparent)]
    SameFile(#[from] SameFile),

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

    /// A value of the source (or a backup) cannot be a gateway key: nothing
    /// was written or restarted.
    #[error("{}: {source}", path.display())]
    Implausible {
        path: PathBuf,
        source: crate::keys::ImplausibleKey,
    },

    /// A sink file (or the source, when written) cannot be read, parsed
    /// or written.
    #[error(transparent)]
    Sink(#[from] SinkFailure),

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

    /// The source's repository is behind its upstream (refused before
    /// anything was written), or git failed.
    #[error(transparent)]
    Git(#[from] crate::git::GitError),

    /// `pull` failed, or refused the pulled source (the repository put
    /// back, no sink touched).
    #[error(transparent)]
    Pull(Box<crate::git::PullError>),

    /// The service manager cannot restart the gateway here (no systemd
    /// user bus, no `docker compose`, …): refused before anything was
    /// written or asked.
    #[error(transparent)]
    Preflight(#[from] PreflightError),

    /// `droid doctor` refuses the Droid settings the transaction would
    /// write (refused before anything was written), or could not run.
    #[error(transparent)]
    Droid(#[from] crate::droid::DroidError),

    /// Activation (restart + verify) failed and every file was restored.
    #[error("{failure}; rolled back {restored} file(s) to the old keys; {back}")]
    RolledBack {
        failure: Box<ActivateError>,
        restored: usize,
        /// What the reactivation did and verified.
        back: String,
    },

    /// Recovery settled every file but not the virtual key's work at the
    /// gateway (no answer): the journal keeps it.
    #[error(
        "{}: {}, but at the gateway {source}; the journal keeps it: run `litekeys-rotate recover` once the gateway answers",
        journal.display(),
        if *committed {
            "the rotation had committed and every file holds the new key; the old virtual key is still valid"
        } else {
            "every file holds the old key again; the new virtual key may still be valid"
        }
    )]
    VirtualKeyPending {
        journal: PathBuf,
        committed: bool,
        source: Box<crate::virtual_key::VirtualKeyError>,
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
    /// The stored credentials LiteLLM re-encrypted with the new master key
    /// could not be put back on the old one: every file still holds the
    /// new key, and the journal keeps the rollback for `recover`.
    #[error(
        "{failure}; the stored credentials could not be put back on the old master key {old}: {why}; every file still holds the new key {new} and {} keeps the rollback: bring the gateway up on the new key, then run `litekeys-rotate recover`",
        journal.display()
    )]
    Stored {
        failure: String,
        old: String,
        new: String,
        why: Box<ActivateError>,
        journal: PathBuf,
    },
    /// Recovery put the stored credentials and every file back on the old
    /// master key; the gateway did not come back on it (or without them).
    #[error(
        "the stored credentials and every file are back on the old master key, but {why}; restart the gateway by hand, then run `litekeys-rotate recover` ({} keeps the check)",
        journal.display()
    )]
    StoredBack {
        why: Box<ActivateError>,
        journal: PathBuf,
    },
    /// Every file was restored; what the gateway made for them (a new
    /// virtual key) could not be taken back.
    #[error(
        "{failure}; every file was restored to the old keys, but the gateway could not take back what it made for them: {why}; delete that key by hand (POST /key/delete with the master key)"
    )]
    Gateway {
        failure: String,
        why: Box<ActivateError>,
    },
    /// Every file was restored; the gateway did not come back on them.
    #[error("{failure}; every file was restored to the old keys, but {again}; restart it by hand")]
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

    pub(crate) fn sink(path: &Path, kind: impl Into<SinkError>) -> Self {
        Error::Sink(SinkFailure::new(path, kind))
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
            Error::Config(ConfigError::Untrusted { .. }) => Exit::Untrusted,
            // A preflight refusal is a usage error: nothing was attempted,
            // and the way out is an argument (--no-restart) or the config
            // ([service] manager), as for a bad litekeys.toml.
            Error::Config(_) | Error::SameFile(_) | Error::Refused(_) | Error::Preflight(_) => {
                Exit::Usage
            }
            Error::Locked(_) => Exit::Locked,
            Error::Vault(e) => match e {
                vault::Error::Value { .. } | vault::Error::ValueType { .. } => Exit::DecryptValue,
                // A key set twice (an empty line no MAC covers, placed first):
                // bad input, as `litekeys` says of the same file.
                vault::Error::Format {
                    source: vault::FormatError::DuplicateKey { .. },
                    ..
                } => Exit::BadInput,
                vault::Error::MacMismatch { .. } => Exit::MacMismatch,
                vault::Error::NoIdentity { .. } => Exit::NoIdentity,
                // A recipient outside the pin (a pulled source): as litekeys says.
                vault::Error::Unpinned { .. } => Exit::Recipients,
                _ => Exit::Error,
            },
            Error::Implausible { .. } | Error::Droid(crate::droid::DroidError::Doctor { .. }) => {
                Exit::BadInput
            }
            Error::Source { .. }
            | Error::Droid(_)
            | Error::Sink(_)
            | Error::Pending(_)
            | Error::Io { .. }
            | Error::Gateway(_)
            | Error::Git(_)
            | Error::VirtualKeyPending {
                committed: true, ..
            } => Exit::Error,
            Error::Pull(e) => e.exit(),
            Error::RolledBack { .. } => Exit::RolledBack,
            Error::VirtualKeyPending { .. } | Error::RollbackIncomplete(_) => {
                Exit::RollbackIncomplete
            }
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

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Sink(f) => Error::Sink(f),
            PlanError::SameFile(s) => Error::SameFile(s),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the encrypted source cannot be rotated as it stands (the path is
/// [`Error::Source`]'s).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "no such file; create it with `litekeys-rotate init`, or set `source` in {}",
        config.display()
    )]
    Missing { config: PathBuf },
    #[error(
        "has keys other than age (pgp, kms, …): litekeys-rotate writes age-only sources; re-encrypt it to age recipients"
    )]
    NotAgeOnly,
    #[error(transparent)]
    Writable(#[from] WritableError),
    #[error(transparent)]
    Backup(#[from] Box<BackupError>),
    #[error("a writer thread panicked")]
    WriterPanicked,
    #[error(
        "files kept changing during {attempts} attempts (is Droid rewriting its settings?); nothing was changed, try again"
    )]
    KeptChanging { attempts: usize },
}

/// Why the journal's backup cannot be made or opened (none of these shows
/// a file's content).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("a recipient of the source is not an age X25519 key: {0}")]
    Recipient(&'static str),
    #[error("cannot encrypt the backup: {0}")]
    Encrypt(#[from] age::EncryptError),
    #[error("cannot encrypt the backup: {0}")]
    Seal(std::io::Error),
    #[error("the journal's backup is corrupt: {0}")]
    Corrupt(age::DecryptError),
    #[error(
        "cannot decrypt the journal's backup ({0}): an identity of the source's recipients is needed"
    )]
    Decrypt(age::DecryptError),
    #[error("the journal's backup is corrupt: {0}")]
    Unreadable(std::io::Error),
    #[error("the journal's backup is corrupt (truncated record)")]
    Truncated,
}

/// Why one file could not be put back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    /// The backup cannot be opened (shared by every file it holds).
    #[error(transparent)]
    Backup(Arc<BackupError>),
    #[error("the backup has no record for it")]
    NoRecord,
    #[error("cannot write it: {0}")]
    Write(std::io::Error),
    /// Someone else changed it between our reading and our writing it.
    #[error("changed by another program while it was being restored; check it by hand")]
    Changed,
    #[error("cannot remove the file it did not have before: {0}")]
    Remove(std::io::Error),
    /// It changed since it was written and the old key could not be put
    /// back into it with certainty.
    #[error("could not verify: {0}")]
    Unverified(#[from] Unverifiable),
}

/// Why a file changed since the transaction wrote it could not be settled
/// (see `transaction::reapply`). Names keys and fields, never values.
#[derive(Debug, thiserror::Error)]
pub enum Unverifiable {
    #[error("it changed since it was written and no sink of the config reads it any more")]
    NoSink,
    #[error("it still holds the never-committed {name} and the backup holds no old value for it")]
    NoOldValue { name: String },
    #[error("the old {0}")]
    Implausible(#[from] crate::keys::ImplausibleKey),
    #[error("it changed since it was written and cannot be read: {0}")]
    Sink(#[from] SinkError),
    #[error(
        "{field} holds neither the old nor the never-committed key; it changed since it was written"
    )]
    Other { field: String },
    #[error("it changed since it was written and cannot be opened: {0}")]
    Source(#[from] vault::Error),
}

/// Where each file of an incomplete rollback stands.
#[derive(Debug)]
pub enum FileState {
    NotRestored(RestoreError),
    Restored,
    /// Changed since it was written: the old key put back into it, its
    /// other changes kept.
    Reapplied,
    Unchanged,
}

impl std::fmt::Display for FileState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileState::NotRestored(why) => write!(f, "NOT restored: {why}"),
            FileState::Restored => f.write_str("restored to the old content"),
            FileState::Reapplied => f.write_str(
                "changed since it was written: the old key re-applied, its other changes kept",
            ),
            FileState::Unchanged => f.write_str("unchanged (holds the old content)"),
        }
    }
}

/// The multi-line report of an incomplete rollback: what is where, and
/// where the journal is kept.
#[derive(Debug, thiserror::Error)]
pub struct Unrestored {
    /// Role, path as configured, state.
    pub files: Vec<(String, PathBuf, FileState)>,
    pub journal: PathBuf,
}

impl std::fmt::Display for Unrestored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rollback incomplete; fix these by hand:")?;
        for (role, shown, state) in &self.files {
            write!(f, "\n  {role} {}: {state}", shown.display())?;
        }
        write!(
            f,
            "\nthe journal with the encrypted backups is kept at {}; after fixing, run `litekeys-rotate recover`",
            self.journal.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_bad_litekeys_toml_is_a_usage_error() {
        let e = Config::parse(
            Path::new("/r/litekeys.toml"),
            "unti = 1\n",
            &crate::Env::default(),
        )
        .unwrap_err();
        assert_eq!(Error::from(e).exit(), vault::Exit::Usage);
    }
}
