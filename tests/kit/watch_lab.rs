//! The lab of the `litekeys-watch` suites (`tests/watch/`): a sandbox shaped like the seeds (an
//! age identity, a source encrypted by the real sops, litellm.env, a
//! litekeys.toml with the `command` manager), and the real `litekeys-watch`
//! running in it, its stderr collected line by line and killed on drop.

pub use crate::proxy::make_executable;
use crate::{Sandbox, Sops};
use std::io::{BufRead, BufReader};

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bound on every wait for the watcher.
pub const WAIT: Duration = Duration::from_secs(60);
pub const SOURCE: &str = "secrets/global.enc.env";
pub const ENV_FILE: &str = "home/.config/lab-secrets/litellm.env";
pub const SALT: &str = "sk-saltSaltSaltSaltSaltSaltSaltSaltSaltSaltSalt01";

/// A key that looks like a real one and is unique per tag.
pub fn key(tag: &str) -> String {
    format!("sk-{tag}{}", "Qx7Lm2Vb9Tz4Rw8N".repeat(3))
}

pub struct Lab {
    pub sb: Sandbox,
    pub recipient: String,
    sops: Sops,
}

impl Lab {
    /// `None` (a loud skip outside CI) when sops or age-keygen is missing.
    /// The source holds `master` and the salt; litellm.env is in step.
    pub fn new(master: &str) -> Option<Lab> {
        let sops = Sops::find()?;
        let sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let lab = Lab {
            sb,
            recipient,
            sops,
        };
        let source = lab.encrypt(&[("LITELLM_MASTER_KEY", master), ("LITELLM_SALT_KEY", SALT)]);
        lab.sb.write(SOURCE, source);
        lab.sb.write(ENV_FILE, env_text(master));
        lab.sb.write(
            "restart.sh",
            format!(
                "#!/bin/sh\necho restart >> '{}'\n",
                lab.sb.path("restarts").display()
            ),
        );
        make_executable(&lab.sb.path("restart.sh"));
        lab.config(&[lab.sb.path("restart.sh").display().to_string()], "");
        Some(lab)
    }

    /// Writes litekeys.toml: the source, a `command` manager running
    /// `argv`, the dotenv sink; `extra` is appended.
    pub fn config(&self, argv: &[String], extra: &str) {
        let argv: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
        self.sb.write(
            "litekeys.toml",
            format!(
                "source = \"{SOURCE}\"\n\
                 [service]\nmanager = \"command\"\ncommand = [{}]\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"~/.config/lab-secrets/litellm.env\"\n\
                 keys = [\"LITELLM_MASTER_KEY\", \"LITELLM_SALT_KEY\"]\n{extra}",
                argv.join(", ")
            ),
        );
    }

    /// A sops dotenv file holding `values`, encrypted by the real sops for
    /// this lab's recipient (plaintext only on a pipe).
    pub fn encrypt(&self, values: &[(&str, &str)]) -> Vec<u8> {
        let plain: String = values.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        self.sops.encrypt(&self.sb, &self.recipient, &plain)
    }

    /// Replaces the source the way sops and editors do: a temp file in the
    /// same directory, renamed over it.
    pub fn replace_source(&self, bytes: &[u8]) {
        let tmp = self.sb.write("secrets/.global.enc.env.new", bytes);
        std::fs::rename(tmp, self.sb.path(SOURCE)).expect("rename over the source");
    }

    /// A new source holding `master` and the salt, encrypted by sops and
    /// renamed over the old one.
    pub fn replace_master(&self, master: &str) {
        let bytes = self.encrypt(&[("LITELLM_MASTER_KEY", master), ("LITELLM_SALT_KEY", SALT)]);
        self.replace_source(&bytes);
    }

    /// `touch REL` with the real program (new mtime, same bytes).
    pub fn touch(&self, rel: &str) {
        let out = self.sb.program("touch").arg(self.sb.path(rel)).output();
        assert_eq!(out.code, 0, "touch {rel}: {}", out.stderr);
    }

    /// The audit line a rotation from `old` to `new` writes (the format
    /// crates/rotate/src/audit.rs writes and the watcher reads).
    pub fn audit(&self, old: &str, new: &str, verdict: &str, tx: &str) {
        let (fo, fnew) = (
            vault::fingerprint(old.as_bytes()),
            vault::fingerprint(new.as_bytes()),
        );
        self.sb.write(
            "home/.local/state/litekeys/audit.log",
            format!(
                "2026-11-21T23:40:00Z host=lab action=rotate LITELLM_MASTER_KEY={fo}->{fnew} {verdict} tx={tx}\n"
            ),
        );
    }

    pub fn restarts(&self) -> usize {
        std::fs::read_to_string(self.sb.path("restarts"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// Starts `litekeys-watch --config litekeys.toml ARGS` and waits until
    /// it watches.
    pub fn watch(&self, args: &[&str]) -> Watcher {
        Watcher::spawn(&self.sb, &self.sb.path("litekeys.toml"), args)
    }
}

impl Watcher {
    /// Starts `litekeys-watch --config CONFIG ARGS` in `sb` and waits until
    /// it watches.
    pub fn spawn(sb: &Sandbox, config: &std::path::Path, args: &[&str]) -> Watcher {
        let mut child = sb
            .process("litekeys-watch")
            .arg("--config")
            .arg(config)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("litekeys-watch starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped");
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let w = Watcher {
            child: Mutex::new(child),
            lines,
        };
        w.wait_for("watching", 1);
        w
    }
}

pub fn env_text(master: &str) -> String {
    format!("LITELLM_MASTER_KEY={master}\nLITELLM_SALT_KEY={SALT}\n")
}

/// A running watcher; killed (and reaped) on drop.
pub struct Watcher {
    child: Mutex<Child>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watcher {
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Lines containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits (bounded) until `n` lines contain `needle`. A failed sync
    /// ends the wait at once: nothing else will happen.
    pub fn wait_for(&self, needle: &str, n: usize) {
        self.wait_until(&format!("{n} line(s) with {needle:?}"), || {
            if self.count("sync failed") > 0 && !needle.contains("sync failed") {
                panic!("litekeys-rotate sync failed\n{}", self.dump());
            }
            self.count(needle) >= n
        });
    }

    /// Waits (bounded) until `done`; panics with the log when it is not.
    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if done() {
                return;
            }
            if let Ok(Some(status)) = self.child.lock().unwrap().try_wait() {
                panic!(
                    "litekeys-watch exited ({status}) while waiting for {what}\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("waited {WAIT:?} for {what}\n{}", self.dump());
    }

    pub fn dump(&self) -> String {
        format!("--- litekeys-watch stderr\n{}", self.log().join("\n"))
    }

    /// No line shows `secret`.
    pub fn never_shows(&self, secret: &str) {
        assert!(
            !self.log().iter().any(|l| l.contains(secret)),
            "the log shows a secret\n{}",
            self.dump()
        );
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.dump());
        }
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}
