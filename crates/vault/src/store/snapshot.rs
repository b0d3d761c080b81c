//! Read, then replace only if unchanged: a write that refuses when someone
//! else (an editor, sops, git, Droid) changed the file between our reading
//! and our replacing it. Hold the file's [`Lock`](super::Lock) around both
//! against other litekeys; this catches everyone else.

use super::replace;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroize;

/// The bytes a file held when read, or that it was absent. Not wiped on
/// drop unless [`wiped`](Snapshot::wiped): an encrypted file holds no
/// plaintext, and wiping a 2 MB one is 3 % of a `litekeys set`.
pub struct Snapshot {
    path: PathBuf,
    bytes: Option<Vec<u8>>,
    wipe: bool,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if self.wipe {
            self.bytes.zeroize();
        }
    }
}

/// Someone else changed the file since it was read; nothing was written.
#[derive(Debug, Error)]
#[error(
    "{}: changed by another program while litekeys was working on it; nothing written, run the command again",
    path.display()
)]
pub struct ChangedUnderneath {
    pub path: PathBuf,
}

#[derive(Debug, Error)]
pub enum ReplaceError {
    #[error(transparent)]
    Changed(#[from] ChangedUnderneath),
    /// The file could not be read again to compare it.
    #[error("{}: {source}", path.display())]
    Check { path: PathBuf, source: io::Error },
    /// The new bytes could not be written; the file holds the old ones.
    #[error("{}: cannot write ({source}); nothing changed", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl Snapshot {
    /// The file's bytes; a missing file is an error.
    pub fn read(path: &Path) -> io::Result<Snapshot> {
        Ok(Snapshot {
            path: path.to_path_buf(),
            bytes: Some(std::fs::read(path)?),
            wipe: false,
        })
    }

    /// The file's bytes, or that it is absent (a file a write will create).
    pub fn read_or_absent(path: &Path) -> io::Result<Snapshot> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Snapshot {
                path: path.to_path_buf(),
                bytes: Some(bytes),
                wipe: false,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Snapshot {
                path: path.to_path_buf(),
                bytes: None,
                wipe: false,
            }),
            Err(e) => Err(e),
        }
    }

    /// Wipes the bytes (and the buffer they are compared through) when
    /// done: for a file that holds plaintext (a sink).
    pub fn wiped(mut self) -> Snapshot {
        self.wipe = true;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes read; empty when the file was absent.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_deref().unwrap_or_default()
    }

    /// Whether the file was there when read.
    pub fn existed(&self) -> bool {
        self.bytes.is_some()
    }

    /// Whether the file still holds what was read (streamed: no second copy
    /// of a large file in memory).
    pub fn unchanged(&self) -> io::Result<bool> {
        let Some(expected) = self.bytes.as_deref() else {
            return match std::fs::metadata(&self.path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
                Err(e) => Err(e),
                Ok(_) => Ok(false),
            };
        };
        let mut file = std::fs::File::open(&self.path)?;
        if file.metadata()?.len() != expected.len() as u64 {
            return Ok(false);
        }
        let mut buf = [0u8; 64 * 1024];
        let same = same_stream(&mut file, expected, &mut buf);
        if self.wipe {
            buf.zeroize();
        }
        same
    }

    /// Replaces the file with `new` (atomically, see [`replace::write`];
    /// a file that was absent gets `new_mode`), unless it changed since it
    /// was read: checked before writing and again right before the rename,
    /// once the temp file is written and synced (a `sops set` that lands
    /// while we fsync is seen, not overwritten). Returns the path really
    /// written (symlinks resolved).
    pub fn replace_if_unchanged(&self, new: &[u8], new_mode: u32) -> Result<PathBuf, ReplaceError> {
        let check = |source| ReplaceError::Check {
            path: self.path.clone(),
            source,
        };
        let changed = || ChangedUnderneath {
            path: self.path.clone(),
        };
        if !self.unchanged().map_err(check)? {
            return Err(changed().into());
        }
        let mut recheck = None;
        let written = replace::write_if(&self.path, new, new_mode, || {
            let unchanged = self.unchanged();
            let go = matches!(unchanged, Ok(true));
            recheck = Some(unchanged);
            Ok(go)
        });
        match (written, recheck) {
            (Ok(Some(target)), _) => Ok(target),
            (Ok(None), Some(Err(source))) => Err(check(source)),
            (Ok(None), _) => Err(changed().into()),
            (Err(source), _) => Err(ReplaceError::Write {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Whether `file` reads as exactly `expected`, through `buf`.
fn same_stream(file: &mut std::fs::File, expected: &[u8], buf: &mut [u8]) -> io::Result<bool> {
    let mut at = 0;
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            return Ok(at == expected.len());
        }
        if at + n > expected.len() || buf[..n] != expected[at..at + n] {
            return Ok(false);
        }
        at += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_what_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.env");
        std::fs::write(&path, "one").unwrap();
        let snap = Snapshot::read(&path).unwrap();
        assert_eq!(snap.bytes(), b"one");
        snap.replace_if_unchanged(b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // The file now differs from the snapshot (same length, too).
        assert!(matches!(
            snap.replace_if_unchanged(b"three", 0o600),
            Err(ReplaceError::Changed(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn an_absent_file_must_stay_absent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.env");
        let snap = Snapshot::read_or_absent(&path).unwrap();
        assert!(!snap.existed() && snap.bytes().is_empty() && snap.unchanged().unwrap());
        std::fs::write(&path, "").unwrap();
        assert!(!snap.unchanged().unwrap());
        assert!(Snapshot::read(&dir.path().join("missing")).is_err());
    }
}
