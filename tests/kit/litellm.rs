//! A real LiteLLM proxy for the tests: the project venv's `litellm` on
//! 127.0.0.1 and a free port, offline (local model cost map, no telemetry,
//! no database), with `mock_response` models so chat completions need no
//! upstream.
//!
//! The master key is read from a dotenv file at each start by the control
//! script of [`crate::proxy`], the way systemd's `EnvironmentFile=` does: a
//! restart through the `command` service manager (argv from
//! [`LiteLlm::restart_argv`]) picks up a key that a sink wrote. The proxy
//! runs in its own session; dropping the fixture kills its whole process
//! group. Every wait is bounded; the log is printed when a test fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Sandbox;
use crate::proxy::{Launch, Proxy};
pub use crate::proxy::{free_port, http_status};

/// Bound on a start (or restart) until liveliness answers 200. LiteLLM
/// takes ~5–7 s alone here; tests run two at a time on two cores.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A model of the fixture's config: `name` answers every chat completion
/// with `reply` (LiteLLM's `mock_response`).
#[derive(Debug, Clone)]
pub struct MockModel {
    pub name: String,
    pub reply: String,
}

impl MockModel {
    pub fn new(name: &str, reply: &str) -> Self {
        MockModel {
            name: name.to_string(),
            reply: reply.to_string(),
        }
    }
}

/// A running LiteLLM proxy; killed (with its process group) on drop.
pub struct LiteLlm {
    proxy: Proxy,
    /// How long the first start took, until liveliness answered 200.
    pub started_in: Duration,
}

impl LiteLlm {
    /// Starts LiteLLM with `master_key` in its dotenv file
    /// (`litellm/litellm.env` in `sandbox`), and waits until it is live. `None`
    /// (a loud skip) when the peer is not installed, outside CI.
    pub fn start(sandbox: &Sandbox, master_key: &str, models: &[MockModel]) -> Option<LiteLlm> {
        LiteLlm::launch(sandbox, None, |fixture| {
            std::fs::write(fixture.config_path(), config_yaml(models)).expect("config.yaml");
            fixture.set_master_key(master_key);
        })
    }

    /// Starts LiteLLM on the user's own `config` (`litellm --config FILE
    /// --port N`, as the Droid-through-LiteLLM guide does; the key is
    /// whatever that file says, its dotenv file is empty), and waits until
    /// it is live. Every restart reads the file again.
    pub fn start_with_config(sandbox: &Sandbox, config: &Path) -> Option<LiteLlm> {
        LiteLlm::launch(sandbox, Some(config), |fixture| {
            std::fs::write(fixture.env_file(), "").expect("litellm.env");
        })
    }

    fn launch(
        sandbox: &Sandbox,
        config: Option<&Path>,
        prepare: impl FnOnce(&LiteLlm),
    ) -> Option<LiteLlm> {
        let litellm = crate::peer("litellm")?;
        let mut fixture = LiteLlm {
            proxy: Proxy::new(sandbox, "litekeys-litellm.", "LiteLLM"),
            started_in: Duration::ZERO,
        };
        prepare(&fixture);
        let config = config.map_or_else(|| fixture.config_path(), Path::to_path_buf);
        let launch = Launch {
            litellm: &litellm,
            config: &config,
            path_before: None,
            env: Vec::new(),
            about: "",
        };
        fixture.started_in = fixture
            .proxy
            .start(sandbox, &launch, || fixture.wait_live(START_TIMEOUT));
        Some(fixture)
    }

    /// `http://127.0.0.1:PORT` (no `/v1`).
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    pub fn port(&self) -> u16 {
        self.proxy.port()
    }

    /// The dotenv file the proxy reads its key from at each start.
    pub fn env_file(&self) -> PathBuf {
        self.proxy.env_file().to_path_buf()
    }

    pub fn log_file(&self) -> PathBuf {
        self.proxy.log_file()
    }

    /// Writes `LITELLM_MASTER_KEY=key` to the dotenv file (what the dotenv
    /// sink does in a rotation); the proxy sees it at its next start.
    pub fn set_master_key(&self, key: &str) {
        std::fs::write(self.env_file(), format!("LITELLM_MASTER_KEY={key}\n"))
            .expect("litellm.env");
    }

    /// The argv of the `command` service manager that restarts this proxy:
    /// stop (TERM, then KILL after 10 s), start with the dotenv file's key.
    /// It returns once the new process runs, before it is live.
    pub fn restart_argv(&self) -> Vec<String> {
        self.proxy.restart_argv()
    }

    /// The pid of the running proxy (its process group leader).
    pub fn pid(&self) -> Option<u32> {
        self.proxy.pid()
    }

    /// Kills the proxy (SIGKILL to its process group) and waits until it is
    /// gone: a gateway that died.
    pub fn kill(&self) {
        self.proxy.ctl_run("kill");
    }

    /// One `GET /health/liveliness`: the status, or `None` when nothing
    /// answered.
    pub fn liveliness(&self) -> Option<u16> {
        http_status(self.port(), "/health/liveliness")
    }

    /// Waits (bounded) until liveliness answers 200; panics with the log
    /// when it does not.
    pub fn wait_live(&self, timeout: Duration) {
        self.proxy
            .wait_until("live", timeout, Duration::from_millis(100), || {
                self.liveliness() == Some(200)
            });
    }

    /// The last `lines` lines of the proxy's log (every start appends).
    pub fn log_tail(&self, lines: usize) -> String {
        self.proxy.log_tail(lines)
    }

    /// The config the fixture writes for [`start`](Self::start).
    fn config_path(&self) -> PathBuf {
        self.proxy.dir().join("config.yaml")
    }
}

fn config_yaml(models: &[MockModel]) -> String {
    let mut yaml = String::from("model_list:\n");
    for m in models {
        yaml.push_str(&format!(
            "  - model_name: {}\n    litellm_params:\n      model: openai/fake\n      api_key: fake\n      mock_response: {}\n",
            yaml_str(&m.name),
            yaml_str(&m.reply)
        ));
    }
    yaml.push_str("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n");
    yaml
}

/// A YAML double-quoted scalar.
fn yaml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
