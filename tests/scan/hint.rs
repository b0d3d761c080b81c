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
