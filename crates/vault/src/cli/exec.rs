//! `litekeys exec`: decrypt, then become the command.

use super::args::{ExecArgs, Input};
use super::exit::Failure;
use super::read;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use vault::Exit;
use vault::Secret;

/// What `--pristine` keeps of the current environment.
const PRISTINE_KEEP: [&str; 4] = ["PATH", "HOME", "USER", "TERM"];

pub fn run(input: &Input, exec: &ExecArgs) -> Result<Vec<u8>, Failure> {
    let (program, rest) = exec.command.split_first().ok_or_else(|| {
        Failure::new(Exit::Usage, "exec: no command given (litekeys exec -- CMD)")
    })?;
    let (path, plain) = read::open(input)?;
    let values = read::select(&path, &plain, exec.only.as_deref())?;
    // Every value is checked before anything runs: all or nothing.
    let env = checked_env(&path, &values)?;

    let mut cmd = Command::new(program);
    cmd.args(rest);
    if exec.pristine {
        cmd.env_clear();
        for name in PRISTINE_KEEP {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
    }
    for (name, value, _) in &env {
        cmd.env(name, OsStr::from_bytes(value.expose()));
    }
    // Only returns on failure; on success this process is the command, so
    // its exit status and signals reach our parent unchanged.
    let err = cmd.exec();
    let program = program.to_string_lossy();
    Err(if err.kind() == ErrorKind::NotFound {
        Failure::new(
            Exit::CommandNotFound,
            format!("exec: {program}: command not found; check its name and PATH"),
        )
    } else {
        Failure::new(
            Exit::CommandCannotRun,
            format!("exec: cannot run {program}: {err}"),
        )
    })
}

/// The selected values, refused as a whole when one cannot go into an
/// environment: a name a shell or `execve` would not take, or a NUL byte.
pub fn checked_env<'a>(
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
