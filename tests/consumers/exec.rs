//! `litekeys exec`: the real sops encrypts awkward values; the command litekeys
//! becomes sees each one byte for byte, and its exit status and death by a
//! signal are its own.

use litekeys_tests::consumers_lab::{awkward, parse_env0};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use vault::Exit;

/// The litekeys binary run directly (the kit's `Run` has no raw status or pid).
fn raw(f: &litekeys_tests::consumers_lab::Fixture) -> Command {
    f.sb.process("litekeys")
}

/// `litekeys exec -f FILE` of the fixture, run directly.
fn raw_exec(f: &litekeys_tests::consumers_lab::Fixture) -> Command {
    let mut cmd = raw(f);
    cmd.arg("exec").arg("-f").arg(&f.file);
    cmd
}

#[test]
fn every_awkward_value_arrives_byte_exact() {
    let Some(f) = awkward() else { return };
    let out = f.exec().args(["--", "env", "-0"]).success();
    let env = parse_env0(&out);
    f.assert_all_in(&env);
    // The caller's environment is kept.
    assert!(env.contains_key("XDG_CONFIG_HOME"));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    f.assert_marker_absent();
}

#[test]
fn a_child_shell_prints_each_value_exactly() {
    let Some(f) = awkward() else { return };
    for (name, value) in &f.values {
        let out = f
            .exec()
            .args(["--", "/bin/sh", "-c", &format!("printf %s \"${name}\"")])
            .success();
        assert_eq!(out.stdout_str(), value, "{name}");
    }
    f.assert_marker_absent();
}

#[test]
fn the_exit_status_is_the_commands() {
    let Some(f) = awkward() else { return };
    f.exec().args(["--", "sh", "-c", "exit 37"]).expect_code(37);
}

#[test]
fn death_by_sigterm_is_the_commands() {
    let Some(f) = awkward() else { return };
    let status = raw_exec(&f)
        .args(["--", "sh", "-c", "kill -TERM $$"])
        .status()
        .expect("runs");
    assert_eq!(status.code(), None, "{status:?}");
    assert_eq!(status.signal(), Some(15), "{status:?}");
    // The kit maps it to 128 + N.
    f.exec()
        .args(["--", "sh", "-c", "kill -TERM $$"])
        .expect_code(128 + 15);
}

#[test]
fn litekeys_is_replaced_by_the_command() {
    let Some(f) = awkward() else { return };
    let child = raw_exec(&f)
        .args(["--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
}

#[test]
fn only_passes_just_those_values() {
    let Some(f) = awkward() else { return };
    let out = f
        .exec()
        .args(["--only", "LITELLM_MASTER_KEY,NEWLINES", "--", "env", "-0"])
        .success();
    let env = parse_env0(&out);
    assert_eq!(env["LITELLM_MASTER_KEY"], f.value("LITELLM_MASTER_KEY"));
    assert_eq!(env["NEWLINES"], f.value("NEWLINES"));
    for name in f.names() {
        if name != "LITELLM_MASTER_KEY" && name != "NEWLINES" {
            assert!(!env.contains_key(name), "{name} leaked past --only");
        }
    }
}

#[test]
fn pristine_keeps_only_the_values_and_four_variables() {
    let Some(f) = awkward() else { return };
    let out =
        f.sb.cmd("litekeys")
            .env("SOMETHING_ELSE", "should not pass")
            .env("USER", "tester")
            .env("TERM", "dumb")
            .arg("exec")
            .arg("-f")
            .arg(&f.file)
            .args(["--pristine", "--", "env", "-0"])
            .success();
    let env = parse_env0(&out);
    f.assert_all_in(&env);
    let got: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    let mut want: BTreeSet<&str> = f.names().into_iter().collect();
    want.extend(["PATH", "HOME", "USER", "TERM"]);
    assert_eq!(got, want);
    assert_eq!(env["USER"], "tester");
    assert_eq!(env["HOME"], f.sb.home().to_str().unwrap());
}

#[test]
fn pristine_with_only() {
    let Some(f) = awkward() else { return };
    let out =
        f.sb.cmd("litekeys")
            .env_remove("TERM")
            .env_remove("USER")
            .arg("exec")
            .arg("-f")
            .arg(&f.file)
            .args(["--pristine", "--only", "EMPTY", "--", "env", "-0"])
            .success();
    let env = parse_env0(&out);
    let got: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(got, BTreeSet::from(["EMPTY", "HOME", "PATH"]));
    assert_eq!(env["EMPTY"], "");
}

/// Each bad input: one line on stderr, nothing on stdout, its own exit
/// code, and the command never ran.
#[test]
fn bad_input_is_refused_before_anything_runs() {
    let Some(mut f) = awkward() else { return };
    let ran = f.sb.path("command-ran");
    let touch = |cmd: litekeys_tests::Run| cmd.args(["--", "touch"]).arg(&ran);
    let secret = f.value("LITELLM_MASTER_KEY").to_string();

    let missing = f.sb.path("secrets/missing.enc.env");
    let out = touch(f.sb.cmd("litekeys").arg("exec").arg("-f").arg(&missing)).expect(Exit::Error);
    out.one_line_error("missing.enc.env");
    assert!(!ran.exists(), "ran despite a missing file");

    let bad = f.with_bad_name();
    let out = touch(f.sb.cmd("litekeys").arg("exec").arg("-f").arg(&bad)).expect(Exit::Usage);
    out.one_line_error("BAD-NAME").never_shows(&secret);
    assert!(!ran.exists(), "ran despite an invalid name");
    // Leaving the bad name out with --only is the way through.
    touch(
        f.sb.cmd("litekeys")
            .arg("exec")
            .arg("-f")
            .arg(&bad)
            .args(["--only", "EMPTY"]),
    )
    .success();
    assert!(ran.exists());
    std::fs::remove_file(&ran).unwrap();

    let out = touch(f.exec().args(["--only", "NOT_THERE"])).expect(Exit::Error);
    out.one_line_error("NOT_THERE");
    assert!(!ran.exists(), "ran despite an unknown --only key");

    f.use_wrong_identity();
    let out = touch(f.exec()).expect(Exit::NoIdentity);
    out.one_line_error("global.enc.env").never_shows(&secret);
    assert!(!ran.exists(), "ran despite a wrong identity");
}

#[test]
fn a_command_that_cannot_run_has_shells_codes() {
    let Some(f) = awkward() else { return };
    let secret = f.value("LITELLM_MASTER_KEY");
    let out = f
        .exec()
        .args(["--", "no-such-command-litekeys-test"])
        .expect(Exit::CommandNotFound);
    out.one_line_error("no-such-command-litekeys-test")
        .never_shows(secret);

    let script = f.sb.write("not-executable.sh", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = f
        .exec()
        .arg("--")
        .arg(&script)
        .expect(Exit::CommandCannotRun);
    out.one_line_error("not-executable.sh").never_shows(secret);
}

#[test]
fn the_command_gets_its_own_argv() {
    let Some(f) = awkward() else { return };
    // The child sees its own argv only: no value is passed as an argument.
    let out = f.exec().args(["--", "cat", "/proc/self/cmdline"]).success();
    assert_eq!(out.stdout, b"cat\0/proc/self/cmdline\0");
    assert!(out.stderr.is_empty());
}
