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
//! through the control script of [`crate::proxy`] whose `restart` the
//! `command` service manager runs ([`LiteLlmDb::restart_argv`]); it runs in
//! its own session, and is
//! killed by its PID's process group first on drop (its query engine, a
//! node child, goes with it and also exits when its parent dies), then the
//! database is stopped. Waits are bounded; logs are printed when a test
//! fails. Nothing here puts a key in argv.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Sandbox;
pub use crate::echo::{Echo, fingerprint};
use crate::postgres::{Postgres, alive};
pub use crate::proxy::request;
use crate::proxy::{Launch, Proxy};

/// Bound on a start (or restart) until ready with the database: ~15 s on
/// a quiet machine (LiteLLM, then the Prisma client's import and engine);
/// 40-90 s seen here with other suites loading both cores.
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// LiteLLM with a database; fields drop in order: the proxy, then the
/// upstream, then PostgreSQL.
pub struct LiteLlmDb {
    proxy: Proxy,
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
        let mut gw = LiteLlmDb {
            proxy: Proxy::new(sandbox, "litekeys-litellm-db.", "LiteLLM (database)"),
            started_in: Duration::ZERO,
            echo: Echo::start(),
            pg,
        };
        std::fs::write(gw.config_path(), CONFIG).expect("config.yaml");
        gw.write_env(master_key, salt_key);
        let config = gw.config_path();
        gw.started_in = gw.proxy.start(sandbox, &launch(&litellm, &config), || {
            gw.wait_ready(START_TIMEOUT);
        });
        Some(gw)
    }

    /// `http://127.0.0.1:PORT` (no `/v1`).
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    pub fn port(&self) -> u16 {
        self.proxy.port()
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
        self.proxy.env_file().to_path_buf()
    }

    /// LiteLLM's config.yaml (`master_key: os.environ/LITELLM_MASTER_KEY`,
    /// `store_model_in_db: true`).
    pub fn config_path(&self) -> PathBuf {
        self.proxy.dir().join("config.yaml")
    }

    pub fn log_file(&self) -> PathBuf {
        self.proxy.log_file()
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
        std::fs::write(self.proxy.env_file(), text).expect("litellm.env");
    }

    /// Sets `LITELLM_MASTER_KEY` in the dotenv file, other lines kept.
    pub fn set_master_key(&self, key: &str) {
        let text = std::fs::read_to_string(self.proxy.env_file()).unwrap_or_default();
        let mut out: String = text
            .lines()
            .filter(|l| !l.starts_with("LITELLM_MASTER_KEY="))
            .map(|l| format!("{l}\n"))
            .collect();
        out.insert_str(0, &format!("LITELLM_MASTER_KEY={key}\n"));
        std::fs::write(self.proxy.env_file(), out).expect("litellm.env");
    }

    /// The `command` service manager's argv: stop (TERM, KILL after 10 s),
    /// start reading the dotenv file. Returns before the proxy is ready.
    pub fn restart_argv(&self) -> Vec<String> {
        self.proxy.restart_argv()
    }

    /// Restarts (as [`restart_argv`](Self::restart_argv)) and waits until
    /// ready with the database.
    pub fn restart(&self) {
        self.proxy.ctl_run("restart");
        self.wait_ready(START_TIMEOUT);
    }

    /// SIGKILL to the proxy's process group, waits until it is gone.
    pub fn kill(&self) {
        self.proxy.ctl_run("kill");
    }

    /// The proxy's PID (its process group leader).
    pub fn pid(&self) -> Option<u32> {
        self.proxy.pid()
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
        self.proxy
            .wait_until("ready", timeout, Duration::from_millis(200), || {
                request(self.port(), "GET", "/health/readiness", None, None).is_some_and(
                    |(status, body)| status == 200 && body.contains("\"db\":\"connected\""),
                )
            });
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
        request(self.port(), method, path, bearer, body).unwrap_or((0, String::new()))
    }

    /// The last `lines` lines of the proxy's log (every start appends).
    pub fn log_tail(&self, lines: usize) -> String {
        self.proxy.log_tail(lines)
    }
}

/// Stops the proxy here, not in its own drop, to wait for its query engine
/// too; the proxy's drop then prints the log when a test failed.
impl Drop for LiteLlmDb {
    fn drop(&mut self) {
        let engines = self.engine_pids();
        self.proxy.stop();
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

/// The proxy's launch: Prisma's engine is scripts/prisma-engine (no native
/// engines here), its client the one scripts/install-peers built.
fn launch<'a>(litellm: &'a std::path::Path, config: &'a std::path::Path) -> Launch<'a> {
    let root = crate::root();
    let tools = root.join(".tools");
    let engine = root.join("scripts/prisma-engine");
    let shown = |p: PathBuf| p.display().to_string();
    Launch {
        litellm,
        config,
        path_before: Some(engine.join("cli")),
        env: vec![
            ("DISABLE_SCHEMA_UPDATE", "true".into()),
            ("PYTHONPATH", shown(tools.join("prisma-client"))),
            (
                "PRISMA_QUERY_ENGINE_BINARY",
                shown(engine.join("engine.mjs")),
            ),
            (
                "PRISMA_SCHEMA_ENGINE_BINARY",
                shown(engine.join("schema-engine")),
            ),
            (
                "PRISMA_BINARY_CACHE_DIR",
                shown(tools.join("prisma-engine")),
            ),
            ("PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING", "1".into()),
            ("PRISMA_HIDE_UPDATE_MESSAGE", "1".into()),
            ("CHECKPOINT_DISABLE", "1".into()),
        ],
        about: "\
# With a database (tests/kit/litellm_db.rs): keys and DATABASE_URL from
# litellm.env. Prisma's engine is scripts/prisma-engine (no native engines
# here); the schema is migrated by the kit, so LiteLLM does not migrate
# (scripts/prisma-engine/cli/prisma, first on PATH, declines the schema diff
# it would run at each start).
",
    }
}
