//! `--git` and `--staged`: blobs read through `git cat-file --batch` (ids
//! on stdin, never a key in argv). History maps each blob to the first
//! commit (oldest) whose tree holds it, so a key committed and removed
//! later is still found, with that commit.

use super::known::Known;
use super::{Finding, Scan, candidates, walk};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where a blob was seen first: the commit (none for the index) and path.
type Seen = BTreeMap<String, (Option<String>, String)>;

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: cannot run git: {e}", repo.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{}: git {}: {}",
            repo.display(),
            args[0],
            err.lines().next().unwrap_or("failed")
        ));
    }
    Ok(out.stdout)
}

/// The repository holding `path`, if it is in one.
pub(super) fn toplevel(path: &Path) -> Option<PathBuf> {
    let dir = if path.is_dir() { path } else { path.parent()? };
    let out = git(dir, &["rev-parse", "--show-toplevel"]).ok()?;
    Some(PathBuf::from(String::from_utf8_lossy(&out).trim_end()))
}

/// `mode type id\tpath` (ls-tree) or `mode id stage\tpath` (ls-files -s),
/// NUL-terminated: the blob ids and paths.
fn blobs(listing: &[u8], id_field: usize) -> Vec<(String, String)> {
    listing
        .split(|b| *b == 0)
        .filter_map(|rec| {
            let rec = std::str::from_utf8(rec).ok()?;
            let (meta, path) = rec.split_once('\t')?;
            let mut words = meta.split(' ');
            // Submodules (commit entries) hold no blob.
            if meta.starts_with("160000") {
                return None;
            }
            Some((words.nth(id_field)?.to_string(), path.to_string()))
        })
        .collect()
}

/// Every blob reachable from any ref of `repo`, with its first commit.
pub(super) fn history(repo: &Path, known: &Known, skip: &[PathBuf]) -> Scan {
    let commits = match git(repo, &["rev-list", "--all", "--reverse"]) {
        Ok(c) => c,
        Err(problem) => return problems(problem),
    };
    let mut seen = Seen::new();
    for commit in String::from_utf8_lossy(&commits).split_whitespace() {
        match git(repo, &["ls-tree", "-r", "-z", commit]) {
            Ok(listing) => {
                for (id, path) in blobs(&listing, 2) {
                    seen.entry(id)
                        .or_insert_with(|| (Some(commit.to_string()), path));
                }
            }
            Err(problem) => return problems(problem),
        }
    }
    read_blobs(repo, &seen, known, skip)
}

/// The index of `repo`: what the next commit would hold.
pub(super) fn staged(repo: &Path, known: &Known, skip: &[PathBuf]) -> Scan {
    match git(repo, &["ls-files", "-s", "-z"]) {
        Ok(listing) => {
            let seen: Seen = blobs(&listing, 1)
                .into_iter()
                .map(|(id, path)| (id, (None, path)))
                .collect();
            read_blobs(repo, &seen, known, skip)
        }
        Err(problem) => problems(problem),
    }
}

fn problems(problem: String) -> Scan {
    Scan {
        findings: Vec::new(),
        problems: vec![problem],
    }
}

/// Streams the blobs through one `git cat-file --batch`.
fn read_blobs(repo: &Path, seen: &Seen, known: &Known, skip: &[PathBuf]) -> Scan {
    let mut scan = Scan::default();
    let wanted: Vec<(&String, &(Option<String>, String))> = seen
        .iter()
        .filter(|(_, (_, path))| !walk::skipped(&repo.join(path), skip))
        .collect();
    let child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return problems(format!("{}: cannot run git: {e}", repo.display())),
    };
    let mut stdin = child.stdin.take().expect("piped");
    let ids: String = wanted.iter().map(|(id, _)| format!("{id}\n")).collect();
    // A writer thread: git's output pipe would fill while we only write.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(ids.as_bytes());
    });
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    for (_, (commit, path)) in &wanted {
        let mut header = String::new();
        if out.read_line(&mut header).unwrap_or(0) == 0 {
            scan.problems
                .push(format!("{}: git cat-file stopped early", repo.display()));
            break;
        }
        let size: Option<u64> = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok());
        let Some(size) = size else { continue };
        let mut blob = Vec::new();
        if (&mut out).take(size + 1).read_to_end(&mut blob).is_err() {
            break;
        }
        blob.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        if size > walk::MAX_FILE || walk::binary(&blob) {
            continue;
        }
        for hit in candidates::find(&blob, known) {
            scan.findings.push(Finding {
                path: repo.join(path),
                line: hit.line,
                commit: commit.clone(),
                key: hit.key,
                fingerprint: hit.fingerprint,
                state: hit.state,
            });
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    scan
}
