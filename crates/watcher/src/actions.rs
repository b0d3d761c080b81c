//! What the watcher does about a change, behind one trait so that the
//! engine's decisions can be tested without peers (`live::LiveActions` is
//! the real one).
//! The engine decides *when* (debounce, hashes, lock, audit, pacing); an
//! `Actions` decides *how*.

use rotate::config::{MASTER_KEY, SinkSpec};
use rotate::gateway::GatewayError;
use rotate::service::ServiceError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vault::Secret;

/// The source's values that the sinks and the gateway need, decrypted with
/// the MAC verified. Never shown: only fingerprints.
#[derive(Clone, Debug, Default)]
pub(crate) struct SourceKeys {
    pub(crate) values: BTreeMap<String, Secret>,
}

impl SourceKeys {
    pub(crate) fn get(&self, key: &str) -> Option<&Secret> {
        self.values.get(key)
    }

    pub(crate) fn master(&self) -> Option<&Secret> {
        self.get(MASTER_KEY)
    }

    /// The first of `names` whose value cannot be a gateway key (rotate's
    /// one check: an empty line sops' MAC does not cover, say).
    pub(crate) fn implausible(&self, names: &[&str]) -> Option<rotate::ImplausibleKey> {
        names.iter().find_map(|name| {
            let value = self.get(name)?;
            rotate::check_gateway_key(name, value).err()
        })
    }

    /// The master key's fingerprint (8 hex), or `none`.
    pub(crate) fn master_fp(&self) -> String {
        self.master()
            .map_or_else(|| "none".into(), Secret::fingerprint)
    }
}

/// A sink value that contradicts the source (fingerprints only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drift {
    pub(crate) key: String,
    /// `None`: the sink lacks the key (or the file is missing).
    pub(crate) sink_fp: Option<String>,
    pub(crate) source_fp: String,
}

/// How far an action got when it succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// Restarted, and the gateway accepts the source's key.
    Verified,
    /// Restarted; verification is off.
    Restarted,
    /// The service manager is `none`.
    NoService,
}

/// Why an action stopped, typed as the libraries report it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Missing, half-written, unparsable, MAC mismatch, no identity.
    #[error("{0}")]
    Source(#[from] vault::Error),
    /// The source reads fine but a gateway key in it cannot be one: it
    /// must not reach a sink or a restart.
    #[error("{}: {key}", .path.display())]
    Implausible {
        path: PathBuf,
        key: rotate::ImplausibleKey,
    },
    /// A rotation holds the source's lock (rotate's `Error::Locked`): wait
    /// for it and look again.
    #[error("a rotation holds the lock")]
    Locked,
    /// The sync (rotate's transaction) failed for another reason.
    #[error("sync failed: {0}")]
    Sync(rotate::Error),
    #[error("restart failed: {0}")]
    Restart(#[from] ServiceError),
    #[error("verification failed: {0}")]
    Verify(#[from] GatewayError),
    #[error("verification failed: {} holds no {MASTER_KEY} to check the gateway with", .0.display())]
    NoMasterKey(PathBuf),
}

impl From<rotate::Error> for Failure {
    /// The one place a sync's lock error becomes "wait for the rotation".
    fn from(e: rotate::Error) -> Self {
        match e {
            rotate::Error::Locked(_) => Failure::Locked,
            e => Failure::Sync(e),
        }
    }
}

impl Failure {
    /// The gateway may be down: retry the restart later, backing off.
    pub(crate) fn wants_retry(&self) -> bool {
        matches!(
            self,
            Failure::Restart(_) | Failure::Verify(_) | Failure::NoMasterKey(_)
        )
    }
}

pub(crate) trait Actions {
    /// Decrypts the source with its MAC verified.
    fn read_source(&mut self, source: &Path) -> Result<SourceKeys, Failure>;

    /// The values of `sink` that contradict the source.
    fn drift(&mut self, sink: &SinkSpec, keys: &SourceKeys) -> Vec<Drift>;

    /// The source changed (and reads fine): write its values into every
    /// sink, as `litekeys-rotate sync --no-restart` does.
    fn sync(&mut self) -> Result<(), Failure>;

    /// Restart the service (daemon-reload first when a sink needs it) and
    /// verify that the gateway accepts `keys`' master key. The files are
    /// hashed before this is called: the restart applies at least that.
    fn restart_and_verify(
        &mut self,
        daemon_reload: bool,
        keys: &SourceKeys,
    ) -> Result<Done, Failure>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_a_wait_not_a_failed_sync() {
        let locked = rotate::Error::Locked("/s.enc.env".into());
        assert!(matches!(Failure::from(locked), Failure::Locked));
        let other = rotate::Error::Vault(vault::Error::Io {
            path: "/s.enc.env".into(),
            source: std::io::ErrorKind::NotFound.into(),
        });
        let f = Failure::from(other);
        assert!(matches!(f, Failure::Sync(_)) && !f.wants_retry(), "{f}");
    }
}
