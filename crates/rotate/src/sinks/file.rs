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

/// The most a sink file may hold: settings and env files are kilobytes.
pub(crate) const MAX_SINK_BYTES: u64 = 4 * 1024 * 1024;

/// Refuses what is not a regular file of a sane size, from its type (stat
/// never opens it: opening a FIFO would block, reading `/dev/zero` would
/// never end). A file that is absent passes.
pub(crate) fn check_regular(target: &Path) -> Result<(), SinkError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SinkError::Read(e)),
    };
    let t = meta.file_type();
    let what = if t.is_file() {
        if meta.len() > MAX_SINK_BYTES {
            return Err(SinkError::TooLarge {
                size: meta.len(),
                limit: MAX_SINK_BYTES,
            });
        }
        return Ok(());
    } else if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    };
    Err(SinkError::NotRegular { what })
}

pub(crate) fn read(path: &Path) -> Result<Found, SinkFailure> {
    let target =
        vault::store::resolve(path).map_err(|e| SinkFailure::new(path, SinkError::Resolve(e)))?;
    check_regular(&target).map_err(|e| SinkFailure::new(path, e))?;
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
