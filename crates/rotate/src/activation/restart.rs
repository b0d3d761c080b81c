//! The activation of every real service manager ([`Restart`]): restart the
//! gateway through `[service]`, prove it runs on the new key
//! ([`gateway::verify`]: live, new key 2xx, no key and old key refused),
//! and with `--sentinel` send one chat completion per model of the Droid
//! routes that reach the gateway, asking for an exact reply. After a
//! rollback, [`Activate::reactivate`] brings the gateway back on the old
//! key and checks that it is accepted again.
//!
//! Messages name what failed and show keys as fingerprints only.

use super::error::ActivateError;
use super::preflight::PreflightError;
use super::service::{Manager, Programs, ServiceError, ServiceSpec};
use super::step::{Activate, Activation, Verification};
use crate::config::{Config, ManagerKind, SentinelClient};
use crate::droid::{self, DroidError};
use crate::gateway::{self, NoProgress, Progress, fresh_sentinel};
use crate::sinks::Role;
use crate::sinks::droid::Route;
use std::time::{Duration, Instant};

/// Bound on the verification of the old key after a restart back that
/// failed: the gateway, if it runs, is already up.
const AFTER_A_FAILED_RESTART: Duration = Duration::from_secs(5);

/// Restart through the configured manager, then verify.
pub struct Restart {
    pub service: ServiceSpec,
    /// `[gateway] url`.
    pub url: String,
    /// Bound on the restarted gateway answering, and on each sentinel.
    pub timeout: Duration,
    /// The exact reply each sentinel asks for; `None`: no sentinel.
    pub sentinel: Option<String>,
    /// What sends the sentinels (`[gateway] sentinel_client`).
    pub client: SentinelClient,
    /// Told while the gateway comes up (the binary's spinner).
    pub progress: Box<dyn Progress>,
    /// How the restart onto the new values failed, when it did: a restart
    /// back that fails the same way says so instead of repeating it.
    failed: Option<String>,
}

impl Restart {
    /// From `config`; `sentinel` is `--sentinel`: the reply asked for is
    /// `[gateway] sentinel` when set, else a fresh [`fresh_sentinel`].
    pub fn new(config: &Config, sentinel: bool) -> Restart {
        Restart {
            service: service_spec(config),
            url: config.gateway.url.clone(),
            timeout: config.gateway.timeout,
            sentinel: sentinel.then(|| {
                config
                    .gateway
                    .sentinel
                    .clone()
                    .unwrap_or_else(fresh_sentinel)
            }),
            client: config.gateway.sentinel_client,
            progress: Box::new(NoProgress),
            failed: None,
        }
    }

    /// Tells `progress` while the gateway comes up.
    pub fn with_progress(mut self, progress: Box<dyn Progress>) -> Restart {
        self.progress = progress;
        self
    }

    /// Runs the restart; the error names the manager.
    fn restart(&self, step: &Activation<'_>) -> Result<Duration, ActivateError> {
        self.service
            .restart(step.needs_daemon_reload(), &step.secrets())
            .map(|r| r.elapsed)
            .map_err(|source| ActivateError::Restart {
                manager: self.service.manager.name(),
                source,
            })
    }

    /// One sentinel per distinct model of `routes`, over HTTP.
    fn sentinels(
        &self,
        step: &Activation<'_>,
        routes: &[Route],
        expected: &str,
    ) -> Result<usize, ActivateError> {
        let mut models: Vec<&str> = Vec::new();
        for route in routes {
            if !models.contains(&route.model.as_str()) {
                models.push(&route.model);
            }
        }
        for model in &models {
            let hide = step.secrets();
            gateway::sentinel(&self.url, step.new, model, expected, self.timeout, &hide).map_err(
                |source| ActivateError::Sentinel {
                    source,
                    routes: routes
                        .iter()
                        .filter(|r| r.model == *model)
                        .map(|r| r.at.clone())
                        .collect(),
                },
            )?;
        }
        Ok(models.len())
    }

    /// One sentinel through `droid exec` per Droid route; the routes droid
    /// does not select by an id of their own are asked over HTTP.
    fn droid_sentinels(
        &self,
        step: &Activation<'_>,
        expected: &str,
    ) -> Result<String, ActivateError> {
        let cli = droid::Cli::on_path().ok_or(DroidError::NotOnPath)?;
        let asked = droid::sentinels(&cli, step.config, expected, self.timeout, &step.secrets())?;
        let mut said = format!(
            "sentinel replied through droid exec on {} Droid route(s)",
            asked.answered.len()
        );
        if !asked.unlisted.is_empty() {
            let models = self.sentinels(step, &asked.unlisted, expected)?;
            said.push_str(&format!(
                ", over HTTP on {models} model(s) of {} route(s) droid does not select by an id",
                asked.unlisted.len()
            ));
        }
        Ok(said)
    }
}

/// The restart of `[service]`, with `systemctl`/`docker` overridable by
/// `LITEKEYS_SYSTEMCTL`/`LITEKEYS_DOCKER`.
pub fn service_spec(config: &Config) -> ServiceSpec {
    let s = &config.service;
    let manager = match s.manager {
        ManagerKind::SystemdUser => Manager::SystemdUser {
            unit: s.unit.clone(),
        },
        ManagerKind::SystemdSystem => Manager::SystemdSystem {
            unit: s.unit.clone(),
        },
        ManagerKind::Compose => Manager::Compose {
            // The config refuses compose without a dir.
            dir: s.dir.clone().unwrap_or_default(),
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

/// What failed in `e`, without the advice its message ends with.
fn brief(e: &ActivateError) -> String {
    match e {
        ActivateError::Restart { source, .. } => source.brief(),
        other => other.to_string(),
    }
}

/// Whether the gateway must restart to see what changed: the master key
/// changed, or a file the service reads (a dotenv or systemd-env sink). A
/// sync that only fixes Droid routes needs no restart, only the check.
fn needs_restart(step: &Activation<'_>) -> bool {
    step.old.is_some()
        || step
            .changed
            .iter()
            .any(|c| matches!(c.role, Role::Sink(k) if k.feeds_service()))
}

impl Activate for Restart {
    fn restarts(&self) -> bool {
        self.service.manager.restarts()
    }

    fn preflight(&self, step: &Activation<'_>) -> Result<(), PreflightError> {
        if self.sentinel.is_some()
            && self.client == SentinelClient::Droid
            && droid::Cli::on_path().is_none()
        {
            return Err(PreflightError::Droid(DroidError::NotOnPath));
        }
        if needs_restart(step) {
            self.service.preflight()
        } else {
            Ok(())
        }
    }

    fn activate(&mut self, step: &Activation<'_>) -> Result<Verification, ActivateError> {
        let start = Instant::now();
        let restarted = if needs_restart(step) {
            match self.restart(step) {
                Ok(took) => Some(took),
                Err(e) => {
                    self.failed = Some(brief(&e));
                    return Err(e);
                }
            }
        } else {
            None
        };
        let report = gateway::verify_with(
            &self.url,
            step.old,
            step.new,
            self.timeout,
            self.progress.as_mut(),
        )?;
        let mut detail = match restarted {
            Some(took) => format!(
                "restarted (manager \"{}\") in {:.1} s; {report}",
                self.service.manager.name(),
                took.as_secs_f64()
            ),
            None => format!("no restart needed; {report}"),
        };
        if let Some(expected) = &self.sentinel {
            let said = match self.client {
                SentinelClient::Http => format!(
                    "sentinel replied on {} model(s)",
                    self.sentinels(step, step.routes, expected)?
                ),
                SentinelClient::Droid => self.droid_sentinels(step, expected)?,
            };
            detail.push_str(&format!("; {said}"));
        }
        detail.push_str(&format!("; {:.1} s in all", start.elapsed().as_secs_f64()));
        Ok(Verification::Verified(detail))
    }

    fn reactivate(&mut self, step: &Activation<'_>) -> Result<String, ActivateError> {
        // The files hold the old values again: the old master key, or the
        // unchanged one when only other values moved. Always restarted,
        // even when the gateway seems to answer on the old key: a failed
        // restart may have stopped it half-way, or it may run on a value
        // no probe can send (an empty key); only a restart onto the
        // restored files, then a verification, proves where it stands.
        // The truth decides, not the restart's exit status: a restart
        // that failed again may never have touched the gateway, which then
        // still runs on the old key; verified, that is a rollback.
        let restored = step.old.unwrap_or(step.new);
        let newer = step.old.map(|_| step.new);
        let restarted = self.restart(step);
        // A restart back that exited with an error started nothing that
        // is still coming up: a gateway running on, untouched, answers at
        // once, so waiting out the whole timeout would only delay the news.
        let timeout = match &restarted {
            Err(ActivateError::Restart {
                source: ServiceError::TimedOut { .. },
                ..
            })
            | Ok(_) => self.timeout,
            Err(_) => self.timeout.min(AFTER_A_FAILED_RESTART),
        };
        let verified =
            gateway::verify_with(&self.url, newer, restored, timeout, self.progress.as_mut());
        // Said once: a restart back that failed like the first one.
        let again = restarted.as_ref().err().map(|e| {
            let why = brief(e);
            if self.failed.as_ref() == Some(&why) {
                "the same error".to_string()
            } else {
                why
            }
        });
        let report = verified.map_err(|source| ActivateError::OldKey {
            fingerprint: restored.fingerprint(),
            source: Box::new(source),
            restart: again.clone(),
        })?;
        let restart = match (&restarted, again) {
            (Ok(took), _) => format!(
                "the gateway was restarted on them (manager \"{}\", {:.1} s) and verified",
                self.service.manager.name(),
                took.as_secs_f64()
            ),
            (Err(_), why) => format!(
                "the restart failed again ({}), but the gateway answers on the old key, verified",
                why.unwrap_or_default()
            ),
        };
        let refused = match &report.old_key {
            Some((fp, status)) => format!(", the new key {fp} refused (HTTP {status})"),
            None => String::new(),
        };
        Ok(format!(
            "{restart}: {} live after {:.1} s, the old key {} accepted (HTTP {}){refused}, no key refused (HTTP {})",
            report.url,
            report.live_after.as_secs_f64(),
            report.new_key.0,
            report.new_key.1,
            report.no_key,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::SENTINEL_PREFIX;

    fn config(toml: &str) -> Config {
        let env = crate::Env {
            cwd: "/tmp".into(),
            ..crate::Env::default()
        };
        Config::parse(std::path::Path::new("/tmp/litekeys.toml"), toml, &env).unwrap()
    }

    #[test]
    fn the_sentinel_text_comes_from_the_config_only_with_the_flag() {
        let c = config(
            "[gateway]\nsentinel = \"PONG\"\n[service]\nmanager = \"command\"\ncommand = [\"/bin/true\", \"x\"]\n",
        );
        assert_eq!(Restart::new(&c, true).sentinel.as_deref(), Some("PONG"));
        assert_eq!(Restart::new(&c, false).sentinel, None);
        let r = Restart::new(&c, false);
        assert_eq!(
            r.service.manager,
            Manager::Command {
                argv: vec!["/bin/true".into(), "x".into()]
            }
        );
        let fresh = Restart::new(&config(""), true).sentinel.unwrap();
        assert!(fresh.starts_with(SENTINEL_PREFIX), "{fresh}");
    }

    #[test]
    fn managers_map_from_the_config() {
        let c =
            config("[service]\nmanager = \"systemd-system\"\nunit = \"gw.service\"\ntimeout = 7\n");
        let spec = service_spec(&c);
        assert_eq!(
            spec.manager,
            Manager::SystemdSystem {
                unit: "gw.service".into()
            }
        );
        assert_eq!(spec.timeout, Duration::from_secs(7));
        let c = config(
            "[service]\nmanager = \"compose\"\ndir = \"/srv/litellm\"\nservice = \"proxy\"\n",
        );
        assert_eq!(
            service_spec(&c).manager,
            Manager::Compose {
                dir: "/srv/litellm".into(),
                service: "proxy".into()
            }
        );
    }

    #[test]
    fn a_sentinel_must_be_one_line() {
        let env = crate::Env::default();
        let err = Config::parse(
            std::path::Path::new("/tmp/litekeys.toml"),
            "[gateway]\nsentinel = \"a\\nb\"\n",
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("/tmp/litekeys.toml:2: sentinel"), "{err}");
    }
}
