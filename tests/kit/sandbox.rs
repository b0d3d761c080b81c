//! The sandbox: a temporary HOME without the caller's identities, and the
//! real binaries run in it (`Run`, and what came out, `Outcome`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use vault::Exit;

use crate::{Test, peer};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A binary of this workspace, built by `cargo test` next to the test
/// executables (`target/<profile>/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// A scratch HOME with XDG dirs, and an environment without the caller's
/// identities, keyring or config.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    env: BTreeMap<OsString, OsString>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("litekeys-test.")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        for sub in [".config", ".local/state", ".cache", "run"] {
            std::fs::create_dir_all(home.join(sub)).expect("sandbox dirs");
        }
        let mut env = BTreeMap::new();
        let keep = [
            "PATH",
            "LANG",
            "LC_ALL",
            "TERM",
            "USER",
            "LOGNAME",
            "CI",
            "RUST_BACKTRACE",
            "TMPDIR",
        ];
        for (k, v) in std::env::vars_os() {
            if keep.iter().any(|name| OsStr::new(name) == k) {
                env.insert(k, v);
            }
        }
        let set = |env: &mut BTreeMap<OsString, OsString>, k: &str, v: &Path| {
            env.insert(k.into(), v.as_os_str().to_owned());
        };
        set(&mut env, "HOME", &home);
        set(&mut env, "XDG_CONFIG_HOME", &home.join(".config"));
        set(&mut env, "XDG_STATE_HOME", &home.join(".local/state"));
        set(&mut env, "XDG_CACHE_HOME", &home.join(".cache"));
        env.insert("SOPS_DISABLE_VERSION_CHECK".into(), "1".into());
        // The sops of the project venv for the process backend.
        let venv_sops = root().join(".tools/venv/bin/sops");
        if venv_sops.is_file() {
            set(&mut env, "LITEKEYS_SOPS", &venv_sops);
        }
        Sandbox { dir, env }
    }

    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(&path, bytes).expect("write");
        path
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        std::fs::read(self.path(rel)).expect("read")
    }

    /// Sets a variable for every command this sandbox runs.
    pub fn set_env(&mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) {
        self.env
            .insert(k.as_ref().to_owned(), v.as_ref().to_owned());
    }

    pub fn env(&self) -> &BTreeMap<OsString, OsString> {
        &self.env
    }

    /// A new age identity made by the real `age-keygen`, written to
    /// `rel`; returns its recipient.
    pub fn age_keygen(&self, rel: impl AsRef<Path>) -> Option<String> {
        let keygen = peer("age-keygen")?;
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        let out = Command::new(&keygen)
            .arg("-o")
            .arg(&path)
            .output()
            .expect("age-keygen runs");
        assert!(
            out.status.success(),
            "age-keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(&keygen)
            .arg("-y")
            .arg(&path)
            .output()
            .expect("age-keygen -y runs");
        Some(
            String::from_utf8(out.stdout)
                .expect("utf8")
                .trim()
                .to_string(),
        )
    }

    /// Runs a workspace binary in the sandbox.
    pub fn cmd(&self, binary: &str) -> Run {
        Run::new(bin(binary), self)
    }

    /// A workspace binary as a bare `Command` in the sandbox (stdin null),
    /// for tests that spawn, signal or race the process themselves.
    pub fn process(&self, binary: &str) -> Command {
        let mut cmd = self.command(bin(binary));
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `program` with only this sandbox's environment, in its directory.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(&self.env).current_dir(self.dir.path());
        cmd
    }

    /// A [`Test`] of a workspace binary in this sandbox; relative file
    /// paths are under the sandbox.
    pub fn test(&self, binary: &str) -> Test {
        Test::of(self.cmd(binary), self.path(""))
    }

    /// Runs any program in the sandbox's environment.
    pub fn program(&self, program: impl AsRef<OsStr>) -> Run {
        Run::new(PathBuf::from(program.as_ref()), self)
    }

    /// What `litekeys-rotate trust FILE` records, for a lab's own files: a
    /// litekeys.toml (pinned by content: trust it again after changing
    /// it, even a malformed one a test wants refused for its content) or a
    /// source that commands find by walking up. `tests/security/` runs the
    /// real `trust`.
    pub fn trust(&self, rel: impl AsRef<Path>) {
        let path = self.path(rel);
        let pin = if path.extension().is_some_and(|e| e == "toml") {
            vault::Pin::Content
        } else {
            vault::Pin::Path
        };
        vault::TrustStore::new(&self.home().join(".local/state/litekeys"))
            .trust(&path, pin)
            .expect("trust record");
    }
}

/// One process to run, just-style: arguments, stdin, then expectations.
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Run {
    fn new(program: PathBuf, sandbox: &Sandbox) -> Run {
        Run {
            cmd: sandbox.command(program),
            stdin: None,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(k);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = Some(bytes.as_ref().to_vec());
        self
    }

    pub fn output(mut self) -> Outcome {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", self.cmd.get_program()));
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("piped");
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        Outcome::from(child.wait_with_output().expect("wait"))
    }

    /// Runs and asserts the exit, by its name in the one table of every
    /// litekeys binary; returns the outcome for more checks.
    pub fn expect(self, exit: Exit) -> Outcome {
        self.expect_code(i32::from(exit.code()))
    }

    /// Runs and asserts an exit status that is not one of litekeys' own:
    /// exec's command's status, 128 + a signal.
    pub fn expect_code(self, code: i32) -> Outcome {
        let program = format!(
            "{:?} {:?}",
            self.cmd.get_program(),
            self.cmd.get_args().collect::<Vec<_>>()
        );
        let out = self.output();
        assert_eq!(
            out.code,
            code,
            "{program}: exit {} {:?} (expected {code} {:?})\n--- stdout\n{}\n--- stderr\n{}",
            out.code,
            out.exit(),
            Exit::from_code(code),
            String::from_utf8_lossy(&out.stdout),
            out.stderr
        );
        out
    }

    pub fn success(self) -> Outcome {
        self.expect(Exit::Ok)
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(out: Output) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        let code = out
            .status
            .code()
            .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
        Outcome {
            code,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Outcome {
    /// The exit by its name in the table; `None` for a status that is not
    /// litekeys' own.
    pub fn exit(&self) -> Option<Exit> {
        Exit::from_code(self.code)
    }

    pub fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    /// An error is one line naming what it is about; stdout stays empty.
    pub fn one_line_error(&self, mentions: &str) -> &Self {
        assert!(
            self.stdout.is_empty(),
            "stdout not empty on failure: {:?}",
            String::from_utf8_lossy(&self.stdout)
        );
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "not one line: {:?}",
            self.stderr
        );
        assert!(
            self.stderr.contains(mentions),
            "{:?} does not mention {mentions:?}",
            self.stderr
        );
        self
    }

    /// Neither stream contains `secret`.
    pub fn never_shows(&self, secret: &str) -> &Self {
        assert!(!secret.is_empty());
        assert!(
            !String::from_utf8_lossy(&self.stdout).contains(secret),
            "stdout shows a secret"
        );
        assert!(!self.stderr.contains(secret), "stderr shows a secret");
        self
    }
}
