//! The advisory lock on a sidecar `.NAME.lock` next to the file: every
//! litekeys write, a rotation and sops (which takes the same flock) exclude
//! each other through it.

use super::replace::resolve;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An advisory lock on a sidecar `.NAME.lock` next to `path`, held until
/// dropped. The sidecar (not the file) is locked because the file itself is
/// replaced by rename on every write.
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{} is locked by another litekeys or sops process; try again when it has finished", .0.display())]
    Busy(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// How long a non-waiting [`Lock::acquire`] tries before it reports `Busy`.
pub(crate) const LOCK_GRACE: Duration = Duration::from_millis(250);

pub fn lock_path(path: &Path) -> PathBuf {
    let target = resolve(path).unwrap_or_else(|_| path.to_path_buf());
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.lock"))
}

impl Lock {
    /// Takes the lock, waiting for it when `wait`; else `Busy` once another
    /// process has held it for [`LOCK_GRACE`]. The grace lets a holder of a
    /// few microseconds (litekeys-watch checking for a rotation) pass
    /// without failing the command that came at the same instant.
    pub fn acquire(path: &Path, wait: bool) -> Result<Lock, LockError> {
        use rustix::fs::{FlockOperation, flock};
        let lock = lock_path(path);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode_0600()
            .open(&lock)
            .map_err(|source| LockError::Io {
                path: lock.clone(),
                source,
            })?;
        let op = if wait {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::NonBlockingLockExclusive
        };
        let give_up = Instant::now() + LOCK_GRACE;
        loop {
            match flock(&file, op) {
                Ok(()) => {
                    return Ok(Lock {
                        _file: file,
                        path: lock,
                    });
                }
                Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(LockError::Busy(path.to_path_buf()));
                }
                Err(e) => {
                    return Err(LockError::Io {
                        path: lock,
                        source: e.into(),
                    });
                }
            }
        }
    }

    /// Takes the lock, waiting at most `limit` for another process to
    /// release it (a person's command may wait for another's).
    pub fn acquire_within(path: &Path, limit: Duration) -> Result<Lock, LockError> {
        let start = Instant::now();
        loop {
            match Lock::acquire(path, false) {
                Err(LockError::Busy(_)) if start.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.env");
        let _held = Lock::acquire(&file, false).unwrap();
        assert!(matches!(
            Lock::acquire(&file, false),
            Err(LockError::Busy(_))
        ));
    }

    #[test]
    fn a_lock_held_briefly_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.env");
        let held = Lock::acquire(&file, false).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(LOCK_GRACE / 5);
            drop(held);
        });
        assert!(Lock::acquire(&file, false).is_ok());
        release.join().unwrap();
    }
}
