//! Completions, man pages, and the sibling binaries run git-style.

use super::args::Args;
use super::exit::Failure;
use clap::CommandFactory;
use std::ffi::OsString;
use std::path::Path;
use vault::Exit;

pub(crate) fn completions(shell: clap_complete::Shell) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "litekeys", &mut out);
    Ok(out)
}

pub(crate) fn manpages(dir: &Path) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| Failure::new(Exit::Error, format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    clap_mangen::generate_to(Args::command(), dir).map_err(fail)?;
    Ok(Vec::new())
}

/// `name subcommand rest…`: `litekeys trust` is `litekeys-rotate trust`,
/// the one home of trust records.
pub(crate) fn sibling_command(
    name: &str,
    subcommand: &str,
    rest: &[OsString],
) -> Result<Vec<u8>, Failure> {
    let mut argv = vec![OsString::from(subcommand)];
    argv.extend(rest.iter().cloned());
    sibling(name, &argv)
}

/// Runs `litekeys-rotate`/`litekeys-watch` from next to this binary, else
/// from PATH, and exits with its status.
pub(crate) fn sibling(name: &str, rest: &[OsString]) -> Result<Vec<u8>, Failure> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)));
    let program: OsString = match beside {
        Some(path) if path.is_file() => path.into(),
        _ => name.into(),
    };
    let status = std::process::Command::new(&program)
        .args(rest)
        .status()
        .map_err(|e| {
            Failure::new(
                Exit::Error,
                format!("cannot run {name}: {e}; install it next to litekeys"),
            )
        })?;
    std::process::exit(status.code().unwrap_or(i32::from(Exit::Error.code())));
}
