//! Service control: restarting the gateway through its service manager
//! (systemd user or system unit, docker compose, a configured command, or
//! nothing), bounded by a timeout.
//!
//! Every program runs without a shell and without a secret in its argv
//! (`/proc/PID/cmdline` is world-readable): a restarted service reads its
//! keys from the sinks. A failure carries the last lines of the child's
//! stderr, with any secret the caller names replaced by its fingerprint.

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Seek};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use vault::Secret;

/// How the gateway is restarted (`[service] manager` in the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// `systemctl --user [daemon-reload;] restart UNIT`
    SystemdUser { unit: String },
    /// `systemctl [daemon-reload;] restart UNIT`
    SystemdSystem { unit: String },
    /// `docker compose --project-directory DIR up -d --force-recreate
    /// --no-deps SERVICE`: recreated, not `restart`ed, because a restarted
    /// container keeps the environment it was created with, so it would
    /// never see a new key in `.env` or an `env_file`.
    Compose { dir: PathBuf, service: String },
    /// An argv run as is, without a shell.
    Command { argv: Vec<OsString> },
    /// Nothing to restart (the gateway is managed elsewhere).
    None,
}

impl Manager {
    /// The name used in the config file.
    pub fn name(&self) -> &'static str {
        match self {
            Manager::SystemdUser { .. } => "systemd-user",
            Manager::SystemdSystem { .. } => "systemd-system",
            Manager::Compose { .. } => "compose",
            Manager::Command { .. } => "command",
            Manager::None => "none",
        }
    }

    /// Whether a restart runs anything at all.
    pub fn restarts(&self) -> bool {
        !matches!(self, Manager::None)
    }
}

/// The programs behind the managers. Overridable through the environment
/// (`LITEKEYS_SYSTEMCTL`, `LITEKEYS_DOCKER`) so that tests, and machines with
/// unusual layouts, can point them elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    pub systemctl: OsString,
    pub docker: OsString,
}

impl Default for Programs {
    fn default() -> Self {
        Programs {
            systemctl: "systemctl".into(),
            docker: "docker".into(),
        }
    }
}

impl Programs {
    /// The defaults, each replaced by its `LITEKEYS_*` variable when set and
    /// not empty.
    pub fn from_env() -> Self {
        let pick = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.into())
        };
        Programs {
            systemctl: pick("LITEKEYS_SYSTEMCTL", "systemctl"),
            docker: pick("LITEKEYS_DOCKER", "docker"),
        }
    }
}

/// Everything needed to restart the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub manager: Manager,
    /// Bound on the whole restart (every step together); the child still
    /// running then is killed, with its process group.
    pub timeout: Duration,
    pub programs: Programs,
}

/// One program run by a restart: shown in messages as is (it holds no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub program: OsString,
    pub args: Vec<OsString>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.program.to_string_lossy())?;
        for a in &self.args {
            write!(f, " {}", a.to_string_lossy())?;
        }
        Ok(())
    }
}

/// A restart that went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restarted {
    pub steps: Vec<Step>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(
        "service manager `command` has an empty argv: set `command = [\"program\", \"arg\", …]` in [service]"
    )]
    EmptyCommand,
    #[error(
        "`{step}` could not be started: {source}; check that the program is installed and on PATH"
    )]
    Spawn {
        step: Step,
        #[source]
        source: std::io::Error,
    },
    #[error("`{step}` failed ({status}){}; fix the service, then run `litekeys-rotate` again", stderr_suffix(.stderr))]
    Failed {
        step: Step,
        status: String,
        stderr: String,
    },
    #[error("`{step}` did not finish within {}s and was killed{}; raise the service timeout or check the service", .timeout.as_secs_f64(), stderr_suffix(.stderr))]
    TimedOut {
        step: Step,
        timeout: Duration,
        stderr: String,
    },
    #[error("`{step}`: waiting for it failed: {source}")]
    Wait {
        step: Step,
        #[source]
        source: std::io::Error,
    },
}

impl ServiceError {
    /// What failed, without the advice: for a message that already said
    /// what to do (a restart back that failed again).
    pub fn brief(&self) -> String {
        match self {
            ServiceError::Failed {
                step,
                status,
                stderr,
            } => {
                format!("`{step}` {status}{}", stderr_suffix(stderr))
            }
            ServiceError::TimedOut { step, timeout, .. } => {
                format!("`{step}` killed after {} s", timeout.as_secs_f64())
            }
            other => other.to_string(),
        }
    }
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

impl ServiceSpec {
    /// The programs a restart runs, in order. `daemon_reload` asks systemd
    /// to re-read its units first (a drop-in changed); other managers
    /// ignore it.
    pub fn plan(&self, daemon_reload: bool) -> Result<Vec<Step>, ServiceError> {
        let step = |program: &OsString, args: &[&str]| Step {
            program: program.clone(),
            args: args.iter().map(OsString::from).collect(),
        };
        let systemctl = &self.programs.systemctl;
        let systemd = |user: bool, unit: &str| {
            let scope: &[&str] = if user { &["--user"] } else { &[] };
            let mut steps = Vec::new();
            if daemon_reload {
                steps.push(step(systemctl, &[scope, &["daemon-reload"]].concat()));
            }
            steps.push(step(systemctl, &[scope, &["restart", unit]].concat()));
            steps
        };
        Ok(match &self.manager {
            Manager::SystemdUser { unit } => systemd(true, unit),
            Manager::SystemdSystem { unit } => systemd(false, unit),
            Manager::Compose { dir, service } => vec![Step {
                program: self.programs.docker.clone(),
                args: vec![
                    "compose".into(),
                    "--project-directory".into(),
                    dir.clone().into_os_string(),
                    "up".into(),
                    "-d".into(),
                    "--force-recreate".into(),
                    "--no-deps".into(),
                    service.into(),
                ],
            }],
            Manager::Command { argv } => {
                let (program, args) = argv.split_first().ok_or(ServiceError::EmptyCommand)?;
                vec![Step {
                    program: program.clone(),
                    args: args.to_vec(),
                }]
            }
            Manager::None => Vec::new(),
        })
    }

    /// Restarts the service: runs each step of [`plan`](Self::plan) in
    /// order, stopping at the first failure, all within `timeout`. Any of
    /// `hide` found in a child's stderr is shown as its fingerprint.
    pub fn restart(
        &self,
        daemon_reload: bool,
        hide: &[&Secret],
    ) -> Result<Restarted, ServiceError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let steps = self.plan(daemon_reload)?;
        for step in &steps {
            run(step, deadline, self.timeout, hide, Stdio::null())?;
        }
        Ok(Restarted {
            steps,
            elapsed: started.elapsed(),
        })
    }
}

/// Runs one step within `timeout` and returns what it printed on stdout
/// (a query such as `systemctl show`, never a restart: a daemon it starts
/// would keep writing into the capture).
pub(crate) fn output(
    step: &Step,
    timeout: Duration,
    hide: &[&Secret],
) -> Result<String, ServiceError> {
    let spawn_error = |source| ServiceError::Spawn {
        step: step.clone(),
        source,
    };
    let mut capture = tempfile::tempfile().map_err(spawn_error)?;
    let stdout = capture.try_clone().map_err(spawn_error)?;
    run(step, Instant::now() + timeout, timeout, hide, stdout.into())?;
    let mut text = String::new();
    // Unreadable output reads as empty: the caller then says what it expected.
    if capture.rewind().is_ok() {
        let _ = capture.read_to_string(&mut text);
    }
    Ok(Secret::redact(&text, hide))
}

/// Runs one step until it exits or `deadline` passes.
fn run(
    step: &Step,
    deadline: Instant,
    timeout: Duration,
    hide: &[&Secret],
    stdout: Stdio,
) -> Result<(), ServiceError> {
    // stderr goes to an unlinked file, not a pipe: a restart command that
    // starts a daemon hands it our stderr, and a pipe would then never reach
    // end-of-file.
    let capture = tempfile::tempfile().map_err(|source| ServiceError::Spawn {
        step: step.clone(),
        source,
    })?;
    let stderr = capture.try_clone().map_err(|source| ServiceError::Spawn {
        step: step.clone(),
        source,
    })?;
    let mut child = Command::new(&step.program)
        .args(&step.args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // Its own process group, so that a timeout kills what it started too.
        .process_group(0)
        .spawn()
        .map_err(|source| ServiceError::Spawn {
            step: step.clone(),
            source,
        })?;
    let status = match wait_until(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill_group(&mut child);
            return Err(ServiceError::TimedOut {
                step: step.clone(),
                timeout,
                stderr: tail(capture, hide),
            });
        }
        Err(source) => {
            kill_group(&mut child);
            return Err(ServiceError::Wait {
                step: step.clone(),
                source,
            });
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(ServiceError::Failed {
        step: step.clone(),
        status: describe(status),
        stderr: tail(capture, hide),
    })
}

/// Polls the child, sleeping a little longer each time (a restart takes
/// seconds; a failing one often milliseconds).
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn kill_group(child: &mut std::process::Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        // The group may already be gone; the child itself is killed below.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// How much of a child's stderr a message carries.
const TAIL_LINES: usize = 5;
const TAIL_CHARS: usize = 600;

/// The last non-empty lines of the captured stderr, trimmed, on one line,
/// secrets replaced by their fingerprints, control characters dropped.
fn tail(mut capture: std::fs::File, hide: &[&Secret]) -> String {
    let mut bytes = Vec::new();
    if capture.rewind().is_err() || capture.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = Secret::redact(&String::from_utf8_lossy(&bytes), hide);
    let lines: Vec<String> = text
        .lines()
        .map(|l| printable(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let joined = lines[start..].join(" | ");
    if joined.chars().count() <= TAIL_CHARS {
        return joined;
    }
    let skip = joined.chars().count() - TAIL_CHARS;
    format!("…{}", joined.chars().skip(skip).collect::<String>())
}

/// The line without terminal escape sequences (colours) and control
/// characters, which would garble a one-line error.
fn printable(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters… final byte in @..~; otherwise ESC + one.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(manager: Manager) -> ServiceSpec {
        ServiceSpec {
            manager,
            timeout: Duration::from_secs(5),
            programs: Programs::default(),
        }
    }

    fn shown(steps: &[Step]) -> Vec<String> {
        steps.iter().map(Step::to_string).collect()
    }

    #[test]
    fn systemd_user_reloads_only_when_asked() {
        let s = spec(Manager::SystemdUser {
            unit: "litellm.service".into(),
        });
        assert_eq!(
            shown(&s.plan(true).unwrap()),
            [
                "systemctl --user daemon-reload",
                "systemctl --user restart litellm.service"
            ]
        );
        assert_eq!(
            shown(&s.plan(false).unwrap()),
            ["systemctl --user restart litellm.service"]
        );
    }

    #[test]
    fn systemd_system_has_no_user_flag() {
        let s = spec(Manager::SystemdSystem {
            unit: "litellm.service".into(),
        });
        assert_eq!(
            shown(&s.plan(true).unwrap()),
            [
                "systemctl daemon-reload",
                "systemctl restart litellm.service"
            ]
        );
    }

    #[test]
    fn compose_recreates_the_service_in_its_directory() {
        let s = spec(Manager::Compose {
            dir: "/srv/docker/litellm".into(),
            service: "litellm".into(),
        });
        assert_eq!(
            shown(&s.plan(true).unwrap()),
            [
                "docker compose --project-directory /srv/docker/litellm up -d --force-recreate --no-deps litellm"
            ]
        );
    }

    #[test]
    fn none_and_empty_command() {
        assert!(spec(Manager::None).plan(true).unwrap().is_empty());
        assert!(!Manager::None.restarts());
        let empty = spec(Manager::Command { argv: Vec::new() });
        assert!(matches!(empty.plan(false), Err(ServiceError::EmptyCommand)));
    }

    #[test]
    fn tail_keeps_last_lines_and_hides_secrets() {
        let mut f = tempfile::tempfile().unwrap();
        let body: String = (1..=9).map(|i| format!("line {i}\n")).collect::<String>()
            + "\n  key sk-topsecret rejected \x1b[0m \n";
        std::io::Write::write_all(&mut f, body.as_bytes()).unwrap();
        let secret = Secret::from("sk-topsecret".to_string());
        let t = tail(f, &[&secret]);
        assert!(!t.contains("sk-topsecret"), "{t}");
        assert!(t.starts_with("line 6 | "), "{t}");
        assert!(
            t.ends_with(&format!("key [secret {}] rejected", secret.fingerprint())),
            "{t}"
        );
    }
}
