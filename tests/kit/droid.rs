//! The real Factory Droid CLI (npm `droid@0.215.0`, installed by
//! `scripts/install-peers` under `.tools/droid/`), run offline
//! (`FACTORY_AIRGAP_ENABLED=1`) in a private home against a local LiteLLM
//! through a `custom:` model.
//!
//! A Droid home is a directory holding `.factory/settings.json`; droid is
//! pointed at it with both `HOME` and `FACTORY_HOME_OVERRIDE`, runs in it
//! (it may write files under `--auto low`), and writes its state
//! (sessions, logs) under its `.factory/`. Keys travel in the settings file
//! only, never in argv. Every run is bounded; on timeout the whole process
//! group is killed by its PID.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// Bound on one droid run. An `exec` against a mock model takes ~1.5 s
/// here; two tests at a time on two cores, and a LiteLLM next to them.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// Where `scripts/install-peers` puts the binary.
pub const LOCAL: &str = ".tools/droid/node_modules/.bin/droid";

/// The provider that talks `/v1/chat/completions` (`openai` calls
/// `/v1/responses`, where LiteLLM's `mock_response` fails).
pub const PROVIDER: &str = "generic-chat-completion-api";

/// The real droid binary.
#[derive(Debug, Clone)]
pub struct Droid {
    bin: PathBuf,
}

/// What one droid run printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code; `None` when it was killed (timeout, signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub took: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The `result` of `-o json` output, when it printed one.
    pub fn result(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(self.stdout.trim()).ok()?;
        v.get("result")?.as_str().map(str::to_string)
    }
}

/// One `customModels[]` entry of a Droid settings file.
#[derive(Debug, Clone)]
pub struct CustomModel {
    pub model: String,
    pub base_url: String,
    pub api_key: String,
    pub provider: String,
    pub id: Option<String>,
    pub display_name: Option<String>,
}

impl CustomModel {
    /// A route to `model` through the gateway at `base_url` (`…/v1`) with
    /// `api_key`, provider [`PROVIDER`].
    pub fn new(model: &str, base_url: &str, api_key: &str) -> CustomModel {
        CustomModel {
            model: model.into(),
            base_url: base_url.into(),
            api_key: api_key.into(),
            provider: PROVIDER.into(),
            id: None,
            display_name: None,
        }
    }

    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.into());
        self
    }

    pub fn display_name(mut self, name: &str) -> Self {
        self.display_name = Some(name.into());
        self
    }

    pub fn provider(mut self, provider: &str) -> Self {
        self.provider = provider.into();
        self
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("model".into(), self.model.clone().into());
        if let Some(id) = &self.id {
            m.insert("id".into(), id.clone().into());
        }
        if let Some(name) = &self.display_name {
            m.insert("displayName".into(), name.clone().into());
        }
        m.insert("baseUrl".into(), self.base_url.clone().into());
        m.insert("apiKey".into(), self.api_key.clone().into());
        m.insert("provider".into(), self.provider.clone().into());
        serde_json::Value::Object(m)
    }
}

/// A settings.json text with these `customModels`, pretty-printed.
pub fn settings(models: &[CustomModel]) -> String {
    let models: Vec<serde_json::Value> = models.iter().map(CustomModel::to_json).collect();
    let doc = serde_json::json!({ "customModels": models });
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

/// Writes `text` as `home/.factory/settings.json` (mode 0600); returns
/// its path.
pub fn write_settings(home: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = home.join(".factory");
    std::fs::create_dir_all(&dir).expect(".factory");
    let path = dir.join("settings.json");
    std::fs::write(&path, text).expect("settings.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

impl Droid {
    /// The installed droid (`.tools/droid/…`, else on PATH). Missing: a
    /// logged skip (`None`) locally, a failure under `CI=true`.
    pub fn find() -> Option<Droid> {
        let local = root().join(LOCAL);
        let bin = if local.is_file() {
            local
        } else {
            crate::peer("droid")?
        };
        Some(Droid { bin })
    }

    /// The binary (a symlink into node_modules).
    pub fn path(&self) -> &Path {
        &self.bin
    }

    /// The directory to put first on PATH so that `droid` is this one.
    pub fn bin_dir(&self) -> PathBuf {
        self.bin.parent().expect("bin dir").to_path_buf()
    }

    /// `droid exec -m <model_id> --auto low <prompt> -o json` in `home`.
    pub fn exec(&self, home: &Path, model_id: &str, prompt: &str) -> Output {
        self.run(
            home,
            &[
                "exec", "-m", model_id, "--auto", "low", prompt, "-o", "json",
            ],
        )
    }

    /// The custom models `droid exec --help` lists for `home`: (id, name)
    /// in its order.
    pub fn models(&self, home: &Path) -> Vec<(String, String)> {
        let out = self.run(home, &["exec", "--help"]);
        assert!(out.success(), "droid exec --help: {out:?}");
        list_of_custom_models(&out.stdout)
    }

    /// `droid doctor --config --json` in `home`: whether it passed, and
    /// its JSON report.
    pub fn doctor(&self, home: &Path) -> (bool, serde_json::Value) {
        let out = self.run(home, &["doctor", "--config", "--json"]);
        let report = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("droid doctor printed no JSON ({e}): {out:?}"));
        (out.success(), report)
    }

    /// `droid ARGS` with `home` as HOME and FACTORY_HOME_OVERRIDE, offline,
    /// in `home`, bounded by [`TIMEOUT`].
    pub fn run(&self, home: &Path, args: &[&str]) -> Output {
        let mut cmd = self.command(home);
        cmd.args(args);
        run_bounded(cmd, TIMEOUT)
    }

    /// The command [`Droid::run`] runs, to add arguments or environment.
    pub fn command(&self, home: &Path) -> Command {
        std::fs::create_dir_all(home).expect("droid home");
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("HOME", home)
            .env("FACTORY_HOME_OVERRIDE", home)
            .env("FACTORY_AIRGAP_ENABLED", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("NO_COLOR", "1")
            .current_dir(home);
        cmd
    }
}

/// The `Custom Models:` section of `droid exec --help`: (id, name).
pub fn list_of_custom_models(help: &str) -> Vec<(String, String)> {
    help.lines()
        .skip_while(|l| l.trim() != "Custom Models:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let l = l.trim_start();
            let (id, name) = l.split_once(char::is_whitespace)?;
            Some((id.to_string(), name.trim().to_string()))
        })
        .collect()
}

/// Runs `cmd` in its own process group, stdin closed, output collected;
/// past `timeout` the group is killed (SIGKILL to -PID) and reaped.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("droid starts");
    let pid = child.id();
    let pump = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = pump(child.stdout.take().map(|s| Box::new(s) as _));
    let err = pump(child.stderr.take().map(|s| Box::new(s) as _));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait droid") {
            break status;
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            kill_group(pid);
            break child.wait().expect("reap droid");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // A child left in the group would hold the pipes open.
    kill_group(pid);
    Output {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        timed_out,
        took: start.elapsed(),
    }
}

/// SIGKILL to the process group `pid` leads (nothing when it is gone).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
