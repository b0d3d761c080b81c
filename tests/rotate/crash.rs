//! Crash safety: `litekeys-rotate` killed with SIGKILL at every step of the
//! transaction (the fault-injection build the test suite uses), and at
//! random moments of a real rotation; `litekeys-rotate recover` must leave
//! every file in one consistent state (all old, or all new once the commit
//! is recorded) and no plaintext backup or temp file anywhere.

use litekeys_tests::rotate_lab::*;
use std::process::Stdio;
use std::time::{Duration, Instant};
use vault::Exit;

const KILLED: i32 = 128 + 9;

/// The binary must be the fault-injection build (`cargo test --workspace`).
fn killed_at(s: &Seeds, step: &str) {
    let out = s.cmd().arg("--yes").env("LITEKEYS_FAULT", step).output();
    assert_eq!(
        out.code, KILLED,
        "litekeys-rotate was not killed at {step} (exit {}): build it with the fault-injection feature, as `cargo test --workspace` does; stderr: {}",
        out.code, out.stderr
    );
}

/// Kill at `step`, recover, check the one consistent state.
fn crash_at(step: &str, committed: bool) {
    let Some(s) = Seeds::new() else { return };
    let before = s.snapshot();
    killed_at(&s, step);
    // From the journal on, a write may have been cut short: its temp file
    // (holding the new key) is left next to the target.
    let writing = !matches!(step, "locked" | "planned");
    let planted = s.sb.home().join(".factory/.settings.json.Xy12Ab.tmp");
    if writing {
        std::fs::write(&planted, fill_new()).unwrap();
    }

    let out = s.cmd().arg("recover").success();
    let said = out.stdout_str();
    let master = s.master();
    if committed {
        assert_ne!(master, OLD_MASTER);
        assert!(said.contains("every file holds the NEW keys"), "{said}");
        s.assert_all_hold(&master);
        let audit =
            std::fs::read_to_string(s.sb.home().join(".local/state/litekeys/audit.log")).unwrap();
        assert_eq!(audit.lines().count(), 1, "one audit line: {audit}");
    } else {
        assert_eq!(master, OLD_MASTER);
        assert!(
            said.contains("every file holds the OLD keys") || said.contains("nothing to recover"),
            "{said}"
        );
        before.assert_unchanged();
    }
    assert!(!planted.exists(), "the temp file was left");
    assert_eq!(s.strays(), Vec::<std::path::PathBuf>::new());
    // The seeds start drifted (a stale key on one LiteLLM route): status
    // says so until a rotation has gone through.
    s.cmd()
        .arg("status")
        .expect(if committed { Exit::Ok } else { Exit::Drift });
    let again = s.cmd().arg("recover").success();
    assert!(again.stdout_str().contains("nothing to recover"));
}

fn fill_new() -> String {
    format!("{{\"apiKey\": \"sk-{}\"}}", "N".repeat(48))
}

macro_rules! crash {
    ($($name:ident: $step:literal => $committed:literal,)*) => {$(
        #[test]
        fn $name() {
            crash_at($step, $committed);
        }
    )*};
}

crash! {
    killed_when_locked: "locked" => false,
    killed_when_planned: "planned" => false,
    killed_after_journal_begun: "journal-begun" => false,
    killed_after_source_written: "source-written" => false,
    killed_after_first_sink: "sink-written" => false,
    killed_after_all_sinks: "sinks-written" => false,
    killed_after_activation: "activated" => false,
    killed_after_commit: "committed" => true,
}

#[test]
fn the_next_rotation_recovers_first() {
    let Some(s) = Seeds::new() else { return };
    killed_at(&s, "sink-written");
    let out = s.cmd().arg("--yes").success();
    assert!(
        out.stdout_str().contains("every file holds the OLD keys"),
        "{}",
        out.stdout_str()
    );
    let master = s.master();
    assert_ne!(master, OLD_MASTER);
    s.assert_all_hold(&master);
    assert_eq!(s.strays(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn failed_verification_rolls_back_and_exits_rolled_back() {
    let Some(s) = Seeds::new() else { return };
    s.test()
        .arg("--yes")
        .env("LITEKEYS_FAULT_ACTIVATE", "fail")
        .status(Exit::RolledBack)
        .one_line_error("verification failed")
        .never_shows(OLD_MASTER)
        .stderr_has("rolled back 7 file(s)")
        .files_unchanged([""])
        .run();
    assert_eq!(s.strays(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_gateway_that_does_not_come_back_exits_rollback_incomplete() {
    let Some(s) = Seeds::new() else { return };
    s.test()
        .arg("--yes")
        .env("LITEKEYS_FAULT_ACTIVATE", "fail-reactivate")
        .status(Exit::RollbackIncomplete)
        .stderr_has("did not come back")
        .stdout_is("")
        .files_unchanged([""])
        .run();
}

#[test]
fn killed_during_the_rollback_recovery_finishes_it() {
    let Some(s) = Seeds::new() else { return };
    let before = s.snapshot();
    let out = s
        .cmd()
        .arg("--yes")
        .env("LITEKEYS_FAULT_ACTIVATE", "fail")
        .env("LITEKEYS_FAULT", "rollback-partial")
        .output();
    assert_eq!(out.code, KILLED, "{}", out.stderr);
    s.cmd().arg("recover").success();
    before.assert_unchanged();
}

#[test]
fn a_file_changed_under_the_rotation_starts_it_over() {
    let Some(s) = Seeds::new() else { return };
    let settings = s.sb.home().join(".factory/settings.json");
    // Droid rewrites its settings (a new field) while the rotation runs.
    let droid = fill(SETTINGS).replace(
        "\"unknownTopLevel\"",
        "\"droidAddedThis\": true,\n  \"unknownTopLevel\"",
    );
    let rewritten = s.sb.write("droid-rewrite.json", &droid);
    let exec = format!(
        "journal-begun:cp {} {}",
        rewritten.display(),
        settings.display()
    );
    let out = s
        .cmd()
        .arg("--yes")
        .env("LITEKEYS_FAULT_EXEC", exec)
        .success();
    let master = s.master();
    assert_eq!(s.read(&settings), rotated_droid(&droid, &master));
    s.assert_all_hold(&master);
    out.never_shows(&master);
    let audit =
        std::fs::read_to_string(s.sb.home().join(".local/state/litekeys/audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 1);
}

/// Cheap pseudo-random numbers (the delays need no quality).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

#[test]
fn sigkill_at_random_moments_always_recovers() {
    let Some(s) = Seeds::new() else { return };
    let rotate = || {
        let mut cmd = s.rotation();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    };
    // How long one rotation takes here bounds the delays.
    let t = Instant::now();
    assert!(rotate().status().unwrap().success());
    let span = t.elapsed().as_micros() as u64 * 3 / 2;
    let seed = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    );
    eprintln!("seed {seed}, delays below {span} µs");
    let mut rng = Lcg(seed);
    let (mut old, mut new) = (0, 0);
    for round in 0..25 {
        let before = s.master();
        let mut child = rotate().spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span)));
        let _ = child.kill();
        let _ = child.wait();
        s.cmd().arg("recover").success();
        let after = s.master();
        if after == before {
            old += 1;
        } else {
            new += 1;
        }
        s.assert_all_hold(&after);
        assert_eq!(
            s.strays(),
            Vec::<std::path::PathBuf>::new(),
            "round {round}"
        );
        s.cmd().arg("status").success();
    }
    eprintln!("{old} rounds ended on the old key, {new} on the new");
}
