//! The private home droid runs in: a 0700 temporary directory whose
//! `.factory/` holds copies (0600) of the files droid reads from a Droid
//! sink, removed on drop.

use super::error::DroidError;
use super::models::{LEGACY, LOCAL, SETTINGS};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The files of a Droid sink that droid reads, by the name droid gives
/// them: the directory's settings.json, settings.local.json, config.json
/// (existing or not), or the sink's one file when it has such a name.
pub(crate) fn read_by_droid(sink: &Path) -> Vec<(&'static str, PathBuf)> {
    let names = [SETTINGS, LOCAL, LEGACY];
    if sink.is_dir() {
        return names.iter().map(|n| (*n, sink.join(n))).collect();
    }
    let own = sink
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    names
        .iter()
        .filter(|n| **n == own)
        .map(|n| (*n, sink.to_path_buf()))
        .collect()
}

pub(crate) struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A home whose `.factory/` holds `files` (name, content); `shown` is
    /// the Droid directory they stand for (for messages).
    pub(crate) fn with(files: &[(&str, &[u8])], shown: &Path) -> Result<Home, DroidError> {
        let copy = |source| DroidError::Copy {
            dir: shown.to_path_buf(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix("litekeys-droid.")
            .tempdir()
            .map_err(copy)?;
        let factory = dir.path().join(".factory");
        std::fs::create_dir(&factory).map_err(copy)?;
        for (name, bytes) in files {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(factory.join(name))
                .map_err(copy)?;
            f.write_all(bytes).map_err(copy)?;
        }
        Ok(Home { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where droid finds the copies.
    pub(crate) fn factory(&self) -> PathBuf {
        self.dir.path().join(".factory")
    }
}
