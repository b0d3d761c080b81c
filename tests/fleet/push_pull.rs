//! Machines A and B, each a HOME with its own age identity, share the
//! source (encrypted to both) through a bare repository: A rotates with
//! `--push`; B, behind, is refused a rotation of its own (nothing
//! changed), then converges with `pull`; a tampered push is refused by
//! B's `pull`, B's repository put back and its sinks untouched.

use litekeys_tests::{Outcome, Sandbox, Sops, Test};
use std::path::{Path, PathBuf};
use vault::Exit;

pub(super) const OLD_MASTER: &str = "sk-OLDmasterKEY0000aaaaBBBBccccDDDDeeeeFFFFgggg1234";
pub(super) const OLD_SALT: &str = "sk-OLDsaltKEY00000aaaaBBBBccccDDDDeeeeFFFFgggg5678";

const CONFIG: &str = r#"source = "secrets/global.enc.env"
[gateway]
url = "http://127.0.0.1:4000"
[service]
manager = "none"
[[sink]]
kind = "droid"
path = "~/.factory"
key = "LITELLM_MASTER_KEY"
"#;

fn settings(key: &str) -> String {
    settings_at("http://127.0.0.1:4000", key)
}

/// Droid settings with one route to the gateway at `url` holding `key`.
pub(super) fn settings_at(url: &str, key: &str) -> String {
    format!(
        r#"{{
  "customModels": [
    {{
      "model": "gpt-lab",
      "displayName": "lab",
      "baseUrl": "{url}/v1",
      "apiKey": "{key}",
      "provider": "generic-chat-completion-api"
    }}
  ]
}}
"#
    )
}

pub(super) fn git(sb: &Sandbox, dir: &Path, args: &[&str]) -> Outcome {
    sb.program("git").current_dir(dir).args(args).success()
}

/// One machine: a HOME with an age identity, a git identity, Droid
/// settings holding the old key.
pub(super) struct Machine {
    pub(super) sb: Sandbox,
    pub(super) recipient: String,
    pub(super) repo: PathBuf,
}

impl Machine {
    pub(super) fn new(name: &str) -> Option<Machine> {
        let sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let home = sb.home();
        git(&sb, &home, &["config", "--global", "user.name", name]);
        git(
            &sb,
            &home,
            &[
                "config",
                "--global",
                "user.email",
                &format!("{name}@fleet.test"),
            ],
        );
        sb.write("home/.factory/settings.json", settings(OLD_MASTER));
        let repo = sb.path("repo");
        Some(Machine {
            sb,
            recipient,
            repo,
        })
    }

    fn trust(&self) {
        self.sb.trust("repo/litekeys.toml");
        self.sb.trust("repo/secrets/global.enc.env");
    }

    pub(super) fn rotate(&self) -> Test {
        Test::of(
            self.sb
                .cmd("litekeys-rotate")
                .current_dir(&self.repo)
                .arg("--yes"),
            self.sb.path(""),
        )
    }

    pub(super) fn droid_key(&self) -> String {
        self.droid_key_in(".factory")
    }

    fn droid_key_in(&self, dir: &str) -> String {
        let text = std::fs::read_to_string(self.sb.home().join(dir).join("settings.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["customModels"][0]["apiKey"].as_str().unwrap().to_string()
    }

    pub(super) fn head(&self) -> String {
        git(&self.sb, &self.repo, &["rev-parse", "HEAD"])
            .stdout_str()
            .trim()
            .to_string()
    }
}

/// A and B cloned from a bare remote holding the source encrypted to both.
fn fleet() -> Option<(Sops, PathBuf, Machine, Machine)> {
    fleet_with(CONFIG)
}

/// As [`fleet`], with `config` as litekeys.toml (`RECIPIENTS`: A's and B's).
fn fleet_with(config: &str) -> Option<(Sops, PathBuf, Machine, Machine)> {
    let sops = Sops::find()?;
    let a = Machine::new("machine-a")?;
    let b = Machine::new("machine-b")?;
    a.sb.write(
        "repo/litekeys.toml",
        config.replace(
            "RECIPIENTS",
            &format!("\"{}\", \"{}\"", a.recipient, b.recipient),
        ),
    );
    let remote = share(&sops, &a, &[&b]);
    a.trust();
    b.trust();
    Some((sops, remote, a, b))
}

/// A bare remote in A's sandbox; A's repository (what A's `repo/` already
/// holds, the source with the old keys encrypted to A and every one of
/// `clones`, a .gitignore) pushed to it; each of `clones` clones it to its
/// `repo/`. Returns the remote.
pub(super) fn share(sops: &Sops, a: &Machine, clones: &[&Machine]) -> PathBuf {
    let remote = a.sb.path("remote.git");
    git(
        &a.sb,
        &a.sb.path(""),
        &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
    );
    std::fs::create_dir_all(&a.repo).unwrap();
    git(&a.sb, &a.repo, &["init", "--quiet", "-b", "main"]);
    let recipients: Vec<&str> = std::iter::once(&a.recipient)
        .chain(clones.iter().map(|m| &m.recipient))
        .map(String::as_str)
        .collect();
    let encrypted = sops.encrypt(
        &a.sb,
        &recipients.join(","),
        &format!("LITELLM_MASTER_KEY={OLD_MASTER}\nLITELLM_SALT_KEY={OLD_SALT}\n"),
    );
    a.sb.write("repo/secrets/global.enc.env", encrypted);
    a.sb.write(
        "repo/.gitignore",
        "secrets/.*.lock\nsecrets/litekeys.local.toml\n",
    );
    git(&a.sb, &a.repo, &["add", "."]);
    git(&a.sb, &a.repo, &["commit", "--quiet", "-m", "the source"]);
    git(
        &a.sb,
        &a.repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&a.sb, &a.repo, &["push", "--quiet", "-u", "origin", "main"]);
    for m in clones {
        git(
            &m.sb,
            &m.sb.path(""),
            &["clone", "--quiet", remote.to_str().unwrap(), "repo"],
        );
    }
    remote
}

#[test]
fn a_pushes_its_rotation_and_b_behind_is_refused_until_it_pulls() {
    let Some((sops, remote, a, b)) = fleet() else {
        return;
    };
    let out = a.rotate().arg("--push").run();
    assert!(out.stdout_str().contains("pushed "), "{}", out.stdout_str());
    let new = a.droid_key();
    assert_ne!(new, OLD_MASTER);
    // The remote holds the commit: the source alone, by fingerprint.
    let log = git(
        &a.sb,
        &remote,
        &["log", "-1", "--format=%an%n%B", "--name-only"],
    );
    let log = log.stdout_str();
    assert!(log.starts_with("machine-a\n"), "{log}");
    assert!(
        log.contains("LITELLM_MASTER_KEY ") && log.contains(" -> "),
        "{log}"
    );
    assert!(log.trim_end().ends_with("secrets/global.enc.env"), "{log}");
    assert!(!log.contains(&new) && !log.contains(OLD_MASTER), "{log}");

    // B has not pulled: its rotation would fork the key.
    let before = b.head();
    b.rotate()
        .status(Exit::Error)
        .one_line_error("behind origin/main")
        .files_unchanged(["home", "repo/secrets", "repo/litekeys.toml"])
        .never_shows(&new)
        .run();
    assert_eq!(b.head(), before);
    assert_eq!(b.droid_key(), OLD_MASTER);

    // B's pull fast-forwards, verifies and syncs: B's Droid holds A's key.
    let pulled =
        b.sb.cmd("litekeys-rotate")
            .current_dir(&b.repo)
            .args(["--yes", "pull"])
            .success();
    assert!(
        pulled.stdout_str().starts_with("pulled "),
        "{}",
        pulled.stdout_str()
    );
    pulled.never_shows(&new);
    assert_eq!(b.droid_key(), new);
    assert_eq!(b.head(), a.head());
    let decrypted = sops
        .decrypt(&b.sb, &b.repo.join("secrets/global.enc.env"))
        .success();
    assert!(
        decrypted
            .stdout_str()
            .contains(&format!("LITELLM_MASTER_KEY={new}\n"))
    );
    // Pulling again: nothing new, every sink in sync.
    let again =
        b.sb.cmd("litekeys-rotate")
            .current_dir(&b.repo)
            .args(["--yes", "pull"])
            .success();
    assert!(
        again.stdout_str().starts_with("already up to date"),
        "{}",
        again.stdout_str()
    );
}

/// One ciphertext byte of the master key changed in `file`'s text.
pub(super) fn tamper(text: &str) -> String {
    let at = text
        .find("LITELLM_MASTER_KEY=ENC[AES256_GCM,data:")
        .unwrap()
        + "LITELLM_MASTER_KEY=ENC[AES256_GCM,data:".len()
        + 3;
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_pushed_tampered_source_is_refused_by_pull_naming_the_commit() {
    let Some((_sops, _remote, a, b)) = fleet() else {
        return;
    };
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
    let before = b.head();
    let out = b
        .rotate()
        .arg("pull")
        .files_unchanged(["home", "repo/secrets", "repo/litekeys.toml"])
        .one_line_error(format!("refused commit {bad} (a tampered source)"))
        .status(Exit::DecryptValue)
        .run();
    assert!(
        out.stderr.contains("every sink as it was"),
        "{}",
        out.stderr
    );
    assert_eq!(b.head(), before, "B's repository is back at its old commit");
    assert_eq!(b.droid_key(), OLD_MASTER);
    // The next sync does not pick the commit up: every sink in sync with the old source.
    let sync =
        b.sb.cmd("litekeys-rotate")
            .current_dir(&b.repo)
            .args(["--yes", "sync"])
            .success();
    assert!(
        sync.stdout_str().contains("every sink is in sync"),
        "{}",
        sync.stdout_str()
    );
}

#[test]
fn a_failed_push_leaves_the_rotation_done_and_says_how_to_push() {
    let Some((_sops, _remote, a, _b)) = fleet() else {
        return;
    };
    // No remote any more: the commit is made, the push fails.
    git(&a.sb, &a.repo, &["remote", "remove", "origin"]);
    let out = a.rotate().arg("--push").status(Exit::Ok).run();
    assert!(
        out.stderr.contains("not pushed") && out.stderr.contains("git -C "),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert_ne!(a.droid_key(), OLD_MASTER);
    let log = git(&a.sb, &a.repo, &["log", "-1", "--format=%s"]);
    assert!(
        log.stdout_str()
            .starts_with("litekeys-rotate: rotate LITELLM_MASTER_KEY")
    );
}

#[test]
fn a_litekeys_local_toml_beside_the_source_comes_first_once_trusted() {
    let Some((_sops, _remote, a, b)) = fleet() else {
        return;
    };
    a.rotate().arg("--push").run();
    let new = a.droid_key();
    // B's own sinks, in a file git ignores beside the shared source.
    b.sb.write("home/.factory-b/settings.json", settings(OLD_MASTER));
    b.sb.write(
        "repo/secrets/litekeys.local.toml",
        CONFIG
            .replace("secrets/global.enc.env", "global.enc.env")
            .replace("~/.factory", "~/.factory-b"),
    );
    // Found by walking up as litekeys.toml is: used only once trusted.
    b.rotate()
        .arg("pull")
        .status(Exit::Untrusted)
        .files_unchanged(["home", "repo"])
        .run();
    b.sb.trust("repo/secrets/litekeys.local.toml");
    b.rotate().arg("pull").run();
    assert_eq!(b.droid_key_in(".factory-b"), new);
    assert_eq!(
        b.droid_key(),
        OLD_MASTER,
        "litekeys.toml's sinks are not used"
    );
    let status = git(&b.sb, &b.repo, &["status", "--porcelain", "--ignored"]);
    assert!(
        status
            .stdout_str()
            .contains("!! secrets/litekeys.local.toml"),
        "{}",
        status.stdout_str()
    );
}

#[test]
fn pull_refuses_anything_but_a_fast_forward() {
    let Some((_sops, _remote, a, b)) = fleet() else {
        return;
    };
    a.rotate().arg("--push").run();
    // B committed on its own meanwhile: the branches have forked.
    b.sb.write("repo/notes.txt", "machine b\n");
    git(&b.sb, &b.repo, &["add", "notes.txt"]);
    git(
        &b.sb,
        &b.repo,
        &["commit", "--quiet", "-m", "b's own commit"],
    );
    let before = b.head();
    b.rotate()
        .arg("pull")
        .status(Exit::Error)
        .one_line_error("git pull --quiet --ff-only failed")
        .files_unchanged(["home", "repo/secrets", "repo/litekeys.toml"])
        .run();
    assert_eq!(b.head(), before);
    assert_eq!(b.droid_key(), OLD_MASTER);
    // Nor may B rotate from its fork: it lacks A's commit.
    b.rotate()
        .status(Exit::Error)
        .one_line_error("behind origin/main")
        .files_unchanged(["home", "repo/secrets"])
        .run();
}

#[test]
fn a_pushed_source_for_a_recipient_outside_the_pin_is_refused_by_pull() {
    let pinned = CONFIG.replace("[gateway]", "recipients = [RECIPIENTS]\n[gateway]");
    let Some((sops, _remote, a, b)) = fleet_with(&pinned) else {
        return;
    };
    // A valid file (its MAC holds) whose data key also goes to a stranger.
    let stranger = a.sb.age_keygen("stranger.txt").unwrap();
    let new = "sk-NEWmasterKEY0000aaaaBBBBccccDDDDeeeeFFFFgggg4321";
    let encrypted = sops.encrypt(
        &a.sb,
        &format!("{},{},{stranger}", a.recipient, b.recipient),
        &format!("LITELLM_MASTER_KEY={new}\nLITELLM_SALT_KEY={OLD_SALT}\n"),
    );
    a.sb.write("repo/secrets/global.enc.env", encrypted);
    git(
        &a.sb,
        &a.repo,
        &["commit", "--quiet", "-am", "one more recipient"],
    );
    git(&a.sb, &a.repo, &["push", "--quiet"]);
    let bad: String = a.head().chars().take(12).collect();
    let before = b.head();
    b.rotate()
        .arg("pull")
        .status(Exit::Recipients)
        .one_line_error(format!("refused commit {bad} (one more recipient)"))
        .files_unchanged(["home", "repo/secrets", "repo/litekeys.toml"])
        .never_shows(new)
        .run();
    assert_eq!(b.head(), before);
    assert_eq!(b.droid_key(), OLD_MASTER);
}
