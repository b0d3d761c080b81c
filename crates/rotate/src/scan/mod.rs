//! `litekeys scan`: where the gateway keys still lie in plaintext. Rooms:
//! [`known`] (what a key of ours looks like: the source's values now, the
//! audit log's fingerprints of superseded ones), `candidates` (the tokens
//! of one file that could be a key), `walk` (the files, in parallel),
//! `report` (text, JSON, SARIF). Findings never hold a key, only its name
//! and fingerprint.

mod candidates;
mod history;
mod known;
mod report;
mod walk;

pub use known::Known;
pub use report::Format;
pub use walk::{Options, default_paths};

use serde::Serialize;
use std::path::PathBuf;

/// Whether a found key is in the source now or was superseded, or (with
/// `--unknown`, a lower severity) an `sk-` key shaped like LiteLLM's that
/// is neither: litekeys cannot tell whose it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Current,
    Old,
    Unknown,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Current => "current",
            State::Old => "old",
            State::Unknown => "unknown",
        }
    }
}

/// The name an unknown `sk-` key is reported under (no source value is it).
pub const UNKNOWN_KEY: &str = "sk-…";

/// One key found in a file: where, which, never the value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub path: PathBuf,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub key: String,
    pub fingerprint: String,
    pub state: State,
}

/// What a scan found, and the files it could not read (a line each; the
/// scan went on).
#[derive(Debug, Default)]
pub struct Scan {
    pub findings: Vec<Finding>,
    pub problems: Vec<String>,
}

impl Scan {
    /// A key of ours (current or old) was found: unknown `sk-` keys alone
    /// are a lower severity and do not count.
    pub fn found_ours(&self) -> bool {
        self.findings.iter().any(|f| f.state != State::Unknown)
    }

    /// The findings in `format`, ready to print.
    pub fn render(&self, format: Format) -> String {
        report::render(&self.findings, format)
    }
}

/// Scans `options.paths` for the keys `known` recognises.
pub fn scan(options: &Options, known: &Known) -> Scan {
    let mut scan = if options.staged {
        Scan::default()
    } else {
        walk::run(options, known)
    };
    if options.git || options.staged {
        let skip = walk::canonical(&options.skip);
        let mut repos: Vec<PathBuf> = Vec::new();
        for path in &options.paths {
            match history::toplevel(path) {
                Some(repo) => repos.push(repo),
                None if path.join(".git").exists() => scan.problems.push(format!(
                    "{}: a broken git repository: history not scanned",
                    path.display()
                )),
                None => {}
            }
        }
        repos.sort();
        repos.dedup();
        for repo in repos {
            let found = if options.staged {
                history::staged(&repo, known, &skip)
            } else {
                history::history(&repo, known, &skip)
            };
            scan.findings.extend(found.findings);
            scan.problems.extend(found.problems);
        }
    }
    scan.findings.sort();
    scan.findings.dedup();
    scan.problems.sort();
    scan
}
