//! A test whose peer is missing is not hidden (issue 17): libtest hides
//! what a passing test printed, so the kit also appends the skip to
//! `$LITEKEYS_SKIP_LOG`, which `scripts/test` counts and lists at the end;
//! under `CI=true` the same missing peer fails the test instead.

use std::process::Command;

const MISSING: &str = "litekeys-no-such-peer";

/// Run only by `a_skipped_test_is_counted_and_ci_fails_it`, in a child.
#[test]
#[ignore = "run by a_skipped_test_is_counted_and_ci_fails_it in a child process"]
fn skip_probe() {
    assert!(litekeys_tests::peer(MISSING).is_none());
}

fn probe(ci: Option<&str>, log: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "cli::skips::skip_probe",
        "--ignored",
        "--test-threads=1",
    ])
    .env("LITEKEYS_SKIP_LOG", log)
    .env_remove("CI");
    if let Some(v) = ci {
        cmd.env("CI", v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_skipped_test_is_counted_and_ci_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");

    let local = probe(None, &log);
    assert!(local.status.success(), "{local:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text, format!("cli::skips::skip_probe\t{MISSING}\n"));

    std::fs::remove_file(&log).unwrap();
    let ci = probe(Some("true"), &log);
    assert!(!ci.status.success(), "CI=true must fail a missing peer");
    assert!(
        String::from_utf8_lossy(&ci.stdout).contains("is missing under CI=true"),
        "{ci:?}"
    );
    assert!(!log.exists(), "a failure is not a skip");
}
