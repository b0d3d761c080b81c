//! The values a command hands on: chosen by `--only`, and checked before
//! they go into an environment (all or nothing).

use super::exit::Failure;
use std::path::Path;
use vault::{Exit, Plaintext, Secret};

/// Values selected by `--only` (all when absent), refusing unknown names.
pub(super) fn select<'a>(
    path: &Path,
    plain: &'a Plaintext,
    only: Option<&[String]>,
) -> Result<Vec<(&'a str, &'a Secret, usize)>, Failure> {
    let all: Vec<_> = plain.values().collect();
    let Some(only) = only else { return Ok(all) };
    if let Some(missing) = only
        .iter()
        .find(|k| !all.iter().any(|(name, _, _)| name == k))
    {
        return Err(Failure::new(
            Exit::Error,
            format!("{}: no key {missing}", path.display()),
        ));
    }
    Ok(all
        .into_iter()
        .filter(|(name, _, _)| only.iter().any(|k| k == name))
        .collect())
}

/// Refuses a value whose name changes how programs run (`PATH`, `LD_*`,
/// …, see `vault::steers_programs`) unless `--allow-env` names it: no MAC
/// covers an empty `PATH=` line, so anyone who can write the file could
/// otherwise choose which `ls` a direnv shell runs. Refused rather than
/// dropped, so a user who keeps such a name in the file is told.
pub(super) fn refuse_steering(
    path: &Path,
    values: &[(&str, &Secret, usize)],
    allow: &[String],
) -> Result<(), Failure> {
    for &(name, _, line) in values {
        if vault::steers_programs(name) && !allow.iter().any(|a| a == name) {
            return Err(Failure::new(
                Exit::BadInput,
                format!(
                    "{}:{line}: {name} changes how programs run, so litekeys does not export it \
                     unless asked: pass --allow-env {name} if the file should set it, \
                     else remove the line",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The selected values, refused as a whole when one cannot go into an
/// environment: a name that steers programs and is not allowed, a name a
/// shell or `execve` would not take, or a NUL byte.
pub(super) fn checked_env<'a>(
    path: &Path,
    values: &[(&'a str, &'a Secret, usize)],
    allow: &[String],
) -> Result<Vec<(&'a str, &'a Secret, usize)>, Failure> {
    refuse_steering(path, values, allow)?;
    for &(name, value, line) in values {
        if !vault::is_env_name(name) {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "{}:{line}: {name:?} is not a valid environment variable name \
                     (letters, digits, _, not starting with a digit); use --only to leave it out",
                    path.display()
                ),
            ));
        }
        if value.expose().contains(&0) {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "{}:{line}: the value of {name} holds a NUL byte, which no environment can carry; \
                     use --only to leave it out",
                    path.display()
                ),
            ));
        }
    }
    Ok(values.to_vec())
}
