//! Values no MAC vouches for: a key set twice, and names that steer the
//! programs `exec`/`direnv` start (an empty `PATH=` line anyone can add to
//! the encrypted file, or a `PATH=` a recipient holder wrote properly).

use litekeys_tests::require;
use litekeys_tests::write_lab::{W, setup};
use std::path::{Path, PathBuf};
use vault::Exit;

/// `line` put in front of `file`'s first line, as an attacker without the
/// key would add it (sops' MAC hashes values only; an empty one adds nothing).
fn prepend(file: &Path, line: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, format!("{line}\n{text}")).unwrap();
}

/// A file sops encrypted with `PATH` in it, added empty without the key.
fn empty_path_line(w: &W) -> PathBuf {
    let file = w.sops_encrypt("empty-path", "K=v\n", &[]);
    prepend(&file, "PATH=");
    // Still "MAC ok": the line is one nobody can tell from a real one.
    w.lk(&file).arg("check").success();
    file
}

#[test]
fn a_key_set_twice_is_refused_by_every_reader_naming_its_second_line() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("dup", "A=val-one\nB=b\nA=val-two\n", &[]);
    let before = std::fs::read(&file).unwrap();
    for args in [
        &["get", "A"][..],
        &["decrypt"],
        &["export"],
        &["exec", "--", "sh", "-c", "echo $A"],
        &["check"],
    ] {
        let out = w.lk(&file).args(args).expect(Exit::BadInput);
        out.one_line_error(":3: A is set a second time (first on line 1)")
            .never_shows("val-one")
            .never_shows("val-two");
    }
    w.lk(&file)
        .args(["set", "C"])
        .stdin("c")
        .expect(Exit::BadInput);
    assert_eq!(std::fs::read(&file).unwrap(), before, "nothing written");
}

#[test]
fn exec_refuses_a_path_written_by_a_recipient_holder_unless_allowed() {
    let Some(w) = setup() else { return };
    // A shell builtin: PATH is the attacker's directory alone.
    w.script("evil/droid", ": > ran-evil\n");
    let evil = w.sb.path("evil");
    let file = w.sops_encrypt("path", &format!("PATH={}\nK=v\n", evil.display()), &[]);
    let out = w
        .lk(&file)
        .args(["exec", "--", "droid"])
        .expect(Exit::BadInput);
    out.one_line_error(":1: PATH changes how programs run")
        .one_line_error("--allow-env PATH");
    assert!(
        !w.sb.path("ran-evil").exists(),
        "the repository's droid ran"
    );
    // The user who keeps PATH in the file says so.
    w.lk(&file)
        .args(["exec", "--allow-env", "PATH", "--", "droid"])
        .success();
    assert!(w.sb.path("ran-evil").exists());
}

#[test]
fn an_empty_path_line_added_without_the_key_is_refused_by_exec_export_and_ci() {
    let Some(w) = setup() else { return };
    let file = empty_path_line(&w);
    for args in [
        &["exec", "--", "sh", "-c", "echo ran"][..],
        &["export", "--format", "shell"],
        &["direnv"],
        &["ci", "gitlab"],
        &["ci", "env-file", "out.env"],
    ] {
        w.lk(&file)
            .args(args)
            .expect(Exit::BadInput)
            .one_line_error(":1: PATH changes how programs run");
    }
    assert!(!w.sb.path("out.env").exists());
    let ld = w.sops_encrypt("ld", "K=v\n", &[]);
    prepend(&ld, "LD_PRELOAD=");
    w.lk(&ld)
        .args(["exec", "--", "true"])
        .expect(Exit::BadInput)
        .one_line_error("LD_PRELOAD");
}

#[test]
fn a_direnv_shell_does_not_run_the_repositorys_ls() {
    let Some(mut w) = setup() else { return };
    let direnv = require!("direnv");
    let file = empty_path_line(&w);
    let bin_dir = litekeys_tests::bin("litekeys")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    w.sb.set_env("PATH", &path);
    w.sb.set_env("SOPS_AGE_KEY_FILE", &w.key);
    w.script("repo/ls", "touch ../ran-repo-ls\n");
    w.sb.write(
        "repo/.envrc",
        format!("eval \"$(litekeys direnv -f '{}')\"\n", file.display()),
    );
    let repo = w.sb.path("repo");
    w.sb.program(&direnv).arg("allow").arg(&repo).success();
    let out =
        w.sb.program(&direnv)
            .arg("exec")
            .arg(&repo)
            .args(["sh", "-c", "ls >/dev/null; printf %s \"$PATH\""])
            .current_dir(&repo)
            .output();
    assert!(out.stderr.contains("--allow-env PATH"), "{}", out.stderr);
    assert!(
        !w.sb.path("ran-repo-ls").exists(),
        "the repository's ls ran"
    );
    assert_eq!(out.stdout_str(), path, "PATH untouched");
}

#[test]
fn check_lists_the_lines_no_mac_covers() {
    let Some(w) = setup() else { return };
    let file = empty_path_line(&w);
    let out = w.lk(&file).arg("check").success();
    let text = out.stdout_str();
    assert!(
        text.contains("not covered by the MAC (empty values, anyone can add them): 1"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:1: PATH=", file.display())),
        "{text}"
    );
}

#[test]
fn exec_children_get_no_core_dumps() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("core", "K=v\n", &[]);
    let hard = w.sb.program("sh").args(["-c", "ulimit -H -c"]).success();
    if hard.stdout_str().trim() == "0" {
        return; // Nothing to lower: the test could not fail.
    }
    // Core dumps on for litekeys, as a developer's shell may have them.
    let out =
        w.sb.program("sh")
            .args(["-c", "ulimit -S -c \"$(ulimit -H -c)\"; exec \"$@\"", "sh"])
            .arg(litekeys_tests::bin("litekeys"))
            .arg("-f")
            .arg(&file)
            .args(["exec", "--", "sh", "-c", "ulimit -c"])
            .env("SOPS_AGE_KEY_FILE", &w.key)
            .success();
    assert_eq!(out.stdout_str().trim(), "0");
}
