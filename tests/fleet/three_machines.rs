//! Issue 18's fleet with real peers: a bare repository as the remote and
//! three machines (HOMEs), each with its own age identity and its own
//! `secrets/litekeys.local.toml` (git-ignored), the source encrypted to all
//! three. A runs the real LiteLLM and rotates with `--push` (a verified
//! restart); B is client-only (manager "none", a Droid route to A's
//! gateway) and converges with `pull`, its key accepted by the real
//! gateway and probed by `status`; C's `litekeys-watch` pulls every 2 s
//! and converges by itself; a tampered push is refused by B's `pull`; B,
//! behind, may not rotate.

use super::push_pull::{Machine, OLD_MASTER, git, settings_at, share, tamper};
use litekeys_tests::Sops;
use litekeys_tests::litellm::{LiteLlm, MockModel};
use litekeys_tests::watch_lab::Watcher;
use rotate::gateway;
use std::time::{Duration, Instant};
use vault::{Exit, Secret};

const LOCAL: &str = "repo/secrets/litekeys.local.toml";

/// This machine's sinks, beside the shared source (git ignores the file).
fn local_config(m: &Machine, url: &str, service: &str, extra: &str) {
    m.sb.write(
        LOCAL,
        format!(
            "source = \"global.enc.env\"\n[gateway]\nurl = \"{url}\"\n[service]\n{service}\n\
             [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\nkey = \"LITELLM_MASTER_KEY\"\n{extra}"
        ),
    );
    m.sb.write("home/.factory/settings.json", settings_at(url, OLD_MASTER));
    m.sb.trust(LOCAL);
    m.sb.trust("repo/secrets/global.enc.env");
}

fn accepted(url: &str, key: &str) -> u16 {
    gateway::probe(url, Some(&Secret::from(key.to_string()))).unwrap_or(0)
}

#[test]
fn three_machines_converge_through_git_and_a_tampered_push_is_refused() {
    let Some(sops) = Sops::find() else { return };
    let (Some(a), Some(b), Some(c)) = (
        Machine::new("machine-a"),
        Machine::new("machine-b"),
        Machine::new("machine-c"),
    ) else {
        return;
    };
    let Some(gw) = LiteLlm::start(&a.sb, OLD_MASTER, &[MockModel::new("gpt-lab", "ok")]) else {
        return;
    };
    let url = gw.url();

    // The remote, A's repository (the source to all three) and B's and C's clones.
    share(&sops, &a, &[&b, &c]);

    // A: the gateway box, restarting the real LiteLLM, whose dotenv it writes.
    let restart: Vec<String> = gw.restart_argv().iter().map(|a| format!("{a:?}")).collect();
    local_config(
        &a,
        &url,
        &format!(
            "manager = \"command\"\ncommand = [{}]\ntimeout = 120",
            restart.join(", ")
        ),
        &format!(
            "[[sink]]\nkind = \"dotenv\"\npath = \"{}\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n",
            gw.env_file().display()
        ),
    );
    // B and C: client-only, their Droid pointing at A's gateway.
    local_config(&b, &url, "manager = \"none\"", "");
    local_config(
        &c,
        &url,
        "manager = \"none\"",
        "[git]\npull_every = \"2s\"\n",
    );
    let w = Watcher::spawn(&c.sb, &c.sb.path(LOCAL), &["--min-interval", "0ms"]);

    // A rotates and pushes: verified against the real gateway.
    let out = a.rotate().arg("--push").run();
    assert!(out.stdout_str().contains("pushed "), "{}", out.stdout_str());
    let first = a.droid_key();
    assert_ne!(first, OLD_MASTER);
    assert_eq!(accepted(&url, &first), 200);

    // B pulls: its Droid holds the key the real gateway accepts.
    let pulled = b.rotate().arg("pull").run();
    pulled.never_shows(&first);
    assert_eq!(b.droid_key(), first);
    assert_eq!(accepted(&url, &b.droid_key()), 200);
    // B's status probes the remote gateway with the current key.
    let status =
        b.sb.cmd("litekeys-rotate")
            .current_dir(&b.repo)
            .arg("status")
            .success();
    status.never_shows(&first);
    let fp = vault::fingerprint(first.as_bytes());
    assert!(
        status.stdout_str().contains(&format!(
            "gateway current key  accepted  LITELLM_MASTER_KEY {fp}"
        )),
        "{}",
        status.stdout_str()
    );

    // C converges by itself, then again after A's next rotation.
    w.wait_until("C holds A's first key", || c.droid_key() == first);
    let out = a.rotate().arg("--push").run();
    let pushed = Instant::now();
    assert!(out.stdout_str().contains("pushed "), "{}", out.stdout_str());
    let second = a.droid_key();
    assert_ne!(second, first);
    w.wait_until("C holds A's next key", || c.droid_key() == second);
    let took = pushed.elapsed();
    eprintln!("A's push to C's sinks: {} ms", took.as_millis());
    assert!(took < Duration::from_secs(10), "{took:?}\n{}", w.dump());
    assert_eq!(accepted(&url, &second), 200);

    // B is behind A's next rotation: its own rotation would fork the key.
    let before = b.head();
    b.rotate()
        .status(Exit::Error)
        .one_line_error("behind origin/main")
        .files_unchanged(["home", "repo/secrets"])
        .never_shows(&first)
        .run();
    assert_eq!(b.head(), before);

    // A tampered push (one ciphertext byte): B's pull refuses it, sinks as they were.
    let source = a.repo.join("secrets/global.enc.env");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, tamper(&text)).unwrap();
    git(
        &a.sb,
        &a.repo,
        &["commit", "--quiet", "-am", "a tampered source"],
    );
    git(&a.sb, &a.repo, &["push", "--quiet"]);
    let bad: String = a.head().chars().take(12).collect();
    b.rotate()
        .arg("pull")
        .status(Exit::DecryptValue)
        .one_line_error(format!("refused commit {bad} (a tampered source)"))
        .files_unchanged(["home", "repo/secrets"])
        .run();
    assert_eq!(b.head(), before);
    assert_eq!(b.droid_key(), first);
    for k in [OLD_MASTER, &first, &second] {
        w.never_shows(k);
    }
    drop(w);
}
