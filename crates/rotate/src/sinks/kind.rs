//! The one place that dispatches on [`SinkKind`]: which files a sink has,
//! which kind's edit applies, and how its values are read back.

use super::edit::{Edit, Target};
use super::error::SinkError;
use super::{dotenv, droid, systemd_env};
use crate::config::{SinkKind, SinkSpec};
use std::path::PathBuf;
use vault::Secret;

/// The files of a sink: one, or a droid directory's settings files.
pub(crate) fn files(spec: &SinkSpec) -> Vec<PathBuf> {
    match spec.kind {
        SinkKind::Droid => droid::files(&spec.path),
        _ => vec![spec.path.clone()],
    }
}

pub(crate) fn edit(
    spec: &SinkSpec,
    before: Option<&[u8]>,
    t: &Target<'_>,
) -> Result<Edit, SinkError> {
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
