//! Settling a transaction from its journal: after a crash (`kill -9` at any
//! point) or a failed activation, every file returns to one consistent
//! state — all old when no commit is recorded, all new when it is (the
//! audit line names the transaction: only the cleanup was left to do).
//! Rolling back checks each file against the journal: its old content
//! stays, its new content gets the encrypted backup back, and a file that
//! changed since gets only its never-committed keys put back (see
//! [`reapply`](super::reapply)). Leftover temp files of interrupted writes
//! are removed.

use super::fault;
use super::journal::{self, Loaded, PlannedFile};
use super::reapply;
use super::reencrypt;
use crate::audit::{self, KeyChange};
use crate::config::Config;
use crate::error::{BackupError, FileState, Incomplete, RestoreError, Result, Unrestored};
use age::x25519;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vault::store::{ReplaceError, Snapshot};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// No interrupted transaction.
    Nothing,
    /// It had not committed: every file holds the old values again.
    RolledBack {
        tx: String,
        action: String,
        restored: Vec<PathBuf>,
        /// Role, path as configured, and what was checked.
        files: Vec<(String, PathBuf, Settled)>,
        /// What was done to LiteLLM's stored credentials (a database
        /// without a salt key), when the transaction had touched them.
        stored: Option<String>,
        /// What was done at the gateway to a virtual key's rotation (the
        /// new key deleted).
        virtual_key: Option<String>,
    },
    /// Its commit was recorded: every file holds the new values.
    Completed {
        tx: String,
        action: String,
        /// What was done at the gateway to a virtual key's rotation (the
        /// old key deleted after its grace).
        virtual_key: Option<String>,
    },
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovered::Nothing => write!(f, "nothing to recover: no interrupted rotation"),
            Recovered::RolledBack {
                tx,
                action,
                restored,
                files,
                stored,
                virtual_key,
            } => {
                write!(
                    f,
                    "recovered an interrupted {action} (tx {tx}): rolled back, every file holds the OLD keys ({} file(s) restored)",
                    restored.len()
                )?;
                for (role, shown, settled) in files {
                    write!(f, "\n  {role} {}: {settled}", shown.display())?;
                }
                if let Some(stored) = stored {
                    write!(f, "\n  stored credentials: {stored}")?;
                }
                if let Some(done) = virtual_key {
                    write!(f, "\n  gateway: {done}")?;
                }
                Ok(())
            }
            Recovered::Completed {
                tx,
                action,
                virtual_key,
            } => {
                write!(
                    f,
                    "recovered an interrupted {action} (tx {tx}): it had committed, every file holds the NEW keys"
                )?;
                if let Some(done) = virtual_key {
                    write!(f, "\n  gateway: {done}")?;
                }
                Ok(())
            }
        }
    }
}

/// What a rollback found and did to one file, each checked against the
/// journal (its digests, and the keys' fingerprints old -> new).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// It holds the content it had before the transaction.
    Old,
    /// It held the transaction's new content: the backup is back.
    Restored,
    /// It changed since it was written and still held a never-committed
    /// key: the old one is back, the other program's changes kept.
    Reapplied,
    /// It changed since it was written and holds none of the
    /// never-committed keys: left as it is.
    NoNewKey,
}

impl std::fmt::Display for Settled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Settled::Old => "holds the old key (checked)",
            Settled::Restored => "restored from the backup, holds the old key (checked)",
            Settled::Reapplied => {
                "re-applied the old key to a file changed since the crash (its other changes kept)"
            }
            Settled::NoNewKey => {
                "changed since the crash, holds none of the never-committed keys (checked, left as it is)"
            }
        })
    }
}

/// What a rollback did, file by file.
#[derive(Debug, Default)]
pub(crate) struct Restore {
    /// The files whose content it changed (restored or re-applied).
    pub restored: Vec<PathBuf>,
    /// The target of every file settled, and how.
    pub settled: Vec<(PathBuf, Settled)>,
    pub failed: Vec<(PathBuf, RestoreError)>,
}

impl Restore {
    /// Role, path as configured, and how each settled file was.
    pub(crate) fn checked(&self, files: &[PlannedFile]) -> Vec<(String, PathBuf, Settled)> {
        files
            .iter()
            .filter_map(|f| {
                let (_, s) = self.settled.iter().find(|(t, _)| *t == f.target)?;
                Some((f.role.clone(), f.shown.clone(), *s))
            })
            .collect()
    }
}

impl Restore {
    /// The report of an incomplete rollback.
    pub(crate) fn report(self, files: &[PlannedFile], journal: &Path) -> Unrestored {
        let mut failed = self.failed;
        let files = files
            .iter()
            .map(|f| {
                let state = match failed.iter().position(|(p, _)| *p == f.target) {
                    Some(i) => FileState::NotRestored(failed.swap_remove(i).1),
                    None if self
                        .settled
                        .contains(&(f.target.clone(), Settled::Reapplied)) =>
                    {
                        FileState::Reapplied
                    }
                    None if self.restored.contains(&f.target) => FileState::Restored,
                    None => FileState::Unchanged,
                };
                (f.role.clone(), f.shown.clone(), state)
            })
            .collect();
        Unrestored {
            files,
            journal: journal.to_path_buf(),
        }
    }
}

/// Puts every file back on the old keys, each checked against the journal:
/// a file holding the old content stays; one holding the transaction's new
/// content gets its backup back; one that changed since (neither digest:
/// another program rewrote it, or changed it before the transaction could
/// write it) keeps that program's changes, and only the values still
/// holding a never-committed key (`changes`' fingerprints) get the old
/// value again ([`reapply`]).
pub(crate) fn roll_back(
    config: &Config,
    backup: &str,
    files: &[PlannedFile],
    changes: &[KeyChange],
    identities: &[x25519::Identity],
) -> Restore {
    let mut out = Restore::default();
    let mut backups: Option<std::result::Result<Vec<_>, Arc<BackupError>>> = None;
    for (i, f) in files.iter().enumerate() {
        vault::store::remove_stale_temps(&f.target);
        let now = match Snapshot::read_or_absent(&f.target) {
            Ok(now) => now,
            Err(e) => {
                out.failed.push((f.target.clone(), RestoreError::Read(e)));
                continue;
            }
        };
        let digest = journal::digest(now.existed().then(|| now.bytes()));
        if digest == f.old {
            out.settled.push((f.target.clone(), Settled::Old));
            continue;
        }
        let saved = backups
            .get_or_insert_with(|| journal::open_backup(backup, identities).map_err(Arc::new));
        let old = match saved {
            Ok(all) => all.get(i),
            Err(why) => {
                out.failed
                    .push((f.target.clone(), RestoreError::Backup(why.clone())));
                continue;
            }
        };
        let Some(old) = old else {
            out.failed.push((f.target.clone(), RestoreError::NoRecord));
            continue;
        };
        let old = old.as_deref().map(Vec::as_slice);
        let (result, settled) = if digest == f.new {
            (restore(&now, f, old), Settled::Restored)
        } else {
            let held = now.existed().then(|| now.bytes());
            match reapply::reapply(config, f, held, old, changes, identities) {
                Ok(None) => {
                    out.settled.push((f.target.clone(), Settled::NoNewKey));
                    continue;
                }
                Ok(Some(bytes)) => (replace(&now, &bytes, f.mode), Settled::Reapplied),
                Err(why) => (Err(why.into()), Settled::Reapplied),
            }
        };
        match result {
            Ok(()) => {
                out.restored.push(f.target.clone());
                out.settled.push((f.target.clone(), settled));
                fault::point("rollback-partial");
            }
            Err(why) => out.failed.push((f.target.clone(), why)),
        }
    }
    out
}

/// Puts the backup back (`None`: the file did not exist before).
fn restore(
    now: &Snapshot,
    f: &PlannedFile,
    old: Option<&[u8]>,
) -> std::result::Result<(), RestoreError> {
    match old {
        Some(bytes) => replace(now, bytes, f.mode),
        None => match std::fs::remove_file(&f.target) {
            Ok(()) => {
                let _ = f.target.parent().map(vault::store::sync_dir);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RestoreError::Remove(e)),
        },
    }
}

/// Replaces the file unless it changed again since it was read.
fn replace(now: &Snapshot, bytes: &[u8], mode: u32) -> std::result::Result<(), RestoreError> {
    now.replace_if_unchanged(bytes, mode)
        .map(drop)
        .map_err(|e| match e {
            ReplaceError::Changed(_) => RestoreError::Changed,
            ReplaceError::Check { source, .. } => RestoreError::Read(source),
            ReplaceError::Write { source, .. } => RestoreError::Write(source),
        })
}

/// Whether a journal is waiting for this source.
pub(crate) fn pending(config: &Config) -> bool {
    journal::exists(&journal::path_for(&config.state_dir, &config.source))
}

/// Settles the journal of `config`'s source, if any. Call with the lock
/// held.
pub fn recover(config: &Config, identities: &[x25519::Identity]) -> Result<Recovered> {
    let path = journal::path_for(&config.state_dir, &config.source);
    let Some(loaded) = journal::load(&path)? else {
        return Ok(Recovered::Nothing);
    };
    settle(config, &loaded, identities)
}

fn settle(config: &Config, loaded: &Loaded, identities: &[x25519::Identity]) -> Result<Recovered> {
    let Some(begin) = loaded.begin() else {
        // Torn while recording `begin`: no file had been touched.
        journal::clear(&loaded.path)?;
        return Ok(Recovered::RolledBack {
            tx: "unknown".into(),
            action: "rotation".into(),
            restored: Vec::new(),
            files: Vec::new(),
            stored: None,
            virtual_key: None,
        });
    };
    if audit::contains(&config.state_dir, &begin.tx) {
        for f in &begin.files {
            vault::store::remove_stale_temps(&f.target);
        }
        // The old virtual key is deleted once its grace is over.
        let virtual_key = match loaded.virtual_key() {
            Some((pending, committed)) => Some(settle_virtual_key(
                config,
                loaded,
                identities,
                pending,
                Some(pending.grace_until(committed)),
            )?),
            None => None,
        };
        journal::clear(&loaded.path)?;
        return Ok(Recovered::Completed {
            tx: begin.tx.clone(),
            action: begin.summary.action.clone(),
            virtual_key,
        });
    }
    // LiteLLM's stored credentials first, while the files hold the new key.
    let mut stored = reencrypt::recover_before(config, loaded, identities)?;
    let restore = roll_back(
        config,
        &begin.backup,
        &begin.files,
        &begin.summary.keys,
        identities,
    );
    if !restore.failed.is_empty() {
        return Err(Incomplete::from(restore.report(&begin.files, &loaded.path)).into());
    }
    if let Some(stored) = &mut stored {
        reencrypt::recover_after(config, stored, &loaded.path)?;
    }
    // The files no longer name the new virtual key: it goes.
    let virtual_key = match loaded.virtual_key() {
        Some((pending, _)) => Some(settle_virtual_key(
            config, loaded, identities, pending, None,
        )?),
        None => None,
    };
    journal::clear(&loaded.path)?;
    Ok(Recovered::RolledBack {
        tx: begin.tx.clone(),
        action: begin.summary.action.clone(),
        files: restore.checked(&begin.files),
        restored: restore.restored,
        stored: stored.map(|s| s.detail),
        virtual_key,
    })
}

/// A virtual key's work at the gateway after a crash: with `until_ms`
/// (committed), the old key deleted once the grace is over, else the new
/// key deleted. The master key is the source's (a virtual-key rotation
/// never changes it). No answer keeps the journal.
fn settle_virtual_key(
    config: &Config,
    loaded: &Loaded,
    identities: &[x25519::Identity],
    pending: &crate::virtual_key::pending::Pending,
    until_ms: Option<u64>,
) -> Result<String> {
    let ids = vault::identity::Identities {
        identities: identities.to_vec(),
        ..vault::identity::Identities::default()
    };
    let doc = vault::Document::read(&config.source)?;
    let plain = doc.decrypt(&doc.data_key(&ids)?)?;
    let master = crate::sinks::Values::from_plaintext(&plain)
        .get(crate::config::MASTER_KEY)
        .cloned()
        .unwrap_or_else(|| vault::Secret::new(Vec::new()));
    let timeout = config.gateway.timeout.min(crate::gateway::REQUEST_TIMEOUT);
    let done = match until_ms {
        Some(until) => crate::virtual_key::pending::finish(pending, &master, until, timeout),
        None => crate::virtual_key::pending::withdraw(pending, &master, timeout),
    };
    done.map_err(|source| crate::error::Error::VirtualKeyPending {
        journal: loaded.path.clone(),
        committed: until_ms.is_some(),
        source: Box::new(source),
    })
}
