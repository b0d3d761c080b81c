//! The files under the scanned paths, walked in parallel (ripgrep's
//! `ignore`): text files only, never `.git` internals, litekeys' own
//! files (the sinks, the source's `secrets/`, the state directory) or
//! files over the size cap.

use super::known::Known;
use super::{Finding, Scan, candidates};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Files larger than this are skipped with a line: a log that big is not
/// where a key was pasted, and reading it would stall the scan.
pub(super) const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A NUL in the first bytes marks a binary file, as git and ripgrep decide.
const BINARY_PROBE: usize = 8 * 1024;

/// What to scan.
#[derive(Debug, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// Scan what `.gitignore` and friends exclude too.
    pub no_ignore: bool,
    /// Files and directories never scanned (sinks, source directory, state).
    pub skip: Vec<PathBuf>,
    /// Also every blob reachable from any ref of the paths' repositories.
    pub git: bool,
    /// Only the index of the paths' repositories (a pre-commit hook).
    pub staged: bool,
}

/// The default places: the current repository (else the current
/// directory), the shell histories, `~/.config`, `~/.factory`, `~/.claude`;
/// only those that exist.
pub fn default_paths(home: Option<&Path>, cwd: &Path) -> Vec<PathBuf> {
    let repo = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(cwd);
    let mut paths = vec![repo.to_path_buf()];
    if let Some(home) = home {
        for rel in [
            ".bash_history",
            ".zsh_history",
            ".local/share/fish/fish_history",
            ".config",
            ".factory",
            ".claude",
        ] {
            paths.push(home.join(rel));
        }
    }
    paths.retain(|p| p.exists());
    paths
}

pub(super) fn run(options: &Options, known: &Known) -> Scan {
    let Some((first, rest)) = options.paths.split_first() else {
        return Scan::default();
    };
    let skip = canonical(&options.skip);
    let mut builder = ignore::WalkBuilder::new(first);
    for p in rest {
        builder.add(p);
    }
    let ignoring = !options.no_ignore;
    builder
        .hidden(false)
        .require_git(false)
        .git_ignore(ignoring)
        .git_exclude(ignoring)
        .git_global(ignoring)
        .ignore(ignoring)
        .parents(ignoring)
        .filter_entry(|e| e.file_name() != ".git");
    let out = Mutex::new(Scan::default());
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            let found = match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => file(e.path(), &skip, known),
                Ok(e) if skipped(e.path(), &skip) => return ignore::WalkState::Skip,
                Ok(_) => return ignore::WalkState::Continue,
                Err(e) => Err(e.to_string()),
            };
            let mut out = out
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match found {
                Ok(findings) => out.findings.extend(findings),
                Err(problem) => out.problems.push(problem),
            }
            ignore::WalkState::Continue
        })
    });
    out.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn canonical(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect()
}

pub(super) fn skipped(path: &Path, skip: &[PathBuf]) -> bool {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    skip.iter().any(|s| path.starts_with(s))
}

pub(super) fn binary(text: &[u8]) -> bool {
    memchr::memchr(0, &text[..text.len().min(BINARY_PROBE)]).is_some()
}

/// The findings of one file; a line saying why it was not read.
fn file(path: &Path, skip: &[PathBuf], known: &Known) -> Result<Vec<Finding>, String> {
    if skipped(path, skip) {
        return Ok(Vec::new());
    }
    let shown = path.display();
    let mut f = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let len = f.metadata().map_err(|e| format!("{shown}: {e}"))?.len();
    if len > MAX_FILE {
        return Err(format!(
            "{shown}: not scanned: {len} bytes, over the {} MiB cap",
            MAX_FILE / 1024 / 1024
        ));
    }
    let mut text = Vec::new();
    f.read_to_end(&mut text)
        .map_err(|e| format!("{shown}: {e}"))?;
    if binary(&text) {
        return Ok(Vec::new());
    }
    Ok(candidates::find(&text, known)
        .into_iter()
        .map(|h| Finding {
            path: path.to_path_buf(),
            line: h.line,
            commit: None,
            key: h.key,
            fingerprint: h.fingerprint,
            state: h.state,
        })
        .collect())
}
