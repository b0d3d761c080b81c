//! Writing the source's values into every sink: `litekeys-rotate sync
//! --no-restart`, the rotation transaction (lock, journal, backups, atomic
//! writes). The watcher restarts and verifies itself afterwards.
//!
//! Stop-gap: a process, until the rotate crate exposes its transaction.

use crate::actions::Failure;
use crate::restart;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ENV_ROTATE: &str = "LITEKEYS_ROTATE";
/// `litekeys-rotate`'s exit code for "another rotation holds the lock".
const EXIT_LOCKED: i32 = 4;

/// `$LITEKEYS_ROTATE`, else `litekeys-rotate` next to this binary, else on PATH.
pub fn rotate_program() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV_ROTATE).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("litekeys-rotate")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("litekeys-rotate"))
}

pub fn sync(config: Option<&Path>, bound: Duration) -> Result<(), Failure> {
    let mut argv: Vec<OsString> = vec![
        rotate_program().into_os_string(),
        "sync".into(),
        "--no-restart".into(),
    ];
    if let Some(c) = config {
        argv.push("--config".into());
        argv.push(c.as_os_str().to_owned());
    }
    restart::run(&argv, bound).map_err(|e| match e.code {
        Some(EXIT_LOCKED) => Failure::Locked,
        _ => Failure::Sync(e.message),
    })
}
