//! One line per event on stderr, fingerprints only. Under systemd
//! (`JOURNAL_STREAM` set) the journal adds the time, so lines carry a
//! syslog priority prefix (`<3>`) instead; elsewhere they start with a UTC
//! timestamp. With `NOTIFY_SOCKET` set, each line is also the unit's
//! `STATUS=`.

use crate::sdnotify;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
}

fn under_journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some_and(|v| !v.is_empty()))
}

pub(crate) fn info(msg: impl AsRef<str>) {
    line(Level::Info, msg.as_ref());
}

pub(crate) fn warn(msg: impl AsRef<str>) {
    line(Level::Warn, msg.as_ref());
}

pub(crate) fn error(msg: impl AsRef<str>) {
    line(Level::Error, msg.as_ref());
}

pub(crate) fn line(level: Level, msg: &str) {
    // A message is one line, whatever a peer put in it.
    let msg = msg.replace(['\n', '\r'], " ");
    let tag = match level {
        Level::Info => "",
        Level::Warn => "warning: ",
        Level::Error => "error: ",
    };
    let text = if under_journal() {
        let prio = match level {
            Level::Info => 6,
            Level::Warn => 4,
            Level::Error => 3,
        };
        format!("<{prio}>litekeys-watch: {tag}{msg}\n")
    } else {
        format!("{} litekeys-watch: {tag}{msg}\n", timestamp())
    };
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    sdnotify::status(&format!("{tag}{msg}"));
}

/// UTC, milliseconds: `2026-11-21T23:40:00.123Z`.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let whole = vault::Timestamp::from_unix(now.as_secs()).to_string();
    let base = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{base}.{:03}Z", now.subsec_millis())
}
