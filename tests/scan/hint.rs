//! After a rotation, one line on stderr when the key just superseded still
//! lies in the default places; `--no-scan` skips the look.

use litekeys_tests::rotate_lab::{OLD_MASTER, Seeds};

#[test]
fn a_rotation_says_where_the_old_key_still_is() {
    let Some(s) = Seeds::new() else { return };
    s.sb.write("repo/notes.md", format!("the key: {OLD_MASTER}\n"));
    let out = s.cmd().args(["--yes", "--no-restart"]).success();
    out.never_shows(OLD_MASTER);
    assert!(
        out.stderr
            .contains("the old key is still in plaintext in 1 place(s), e.g. ")
            && out.stderr.contains("notes.md:1 (LITELLM_MASTER_KEY)"),
        "{}",
        out.stderr
    );
    let first = s.master();
    s.sb.write("repo/notes.md", format!("the key: {first}\n"));
    let out = s
        .cmd()
        .args(["--yes", "--no-restart", "--no-scan"])
        .success();
    out.never_shows(&first);
    assert!(!out.stderr.contains("still in plaintext"), "{}", out.stderr);
}

#[test]
fn status_with_scan_counts_current_and_superseded_keys_in_plaintext() {
    let Some(s) = Seeds::new() else { return };
    let out = s.cmd().args(["status", "--scan"]).output();
    assert!(
        out.stdout_str()
            .contains("scan    no gateway key in plaintext in the default places"),
        "{}",
        out.stdout_str()
    );
    s.cmd()
        .args(["--yes", "--no-restart", "--no-scan"])
        .success();
    let current = s.master();
    s.sb.write(
        "repo/notes.md",
        format!("old: {OLD_MASTER}\nnew: {current}\n"),
    );
    let out = s.cmd().args(["status", "--scan"]).output();
    out.never_shows(OLD_MASTER).never_shows(&current);
    assert!(
        out.stdout_str()
            .contains("scan    1 current and 1 superseded key(s) in plaintext"),
        "{}",
        out.stdout_str()
    );
    let json = s.cmd().args(["status", "--scan", "--json"]).output();
    let value: serde_json::Value = serde_json::from_str(json.stdout_str()).unwrap();
    assert_eq!(value["scan"]["current"], 1, "{}", json.stdout_str());
    assert_eq!(value["scan"]["old"], 1, "{}", json.stdout_str());
}
