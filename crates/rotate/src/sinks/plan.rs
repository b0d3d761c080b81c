//! The sinks' part of a rotation's plan: every sink file that changes,
//! with its new bytes, or why none may be written.

use super::edit::{Target, Values};
use super::error::{PlanError, SameFile, SinkFailure};
use super::file::{FileChange, NEW_MODE, Role, check_writable, read};
use super::kind::{edit, files};
use crate::config::Config;
use crate::gateway::Endpoints;
use std::path::PathBuf;
use vault::Secret;

/// Every sink file that changes, with its new bytes. Fails (nothing
/// changed) when any sink cannot be read, parsed or replaced.
pub(crate) fn plan(
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
