//! `litekeys direnv`: what an `.envrc` evaluates.

use super::args::Input;
use super::exit::Failure;
use super::input;
use super::select::{checked_env, select};
use super::shell_quote::{push_export, push_single_quoted};
use std::os::unix::ffi::OsStrExt;
use vault::Exit;

/// For `~/.config/direnv/direnvrc`: `use litekeys [FILE [--only K1,K2]]`.
/// The output of litekeys is evaluated only when litekeys succeeded, so a
/// failure exports nothing (its error is on stderr, which direnv shows).
const STDLIB: &str = r#"# litekeys: `use litekeys [FILE [--only K1,K2]]` in an .envrc exports the
# values of the sops-encrypted FILE (default: $LITEKEYS_FILE, else the nearest
# secrets/global.enc.env) and reloads when FILE changes.
# Printed by `litekeys direnv --stdlib`.
use_litekeys() {
  local -a litekeys_args=(direnv)
  if [[ $# -gt 0 && $1 != -* ]]; then
    # Watched even when decryption fails, so fixing the file reloads.
    watch_file "$1"
    litekeys_args+=(-f "$1")
    shift
  fi
  if ! has litekeys; then
    log_error "use litekeys: litekeys is not on PATH"
    return 1
  fi
  local litekeys_out
  if ! litekeys_out="$(litekeys "${litekeys_args[@]}" "$@")"; then
    log_error "use litekeys: nothing exported"
    return 1
  fi
  eval "$litekeys_out"
}
"#;

pub(crate) fn run(
    input: &Input,
    stdlib: bool,
    only: Option<&[String]>,
    allow_env: &[String],
) -> Result<Vec<u8>, Failure> {
    if stdlib {
        return Ok(STDLIB.as_bytes().to_vec());
    }
    let (path, plain) = input::open(input)?;
    let values = select(&path, &plain, only)?;
    let env = checked_env(&path, &values, allow_env)?;
    // Absolute, so the watch holds whatever directory direnv evaluates in.
    let watched = std::path::absolute(&path).map_err(|e| {
        Failure::new(
            Exit::Error,
            format!("{}: cannot make the path absolute: {e}", path.display()),
        )
    })?;
    let mut out = Vec::new();
    out.extend_from_slice(b"watch_file ");
    push_single_quoted(&mut out, watched.as_os_str().as_bytes());
    out.push(b'\n');
    for (name, value, _) in env {
        push_export(&mut out, name, value.expose());
    }
    Ok(out)
}
