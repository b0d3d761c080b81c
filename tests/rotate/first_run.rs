//! Before the source exists: every command that needs it says to run
//! `init` (never that a lock file is missing), and `litekeys init` is
//! `litekeys-rotate init`.

use litekeys_tests::Sandbox;
use vault::Exit;

#[test]
fn status_and_recover_before_init_say_to_run_init() {
    let sb = Sandbox::new();
    for words in [&["status"][..], &["status", "--json"], &["recover"], &[]] {
        sb.test("litekeys-rotate")
            .args(words)
            .status(Exit::Error)
            .one_line_error("global.enc.env: no such file; create it with `litekeys-rotate init`")
            .files_unchanged([""])
            .run();
    }
}

#[test]
fn litekeys_init_runs_litekeys_rotate_init() {
    let sb = Sandbox::new();
    let Some(recipient) = sb.age_keygen("home/.config/sops/age/keys.txt") else {
        return;
    };
    let out = sb
        .cmd("litekeys")
        .args(["init", "--age", &recipient])
        .success();
    assert!(
        out.stdout_str().contains("created ") && out.stdout_str().contains("LITELLM_MASTER_KEY"),
        "{}",
        out.stdout_str()
    );
    assert!(sb.path("secrets/global.enc.env").is_file());
    // The file is litekeys' own: it opens it.
    sb.cmd("litekeys").arg("check").success();
    // Never overwrites, and says so with the sibling's exit code.
    sb.test("litekeys")
        .args(["init", "--age", &recipient])
        .status(Exit::Usage)
        .files_unchanged(["secrets"])
        .run();
    // --help is the sibling's.
    let help = sb.cmd("litekeys").args(["init", "--help"]).success();
    assert!(help.stdout_str().contains("--age"), "{}", help.stdout_str());
}
