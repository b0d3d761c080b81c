//! Finding age identities the way sops 3.11 does: `SOPS_AGE_KEY`,
//! `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`, then (litekeys) the OS keyring,
//! then `$XDG_CONFIG_HOME/sops/age/keys.txt`. Every source found is loaded
//! and every identity is tried, as sops does.

mod keyring;

pub use keyring::{KeyringError, KeyringLookup, OsKeyring};

use age::x25519;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

pub(crate) const ENV_KEY: &str = "SOPS_AGE_KEY";
pub(crate) const ENV_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";
pub(crate) const ENV_KEY_CMD: &str = "SOPS_AGE_KEY_CMD";

/// Where an identity may come from; shown to the user when none opens a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Env,
    File(PathBuf),
    Command(String),
    Keyring,
    KeysTxt(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Env => write!(f, "${ENV_KEY}"),
            Source::File(p) => write!(f, "${ENV_KEY_FILE} ({})", p.display()),
            Source::Command(_) => write!(f, "${ENV_KEY_CMD}"),
            Source::Keyring => write!(f, "the OS keyring"),
            Source::KeysTxt(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The identities found, with what was looked at and what went wrong.
#[derive(Default)]
pub struct Identities {
    pub identities: Vec<x25519::Identity>,
    /// Sources that yielded at least one identity.
    pub found: Vec<Source>,
    /// Sources that were looked at but yielded nothing.
    pub empty: Vec<Source>,
    /// Sources that failed (unreadable file, failing command, bad line).
    pub errors: Vec<String>,
}

impl Identities {
    /// Looks at every source sops looks at, plus the keyring.
    pub fn discover(keyring: Option<&dyn KeyringLookup>) -> Identities {
        let mut out = Identities::default();
        match std::env::var(ENV_KEY) {
            Ok(text) => out.load(Source::Env, &Zeroizing::new(text)),
            Err(_) => out.empty.push(Source::Env),
        }
        if let Some(path) = std::env::var_os(ENV_KEY_FILE) {
            let path = PathBuf::from(path);
            match read_secret_file(&path) {
                Ok(text) => out.load(Source::File(path), &text),
                Err(e) => out
                    .errors
                    .push(format!("{ENV_KEY_FILE} {}: {e}", path.display())),
            }
        }
        if let Ok(cmd) = std::env::var(ENV_KEY_CMD) {
            match run_key_cmd(&cmd) {
                Ok(text) => out.load(Source::Command(cmd), &text),
                Err(e) => out.errors.push(format!("{ENV_KEY_CMD}: {e}")),
            }
        }
        if let Some(keyring) = keyring {
            out.load_keyring(keyring);
        }
        if let Some(path) = keys_txt_path() {
            match read_secret_file(&path) {
                Ok(text) => out.load(Source::KeysTxt(path), &text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    out.empty.push(Source::KeysTxt(path));
                }
                Err(e) => out.errors.push(format!("{}: {e}", path.display())),
            }
        }
        out
    }

    /// The one identity discovery of every command: sops' sources, then the
    /// keyring only when they do not `open` the file (same outcome, as any
    /// matching identity opens it, without a D-Bus round trip on every run
    /// of `exec` or a rotation). Returns the identities and what `open`
    /// gave with them.
    pub fn discover_for<T, E>(
        keyring: Option<&dyn KeyringLookup>,
        open: impl Fn(&Identities) -> Result<T, E>,
    ) -> (Identities, Result<T, E>) {
        let mut identities = Identities::discover(None);
        let opened = open(&identities);
        match (opened, keyring) {
            (Err(_), Some(keyring)) => {
                identities.load_keyring(keyring);
                let opened = open(&identities);
                (identities, opened)
            }
            (opened, _) => (identities, opened),
        }
    }

    /// Adds the keyring's identity. Callers on a hot path (`exec`, `direnv`)
    /// call this only when the other sources did not open the file: the
    /// outcome is the same (any matching identity opens it) without a D-Bus
    /// round trip on every run.
    pub fn load_keyring(&mut self, keyring: &dyn KeyringLookup) {
        match keyring.lookup() {
            Ok(Some(text)) => self.load(Source::Keyring, &text),
            Ok(None) => self.empty.push(Source::Keyring),
            Err(e) => self.errors.push(format!("keyring: {e}")),
        }
    }

    /// Identities from one text (for tests and `identity import`).
    pub fn from_text(source: Source, text: &str) -> Identities {
        let mut out = Identities::default();
        out.load(source, text);
        out
    }

    fn load(&mut self, source: Source, text: &str) {
        match parse_identities(text) {
            Ok(ids) if ids.is_empty() => self.empty.push(source),
            Ok(ids) => {
                self.identities.extend(ids);
                self.found.push(source);
            }
            Err(line) => self.errors.push(format!(
                "{source}: line {line} is not an age identity (AGE-SECRET-KEY-1…)"
            )),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// One line for "nothing opened the file": what was tried, what failed.
    pub(crate) fn describe_failure(&self) -> String {
        let mut msg = if self.identities.is_empty() {
            "no age identity found".to_string()
        } else {
            let found: Vec<String> = self.found.iter().map(ToString::to_string).collect();
            format!(
                "none of the age identities from {} is a recipient of this file",
                found.join(", ")
            )
        };
        if !self.errors.is_empty() {
            msg.push_str(&format!(" ({})", self.errors.join("; ")));
        }
        if self.identities.is_empty() {
            let looked: Vec<String> = self.empty.iter().map(ToString::to_string).collect();
            msg.push_str(&format!(
                "; looked in {}; set SOPS_AGE_KEY_FILE, or run `litekeys identity import`",
                looked.join(", ")
            ));
        } else {
            msg.push_str("; ask a recipient to run `litekeys recipients add` with your recipient");
        }
        msg
    }
}

/// Parses an identity file: one identity per line, `#` comments and empty
/// lines ignored. On error, returns the 1-based line.
pub fn parse_identities(text: &str) -> Result<Vec<x25519::Identity>, usize> {
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        ids.push(x25519::Identity::from_str(line.trim()).map_err(|_| i + 1)?);
    }
    Ok(ids)
}

fn read_secret_file(path: &Path) -> std::io::Result<Zeroizing<String>> {
    std::fs::read_to_string(path).map(Zeroizing::new)
}

/// How long `SOPS_AGE_KEY_CMD` may take (a password manager waiting for a
/// touch or a PIN); after that it is killed and the command fails.
const KEY_CMD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn run_key_cmd(cmd: &str) -> Result<Zeroizing<String>, String> {
    use std::io::Read;
    let argv = shlex::split(cmd)
        .filter(|a| !a.is_empty())
        .ok_or("cannot split the command into words")?;
    let mut child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut out = Zeroizing::new(Vec::new());
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let deadline = std::time::Instant::now() + KEY_CMD_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not finish within {} s; killed",
                    argv[0],
                    KEY_CMD_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for {}: {e}", argv[0])),
        }
    };
    let stdout = reader
        .join()
        .map_err(|_| "reading its output failed".to_string())?
        .map_err(|e| format!("cannot read its output: {e}"))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", argv[0]));
    }
    String::from_utf8(stdout.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| "output is not UTF-8".into())
}

/// `$XDG_CONFIG_HOME/sops/age/keys.txt`; `~/.config/…` on Linux,
/// `~/Library/Application Support/…` on macOS when XDG_CONFIG_HOME is unset.
pub(crate) fn keys_txt_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("sops").join("age").join("keys.txt"))
}

fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let home = PathBuf::from(home);
    if cfg!(target_os = "macos") {
        Some(home.join("Library").join("Application Support"))
    } else {
        Some(home.join(".config"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn several_identities_and_comments() {
        let a = x25519::Identity::generate();
        let b = x25519::Identity::generate();
        let text = format!(
            "# created: today\n# public key: {}\n{}\n\n{}\n",
            a.to_public(),
            a.to_string().expose_secret(),
            b.to_string().expose_secret()
        );
        let ids = parse_identities(&text).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].to_public().to_string(), b.to_public().to_string());
        assert_eq!(parse_identities("# c\nnot-a-key\n").err(), Some(2));
    }
}
