//! The kit's `Test` builder fails when an expectation does not hold, so a
//! test declared with it cannot pass by checking nothing. Runs `sh`, no
//! workspace binary.

use litekeys_tests::{Sandbox, Test};
use vault::Exit;

fn sh(sb: &Sandbox, script: &str) -> Test {
    Test::of(sb.program("sh").args(["-c", script]), sb.path(""))
}

#[test]
fn every_expectation_holds() {
    let sb = Sandbox::new();
    sb.write("kept", "same");
    sh(&sb, "echo out; echo err >&2; echo x > changed; exit 4")
        .status(Exit::Locked)
        .stdout_is("out\n")
        .stdout_has("ou")
        .stdout_lacks("secret")
        .stderr_is("err\n")
        .stderr_has("er")
        .never_shows("secret")
        .files_unchanged(["kept"])
        .files_changed(["changed"])
        .run();
}

#[test]
#[should_panic(expected = "expected 4")]
fn a_wrong_status_fails() {
    let sb = Sandbox::new();
    sh(&sb, "exit 3").status(Exit::Locked).run();
}

#[test]
#[should_panic(expected = "changed, created or removed")]
fn a_changed_file_fails_files_unchanged() {
    let sb = Sandbox::new();
    sb.write("kept", "same");
    sh(&sb, "echo other > kept").files_unchanged(["kept"]).run();
}

#[test]
#[should_panic(expected = "did not change")]
fn an_unchanged_file_fails_files_changed() {
    let sb = Sandbox::new();
    sb.write("file", "same");
    sh(&sb, "true").files_changed(["file"]).run();
}

#[test]
#[should_panic(expected = "stdout lacks")]
fn missing_output_fails_stdout_has() {
    let sb = Sandbox::new();
    sh(&sb, "echo out").stdout_has("nope").run();
}

#[test]
#[should_panic(expected = "not one line")]
fn two_lines_fail_one_line_error() {
    let sb = Sandbox::new();
    sh(&sb, "echo a >&2; echo b >&2; exit 1")
        .status(Exit::Error)
        .one_line_error("a")
        .run();
}

#[test]
#[should_panic(expected = "stderr shows a secret")]
fn a_shown_secret_fails_never_shows() {
    let sb = Sandbox::new();
    sh(&sb, "echo sk-shown >&2").never_shows("sk-shown").run();
}
