//! `litekeys-watch` and the lines sops' MAC does not cover: an empty
//! `LITELLM_MASTER_KEY=` line anyone who can write the source can add.
//! On 0.1.0 the watcher synced the empty key into every sink and restarted
//! the gateway on it (an outage: LiteLLM refuses every request). Now it
//! logs one line (the key's name and the source, never a value) and waits.

use litekeys_tests::watch_lab::{ENV_FILE, Lab, SALT, SOURCE, env_text, key};

const ARGS: &[&str] = &["--min-interval", "0ms", "--no-verify"];

/// The source with `line` put in front of its first line, as an attacker
/// without the key would add it, renamed over it as editors save.
fn prepend_to_source(lab: &Lab, line: &str) {
    let text = String::from_utf8(lab.sb.read(SOURCE)).unwrap();
    lab.replace_source(format!("{line}\n{text}").as_bytes());
}

/// The one line the watcher logged about the source; nothing restarted,
/// the sink as it was, no value shown.
fn refused(lab: &Lab, w: &litekeys_tests::watch_lab::Watcher, needle: &str, keys: &[&str]) {
    w.wait_for(needle, 1);
    let errors: Vec<String> = w
        .log()
        .into_iter()
        .filter(|l| l.contains("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", w.dump());
    assert!(errors[0].contains("LITELLM_MASTER_KEY"), "{}", errors[0]);
    assert!(errors[0].contains("global.enc.env"), "{}", errors[0]);
    assert!(errors[0].contains("not restarting"), "{}", errors[0]);
    assert_eq!(w.count("sync failed"), 0, "not even tried: {}", w.dump());
    assert_eq!(lab.restarts(), 0, "{}", w.dump());
    for k in keys {
        w.never_shows(k);
    }
}

#[test]
fn an_empty_master_key_line_added_to_a_source_without_one_is_not_acted_on() {
    let master = key("held");
    let Some(lab) = Lab::new(&master) else { return };
    // The user's source holds only the salt key; litellm.env holds both.
    let source = lab.encrypt(&[("LITELLM_SALT_KEY", SALT)]);
    lab.sb.write(SOURCE, source);
    let w = lab.watch(ARGS);
    prepend_to_source(&lab, "LITELLM_MASTER_KEY=");
    refused(&lab, &w, "not a plausible gateway key", &[&master, SALT]);
    let line = w.log().into_iter().find(|l| l.contains("error:")).unwrap();
    assert!(line.contains("LITELLM_MASTER_KEY is empty"), "{line}");
    assert_eq!(lab.sb.read(ENV_FILE), env_text(&master).as_bytes());
}

#[test]
fn an_empty_master_key_line_put_first_is_not_acted_on() {
    let master = key("first");
    let Some(lab) = Lab::new(&master) else { return };
    let w = lab.watch(ARGS);
    // 0.1.0 took the first value: the empty one.
    prepend_to_source(&lab, "LITELLM_MASTER_KEY=");
    refused(&lab, &w, "error:", &[&master, SALT]);
    assert_eq!(lab.sb.read(ENV_FILE), env_text(&master).as_bytes());
}

#[test]
fn a_master_key_that_cannot_be_one_is_not_synced_or_restarted_on() {
    let master = key("real");
    let Some(lab) = Lab::new(&master) else { return };
    let w = lab.watch(ARGS);
    // Written properly by a recipient holder, but no gateway runs on it.
    for (n, bad) in ["$LITELLM_KEY", "short-key", "sk-with a space in it-0123"]
        .into_iter()
        .enumerate()
    {
        lab.replace_master(bad);
        w.wait_for("not a plausible gateway key", n + 1);
        assert_eq!(lab.restarts(), 0, "{bad:?}: {}", w.dump());
        assert_eq!(lab.sb.read(ENV_FILE), env_text(&master).as_bytes());
        w.never_shows(bad);
    }
    assert_eq!(w.count("sync failed"), 0, "not even tried: {}", w.dump());
    // A plausible key afterwards is synced and restarted on, once.
    let next = key("next");
    lab.replace_master(&next);
    w.wait_for("restarted", 1);
    assert_eq!(lab.sb.read(ENV_FILE), env_text(&next).as_bytes());
    assert_eq!(lab.restarts(), 1, "{}", w.dump());
}

/// A cloned repository's `litekeys.toml` (a command to run, a sink in the
/// repo) found by walking up: `litekeys-watch` refuses it as
/// `litekeys-rotate` does (exit 9, untrusted) instead of watching with it,
/// and `install` writes no unit that would run it at every login.
#[test]
fn a_cloned_repos_config_is_neither_watched_with_nor_installed() {
    use litekeys_tests::Sandbox;
    use std::time::{Duration, Instant};
    use vault::Exit;
    let sb = Sandbox::new();
    let marker = sb.path("the-repos-command-ran");
    sb.write("home/src/evil/secrets/global.enc.env", "not read\n");
    let config = sb.write(
        "home/src/evil/litekeys.toml",
        format!(
            "source = \"secrets/global.enc.env\"\n\
             [service]\nmanager = \"command\"\ncommand = [\"touch\", \"{}\"]\n\
             [[sink]]\nkind = \"dotenv\"\npath = \"leak.env\"\n",
            marker.display()
        ),
    );
    let repo = sb.home().join("src/evil");
    // Bounded: on 0.1.0 the watcher ran with the repo's config until killed.
    let mut child = std::process::Command::new(litekeys_tests::bin("litekeys-watch"))
        .env_clear()
        .envs(sb.env())
        .current_dir(&repo)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(i32::from(Exit::Untrusted.code())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("litekeys-rotate trust {}", config.display())),
        "{stderr}"
    );
    for args in [&["install"][..], &["install", "--print"]] {
        sb.test("litekeys-watch")
            .in_dir("home/src/evil")
            .args(args)
            .status(Exit::Untrusted)
            .one_line_error(format!("litekeys-rotate trust {}", config.display()))
            .stdout_is("")
            .run();
    }
    assert!(
        !sb.home().join(".config/systemd").exists(),
        "a unit was written"
    );
    assert!(!marker.exists(), "the repo's command ran");
    assert!(
        !repo.join("leak.env").exists(),
        "a sink in the repo was written"
    );
}
