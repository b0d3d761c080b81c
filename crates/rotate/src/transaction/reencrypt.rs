//! The credentials LiteLLM stored in its database, across a master-key
//! change. They are encrypted with `LITELLM_SALT_KEY` when one is set, else
//! with the master key, so the path depends on both ([`decide`]):
//!
//! - no database: the master key lives in the environment only;
//! - a database and a salt key: environment + restart only, never
//!   `/key/regenerate` (it would re-encrypt them with the master key);
//! - a database and no salt key: `/key/regenerate` with the new key just
//!   before the restart (the running proxy keeps the old key until then),
//!   recorded in the journal before it is sent and after it answered.
//!
//! Either way with a database, the stored models the gateway served with
//! the old key before must all be served with the new key after (a proxy
//! that cannot decrypt one drops it): a rotation that would lose one fails
//! and rolls back. A rollback (or `recover` after a crash) puts the stored
//! credentials back on the old key before the old files return: with the
//! gateway running on the new key (restarted onto the new files if it is
//! not), `/key/regenerate` new -> old, then the files, then the restart
//! onto the old key. Which key they are under is read off the gateway: a
//! proxy on the new key serves the stored models only if they are under it.

use super::fault;
use super::journal::{self, Journal, Loaded, Record, Regenerate, Regenerated};
use super::request::Ui;
use super::salt_guard;
use crate::activation::{Activate, ActivateError, Activation, Verification, service_spec};
use crate::config::{Config, Refusal};
use crate::error::{Error, Incomplete, Result};
use crate::gateway::{self, StoredModel};
use crate::sinks::Values;
use age::x25519;
use std::cell::Cell;
use std::time::Duration;
use vault::Secret;

/// How long a proxy just restarted may take to serve every stored model
/// it served before (it loads them from the database as it starts).
pub(crate) const STORED_BOUND: Duration = Duration::from_secs(10);

/// Which way a master-key change treats LiteLLM's stored credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoredPath {
    NoDatabase,
    /// A database, but the master key stays: nothing to re-encrypt.
    Unchanged,
    SaltKey {
        salt: String,
    },
    Regenerate {
        database: String,
    },
}

impl StoredPath {
    /// The plan's line, when there is a database and the key changes.
    pub(crate) fn line(&self) -> Option<String> {
        match self {
            StoredPath::NoDatabase | StoredPath::Unchanged => None,
            StoredPath::SaltKey { salt } => Some(format!(
                "database with a salt key ({salt}): the master key changes by the restart only, never /key/regenerate; stored models checked before and after"
            )),
            StoredPath::Regenerate { database } => Some(format!(
                "database without salt key ({database}): stored credentials re-encrypted through /key/regenerate before the restart; stored models checked before and after"
            )),
        }
    }
}

/// The path for a transaction that changes the master key (or not).
pub(super) fn decide(config: &Config, current: &Values, master_changes: bool) -> StoredPath {
    let Some(database) = salt_guard::database(config, current) else {
        return StoredPath::NoDatabase;
    };
    if !master_changes {
        return StoredPath::Unchanged;
    }
    match salt_guard::salt_key(config, current) {
        Some(salt) => StoredPath::SaltKey { salt },
        None => StoredPath::Regenerate {
            database: database.to_string(),
        },
    }
}

/// The phase's state along one transaction.
#[derive(Debug)]
pub(crate) struct Phase {
    pub(crate) path: StoredPath,
    /// The stored models served with the old key before; `None`: not
    /// checked (no database, no restart, or a gateway that did not list
    /// them on the salt-key path).
    before: Option<Vec<StoredModel>>,
    /// A `/key/regenerate` recorded and not settled.
    pending: Cell<Option<Regenerated>>,
}

impl Phase {
    pub(crate) fn new(path: StoredPath) -> Phase {
        Phase {
            path,
            before: None,
            pending: Cell::new(None),
        }
    }
}

/// Before anything is written or asked: a database without a salt key has
/// its master key changed only with a restart (refused otherwise), and only
/// from a gateway that lists its stored models with the old key (refused
/// otherwise: `/key/regenerate` needs it). With a salt key the list is
/// taken when the gateway answers.
pub(super) fn preflight(
    config: &Config,
    phase: &mut Phase,
    old: Option<&Secret>,
    activator: &dyn Activate,
) -> Result<()> {
    match &phase.path {
        StoredPath::NoDatabase | StoredPath::Unchanged => Ok(()),
        StoredPath::Regenerate { database } => {
            if !activator.restarts() {
                return Err(Refusal::DatabaseNeedsRestart(database.clone()).into());
            }
            let old = old.expect("the master key changes from a known one");
            phase.before = Some(gateway::stored_models(&config.gateway.url, old)?);
            Ok(())
        }
        StoredPath::SaltKey { .. } => {
            if activator.restarts() {
                if let Some(old) = old {
                    phase.before = gateway::stored_models(&config.gateway.url, old).ok();
                }
            }
            Ok(())
        }
    }
}

/// A journal record recovery depends on, or why it could not be written.
fn record(journal: &mut Journal, record: &Record) -> Result<(), ActivateError> {
    journal.record(record).map_err(|e| match e {
        Error::Io { path, source } => ActivateError::Journal { path, source },
        other => ActivateError::Journal {
            path: journal.path.clone(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// The activation of a transaction with `phase`: `/key/regenerate` first
/// on its path (journaled before and after), then `activator`, then the
/// stored models checked on the new key.
pub(super) fn activate(
    config: &Config,
    phase: &Phase,
    step: &Activation<'_>,
    recipients: &[String],
    activator: &mut dyn Activate,
    journal: &mut Journal,
    ui: &mut dyn Ui,
) -> Result<Verification, ActivateError> {
    let url = &config.gateway.url;
    if let (StoredPath::Regenerate { .. }, Some(old)) = (&phase.path, step.old) {
        let keys = journal::seal_backup(recipients, &[Some(old.expose()), Some(step.new.expose())])
            .map_err(|e| ActivateError::Journal {
                path: journal.path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let intent = Regenerate {
            url: url.clone(),
            old: old.fingerprint(),
            new: step.new.fingerprint(),
            keys,
            stored: phase.before.clone().unwrap_or_default(),
        };
        record(journal, &Record::Regenerate(intent))?;
        phase.pending.set(Some(Regenerated::Recorded));
        fault::point("regenerate-recorded");
        match gateway::regenerate(url, old, step.new, config.gateway.timeout) {
            Ok(()) => {
                record(journal, &Record::Regenerated)?;
                phase.pending.set(Some(Regenerated::Answered));
                ui.step(
                    "stored credentials re-encrypted with the new master key (/key/regenerate)",
                );
                fault::point("regenerated");
            }
            Err(e) if !e.may_have_applied() => {
                let _ = record(
                    journal,
                    &Record::RegenerateSettled {
                        detail: "refused: nothing re-encrypted".into(),
                    },
                );
                phase.pending.set(None);
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let verification = activator.activate(step)?;
    let Some(before) = phase.before.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(verification);
    };
    let after = gateway::wait_stored(url, step.new, before, STORED_BOUND)?;
    let lost = gateway::missing(before, &after);
    if !lost.is_empty() {
        return Err(ActivateError::StoredLost {
            url: gateway::shown_url(url).into_owned(),
            names: gateway::names(&lost),
            fingerprint: step.new.fingerprint(),
        });
    }
    Ok(Verification::Verified(format!(
        "{}; {} stored model(s) served with the new key",
        verification.detail(),
        before.len()
    )))
}

fn accepts(url: &str, key: &Secret) -> bool {
    gateway::probe(url, Some(key)).is_ok_and(|s| (200..300).contains(&s))
}

/// With the gateway running on `new`: puts what LiteLLM stored back on
/// `old`, if it is under `new` (the stored models served with `new` say
/// so; with none recorded, whether LiteLLM answered the regenerate).
fn back_to_old(
    config: &Config,
    old: &Secret,
    new: &Secret,
    before: &[StoredModel],
    at: Regenerated,
) -> Result<String, ActivateError> {
    let url = &config.gateway.url;
    let under_new = if before.is_empty() {
        at == Regenerated::Answered
    } else {
        let now = gateway::wait_stored(url, new, before, STORED_BOUND)?;
        gateway::missing(before, &now).len() < before.len()
    };
    if !under_new {
        return Ok("the stored credentials were still under the old master key".into());
    }
    gateway::regenerate(url, new, old, config.gateway.timeout)?;
    Ok(format!(
        "the stored credentials re-encrypted back with the old master key {} (/key/regenerate)",
        old.fingerprint()
    ))
}

/// After a failed activation, before the old files return: the stored
/// credentials back on the old key when a `/key/regenerate` may have
/// moved them (the gateway restarted onto the new files first if it does
/// not run on the new key). `Err` leaves every file on the new key: the
/// journal keeps the rollback (exit 12).
pub(super) fn revert(
    config: &Config,
    phase: &Phase,
    step: &Activation<'_>,
    activator: &mut dyn Activate,
    journal: &mut Journal,
    ui: &mut dyn Ui,
) -> Result<Option<String>, ActivateError> {
    let (Some(at), Some(old)) = (phase.pending.get(), step.old) else {
        return Ok(None);
    };
    if !accepts(&config.gateway.url, step.new) {
        ui.step("restarting the gateway on the new key to put the stored credentials back");
        activator.activate(step)?;
    }
    let before = phase.before.as_deref().unwrap_or_default();
    let detail = back_to_old(config, old, step.new, before, at)?;
    record(
        journal,
        &Record::RegenerateSettled {
            detail: detail.clone(),
        },
    )?;
    phase.pending.set(None);
    ui.step(&detail);
    Ok(Some(detail))
}

/// After the restart back onto the old files: every stored model served
/// before is served with the old key again.
pub(super) fn check_back(
    config: &Config,
    phase: &Phase,
    old: Option<&Secret>,
) -> Result<String, ActivateError> {
    let (Some(before), Some(old)) = (phase.before.as_deref().filter(|b| !b.is_empty()), old) else {
        return Ok(String::new());
    };
    stored_back(config, old, before)
}

fn stored_back(
    config: &Config,
    old: &Secret,
    before: &[StoredModel],
) -> Result<String, ActivateError> {
    let url = &config.gateway.url;
    let now = gateway::wait_stored(url, old, before, STORED_BOUND)?;
    let lost = gateway::missing(before, &now);
    if !lost.is_empty() {
        return Err(ActivateError::StoredLost {
            url: gateway::shown_url(url).into_owned(),
            names: gateway::names(&lost),
            fingerprint: old.fingerprint(),
        });
    }
    Ok(format!(
        "; {} stored model(s) served with the old key again",
        before.len()
    ))
}

/// The keys of a recorded regenerate (old, new).
fn keys(
    intent: &Regenerate,
    identities: &[x25519::Identity],
    loaded: &Loaded,
) -> Result<(Secret, Secret)> {
    let bad = |why: String| {
        Error::from(Incomplete::Stored {
            failure: "the interrupted rotation's /key/regenerate".into(),
            old: intent.old.clone(),
            new: intent.new.clone(),
            why: Box::new(ActivateError::Journal {
                path: loaded.path.clone(),
                source: std::io::Error::other(why),
            }),
            journal: loaded.path.clone(),
        })
    };
    let opened = journal::open_backup(&intent.keys, identities).map_err(|e| bad(e.to_string()))?;
    match opened.as_slice() {
        [Some(old), Some(new)] => Ok((Secret::new(old.to_vec()), Secret::new(new.to_vec()))),
        _ => Err(bad("the sealed keys are incomplete".into())),
    }
}

/// What recovery did to the stored credentials, before and after the files.
pub(super) struct Recovering {
    old: Secret,
    new: Secret,
    stored: Vec<StoredModel>,
    pub(super) detail: String,
}

/// Recovery's first step, before any file returns: a recorded
/// `/key/regenerate` not yet settled is put back (the gateway restarted
/// onto the files, which still hold the new key, when it does not run on
/// it). `None`: the transaction recorded none.
pub(super) fn recover_before(
    config: &Config,
    loaded: &Loaded,
    identities: &[x25519::Identity],
) -> Result<Option<Recovering>> {
    let Some((intent, at)) = loaded.regenerate() else {
        return Ok(None);
    };
    let (old, new) = keys(intent, identities, loaded)?;
    let mut recovering = Recovering {
        stored: intent.stored.clone(),
        detail: "the stored credentials were already on the old master key".into(),
        old,
        new,
    };
    if at == Regenerated::Settled {
        return Ok(Some(recovering));
    }
    let failed = |why: ActivateError| {
        Error::from(Incomplete::Stored {
            failure: "recovering an interrupted rotation".into(),
            old: intent.old.clone(),
            new: intent.new.clone(),
            why: Box::new(why),
            journal: loaded.path.clone(),
        })
    };
    let url = &config.gateway.url;
    if !accepts(url, &recovering.new) {
        restart(config, &recovering.old, &recovering.new).map_err(failed)?;
    }
    let detail = back_to_old(
        config,
        &recovering.old,
        &recovering.new,
        &recovering.stored,
        at,
    )
    .map_err(failed)?;
    journal::append(
        &loaded.path,
        &Record::RegenerateSettled {
            detail: detail.clone(),
        },
    )?;
    fault::point("regenerate-settled");
    recovering.detail = detail;
    Ok(Some(recovering))
}

/// Recovery's last step, once every file holds the old key again: the
/// gateway restarted onto them, the old key verified, every stored model
/// served again.
pub(super) fn recover_after(
    config: &Config,
    recovering: &mut Recovering,
    journal: &std::path::Path,
) -> Result<()> {
    let back = restart(config, &recovering.new, &recovering.old)
        .and_then(|()| stored_back(config, &recovering.old, &recovering.stored));
    match back {
        Ok(line) => {
            recovering.detail.push_str(&format!(
                "; the gateway restarted on the old key {} and verified{line}",
                recovering.old.fingerprint()
            ));
            Ok(())
        }
        Err(why) => Err(Incomplete::StoredBack {
            why: Box::new(why),
            journal: journal.to_path_buf(),
        }
        .into()),
    }
}

/// Restarts the gateway through `[service]` and verifies it runs on `on`
/// (`off` refused).
fn restart(config: &Config, off: &Secret, on: &Secret) -> Result<(), ActivateError> {
    let service = service_spec(config);
    service
        .restart(true, &[off, on])
        .map_err(|source| ActivateError::Restart {
            manager: service.manager.name(),
            source,
        })?;
    gateway::verify(&config.gateway.url, Some(off), on, config.gateway.timeout)?;
    Ok(())
}

/// Used by [`super::run`]'s dry run and before the confirmation.
pub(super) fn check_restart(phase: &Phase, activator: &dyn Activate) -> Result<()> {
    match &phase.path {
        StoredPath::Regenerate { database } if !activator.restarts() => {
            Err(Refusal::DatabaseNeedsRestart(database.clone()).into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
