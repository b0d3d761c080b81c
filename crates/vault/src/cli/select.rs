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

/// The selected values, refused as a whole when one cannot go into an
/// environment: a name a shell or `execve` would not take, or a NUL byte.
pub(super) fn checked_env<'a>(
    path: &Path,
    values: &[(&'a str, &'a Secret, usize)],
) -> Result<Vec<(&'a str, &'a Secret, usize)>, Failure> {
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
