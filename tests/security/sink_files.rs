//! Sinks that are not plain files: a FIFO (opening it blocks, and on 0.1.0
//! `status` and rotations hung holding the lock), `/dev/zero` (read until
//! memory ran out), and a world-readable file holding a key (no warning).

use litekeys_tests::rotate_lab::*;
use std::process::Stdio;
use std::time::{Duration, Instant};
use vault::Exit;

/// The seeds with the litellm.env sink pointed at `path` (`~/` for HOME).
fn seeds_with_sink_at(path: &str) -> Option<Seeds> {
    let path = path.to_string();
    Seeds::with_config(move |toml| toml.replace("~/.config/lab-secrets/litellm.env", &path))
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `litekeys-rotate ARGS` from the repo; kills it after 10 s and fails
/// the test if that was needed.
fn bounded(s: &Seeds, args: &[&str]) -> Ran {
    let mut child =
        s.sb.process("litekeys-rotate")
            .current_dir(&s.repo)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut ran = Ran {
                code: status.code(),
                stdout: String::new(),
                stderr: String::new(),
            };
            std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut ran.stdout).unwrap();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut ran.stderr).unwrap();
            return ran;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("litekeys-rotate {args:?} still running after 10 s: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A rotation or sync refused in one line naming the sink and its type.
fn refused(s: &Seeds, args: &[&str], path: &str, what: &str) {
    let ran = bounded(s, args);
    assert_eq!(
        ran.code,
        Some(i32::from(Exit::Error.code())),
        "{args:?}: {}",
        ran.stderr
    );
    assert_eq!(ran.stdout, "", "{args:?}");
    assert_eq!(
        ran.stderr.trim_end().lines().count(),
        1,
        "{args:?}: {}",
        ran.stderr
    );
    for part in [path, what, "not a regular file"] {
        assert!(ran.stderr.contains(part), "{args:?}: {}", ran.stderr);
    }
}

/// `status` answers, reporting the sink unreadable for its type.
fn reported(s: &Seeds, path: &str, what: &str) {
    let ran = bounded(s, &["status"]);
    assert_eq!(
        ran.code,
        Some(i32::from(Exit::Drift.code())),
        "{}",
        ran.stderr
    );
    let line = ran
        .stdout
        .lines()
        .find(|l| l.contains(path))
        .unwrap_or_else(|| panic!("{}", ran.stdout));
    assert!(line.contains("unreadable") && line.contains(what), "{line}");
}

#[test]
fn a_fifo_sink_makes_status_and_a_rotation_answer_at_once() {
    let Some(s) = seeds_with_sink_at("~/litellm.fifo") else {
        return;
    };
    let fifo = s.sb.home().join("litellm.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let before = s.snapshot();
    reported(&s, "litellm.fifo", "FIFO");
    refused(&s, &["--yes"], "litellm.fifo", "FIFO");
    refused(&s, &["sync"], "litellm.fifo", "FIFO");
    before.assert_unchanged();
    assert_eq!(s.master(), OLD_MASTER);
}

#[test]
fn dev_zero_as_a_sink_is_refused_not_read() {
    let Some(s) = seeds_with_sink_at("/dev/zero") else {
        return;
    };
    let before = s.snapshot();
    reported(&s, "/dev/zero", "character device");
    refused(&s, &["--yes"], "/dev/zero", "character device");
    refused(&s, &["sync"], "/dev/zero", "character device");
    before.assert_unchanged();
}

#[test]
fn a_world_readable_sink_holding_a_key_gets_a_warning_in_status() {
    let Some(s) = Seeds::new() else { return };
    let env = s.sb.home().join("dotfiles/litellm.env");
    let docker = s.sb.path("srv/docker/litellm/.env");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = s.cmd().arg("status").expect(Exit::Drift);
    let table = out.stdout_str();
    let warning = format!(
        "warning: mode 0644: every user of this machine can read the key it holds; run `chmod 600 {}`",
        s.sb.home()
            .join(".config/lab-secrets/litellm.env")
            .display()
    );
    assert!(table.contains(&warning), "{table}");
    // The docker .env at 0640 for its own group is a deliberate setup.
    assert!(
        !table.contains(&format!("chmod 600 {}", docker.display())),
        "{table}"
    );
    out.never_shows(OLD_MASTER);
    let json = s.cmd().args(["status", "--json"]).expect(Exit::Drift);
    assert!(json.stdout_str().contains("every user of this machine"));
}
