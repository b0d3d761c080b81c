//! The demo's gateway: when `litellm` is on PATH, the demo starts it on a
//! free loopback port with a `mock_response` model (no upstream, no
//! network); otherwise the built-in stand-in ([`super::stand_in`]). Either
//! reads its master key from the demo's litellm.env at each start the way
//! systemd's `EnvironmentFile=` does, so the rotation restarts it
//! (`manager = "command"`) and verifies the keys; a marker file makes the
//! next restart fail, for the demo's rollback.

use super::stand_in::{self, FAIL_NEXT, StandIn};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long LiteLLM may take to start here (it takes ~5 s on an idle machine).
const START_BOUND: Duration = Duration::from_secs(120);

pub(crate) struct Gateway {
    pub port: u16,
    dir: PathBuf,
    control: Control,
}

/// How the gateway is started, stopped and restarted.
enum Control {
    /// LiteLLM: a shell script (start | stop | restart).
    Script(PathBuf),
    /// The stand-in: this binary's hidden `demo-stand-in` mode.
    StandIn(StandIn),
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
    /// Writes the control script into `dir`, to start LiteLLM on `config`
    /// ([`litellm_config`], written by the sandbox); does not start.
    pub(crate) fn prepare(
        dir: &Path,
        litellm: &Path,
        env_file: &Path,
        config: &Path,
    ) -> std::io::Result<Gateway> {
        let port = free_port()?;
        std::fs::create_dir_all(dir)?;
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
             exec \"$3\" --config \"$5\" --host 127.0.0.1 --port \"$4\" --telemetry False' \
             sh \"$dir\" {env} {litellm} {port} {config} </dev/null >>\"$dir/litellm.log\" 2>&1 &\n  \
             i=0; until [ -s \"$pidfile\" ] || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.05; done\n}}\n\
             restart() {{\n  if [ -e \"$dir/{FAIL_NEXT}\" ]; then rm -f \"$dir/{FAIL_NEXT}\"; stop; \
             echo 'restart failed on purpose (the demo deliberately fails this one): stopped, not started again' >&2; exit 1; fi\n  \
             stop; start\n}}\n\
             case \"$1\" in start) start ;; stop) stop ;; restart) restart ;; *) exit 2 ;; esac\n",
            dir = q(dir),
            env = q(env_file),
            litellm = q(litellm),
            config = q(config),
        );
        let ctl = dir.join("litellm-ctl.sh");
        std::fs::write(&ctl, script)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755))?;
        Ok(Gateway {
            port,
            dir: dir.to_path_buf(),
            control: Control::Script(ctl),
        })
    }

    /// The stand-in, to live in `dir` (not started yet).
    pub(crate) fn prepare_stand_in(dir: &Path, env_file: &Path) -> std::io::Result<Gateway> {
        let port = free_port()?;
        std::fs::create_dir_all(dir)?;
        Ok(Gateway {
            port,
            dir: dir.to_path_buf(),
            control: Control::StandIn(StandIn {
                dir: dir.to_path_buf(),
                port,
                env_file: env_file.to_path_buf(),
                owner: std::process::id(),
            }),
        })
    }

    /// What the demo calls it.
    pub(crate) fn label(&self) -> &'static str {
        match self.control {
            Control::Script(_) => "LiteLLM",
            Control::StandIn(_) => stand_in::LABEL,
        }
    }

    /// Makes the next restart stop the gateway and fail.
    pub(crate) fn fail_next_restart(&self) -> std::io::Result<()> {
        std::fs::write(self.dir.join(FAIL_NEXT), "")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The restart argv for `[service] command`.
    pub(crate) fn restart_argv(&self) -> std::io::Result<Vec<String>> {
        Ok(match &self.control {
            Control::Script(ctl) => vec![ctl.display().to_string(), "restart".into()],
            Control::StandIn(s) => s.argv(&std::env::current_exe()?, "restart"),
        })
    }

    /// Starts it and waits (bounded) until it is live.
    pub(crate) fn start(&self) -> Result<Duration, StartError> {
        let begun = Instant::now();
        match &self.control {
            Control::Script(ctl) => {
                let status = Command::new(ctl).arg("start").status().map_err(|source| {
                    StartError::Spawn {
                        ctl: ctl.clone(),
                        source,
                    }
                })?;
                if !status.success() {
                    return Err(StartError::Failed {
                        ctl: ctl.clone(),
                        status,
                    });
                }
            }
            Control::StandIn(s) => s.start()?,
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

/// LiteLLM's config.yaml as a user who followed the guides has it: a
/// `mock_response` model (no upstream, no network) and the master key typed
/// in. LiteLLM reads it at each start and it overrides `LITELLM_MASTER_KEY`
/// from litellm.env; the rotation writes both (it is a `litellm-config`
/// sink), so they agree. The stand-in reads litellm.env only, which holds
/// the same key.
pub(crate) fn litellm_config(master: &str) -> String {
    format!(
        "# LiteLLM proxy: litellm --config ~/.config/litellm/config.yaml\n\
         model_list:\n  - model_name: gpt-5.5\n    litellm_params:\n      model: openai/demo\n      \
         api_key: not-used\n      mock_response: \"DROID_LITELLM_OK\"\n\n\
         general_settings:\n  # typed in by hand (overrides LITELLM_MASTER_KEY from the environment)\n  \
         master_key: {master}   # clients send this key\n"
    )
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
    #[error("the gateway did not come up: {0}")]
    NotLive(rotate::gateway::GatewayError),
    #[error("{0}")]
    StandIn(#[from] stand_in::StandInError),
}

impl Drop for Gateway {
    fn drop(&mut self) {
        match &self.control {
            Control::Script(ctl) => {
                let _ = Command::new(ctl).arg("stop").status();
            }
            Control::StandIn(s) => s.stop(),
        }
    }
}
