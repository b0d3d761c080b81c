//! The real `Actions`: the vault library for the source, rotate's sync (the
//! transaction, in-process) for the sinks, rotate's service control for the
//! restart and its gateway check for the verification.

use crate::actions::{Actions, Done, Drift, Failure, SourceKeys};
use crate::{drift, source};
use rotate::config::{Config, MASTER_KEY, SinkSpec};
use rotate::service::ServiceSpec;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use vault::identity::Identities;

pub(crate) struct LiveActions {
    pub(crate) config: Config,
    /// How the service is restarted: `rotate::service_spec`
    /// (`[service]`, `LITEKEYS_SYSTEMCTL`…), as `litekeys-rotate` does.
    pub(crate) service: ServiceSpec,
    /// Check the gateway after each restart.
    pub(crate) verify: bool,
    /// Bound on the gateway coming back with the new key.
    pub(crate) verify_bound: Duration,
}

impl LiveActions {
    fn wanted(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self
            .config
            .sinks
            .iter()
            .flat_map(|s| s.keys.iter().cloned())
            .collect();
        keys.insert(MASTER_KEY.into());
        // The engine checks these before it acts.
        keys.extend(
            rotate::gateway_key_names(&self.config)
                .into_iter()
                .map(String::from),
        );
        keys
    }
}

impl Actions for LiveActions {
    fn read_source(&mut self, path: &Path) -> Result<SourceKeys, Failure> {
        source::read(path, &self.wanted())
    }

    fn drift(&mut self, sink: &SinkSpec, keys: &SourceKeys) -> Vec<Drift> {
        drift::check(sink, keys)
    }

    fn sync(&mut self) -> Result<(), Failure> {
        // `litekeys-rotate sync --no-restart`'s code path. The identities
        // (no OS keyring: a daemon must not wait on an unlock prompt;
        // these opened the source just now) and the transaction's memory
        // live only for this call.
        let identities = Identities::discover(None);
        rotate::sync(&self.config, &identities, &mut rotate::Quiet)?;
        Ok(())
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
        self.service.restart(daemon_reload, &hide)?;
        if !self.verify {
            return Ok(Done::Restarted);
        }
        let key = keys
            .master()
            .ok_or_else(|| Failure::NoMasterKey(self.config.source.clone()))?;
        rotate::gateway::verify(&self.config.gateway.url, None, key, self.verify_bound)?;
        Ok(Done::Verified)
    }
}
