//! A real LiteLLM proxy for the tests: the project venv's `litellm` on
//! 127.0.0.1 and a free port, offline (local model cost map, no telemetry,
//! no database), with `mock_response` models so chat completions need no
//! upstream.
//!
//! The master key is read from a dotenv file at each start by a small
//! control script (`ctl.sh start|stop|restart`), the way systemd's
//! `EnvironmentFile=` does: a restart through the `command` service manager
//! (argv from [`LiteLlm::restart_argv`]) picks up a key that a sink wrote.
//! The proxy runs in its own session; dropping the fixture kills its whole
//! process group. The dotenv file lives in the sandbox (`litellm/`); the
//! config, control script, pid file and log in a directory the fixture owns,
//! so that the kill on drop works whichever of sandbox and fixture goes
//! first. Every wait is bounded; the log is printed when a test fails.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Sandbox;

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
    /// config.yaml, ctl.sh, litellm.pid, litellm.log.
    dir: tempfile::TempDir,
    env_file: PathBuf,
    port: u16,
    /// How long the first start took, until liveliness answered 200.
    pub started_in: Duration,
}

impl LiteLlm {
    /// Starts LiteLLM with `master_key` in its dotenv file
    /// (`litellm/litellm.env` in `sandbox`), and waits until it is live. `None`
    /// (a loud skip) when the peer is not installed, outside CI.
    pub fn start(sandbox: &Sandbox, master_key: &str, models: &[MockModel]) -> Option<LiteLlm> {
        LiteLlm::launch(sandbox, None, |fixture| {
            std::fs::write(fixture.dir.path().join("config.yaml"), config_yaml(models))
                .expect("config.yaml");
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
        let env_file = sandbox.path("litellm/litellm.env");
        std::fs::create_dir_all(env_file.parent().unwrap()).expect("litellm dir");
        let dir = tempfile::Builder::new()
            .prefix("litekeys-litellm.")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let mut fixture = LiteLlm {
            dir,
            env_file,
            port,
            started_in: Duration::ZERO,
        };
        prepare(&fixture);
        let config =
            config.map_or_else(|| fixture.dir.path().join("config.yaml"), Path::to_path_buf);
        let ctl = fixture.ctl();
        let script = ctl_script(
            fixture.dir.path(),
            &config,
            &fixture.env_file,
            &litellm,
            port,
            sandbox,
        );
        std::fs::write(&ctl, script).expect("ctl.sh");
        make_executable(&ctl);
        let start = Instant::now();
        fixture.ctl_run("start");
        fixture.wait_live(START_TIMEOUT);
        fixture.started_in = start.elapsed();
        Some(fixture)
    }

    /// `http://127.0.0.1:PORT` (no `/v1`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The dotenv file the proxy reads its key from at each start.
    pub fn env_file(&self) -> PathBuf {
        self.env_file.clone()
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("litellm.log")
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
        vec![self.ctl().display().to_string(), "restart".to_string()]
    }

    /// The pid of the running proxy (its process group leader).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("litellm.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Kills the proxy (SIGKILL to its process group) and waits until it is
    /// gone: a gateway that died.
    pub fn kill(&self) {
        self.ctl_run("kill");
    }

    /// One `GET /health/liveliness`: the status, or `None` when nothing
    /// answered.
    pub fn liveliness(&self) -> Option<u16> {
        http_status(self.port, "/health/liveliness")
    }

    /// Waits (bounded) until liveliness answers 200; panics with the log
    /// when it does not.
    pub fn wait_live(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.liveliness() == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "LiteLLM on port {} not live after {:?}\n--- {}\n{}",
            self.port,
            timeout,
            self.log_file().display(),
            self.log_tail(60)
        );
    }

    /// The last `lines` lines of the proxy's log (every start appends).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn ctl(&self) -> PathBuf {
        self.dir.path().join("ctl.sh")
    }

    fn ctl_run(&self, action: &str) {
        let out = Command::new(self.ctl())
            .arg(action)
            .stdin(Stdio::null())
            .output()
            .expect("ctl.sh runs");
        assert!(
            out.status.success(),
            "ctl.sh {action}: {}\n{}\n--- log\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log_tail(40)
        );
    }
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- LiteLLM log ({}), last lines:\n{}",
                self.log_file().display(),
                self.log_tail(40)
            );
        }
        // Bounded inside the script; a failure here must not mask a panic.
        let _ = Command::new(self.ctl())
            .arg("kill")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A port nothing listens on right now (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A bounded HTTP/1.0 GET on 127.0.0.1: the status code, or `None`.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match stream.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    // "HTTP/1.1 200 OK"
    std::str::from_utf8(&head[..got])
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
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

/// A shell single-quoted word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn ctl_script(
    dir: &Path,
    config: &Path,
    env_file: &Path,
    litellm: &Path,
    port: u16,
    sandbox: &Sandbox,
) -> String {
    let env_of = |k: &str| {
        sandbox
            .env()
            .get(std::ffi::OsStr::new(k))
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let shown = |p: &Path| sh_quote(&p.display().to_string());
    format!(
        r#"#!/bin/sh
# Generated by tests/kit/litellm.rs: start | stop | restart | kill the test
# LiteLLM. The key comes from litellm.env at each start (like systemd's
# EnvironmentFile=), never from argv. Every wait is bounded.
set -u
dir={dir}
env_file={env_file}
pidfile="$dir/litellm.pid"

# The session leader is running (PID 1 here may be slow to reap a zombie).
alive() {{
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}}

stop() {{ # $1: first signal
    alive || {{ rm -f "$pidfile"; return 0; }}
    pid=$(cat "$pidfile")
    kill -"$1" "-$pid" 2>/dev/null
    i=0
    while alive; do
        i=$((i + 1))
        [ $i -eq 100 ] && kill -KILL "-$pid" 2>/dev/null
        [ $i -ge 200 ] && {{ echo "ctl.sh: LiteLLM (pid $pid) does not stop" >&2; exit 1; }}
        sleep 0.1
    done
    rm -f "$pidfile"
}}

start() {{
    rm -f "$pidfile"
    env -i HOME={home} PATH={path} LANG=C.UTF-8 TMPDIR={tmp} \
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_DONT_SHOW_FEEDBACK_BOX=True \
        setsid sh -c '
            echo $$ > "$1/litellm.pid"
            set -a; . "$4"; set +a
            exec "$2" --config "$5" --host 127.0.0.1 --port "$3" --telemetry False
        ' sh "$dir" {litellm} {port} "$env_file" {config} </dev/null >>"$dir/litellm.log" 2>&1 &
    i=0
    until [ -s "$pidfile" ]; do
        i=$((i + 1))
        [ $i -ge 100 ] && {{ echo "ctl.sh: LiteLLM did not start" >&2; exit 1; }}
        sleep 0.05
    done
}}

case "${{1:-}}" in
    start) start ;;
    stop) stop TERM ;;
    restart) stop TERM; start ;;
    kill) stop KILL ;;
    *) echo "usage: ctl.sh start|stop|restart|kill" >&2; exit 2 ;;
esac
"#,
        dir = shown(dir),
        config = shown(config),
        env_file = shown(env_file),
        home = sh_quote(&env_of("HOME")),
        path = sh_quote(&env_of("PATH")),
        tmp = sh_quote(&std::env::temp_dir().display().to_string()),
        litellm = shown(litellm),
        port = port,
    )
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod ctl.sh");
}
