//! Which encrypted file a command works on: `-f FILE`, else
//! `$LITEKEYS_FILE`, else the nearest `secrets/global.enc.env` walking up
//! from the current directory — used only once the user trusted it
//! (`litekeys trust`): a repository someone else wrote may hold one.

use crate::trust::{TrustError, TrustState, TrustStore, trust_command};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const ENV_FILE: &str = "LITEKEYS_FILE";
pub(crate) const DEFAULT_RELATIVE: &str = "secrets/global.enc.env";

/// Why no encrypted file was found.
#[derive(Debug, Error)]
pub enum LocateError {
    #[error("cannot read the current directory: {0}")]
    NoCurrentDir(std::io::Error),
    #[error("no {DEFAULT_RELATIVE} in {} or any parent; pass -f FILE or set {ENV_FILE}", .0.display())]
    NotFound(PathBuf),
    /// Found by walking up, and never trusted: nothing was read from it.
    #[error(
        "{}: found by walking up from the current directory and not trusted (a repository someone else wrote may hold it); read it, then run `{}`, or pass -f FILE",
        .0.display(), trust_command("litekeys", .0)
    )]
    Untrusted(PathBuf),
    #[error(transparent)]
    Trust(#[from] TrustError),
}

pub fn source_file(explicit: Option<&Path>) -> Result<PathBuf, LocateError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(ENV_FILE).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let cwd = std::env::current_dir().map_err(LocateError::NoCurrentDir)?;
    let found = nearest(&cwd, DEFAULT_RELATIVE).ok_or(LocateError::NotFound(cwd))?;
    let store = TrustStore::new(&crate::trust::user_state_dir());
    match store.state(&found)? {
        TrustState::Trusted => Ok(found),
        TrustState::Untrusted | TrustState::Changed => Err(LocateError::Untrusted(found)),
    }
}

/// The first `dir/relative` that exists, from `start` up to the root.
pub fn nearest(start: &Path, relative: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(relative))
        .find(|p| p.exists())
}
