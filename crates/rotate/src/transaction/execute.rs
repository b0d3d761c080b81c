//! Executing a prepared plan: the journal begun with the encrypted backups,
//! every file written (each by its own thread, so that their fsyncs
//! overlap: recovery compares contents, so the order does not matter to
//! it), activation, the commit (the audit line), the journal emptied. Any
//! error before the commit restores every file from the journal.

use super::fault;
use super::journal::{self, Begin, Journal, PlannedFile, Record};
use super::plan::Plan;
use super::prepare::Prepared;
use super::recover;
use super::reencrypt;
use super::request::{Request, Ui};
use crate::activation::{Activate, Activation, ChangedFile, Verification};
use crate::audit::{self, Summary};
use crate::config::MASTER_KEY;
use crate::error::{Error, Incomplete, Result, SourceError};
use crate::sinks::{FileChange, Role, SinkError};
use std::path::PathBuf;
use vault::Secret;
use vault::store::ReplaceError;

/// Why an attempt stopped before committing.
pub(crate) enum Stop {
    /// A file changed under us; every file was restored: start over.
    Changed(PathBuf),
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

fn planned(changes: &[FileChange]) -> Vec<PlannedFile> {
    changes
        .iter()
        .map(|c| PlannedFile {
            role: c.role.name().to_string(),
            shown: c.shown.clone(),
            target: c.target.clone(),
            existed: c.before.existed(),
            mode: c.mode,
            old: journal::digest(c.before_bytes()),
            new: journal::digest(Some(&c.after)),
        })
        .collect()
}

/// The files `prepared` replaces, as an activation is told of them.
fn changed_files(prepared: &Prepared) -> Vec<ChangedFile> {
    prepared
        .changes
        .iter()
        .map(|c| ChangedFile {
            role: c.role,
            path: c.shown.clone(),
        })
        .collect()
}

/// What an activation is given for `prepared`; `placeholder` stands in for
/// a master key the source does not hold.
fn activation<'a>(
    req: &'a Request<'_>,
    prepared: &'a Prepared,
    changed: &'a [ChangedFile],
    placeholder: &'a Secret,
    tx: &'a str,
) -> Activation<'a> {
    Activation {
        config: req.config,
        action: req.action.name(),
        master: MASTER_KEY,
        old: prepared.old_master.as_ref(),
        new: prepared.new_master.as_ref().unwrap_or(placeholder),
        changed,
        routes: &prepared.routes,
        hide: &prepared.hide,
        virtual_key: prepared.virtual_key.as_ref(),
        tx,
    }
}

/// Asks `activator` whether it can act on `prepared` here, before anything
/// is written or asked.
pub(crate) fn preflight(
    req: &Request<'_>,
    prepared: &Prepared,
    activator: &dyn Activate,
) -> Result<()> {
    let changed = changed_files(prepared);
    let placeholder = Secret::new(Vec::new());
    activator.preflight(&activation(req, prepared, &changed, &placeholder, ""))?;
    Ok(())
}

/// Restores every file after a failure; `Ok` when all are back.
fn undo(
    journal: Journal,
    backup: &str,
    files: &[PlannedFile],
    summary: &Summary,
    req: &Request<'_>,
) -> Result<recover::Restore> {
    let restore = recover::roll_back(
        req.config,
        backup,
        files,
        &summary.keys,
        &req.identities.identities,
    );
    if !restore.failed.is_empty() {
        return Err(Incomplete::from(restore.report(files, &journal.path)).into());
    }
    journal.finish()?;
    Ok(restore)
}

pub(crate) fn execute(
    req: &Request<'_>,
    prepared: Prepared,
    activator: &mut dyn Activate,
    ui: &mut dyn Ui,
) -> std::result::Result<(Plan, String, Verification), Stop> {
    let config = req.config;
    let tx = journal::new_tx();
    let files = planned(&prepared.changes);
    let summary = Summary {
        action: req.action.name().into(),
        keys: prepared.plan.keys.clone(),
    };
    let befores: Vec<Option<&[u8]>> = prepared
        .changes
        .iter()
        .map(FileChange::before_bytes)
        .collect();
    let backup = journal::seal_backup(&prepared.recipients, &befores)
        .map_err(|e| Error::source(&config.source, Box::new(e)))?;
    let mut journal = Journal::begin(
        &journal::path_for(&config.state_dir, &config.source),
        Begin {
            version: journal::VERSION,
            tx: tx.clone(),
            source: config.source.clone(),
            files: files.clone(),
            summary: summary.clone(),
            backup: backup.clone(),
        },
    )?;
    ui.step("journal written, with the old contents age-encrypted");
    fault::point("journal-begun");

    let changed = changed_files(&prepared);
    let placeholder = Secret::new(Vec::new());
    let step = activation(req, &prepared, &changed, &placeholder, &tx);
    let gateway_changed = match before_write(req, &prepared, &step, activator, &mut journal, ui) {
        Ok(changed) => changed,
        Err(failure) => {
            undo(journal, &backup, &files, &summary, req)?;
            return Err(Error::RolledBack {
                failure: Box::new(failure),
                restored: 0,
                back: "nothing had been written".into(),
            }
            .into());
        }
    };

    let changes = &prepared.changes;
    let first_sink = std::sync::atomic::AtomicBool::new(true);
    let results: Vec<std::result::Result<(), Stop>> = std::thread::scope(|scope| {
        let handles: Vec<_> = changes
            .iter()
            .map(|change| {
                let first_sink = &first_sink;
                scope.spawn(move || {
                    write_checked(change)?;
                    if change.role == Role::Source {
                        fault::point("source-written");
                    } else if first_sink.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        fault::point("sink-written");
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Stop::Failed(Error::source(
                        &config.source,
                        SourceError::WriterPanicked,
                    )))
                })
            })
            .collect()
    });
    let mut failure = None;
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => {
                // Informational: recovery compares contents.
                let _ = journal.note(&Record::Wrote { file: i });
                ui.step(&format!(
                    "wrote {} {}",
                    changes[i].role.name(),
                    changes[i].shown.display()
                ));
            }
            Err(stop) if failure.is_none() => failure = Some(stop),
            Err(_) => {}
        }
    }
    if let Some(stop) = failure {
        undo(journal, &backup, &files, &summary, req)?;
        // What the gateway made for the files goes with them (a retry makes
        // it again).
        if gateway_changed {
            activator
                .reactivate(&step)
                .map_err(|why| Incomplete::Gateway {
                    failure: stop_reason(&stop),
                    why: Box::new(why),
                })
                .map_err(Error::from)?;
        }
        return Err(stop);
    }
    fault::point("sinks-written");
    let activated = doctor_written(config, &changed, &step).and_then(|doctored| {
        let verification = reencrypt::activate(
            config,
            &prepared.stored,
            &step,
            &prepared.recipients,
            activator,
            &mut journal,
            ui,
        )?;
        Ok(verification.noting(doctored.line()))
    });
    let verification = match activated {
        Ok(v) => v,
        Err(failure) => {
            let _ = journal.record(&Record::ActivationFailed {
                reason: failure.to_string(),
            });
            ui.step(&format!("activation failed: {failure}; rolling back"));
            // The stored credentials first, while the files hold the new key.
            let reverted =
                reencrypt::revert(config, &prepared.stored, &step, activator, &mut journal, ui);
            if let Err(why) = reverted {
                return Err(stored_incomplete(&failure, &step, why, &journal).into());
            }
            let restore = undo(journal, &backup, &files, &summary, req)?;
            let back = activator.reactivate(&step).and_then(|back| {
                reencrypt::check_back(config, &prepared.stored, step.old).map(|more| back + &more)
            });
            return Err(match back {
                Ok(back) => Error::RolledBack {
                    failure: Box::new(failure),
                    restored: restore.restored.len(),
                    back,
                },
                Err(again) => Incomplete::GatewayDown {
                    failure: Box::new(failure),
                    again: Box::new(again),
                }
                .into(),
            }
            .into());
        }
    };
    let _ = journal.note(&Record::Activated {
        verified: verification.verified(),
        detail: verification.detail().to_string(),
    });
    ui.step(&format!("activation: {}", verification.detail()));
    fault::point("activated");

    // The audit line is the commit record.
    if let Err(e) = audit::append(&config.state_dir, &summary, verification.verified(), &tx) {
        let failure = Error::io(&audit::path(&config.state_dir), e);
        let reverted =
            reencrypt::revert(config, &prepared.stored, &step, activator, &mut journal, ui);
        if let Err(why) = reverted {
            let failure = crate::activation::ActivateError::Journal {
                path: audit::path(&config.state_dir),
                source: std::io::Error::other(failure.to_string()),
            };
            return Err(stored_incomplete(&failure, &step, why, &journal).into());
        }
        undo(journal, &backup, &files, &summary, req)?;
        let _ = activator.reactivate(&step);
        return Err(failure.into());
    }
    fault::point("committed");
    ui.step(&format!("committed (tx {tx})"));
    if prepared.virtual_key.is_some() {
        // The old key's grace counts from here, also for `recover`.
        let _ = journal.record(&Record::Committed {
            at_ms: crate::virtual_key::pending::now_ms(),
        });
    }
    let verification = match activator.after_commit(&step) {
        Ok(done) => {
            journal.finish()?;
            match done {
                Some(line) => {
                    ui.step(&line);
                    also(verification, &line)
                }
                None => verification,
            }
        }
        // Committed: the rotation stands; the journal keeps the rest.
        Err(why) => {
            let line = format!(
                "not finished at the gateway: {why}; {} keeps it: `litekeys-rotate recover` finishes it",
                journal.path.display()
            );
            ui.step(&line);
            also(verification, &line)
        }
    };
    Ok((prepared.plan, tx, verification))
}

/// Records a virtual key's work at the gateway (fsynced, before it is
/// done), then lets the activation make what the new files name.
fn before_write(
    req: &Request<'_>,
    prepared: &Prepared,
    step: &Activation<'_>,
    activator: &mut dyn Activate,
    journal: &mut Journal,
    ui: &mut dyn Ui,
) -> std::result::Result<bool, crate::activation::ActivateError> {
    if let Some(rotation) = &prepared.virtual_key {
        let pending = crate::virtual_key::pending::Pending::new(
            &rotation.spec,
            &req.config.gateway.url,
            rotation.old.as_ref(),
            &rotation.new,
            step.tx,
        );
        journal.record(&Record::VirtualKey(pending)).map_err(|e| {
            crate::activation::ActivateError::Journal {
                path: journal.path.clone(),
                source: std::io::Error::other(e.to_string()),
            }
        })?;
    }
    let changed = activator.before_write(step)?;
    if changed {
        ui.step("the gateway made the new key (before any file names it)");
        fault::point("key-generated");
    }
    Ok(changed)
}

/// `v` with `more` appended to what it says.
fn also(v: Verification, more: &str) -> Verification {
    match v {
        Verification::Verified(d) => Verification::Verified(format!("{d}; {more}")),
        Verification::Unverified(d) => Verification::Unverified(format!("{d}; {more}")),
    }
}

/// Why an attempt stopped, for a message.
fn stop_reason(stop: &Stop) -> String {
    match stop {
        Stop::Changed(path) => format!("{} changed while being rotated", path.display()),
        Stop::Failed(e) => e.to_string(),
    }
}

/// The stored credentials could not be put back: every file stays on the
/// new key and the journal is kept for `recover`.
fn stored_incomplete(
    failure: &dyn std::fmt::Display,
    step: &Activation<'_>,
    why: crate::activation::ActivateError,
    journal: &Journal,
) -> Error {
    Incomplete::Stored {
        failure: failure.to_string(),
        old: step.old.map_or_else(|| "none".into(), Secret::fingerprint),
        new: step.new.fingerprint(),
        why: Box::new(why),
        journal: journal.path.clone(),
    }
    .into()
}

/// `droid doctor` on the Droid settings as written: a failure rolls back
/// like a failed activation.
fn doctor_written(
    config: &crate::config::Config,
    changed: &[ChangedFile],
    step: &Activation<'_>,
) -> std::result::Result<crate::droid::Doctored, crate::activation::ActivateError> {
    let paths: Vec<PathBuf> = changed.iter().map(|c| c.path.clone()).collect();
    Ok(crate::droid::doctor_written(
        config,
        &paths,
        &step.secrets(),
    )?)
}

/// Writes one file unless it changed since it was planned (the store's
/// one "changed underneath" check).
fn write_checked(change: &FileChange) -> std::result::Result<(), Stop> {
    if let Some(parent) = change.target.parent().filter(|p| !p.exists()) {
        vault::store::create_private_dir(parent).map_err(|e| Error::io(parent, e))?;
    }
    match change
        .before
        .replace_if_unchanged(&change.after, change.mode)
    {
        Ok(_) => Ok(()),
        // A file that cannot be read again is not the one planned either.
        Err(ReplaceError::Changed(_) | ReplaceError::Check { .. }) => {
            Err(Stop::Changed(change.shown.clone()))
        }
        Err(ReplaceError::Write { source, .. }) => Err(Stop::Failed(Error::sink(
            &change.shown,
            SinkError::Write(source),
        ))),
    }
}
