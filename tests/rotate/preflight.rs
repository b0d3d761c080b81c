//! Before a rotation (or a sync that restarts) writes anything, the service
//! manager must be able to act here: with no systemd user bus (this
//! machine: no systemd, like a container, an SSH session or WSL), an
//! unknown unit, no `docker compose` or its directory, or a restart
//! command that does not exist, `litekeys-rotate` refuses in one line,
//! exit usage, asks nothing, and every file stays as it was.

use litekeys_tests::Test;
use litekeys_tests::rotate_lab::{OLD_MASTER, Seeds};
use std::os::unix::fs::PermissionsExt;
use vault::Exit;

/// The lab with `[service]` as `service` says.
fn lab(service: &str) -> Option<Seeds> {
    Seeds::with_config(|t| t.replace("manager = \"none\"", service))
}

/// A refused run: exit usage, one line naming `what` and a way out, no key, no file changed.
fn refused(t: Test, what: &str) {
    let out = t
        .status(Exit::Usage)
        .one_line_error(what)
        .stderr_has("--no-restart")
        .never_shows(OLD_MASTER)
        .stdout_is("")
        .files_unchanged([""])
        .run();
    eprintln!("{}", out.stderr.trim_end());
}

#[test]
fn no_systemd_user_bus_refuses_in_one_line_and_changes_nothing() {
    // The default manager, where there is no user session.
    let Some(s) = lab("manager = \"systemd-user\"\nunit = \"litellm.service\"") else {
        return;
    };
    let expected = "litekeys-rotate: systemctl --user cannot reach a user bus (no systemd user session here: XDG_RUNTIME_DIR is not set); use --no-restart, or set [service] manager in litekeys.toml\n";
    for args in [&["--yes"][..], &[], &["rotate", "--yes"]] {
        // No --yes off a terminal: nothing is asked either way.
        refused(
            s.test().args(args).stderr_is(expected),
            "cannot reach a user bus",
        );
    }
    // A runtime directory with no bus in it: the real systemctl is asked
    // (or is missing) and cannot connect either.
    let runtime = s.sb.path("run-user");
    std::fs::create_dir_all(&runtime).unwrap();
    refused(
        s.test().arg("--yes").env("XDG_RUNTIME_DIR", &runtime),
        "systemctl --user cannot reach a user bus (no systemd user session here: ",
    );
    // A sink that drifted: the sync would restart, so it is refused too.
    let env = s.sb.home().join("dotfiles/litellm.env");
    let drifted = s.read(&env).replace(
        OLD_MASTER,
        "sk-DRIFTEDkey0000aaaaBBBBccccDDDDeeeeFFFFgggg00",
    );
    std::fs::write(&env, drifted).unwrap();
    refused(s.test().args(["sync", "--yes"]), "cannot reach a user bus");
    // --no-restart is the way out it names.
    s.cmd().args(["sync", "--yes", "--no-restart"]).success();
    s.cmd().args(["--yes", "--no-restart"]).success();
}

/// Off a terminal nothing is asked (scripts need that); with stderr on a
/// terminal (util-linux `script` gives it one) but stdin not, one line says
/// so; a script (neither a terminal) is told nothing.
#[test]
fn off_a_terminal_the_confirmation_is_skipped_and_said_once_when_someone_watches() {
    let Some(s) = Seeds::new() else { return };
    let Some(script) = litekeys_tests::which("script") else {
        eprintln!("SKIP: util-linux `script` is not installed");
        return;
    };
    let note = "stdin is not a terminal: proceeding without confirmation, as with --yes";
    let mut cmd = s.sb.process("litekeys-rotate");
    let bin = cmd.get_program().to_string_lossy().into_owned();
    let line = format!("'{bin}' --no-restart </dev/null");
    let out = cmd_output(
        std::process::Command::new(script)
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .envs(s.sb.env())
            .current_dir(&s.repo),
    );
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(shown.matches(note).count(), 1, "{shown}");
    assert!(shown.contains("rotated LITELLM_MASTER_KEY"), "{shown}");
    // Neither a terminal: rotated, and not a word about it.
    cmd.current_dir(&s.repo).arg("--no-restart");
    let out = cmd_output(&mut cmd);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("confirmation"),
        "{out:?}"
    );
}

fn cmd_output(cmd: &mut std::process::Command) -> std::process::Output {
    cmd.stdin(std::process::Stdio::null())
        .output()
        .expect("runs")
}

#[test]
fn an_unknown_unit_is_refused_before_anything_is_written() {
    let Some(s) = lab("manager = \"systemd-user\"\nunit = \"litelm.service\"") else {
        return;
    };
    // A systemctl that reaches its manager and knows only litellm.service.
    let fake = s.sb.write(
        "bin/systemctl",
        "#!/bin/sh\ncase \"$*\" in *' litellm.service') echo loaded ;; *) echo not-found ;; esac\n",
    );
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = s.sb.path("run-user");
    std::fs::create_dir_all(&runtime).unwrap();
    refused(
        s.test()
            .arg("--yes")
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("LITEKEYS_SYSTEMCTL", &fake),
        "does not know unit litelm.service (LoadState=not-found); set [service] unit in litekeys.toml",
    );
}

#[test]
fn a_restart_command_that_does_not_exist_is_refused() {
    let Some(s) = lab("manager = \"command\"\ncommand = [\"/no/such/restart-litellm\"]") else {
        return;
    };
    refused(
        s.test().arg("--yes"),
        "restart command `/no/such/restart-litellm` does not exist",
    );
    let Some(s) = lab("manager = \"command\"\ncommand = [\"restart-litellm-nowhere\", \"now\"]")
    else {
        return;
    };
    refused(
        s.test().arg("--yes"),
        "restart command `restart-litellm-nowhere` is not found on PATH",
    );
}

#[test]
fn compose_without_its_project_directory_is_refused() {
    let Some(s) = lab("manager = \"compose\"\ndir = \"/no/such/compose\"\nservice = \"litellm\"")
    else {
        return;
    };
    // A docker whose `compose version` works: the directory is what is missing.
    refused(
        s.test().arg("--yes").env("LITEKEYS_DOCKER", "/bin/true"),
        "compose project directory /no/such/compose does not exist",
    );
    // A docker with no compose plugin.
    refused(
        s.test().arg("--yes").env("LITEKEYS_DOCKER", "/bin/false"),
        "`/bin/false compose` does not work here",
    );
}
