//! Bad input in a client file or its sink: a one-line error naming the
//! file (and the line or the pointer), an exit code from the table, and a
//! snapshot of the whole sandbox proving nothing changed.

use super::{LITELLM_CONFIG, filled, lab};
use litekeys_tests::Snapshot;
use litekeys_tests::rotate_lab::{OLD_MASTER, Seeds};
use vault::Exit;

/// A rotation and a sync refused the same way, nothing written.
fn refused(s: &Seeds, exit: Exit, mentions: &str) {
    for args in [
        &["--yes", "--no-restart"][..],
        &["sync", "--yes", "--no-restart"],
    ] {
        let before = Snapshot::of([s.sb.path("")]);
        s.test()
            .args(args)
            .status(exit)
            .one_line_error(mentions)
            .never_shows(OLD_MASTER)
            .run();
        before.assert_unchanged();
    }
}

#[test]
fn an_unparseable_litellm_config() {
    let Some(s) = lab(|t| t) else { return };
    let broken = filled(LITELLM_CONFIG).replace(
        "\nlitellm_settings:",
        "\n  oops: [unclosed\nlitellm_settings:",
    );
    s.sb.write("home/.config/litellm/config.yaml", broken);
    refused(
        &s,
        Exit::Error,
        ".config/litellm/config.yaml: not valid YAML at line ",
    );
}

#[test]
fn a_pointer_that_is_not_in_the_file() {
    let Some(s) = lab(|t| t.replace("/env/ANTHROPIC_AUTH_TOKEN", "/env/ANTHROPIC_API_KEY")) else {
        return;
    };
    refused(
        &s,
        Exit::Error,
        ".claude/settings.json: has no /env/ANTHROPIC_API_KEY; fix the file or the sink's pointer",
    );
    // status names it too, and does not call the file in sync.
    let status = s.cmd().arg("status").output();
    assert_ne!(status.code, 0);
    assert!(
        status
            .stdout_str()
            .contains("has no /env/ANTHROPIC_API_KEY"),
        "{}",
        status.stdout_str()
    );
}

#[test]
fn a_value_that_is_not_a_string() {
    let Some(s) = lab(|t| t.replace("/llm/api_key", "/llm")) else {
        return;
    };
    refused(
        &s,
        Exit::Error,
        ".openhands/config.toml: /llm is a table, not a string",
    );
}

#[test]
fn a_pointer_on_a_droid_sink_is_a_config_error() {
    let Some(s) = Seeds::with_config(|t| {
        t.replace(
            "path = \"~/.factory\"\n",
            "path = \"~/.factory\"\npointer = \"/customModels/0/apiKey\"\n",
        )
    }) else {
        return;
    };
    let before = Snapshot::of([s.sb.path("")]);
    for args in [&["--yes"][..], &["status"]] {
        s.test()
            .args(args)
            .status(Exit::Usage)
            .one_line_error("litekeys.toml:15: pointer is for json, toml and yaml sinks, not droid")
            .run();
    }
    before.assert_unchanged();
}

#[test]
fn a_json_sink_without_a_pointer_is_a_config_error() {
    let Some(s) = lab(|t| t.replace("pointer = \"/env/ANTHROPIC_AUTH_TOKEN\"\n", "")) else {
        return;
    };
    let before = Snapshot::of([s.sb.path("")]);
    s.test()
        .arg("--yes")
        .status(Exit::Usage)
        .one_line_error("a json sink needs pointer = ")
        .run();
    before.assert_unchanged();
}
