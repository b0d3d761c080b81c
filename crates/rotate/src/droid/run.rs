//! One bounded run of the droid binary found on PATH: offline
//! (`FACTORY_AIRGAP_ENABLED=1`), in a private home, stdin closed, its
//! output captured in unlinked files (a background process it leaves
//! behind cannot hold a pipe open), its process group killed by PID on
//! timeout, every secret redacted from what it printed.

use super::error::DroidError;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use vault::Secret;

/// The droid binary.
#[derive(Clone, Debug)]
pub struct Cli {
    pub bin: PathBuf,
}

/// What one run printed, secrets redacted.
#[derive(Debug)]
pub(crate) struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    /// `droid` on PATH, if any.
    pub fn on_path() -> Option<Cli> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join("droid"))
            .find(|p| is_executable(p))
            .map(|bin| Cli { bin })
    }

    /// `droid ARGS` with `home` as HOME and FACTORY_HOME_OVERRIDE, in
    /// `home`, within `timeout`.
    pub(crate) fn run(
        &self,
        home: &Path,
        args: &[&str],
        timeout: Duration,
        hide: &[&Secret],
    ) -> Result<Ran, DroidError> {
        let what = || format!("droid {}", args.first().copied().unwrap_or_default());
        let spawn = |source| DroidError::Spawn {
            bin: self.bin.clone(),
            source,
        };
        let out = tempfile::tempfile().map_err(spawn)?;
        let err = tempfile::tempfile().map_err(spawn)?;
        let mut child = {
            use std::os::unix::process::CommandExt;
            Command::new(&self.bin)
                .args(args)
                .env("HOME", home)
                .env("FACTORY_HOME_OVERRIDE", home)
                .env("FACTORY_AIRGAP_ENABLED", "1")
                .env("NO_COLOR", "1")
                .current_dir(home)
                .stdin(Stdio::null())
                .stdout(out.try_clone().map_err(spawn)?)
                .stderr(err.try_clone().map_err(spawn)?)
                .process_group(0)
                .spawn()
                .map_err(spawn)?
        };
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) | Err(_) => {
                    kill_group(&mut child);
                    return Err(DroidError::TimedOut {
                        what: what(),
                        timeout,
                    });
                }
            }
        };
        // What it left running in its group goes with it.
        kill_group(&mut child);
        Ok(Ran {
            status,
            stdout: Secret::redact(&read_all(out), hide),
            stderr: Secret::redact(&read_all(err), hide),
        })
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn read_all(mut f: std::fs::File) -> String {
    let mut bytes = Vec::new();
    if f.rewind().is_ok() {
        let _ = f.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn kill_group(child: &mut std::process::Child) {
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        // The group may already be gone.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last non-empty lines of `text` on one line (for a message).
pub(crate) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines[lines.len().saturating_sub(3)..].join(" | ");
    let chars = joined.chars().count();
    if chars <= 400 {
        joined
    } else {
        format!("…{}", joined.chars().skip(chars - 400).collect::<String>())
    }
}
