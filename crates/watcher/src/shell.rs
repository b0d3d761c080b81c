//! The real `Actions`: the vault library for the source, `litekeys-rotate
//! sync` for the sinks, the rotate crate's service control for the restart
//! and its gateway check for the verification.

use crate::actions::{Actions, Done, Drift, Failure, SourceKeys};
use crate::{drift, files, source, sync};
use rotate::config::{Config, MASTER_KEY, ManagerKind, SinkSpec};
use rotate::service::{Manager, Programs, ServiceSpec};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub struct ShellActions {
    pub config: Config,
    /// How the service is restarted (`[service]`, `LITEKEYS_SYSTEMCTL`…).
    pub service: ServiceSpec,
    /// Check the gateway after each restart.
    pub verify: bool,
    /// Bound on the gateway coming back with the new key.
    pub verify_bound: Duration,
}

/// `[service]` as the rotate crate's service control takes it; the programs
/// from `LITEKEYS_SYSTEMCTL` / `LITEKEYS_DOCKER` when set.
pub fn service_spec(config: &Config) -> ServiceSpec {
    let s = &config.service;
    let manager = match s.manager {
        ManagerKind::SystemdUser => Manager::SystemdUser {
            unit: s.unit.clone(),
        },
        ManagerKind::SystemdSystem => Manager::SystemdSystem {
            unit: s.unit.clone(),
        },
        // The config requires `dir` for compose; "." only if that changes.
        ManagerKind::Compose => Manager::Compose {
            dir: s.dir.clone().unwrap_or_else(|| ".".into()),
            service: s.service.clone(),
        },
        ManagerKind::Command => Manager::Command {
            argv: s.command.iter().map(Into::into).collect(),
        },
        ManagerKind::None => Manager::None,
    };
    ServiceSpec {
        manager,
        timeout: s.timeout,
        programs: Programs::from_env(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rotate::env::Env;

    fn spec(text: &str) -> ServiceSpec {
        let config = Config::parse(Path::new("/p/litekeys.toml"), text, &Env::default()).unwrap();
        service_spec(&config)
    }

    #[test]
    fn service_section_maps_to_the_rotate_crates_managers() {
        let s = spec("[service]\nmanager = \"command\"\ncommand = [\"/bin/restart\", \"x\"]\n");
        assert_eq!(
            s.manager,
            Manager::Command {
                argv: vec!["/bin/restart".into(), "x".into()]
            }
        );
        assert_eq!(s.timeout, Duration::from_secs(30));
        let s =
            spec("[service]\nmanager = \"systemd-system\"\nunit = \"gw.service\"\ntimeout = 5\n");
        assert_eq!(
            s.manager,
            Manager::SystemdSystem {
                unit: "gw.service".into()
            }
        );
        assert_eq!(s.timeout, Duration::from_secs(5));
        let s = spec("[service]\nmanager = \"compose\"\ndir = \"docker\"\n");
        assert_eq!(
            s.manager,
            Manager::Compose {
                dir: "/p/docker".into(),
                service: "litellm".into()
            }
        );
        assert!(!spec("[service]\nmanager = \"none\"\n").manager.restarts());
    }
}
