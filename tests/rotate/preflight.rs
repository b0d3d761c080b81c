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
