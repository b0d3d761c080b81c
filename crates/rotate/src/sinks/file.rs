//! The files the transaction replaces: reading one as found on disk
//! ([`read`], [`Found`]), whether it can be replaced ([`check_writable`]),
//! and the planned change ([`FileChange`], with its [`Role`]).

use super::edit::Field;
use super::error::{SinkError, SinkFailure, WritableError};
use crate::config::SinkKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use vault::store::Snapshot;
use zeroize::Zeroizing;

/// Mode of a sink file litekeys creates: it holds secrets.
pub(crate) const NEW_MODE: u32 = 0o600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Source,
    Sink(SinkKind),
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Sink(k) => k.name(),
        }
    }
}

/// A file the transaction replaces.
pub(crate) struct FileChange {
    pub role: Role,
    /// The path as configured (it may be a symlink).
    pub shown: PathBuf,
    /// The file really written (symlinks resolved).
    pub target: PathBuf,
    /// What the target held when planned (or that it was absent): it is
    /// replaced only if it still holds that.
    pub before: Snapshot,
    pub after: Zeroizing<Vec<u8>>,
    pub fields: Vec<Field>,
    pub mode: u32,
}

impl FileChange {
    /// The bytes before, `None` for a file the transaction creates.
    pub(crate) fn before_bytes(&self) -> Option<&[u8]> {
        self.before.existed().then(|| self.before.bytes())
    }
}

/// A file as found on disk.
pub(crate) struct Found {
    pub shown: PathBuf,
    pub target: PathBuf,
    pub snapshot: Snapshot,
    pub mode: Option<u32>,
}

impl Found {
    /// The bytes read, `None` when the file is absent.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        self.snapshot.existed().then(|| self.snapshot.bytes())
    }
}

pub(crate) fn read(path: &Path) -> Result<Found, SinkFailure> {
    let target =
        vault::store::resolve(path).map_err(|e| SinkFailure::new(path, SinkError::Resolve(e)))?;
    let snapshot = Snapshot::read_or_absent(&target)
        .map_err(|e| SinkFailure::new(path, SinkError::Read(e)))?;
    let mode = snapshot
        .existed()
        .then(|| std::fs::metadata(&target).ok().map(|m| m.mode() & 0o7777))
        .flatten();
    Ok(Found {
        shown: path.to_path_buf(),
        target,
        snapshot,
        mode,
    })
}

/// Whether `target` can be replaced by rename: its directory (or the
/// nearest existing ancestor, for a new file) must be a writable directory.
pub(crate) fn check_writable(target: &Path) -> Result<(), WritableError> {
    use rustix::fs::{Access, access};
    if target.is_dir() {
        return Err(WritableError::IsDirectory);
    }
    let mut dir = target.parent().unwrap_or(Path::new("/"));
    while !dir.exists() {
        dir = dir.parent().unwrap_or(Path::new("/"));
    }
    if !dir.is_dir() {
        return Err(WritableError::NotADirectory(dir.to_path_buf()));
    }
    access(dir, Access::WRITE_OK | Access::EXEC_OK).map_err(|e| WritableError::CannotWriteIn {
        dir: dir.to_path_buf(),
        source: e.into(),
    })
}
