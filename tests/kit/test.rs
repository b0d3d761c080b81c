//! One test of a binary, `just`-style: what to run, then everything
//! expected of it, declared up front and checked by [`Test::run`]: the exit
//! by its name in the table, stdout, stderr, secrets never shown, files
//! changed or not (snapshots before and after).
//!
//! ```ignore
//! Test::new("litekeys-rotate")
//!     .args(["status"])
//!     .status(Exit::Drift)
//!     .stdout_has("drift")
//!     .files_unchanged(["home"])
//!     .run();
//! ```

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use vault::Exit;

use crate::{Outcome, Run, Sandbox, Snapshot};

enum Text {
    Is(String),
    Has(String),
    Lacks(String),
}

#[must_use = "a Test checks nothing until .run()"]
pub struct Test {
    /// The sandbox of `Test::new`, kept alive for the run.
    _owned: Option<Sandbox>,
    /// Relative file paths are under this directory.
    root: PathBuf,
    run: Run,
    code: i32,
    stdout: Vec<Text>,
    stderr: Vec<Text>,
    one_line_error: Option<String>,
    never_shows: Vec<String>,
    unchanged: Vec<PathBuf>,
    changed: Vec<PathBuf>,
}

impl Test {
    /// `binary` of the workspace in a fresh sandbox.
    pub fn new(binary: &str) -> Test {
        let sb = Sandbox::new();
        let mut test = Test::of(sb.cmd(binary), sb.path(""));
        test._owned = Some(sb);
        test
    }

    /// A prepared run (a lab's command, a sandbox's program); relative file
    /// paths are under `root`.
    pub fn of(run: Run, root: impl AsRef<Path>) -> Test {
        Test {
            _owned: None,
            root: root.as_ref().to_owned(),
            run,
            code: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
            one_line_error: None,
            never_shows: Vec::new(),
            unchanged: Vec::new(),
            changed: Vec::new(),
        }
    }

    /// Writes a file into the sandbox before the run.
    pub fn write(self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> Self {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(&path, bytes).expect("write");
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.run = self.run.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run = self.run.args(args);
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.run = self.run.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.run = self.run.env_remove(k);
        self
    }

    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.run = self.run.stdin(bytes);
        self
    }

    /// The working directory, relative to the sandbox (or absolute).
    pub fn in_dir(mut self, dir: impl AsRef<Path>) -> Self {
        let dir = self.root.join(dir);
        self.run = self.run.current_dir(dir);
        self
    }

    /// The expected exit (default: `Exit::Ok`).
    pub fn status(mut self, exit: Exit) -> Self {
        self.code = i32::from(exit.code());
        self
    }

    pub fn stdout_is(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Text::Is(text.into()));
        self
    }

    pub fn stdout_has(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Text::Has(text.into()));
        self
    }

    pub fn stderr_is(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Text::Is(text.into()));
        self
    }

    pub fn stderr_has(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Text::Has(text.into()));
        self
    }

    pub fn stdout_lacks(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Text::Lacks(text.into()));
        self
    }

    /// A refusal: stdout empty, stderr one line that mentions `mentions`.
    pub fn one_line_error(mut self, mentions: impl Into<String>) -> Self {
        self.one_line_error = Some(mentions.into());
        self
    }

    /// Neither stream shows `secret`.
    pub fn never_shows(mut self, secret: impl Into<String>) -> Self {
        self.never_shows.push(secret.into());
        self
    }

    /// Files (or every file under directories) keep bytes, mode and group;
    /// none is created or removed under them.
    pub fn files_unchanged<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let root = self.root.clone();
        self.unchanged
            .extend(paths.into_iter().map(|p| root.join(p)));
        self
    }

    /// Each of these changes (or appears, or goes).
    pub fn files_changed<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let root = self.root.clone();
        self.changed.extend(paths.into_iter().map(|p| root.join(p)));
        self
    }

    /// Runs and checks everything declared; the outcome for more checks.
    pub fn run(self) -> Outcome {
        let unchanged = (!self.unchanged.is_empty()).then(|| Snapshot::of(&self.unchanged));
        let changed = (!self.changed.is_empty()).then(|| Snapshot::of(&self.changed));
        let out = self.run.expect_code(self.code);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        check("stdout", &stdout, &self.stdout);
        check("stderr", &out.stderr, &self.stderr);
        if let Some(mentions) = &self.one_line_error {
            out.one_line_error(mentions);
        }
        for secret in &self.never_shows {
            out.never_shows(secret);
        }
        if let Some(before) = unchanged {
            before.assert_unchanged();
        }
        if let Some(before) = changed {
            before.assert_changed();
        }
        out
    }
}

fn check(stream: &str, got: &str, expected: &[Text]) {
    for e in expected {
        match e {
            Text::Is(want) => assert_eq!(got, want, "{stream}"),
            Text::Has(want) => assert!(got.contains(want), "{stream} lacks {want:?}: {got:?}"),
            Text::Lacks(not) => assert!(!got.contains(not), "{stream} has {not:?}: {got:?}"),
        }
    }
}
