//! The demo's optional real gateway: when `litellm` is on PATH, the demo
//! starts it on a free loopback port with a `mock_response` model (no
//! upstream, no network), reading its master key from the demo's
//! litellm.env at each start the way systemd's `EnvironmentFile=` does, so
//! the rotation restarts it (`manager = "command"`) and verifies the keys.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long LiteLLM may take to start here (it takes ~5 s on an idle machine).
const START_BOUND: Duration = Duration::from_secs(120);

pub(crate) struct Gateway {
    pub port: u16,
    ctl: PathBuf,
}

/// `litellm` on PATH, if any.
pub(crate) fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("litellm"))
        .find(|p| p.is_file())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Gateway {
    /// Writes the config and the control script into `dir`; does not start.
    pub(crate) fn prepare(dir: &Path, litellm: &Path, env_file: &Path) -> std::io::Result<Gateway> {
        let port = free_port()?;
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("config.yaml"),
            "model_list:\n  - model_name: gpt-5.5\n    litellm_params:\n      model: openai/demo\n      api_key: not-used\n      \
             mock_response: \"DROID_LITELLM_OK\"\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
        )?;
        let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
        let script = format!(
            "#!/bin/sh\n\
             # litekeys demo: start | stop | restart the demo's LiteLLM; the key comes from\n\
             # litellm.env at each start (as EnvironmentFile=), never from argv.\n\
             dir={dir}; pidfile=\"$dir/litellm.pid\"\n\
             stop() {{\n  [ -s \"$pidfile\" ] || return 0\n  pid=$(cat \"$pidfile\"); kill -TERM \"-$pid\" 2>/dev/null\n  \
             i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done\n  \
             kill -KILL \"-$pid\" 2>/dev/null; rm -f \"$pidfile\"\n}}\n\
             start() {{\n  LITELLM_LOCAL_MODEL_COST_MAP=True setsid sh -c 'echo $$ > \"$1/litellm.pid\"; set -a; . \"$2\"; set +a; \
             exec \"$3\" --config \"$1/config.yaml\" --host 127.0.0.1 --port \"$4\" --telemetry False' \
             sh \"$dir\" {env} {litellm} {port} </dev/null >>\"$dir/litellm.log\" 2>&1 &\n  \
             i=0; until [ -s \"$pidfile\" ] || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.05; done\n}}\n\
             case \"$1\" in start) start ;; stop) stop ;; restart) stop; start ;; *) exit 2 ;; esac\n",
            dir = q(dir),
            env = q(env_file),
            litellm = q(litellm),
        );
        let ctl = dir.join("litellm-ctl.sh");
        std::fs::write(&ctl, script)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755))?;
        Ok(Gateway { port, ctl })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The restart argv for `[service] command`.
    pub(crate) fn restart_argv(&self) -> Vec<String> {
        vec![self.ctl.display().to_string(), "restart".into()]
    }

    /// Starts it and waits (bounded) until it is live.
    pub(crate) fn start(&self) -> Result<Duration, StartError> {
        let begun = Instant::now();
        let status = Command::new(&self.ctl)
            .arg("start")
            .status()
            .map_err(|source| StartError::Spawn {
                ctl: self.ctl.clone(),
                source,
            })?;
        if !status.success() {
            return Err(StartError::Failed {
                ctl: self.ctl.clone(),
                status,
            });
        }
        rotate::gateway::wait_live_with(
            &self.url(),
            START_BOUND.saturating_sub(begun.elapsed()),
            &mut super::spinner::Spinner::new(),
        )
        .map_err(StartError::NotLive)?;
        Ok(begun.elapsed())
    }
}

/// Why the demo's LiteLLM did not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("{}: {source}", ctl.display())]
    Spawn {
        ctl: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} start failed ({status})", ctl.display())]
    Failed {
        ctl: std::path::PathBuf,
        status: std::process::ExitStatus,
    },
    #[error("LiteLLM did not come up: {0}")]
    NotLive(rotate::gateway::GatewayError),
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = Command::new(&self.ctl).arg("stop").status();
    }
}
