//! The rotation transaction. Order: lock the source, settle any earlier
//! journal, validate every sink (read, parse, plan, check writable), begin
//! the journal with the encrypted backups, write the new value into the
//! encrypted source and the sinks, activate (restart + verify, see
//! [`crate::activate`]), commit (the audit line), empty the journal. Any
//! error before the commit restores every file from the journal; a crash
//! is settled by the next command (see [`crate::recover`]). A file that
//! changed between planning and writing (Droid rewrites its settings) makes
//! the transaction roll back and start over.
//!
//! The files are written at once, each by its own thread, so that their
//! fsyncs overlap: recovery compares contents, so the order among them does
//! not matter to it.

use crate::activate::{Activate, Activation, ChangedFile, Verification};
use crate::audit;
use crate::config::{Config, MASTER_KEY, SALT_KEY, is_env_name};
use crate::endpoint::Gateway;
use crate::error::{Error, Result};
use crate::fault;
use crate::journal::{self, Begin, Journal, KeyChange, PlannedFile, Record, Summary};
use crate::keys;
pub use crate::plan::{Plan, PlanFile};
use crate::recover::{self, Recovered};
use crate::salt;
use crate::sinks::{self, Field, FileChange, Role, Values, droid};
use std::path::{Path, PathBuf};
use vault::identity::Identities;
use vault::{Document, Secret};

const ATTEMPTS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Rotate { salt: bool, force_salt: bool },
    Sync,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Rotate { .. } => "rotate",
            Action::Sync => "sync",
        }
    }
}

/// Progress and confirmation, provided by the binary.
pub trait Ui {
    /// One line per step (on a terminal).
    fn step(&mut self, line: &str);
    /// Asked once the plan is known, before anything changes.
    fn confirm(&mut self, plan: &Plan) -> bool;
}

pub struct Request<'a> {
    pub config: &'a Config,
    pub identities: &'a Identities,
    pub action: Action,
    pub dry_run: bool,
}

#[derive(Debug)]
pub enum Report {
    DryRun(Plan),
    /// Sync found every sink holding the source's values.
    InSync {
        recovered: Recovered,
    },
    Done(Done),
}

#[derive(Debug)]
pub struct Done {
    pub plan: Plan,
    pub tx: String,
    pub verification: Verification,
    pub recovered: Recovered,
}

/// Everything validated and computed before the first change.
struct Prepared {
    plan: Plan,
    changes: Vec<FileChange>,
    recipients: Vec<String>,
    old_master: Option<Secret>,
    new_master: Option<Secret>,
    routes: Vec<droid::Route>,
}

/// Why an attempt stopped before committing.
enum Stop {
    /// A file changed under us; every file was restored: start over.
    Changed(PathBuf),
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

pub fn run(req: &Request<'_>, activator: &mut dyn Activate, ui: &mut dyn Ui) -> Result<Report> {
    let config = req.config;
    if !config.source.exists() {
        return Err(Error::sink(
            &config.source,
            format!(
                "no such file; create it with `litekeys-rotate init`, or set `source` in {}",
                config
                    .file
                    .as_ref()
                    .map_or("litekeys.toml".into(), |f| f.display().to_string())
            ),
        ));
    }
    let fresh = fresh_values(req.action);
    if req.dry_run {
        let mut plan = prepare(req, &fresh)?.plan;
        plan.pending_recovery = recover::pending(config);
        // The keys made for a dry run are thrown away: do not show them as
        // if they were the ones a rotation will write.
        let made: Vec<String> = fresh.iter().map(|(_, v)| v.fingerprint()).collect();
        let mask = |fp: &mut String| {
            if made.contains(fp) {
                *fp = "(fresh key)".into();
            }
        };
        plan.keys.iter_mut().for_each(|k| mask(&mut k.new));
        plan.files
            .iter_mut()
            .flat_map(|f| f.fields.iter_mut())
            .for_each(|f| mask(&mut f.new));
        return Ok(Report::DryRun(plan));
    }
    let _lock = vault::atomic::Lock::acquire(&config.source, false).map_err(|e| match e {
        vault::atomic::LockError::Busy(p) => Error::Locked(p),
        vault::atomic::LockError::Io { path, source } => Error::io(&path, source),
    })?;
    ui.step(&format!("locked {}", config.source.display()));
    fault::point("locked");
    let recovered = recover::recover(config, &req.identities.identities)?;
    if recovered != Recovered::Nothing {
        ui.step(&recovered.to_string());
    }
    for attempt in 0..ATTEMPTS {
        let prepared = prepare(req, &fresh)?;
        fault::point("planned");
        if prepared.changes.is_empty() {
            return Ok(Report::InSync { recovered });
        }
        ui.step(&format!(
            "planned: {} file(s) change",
            prepared.changes.len()
        ));
        if attempt == 0 && !ui.confirm(&prepared.plan) {
            return Err(Error::Refused("declined: nothing was changed".into()));
        }
        match execute(req, prepared, activator, ui) {
            Ok((plan, tx, verification)) => {
                return Ok(Report::Done(Done {
                    plan,
                    tx,
                    verification,
                    recovered,
                }));
            }
            Err(Stop::Changed(path)) => {
                ui.step(&format!(
                    "{} changed while being rotated; starting over",
                    path.display()
                ));
            }
            Err(Stop::Failed(e)) => return Err(e),
        }
    }
    Err(Error::sink(
        &config.source,
        format!(
            "files kept changing during {ATTEMPTS} attempts (is Droid rewriting its settings?); nothing was changed, try again"
        ),
    ))
}

/// New keys for a rotation, made once so that a retry writes the same.
fn fresh_values(action: Action) -> Vec<(&'static str, Secret)> {
    match action {
        Action::Rotate { salt, .. } => {
            let mut v = vec![(MASTER_KEY, keys::generate())];
            if salt {
                v.push((SALT_KEY, keys::generate()));
            }
            v
        }
        Action::Sync => Vec::new(),
    }
}

fn prepare(req: &Request<'_>, fresh: &[(&'static str, Secret)]) -> Result<Prepared> {
    let config = req.config;
    let doc = Document::read(&config.source)?;
    if !doc.metadata.is_native() {
        return Err(Error::sink(
            &config.source,
            "has keys other than age (pgp, kms, …): litekeys-rotate writes age-only sources; re-encrypt it to age recipients",
        ));
    }
    let data_key = doc.data_key(req.identities)?;
    let plain = doc.decrypt(&data_key)?;
    let current = Values::from_plaintext(&plain);
    if let Action::Rotate {
        salt: true,
        force_salt: false,
    } = req.action
    {
        if let Some(reason) = salt::database_in_use(config, &current) {
            return Err(Error::Refused(format!(
                "--salt refused: {reason}; a new salt key makes the credentials LiteLLM stored in its database unreadable; pass --force-salt to rotate it anyway"
            )));
        }
    }
    let old_master = current.get(MASTER_KEY).cloned();
    let mut values = current.clone();
    let mut changes = Vec::new();
    let mut key_changes = Vec::new();
    if !fresh.is_empty() {
        let edits: Vec<vault::edit::Change> = fresh
            .iter()
            .map(|(k, v)| vault::edit::Change::Set(k.to_string(), v.clone()))
            .collect();
        let new_doc = doc.apply(&data_key, &edits)?;
        let before = std::fs::read(&config.source).map_err(|e| Error::io(&config.source, e))?;
        let mut fields = Vec::new();
        for (k, v) in fresh {
            let old = current.get(k);
            fields.push(Field::new(k, old.map(Secret::expose), v));
            key_changes.push(KeyChange {
                name: k.to_string(),
                old: old.map(Secret::fingerprint),
                new: v.fingerprint(),
            });
            values.insert(k, v.clone());
        }
        let target =
            vault::atomic::resolve(&config.source).map_err(|e| Error::io(&config.source, e))?;
        sinks::check_writable(&target).map_err(|reason| Error::sink(&config.source, reason))?;
        let mode = std::fs::metadata(&target).map_or(0o600, |m| {
            std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777
        });
        changes.push(FileChange {
            role: Role::Source,
            shown: config.source.clone(),
            target,
            before: Some(zeroize::Zeroizing::new(before)),
            after: zeroize::Zeroizing::new(new_doc.to_bytes()),
            fields,
            mode,
        });
    }
    let new_master = values.get(MASTER_KEY).cloned();
    let mut old: Vec<Secret> = sinks::held(config, MASTER_KEY);
    old.extend(old_master.clone());
    old.retain(|o| Some(o) != new_master.as_ref());
    let gateway = Gateway::new(config.gateway_urls());
    changes.extend(sinks::plan(config, &values, &old, &gateway)?);
    if fresh.is_empty() {
        key_changes = sync_summary(&changes);
    }
    let routes = gateway_routes(config, &gateway);
    let plan = Plan {
        action: req.action.name(),
        source: config.source.clone(),
        keys: key_changes,
        files: changes
            .iter()
            .map(|c| PlanFile {
                role: c.role,
                path: c.shown.clone(),
                creates: c.before.is_none(),
                fields: c.fields.clone(),
            })
            .collect(),
        pending_recovery: false,
    };
    let recipients = doc
        .metadata
        .age
        .iter()
        .map(|s| s.recipient.clone())
        .collect();
    let previous = old_master
        .filter(|o| Some(o) != new_master.as_ref())
        .or_else(|| old.first().cloned());
    Ok(Prepared {
        plan,
        changes,
        recipients,
        old_master: previous,
        new_master,
        routes,
    })
}

/// The keys a sync changes, from the sink fields (droid fields are the
/// master key's).
fn sync_summary(changes: &[FileChange]) -> Vec<KeyChange> {
    let mut out: Vec<KeyChange> = Vec::new();
    for field in changes.iter().flat_map(|c| &c.fields) {
        let name = if is_env_name(&field.name) {
            field.name.clone()
        } else {
            MASTER_KEY.to_string()
        };
        if !out.iter().any(|k| k.name == name) {
            out.push(KeyChange {
                name,
                old: field.old.clone(),
                new: field.new.clone(),
            });
        }
    }
    out
}

fn gateway_routes(config: &Config, gateway: &Gateway) -> Vec<droid::Route> {
    config
        .sinks
        .iter()
        .filter(|s| s.kind == crate::config::SinkKind::Droid)
        .flat_map(|s| droid::files(&s.path))
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| droid::gateway_routes(&b, gateway).ok())
        .flatten()
        .collect()
}

fn planned(changes: &[FileChange]) -> Vec<PlannedFile> {
    changes
        .iter()
        .map(|c| PlannedFile {
            role: c.role.name().to_string(),
            shown: c.shown.clone(),
            target: c.target.clone(),
            existed: c.before.is_some(),
            mode: c.mode,
            old: journal::digest(c.before.as_deref().map(|b| b.as_slice())),
            new: journal::digest(Some(&c.after)),
        })
        .collect()
}

/// Restores every file after a failure; `Ok` when all are back.
fn undo(
    journal: Journal,
    backup: &str,
    files: &[PlannedFile],
    written: &[bool],
    req: &Request<'_>,
) -> Result<recover::Restore> {
    let restore = recover::roll_back(backup, files, written, &req.identities.identities);
    if !restore.failed.is_empty() {
        return Err(Error::RollbackIncomplete(
            restore.report(files, &journal.path),
        ));
    }
    journal.finish()?;
    Ok(restore)
}

fn execute(
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
        .map(|c| c.before.as_deref().map(|b| b.as_slice()))
        .collect();
    let backup = journal::seal_backup(&prepared.recipients, &befores)
        .map_err(|reason| Error::sink(&config.source, reason))?;
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

    let changes = &prepared.changes;
    let first_sink = std::sync::atomic::AtomicBool::new(true);
    let results: Vec<std::result::Result<(), Stop>> = std::thread::scope(|scope| {
        let handles: Vec<_> = changes
            .iter()
            .zip(&files)
            .map(|(change, file)| {
                let first_sink = &first_sink;
                scope.spawn(move || {
                    write_checked(change, &file.old)?;
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
                    Err(Stop::Failed(Error::sink(
                        &config.source,
                        "a writer thread panicked",
                    )))
                })
            })
            .collect()
    });
    let mut failure = None;
    let mut written = vec![false; files.len()];
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => {
                written[i] = true;
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
        undo(journal, &backup, &files, &written, req)?;
        return Err(stop);
    }
    fault::point("sinks-written");

    let changed: Vec<ChangedFile> = prepared
        .changes
        .iter()
        .map(|c| ChangedFile {
            role: c.role,
            path: c.shown.clone(),
        })
        .collect();
    let placeholder = Secret::new(Vec::new());
    let step = Activation {
        config,
        action: req.action.name(),
        master: MASTER_KEY,
        old: prepared.old_master.as_ref(),
        new: prepared.new_master.as_ref().unwrap_or(&placeholder),
        changed: &changed,
        routes: &prepared.routes,
    };
    let verification = match activator.activate(&step) {
        Ok(v) => v,
        Err(failure) => {
            let _ = journal.record(&Record::ActivationFailed {
                reason: failure.0.clone(),
            });
            ui.step(&format!("activation failed: {failure}; rolling back"));
            let restore = undo(journal, &backup, &files, &written, req)?;
            return Err(match activator.reactivate(&step) {
                Ok(()) => Error::RolledBack(format!(
                    "verification failed: {failure}; rolled back {} file(s) to the old keys and the gateway runs on the old key again",
                    restore.restored.len()
                )),
                Err(again) => Error::RollbackIncomplete(format!(
                    "verification failed: {failure}; every file was restored to the old keys, but the gateway did not come back on them: {again}; restart it by hand and check the old key"
                )),
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
        undo(journal, &backup, &files, &written, req)?;
        let _ = activator.reactivate(&step);
        return Err(Error::io(&audit::path(&config.state_dir), e).into());
    }
    fault::point("committed");
    journal.finish()?;
    ui.step(&format!("committed (tx {tx})"));
    Ok((prepared.plan, tx, verification))
}

/// Writes one file unless it changed since it was planned.
fn write_checked(change: &FileChange, planned_digest: &str) -> std::result::Result<(), Stop> {
    let now = std::fs::read(&change.target)
        .ok()
        .map(zeroize::Zeroizing::new);
    if journal::digest(now.as_deref().map(|b| b.as_slice())) != planned_digest {
        return Err(Stop::Changed(change.shown.clone()));
    }
    write(change).map_err(Stop::Failed)
}

fn write(change: &FileChange) -> Result<()> {
    if let Some(parent) = change.target.parent().filter(|p| !p.exists()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::io(parent, e))?;
    }
    vault::atomic::write(&change.target, &change.after, change.mode)
        .map(drop)
        .map_err(|e| Error::sink(Path::new(&change.shown), format!("cannot write it: {e}")))
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
