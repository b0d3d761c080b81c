//! The fleet through git, `litekeys-watch`'s part: with `[git] pull_every`
//! machine C's watcher fetches the source's repository by itself, applies
//! a source machine A pushed (its sinks then hold the new key) and refuses
//! a tampered push (one line naming the commit, its sinks left as they
//! were, still running). A bare repository is the remote; A is a clone
//! that pushes with the real git; C is a watch lab whose `secrets/` is a
//! clone too.

use litekeys_tests::watch_lab::{ENV_FILE, Lab, SALT, env_text, key};
use std::path::Path;
use std::time::{Duration, Instant};

/// `git -C DIR ARGS` in the lab's environment, as a user with a name.
fn git(lab: &Lab, dir: &Path, args: &[&str]) -> String {
    let out = lab
        .sb
        .program("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=lab",
            "-c",
            "user.email=lab@example.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output();
    assert_eq!(out.code, 0, "git {args:?}: {}", out.stderr);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The remote (bare), C's `secrets/` pushed to it, and A's clone of it.
fn fleet(lab: &Lab) -> std::path::PathBuf {
    let root = lab.sb.path("");
    let c = lab.sb.path("secrets");
    git(lab, &root, &["init", "--quiet", "--bare", "remote.git"]);
    git(lab, &c, &["init", "--quiet"]);
    git(lab, &c, &["add", "global.enc.env"]);
    git(lab, &c, &["commit", "--quiet", "-m", "the source"]);
    let remote = lab.sb.path("remote.git");
    let remote = remote.to_str().unwrap();
    git(lab, &c, &["remote", "add", "origin", remote]);
    git(lab, &c, &["push", "--quiet", "-u", "origin", "HEAD"]);
    git(lab, &root, &["clone", "--quiet", remote, "a"]);
    lab.sb.path("a")
}

/// A commits `bytes` as its source and pushes; returns the short commit.
fn push(lab: &Lab, a: &Path, bytes: &[u8], message: &str) -> String {
    std::fs::write(a.join("global.enc.env"), bytes).unwrap();
    git(lab, a, &["commit", "--quiet", "-am", message]);
    git(lab, a, &["push", "--quiet"]);
    git(lab, a, &["rev-parse", "--short", "HEAD"])
}

fn sink_holds(lab: &Lab, master: &str) -> bool {
    std::fs::read(lab.sb.path(ENV_FILE)).is_ok_and(|b| b == env_text(master).as_bytes())
}

#[test]
fn a_pushed_rotation_is_pulled_by_the_watcher_and_a_tampered_push_is_refused() {
    let (old, new, last) = (key("fleetA"), key("fleetB"), key("fleetC"));
    let Some(lab) = Lab::new(&old) else { return };
    let a = fleet(&lab);
    let restart = lab.sb.path("restart.sh").display().to_string();
    lab.config(&[restart], "[git]\npull_every = \"2s\"\n");
    let w = lab.watch(&["--min-interval", "0ms", "--no-verify"]);

    // A rotates and pushes; C converges by itself within an interval or so.
    let rotated = lab.encrypt(&[("LITELLM_MASTER_KEY", &new), ("LITELLM_SALT_KEY", SALT)]);
    let pushed = Instant::now();
    push(&lab, &a, &rotated, "rotate");
    w.wait_until("C's sink holds the pushed key", || sink_holds(&lab, &new));
    let took = pushed.elapsed();
    eprintln!("push to C's sinks: {} ms", took.as_millis());
    assert!(took < Duration::from_secs(10), "{took:?}\n{}", w.dump());
    w.wait_for("restarted", 1);
    let restarts = lab.restarts();

    // One ciphertext byte changed: refused, named, the sinks stay.
    let text = String::from_utf8(rotated).unwrap();
    let at = text.find("data:").unwrap() + 5;
    let mut tampered = text.into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let bad = push(&lab, &a, &tampered, "tampered");
    w.wait_until("the tampered commit refused", || {
        w.log()
            .iter()
            .any(|l| l.contains("refused") && l.contains(&bad))
    });
    // Several intervals later it is still said once and nothing moved.
    std::thread::sleep(Duration::from_secs(5));
    let refusals = w.count(&bad);
    assert_eq!(refusals, 1, "{}", w.dump());
    assert!(sink_holds(&lab, &new), "{}", w.dump());
    assert_eq!(lab.restarts(), restarts, "{}", w.dump());

    // Still running: the next good push is applied.
    let fixed = lab.encrypt(&[("LITELLM_MASTER_KEY", &last), ("LITELLM_SALT_KEY", SALT)]);
    push(&lab, &a, &fixed, "rotate again");
    w.wait_until("C's sink holds the next key", || sink_holds(&lab, &last));
    for k in [&old, &new, &last] {
        w.never_shows(k);
    }
}

#[test]
fn install_lets_the_unit_write_the_repository_when_it_pulls() {
    let Some(lab) = Lab::new(&key("fleetI")) else {
        return;
    };
    git(&lab, &lab.sb.path(""), &["init", "--quiet"]);
    let root = lab.sb.path("").canonicalize().unwrap();
    let rw = |extra: &str| {
        let restart = lab.sb.path("restart.sh").display().to_string();
        lab.config(&[restart], extra);
        let out = lab
            .sb
            .cmd("litekeys-watch")
            .args(["install", "--print", "--config", "litekeys.toml"])
            .success();
        let line = out
            .stdout_str()
            .lines()
            .find(|l| l.starts_with("ReadWritePaths="))
            .expect("ReadWritePaths=")
            .to_string();
        line.split(' ')
            .any(|w| w.trim_start_matches("ReadWritePaths=") == format!("-{}", root.display()))
    };
    assert!(!rw(""), "without [git] the repository stays read-only");
    assert!(
        rw("[git]\npull_every = \"2s\"\n"),
        "the repository is writable"
    );
}
