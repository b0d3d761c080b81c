//! Sinks: the plaintext copies programs read. Each kind turns a file's
//! bytes into its new bytes (a pure edit); this module reads the files,
//! checks they can be replaced, and reports what changes or has drifted.

pub mod dotenv;
pub mod droid;
pub mod json_text;
pub mod systemd_env;

mod error;
pub use error::{PlanError, SameFile, SinkError, SinkFailure, Unwritable, WritableError};

use crate::config::{Config, SinkKind, SinkSpec};
use crate::gateway::Endpoints;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use vault::Secret;
use vault::store::Snapshot;
use zeroize::Zeroizing;

/// Mode of a sink file litekeys creates: it holds secrets.
pub const NEW_MODE: u32 = 0o600;

/// Values by name (what the sinks should hold).
#[derive(Clone, Debug, Default)]
pub struct Values(BTreeMap<String, Secret>);

impl Values {
    /// The first value of each name, as sops' `--extract` reads it.
    pub fn from_plaintext(plain: &vault::Plaintext) -> Values {
        let mut map = BTreeMap::new();
        for (k, v, _) in plain.values() {
            map.entry(k.to_string()).or_insert_with(|| v.clone());
        }
        Values(map)
    }

    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.0.get(key)
    }

    pub fn insert(&mut self, key: &str, value: Secret) {
        self.0.insert(key.to_string(), value);
    }
}

/// What a sink edit is given.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub values: &'a Values,
    /// The names this sink holds.
    pub keys: &'a [String],
    /// Literal keys to be replaced wherever they stand (the previous master
    /// key, as the source and the other sinks held it).
    pub old: &'a [Secret],
    pub gateway: &'a Endpoints,
}

/// One value that changes, shown by fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

impl Field {
    pub fn new(name: &str, old: Option<&[u8]>, new: &Secret) -> Field {
        Field {
            name: name.to_string(),
            old: old.map(vault::fingerprint),
            new: new.fingerprint(),
        }
    }
}

/// A file's new bytes and what changed in them.
pub struct Edit {
    pub bytes: Zeroizing<Vec<u8>>,
    pub fields: Vec<Field>,
}

impl Edit {
    pub fn unchanged(before: &[u8]) -> Edit {
        Edit {
            bytes: Zeroizing::new(before.to_vec()),
            fields: Vec::new(),
        }
    }
}

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
pub struct FileChange {
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
    pub fn before_bytes(&self) -> Option<&[u8]> {
        self.before.existed().then(|| self.before.bytes())
    }
}

/// A file as found on disk.
pub struct Found {
    pub shown: PathBuf,
    pub target: PathBuf,
    pub snapshot: Snapshot,
    pub mode: Option<u32>,
}

impl Found {
    /// The bytes read, `None` when the file is absent.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.snapshot.existed().then(|| self.snapshot.bytes())
    }
}

pub fn read(path: &Path) -> Result<Found, SinkFailure> {
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

/// The files of a sink: one, or a droid directory's settings files.
fn files(spec: &SinkSpec) -> Vec<PathBuf> {
    match spec.kind {
        SinkKind::Droid => droid::files(&spec.path),
        _ => vec![spec.path.clone()],
    }
}

fn edit(spec: &SinkSpec, before: Option<&[u8]>, t: &Target<'_>) -> Result<Edit, SinkError> {
    match spec.kind {
        SinkKind::Dotenv => dotenv::edit(before, t, dotenv::Dialect::Dotenv),
        SinkKind::Droid => match before {
            Some(b) => droid::edit(b, t),
            None => Ok(Edit::unchanged(b"")),
        },
        SinkKind::SystemdEnv => {
            let layout = systemd_env::Layout::of(&spec.path)?;
            systemd_env::edit(layout, before, t)
        }
    }
}

/// Whether `target` can be replaced by rename: its directory (or the
/// nearest existing ancestor, for a new file) must be a writable directory.
pub fn check_writable(target: &Path) -> Result<(), WritableError> {
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

/// Every sink file that changes, with its new bytes. Fails (nothing
/// changed) when any sink cannot be read, parsed or replaced.
pub fn plan(
    config: &Config,
    values: &Values,
    old: &[Secret],
    gateway: &Endpoints,
) -> Result<Vec<FileChange>, PlanError> {
    let mut out: Vec<FileChange> = Vec::new();
    let source = vault::store::resolve(&config.source).unwrap_or_else(|_| config.source.clone());
    let mut seen: Vec<(PathBuf, PathBuf)> = vec![(source, config.source.clone())];
    for spec in &config.sinks {
        let t = Target {
            values,
            keys: &spec.keys,
            old,
            gateway,
        };
        for path in files(spec) {
            let found = read(&path)?;
            if let Some((_, other)) = seen.iter().find(|(t, _)| *t == found.target) {
                return Err(SameFile {
                    path: path.clone(),
                    other: other.clone(),
                    origin: spec.origin.clone(),
                }
                .into());
            }
            seen.push((found.target.clone(), path.clone()));
            let e = edit(spec, found.bytes(), &t).map_err(|e| SinkFailure::new(&path, e))?;
            if e.fields.is_empty() {
                continue;
            }
            check_writable(&found.target).map_err(|e| SinkFailure::new(&path, e))?;
            out.push(FileChange {
                role: Role::Sink(spec.kind),
                shown: found.shown,
                target: found.target,
                mode: found.mode.unwrap_or(NEW_MODE),
                before: found.snapshot,
                after: e.bytes,
                fields: e.fields,
            });
        }
    }
    Ok(out)
}

/// Every assignment a dotenv or systemd-env sink's `bytes` make, in order
/// (the last one wins for the programs that read it); none for a Droid
/// sink, whose keys are per route.
pub fn read_values(spec: &SinkSpec, bytes: &[u8]) -> Vec<(String, Secret)> {
    match spec.kind {
        SinkKind::Dotenv => dotenv::read_values(bytes),
        SinkKind::SystemdEnv => match systemd_env::Layout::of(&spec.path) {
            Ok(layout) => systemd_env::read_values(layout, bytes),
            // The config refuses such a path; nothing to read then.
            Err(_) => Vec::new(),
        },
        SinkKind::Droid => Vec::new(),
    }
}

/// The values of `key` the dotenv and systemd-env sinks hold now: the
/// previous master key on a machine that has not synced yet.
pub fn held(config: &Config, key: &str) -> Vec<Secret> {
    let mut out: Vec<Secret> = Vec::new();
    for spec in &config.sinks {
        if !spec.keys.iter().any(|k| k == key) {
            continue;
        }
        let Ok(found) = read(&spec.path) else {
            continue;
        };
        let Some(bytes) = found.bytes() else {
            continue;
        };
        for (k, v) in read_values(spec, bytes) {
            if k == key && !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    InSync,
    Drifted(Vec<Field>),
    Missing,
    Unreadable(String),
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::InSync => "in-sync",
            State::Drifted(_) => "drifted",
            State::Missing => "missing",
            State::Unreadable(_) => "unreadable",
        }
    }
}

#[derive(Clone, Debug)]
pub struct FileStatus {
    pub kind: SinkKind,
    pub path: PathBuf,
    pub mode: Option<u32>,
    pub state: State,
}

/// Each sink file compared with `values` (the source's current values).
pub fn inspect(config: &Config, values: &Values, gateway: &Endpoints) -> Vec<FileStatus> {
    let mut out = Vec::new();
    for spec in &config.sinks {
        let paths = files(spec);
        if paths.is_empty() {
            out.push(FileStatus {
                kind: spec.kind,
                path: spec.path.clone(),
                mode: None,
                state: State::Missing,
            });
            continue;
        }
        let t = Target {
            values,
            keys: &spec.keys,
            old: &[],
            gateway,
        };
        for path in paths {
            let (mode, state) = match read(&path) {
                Err(e) => (None, State::Unreadable(e.to_string())),
                Ok(found) => match found.bytes() {
                    None => (None, State::Missing),
                    Some(bytes) => match edit(spec, Some(bytes), &t) {
                        Err(reason) => (found.mode, State::Unreadable(reason.to_string())),
                        Ok(e) if e.fields.is_empty() => (found.mode, State::InSync),
                        Ok(e) => (found.mode, State::Drifted(e.fields)),
                    },
                },
            };
            out.push(FileStatus {
                kind: spec.kind,
                path,
                mode,
                state,
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Owns what a `Target` borrows.
    pub(crate) struct Owned {
        values: Values,
        keys: Vec<String>,
        gateway: Endpoints,
    }

    impl Owned {
        pub(crate) fn target(&self) -> Target<'_> {
            Target {
                values: &self.values,
                keys: &self.keys,
                old: &[],
                gateway: &self.gateway,
            }
        }
    }

    pub(crate) fn target(values: &[(&str, &str)], keys: &[&str]) -> Owned {
        let mut v = Values::default();
        for (k, s) in values {
            v.insert(k, Secret::from(s.to_string()));
        }
        Owned {
            values: v,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            gateway: Endpoints::new(["http://127.0.0.1:4000"]),
        }
    }
}
