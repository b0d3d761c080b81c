//! A real LiteLLM (the venv's 1.102.4) with a real PostgreSQL
//! ([`Postgres`], its own cluster) for the tests of issue 15, and an echo
//! upstream on 127.0.0.1 whose replies prove which provider key LiteLLM
//! sent, so a reply from a model stored through `/model/new` proves its
//! stored (encrypted) `api_key` decrypted.
//!
//! ```ignore
//! let sandbox = Sandbox::new();
//! let Some(gw) = LiteLlmDb::start(&sandbox, MASTER, None) else { return }; // or Some(salt)
//! gw.store_model(MASTER, "stored", UPSTREAM_KEY);         // /model/new
//! let reply = gw.chat(MASTER, "stored");
//! assert_eq!(reply.content.as_deref(), Some(fingerprint(UPSTREAM_KEY).as_str()));
//! let vk = gw.generate_key(MASTER, "droid");               // /key/generate
//! assert_eq!(gw.chat(&vk, "stored").status, 200);
//! assert_eq!(gw.delete_key(MASTER, &vk), 200);             // /key/delete
//! assert_eq!(gw.chat(&vk, "stored").status, 401);
//! ```
//!
//! As the database-less fixture (`litellm.rs`), LiteLLM reads its keys at
//! each start from a dotenv file in the sandbox (`litellm/litellm.env`:
//! `LITELLM_MASTER_KEY`, `DATABASE_URL`, and `LITELLM_SALT_KEY` when given),
//! through a control script whose `restart` the `command` service manager
//! runs ([`LiteLlmDb::restart_argv`]); it runs in its own session, and is
//! killed by its PID's process group first on drop (its query engine, a
//! node child, goes with it and also exits when its parent dies), then the
//! database is stopped. Waits are bounded; logs are printed when a test
//! fails. Nothing here puts a key in argv.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Sandbox;
pub use crate::echo::{Echo, fingerprint};
use crate::litellm::free_port;
use crate::postgres::{Postgres, alive};

/// Bound on a start (or restart) until ready with the database: ~15 s on
/// a quiet machine (LiteLLM, then the Prisma client's import and engine);
/// 40-90 s seen here with other suites loading both cores.
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// LiteLLM with a database; fields drop in order: the proxy, then the
/// upstream, then PostgreSQL.
pub struct LiteLlmDb {
    /// config.yaml, ctl.sh, litellm.pid, litellm.log.
    dir: tempfile::TempDir,
    env_file: PathBuf,
    port: u16,
    /// How long the first start took, until ready with the database.
    pub started_in: Duration,
    echo: Echo,
    pg: Postgres,
}

/// One chat completion's outcome.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The assistant's message: from the echo upstream, the fingerprint of
    /// the key LiteLLM sent it.
    pub content: Option<String>,
    pub body: String,
}

impl LiteLlmDb {
    /// Starts PostgreSQL (a migrated `litellm` database), the echo upstream,
    /// and LiteLLM on `master_key` (and `salt_key`), and waits until it is
    /// ready with its database. `None` (a loud skip) when a peer is
    /// missing, outside CI.
    pub fn start(sandbox: &Sandbox, master_key: &str, salt_key: Option<&str>) -> Option<LiteLlmDb> {
        let litellm = crate::peer("litellm")?;
        crate::peer("node")?;
        crate::tool_file(
            "prisma-client (scripts/install-peers)",
            "prisma-client/prisma/client.py",
        )?;
        crate::tool_file(
            "prisma wasm engine (scripts/install-peers)",
            "prisma-engine/node_modules/@prisma/query-engine-wasm/postgresql/query_engine_bg.wasm",
        )?;
        let pg = Postgres::start()?;
        let env_file = sandbox.path("litellm/litellm.env");
        std::fs::create_dir_all(env_file.parent().unwrap()).expect("litellm dir");
        let dir = tempfile::Builder::new()
            .prefix("litekeys-litellm-db.")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let mut gw = LiteLlmDb {
            dir,
            env_file,
            port,
            started_in: Duration::ZERO,
            echo: Echo::start(),
            pg,
        };
        std::fs::write(gw.config_path(), CONFIG).expect("config.yaml");
        gw.write_env(master_key, salt_key);
        std::fs::write(
            gw.ctl(),
            ctl_script(gw.dir.path(), &gw.env_file, &litellm, port, sandbox),
        )
        .expect("ctl.sh");
        make_executable(&gw.ctl());
        let start = Instant::now();
        gw.ctl_run("start");
        gw.wait_ready(START_TIMEOUT);
        gw.started_in = start.elapsed();
        Some(gw)
    }

    /// `http://127.0.0.1:PORT` (no `/v1`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn postgres(&self) -> &Postgres {
        &self.pg
    }

    pub fn echo(&self) -> &Echo {
        &self.echo
    }

    /// The dotenv file LiteLLM reads its keys and `DATABASE_URL` from at
    /// each start (what a dotenv sink points at).
    pub fn env_file(&self) -> PathBuf {
        self.env_file.clone()
    }

    /// LiteLLM's config.yaml (`master_key: os.environ/LITELLM_MASTER_KEY`,
    /// `store_model_in_db: true`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("litellm.log")
    }

    /// Rewrites the dotenv file: the master key, the database, the salt key
    /// when given (seen at the next start).
    pub fn write_env(&self, master_key: &str, salt_key: Option<&str>) {
        let mut text = format!(
            "LITELLM_MASTER_KEY={master_key}\nDATABASE_URL={}\n",
            self.pg.url()
        );
        if let Some(salt) = salt_key {
            text.push_str(&format!("LITELLM_SALT_KEY={salt}\n"));
        }
        std::fs::write(&self.env_file, text).expect("litellm.env");
    }

    /// Sets `LITELLM_MASTER_KEY` in the dotenv file, other lines kept.
    pub fn set_master_key(&self, key: &str) {
        let text = std::fs::read_to_string(&self.env_file).unwrap_or_default();
        let mut out: String = text
            .lines()
            .filter(|l| !l.starts_with("LITELLM_MASTER_KEY="))
            .map(|l| format!("{l}\n"))
            .collect();
        out.insert_str(0, &format!("LITELLM_MASTER_KEY={key}\n"));
        std::fs::write(&self.env_file, out).expect("litellm.env");
    }

    /// The `command` service manager's argv: stop (TERM, KILL after 10 s),
    /// start reading the dotenv file. Returns before the proxy is ready.
    pub fn restart_argv(&self) -> Vec<String> {
        vec![self.ctl().display().to_string(), "restart".to_string()]
    }

    /// Restarts (as [`restart_argv`](Self::restart_argv)) and waits until
    /// ready with the database.
    pub fn restart(&self) {
        self.ctl_run("restart");
        self.wait_ready(START_TIMEOUT);
    }

    /// SIGKILL to the proxy's process group, waits until it is gone.
    pub fn kill(&self) {
        self.ctl_run("kill");
    }

    /// The proxy's PID (its process group leader).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("litellm.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The query-engine processes (scripts/prisma-engine) the proxy started.
    pub fn engine_pids(&self) -> Vec<u32> {
        let Some(pid) = self.pid() else {
            return Vec::new();
        };
        children(pid)
            .into_iter()
            .filter(|c| {
                std::fs::read(format!("/proc/{c}/cmdline"))
                    .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("engine.mjs"))
            })
            .collect()
    }

    /// Waits (bounded) until `/health/readiness` says the database is
    /// connected; panics with the log when it does not.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let ready = request(self.port, "GET", "/health/readiness", None, None).is_some_and(
                |(status, body)| status == 200 && body.contains("\"db\":\"connected\""),
            );
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "LiteLLM (database) on port {} not ready after {timeout:?}\n--- {}\n{}",
            self.port,
            self.log_file().display(),
            self.log_tail(60)
        );
    }

    /// Stores a model through `/model/new` (master key): `openai/echo` at
    /// the echo upstream with `api_key` as its provider key (LiteLLM
    /// encrypts it in the database). Its model id.
    pub fn store_model(&self, master_key: &str, name: &str, api_key: &str) -> String {
        let body = json!({
            "model_name": name,
            "litellm_params": {
                "model": "openai/echo",
                "api_key": api_key,
                "api_base": format!("{}/v1", self.echo.url()),
            },
        });
        let (status, text) = self.call("POST", "/model/new", Some(master_key), Some(&body));
        assert_eq!(status, 200, "/model/new: {text}");
        let id = serde_json::from_str::<Value>(&text).expect("json")["model_id"]
            .as_str()
            .expect("model_id")
            .to_string();
        // LiteLLM loads models from the database on a timer; a chat right
        // after /model/new already routes in 1.102.4, but wait until it does.
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.chat(master_key, name).status != 200 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
        }
        id
    }

    /// `/model/info` (master key): the models and their `model_info`.
    pub fn model_info(&self, master_key: &str) -> (u16, Value) {
        let (status, text) = self.call("GET", "/model/info", Some(master_key), None);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `/key/generate` (master key) with `key_alias`: the new virtual key.
    pub fn generate_key(&self, master_key: &str, alias: &str) -> String {
        let (status, text) = self.call(
            "POST",
            "/key/generate",
            Some(master_key),
            Some(&json!({ "key_alias": alias })),
        );
        assert_eq!(status, 200, "/key/generate: {}", redact_keys(&text));
        serde_json::from_str::<Value>(&text).expect("json")["key"]
            .as_str()
            .expect("key")
            .to_string()
    }

    /// `/key/delete` (master key) of `key`: the status.
    pub fn delete_key(&self, master_key: &str, key: &str) -> u16 {
        self.call(
            "POST",
            "/key/delete",
            Some(master_key),
            Some(&json!({ "keys": [key] })),
        )
        .0
    }

    /// One `/v1/chat/completions` to `model` with `key` (bounded).
    pub fn chat(&self, key: &str, model: &str) -> Reply {
        let body = json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] });
        let (status, text) = self.call("POST", "/v1/chat/completions", Some(key), Some(&body));
        let content = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
            v["choices"][0]["message"]["content"]
                .as_str()
                .map(str::to_string)
        });
        Reply {
            status,
            content,
            body: text,
        }
    }

    /// Any request to the proxy: (status, body); status 0 when nothing
    /// answered.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String) {
        request(self.port, method, path, bearer, body).unwrap_or((0, String::new()))
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

impl Drop for LiteLlmDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- LiteLLM (database) log ({}), last lines:\n{}",
                self.log_file().display(),
                self.log_tail(40)
            );
        }
        let engines = self.engine_pids();
        let _ = Command::new(self.ctl())
            .arg("kill")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The engine is in the proxy's process group; bounded wait for it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while engines.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

const CONFIG: &str = "model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  store_model_in_db: true\n";

/// The PIDs whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                s.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// `"key": "sk-..."` values out of a response shown in a failure.
fn redact_keys(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut m)) => {
            for k in ["key", "token"] {
                if m.contains_key(k) {
                    m.insert(k.into(), Value::String("<redacted>".into()));
                }
            }
            Value::Object(m).to_string()
        }
        _ => text.to_string(),
    }
}

/// A bounded HTTP/1.0 request on 127.0.0.1 (the server closes after its
/// answer): (status, body), or `None` when nothing answered.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Option<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
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

fn ctl_script(dir: &Path, env_file: &Path, litellm: &Path, port: u16, sandbox: &Sandbox) -> String {
    let env_of = |k: &str| {
        sandbox
            .env()
            .get(std::ffi::OsStr::new(k))
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let shown = |p: &Path| sh_quote(&p.display().to_string());
    let root = crate::root();
    let tools = root.join(".tools");
    let engine = root.join("scripts/prisma-engine");
    format!(
        r#"#!/bin/sh
# Generated by tests/kit/litellm_db.rs: start | stop | restart | kill the test
# LiteLLM with a database. Keys and DATABASE_URL come from litellm.env at each
# start (like systemd's EnvironmentFile=), never from argv. Prisma's engine is
# scripts/prisma-engine (no native engines here); the schema is migrated by
# the kit, so LiteLLM does not migrate (scripts/prisma-engine/cli/prisma, first
# on PATH, declines the schema diff it would run at each start). Every wait is
# bounded.
set -u
dir={dir}
env_file={env_file}
pidfile="$dir/litellm.pid"

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
    # Its query engine leaves with the group; a straggler gets KILL.
    kill -KILL "-$pid" 2>/dev/null
    rm -f "$pidfile"
}}

start() {{
    rm -f "$pidfile"
    cd "$dir" || exit 1
    env -i HOME={home} PATH={engine}/cli:{path} LANG=C.UTF-8 TMPDIR={tmp} \
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_DONT_SHOW_FEEDBACK_BOX=True \
        DISABLE_SCHEMA_UPDATE=true \
        PYTHONPATH={client} \
        PRISMA_QUERY_ENGINE_BINARY={engine}/engine.mjs \
        PRISMA_SCHEMA_ENGINE_BINARY={engine}/schema-engine \
        PRISMA_BINARY_CACHE_DIR={modules} \
        PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING=1 PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1 \
        setsid sh -c '
            echo $$ > "$1/litellm.pid"
            set -a; . "$4"; set +a
            exec "$2" --config "$1/config.yaml" --host 127.0.0.1 --port "$3" --telemetry False
        ' sh "$dir" {litellm} {port} "$env_file" </dev/null >>"$dir/litellm.log" 2>&1 &
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
        env_file = shown(env_file),
        home = sh_quote(&env_of("HOME")),
        path = sh_quote(&env_of("PATH")),
        tmp = sh_quote(&std::env::temp_dir().display().to_string()),
        client = shown(&tools.join("prisma-client")),
        engine = shown(&engine),
        modules = shown(&tools.join("prisma-engine")),
        litellm = shown(litellm),
        port = port,
    )
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod ctl.sh");
}
