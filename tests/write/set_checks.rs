//! `litekeys set` refuses what would make the file useless to `exec` and
//! `direnv`: a key that is not a variable name, and an empty value from a
//! pipe (`</dev/null`, a failed `$(…)`), unless asked.

use litekeys_tests::write_lab::setup;
use vault::Exit;

#[test]
fn a_key_that_is_not_a_variable_name_is_refused_unless_any_key() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("names", "A=1\n", &[]);
    for key in ["bad key", "1X", "my.key", "K-2"] {
        w.test(&file)
            .args(["set", key])
            .stdin("sk-never-written")
            .status(Exit::BadInput)
            .one_line_error("not a variable name")
            .never_shows("sk-never-written")
            .files_unchanged([&file])
            .run();
    }
    // exec still takes the file: nothing was added.
    w.lk(&file).args(["exec", "--", "true"]).success();

    // Asked for: the key is kept, and exec refuses it until --only leaves it out.
    w.lk(&file)
        .args(["set", "--any-key", "my.key"])
        .stdin("v")
        .success();
    let got = w.lk(&file).args(["get", "my.key"]).success();
    assert_eq!(got.stdout, b"v");
    w.test(&file)
        .args(["exec", "--", "true"])
        .status(Exit::Usage)
        .one_line_error("my.key")
        .run();
    w.lk(&file)
        .args(["exec", "--only", "A", "--", "true"])
        .success();
}

#[test]
fn an_empty_value_from_a_pipe_is_refused_unless_allow_empty() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("empty", "A=1\n", &[]);
    for key in ["A", "NEW"] {
        w.test(&file)
            .args(["set", key])
            .stdin("")
            .status(Exit::BadInput)
            .one_line_error("--allow-empty")
            .files_unchanged([&file])
            .run();
    }
    w.lk(&file)
        .args(["set", "--allow-empty", "NEW"])
        .stdin("")
        .success();
    let got = w.lk(&file).arg("decrypt").success();
    assert_eq!(got.stdout_str(), "A=1\nNEW=\n");
}
