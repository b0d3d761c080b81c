//! The real `Actions`: the vault library for the source, `litekeys-rotate
//! sync` for the sinks, the rotate crate's service control for the restart
//! and its gateway check for the verification.

use crate::actions::{Actions, Done, Drift, Failure, SourceKeys};
use crate::{drift, files, source, sync};
use rotate::config::{Config, MASTER_KEY, SinkSpec};
use rotate::service::ServiceSpec;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub struct ShellActions {
    pub config: Config,
    /// How the service is restarted: `rotate::activation::service_spec`
    /// (`[service]`, `LITEKEYS_SYSTEMCTL`…), as `litekeys-rotate` does.
    pub service: ServiceSpec,
    /// Check the gateway after each restart.
    pub verify: bool,
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

    fn drift(&mut self, sink: &SinkSpec, keys: &SourceKeys) -> Vec<Drift> {
        drift::check(sink, keys)
    }

    fn source_changed(&mut self, _source: &Path, keys: &SourceKeys) -> Result<Done, Failure> {
        let hide: Vec<_> = keys.values.values().collect();
        sync::sync(self.config.file.as_deref(), &hide)?;
        // The sync may have rewritten a drop-in: systemd must re-read it.
        let reload = self.config.sinks.iter().any(files::is_dropin);
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
        if !self.service.manager.restarts() {
            return Ok(Done::NoService);
        }
        let hide: Vec<_> = keys.values.values().collect();
        self.service
            .restart(daemon_reload, &hide)
            .map_err(|e| Failure::Restart(e.to_string()))?;
        if !self.verify {
            return Ok(Done::Restarted);
        }
        let key = keys.master().ok_or_else(|| {
            Failure::Verify(format!(
                "{} holds no {MASTER_KEY} to check the gateway with",
                self.config.source.display()
            ))
        })?;
        rotate::gateway::verify(&self.config.gateway.url, None, key, self.verify_bound)
            .map_err(|e| Failure::Verify(e.to_string()))?;
        Ok(Done::Verified)
    }
}
