//! `litekeys exec`: decrypt, then become the command.

use super::args::{ExecArgs, Input};
use super::exit::Failure;
use super::input;
use super::select::{checked_env, select};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use vault::Exit;

/// What `--pristine` keeps of the current environment.
const PRISTINE_KEEP: [&str; 4] = ["PATH", "HOME", "USER", "TERM"];

pub(crate) fn run(input: &Input, exec: &ExecArgs) -> Result<Vec<u8>, Failure> {
    let (program, rest) = exec.command.split_first().ok_or_else(|| {
        Failure::new(Exit::Usage, "exec: no command given (litekeys exec -- CMD)")
    })?;
    let (path, plain) = input::open(input)?;
    let values = select(&path, &plain, exec.only.as_deref())?;
    // Every value is checked before anything runs: all or nothing.
    let env = checked_env(&path, &values, &exec.allow_env)?;

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
