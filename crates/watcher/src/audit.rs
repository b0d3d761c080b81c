//! The rotation's audit record, read to avoid restarting the gateway a
//! second time for a change a rotation already restarted and verified.
//!
//! Format assumption (crates/rotate/src/audit.rs writes it; keep in step):
//! `rotate::audit::path` (`$XDG_STATE_HOME/litekeys/audit.log`), one line
//! per committed rotation or sync, newest last, never a value, e.g.
//! `2025-06-01T12:00:00Z host=box action=rotate LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b verified tx=0a1b2c3d4e5f`.
//! Each changed key shows as `NAME=OLD->NEW` fingerprints, and the word
//! `verified` or `unverified` says whether the gateway was seen accepting
//! the new key. Only the last line is read. Tolerated too, should the
//! format move: `OLD→NEW`, `new=NEW`, JSON `"new":"NEW"` and
//! `"verified":true|false`.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

pub struct LastCommit {
    line: String,
    /// When the audit log was last written.
    pub written: SystemTime,
}

/// The last line of the audit log, if any.
pub fn last_commit(state_dir: &Path) -> Option<LastCommit> {
    let mut file = std::fs::File::open(rotate::audit::path(state_dir)).ok()?;
    let written = file.metadata().ok()?.modified().ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(8192))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())?
        .to_string();
    Some(LastCommit { line, written })
}

impl LastCommit {
    pub fn verified(&self) -> bool {
        let lower = self.line.to_ascii_lowercase();
        let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words.contains(&"verified")
            && !words.contains(&"unverified")
            && !compact.contains("verified\":false")
            && !compact.contains("verified=false")
            && !compact.contains("verified:false")
    }

    /// Does this commit set some key to the value with fingerprint `fp`?
    pub fn sets(&self, fp: &str) -> bool {
        let fp = fp.to_ascii_lowercase();
        let line = self.line.to_ascii_lowercase();
        ["→", "->", "new=", "\"new\":\"", "\"new\": \""]
            .iter()
            .any(|marker| line.contains(&format!("{marker}{fp}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(line: &str) -> LastCommit {
        LastCommit {
            line: line.into(),
            written: SystemTime::now(),
        }
    }

    #[test]
    fn reads_the_rotate_crates_line() {
        let c = commit(
            "2025-06-01T12:00:00Z host=box action=rotate LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b \
             LITELLM_SALT_KEY=none->99aa88bb verified tx=0a1b2c3d4e5f",
        );
        assert!(c.verified() && c.sets("5e6f7a8b") && c.sets("99aa88bb"));
        assert!(!c.sets("1a2b3c4d"));
        let c = commit(
            "2025-06-01T12:00:00Z host=box action=sync LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b unverified tx=1",
        );
        assert!(!c.verified() && c.sets("5e6f7a8b"));
    }

    #[test]
    fn reads_the_new_fingerprint_and_the_verdict() {
        let c = commit(
            "2026-11-21T23:40:00Z host rotate LITELLM_MASTER_KEY 1a2b3c4d→5e6f7a8b verified",
        );
        assert!(c.verified() && c.sets("5e6f7a8b") && !c.sets("1a2b3c4d"));
        let c = commit("t h sync LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b unverified");
        assert!(!c.verified() && c.sets("5e6f7a8b"));
        let c = commit(
            r#"{"keys":{"LITELLM_MASTER_KEY":{"old":"1a2b3c4d","new":"5e6f7a8b"}},"verified":false}"#,
        );
        assert!(!c.verified() && c.sets("5e6f7a8b"));
        let c = commit(r#"{"new": "5e6f7a8b", "verified": true}"#);
        assert!(c.verified() && c.sets("5e6f7a8b"));
    }
}
