//! The first `Actions`: the vault library for the source, `litekeys-rotate
//! sync` for the sinks, the configured service manager for the restart and
//! two HTTP checks for the verification.

use crate::actions::{Actions, Done, Drift, Failure, SourceKeys};
use crate::config::{Config, MASTER_KEY, Sink};
use crate::{drift, restart, source, sync, verify};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub struct ShellActions {
    pub config: Config,
    /// Check the gateway after each restart.
    pub verify: bool,
    /// Bound on one service-manager command, and on `litekeys-rotate sync`.
    pub command_bound: Duration,
    /// Bound on the gateway coming back with the new key.
    pub verify_bound: Duration,
}

impl ShellActions {
    fn wanted(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self
            .config
            .sinks
            .iter()
            .flat_map(|s| s.keys.iter().cloned())
            .collect();
        keys.insert(MASTER_KEY.into());
        keys
    }
}

impl Actions for ShellActions {
    fn read_source(&mut self, path: &Path) -> Result<SourceKeys, Failure> {
        source::read(path, &self.wanted())
    }

    fn drift(&mut self, sink: &Sink, keys: &SourceKeys) -> Vec<Drift> {
        drift::check(sink, keys)
    }

    fn source_changed(&mut self, _source: &Path, keys: &SourceKeys) -> Result<Done, Failure> {
        sync::sync(self.config.file.as_deref(), self.command_bound)?;
        // The sync may have rewritten a drop-in: systemd must re-read it.
        let reload = self.config.sinks.iter().any(Sink::is_dropin);
        self.restart_and_verify(reload, keys)
    }

    fn sink_changed(
        &mut self,
        _sink: &Path,
        is_dropin: bool,
        keys: &SourceKeys,
    ) -> Result<Done, Failure> {
        self.restart_and_verify(is_dropin, keys)
    }

    fn restart_and_verify(
        &mut self,
        daemon_reload: bool,
        keys: &SourceKeys,
    ) -> Result<Done, Failure> {
        let restarted = restart::restart(&self.config.service, daemon_reload, self.command_bound)
            .map_err(Failure::Restart)?;
        if !restarted {
            return Ok(Done::NoService);
        }
        if !self.verify {
            return Ok(Done::Restarted);
        }
        let key = keys.master().ok_or_else(|| {
            Failure::Verify(format!(
                "{} holds no {MASTER_KEY} to check the gateway with",
                self.config.source.display()
            ))
        })?;
        verify::verify(&self.config.gateway.url, key, self.verify_bound)
            .map_err(Failure::Verify)?;
        Ok(Done::Verified)
    }
}
