//! `litekeys-rotate` end to end in a sandbox shaped like the seeds, against
//! the real sops (the source) and systemd-analyze (the drop-in).

use litekeys_tests::rotate_lab::*;
use litekeys_tests::{Test, require, walk};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use vault::Exit;

#[test]
fn rotation_changes_exactly_the_right_fields() {
    let Some(s) = Seeds::new() else { return };
    let home = s.sb.home();
    let docker = s.sb.path("srv/docker/litellm/.env");
    let docker_gid = std::fs::metadata(&docker).unwrap().gid();

    let out = s.cmd().arg("--yes").success();
    let new = s.master();
    out.never_shows(OLD_MASTER)
        .never_shows(&new)
        .never_shows(OLD_SALT);
    assert!(
        out.stdout_str().starts_with("rotated LITELLM_MASTER_KEY"),
        "{}",
        out.stdout_str()
    );
    assert!(
        new.starts_with("sk-")
            && new.len() >= 46
            && new[3..].chars().all(|c| c.is_ascii_alphanumeric())
    );

    // The source: only the master key changed (the real sops reads it).
    let values = s.decrypt();
    assert_eq!(values["LITELLM_SALT_KEY"], OLD_SALT);
    assert_eq!(values["OTHER_VAR"], "kept");
    assert_eq!(values.len(), 3);

    // Droid: the two LiteLLM routes with literal keys; VibeProxy, Z.AI,
    // ${VAR} and env: routes, unknown fields and layout untouched.
    assert_eq!(
        s.read(&home.join(".factory/settings.json")),
        rotated_droid(SETTINGS, &new)
    );
    assert_eq!(
        s.read(&home.join(".factory/config.json")),
        LEGACY.replace("OLD_MASTER", &new)
    );
    assert_eq!(
        s.read(&home.join(".factory/config.d/lab-litellm.json")),
        GENERATED.replace("OLD_MASTER", &new)
    );

    // litellm.env through its symlink; the docker .env keeps 0640 and group.
    let link = home.join(".config/lab-secrets/litellm.env");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        s.read(&link),
        format!(
            "# LiteLLM keys (materialised by direnv)\nLITELLM_MASTER_KEY={new}\nLITELLM_SALT_KEY={OLD_SALT}\n"
        )
    );
    assert_eq!(
        s.read(&docker),
        format!("LITELLM_MASTER_KEY={new}\nLITELLM_SALT_KEY={OLD_SALT}\nSTORE_MODEL_IN_DB=False\n")
    );
    let md = std::fs::metadata(&docker).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o640);
    assert_eq!(md.gid(), docker_gid);
    assert_eq!(
        s.read(&home.join(".config/systemd/user/litellm.service.d/litekeys.conf")),
        format!("[Service]\nEnvironment=\"LITELLM_MASTER_KEY={new}\"\nRestart=on-failure\n")
    );

    // status: all in sync; one audit line with fingerprints, no values.
    s.test()
        .arg("status")
        .stdout_lacks("drifted")
        .never_shows(&new)
        .run();
    let json = s.cmd().args(["status", "--json"]).success();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["in_sync"], true);
    assert_eq!(v["sinks"].as_array().unwrap().len(), 6);
    assert_eq!(v["last_rotation"]["action"], "rotate");
    let audit = std::fs::read_to_string(home.join(".local/state/litekeys/audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 1);
    let fp = |k: &str| vault::fingerprint(k.as_bytes());
    assert!(
        audit.contains(&format!(
            "LITELLM_MASTER_KEY={}->{} unverified",
            fp(OLD_MASTER),
            fp(&new)
        )),
        "{audit}"
    );
    assert!(!holds_key(audit.as_bytes()));
    assert_eq!(s.strays(), Vec::<std::path::PathBuf>::new());
    let tx = home.join(".local/state/litekeys/tx");
    for journal in walk(&tx) {
        assert_eq!(
            std::fs::metadata(&journal).unwrap().len(),
            0,
            "a journal is left"
        );
    }
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let Some(s) = Seeds::new() else { return };
    let out = s
        .test()
        .arg("--dry-run")
        .never_shows(OLD_MASTER)
        .files_unchanged([""])
        .run();
    let plan = out.stdout_str();
    let old = vault::fingerprint(OLD_MASTER.as_bytes());
    for needle in [
        "settings.json",
        "customModels[2].apiKey (custom:gpt-5-5-[LiteLLM]-6)",
        "custom_models[1].api_key (qwen2.5-coder (LiteLLM))",
        "config.d/lab-litellm.json",
        "srv/docker/litellm/.env",
        &format!("LITELLM_MASTER_KEY: {old} -> (fresh key)"),
    ] {
        assert!(plan.contains(needle), "{needle:?} not in\n{plan}");
    }
    assert!(
        !plan.contains("customModels[0]") && !plan.contains("customModels[4]"),
        "{plan}"
    );
}

#[test]
fn status_reports_drift_and_sync_repairs_it() {
    let Some(s) = Seeds::new() else { return };
    s.cmd().arg("--yes").success();
    // Another machine rotated and pushed: `git pull` brings a new source.
    let pulled = "sk-PULLEDkey000000aaaaBBBBccccDDDDeeeeFFFFggggPULL";
    s.sops
        .set(&s.sb, &s.source, "LITELLM_MASTER_KEY", pulled)
        .success();
    let status = s
        .test()
        .arg("status")
        .status(Exit::Drift)
        .never_shows(pulled)
        .files_unchanged([""])
        .run();
    assert_eq!(
        status.stdout_str().matches("drifted").count(),
        6,
        "{}",
        status.stdout_str()
    );
    let out = s.cmd().args(["sync", "--yes"]).success();
    assert!(
        out.stdout_str().starts_with("synced LITELLM_MASTER_KEY"),
        "{}",
        out.stdout_str()
    );
    s.assert_all_hold(pulled);
    assert_eq!(s.master(), pulled);
    s.cmd().arg("status").success();
    let again = s.cmd().arg("sync").success();
    assert!(
        again.stdout_str().contains("every sink is in sync"),
        "{}",
        again.stdout_str()
    );
}

#[test]
fn salt_is_refused_with_a_database_unless_forced() {
    let Some(s) = Seeds::with_config(|t| {
        t.replace(
            "[service]",
            "litellm_config = \"~/.config/litellm/config.yaml\"\n[service]",
        )
    }) else {
        return;
    };
    s.sb.write(
        "home/.config/litellm/config.yaml",
        "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  database_url: postgresql://litellm@db/litellm\n",
    );
    s.test()
        .args(["--salt", "--yes"])
        .status(Exit::Usage)
        .one_line_error("config.yaml:3 sets database_url")
        .files_unchanged([""])
        .run();

    s.cmd()
        .args(["rotate", "--salt", "--force-salt", "--yes"])
        .success();
    let values = s.decrypt();
    assert_ne!(values["LITELLM_SALT_KEY"], OLD_SALT);
    let env = s.read(&s.sb.home().join("dotfiles/litellm.env"));
    assert!(env.contains(&format!(
        "LITELLM_SALT_KEY={}\n",
        values["LITELLM_SALT_KEY"]
    )));
}

#[test]
fn drop_in_passes_systemd_analyze_verify_with_awkward_values() {
    let Some(s) = Seeds::new() else { return };
    let analyze = require!("systemd-analyze");
    let home = s.sb.home();
    let run_dir = home.join("run");
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let unit = home.join(".config/systemd/user/litellm.service");
    let verify = || {
        s.sb.program(&analyze)
            .env("XDG_RUNTIME_DIR", &run_dir)
            .args(["verify", "--user"])
            .arg(&unit)
    };
    // The check can fail: a bad specifier in the drop-in is reported.
    let dropin = home.join(".config/systemd/user/litellm.service.d/litekeys.conf");
    let good = std::fs::read(&dropin).unwrap();
    std::fs::write(&dropin, "[Service]\nEnvironment=\"A=x%Zy\"\n").unwrap();
    let bad = verify().output();
    assert!(
        bad.stderr.contains("litekeys.conf"),
        "systemd-analyze did not read the drop-in: {bad:?}"
    );
    std::fs::write(&dropin, good).unwrap();

    let awkward = r#"sk-pe%rc\ent"quote%%s\\"#;
    s.sops
        .set(&s.sb, &s.source, "LITELLM_MASTER_KEY", awkward)
        .success();
    s.cmd().arg("sync").success();
    assert_eq!(
        s.read(&dropin),
        "[Service]\nEnvironment=\"LITELLM_MASTER_KEY=sk-pe%%rc\\\\ent\\\"quote%%%%s\\\\\\\\\"\nRestart=on-failure\n"
    );
    // systemd-analyze neither fails nor warns.
    Test::of(verify(), s.sb.path("")).stderr_is("").run();
    assert_eq!(
        s.read(&home.join("dotfiles/litellm.env"))
            .lines()
            .nth(1)
            .unwrap(),
        format!("LITELLM_MASTER_KEY='{awkward}'")
    );
    s.cmd().arg("status").success();
}

#[test]
fn init_creates_a_source_sops_decrypts_and_never_overwrites() {
    let Some(s) = Seeds::new() else { return };
    let fresh = s.repo.join("secrets/fresh.enc.env");
    std::fs::write(
        &s.config,
        "source = \"secrets/fresh.enc.env\"\n[service]\nmanager = \"none\"\n",
    )
    .unwrap();
    s.sb.trust("repo/litekeys.toml");
    let out = s.cmd().args(["init", "--age", &s.recipient]).success();
    assert!(out.stdout_str().contains("created"), "{}", out.stdout_str());
    // secrets/ existed: its files are the user's, no .gitignore appears.
    assert!(!s.repo.join("secrets/.gitignore").exists());
    let plain = s.sops.decrypt(&s.sb, &fresh).success();
    let text = plain.stdout_str();
    assert!(
        text.starts_with("LITELLM_MASTER_KEY=sk-") && text.contains("\nLITELLM_SALT_KEY=sk-"),
        "shape"
    );
    out.never_shows(text.lines().next().unwrap().split_once('=').unwrap().1);
    let bytes = std::fs::read(&fresh).unwrap();
    s.test()
        .args(["init", "--age", &s.recipient])
        .status(Exit::Usage)
        .one_line_error("already exists")
        .files_unchanged([&fresh])
        .run();
    assert_eq!(std::fs::read(&fresh).unwrap(), bytes);
}

#[test]
fn init_in_a_new_directory_git_ignores_the_lock_files() {
    let Some(s) = Seeds::new() else { return };
    std::fs::write(
        &s.config,
        "source = \"vault/global.enc.env\"\n[service]\nmanager = \"none\"\n",
    )
    .unwrap();
    s.sb.trust("repo/litekeys.toml");
    let out = s.cmd().args(["init", "--age", &s.recipient]).success();
    assert!(
        out.stdout_str().contains(".gitignore"),
        "{}",
        out.stdout_str()
    );
    let git = require!("git");
    let status = |s: &Seeds| {
        s.sb.program(&git)
            .args(["status", "--porcelain", "--untracked-files=all", "vault"])
            .current_dir(&s.repo)
            .success()
            .stdout_str()
            .to_string()
    };
    Test::of(s.sb.program(&git), s.sb.path(""))
        .args(["init", "-q"])
        .in_dir(&s.repo)
        .run();
    // A rotation takes the lock, leaving its sidecar next to the source.
    s.cmd().arg("--yes").success();
    assert!(s.repo.join("vault/.global.enc.env.lock").exists());
    let listed = status(&s);
    assert!(
        listed.contains("vault/global.enc.env") && !listed.contains(".lock"),
        "{listed}"
    );
}

#[test]
fn help_lists_the_exit_codes() {
    let Some(s) = Seeds::new() else { return };
    let out = s.cmd().arg("--help").success();
    // The one table (clap wraps its long lines): each code with the start
    // of its meaning.
    for exit in [
        Exit::Locked,
        Exit::RolledBack,
        Exit::RollbackIncomplete,
        Exit::Drift,
    ] {
        let start: Vec<&str> = exit.meaning().split_whitespace().take(3).collect();
        let line = format!("{:>3}  {}", exit.code(), start.join(" "));
        assert!(out.stdout_str().contains(&line), "{line:?} not in --help");
    }
}
