//! Settling a transaction from its journal: after a crash (`kill -9` at any
//! point) or a failed activation, every file returns to one consistent
//! state — all old when no commit is recorded (restored from the encrypted
//! backups), all new when it is (the audit line names the transaction: only
//! the cleanup was left to do). Leftover temp files of interrupted writes
//! are removed.

use super::fault;
use super::journal::{self, Loaded, PlannedFile};
use crate::audit;
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
    },
    /// Its commit was recorded: every file holds the new values.
    Completed { tx: String, action: String },
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovered::Nothing => write!(f, "nothing to recover: no interrupted rotation"),
            Recovered::RolledBack {
                tx,
                action,
                restored,
            } => write!(
                f,
                "recovered an interrupted {action} (tx {tx}): rolled back, every file holds the OLD keys ({} file(s) restored)",
                restored.len()
            ),
            Recovered::Completed { tx, action } => write!(
                f,
                "recovered an interrupted {action} (tx {tx}): it had committed, every file holds the NEW keys"
            ),
        }
    }
}

/// What a rollback did, file by file.
#[derive(Debug, Default)]
pub(crate) struct Restore {
    pub restored: Vec<PathBuf>,
    pub failed: Vec<(PathBuf, RestoreError)>,
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

/// Puts back the old content of every file this transaction changed:
/// those holding its new content, and those it wrote (`written[i]`) that
/// were changed again since. A file someone else changed before the
/// transaction wrote it is theirs, and is left alone.
pub(crate) fn roll_back(
    backup: &str,
    files: &[PlannedFile],
    written: &[bool],
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
        let ours = digest == f.new || written.get(i).copied().unwrap_or(false);
        if digest == f.old || !ours {
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
        let result = match old {
            None => Err(RestoreError::NoRecord),
            Some(Some(bytes)) => now
                .replace_if_unchanged(bytes, f.mode)
                .map(drop)
                .map_err(|e| match e {
                    ReplaceError::Changed(_) => RestoreError::Changed,
                    ReplaceError::Check { source, .. } => RestoreError::Read(source),
                    ReplaceError::Write { source, .. } => RestoreError::Write(source),
                }),
            Some(None) => match std::fs::remove_file(&f.target) {
                Ok(()) => {
                    let _ = f.target.parent().map(vault::store::sync_dir);
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(RestoreError::Remove(e)),
            },
        };
        match result {
            Ok(()) => {
                out.restored.push(f.target.clone());
                fault::point("rollback-partial");
            }
            Err(why) => out.failed.push((f.target.clone(), why)),
        }
    }
    out
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
        });
    };
    if audit::contains(&config.state_dir, &begin.tx) {
        for f in &begin.files {
            vault::store::remove_stale_temps(&f.target);
        }
        journal::clear(&loaded.path)?;
        return Ok(Recovered::Completed {
            tx: begin.tx.clone(),
            action: begin.summary.action.clone(),
        });
    }
    let written = loaded.written(begin.files.len());
    let restore = roll_back(&begin.backup, &begin.files, &written, identities);
    if !restore.failed.is_empty() {
        return Err(Incomplete::from(restore.report(&begin.files, &loaded.path)).into());
    }
    journal::clear(&loaded.path)?;
    Ok(Recovered::RolledBack {
        tx: begin.tx.clone(),
        action: begin.summary.action.clone(),
        restored: restore.restored,
    })
}
