//! `litekeys-watch install`: the unit it writes passes the real
//! `systemd-analyze verify` with nothing on stderr.

use litekeys_tests::{Sandbox, Test, require};
use vault::Exit;

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    let run = sb.home().join("run");
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    sb.set_env("XDG_RUNTIME_DIR", &run);
    sb.set_env("SOPS_AGE_KEY_FILE", sb.home().join("keys 100%.txt"));
    sb.write(
        "litekeys.toml",
        "source = \"secrets/global.enc.env\"\n\
         [service]\nmanager = \"systemd-user\"\nunit = \"litellm.service\"\n\
         [[sink]]\nkind = \"dotenv\"\npath = \"~/.config/lab-secrets/litellm.env\"\n\
         [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\n\
         [[sink]]\nkind = \"systemd-env\"\npath = \"~/.config/systemd/user/litellm.service.d/litekeys.conf\"\n",
    );
    sb
}

fn verify(sb: &Sandbox, analyze: &std::path::Path, user: bool, unit: &std::path::Path) {
    let mut run = sb.program(analyze);
    if user {
        run = run.arg("--user");
    }
    let out = run.arg("verify").arg(unit).output();
    assert_eq!(out.code, 0, "systemd-analyze verify: {}", out.stderr);
    assert_eq!(out.stderr, "", "systemd-analyze verify warns");
}

#[test]
fn install_writes_a_user_unit_that_systemd_analyze_verifies() {
    let analyze = require!("systemd-analyze");
    let sb = sandbox();
    let out = sb
        .cmd("litekeys-watch")
        .args(["install", "--config", "litekeys.toml"])
        .success();
    assert_eq!(
        out.stdout_str(),
        "systemctl --user enable --now litekeys-watch.service\n"
    );
    let unit = sb
        .home()
        .join(".config/systemd/user/litekeys-watch.service");
    let text = std::fs::read_to_string(&unit).expect("the unit is written");
    for line in [
        "Type=notify",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=strict",
        "WantedBy=default.target",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    let config = sb.path("litekeys.toml").canonicalize().unwrap();
    assert!(
        text.contains(&format!("--config {}", config.display())),
        "{text}"
    );
    let rw = text
        .lines()
        .find(|l| l.starts_with("ReadWritePaths="))
        .unwrap();
    for dir in [
        ".config/lab-secrets",
        ".factory",
        ".config/systemd/user/litellm.service.d",
        ".local/state/litekeys",
    ] {
        assert!(
            rw.contains(&format!("-{}", sb.home().join(dir).display())),
            "{dir} not writable: {rw}"
        );
    }
    assert!(
        text.contains("Environment=\"SOPS_AGE_KEY_FILE=") && text.contains("keys 100%%.txt"),
        "{text}"
    );
    assert!(sb.home().join(".local/state/litekeys").is_dir());
    verify(&sb, &analyze, true, &unit);
}

#[test]
fn print_writes_nothing_and_the_system_unit_verifies() {
    let analyze = require!("systemd-analyze");
    let sb = sandbox();
    let out = sb
        .cmd("litekeys-watch")
        .args([
            "install",
            "--system",
            "--print",
            "--config",
            "litekeys.toml",
        ])
        .success();
    let text = out.stdout_str();
    assert!(text.contains("WantedBy=multi-user.target"), "{text}");
    assert!(!sb.home().join(".config/systemd").exists());
    let unit = sb.write("litekeys-watch.service", text);
    verify(&sb, &analyze, false, &unit);

    let user = sb
        .cmd("litekeys-watch")
        .args(["install", "--print", "--config", "litekeys.toml"])
        .success();
    assert!(user.stdout_str().contains("WantedBy=default.target"));
    assert!(!sb.home().join(".config/systemd").exists());
}

#[test]
fn a_bad_config_is_one_line_naming_it() {
    Test::new("litekeys-watch")
        .write(
            "litekeys.toml",
            "source = \"s.enc.env\"\n[service]\nmanager = \"launchd\"\n",
        )
        .args(["install", "--config", "litekeys.toml"])
        .status(Exit::Usage)
        .one_line_error("litekeys.toml:3: unknown variant `launchd`")
        .files_unchanged(["home"])
        .run();
}

#[test]
fn without_a_config_the_unit_names_the_source_it_found() {
    let analyze = require!("systemd-analyze");
    let mut sb = Sandbox::new();
    let run = sb.home().join("run");
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    sb.set_env("XDG_RUNTIME_DIR", &run);
    let source = sb.write("project/secrets/global.enc.env", "not read by install\n");
    // Found by walking up: the unit runs on it only once it is trusted.
    sb.trust("project/secrets/global.enc.env");
    sb.cmd("litekeys-watch")
        .arg("install")
        .current_dir(sb.path("project"))
        .success();
    let unit = sb
        .home()
        .join(".config/systemd/user/litekeys-watch.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    let source = source.canonicalize().unwrap();
    assert!(
        text.contains(&format!(
            "Environment=\"LITEKEYS_FILE={}\"",
            source.display()
        )),
        "{text}"
    );
    assert!(!text.contains("--config"), "{text}");
    verify(&sb, &analyze, true, &unit);
}

#[test]
fn a_newline_in_a_path_cannot_add_a_line_to_the_unit() {
    let analyze = require!("systemd-analyze");
    let sb = sandbox();
    // A sink directory whose name carries a second unit line.
    let evil = "evil\nExecStartPre=/bin/touch /tmp/litekeys-pwned";
    sb.write(
        "litekeys.toml",
        format!(
            "source = \"secrets/global.enc.env\"\n\
             [service]\nmanager = \"systemd-user\"\nunit = \"litellm.service\"\n\
             [[sink]]\nkind = \"dotenv\"\npath = \"~/{}/litellm.env\"\n",
            evil.replace('\n', "\\n")
        ),
    );
    let out = sb
        .cmd("litekeys-watch")
        .args(["install", "--print", "--config", "litekeys.toml"])
        .output();
    if out.code == 0 {
        let text = out.stdout_str();
        assert!(
            !text.lines().any(|l| l.starts_with("ExecStartPre=")),
            "a path added a line to the unit:\n{text}"
        );
        let unit = sb.write("litekeys-watch.service", text);
        verify(&sb, &analyze, true, &unit);
    } else {
        // Refusing the path is the other honest answer: one line, no unit.
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
        assert!(!sb.home().join(".config/systemd").exists());
    }
}
