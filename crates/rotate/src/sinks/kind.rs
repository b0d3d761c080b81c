//! The one place that dispatches on [`SinkKind`]: which files a sink has,
//! which kind's edit applies, and how its values are read back.

use super::edit::{Edit, Note, Target};
use super::error::SinkError;
use super::pointed::{self, Format};
use super::{dotenv, droid, litellm_config, systemd_env};
use crate::config::{SinkKind, SinkSpec};
use std::path::{Path, PathBuf};
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
        SinkKind::LitellmConfig => litellm_config::edit(before, t),
        SinkKind::Json | SinkKind::Toml | SinkKind::Yaml => match pointed_parts(spec) {
            Some((format, pointer)) => pointed::edit(format, before, pointer, t),
            // The config requires a pointer for these kinds.
            None => Ok(Edit::unchanged(before.unwrap_or_default())),
        },
    }
}

/// What `status` says about a sink file beyond its changes: the Droid
/// routes' findings ([`droid::review`]), and a file holding a key that
/// every user of the machine may read. Group access alone is not flagged:
/// a dedicated group (the docker `.env` at 0640 root:docker) is a
/// deliberate setup; world access never is.
pub(crate) fn review(
    spec: &SinkSpec,
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    t: &Target<'_>,
) -> Vec<Note> {
    let mut notes = match spec.kind {
        SinkKind::Droid => droid::review(bytes, t),
        SinkKind::LitellmConfig => litellm_config::review(bytes, t),
        _ => match pointed_parts(spec) {
            Some((format, pointer)) => pointed::review(format, bytes, pointer),
            None => Vec::new(),
        },
    };
    let holds_key = match spec.kind {
        SinkKind::Droid => t
            .keys
            .first()
            .and_then(|k| t.values.get(k))
            .is_some_and(|v| !v.is_empty() && contains(bytes, v.expose())),
        _ => read_values(spec, bytes)
            .iter()
            .any(|(k, v)| !v.is_empty() && spec.keys.contains(k)),
    };
    if let Some(mode) = mode.filter(|m| holds_key && m & 0o007 != 0) {
        notes.push(Note {
            text: format!(
                "mode {mode:04o}: every user of this machine can read the key it holds; run `chmod 600 {}`",
                path.display()
            ),
            drift: false,
        });
    }
    notes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A json, toml or yaml sink's format and pointer.
fn pointed_parts(spec: &SinkSpec) -> Option<(Format, &crate::config::Pointer)> {
    Some((Format::of(spec.kind)?, spec.pointer.as_ref()?))
}

/// Every assignment a dotenv or systemd-env sink's `bytes` make, in order
/// (the last one wins for the programs that read it); the literal keys a
/// litellm-config sink holds; a json, toml or yaml sink's key with the
/// literal string at its pointer; none for a Droid sink, whose keys are
/// per route.
pub fn read_values(spec: &SinkSpec, bytes: &[u8]) -> Vec<(String, Secret)> {
    match spec.kind {
        SinkKind::Dotenv => dotenv::read_values(bytes),
        SinkKind::SystemdEnv => match systemd_env::Layout::of(&spec.path) {
            Ok(layout) => systemd_env::read_values(layout, bytes),
            // The config refuses such a path; nothing to read then.
            Err(_) => Vec::new(),
        },
        SinkKind::LitellmConfig => litellm_config::read_values(bytes),
        SinkKind::Json | SinkKind::Toml | SinkKind::Yaml => match pointed_parts(spec) {
            Some((format, pointer)) => {
                pointed::read_values(format, bytes, pointer, spec.keys.first())
            }
            None => Vec::new(),
        },
        SinkKind::Droid => Vec::new(),
    }
}
