//! The process control both LiteLLM fixtures are built on
//! ([`LiteLlm`](crate::litellm::LiteLlm), the database-less one, and
//! [`LiteLlmDb`](crate::litellm_db::LiteLlmDb)), and the bounded HTTP/1.0
//! client the kit and the tests talk to them with.
//!
//! A [`Proxy`] owns a directory (config.yaml, ctl.sh, litellm.pid,
//! litellm.log) and a generated control script `ctl.sh
//! start|stop|restart|kill`: it starts LiteLLM in its own session with its
//! keys read from a dotenv file in the sandbox at each start (the way
//! systemd's `EnvironmentFile=` does, never argv), records the session
//! leader's PID, and stops the whole process group by that PID. The
//! `command` service manager runs its `restart` ([`Proxy::restart_argv`]).
//! On drop it prints the log's tail when a test fails and kills the group.
//! The directory is the fixture's, not the sandbox's, so the kill works
//! whichever of sandbox and fixture goes first. Every wait is bounded.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Sandbox;

/// What a control script starts: `litellm --config CONFIG` on 127.0.0.1 and
/// the proxy's port, offline (local model cost map, no telemetry).
pub struct Launch<'a> {
    pub litellm: &'a Path,
    pub config: &'a Path,
    /// A directory put before the sandbox's PATH.
    pub path_before: Option<PathBuf>,
    /// More of the proxy's environment: (name, value); never a secret
    /// (those come from the dotenv file).
    pub env: Vec<(&'static str, String)>,
    /// Comment lines (each starting `# `) on what this proxy adds.
    pub about: &'a str,
}

/// A LiteLLM process under its control script; its process group is killed
/// on drop.
pub struct Proxy {
    /// config.yaml, ctl.sh, litellm.pid, litellm.log.
    dir: tempfile::TempDir,
    env_file: PathBuf,
    port: u16,
    /// How failures name it: `LiteLLM`, `LiteLLM (database)`.
    name: &'static str,
}

impl Proxy {
    /// A stopped proxy on a free port: its directory (`prefix`), and its
    /// dotenv file's directory (`litellm/litellm.env` in `sandbox`).
    pub fn new(sandbox: &Sandbox, prefix: &str, name: &'static str) -> Proxy {
        let env_file = sandbox.path("litellm/litellm.env");
        std::fs::create_dir_all(env_file.parent().unwrap()).expect("litellm dir");
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("tempdir");
        Proxy {
            dir,
            env_file,
            port: free_port(),
            name,
        }
    }

    /// The directory the proxy's config, script, pid file and log are in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://127.0.0.1:PORT` (no `/v1`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The dotenv file the proxy reads its keys from at each start.
    pub fn env_file(&self) -> &Path {
        &self.env_file
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir().join("litellm.log")
    }

    /// The last `lines` lines of the proxy's log (every start appends).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The pid of the running proxy (its process group leader).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir().join("litellm.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The argv of the `command` service manager that restarts the proxy:
    /// stop (TERM, then KILL after 10 s), start with the dotenv file's keys.
    /// It returns once the new process runs, before it answers.
    pub fn restart_argv(&self) -> Vec<String> {
        vec![self.ctl().display().to_string(), "restart".to_string()]
    }

    /// Writes the control script that starts `launch`, starts it, and
    /// waits (`wait`, bounded, panicking with the log): how long that took.
    pub fn start(&self, sandbox: &Sandbox, launch: &Launch<'_>, wait: impl FnOnce()) -> Duration {
        std::fs::write(self.ctl(), self.script(sandbox, launch)).expect("ctl.sh");
        make_executable(&self.ctl());
        let start = Instant::now();
        self.ctl_run("start");
        wait();
        start.elapsed()
    }

    /// `ctl.sh ACTION` (start, stop, restart, kill); panics with the log
    /// when it fails.
    pub fn ctl_run(&self, action: &str) {
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

    /// `ctl.sh kill`, quietly: bounded inside the script, and a failure
    /// here must not mask a test's panic (for drops).
    pub fn stop(&self) {
        let _ = Command::new(self.ctl())
            .arg("kill")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Polls `ready` every `poll` until it holds or `timeout` passes; then
    /// panics with the log: "{name} on port N not {what} after …".
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        poll: Duration,
        mut ready: impl FnMut() -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if ready() {
                return;
            }
            std::thread::sleep(poll);
        }
        panic!(
            "{} on port {} not {what} after {timeout:?}\n--- {}\n{}",
            self.name,
            self.port,
            self.log_file().display(),
            self.log_tail(60)
        );
    }

    fn ctl(&self) -> PathBuf {
        self.dir().join("ctl.sh")
    }

    fn script(&self, sandbox: &Sandbox, launch: &Launch<'_>) -> String {
        let env_of = |k: &str| {
            sandbox
                .env()
                .get(std::ffi::OsStr::new(k))
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        // The script cds into its directory: a relative path would move.
        let shown = |p: &Path| {
            let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            sh_quote(&p.display().to_string())
        };
        let path = match &launch.path_before {
            Some(dir) => format!("{}:{}", dir.display(), env_of("PATH")),
            None => env_of("PATH"),
        };
        let env: String = launch
            .env
            .iter()
            .map(|(k, v)| format!("        {k}={} \\\n", sh_quote(v)))
            .collect();
        format!(
            r#"#!/bin/sh
# Generated by tests/kit/proxy.rs: start | stop | restart | kill the test
# {name}. Its keys come from litellm.env at each start (like systemd's
# EnvironmentFile=), never from argv. Every wait is bounded.
{about}set -u
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
    # A child (LiteLLM's query engine) leaves with the group; a straggler gets KILL.
    kill -KILL "-$pid" 2>/dev/null
    rm -f "$pidfile"
}}

start() {{
    rm -f "$pidfile"
    cd "$dir" || exit 1
    env -i HOME={home} PATH={path} LANG=C.UTF-8 TMPDIR={tmp} \
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_DONT_SHOW_FEEDBACK_BOX=True \
{env}        setsid sh -c '
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
            name = self.name,
            about = launch.about,
            dir = shown(self.dir()),
            env_file = shown(&self.env_file),
            home = sh_quote(&env_of("HOME")),
            path = sh_quote(&path),
            tmp = sh_quote(&std::env::temp_dir().display().to_string()),
            litellm = shown(launch.litellm),
            port = self.port,
            config = shown(launch.config),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} log ({}), last lines:\n{}",
                self.name,
                self.log_file().display(),
                self.log_tail(40)
            );
        }
        self.stop();
    }
}

/// A port nothing listens on right now (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A bounded HTTP/1.0 request on 127.0.0.1 (the server closes after its
/// answer): (status, body), or `None` when nothing answered. A JSON `body`
/// goes with its content type; `bearer` as `Authorization: Bearer`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Option<(u16, String)> {
    exchange(port, method, path, bearer, body, Duration::from_secs(60))
}

/// One bounded `GET path` on 127.0.0.1: the status code, or `None` when
/// nothing answered (in 5 s: a probe, not a call).
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    exchange(port, "GET", path, None, None, Duration::from_secs(5)).map(|(status, _)| status)
}

fn exchange(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
    read_timeout: Duration,
) -> Option<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(read_timeout)).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some(key) = bearer {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", payload.len()));
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(payload.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// A shell single-quoted word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}
