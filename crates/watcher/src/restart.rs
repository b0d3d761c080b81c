//! Restarting the service with its manager: `systemctl [--user]`
//! (daemon-reload first when a drop-in changed), `docker compose restart`,
//! or a configured argv. No shell, no secret in any argv, every run bounded.
//!
//! Stop-gap until the rotate crate's `service` module is stable.

use crate::config::Service;
use std::ffi::OsString;
use std::io::{Read, Seek};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The programs to run, in order; empty for `none`.
pub fn plan(service: &Service, daemon_reload: bool) -> Vec<Vec<OsString>> {
    let os = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
    match service {
        Service::SystemdUser { unit } | Service::SystemdSystem { unit } => {
            let scope: &[&str] = match service {
                Service::SystemdUser { .. } => &["systemctl", "--user"],
                _ => &["systemctl"],
            };
            let mut steps = Vec::new();
            if daemon_reload {
                steps.push(os(&[scope, &["daemon-reload"]].concat()));
            }
            steps.push(os(&[scope, &["restart", unit]].concat()));
            steps
        }
        Service::Compose { dir, service } => {
            let mut argv = os(&["docker", "compose", "--project-directory"]);
            argv.push(dir.clone().into_os_string());
            argv.extend(os(&["restart", service]));
            vec![argv]
        }
        Service::Command { argv } => vec![argv.iter().map(OsString::from).collect()],
        Service::None => Vec::new(),
    }
}

/// Runs the plan; `Ok(false)` when there is nothing to restart.
pub fn restart(service: &Service, daemon_reload: bool, bound: Duration) -> Result<bool, String> {
    let steps = plan(service, daemon_reload);
    for argv in &steps {
        run(argv, bound).map_err(|e| e.message)?;
    }
    Ok(!steps.is_empty())
}

/// A program that failed: its exit code when it exited, and one line
/// saying what happened (with the last line of its stderr).
#[derive(Debug)]
pub struct RunError {
    pub code: Option<i32>,
    pub message: String,
}

/// Runs one program to completion within `bound`.
pub fn run(argv: &[OsString], bound: Duration) -> Result<(), RunError> {
    let fail = |message: String| RunError {
        code: None,
        message,
    };
    let shown = argv
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| fail("empty command".into()))?;
    // An unlinked file rather than a pipe: a restart command that leaves a
    // daemon behind must not keep us waiting for EOF.
    let mut err = tempfile::tempfile().map_err(|e| fail(format!("`{shown}`: temp file: {e}")))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            err.try_clone()
                .map_err(|e| fail(format!("`{shown}`: temp file: {e}")))?,
        )
        .spawn()
        .map_err(|e| fail(format!("cannot run `{shown}`: {e}")))?;
    let deadline = Instant::now() + bound;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "`{shown}` did not finish within {bound:?}; killed it"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(fail(format!("`{shown}`: {e}"))),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = err.rewind();
    let _ = err.take(64 * 1024).read_to_string(&mut text);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let last: String = last.trim().chars().take(300).collect();
    let message = match status.code() {
        Some(code) if last.is_empty() => format!("`{shown}` exited with {code}"),
        Some(code) => format!("`{shown}` exited with {code}: {last}"),
        None => format!("`{shown}` was killed by a signal"),
    };
    Err(RunError {
        code: status.code(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(steps: Vec<Vec<OsString>>) -> Vec<String> {
        steps
            .iter()
            .map(|a| {
                a.iter()
                    .map(|w| w.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn systemd_reloads_only_for_a_dropin() {
        let user = Service::SystemdUser {
            unit: "litellm.service".into(),
        };
        assert_eq!(
            words(plan(&user, true)),
            [
                "systemctl --user daemon-reload",
                "systemctl --user restart litellm.service"
            ]
        );
        let system = Service::SystemdSystem {
            unit: "litellm.service".into(),
        };
        assert_eq!(
            words(plan(&system, false)),
            ["systemctl restart litellm.service"]
        );
        assert!(plan(&Service::None, true).is_empty());
    }

    #[test]
    fn failures_carry_the_last_stderr_line() {
        let argv: Vec<OsString> = [
            "sh",
            "-c",
            "echo first >&2; echo 'unit not found' >&2; exit 5",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let e = run(&argv, Duration::from_secs(10)).unwrap_err();
        assert_eq!(e.code, Some(5));
        assert!(
            e.message.ends_with("exited with 5: unit not found"),
            "{e:?}"
        );
        let slow: Vec<OsString> = ["sleep", "5"].iter().map(OsString::from).collect();
        let e = run(&slow, Duration::from_millis(100)).unwrap_err();
        assert!(e.message.contains("did not finish"), "{e:?}");
    }
}
