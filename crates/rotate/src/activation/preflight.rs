//! Before a transaction writes anything that needs a restart: can the
//! service manager act here at all? A machine with no systemd user session
//! (a container, an SSH session, WSL) would otherwise see every file
//! written, the restart fail, and every file rolled back. Each check is a
//! query bounded by [`TIMEOUT`]; nothing is restarted.

use super::service::{Manager, ServiceError, ServiceSpec, Step, output};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bound on each query (`systemctl show`, `docker compose version`).
const TIMEOUT: Duration = Duration::from_secs(10);

/// What every refusal ends with: the two ways out.
const WAYS_OUT: &str = "use --no-restart, or set [service] manager in litekeys.toml";

/// Why the service manager cannot restart the gateway here: one line each.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{systemctl} cannot reach a user bus (no systemd user session here{}); {WAYS_OUT}", detail(.why))]
    NoUserBus { systemctl: String, why: String },
    #[error("{systemctl} cannot reach systemd{}; {WAYS_OUT}", detail(.why))]
    NoSystemd { systemctl: String, why: String },
    #[error(
        "{systemctl} does not know unit {unit} (LoadState={state}); set [service] unit in litekeys.toml, or use --no-restart"
    )]
    UnknownUnit {
        systemctl: String,
        unit: String,
        state: String,
    },
    #[error("`{docker} compose` does not work here{}; {WAYS_OUT}", detail(.why))]
    NoCompose { docker: String, why: String },
    #[error(
        "compose project directory {} does not exist; set [service] dir in litekeys.toml, or use --no-restart", .0.display()
    )]
    NoComposeDir(PathBuf),
    #[error(
        "restart command `{program}` {why}; set [service] command in litekeys.toml, or use --no-restart"
    )]
    NoCommand { program: String, why: &'static str },
    #[error(transparent)]
    EmptyCommand(ServiceError),
    /// `sentinel_client = "droid"` with no droid on PATH.
    #[error(transparent)]
    Droid(crate::droid::DroidError),
    /// The gateway cannot manage the virtual key (no master key, no
    /// answer, no database).
    #[error(transparent)]
    VirtualKey(Box<crate::virtual_key::VirtualKeyError>),
}

fn detail(why: &str) -> String {
    if why.is_empty() {
        String::new()
    } else {
        format!(": {why}")
    }
}

/// Why a query failed, short: its stderr, else its status.
fn why(e: &ServiceError) -> String {
    match e {
        ServiceError::Failed { stderr, status, .. } if stderr.is_empty() => status.clone(),
        ServiceError::Failed { stderr, .. } | ServiceError::TimedOut { stderr, .. }
            if !stderr.is_empty() =>
        {
            stderr.clone()
        }
        ServiceError::TimedOut { timeout, .. } => {
            format!("no answer within {} s", timeout.as_secs())
        }
        ServiceError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            "not installed".into()
        }
        ServiceError::Spawn { source, .. } | ServiceError::Wait { source, .. } => {
            source.to_string()
        }
        other => other.to_string(),
    }
}

impl ServiceSpec {
    /// Whether a restart through this manager can work here; see the
    /// module's docs. `None` and a program that exists pass.
    pub fn preflight(&self) -> Result<(), PreflightError> {
        match &self.manager {
            Manager::SystemdUser { unit } => self.systemd(true, unit),
            Manager::SystemdSystem { unit } => self.systemd(false, unit),
            Manager::Compose { dir, .. } => self.compose(dir),
            Manager::Command { argv } => {
                let program = argv
                    .first()
                    .ok_or(PreflightError::EmptyCommand(ServiceError::EmptyCommand))?;
                executable(program).map_err(|why| PreflightError::NoCommand {
                    program: program.to_string_lossy().into_owned(),
                    why,
                })
            }
            Manager::None => Ok(()),
        }
    }

    fn systemd(&self, user: bool, unit: &str) -> Result<(), PreflightError> {
        let program = &self.programs.systemctl;
        let shown = format!(
            "{}{}",
            program.to_string_lossy(),
            if user { " --user" } else { "" }
        );
        // systemctl --user finds the user's manager through these alone;
        // without either it cannot connect, whatever it is asked.
        if user && !has_var("XDG_RUNTIME_DIR") && !has_var("DBUS_SESSION_BUS_ADDRESS") {
            return Err(PreflightError::NoUserBus {
                systemctl: shown,
                why: "XDG_RUNTIME_DIR is not set".into(),
            });
        }
        let scope: &[&str] = if user { &["--user"] } else { &[] };
        let step = Step {
            program: program.clone(),
            args: [scope, &["show", "-p", "LoadState", "--value", unit]]
                .concat()
                .into_iter()
                .map(OsString::from)
                .collect(),
        };
        let state = output(&step, TIMEOUT, &[]).map_err(|e| {
            let why = why(&e);
            if user {
                PreflightError::NoUserBus {
                    systemctl: shown.clone(),
                    why,
                }
            } else {
                PreflightError::NoSystemd {
                    systemctl: shown.clone(),
                    why,
                }
            }
        })?;
        let state = state.trim();
        if state == "loaded" {
            return Ok(());
        }
        Err(PreflightError::UnknownUnit {
            systemctl: shown,
            unit: unit.to_string(),
            state: if state.is_empty() { "?" } else { state }.to_string(),
        })
    }

    fn compose(&self, dir: &Path) -> Result<(), PreflightError> {
        let docker = &self.programs.docker;
        let step = Step {
            program: docker.clone(),
            args: vec!["compose".into(), "version".into()],
        };
        output(&step, TIMEOUT, &[]).map_err(|e| PreflightError::NoCompose {
            docker: docker.to_string_lossy().into_owned(),
            why: why(&e),
        })?;
        if !dir.is_dir() {
            return Err(PreflightError::NoComposeDir(dir.to_path_buf()));
        }
        Ok(())
    }
}

fn has_var(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Whether `program` can be run as the restart runs it: a path (relative
/// to the current directory) as is, a bare name looked up on `PATH`.
fn executable(program: &OsString) -> Result<(), &'static str> {
    let path = Path::new(program);
    if program.to_string_lossy().contains('/') {
        return match std::fs::metadata(path) {
            Err(_) => Err("does not exist"),
            Ok(m) if !is_executable(&m) => Err("is not an executable file"),
            Ok(_) => Ok(()),
        };
    }
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|dir| std::fs::metadata(dir.join(path)).ok())
            .any(|m| is_executable(&m))
    });
    if found {
        Ok(())
    } else {
        Err("is not found on PATH")
    }
}

fn is_executable(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.is_file() && m.permissions().mode() & 0o111 != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::service::Programs;

    fn spec(manager: Manager, programs: Programs) -> ServiceSpec {
        ServiceSpec {
            manager,
            timeout: Duration::from_secs(5),
            programs,
        }
    }

    #[test]
    fn a_command_must_exist_and_be_executable() {
        let run = |argv: &[&str]| {
            spec(
                Manager::Command {
                    argv: argv.iter().map(OsString::from).collect(),
                },
                Programs::default(),
            )
            .preflight()
        };
        run(&["sh", "-c", "true"]).unwrap();
        run(&["/bin/sh"]).unwrap();
        let e = run(&["no-such-restart-program-here"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not found on PATH"), "{e}");
        let plain = tempfile::NamedTempFile::new().unwrap();
        let e = run(&[plain.path().to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not an executable file"), "{e}");
        let e = run(&["/no/such/dir/restart.sh"]).unwrap_err().to_string();
        assert!(
            e.starts_with("restart command `/no/such/dir/restart.sh` does not exist;"),
            "{e}"
        );
        assert!(run(&[]).is_err());
    }

    #[test]
    fn systemd_asks_for_the_units_load_state() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("systemctl");
        std::fs::write(
            &fake,
            "#!/bin/sh\ncase \"$*\" in *known.service) echo loaded ;; *) echo not-found ;; esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let programs = Programs {
            systemctl: fake.clone().into_os_string(),
            docker: "docker".into(),
        };
        let system = |unit: &str| {
            spec(
                Manager::SystemdSystem { unit: unit.into() },
                programs.clone(),
            )
            .preflight()
        };
        system("known.service").unwrap();
        let e = system("other.service").unwrap_err().to_string();
        assert!(
            e.contains("does not know unit other.service (LoadState=not-found)"),
            "{e}"
        );
        let gone = Programs {
            systemctl: dir.path().join("missing").into_os_string(),
            docker: "docker".into(),
        };
        let e = spec(Manager::SystemdSystem { unit: "x".into() }, gone)
            .preflight()
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot reach systemd: not installed;"), "{e}");
    }

    #[test]
    fn compose_needs_its_directory() {
        let programs = Programs {
            systemctl: "systemctl".into(),
            docker: "/bin/true".into(),
        };
        let manager = |dir: &str| Manager::Compose {
            dir: dir.into(),
            service: "litellm".into(),
        };
        spec(manager("/"), programs.clone()).preflight().unwrap();
        let e = spec(manager("/no/such/compose"), programs)
            .preflight()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("compose project directory /no/such/compose does not exist"),
            "{e}"
        );
    }
}
