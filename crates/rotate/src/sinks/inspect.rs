//! What the sinks hold now: each file compared with the source's values
//! ([`inspect`], for `status`), and the values of one key they hold
//! ([`held`]: the previous master key on a machine not yet synced).

use super::edit::{Field, Note, Target, Values};
use super::file::read;
use super::kind::{edit, files, read_values, review};
use crate::config::{Config, SinkKind};
use crate::gateway::Endpoints;
use std::path::PathBuf;
use vault::Secret;

/// The values of `key` the sinks other than Droid's hold now (literal
/// values only: no `os.environ/` or `${VAR}` references): the previous
/// master key on a machine that has not synced yet.
pub(crate) fn held(config: &Config, key: &str) -> Vec<Secret> {
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
    /// Findings beyond the state (a route pointing elsewhere with the
    /// gateway key, a world-readable file, a route with no usable key).
    pub notes: Vec<Note>,
}

impl FileStatus {
    /// In sync, and no finding says it does not serve the source's key.
    pub fn in_sync(&self) -> bool {
        self.state == State::InSync && !self.notes.iter().any(|n| n.drift)
    }
}

/// Every sink file's findings, `path: text`, for the plan of a
/// transaction (`old`: the keys it replaces).
pub(crate) fn notes(
    config: &Config,
    values: &Values,
    old: &[Secret],
    gateway: &Endpoints,
) -> Vec<String> {
    let mut out = Vec::new();
    for spec in &config.sinks {
        let t = Target {
            values,
            keys: &spec.keys,
            old,
            gateway,
        };
        for path in files(spec) {
            let Ok(found) = read(&path) else { continue };
            let Some(bytes) = found.bytes() else { continue };
            for note in review(spec, &path, bytes, found.mode, &t) {
                out.push(format!("{}: {}", path.display(), note.text));
            }
        }
    }
    out
}

/// Each sink file compared with `values` (the source's current values).
pub(crate) fn inspect(config: &Config, values: &Values, gateway: &Endpoints) -> Vec<FileStatus> {
    let mut out = Vec::new();
    for spec in &config.sinks {
        let paths = files(spec);
        if paths.is_empty() {
            out.push(FileStatus {
                kind: spec.kind,
                path: spec.path.clone(),
                mode: None,
                state: State::Missing,
                notes: Vec::new(),
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
            let mut notes = Vec::new();
            let (mode, state) = match read(&path) {
                Err(e) => (None, State::Unreadable(e.to_string())),
                Ok(found) => match found.bytes() {
                    None => (None, State::Missing),
                    Some(bytes) => {
                        notes = review(spec, &path, bytes, found.mode, &t);
                        match edit(spec, Some(bytes), &t) {
                            Err(reason) => (found.mode, State::Unreadable(reason.to_string())),
                            Ok(e) if e.fields.is_empty() => (found.mode, State::InSync),
                            Ok(e) => (found.mode, State::Drifted(e.fields)),
                        }
                    }
                },
            };
            out.push(FileStatus {
                kind: spec.kind,
                path,
                mode,
                state,
                notes,
            });
        }
    }
    out
}
