//! `litekeys direnv`: bash evaluates the output to exactly the values (and
//! runs none of them); the real direnv exports them through an `.envrc`
//! (`eval "$(litekeys direnv)"` and `use litekeys`) and reloads when the
//! encrypted file is replaced.

use litekeys_tests::consumers_lab::{Fixture, awkward, parse_env0, parse_nul_list};
use litekeys_tests::{Outcome, require};
use std::path::{Path, PathBuf};
use vault::Exit;

/// Prints `${!name}` NUL-terminated for each name given after the script.
const PRINT_VALUES: &str = r#"for k in "$@"; do printf '%s\0' "${!k}"; done"#;

fn direnv_output(f: &Fixture, extra: &[&str]) -> Outcome {
    f.sb.cmd("litekeys")
        .arg("direnv")
        .arg("-f")
        .arg(&f.file)
        .args(extra)
        .success()
}

#[test]
fn bash_eval_reproduces_every_value_and_runs_none() {
    let Some(f) = awkward() else { return };
    let bash = require!("bash");
    let out = direnv_output(&f, &[]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    f.sb.write("direnv.out", &out.stdout);
    // A stand-in for direnv's watch_file records what is watched.
    let script = format!(
        "watch_file() {{ printf '%s' \"$1\" > watched; }}\n\
         eval \"$(cat direnv.out)\"\n{PRINT_VALUES}"
    );
    let names = f.names();
    let got =
        f.sb.program(&bash)
            .args(["-c", &script, "bash"])
            .args(&names)
            .success();
    f.assert_all_in(&parse_nul_list(&got, &names));
    f.assert_marker_absent();
    assert_eq!(
        Path::new(std::str::from_utf8(&f.sb.read("watched")).unwrap()),
        f.file,
        "watch_file names the encrypted file"
    );
}

#[test]
fn the_output_is_one_watch_then_one_export_per_value() {
    let Some(f) = awkward() else { return };
    let out = direnv_output(&f, &["--only", "LITELLM_MASTER_KEY,EMPTY"]);
    assert_eq!(
        out.stdout_str(),
        format!(
            "watch_file '{}'\nexport EMPTY=''\nexport LITELLM_MASTER_KEY='{}'\n",
            f.file.display(),
            f.value("LITELLM_MASTER_KEY")
        )
    );
}

#[test]
fn a_relative_file_is_watched_by_its_absolute_path() {
    let Some(f) = awkward() else { return };
    let out =
        f.sb.cmd("litekeys")
            .args(["direnv", "-f", "secrets/global.enc.env", "--only", "EMPTY"])
            .success();
    let first = out.stdout_str().lines().next().unwrap().to_string();
    assert_eq!(first, format!("watch_file '{}'", f.file.display()));
}

#[test]
fn bad_input_prints_nothing_to_evaluate() {
    let Some(mut f) = awkward() else { return };
    let secret = f.value("LITELLM_MASTER_KEY").to_string();
    let bad = f.with_bad_name();
    f.sb.test("litekeys")
        .arg("direnv")
        .arg("-f")
        .arg(&bad)
        .status(Exit::Usage)
        .one_line_error("BAD-NAME")
        .never_shows(&secret)
        .run();
    f.sb.test("litekeys")
        .args(["direnv", "-f", "secrets/missing.enc.env"])
        .status(Exit::Error)
        .one_line_error("missing.enc.env")
        .run();
    f.use_wrong_identity();
    f.sb.test("litekeys")
        .arg("direnv")
        .arg("-f")
        .arg(&f.file)
        .status(Exit::NoIdentity)
        .one_line_error("global.enc.env")
        .never_shows(&secret)
        .run();
}

#[test]
fn the_stdlib_is_bash_defining_use_litekeys() {
    let Some(f) = awkward() else { return };
    let bash = require!("bash");
    let out = f.sb.cmd("litekeys").args(["direnv", "--stdlib"]).success();
    let lib = f.sb.write("litekeys.sh", &out.stdout);
    f.sb.program(&bash).arg("-n").arg(&lib).success();
    f.sb.program(&bash)
        .arg("-c")
        .arg(format!(". '{}'; declare -F use_litekeys", lib.display()))
        .success();
}

/// A project directory with an `.envrc`, allowed by the real direnv.
fn project(f: &Fixture, direnv: &Path, name: &str, envrc: &str) -> PathBuf {
    let dir = f.sb.path(name);
    f.sb.write(format!("{name}/.envrc"), envrc);
    f.sb.program(direnv).arg("allow").arg(&dir).success();
    dir
}

fn install_stdlib(f: &Fixture) {
    let out = f.sb.cmd("litekeys").args(["direnv", "--stdlib"]).success();
    f.sb.write("home/.config/direnv/direnvrc", &out.stdout);
}

fn direnv_env(
    f: &Fixture,
    direnv: &Path,
    dir: &Path,
) -> std::collections::BTreeMap<String, String> {
    let out =
        f.sb.program(direnv)
            .arg("exec")
            .arg(dir)
            .args(["env", "-0"])
            .success();
    parse_env0(&out)
}

#[test]
fn real_direnv_with_eval_exports_every_value() {
    let Some(mut f) = awkward() else { return };
    let direnv = require!("direnv");
    f.put_litekeys_on_path();
    let dir = project(
        &f,
        &direnv,
        "eval-project",
        &format!("eval \"$(litekeys direnv -f '{}')\"\n", f.file.display()),
    );
    for name in ["LITELLM_MASTER_KEY", "NEWLINES", "SINGLE_QUOTE"] {
        let out =
            f.sb.program(&direnv)
                .arg("exec")
                .arg(&dir)
                .args(["printenv", name])
                .success();
        assert_eq!(out.stdout_str(), format!("{}\n", f.value(name)), "{name}");
    }
    f.assert_all_in(&direnv_env(&f, &direnv, &dir));
    f.assert_marker_absent();
}

#[test]
fn real_direnv_with_use_litekeys_exports_every_value() {
    let Some(mut f) = awkward() else { return };
    let direnv = require!("direnv");
    f.put_litekeys_on_path();
    install_stdlib(&f);
    // No FILE: the nearest secrets/global.enc.env, found from the project.
    let dir = project(&f, &direnv, "use-project", "use litekeys\n");
    let out =
        f.sb.program(&direnv)
            .arg("exec")
            .arg(&dir)
            .args(["printenv", "LITELLM_MASTER_KEY"])
            .success();
    assert_eq!(
        out.stdout_str(),
        format!("{}\n", f.value("LITELLM_MASTER_KEY"))
    );
    f.assert_all_in(&direnv_env(&f, &direnv, &dir));
    f.assert_marker_absent();

    // FILE and --only.
    let only = project(
        &f,
        &direnv,
        "only-project",
        "use litekeys ../secrets/global.enc.env --only EMPTY,UNICODE\n",
    );
    let env = direnv_env(&f, &direnv, &only);
    assert_eq!(env["UNICODE"], f.value("UNICODE"));
    assert_eq!(env["EMPTY"], "");
    assert!(!env.contains_key("LITELLM_MASTER_KEY"));
}

#[test]
fn use_litekeys_exports_nothing_when_litekeys_fails() {
    let Some(mut f) = awkward() else { return };
    let direnv = require!("direnv");
    f.put_litekeys_on_path();
    install_stdlib(&f);
    let dir = project(
        &f,
        &direnv,
        "failing-project",
        "export BEFORE=kept\nuse litekeys ../secrets/global.enc.env\nexport AFTER=kept\n",
    );
    f.use_wrong_identity();
    let out =
        f.sb.program(&direnv)
            .arg("exec")
            .arg(&dir)
            .args(["env", "-0"])
            .success();
    let env = parse_env0(&out);
    for name in f.names() {
        assert!(
            !env.contains_key(name),
            "{name} exported despite the failure"
        );
    }
    assert_eq!(env["BEFORE"], "kept");
    // direnv shows litekeys' own error and the function's verdict.
    assert!(out.stderr.contains("global.enc.env"), "{}", out.stderr);
    assert!(
        out.stderr.contains("use litekeys: nothing exported"),
        "{}",
        out.stderr
    );
    out.never_shows(f.value("LITELLM_MASTER_KEY"));
}

/// `$1` the project, `$2` the replacement, `$3` the encrypted file: prints the
/// value after loading, what a second `direnv export` does, and the value
/// after the replacement, NUL-terminated.
const RELOAD: &str = r#"set -euo pipefail
cd "$1"
eval "$(direnv export bash)"
printf '%s\0' "$LITELLM_MASTER_KEY"
printf '%s\0' "$(direnv export bash)"
mv "$2" "$3"
touch -m -d @946684800 "$3"
eval "$(direnv export bash)"
printf '%s\0' "$LITELLM_MASTER_KEY"
"#;

/// The shell hook's view: `direnv export bash` loads, then outputs nothing
/// while nothing changed, then reloads once the encrypted file is replaced
/// (its mtime set explicitly: direnv compares modification times).
#[test]
fn real_direnv_reloads_when_the_encrypted_file_is_replaced() {
    let Some(mut f) = awkward() else { return };
    let direnv = require!("direnv");
    let bash = require!("bash");
    f.put_litekeys_on_path();
    install_stdlib(&f);
    let replacement = vec![(
        "LITELLM_MASTER_KEY".to_string(),
        format!("sk-rotated-'$(touch {})'\nsecond line", f.marker.display()),
    )];
    for (name, envrc) in [
        (
            "reload-eval",
            format!("eval \"$(litekeys direnv -f '{}')\"\n", f.file.display()),
        ),
        (
            "reload-use",
            format!("use litekeys '{}'\n", f.file.display()),
        ),
    ] {
        let original = f.sb.read(&f.file);
        let dir = project(&f, &direnv, name, &envrc);
        let next = litekeys_tests::consumers_lab::encrypt(
            &f.sb,
            &f.sops,
            &f.recipient,
            "secrets/next.enc.env",
            &replacement,
        );
        let out =
            f.sb.program(&bash)
                .args(["-c", RELOAD, "bash"])
                .arg(&dir)
                .arg(&next)
                .arg(&f.file)
                .success();
        let got = parse_nul_list(&out, &["before", "unchanged", "after"]);
        assert_eq!(got["before"], f.value("LITELLM_MASTER_KEY"), "{name}");
        assert_eq!(
            got["unchanged"], "",
            "{name}: reloaded with nothing changed"
        );
        assert_eq!(got["after"], replacement[0].1, "{name}: no reload");
        f.assert_marker_absent();
        std::fs::write(&f.file, original).unwrap();
    }
}
