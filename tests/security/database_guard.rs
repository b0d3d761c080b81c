//! The salt key's database guard: a changed `LITELLM_SALT_KEY` makes every
//! credential LiteLLM stored in its database unreadable. On 0.1.0 `--salt`
//! was refused only for `DATABASE_URL` in the environment or the source,
//! or a block-style `database_url` in a configured LiteLLM config; a
//! `DATABASE_URL` in litellm.env or a compose `.env`, the
//! `DATABASE_HOST` family, flow-style YAML all let it through, and `sync`
//! changed the salt key with no guard at all.

use litekeys_tests::rotate_lab::*;
use vault::Exit;

/// `--salt --yes` (and its dry run) refused naming `place`, every file
/// of the sandbox unchanged.
fn salt_refused(s: &Seeds, env: &[(&str, &str)], place: &str) {
    for extra in [&["--yes"][..], &["--dry-run"]] {
        let mut t = s.test().arg("--salt").args(extra);
        for (k, v) in env {
            t = t.env(k, v);
        }
        t.status(Exit::Usage)
            .one_line_error("--salt refused")
            .one_line_error(place)
            .never_shows(OLD_SALT)
            .files_unchanged([""])
            .run();
    }
}

#[test]
fn database_host_in_the_environment_refuses_salt() {
    let Some(s) = Seeds::new() else { return };
    for name in [
        "DATABASE_HOST",
        "DATABASE_USERNAME",
        "DATABASE_PASSWORD",
        "DATABASE_NAME",
    ] {
        salt_refused(
            &s,
            &[(name, "db")],
            &format!("{name} is set in the environment"),
        );
    }
}

#[test]
fn database_url_in_the_source_refuses_salt() {
    let Some(s) = Seeds::new() else { return };
    s.sb.cmd("litekeys")
        .arg("-f")
        .arg(&s.source)
        .args(["set", "DATABASE_URL"])
        .stdin("postgresql://litellm@db/litellm")
        .success();
    salt_refused(&s, &[], "global.enc.env sets DATABASE_URL");
}

#[test]
fn database_url_in_litellm_env_refuses_salt() {
    let Some(s) = Seeds::new() else { return };
    let env = s.sb.home().join("dotfiles/litellm.env");
    let text = s.read(&env);
    std::fs::write(
        &env,
        format!("{text}DATABASE_URL=postgresql://litellm@db/litellm\n"),
    )
    .unwrap();
    salt_refused(&s, &[], "litellm.env sets DATABASE_URL");
}

#[test]
fn database_password_in_the_compose_env_refuses_salt() {
    // The compose project's .env is read by `docker compose`, sink or not.
    let Some(s) = Seeds::with_config(|t| {
        t.replace(
            "manager = \"none\"",
            "manager = \"compose\"\ndir = \"../srv/compose\"\nservice = \"litellm\"",
        )
    }) else {
        return;
    };
    s.sb.write("srv/compose/.env", "DATABASE_PASSWORD=hunter2\n");
    salt_refused(&s, &[], "compose/.env sets DATABASE_PASSWORD");
}

#[test]
fn a_flow_style_database_url_in_litellms_config_refuses_salt() {
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
        "model_list: []\ngeneral_settings: {\"master_key\": \"os.environ/LITELLM_MASTER_KEY\", 'database_url': \"postgresql://db/litellm\"}\n",
    );
    salt_refused(&s, &[], "config.yaml:2 sets database_url");
}

/// A `litellm-config` sink is LiteLLM's config as much as `[gateway]
/// litellm_config`: its `database_url` refuses `--salt` with no other key.
#[test]
fn a_database_url_in_a_litellm_config_sink_refuses_salt() {
    let Some(s) = Seeds::with_config(|t| {
        format!(
            "{t}\n[[sink]]\nkind = \"litellm-config\"\npath = \"~/.config/litellm/config.yaml\"\n"
        )
    }) else {
        return;
    };
    s.sb.write(
        "home/.config/litellm/config.yaml",
        "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  database_url: postgresql://db/litellm\n",
    );
    salt_refused(&s, &[], "config.yaml:3 sets database_url");
}

/// A sync (and each of `args`) refused while a database is in use, naming
/// `refusal`, never showing `hidden`, every file unchanged; without a
/// database the sync goes through, and forced it writes the source's salt
/// key into litellm.env.
fn salt_sync_refused_unless_forced(s: &Seeds, args: &[&[&str]], refusal: &str, hidden: &[&str]) {
    let database = ("DATABASE_URL", "postgresql://litellm@db/litellm");
    for args in args {
        let mut t = s
            .test()
            .args(*args)
            .env(database.0, database.1)
            .status(Exit::Usage)
            .one_line_error(refusal)
            .one_line_error("DATABASE_URL is set in the environment")
            .one_line_error("--force-salt");
        for h in hidden {
            t = t.never_shows(*h);
        }
        t.files_unchanged([""]).run();
    }
    // Without a database the same sync goes through.
    s.cmd().args(["sync", "--dry-run"]).success();
    // Forced, it writes the source's salt key.
    s.cmd()
        .args(["sync", "--force-salt"])
        .env(database.0, database.1)
        .success();
    let env = s.sb.home().join("dotfiles/litellm.env");
    assert!(
        s.read(&env)
            .contains(&format!("LITELLM_SALT_KEY={OLD_SALT}\n"))
    );
}

#[test]
fn a_sync_that_would_change_the_salt_key_is_refused_unless_forced() {
    let Some(s) = Seeds::new() else { return };
    // Another machine's salt key in litellm.env: a sync would replace it.
    let env = s.sb.home().join("dotfiles/litellm.env");
    let other = "sk-OTHERsaltKEY0000aaaaBBBBccccDDDDeeeeFFFFgggg0000";
    let text = s.read(&env).replace(OLD_SALT, other);
    std::fs::write(&env, text).unwrap();
    salt_sync_refused_unless_forced(
        &s,
        &[&["sync"], &["sync", "--dry-run"], &["--yes"]],
        "litellm.env: LITELLM_SALT_KEY would change, refused",
        &[OLD_SALT, other],
    );
}

/// LiteLLM encrypts what it stores with the master key when it has no salt
/// key: a sync that would give it one (the source has one, no file the
/// gateway reads does) makes every stored credential unreadable, so with a
/// database it is refused unless forced; without one it goes through.
#[test]
fn a_sync_that_would_give_litellm_a_salt_key_it_never_had_is_refused_unless_forced() {
    let Some(s) = Seeds::new() else { return };
    let env = s.sb.home().join("dotfiles/litellm.env");
    let docker = s.sb.path("srv/docker/litellm/.env");
    for file in [&env, &docker] {
        let text = s
            .read(file)
            .replace(&format!("LITELLM_SALT_KEY={OLD_SALT}\n"), "");
        std::fs::write(file, text).unwrap();
    }
    salt_sync_refused_unless_forced(
        &s,
        &[&["sync"], &["sync", "--dry-run"]],
        "LITELLM_SALT_KEY would be set where LiteLLM has none, refused",
        &[OLD_SALT],
    );
}
