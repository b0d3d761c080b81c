//! The watched files (the source and the sinks that feed the service), the
//! directories to watch for them, and their content hashes.

use rotate::config::Config;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Source,
    /// Index into `Config::sinks`.
    Sink(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Watched {
    pub(crate) path: PathBuf,
    pub(crate) role: Role,
}

/// A file is followed by name in its parent directory (non-recursive), so
/// that a replacement by rename, or a delete and re-create, is seen; a
/// symlinked file is also followed in its target's directory.
pub(crate) struct WatchSet {
    pub(crate) files: Vec<Watched>,
    by_dir: BTreeMap<PathBuf, Vec<(OsString, usize)>>,
}

/// SHA-256 of every watched file (in `WatchSet::files` order), `None` when
/// missing or unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hashes(pub(crate) Vec<Option<[u8; 32]>>);

impl WatchSet {
    pub(crate) fn new(config: &Config) -> WatchSet {
        let mut files = vec![Watched {
            path: config.source.clone(),
            role: Role::Source,
        }];
        for (i, sink) in config.sinks.iter().enumerate() {
            // Only what the service reads at start needs a restart.
            if sink.kind.feeds_service() {
                files.push(Watched {
                    path: sink.path.clone(),
                    role: Role::Sink(i),
                });
            }
        }
        let mut by_dir: BTreeMap<PathBuf, Vec<(OsString, usize)>> = BTreeMap::new();
        for (i, f) in files.iter().enumerate() {
            let mut add = |p: &Path| {
                if let (Some(dir), Some(name)) = (p.parent(), p.file_name()) {
                    let entry = by_dir.entry(dir.to_path_buf()).or_default();
                    if !entry.iter().any(|(n, j)| n == name && *j == i) {
                        entry.push((name.to_owned(), i));
                    }
                }
            };
            add(&f.path);
            if let Ok(target) = vault::store::resolve(&f.path) {
                if target != f.path {
                    add(&target);
                }
            }
        }
        WatchSet { files, by_dir }
    }

    pub(crate) fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.by_dir.keys().map(PathBuf::as_path)
    }

    /// Which watched files an event on `path` is about.
    pub(crate) fn lookup(&self, path: &Path) -> Vec<usize> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Vec::new();
        };
        self.by_dir.get(dir).map_or_else(Vec::new, |names| {
            names
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, i)| *i)
                .collect()
        })
    }

    pub(crate) fn hashes(&self) -> Hashes {
        Hashes(self.files.iter().map(|f| digest(&f.path)).collect())
    }

    pub(crate) fn name(&self, i: usize) -> String {
        self.files[i].path.display().to_string()
    }
}

impl Hashes {
    /// Indexes of the files whose content differs from `other`.
    pub(crate) fn changed_since(&self, other: &Hashes) -> Vec<usize> {
        (0..self.0.len())
            .filter(|&i| other.0.get(i) != self.0.get(i))
            .collect()
    }
}

fn digest(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path).ok().map(|b| Sha256::digest(&b).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotate::Env;

    #[test]
    fn follows_files_by_name_in_their_directories_and_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("litellm.env"), "A=1\n").unwrap();
        let link = dir.path().join("litellm.env");
        std::os::unix::fs::symlink("real/litellm.env", &link).unwrap();
        let text = format!(
            "source = \"s.enc.env\"\n[[sink]]\nkind = \"dotenv\"\npath = \"{}\"\n[[sink]]\nkind = \"droid\"\npath = \"{}\"\n",
            link.display(),
            dir.path().join(".factory").display()
        );
        let cfg = Config::parse(&dir.path().join("litekeys.toml"), &text, &Env::default()).unwrap();
        let set = WatchSet::new(&cfg);
        assert_eq!(set.files.len(), 2, "droid sinks are not watched");
        assert_eq!(set.lookup(&link), vec![1]);
        assert_eq!(set.lookup(&real.join("litellm.env")), vec![1]);
        assert_eq!(set.lookup(&dir.path().join("s.enc.env")), vec![0]);
        assert!(set.lookup(&dir.path().join(".s.enc.env.lock")).is_empty());
        let before = set.hashes();
        assert_eq!(before.0[0], None);
        std::fs::write(real.join("litellm.env"), "A=2\n").unwrap();
        assert_eq!(set.hashes().changed_since(&before), vec![1]);
    }
}
