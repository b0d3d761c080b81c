//! Writing the source's values into every sink: `litekeys-rotate sync
//! --no-restart`, the rotation transaction (lock, journal, backups, atomic
//! writes). The watcher restarts and verifies itself afterwards.
//!
//! A process rather than `rotate::transaction::run` in-process: the sync
//! then holds the lock, the identities and its memory only while it runs,
//! and the watcher stays small while idle.

use crate::actions::Failure;
use rotate::service::{Manager, Programs, ServiceError, ServiceSpec};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vault::Secret;

pub const ENV_ROTATE: &str = "LITEKEYS_ROTATE";
/// Bound on one sync (it restarts nothing: files only).
const BOUND: Duration = Duration::from_secs(120);

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

/// Runs the sync with the rotate crate's bounded runner (no shell, stderr
/// kept for the message with any of `hide` shown as its fingerprint).
pub fn sync(config: Option<&Path>, hide: &[&Secret]) -> Result<(), Failure> {
    let mut argv: Vec<OsString> = vec![
        rotate_program().into_os_string(),
        "sync".into(),
        "--no-restart".into(),
    ];
    if let Some(c) = config {
        argv.push("--config".into());
        argv.push(c.as_os_str().to_owned());
    }
    let spec = ServiceSpec {
        manager: Manager::Command { argv },
        timeout: BOUND,
        programs: Programs::default(),
    };
    let locked = format!("exit {}", vault::Exit::Locked.code());
    match spec.restart(false, hide) {
        Ok(_) => Ok(()),
        Err(ServiceError::Failed { status, .. }) if status == locked => Err(Failure::Locked),
        // Its own wording: the service's ("fix the service…") misleads here.
        Err(ServiceError::Failed {
            step,
            status,
            stderr,
        }) => Err(Failure::Sync(format!(
            "`{step}` failed ({status}): {stderr}"
        ))),
        Err(e) => Err(Failure::Sync(e.to_string())),
    }
}
