//! What files hold before and after a run: the bytes, permission bits and
//! group of every file under some roots (files or directories). Lock
//! sidecars and emptied journals are bookkeeping, not content.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

type Content = (Vec<u8>, u32, u32);

#[derive(Debug)]
pub struct Snapshot {
    roots: Vec<PathBuf>,
    /// More file names that are bookkeeping (a restart counter, …).
    ignore: Vec<String>,
    files: BTreeMap<PathBuf, Content>,
}

impl Snapshot {
    pub fn of<I, P>(roots: I) -> Snapshot
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        Snapshot::ignoring(roots, &[])
    }

    pub fn ignoring<I, P>(roots: I, names: &[&str]) -> Snapshot
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let roots: Vec<PathBuf> = roots.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let ignore: Vec<String> = names.iter().map(std::string::ToString::to_string).collect();
        let files = read(&roots, &ignore);
        Snapshot {
            roots,
            ignore,
            files,
        }
    }

    /// Every file under the roots is as it was: none changed, created or
    /// removed.
    pub fn assert_unchanged(&self) {
        let after = read(&self.roots, &self.ignore);
        let differ: Vec<&PathBuf> = self
            .files
            .keys()
            .chain(after.keys().filter(|p| !self.files.contains_key(*p)))
            .filter(|p| self.files.get(*p) != after.get(*p))
            .collect();
        assert!(differ.is_empty(), "changed, created or removed: {differ:?}");
    }

    /// Some file under each root changed (or appeared, or went).
    pub fn assert_changed(&self) {
        let after = read(&self.roots, &self.ignore);
        for root in &self.roots {
            let under = |m: &BTreeMap<PathBuf, Content>| -> Vec<(PathBuf, Content)> {
                m.iter()
                    .filter(|(p, _)| p.starts_with(root))
                    .map(|(p, c)| (p.clone(), c.clone()))
                    .collect()
            };
            assert_ne!(
                under(&self.files),
                under(&after),
                "{} did not change",
                root.display()
            );
        }
    }
}

fn read(roots: &[PathBuf], ignore: &[String]) -> BTreeMap<PathBuf, Content> {
    roots
        .iter()
        .flat_map(|root| {
            if root.is_dir() {
                walk(root)
            } else {
                vec![root.clone()]
            }
        })
        .filter(|p| !bookkeeping(p, ignore))
        .filter_map(|p| {
            let md = std::fs::metadata(&p).ok()?;
            let bytes = std::fs::read(&p).ok()?;
            Some((p, (bytes, md.mode() & 0o7777, md.gid())))
        })
        .collect()
}

fn bookkeeping(path: &Path, ignore: &[String]) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".lock")
        || ignore.contains(&name)
        || (name.ends_with(".journal") && std::fs::metadata(path).is_ok_and(|md| md.len() == 0))
}

/// Every regular file under `root`, sorted.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
