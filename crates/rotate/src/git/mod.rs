//! The source's git repository: the distribution engine of a fleet. A
//! rotation refuses to start when the branch is behind its upstream (two
//! machines would fork the key), and `--push` commits the source alone and
//! pushes it. git runs through [`Command`], never with a secret in argv:
//! only paths, names and fingerprints reach it.

mod pull;

pub use pull::{PullError, Pulled, pull, verify_source};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bound on one git command (a fetch or push over a slow network).
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {args}: {source}")]
    Spawn {
        args: String,
        source: std::io::Error,
    },
    #[error("git {args} did not finish within {}s", TIMEOUT.as_secs())]
    TimedOut { args: String },
    #[error("git {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error(
        "{}: the branch is {behind} commit(s) behind {upstream}: run `git -C {} pull --ff-only` and `litekeys-rotate sync` before rotating, so that two machines cannot fork the key",
        repo.display(),
        repo.display()
    )]
    Behind {
        repo: PathBuf,
        upstream: String,
        behind: u64,
    },
}

/// A working tree holding the source.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The repository `path` is in, or `None` outside one (or without git).
    pub fn of(path: &Path) -> Option<Repo> {
        let dir = path.parent().filter(|d| d.is_dir())?;
        let top = run(dir, &["rev-parse", "--show-toplevel"]).ok()?;
        Some(Repo {
            root: PathBuf::from(top.trim_end()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn git(&self, args: &[&str]) -> Result<String, GitError> {
        run(&self.root, args)
    }

    /// The current branch's upstream (`origin/main`), if it has one.
    pub fn upstream(&self) -> Option<String> {
        self.git(&[
            "rev-parse",
            "--abbrev-ref",
            "--symbolic-full-name",
            "@{upstream}",
        ])
        .ok()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
    }

    /// With an upstream: fetch it, and refuse when `HEAD` lacks a commit of
    /// it (behind, or forked). Without one there is nothing to fork from.
    pub fn ensure_not_behind(&self) -> Result<(), GitError> {
        let Some(upstream) = self.upstream() else {
            return Ok(());
        };
        self.git(&["fetch", "--quiet"])?;
        let count = self.git(&["rev-list", "--count", "HEAD..@{upstream}"])?;
        let behind = count.trim().parse().unwrap_or(0);
        if behind == 0 {
            Ok(())
        } else {
            Err(GitError::Behind {
                repo: self.root.clone(),
                upstream,
                behind,
            })
        }
    }

    /// Commits `file` alone (whatever else is staged stays staged, not
    /// committed), authored as the user's git config says; returns the short
    /// commit id.
    pub fn commit_file(&self, file: &Path, message: &str) -> Result<String, GitError> {
        let file = file.to_string_lossy();
        self.git(&["add", "--", &file])?;
        self.git(&[
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            message,
            "--",
            &file,
        ])?;
        Ok(self
            .git(&["rev-parse", "--short", "HEAD"])?
            .trim()
            .to_string())
    }

    /// The full id of `HEAD`.
    pub fn head(&self) -> Result<String, GitError> {
        Ok(self.git(&["rev-parse", "HEAD"])?.trim().to_string())
    }

    /// `git push` to the branch's upstream.
    pub fn push(&self) -> Result<(), GitError> {
        self.git(&["push", "--quiet"]).map(drop)
    }
}

/// `git -C dir ARGS`, bounded by [`TIMEOUT`]: stdout, or the failure with
/// stderr's last line (git says what is wrong there).
fn run(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let shown = args.join(" ");
    let spawn = |source| GitError::Spawn {
        args: shown.clone(),
        source,
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    // Read both pipes while waiting, so a chatty git never blocks on one.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(spawn)? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GitError::TimedOut { args: shown });
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if status.success() {
        return Ok(stdout);
    }
    // git's own verdict (`fatal:`/`error:`) over its hints, else the last line.
    let lines: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let last = lines
        .iter()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or(lines.last())
        .map_or("no message", |l| l)
        .to_string();
    Err(GitError::Failed {
        args: shown,
        stderr: last,
    })
}
