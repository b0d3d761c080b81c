//! Service managers (`rotate::service`) running real programs: recorder
//! scripts standing in for `systemctl` and `docker` (no systemd or docker
//! daemon runs here; the scripts only record their argv), and commands that
//! fail or hang.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use litekeys_tests::Sandbox;
use rotate::service::{Manager, Programs, ServiceError, ServiceSpec};
use vault::Secret;

/// An executable shell script at `rel` in the sandbox.
fn script(sandbox: &Sandbox, rel: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = sandbox.write(rel, format!("#!/bin/sh\n{body}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A program that appends its argv, one call per line, to `<itself>.calls`.
fn recorder(sandbox: &Sandbox, name: &str) -> PathBuf {
    script(
        sandbox,
        &format!("bin/{name}"),
        "printf '%s\\n' \"$*\" >> \"$0.calls\"\n",
    )
}

fn calls(recorder: &Path) -> Vec<String> {
    let mut log = recorder.as_os_str().to_owned();
    log.push(".calls");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn spec(manager: Manager, sandbox: &Sandbox) -> ServiceSpec {
    ServiceSpec {
        manager,
        timeout: Duration::from_secs(20),
        programs: Programs {
            systemctl: sandbox.path("bin/systemctl").into(),
            docker: sandbox.path("bin/docker").into(),
        },
    }
}

fn command(argv: &[&str], timeout: Duration) -> ServiceSpec {
    ServiceSpec {
        manager: Manager::Command {
            argv: argv.iter().map(Into::into).collect(),
        },
        timeout,
        programs: Programs::default(),
    }
}

#[test]
fn systemd_user_runs_daemon_reload_then_restart_of_the_unit() {
    let sandbox = Sandbox::new();
    let systemctl = recorder(&sandbox, "systemctl");
    let s = spec(
        Manager::SystemdUser {
            unit: "litellm.service".into(),
        },
        &sandbox,
    );
    let done = s.restart(true, &[]).expect("restart");
    assert_eq!(
        calls(&systemctl),
        ["--user daemon-reload", "--user restart litellm.service"]
    );
    assert_eq!(done.steps.len(), 2);

    // No drop-in changed: no reload.
    s.restart(false, &[]).expect("restart");
    assert_eq!(
        calls(&systemctl)[2..],
        ["--user restart litellm.service".to_string()]
    );
}

#[test]
fn systemd_system_runs_without_the_user_flag() {
    let sandbox = Sandbox::new();
    let systemctl = recorder(&sandbox, "systemctl");
    spec(
        Manager::SystemdSystem {
            unit: "litellm.service".into(),
        },
        &sandbox,
    )
    .restart(true, &[])
    .expect("restart");
    assert_eq!(
        calls(&systemctl),
        ["daemon-reload", "restart litellm.service"]
    );
}

#[test]
fn compose_recreates_the_service_in_its_project_directory() {
    let sandbox = Sandbox::new();
    let docker = recorder(&sandbox, "docker");
    spec(
        Manager::Compose {
            dir: "/srv/docker/litellm".into(),
            service: "litellm".into(),
        },
        &sandbox,
    )
    .restart(true, &[])
    .expect("restart");
    assert_eq!(
        calls(&docker),
        [
            "compose --project-directory /srv/docker/litellm up -d --force-recreate --no-deps litellm"
        ]
    );
}

#[test]
fn command_runs_its_argv_without_a_shell() {
    let sandbox = Sandbox::new();
    let program = script(
        &sandbox,
        "bin/restart",
        "for a in \"$@\"; do printf '[%s]\\n' \"$a\" >> \"$0.calls\"; done\n",
    );
    let p = program.to_str().unwrap();
    command(&[p, "a b", "$HOME", ";", "`id`"], Duration::from_secs(20))
        .restart(false, &[])
        .expect("restart");
    assert_eq!(calls(&program), ["[a b]", "[$HOME]", "[;]", "[`id`]"]);
}

#[test]
fn none_runs_nothing() {
    let sandbox = Sandbox::new();
    let systemctl = recorder(&sandbox, "systemctl");
    let done = spec(Manager::None, &sandbox)
        .restart(true, &[])
        .expect("none");
    assert!(done.steps.is_empty());
    assert!(calls(&systemctl).is_empty());
}

#[test]
fn a_failing_command_has_the_end_of_its_stderr_in_the_error_and_no_secret() {
    let sandbox = Sandbox::new();
    let key = "sk-fail0123456789abcdefghijklmnopqrstuvwxyzABCD";
    sandbox.write("key.txt", key);
    let program = script(
        &sandbox,
        "bin/restart",
        &format!(
            "for i in 1 2 3 4 5 6 7 8; do echo \"noise $i\" >&2; done\n\
             echo \"  rejected key $(cat {}) \" >&2\n\
             echo 'Job for litellm.service failed.' >&2\n\
             exit 3\n",
            sandbox.path("key.txt").display()
        ),
    );
    let secret = Secret::from(key.to_string());
    let err = command(&[program.to_str().unwrap()], Duration::from_secs(20))
        .restart(false, &[&secret])
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ServiceError::Failed { .. }), "{msg}");
    assert!(msg.contains("exit 3"), "{msg}");
    assert!(msg.contains("Job for litellm.service failed."), "{msg}");
    assert!(!msg.contains("noise 1"), "only the last lines: {msg}");
    assert!(!msg.contains(key), "the error shows a secret: {msg}");
    assert!(msg.contains(&secret.fingerprint()), "{msg}");
    assert_eq!(msg.lines().count(), 1, "{msg}");
}

#[test]
fn a_command_that_hangs_is_killed_at_its_timeout_with_what_it_started() {
    let sandbox = Sandbox::new();
    let pid_file = sandbox.path("child.pid");
    let program = script(
        &sandbox,
        "bin/restart",
        &format!(
            "echo 'stopping litellm…' >&2\nsleep 300 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    );
    let err = command(&[program.to_str().unwrap()], Duration::from_secs(1))
        .restart(false, &[])
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ServiceError::TimedOut { .. }), "{msg}");
    assert!(msg.contains("within 1s"), "{msg}");
    assert!(msg.contains("stopping litellm"), "{msg}");

    // The background `sleep` was in the command's process group: gone too.
    let pid = std::fs::read_to_string(&pid_file).expect("the script wrote its child's pid");
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let running = || {
        std::fs::read_to_string(&stat)
            .map(|s| !s.rsplit(") ").next().unwrap_or("").starts_with('Z'))
            .unwrap_or(false)
    };
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!running(), "the hanging command's child still runs");
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("bin/no-such-restart");
    let err = command(&[missing.to_str().unwrap()], Duration::from_secs(5))
        .restart(false, &[])
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ServiceError::Spawn { .. }), "{msg}");
    assert!(msg.contains("no-such-restart"), "{msg}");
}
