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

/// `mode id stage\tpath` (ls-files -s), NUL-terminated: the blob ids and
/// paths.
fn index_blobs(listing: &[u8]) -> Vec<(String, String)> {
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
            Some((words.nth(1)?.to_string(), path.to_string()))
        })
        .collect()
}

/// Every blob reachable from any ref of `repo`, with its first commit: one
/// `git log` over all refs, oldest first, listing each commit's new blobs
/// (a merge against its first parent, so a blob a merge brought in or a
/// conflict resolution made is seen too). A blob first seen in an older
/// commit keeps that commit.
pub(super) fn history(repo: &Path, known: &Known, skip: &[PathBuf]) -> Scan {
    let log = match git(
        repo,
        &[
            "log",
            "--all",
            "--reverse",
            // Parents before children even when commits share a timestamp.
            "--topo-order",
            "--format=%x01%H",
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-renames",
            "--diff-merges=first-parent",
        ],
    ) {
        Ok(log) => log,
        Err(problem) => return problems(problem),
    };
    read_blobs(repo, &first_seen(&log), known, skip)
}

/// The blobs `git log --raw -z` (format `%x01%H`) shows added or changed,
/// each with the first commit that shows it. Records: `\x01<commit>\0`,
/// then per file `:<old mode> <new mode> <old id> <new id> <status>\0<path>\0`.
fn first_seen(log: &[u8]) -> Seen {
    let mut seen = Seen::new();
    let mut commit: Option<String> = None;
    let mut fields = log.split(|b| *b == 0);
    while let Some(field) = fields.next() {
        let field = String::from_utf8_lossy(field);
        let field = field.trim_start_matches('\n');
        if let Some(id) = field.strip_prefix('\u{1}') {
            commit = Some(id.to_string());
        } else if let Some(meta) = field.strip_prefix(':') {
            let Some(path) = fields.next() else { break };
            let words: Vec<&str> = meta.split(' ').collect();
            let (Some(mode), Some(id)) = (words.get(1), words.get(3)) else {
                continue;
            };
            // A deletion shows the null id; submodules (160000) hold no blob.
            if *mode == "160000" || id.bytes().all(|b| b == b'0') {
                continue;
            }
            seen.entry((*id).to_string())
                .or_insert_with(|| (commit.clone(), String::from_utf8_lossy(path).into_owned()));
        }
    }
    seen
}

/// The index of `repo`: what the next commit would hold.
pub(super) fn staged(repo: &Path, known: &Known, skip: &[PathBuf]) -> Scan {
    match git(repo, &["ls-files", "-s", "-z"]) {
        Ok(listing) => {
            let seen: Seen = index_blobs(&listing)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_seen_keeps_the_oldest_commit_and_skips_deletions_and_submodules() {
        let z = "0".repeat(40);
        let (a, b, m) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
        let log = format!(
            "\u{1}c1\0\n:000000 100644 {z} {a} A\0x\0:000000 160000 {z} {m} A\0sub\0\
             \u{1}c2\0\n:100644 000000 {a} {z} D\0x\0:000000 100644 {z} {b} A\0y z\0\
             \u{1}c3\0\n:000000 100644 {z} {a} A\0again\0"
        );
        let seen = first_seen(log.as_bytes());
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[&a], (Some("c1".into()), "x".into()));
        assert_eq!(seen[&b], (Some("c2".into()), "y z".into()));
    }
}
