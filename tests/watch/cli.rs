//! `litekeys-watch`'s command line: its help carries the shared exit-code
//! table, and a bad config exits as `litekeys-rotate` does for one.

use litekeys_tests::{Sandbox, Test};
use vault::Exit;

/// The words of `text`, so that clap's wrapping does not matter.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn help_shows_the_shared_exit_code_table() {
    let sb = Sandbox::new();
    let out = sb.cmd("litekeys-watch").arg("--help").success();
    let help = words(out.stdout_str());
    let table = words(&Exit::help_text());
    assert!(help.contains(&table), "the table is not in --help:\n{help}");
}

#[test]
fn a_missing_config_is_a_usage_error() {
    Test::new("litekeys-watch")
        .args(["--config", "nowhere.toml"])
        .status(Exit::Usage)
        .one_line_error("nowhere.toml")
        .run();
}
