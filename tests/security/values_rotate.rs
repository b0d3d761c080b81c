//! Values no gateway can run on, on the rotation side: an empty line sops'
//! MAC does not cover, a key shaped like an env reference. Each is refused
//! before any sink is written or anything restarted.

use litekeys_tests::rotate_lab::*;
use std::path::Path;
use vault::Exit;

/// `line` put in front of `file`'s first line, as an attacker without the
/// key would add it (sops' MAC hashes values only; an empty one adds nothing).
fn prepend(file: &Path, line: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, format!("{line}\n{text}")).unwrap();
}

/// The seeds restarting through a command that leaves `restarted` in the
/// repository: a run that restarted anything shows it.
fn seeds_that_record_restarts() -> Option<Seeds> {
    Seeds::with_config(|toml| {
        toml.replace(
            "manager = \"none\"",
            "manager = \"command\"\ncommand = [\"/bin/sh\", \"-c\", \": > restarted\"]",
        )
    })
}

/// The source re-encrypted by the real sops with `plain`.
fn reencrypt(s: &Seeds, plain: &str) {
    std::fs::write(&s.source, s.sops.encrypt(&s.sb, &s.recipient, plain)).unwrap();
}

#[test]
fn an_empty_salt_key_added_without_the_key_makes_sync_refuse_and_change_nothing() {
    let Some(s) = seeds_that_record_restarts() else {
        return;
    };
    // A source without a salt key: the empty line is no duplicate, so
    // only the value check stands between it and every sink.
    reencrypt(
        &s,
        &format!("LITELLM_MASTER_KEY={OLD_MASTER}\nOTHER_VAR=kept\n"),
    );
    prepend(&s.source, "LITELLM_SALT_KEY=");
    let before = s.snapshot();
    s.test()
        .arg("sync")
        .status(Exit::BadInput)
        .one_line_error("LITELLM_SALT_KEY is empty")
        .stderr_has("global.enc.env")
        .never_shows(OLD_MASTER)
        .run();
    before.assert_unchanged();
    assert!(!s.repo.join("restarted").exists(), "a restart ran");
}

#[test]
fn an_empty_master_key_line_placed_first_makes_sync_and_rotate_refuse() {
    let Some(s) = seeds_that_record_restarts() else {
        return;
    };
    prepend(&s.source, "LITELLM_MASTER_KEY=");
    let before = s.snapshot();
    for args in [&["sync"][..], &["--yes"]] {
        s.test()
            .args(args)
            .status(Exit::BadInput)
            .one_line_error("LITELLM_MASTER_KEY")
            .never_shows(OLD_MASTER)
            .run();
    }
    before.assert_unchanged();
    assert!(!s.repo.join("restarted").exists(), "a restart ran");
}

#[test]
fn a_master_key_shaped_like_an_env_reference_or_too_short_is_refused() {
    let Some(s) = seeds_that_record_restarts() else {
        return;
    };
    for (value, why) in [
        ("${LITELLM_MASTER_KEY}", "environment reference"),
        ("env:HOME", "environment reference"),
        ("sk-short", "shorter than 16"),
        ("sk-with a-space-inside", "whitespace"),
    ] {
        reencrypt(
            &s,
            &format!("LITELLM_MASTER_KEY={value}\nLITELLM_SALT_KEY={OLD_SALT}\n"),
        );
        let before = s.snapshot();
        s.test()
            .arg("sync")
            .status(Exit::BadInput)
            .one_line_error("LITELLM_MASTER_KEY")
            .stderr_has(why)
            .never_shows(value)
            .run();
        before.assert_unchanged();
    }
    assert!(!s.repo.join("restarted").exists(), "a restart ran");
}
