//! Why a droid check failed: one line each, no secret in it (what droid
//! printed is redacted before it gets here).

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DroidError {
    #[error(
        "[gateway] sentinel_client = \"droid\" needs the Factory Droid CLI: `droid` is not on PATH (install it, or set sentinel_client = \"http\")"
    )]
    NotOnPath,
    #[error("cannot run {}: {source}", bin.display())]
    Spawn {
        bin: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} did not finish within {}s: killed", .timeout.as_secs_f64())]
    TimedOut { what: String, timeout: Duration },
    #[error("{}: a private copy for droid: {source}", dir.display())]
    Copy {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// `droid doctor --config --json` failed on the settings.
    #[error(
        "{}: `droid doctor --config` {when}: {problems} (one invalid customModels entry makes Droid drop them all)",
        dir.display()
    )]
    Doctor {
        dir: PathBuf,
        /// "refuses the settings this sync would write", …
        when: &'static str,
        problems: String,
    },
    #[error("droid exec through {at} (`-m {id}`) failed ({status}): {detail}")]
    ExecFailed {
        at: String,
        id: String,
        status: String,
        detail: String,
    },
    #[error(
        "droid exec through {at} (`-m {id}`): expected the reply {expected:?}, got {got:?}; check the route's model"
    )]
    Mismatch {
        at: String,
        id: String,
        expected: String,
        got: String,
    },
}
