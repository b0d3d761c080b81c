//! The contract between the transaction and an activation: what it is given
//! ([`Activation`]), what it establishes ([`Verification`]), the
//! [`Activate`] trait itself, and the activations that restart nothing
//! ([`Skip`], and the test double [`Failing`]).

use super::error::ActivateError;
use super::preflight::PreflightError;
use crate::config::Config;
use crate::sinks::Role;
use crate::sinks::droid::Route;
use std::path::PathBuf;
use vault::Secret;

/// What a successful activation established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// The gateway was seen accepting the new key (and refusing the old).
    Verified(String),
    /// Nothing was checked; the reason says why (`--no-restart`, …).
    Unverified(String),
}

impl Verification {
    pub fn verified(&self) -> bool {
        matches!(self, Verification::Verified(_))
    }

    pub fn detail(&self) -> &str {
        match self {
            Verification::Verified(d) | Verification::Unverified(d) => d,
        }
    }

    /// With `note` (when there is one) appended to what it says.
    #[must_use]
    pub fn noting(self, note: Option<String>) -> Verification {
        let Some(note) = note else { return self };
        match self {
            Verification::Verified(d) => Verification::Verified(format!("{d}; {note}")),
            Verification::Unverified(d) => Verification::Unverified(format!("{d}; {note}")),
        }
    }
}

/// A file the transaction replaced.
#[derive(Clone, Debug)]
pub struct ChangedFile {
    pub role: Role,
    pub path: PathBuf,
}

/// Everything an activation may need.
pub struct Activation<'a> {
    pub config: &'a Config,
    /// `rotate` or `sync`.
    pub action: &'a str,
    /// The gateway's key name (`LITELLM_MASTER_KEY`).
    pub master: &'a str,
    /// The master key before the transaction, when known and different.
    pub old: Option<&'a Secret>,
    /// The master key every file now holds.
    pub new: &'a Secret,
    /// The files written, source first.
    pub changed: &'a [ChangedFile],
    /// Droid routes whose base URL reaches the gateway (for sentinels).
    pub routes: &'a [Route],
    /// Every value of the source (and every key being replaced): none may
    /// appear in what a restart command or the gateway printed.
    pub hide: &'a [Secret],
    /// The virtual key rotated (`--key NAME`), if any.
    pub virtual_key: Option<&'a crate::virtual_key::Rotation>,
    /// The transaction's id (`""` before it begins: in preflight).
    pub tx: &'a str,
}

/// Values shorter than this are not redacted: a `1` or `on` would garble
/// every message (fingerprints included) and guards no secret.
const REDACT_MIN_LEN: usize = 4;

impl Activation<'_> {
    /// A sink changed that systemd reads only after a `daemon-reload`
    /// ([`crate::config::SinkKind::needs_daemon_reload`]).
    pub fn needs_daemon_reload(&self) -> bool {
        self.changed
            .iter()
            .any(|c| matches!(c.role, Role::Sink(k) if k.needs_daemon_reload()))
    }

    /// The secrets an error message must never show: the master keys and
    /// every value of the source, longest first (so that a short value
    /// inside a longer one cannot leave the rest of the longer in clear).
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut all: Vec<&Secret> = Vec::new();
        for s in self.old.into_iter().chain([self.new]).chain(self.hide) {
            if s.expose().len() >= REDACT_MIN_LEN && !all.contains(&s) {
                all.push(s);
            }
        }
        all.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        all
    }
}

pub trait Activate {
    /// Called with the plan, before anything is written (or asked): `Err`
    /// when the activation cannot work here (no systemd user bus, …), so
    /// that the transaction refuses instead of writing and rolling back.
    fn preflight(&self, _step: &Activation<'_>) -> Result<(), PreflightError> {
        Ok(())
    }

    /// Whether [`Activate::activate`] restarts the gateway: a database
    /// without a salt key has its master key changed only together with a
    /// restart (`/key/regenerate`, then the restart), never without one.
    fn restarts(&self) -> bool {
        false
    }

    /// Called once the journal is on disk, before the first file is
    /// written: what the new files name must work before any client can
    /// read it (a virtual key generated at the gateway). `Ok(true)`: the
    /// gateway changed, so a rollback calls [`Activate::reactivate`] even
    /// if [`Activate::activate`] never ran. `Err` rolls back.
    fn before_write(&mut self, _step: &Activation<'_>) -> Result<bool, ActivateError> {
        Ok(false)
    }

    /// Called after the commit, before the journal is emptied: retire what
    /// the new values superseded (the old virtual key, deleted after its
    /// grace); `Ok` says what was done. `Err` keeps the journal, so that
    /// `recover` finishes it; the rotation stands.
    fn after_commit(&mut self, _step: &Activation<'_>) -> Result<Option<String>, ActivateError> {
        Ok(None)
    }

    /// Called once every file holds the new values. `Err` rolls back.
    fn activate(&mut self, step: &Activation<'_>) -> Result<Verification, ActivateError>;

    /// Called after a rollback restored every file: restart on the old
    /// values and check `step.old` works again; `Ok` says what was done
    /// and verified (it ends the rollback's message). `Err` means exit 12.
    fn reactivate(&mut self, step: &Activation<'_>) -> Result<String, ActivateError>;
}

/// No restart, no verification.
pub struct Skip(pub String);

impl Activate for Skip {
    fn activate(&mut self, _: &Activation<'_>) -> Result<Verification, ActivateError> {
        Ok(Verification::Unverified(self.0.clone()))
    }

    fn reactivate(&mut self, _: &Activation<'_>) -> Result<String, ActivateError> {
        Ok(format!(
            "the gateway was not restarted ({}): check it by hand",
            self.0
        ))
    }
}

/// A test double: activation always fails; reactivation fails too when
/// asked. Selected by `LITEKEYS_FAULT_ACTIVATE=fail|fail-reactivate` in
/// fault-injection builds.
#[cfg(any(test, feature = "fault-injection"))]
// Public only through `activation_double` in fault-injection builds.
#[cfg_attr(not(feature = "fault-injection"), allow(unreachable_pub))]
pub struct Failing {
    pub reactivate_fails: bool,
    pub calls: Vec<&'static str>,
}

#[cfg(any(test, feature = "fault-injection"))]
impl Activate for Failing {
    fn activate(&mut self, _: &Activation<'_>) -> Result<Verification, ActivateError> {
        self.calls.push("activate");
        Err(ActivateError::Double(
            "verification failed: the gateway did not accept the new key (test double)",
        ))
    }

    fn reactivate(&mut self, _: &Activation<'_>) -> Result<String, ActivateError> {
        self.calls.push("reactivate");
        if self.reactivate_fails {
            Err(ActivateError::Double(
                "the gateway did not come back on the old key (test double)",
            ))
        } else {
            Ok("the gateway was restarted on them and verified (test double)".into())
        }
    }
}
