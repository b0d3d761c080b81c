//! The rotation transaction. Order: lock the source, settle any earlier
//! journal, validate every sink (read, parse, plan, check writable), begin
//! the journal with the encrypted backups, write the new value into the
//! encrypted source and the sinks, activate (restart + verify, see
//! [`crate::activation`]), commit (the audit line), empty the journal. Any
//! error before the commit restores every file from the journal; a crash
//! is settled by the next command (see [`recover`]). A file that
//! changed between planning and writing (Droid rewrites its settings) makes
//! the transaction roll back and start over.
//!
//! The files are written at once, each by its own thread, so that their
//! fsyncs overlap: recovery compares contents, so the order among them does
//! not matter to it.

mod execute;
pub(crate) mod fault;
pub(crate) mod journal;
mod plan;
mod prepare;
mod reapply;
pub(crate) mod recover;
mod reencrypt;
mod request;
mod salt_guard;

use crate::activation::{Activate, Skip, Verification};
use crate::config::{Config, MASTER_KEY, Refusal, SALT_KEY};
use crate::error::{Error, Result, SourceError};
use crate::keys;
use execute::Stop;
pub use plan::{Plan, PlanFile};
pub use recover::{Recovered, Settled, recover};
pub use request::{Action, Quiet, Request, Ui};
use vault::Secret;
use vault::identity::Identities;

const ATTEMPTS: usize = 3;

/// Why nothing was restarted with `--no-restart` (and [`sync`]): the audit
/// log records the commit as unverified.
pub const NO_RESTART: &str = "--no-restart: not restarted, not verified";

/// The identities sops would use for `config`'s source; the OS keyring is
/// asked only when they do not open it (vault's one identity discovery).
pub fn identities(config: &Config) -> Identities {
    let keyring = vault::identity::OsKeyring::DEFAULT;
    let (ids, _) = Identities::discover_for(Some(&keyring), |ids| {
        vault::Document::read(&config.source)?.data_key(ids)
    });
    ids
}

/// `litekeys-rotate sync --no-restart` in-process: the source's values
/// written into every sink by the transaction (lock, journal, backups,
/// atomic writes), nothing restarted. A held lock is [`Error::Locked`].
pub fn sync(config: &Config, identities: &Identities, ui: &mut dyn Ui) -> Result<Report> {
    let request = Request {
        config,
        identities,
        action: Action::Sync { force_salt: false },
        dry_run: false,
    };
    run(&request, &mut Skip(NO_RESTART.into()), ui)
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

pub fn run(req: &Request<'_>, activator: &mut dyn Activate, ui: &mut dyn Ui) -> Result<Report> {
    let config = req.config;
    if !config.source.exists() {
        return Err(Error::source(
            &config.source,
            SourceError::Missing {
                config: config
                    .file
                    .clone()
                    .unwrap_or_else(|| crate::config::FILE_NAME.into()),
            },
        ));
    }
    let fresh = fresh_values(req);
    if req.dry_run {
        let prepared = prepare::prepare(req, &fresh)?;
        reencrypt::check_restart(&prepared.stored, activator)?;
        let mut plan = prepared.plan;
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
    let _lock = vault::store::Lock::acquire(&config.source, false)?;
    ui.step(&format!("locked {}", config.source.display()));
    fault::point("locked");
    let recovered = recover::recover(config, &req.identities.identities)?;
    if recovered != Recovered::Nothing {
        ui.step(&recovered.to_string());
    }
    for attempt in 0..ATTEMPTS {
        let mut prepared = prepare::prepare(req, &fresh)?;
        fault::point("planned");
        if prepared.changes.is_empty() {
            return Ok(Report::InSync { recovered });
        }
        ui.step(&format!(
            "planned: {} file(s) change",
            prepared.changes.len()
        ));
        // Before the question: a restart that cannot work here is refused
        // with nothing written, instead of written and rolled back.
        execute::preflight(req, &prepared, activator)?;
        // Droid settings droid would reject (it then drops every custom
        // model) are refused too, with nothing written.
        let hide: Vec<&Secret> = prepared.hide.iter().collect();
        if let Some(line) = crate::droid::doctor_planned(config, &prepared.changes, &hide)?.line() {
            ui.step(&line);
        }
        reencrypt::preflight(
            config,
            &mut prepared.stored,
            prepared.old_master.as_ref(),
            activator,
        )?;
        if attempt == 0 && !ui.confirm(&prepared.plan) {
            return Err(Refusal::Declined.into());
        }
        match execute::execute(req, prepared, activator, ui) {
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
    Err(Error::source(
        &config.source,
        SourceError::KeptChanging { attempts: ATTEMPTS },
    ))
}

/// New keys for a rotation, made once so that a retry writes the same.
fn fresh_values(req: &Request<'_>) -> Vec<(String, Secret)> {
    match req.action {
        Action::Rotate { salt, .. } => {
            let mut v = vec![(MASTER_KEY.to_string(), keys::generate())];
            if salt {
                v.push((SALT_KEY.to_string(), keys::generate()));
            }
            v
        }
        Action::RotateVirtual { key } => req
            .config
            .virtual_keys
            .get(key)
            .map(|spec| (spec.name.clone(), keys::generate()))
            .into_iter()
            .collect(),
        Action::Sync { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod virtual_key_tests;
