//! litekeys-watch and the encrypted source: replaced by rename with a new
//! key encrypted by the real sops, tampered, re-encrypted, or changed by a
//! rotation holding the lock. Restarts are counted by a `command` script.
//!
//! The tests that sync the sinks run the real `litekeys-rotate sync
//! --no-restart`.

use litekeys_tests::watch_lab::{ENV_FILE, Lab, SOURCE, env_text, key};
use std::io::Write;
use vault::store::Lock;

const ARGS: &[&str] = &["--min-interval", "0ms", "--no-verify"];

#[test]
fn source_replaced_by_rename_syncs_the_sink_and_restarts_once() {
    let (old, new) = (key("old"), key("new"));
    let Some(lab) = Lab::new(&old) else { return };
    let w = lab.watch(ARGS);
    lab.replace_master(&new);
    w.wait_for("restarted", 1);
    let env = String::from_utf8(lab.sb.read(ENV_FILE)).unwrap();
    assert!(
        env.contains(&format!("LITELLM_MASTER_KEY={new}")),
        "sink not synced"
    );
    // Our own sync's writes, and a touch, change nothing more.
    lab.touch(SOURCE);
    w.wait_for("same content; nothing to do", 1);
    assert_eq!(lab.restarts(), 1, "{}", w.dump());
    let fp = vault::fingerprint(new.as_bytes());
    assert_eq!(w.count(&format!("→ {fp}")), 1, "{}", w.dump());
    w.never_shows(&old);
    w.never_shows(&new);
}

#[test]
fn tampered_source_one_error_no_restart_then_a_valid_one_restarts_once() {
    let (old, new) = (key("old"), key("next"));
    let Some(lab) = Lab::new(&old) else { return };
    let w = lab.watch(ARGS);
    let good = lab.sb.read(SOURCE);
    let text = String::from_utf8(good).unwrap();
    // Flip one character of the first encrypted value's data.
    let at = text.find("data:").unwrap() + 5;
    let mut tampered = text.clone().into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    lab.replace_source(&tampered);
    w.wait_for("error:", 1);
    let errors: Vec<String> = w
        .log()
        .into_iter()
        .filter(|l| l.contains("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", w.dump());
    assert!(errors[0].contains("global.enc.env"), "{}", errors[0]);
    assert!(errors[0].contains("not restarting"), "{}", errors[0]);
    assert_eq!(lab.restarts(), 0);
    assert_eq!(lab.sb.read(ENV_FILE), env_text(&old).as_bytes());

    lab.replace_master(&new);
    w.wait_for("restarted", 1);
    assert_eq!(lab.restarts(), 1, "{}", w.dump());
    assert_eq!(w.count("error:"), 1, "{}", w.dump());
    w.never_shows(&new);
}

#[test]
fn half_written_source_is_an_error_until_complete() {
    let old = key("half");
    let Some(lab) = Lab::new(&old) else { return };
    let w = lab.watch(ARGS);
    let full = lab.sb.read(SOURCE);
    // A writer that truncates and stops halfway, then finishes later.
    let mut f = std::fs::File::create(lab.sb.path(SOURCE)).unwrap();
    f.write_all(&full[..full.len() / 2]).unwrap();
    f.flush().unwrap();
    w.wait_for("error:", 1);
    assert_eq!(lab.restarts(), 0);
    f.write_all(&full[full.len() / 2..]).unwrap();
    drop(f);
    // Back to the last good bytes: nothing to sync or restart.
    w.wait_for("back to the last good state", 1);
    assert_eq!(lab.restarts(), 0, "{}", w.dump());
    assert_eq!(w.count("error:"), 1, "{}", w.dump());
}

#[test]
fn reencrypted_source_with_the_same_values_does_not_restart() {
    let master = key("same");
    let Some(lab) = Lab::new(&master) else { return };
    let w = lab.watch(ARGS);
    // New data key, new IVs, new MAC: other bytes, same values.
    lab.replace_master(&master);
    w.wait_for("none of the values the service uses changed", 1);
    assert_eq!(lab.restarts(), 0, "{}", w.dump());
}

/// What a rotation does, by hand, following the audit-log format the
/// watcher assumes (see crates/watcher/src/audit.rs): under the source's
/// lock, a new source and sink, restart and verify, then one audit line.
#[test]
fn a_rotation_holding_the_lock_is_waited_for_and_not_restarted_again() {
    let (old, new) = (key("rot"), key("rotated"));
    let Some(lab) = Lab::new(&old) else { return };
    // A lock sidecar exists once any rotation ran.
    drop(Lock::acquire(&lab.sb.path(SOURCE), false).unwrap());
    let w = lab.watch(ARGS);
    let lock = Lock::acquire(&lab.sb.path(SOURCE), false).unwrap();
    lab.replace_master(&new);
    lab.sb.write(ENV_FILE, env_text(&new));
    w.wait_for("holds the source's lock; waiting", 1);
    lab.audit(&old, &new, "verified", "0a1b");
    drop(lock);
    w.wait_for("a rotation already restarted the service", 1);
    lab.touch(ENV_FILE);
    w.wait_for("same content; nothing to do", 1);
    assert_eq!(lab.restarts(), 0, "{}", w.dump());
}

#[test]
fn an_unverified_rotation_is_restarted_by_the_watcher() {
    let (old, new) = (key("unv"), key("unverified"));
    let Some(lab) = Lab::new(&old) else { return };
    let w = lab.watch(ARGS);
    lab.audit(&old, &new, "unverified", "0a1c");
    lab.sb.write(ENV_FILE, env_text(&new));
    lab.replace_master(&new);
    w.wait_for("restarted", 1);
    assert_eq!(lab.restarts(), 1, "{}", w.dump());
}

/// Issue 13: a new source saved while the restart for the previous one
/// runs gets its own sync and restart (it was taken as applied). The
/// first restart waits until the test has replaced the source again.
#[test]
fn a_source_replaced_during_the_restart_is_synced_and_restarted_again() {
    let (old, first, second) = (key("was"), key("first"), key("second"));
    let Some(lab) = Lab::new(&old) else { return };
    let (started, go) = (lab.sb.path("started"), lab.sb.path("go"));
    lab.sb.write(
        "restart.sh",
        format!(
            "#!/bin/sh\necho restart >> '{}'\n\
             if [ ! -e '{s}' ]; then : > '{s}'; i=0; \
             while [ ! -e '{g}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; fi\n",
            lab.sb.path("restarts").display(),
            s = started.display(),
            g = go.display(),
        ),
    );
    let w = lab.watch(ARGS);
    lab.replace_master(&first);
    w.wait_until("the first restart to start", || started.exists());
    lab.replace_master(&second);
    std::fs::write(&go, "").unwrap();
    w.wait_for("restarted", 2);
    let env = String::from_utf8(lab.sb.read(ENV_FILE)).unwrap();
    assert_eq!(env, env_text(&second), "the sink holds the last source");
    lab.touch(SOURCE);
    w.wait_for("same content; nothing to do", 1);
    assert_eq!(lab.restarts(), 2, "{}", w.dump());
    for k in [&old, &first, &second] {
        w.never_shows(k);
    }
}
