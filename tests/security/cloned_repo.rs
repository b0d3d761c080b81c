//! A cloned repository cannot steer litekeys. On 0.1.0 the config was the
//! `litekeys.toml` next to the nearest `secrets/` from the current
//! directory, used as found: in a cloned repo `status` sent the user's
//! master key to the repo's gateway URL, `sync` ran the repo's `command`
//! and wrote the keys into sinks of the repo's choosing (`~/.bashrc`), and
//! a repo holding only a `secrets/global.enc.env` encrypted to the user's
//! public recipient overwrote the user's litellm.env and Droid keys, or
//! fed `litekeys exec` its values. Now a walked-up file is used only once
//! the user trusted it.

use litekeys_tests::Sandbox;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use vault::Exit;

/// The attacker's gateway: a listener on 127.0.0.1 that records every byte
/// sent to it, answers its liveness probe and 401 to the rest; stopped
/// (and joined) on drop.
struct Listener {
    port: u16,
    seen: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start() -> Listener {
        let socket = TcpListener::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let port = socket.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                // Bounded: a test runs for seconds, not minutes.
                for _ in 0..60_000 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match socket.accept() {
                        Ok((mut conn, _)) => {
                            conn.set_nonblocking(false).unwrap();
                            conn.set_read_timeout(Some(Duration::from_millis(500)))
                                .unwrap();
                            let mut buf = [0u8; 4096];
                            let n = conn.read(&mut buf).unwrap_or(0);
                            seen.lock().unwrap().extend_from_slice(&buf[..n]);
                            // Alive, so that a client goes on to send a key.
                            let reply: &[u8] = if buf[..n].starts_with(b"GET /health/liveliness") {
                                b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n\"I'm alive!\""
                            } else {
                                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            };
                            let _ = conn.write_all(reply);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Listener {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A user with an age identity and a real source in `~/lab` (made by
/// `init`, which trusts what it writes), their own litellm.env and Droid
/// settings (the default sinks).
struct User {
    sb: Sandbox,
    recipient: String,
    source: PathBuf,
    litellm_env: PathBuf,
    droid: PathBuf,
}

const USER_ENV: &str = "LITELLM_MASTER_KEY=sk-userMASTERkey000aaaaBBBBccccDDDDeeeeFFFFgggg1\n";
const USER_DROID: &str = r#"{"customModels": [{"model": "m", "baseUrl": "http://127.0.0.1:4000/v1", "apiKey": "sk-userMASTERkey000aaaaBBBBccccDDDDeeeeFFFFgggg1"}]}
"#;

fn user() -> Option<User> {
    let sb = Sandbox::new();
    let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
    std::fs::create_dir_all(sb.home().join("lab")).unwrap();
    sb.cmd("litekeys-rotate")
        .current_dir(sb.home().join("lab"))
        .args(["init", "--age", &recipient])
        .success();
    let source = sb.home().join("lab/secrets/global.enc.env");
    let litellm_env = sb.write("home/.config/lab-secrets/litellm.env", USER_ENV);
    let droid = sb.write("home/.factory/settings.json", USER_DROID);
    Some(User {
        sb,
        recipient,
        source,
        litellm_env,
        droid,
    })
}

impl User {
    /// `~/src/evil`, a repository the user cloned.
    fn repo(&self) -> PathBuf {
        self.sb.home().join("src/evil")
    }

    fn marker(&self) -> PathBuf {
        self.sb.path("the-repos-command-ran")
    }

    /// The repo's litekeys.toml: the user's real source, the attacker's
    /// gateway, a command that leaves a marker, sinks in the repo and at
    /// `~/.bashrc`.
    fn plant_config(&self, gateway: &str) -> PathBuf {
        std::fs::create_dir_all(self.repo().join("secrets")).unwrap();
        self.sb.write(
            "home/src/evil/litekeys.toml",
            format!(
                "source = \"~/lab/secrets/global.enc.env\"\n\
                 [gateway]\nurl = \"{gateway}\"\ntimeout = 2\n\
                 [service]\nmanager = \"command\"\ncommand = [\"touch\", \"{marker}\"]\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"leak.env\"\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"~/.bashrc\"\n",
                marker = self.marker().display()
            ),
        )
    }

    fn rotate(&self, dir: &Path) -> litekeys_tests::Test {
        self.sb.test("litekeys-rotate").in_dir(dir)
    }

    fn nothing_written(&self) {
        assert!(!self.marker().exists(), "the repo's command ran");
        assert!(
            !self.repo().join("leak.env").exists(),
            "a sink in the repo was written"
        );
        assert!(
            !self.sb.home().join(".bashrc").exists(),
            "~/.bashrc was written"
        );
        assert_eq!(
            std::fs::read_to_string(&self.litellm_env).unwrap(),
            USER_ENV
        );
        assert_eq!(std::fs::read_to_string(&self.droid).unwrap(), USER_DROID);
    }
}

#[test]
fn a_cloned_repos_config_is_used_only_once_trusted_and_again_after_a_change() {
    let Some(u) = user() else { return };
    let gateway = Listener::start();
    let config = u.plant_config(&gateway.url());
    let source_before = std::fs::read(&u.source).unwrap();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["sync"],
        &["--yes"],
        &["--dry-run"],
        &["recover"],
    ] {
        u.rotate(&u.repo())
            .args(args)
            .status(Exit::Untrusted)
            .one_line_error(format!("{}: found by walking up", config.display()))
            .one_line_error(format!("litekeys-rotate trust {}", config.display()))
            .files_unchanged([""])
            .run();
    }
    // From a subdirectory too.
    std::fs::create_dir_all(u.repo().join("src/deep")).unwrap();
    u.rotate(&u.repo().join("src/deep"))
        .arg("status")
        .status(Exit::Untrusted)
        .run();
    assert_eq!(gateway.received(), "", "the repo's gateway was contacted");
    u.nothing_written();
    assert_eq!(std::fs::read(&u.source).unwrap(), source_before);

    // `trust` shows what the user agrees to, then the config is used.
    let shown =
        u.sb.cmd("litekeys-rotate")
            .current_dir(u.repo())
            .arg("trust")
            .success();
    let text = shown.stdout_str();
    for named in [
        gateway.url(),
        format!("touch {}", u.marker().display()),
        u.repo().join("leak.env").display().to_string(),
        u.sb.home().join(".bashrc").display().to_string(),
        u.source.display().to_string(),
    ] {
        assert!(
            text.contains(&named),
            "trust does not show {named}:\n{text}"
        );
    }
    u.sb.cmd("litekeys-rotate")
        .current_dir(u.repo())
        .arg("status")
        .expect(Exit::Drift);
    assert!(
        gateway
            .received()
            .to_ascii_lowercase()
            .contains("authorization"),
        "a trusted config is used: {}",
        gateway.received()
    );

    // Edited after trusting: untrusted again, named as changed.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("timeout = 2", "timeout = 3")).unwrap();
    u.rotate(&u.repo())
        .arg("sync")
        .status(Exit::Untrusted)
        .one_line_error("changed since you trusted it")
        .files_unchanged([""])
        .run();
    // `untrust` withdraws it.
    u.sb.cmd("litekeys-rotate")
        .current_dir(u.repo())
        .args(["trust"])
        .success();
    u.sb.cmd("litekeys-rotate")
        .current_dir(u.repo())
        .args(["untrust"])
        .success();
    u.rotate(&u.repo())
        .arg("status")
        .status(Exit::Untrusted)
        .run();
    // The user's own config, named, is used as is.
    u.sb.cmd("litekeys-rotate")
        .current_dir(u.repo())
        .arg("--config")
        .arg(&config)
        .args(["status"])
        .expect(Exit::Drift);
}

/// A source encrypted to the user's public recipient by someone else,
/// planted in a repo (made elsewhere and moved: its trust record is not
/// for the repo's path).
fn plant_source(u: &User) -> PathBuf {
    let elsewhere = u.sb.path("attacker");
    std::fs::create_dir_all(&elsewhere).unwrap();
    u.sb.cmd("litekeys-rotate")
        .current_dir(&elsewhere)
        .args(["init", "--age", &u.recipient])
        .success();
    std::fs::create_dir_all(u.repo().join("secrets")).unwrap();
    let planted = u.repo().join("secrets/global.enc.env");
    std::fs::rename(elsewhere.join("secrets/global.enc.env"), &planted).unwrap();
    planted
}

#[test]
fn a_repo_holding_only_a_source_overwrites_nothing_and_feeds_nothing() {
    let Some(u) = user() else { return };
    let planted = plant_source(&u);
    for args in [
        &["sync", "--no-restart"][..],
        &["status"],
        &["--yes", "--no-restart"],
    ] {
        u.rotate(&u.repo())
            .args(args)
            .status(Exit::Untrusted)
            .one_line_error(format!("{}: found by walking up", planted.display()))
            .one_line_error("litekeys-rotate trust")
            .files_unchanged([""])
            .run();
    }
    u.nothing_written();
    // The litekeys binary: every command that reads the walked-up source.
    for args in [
        &["exec", "--", "sh", "-c", "echo ran > ran"][..],
        &["get", "LITELLM_MASTER_KEY"],
        &["decrypt"],
        &["export"],
        &["direnv"],
        &["check"],
    ] {
        u.sb.test("litekeys")
            .in_dir(u.repo())
            .args(args)
            .status(Exit::Untrusted)
            .one_line_error(format!("litekeys trust {}", planted.display()))
            .files_unchanged([""])
            .run();
    }
    assert!(
        !u.repo().join("ran").exists(),
        "exec ran on the planted values"
    );
    // `-f FILE` is the user's own choice.
    u.sb.cmd("litekeys")
        .current_dir(u.repo())
        .args(["-f", "secrets/global.enc.env", "get", "LITELLM_MASTER_KEY"])
        .success();
    // Once the user trusts it, the walked-up source is used.
    let out =
        u.sb.cmd("litekeys")
            .current_dir(u.repo())
            .arg("trust")
            .success();
    assert!(
        out.stdout_str().contains(&planted.display().to_string()),
        "{}",
        out.stdout_str()
    );
    u.sb.cmd("litekeys")
        .current_dir(u.repo().join("secrets"))
        .args(["get", "LITELLM_MASTER_KEY"])
        .success();
    u.sb.cmd("litekeys-rotate")
        .current_dir(u.repo())
        .args(["sync", "--dry-run"])
        .success();
    u.sb.cmd("litekeys")
        .current_dir(u.repo())
        .arg("untrust")
        .success();
    u.sb.test("litekeys")
        .in_dir(u.repo())
        .args(["get", "LITELLM_MASTER_KEY"])
        .status(Exit::Untrusted)
        .run();
}

#[test]
fn a_config_that_is_not_a_file_is_an_error_and_one_without_secrets_is_named() {
    let Some(u) = user() else { return };
    // A litekeys.toml directory next to secrets/: an error, not ignored.
    std::fs::create_dir_all(u.repo().join("secrets")).unwrap();
    std::fs::create_dir_all(u.repo().join("litekeys.toml")).unwrap();
    u.rotate(&u.repo())
        .arg("status")
        .status(Exit::Usage)
        .one_line_error("litekeys.toml: not a regular file")
        .run();
    // A litekeys.toml with no secrets/ next to it: said why it is unused.
    let lab = u.sb.home().join("lab/tools");
    std::fs::create_dir_all(&lab).unwrap();
    let unused =
        u.sb.write("home/lab/tools/litekeys.toml", "source = \"x\"\n");
    let out =
        u.sb.cmd("litekeys-rotate")
            .current_dir(&lab)
            .args(["sync", "--dry-run"])
            .success();
    assert!(
        out.stderr.contains(&format!(
            "{}: not used: no secrets/ directory next to it",
            unused.display()
        )),
        "{}",
        out.stderr
    );
}
