//! The real peers (sops, age, direnv, LiteLLM, …): found in the project
//! venv or on PATH, or skipped loudly; under `CI=true` a missing peer fails
//! the test instead.

use std::path::PathBuf;

use crate::root;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A real peer: the project-local venv first (sops, litellm), then PATH.
/// Missing: panics under CI=true, else prints a loud SKIP and returns None.
pub fn peer(name: &str) -> Option<PathBuf> {
    let local = root().join(".tools/venv/bin").join(name);
    if local.is_file() {
        return Some(local);
    }
    if let Some(found) = which(name) {
        return Some(found);
    }
    missing(name)
}

/// A peer that is a file `scripts/install-peers` put under `.tools/` (a
/// schema, say) rather than a command: `rel` is relative to `.tools/`.
pub fn tool_file(name: &str, rel: &str) -> Option<PathBuf> {
    let path = root().join(".tools").join(rel);
    if path.is_file() {
        return Some(path);
    }
    missing(name)
}

fn missing(name: &str) -> Option<PathBuf> {
    if in_ci() {
        panic!(
            "peer `{name}` is missing under CI=true: scripts/test installs it (scripts/install-peers)"
        );
    }
    eprintln!(
        "\n*** SKIP: peer `{name}` not found; run scripts/install-peers to run this test ***\n"
    );
    record_skip(name);
    None
}

/// libtest hides what a passing test printed, so each skip is also appended
/// to `$LITEKEYS_SKIP_LOG` (set by `scripts/test`, which counts and prints
/// them at the end): `<test>\t<peer>` per line.
fn record_skip(name: &str) {
    use std::io::Write as _;
    let Some(log) = std::env::var_os("LITEKEYS_SKIP_LOG").filter(|l| !l.is_empty()) else {
        return;
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{test}\t{name}");
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `let sops = require!("sops");` — returns from the test when absent.
#[macro_export]
macro_rules! require {
    ($name:expr) => {
        match $crate::peer($name) {
            Some(p) => p,
            None => return,
        }
    };
}
