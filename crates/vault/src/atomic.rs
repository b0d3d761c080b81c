//! Replacing a file so that readers see the old bytes or the new, never a
//! mix: resolve symlinks, write a temp file in the target's directory,
//! fsync, keep mode and owner, rename, fsync the directory.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Follows symlinks to the file that is really written; a dangling link
/// resolves to its (future) target.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(md) if md.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    current.parent().unwrap_or(Path::new(".")).join(target)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Writes `bytes` to `path` atomically. An existing file keeps its mode and
/// owner; a new one gets `new_mode`. Returns the path really written.
pub fn write(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<PathBuf> {
    let target = resolve(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing = fs::metadata(&target).ok();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    let mode = existing.as_ref().map_or(new_mode, |m| m.mode() & 0o7777);
    // Tighten before the first byte lands: the temp file must never be
    // more readable than the file it replaces.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    if let Some(md) = &existing {
        chown(tmp.as_file(), md.uid(), md.gid())?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    sync_dir(&dir)?;
    Ok(target)
}

/// Keeps the owner of a file we replace. Only root may give files away; for
/// anyone else a file they can replace is theirs or their group's, and the
/// group is kept when they are in it.
fn chown(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    use rustix::fs::{Gid, Uid, fchown};
    let me = rustix::process::geteuid();
    let uid = Uid::from_raw(uid);
    let gid = Gid::from_raw(gid);
    let result = if me.is_root() {
        fchown(file, Some(uid), Some(gid))
    } else {
        fchown(file, None, Some(gid))
    };
    match result {
        Ok(()) => Ok(()),
        // Not in the group: the file keeps ours, as `cp` would.
        Err(rustix::io::Errno::PERM) if !me.is_root() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

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
pub const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

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
        let give_up = std::time::Instant::now() + LOCK_GRACE;
        loop {
            match flock(&file, op) {
                Ok(()) => {
                    return Ok(Lock {
                        _file: file,
                        path: lock,
                    });
                }
                Err(rustix::io::Errno::WOULDBLOCK) if std::time::Instant::now() < give_up => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
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
    fn keeps_mode_and_writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.env");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink("real.env", &link).unwrap();
        let written = write(&link, b"new", 0o600).unwrap();
        assert_eq!(written, real);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o777, 0o640);
        let fresh = dir.path().join("fresh.env");
        write(&fresh, b"x", 0o600).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .collect();
        assert!(leftovers.is_empty());
    }

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
