//! `$XDG_STATE_HOME/litekeys/audit.log`: one line per committed rotation or
//! sync, newest last, never a value:
//!
//! `2025-06-01T12:00:00Z host=box action=rotate LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b verified tx=0a1b2c3d4e5f`
//!
//! Keys show as `NAME=OLD->NEW` fingerprints (`none` when there was no old
//! value); the word `verified` or `unverified` says whether the gateway was
//! seen accepting the new key. The line is the transaction's commit record:
//! recovery looks for its `tx` to tell a committed transaction from one to
//! roll back.

use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// One key's change, by fingerprint (never a value).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyChange {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

/// `NAME old -> new` (`none` for a key that had no value), as the
/// rotation's summary and its git commit message show it.
impl std::fmt::Display for KeyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let old = self.old.as_deref().unwrap_or("none");
        write!(f, "{} {old} -> {}", self.name, self.new)
    }
}

/// What the audit line of this transaction says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub action: String,
    pub keys: Vec<KeyChange>,
}

/// The audit log of a state directory.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.log")
}

/// This machine's name, for the audit line.
pub fn host() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
        .replace(char::is_whitespace, "_")
}

pub fn line(time: &str, host: &str, summary: &Summary, verified: bool, tx: &str) -> String {
    let mut out = format!("{time} host={host} action={}", summary.action);
    for k in &summary.keys {
        let old = k.old.as_deref().unwrap_or("none");
        out.push_str(&format!(" {}={old}->{}", k.name, k.new));
    }
    out.push_str(if verified { " verified" } else { " unverified" });
    out.push_str(&format!(" tx={tx}\n"));
    out
}

/// Appends the line of transaction `tx` and waits until it is on disk:
/// this commits the transaction.
pub fn append(
    state_dir: &Path,
    summary: &Summary,
    verified: bool,
    tx: &str,
) -> std::io::Result<()> {
    let path = path(state_dir);
    vault::store::create_private_dir(state_dir)?;
    let time = vault::Timestamp::now_utc().to_string();
    let text = line(&time, &host(), summary, verified, tx);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(text.as_bytes())?;
    f.sync_data()
}

/// Whether transaction `tx` committed (its line is in the log's tail; the
/// lock makes it the last line or close to it).
pub fn contains(state_dir: &Path, tx: &str) -> bool {
    let marker = format!(" tx={tx}");
    tail(&path(state_dir), 64 * 1024).is_some_and(|t| t.lines().any(|l| l.ends_with(&marker)))
}

fn tail(path: &Path, max: u64) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The last line, split into its parts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    pub time: String,
    pub host: String,
    pub action: String,
    pub keys: Vec<String>,
    pub verified: bool,
    pub tx: String,
}

impl Entry {
    /// Whether this commit set some key to the value with fingerprint `fp`
    /// (`NAME=OLD->NEW`).
    pub fn sets(&self, fp: &str) -> bool {
        self.keys
            .iter()
            .filter_map(|k| k.split_once("->"))
            .any(|(_, new)| new.eq_ignore_ascii_case(fp))
    }
}

/// Every `(NAME, fingerprint)` the log ever recorded, old and new values,
/// oldest first: `litekeys scan` recognises a superseded key by it.
pub fn fingerprints(state_dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path(state_dir)).unwrap_or_default();
    let mut out = Vec::new();
    for word in text.lines().flat_map(str::split_whitespace) {
        let Some((name, change)) = word.split_once('=') else {
            continue;
        };
        let Some((old, new)) = change.split_once("->") else {
            continue;
        };
        for fp in [old, new].into_iter().filter(|fp| *fp != "none") {
            out.push((name.to_string(), fp.to_ascii_lowercase()));
        }
    }
    out
}

/// When the audit log was last written (a commit), if it exists.
pub fn written(state_dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path(state_dir)).ok()?.modified().ok()
}

/// The last record of the audit log, split into its parts.
pub fn last(state_dir: &Path) -> Option<Entry> {
    let text = tail(&path(state_dir), 8192)?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let mut words = line.split_whitespace();
    let mut entry = Entry {
        time: words.next()?.to_string(),
        host: String::new(),
        action: String::new(),
        keys: Vec::new(),
        verified: false,
        tx: String::new(),
    };
    for w in words {
        match w.split_once('=') {
            Some(("host", v)) => entry.host = v.into(),
            Some(("action", v)) => entry.action = v.into(),
            Some(("tx", v)) => entry.tx = v.into(),
            Some(_) => entry.keys.push(w.to_string()),
            None => entry.verified = w == "verified",
        }
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_transaction_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let summary = Summary {
            action: "rotate".into(),
            keys: vec![KeyChange {
                name: "LITELLM_MASTER_KEY".into(),
                old: Some("1a2b3c4d".into()),
                new: "5e6f7a8b".into(),
            }],
        };
        append(dir.path(), &summary, false, "abc").unwrap();
        append(dir.path(), &summary, true, "def").unwrap();
        assert!(contains(dir.path(), "abc") && contains(dir.path(), "def"));
        assert!(!contains(dir.path(), "ab") && !contains(dir.path(), "xyz"));
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.lines()
                .next()
                .unwrap()
                .contains(" LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b unverified tx=abc")
        );
        let last = last(dir.path()).unwrap();
        assert_eq!(last.action, "rotate");
        assert!(last.verified);
        assert_eq!(last.tx, "def");
        assert_eq!(last.keys, ["LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b"]);
        assert!(last.sets("5e6f7a8b") && !last.sets("1a2b3c4d"));
        assert!(written(dir.path()).is_some());
    }
}
