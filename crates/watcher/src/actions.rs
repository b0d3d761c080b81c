//! What the watcher does about a change, behind one trait so that the
//! engine's decisions can be tested without peers (`shell::ShellActions` is
//! the real one).
//! The engine decides *when* (debounce, hashes, lock, audit, pacing); an
//! `Actions` decides *how*.

use rotate::config::{MASTER_KEY, SinkSpec};
use std::collections::BTreeMap;
use std::path::Path;
use vault::Secret;

/// The source's values that the sinks and the gateway need, decrypted with
/// the MAC verified. Never shown: only fingerprints.
#[derive(Clone, Debug, Default)]
pub struct SourceKeys {
    pub values: BTreeMap<String, Secret>,
}

impl SourceKeys {
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.values.get(key)
    }

    pub fn master(&self) -> Option<&Secret> {
        self.get(MASTER_KEY)
    }

    /// The master key's fingerprint (8 hex), or `none`.
    pub fn master_fp(&self) -> String {
        self.master()
            .map_or_else(|| "none".into(), Secret::fingerprint)
    }
}

/// A sink value that contradicts the source (fingerprints only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    pub key: String,
    /// `None`: the sink lacks the key (or the file is missing).
    pub sink_fp: Option<String>,
    pub source_fp: String,
}

/// How far an action got when it succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// Restarted, and the gateway accepts the source's key.
    Verified,
    /// Restarted; verification is off.
    Restarted,
    /// The service manager is `none`.
    NoService,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Missing, half-written, unparsable, MAC mismatch, no identity.
    #[error("{0}")]
    Source(String),
    /// A rotation holds the source's lock: wait for it and look again.
    #[error("a rotation holds the lock")]
    Locked,
    #[error("sync failed: {0}")]
    Sync(String),
    #[error("restart failed: {0}")]
    Restart(String),
    #[error("verification failed: {0}")]
    Verify(String),
}

impl Failure {
    /// The gateway may be down: retry the restart later, backing off.
    pub fn wants_retry(&self) -> bool {
        matches!(self, Failure::Restart(_) | Failure::Verify(_))
    }
}

pub trait Actions {
    /// Decrypts the source with its MAC verified.
    fn read_source(&mut self, source: &Path) -> Result<SourceKeys, Failure>;

    /// The values of `sink` that contradict the source.
    fn drift(&mut self, sink: &SinkSpec, keys: &SourceKeys) -> Vec<Drift>;

    /// The source changed (and reads fine): sync the sinks, restart (with
    /// daemon-reload when a drop-in sink exists), verify.
    fn source_changed(&mut self, source: &Path, keys: &SourceKeys) -> Result<Done, Failure>;

    /// A sink that feeds the service was changed by someone else: restart
    /// (daemon-reload first for a drop-in), verify.
    fn sink_changed(
        &mut self,
        sink: &Path,
        is_dropin: bool,
        keys: &SourceKeys,
    ) -> Result<Done, Failure>;

    /// A retry after a failed restart or verification.
    fn restart_and_verify(
        &mut self,
        daemon_reload: bool,
        keys: &SourceKeys,
    ) -> Result<Done, Failure>;
}
