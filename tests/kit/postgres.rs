//! A throwaway PostgreSQL for LiteLLM with a database: Debian's server
//! (`/usr/lib/postgresql/<version>/bin`, apt `postgresql`), its own cluster
//! per fixture on 127.0.0.1 and a free port, stopped by PID on drop.
//!
//! ```ignore
//! let Some(pg) = Postgres::start() else { return }; // a loud skip outside CI
//! let url = pg.url();        // postgresql://postgres@127.0.0.1:PORT/litellm
//! pg.psql("SELECT count(*) FROM \"LiteLLM_ProxyModelTable\"");
//! ```
//!
//! The database `litellm` has LiteLLM's schema: `litellm_proxy_extras`' SQL
//! migrations applied in order and recorded in `_prisma_migrations`, as
//! `prisma migrate deploy` would (LiteLLM then starts with
//! `DISABLE_SCHEMA_UPDATE=true`). Building that takes a few seconds, so it is
//! done once into a stopped template cluster cached in cargo's target tmp dir
//! (keyed by the migrations and the server version); each fixture copies the
//! template and starts its own postmaster, socket in its own directory.
//! PostgreSQL refuses to run as root: as root, every server command runs as
//! the `postgres` user (`runuser`), which owns the cluster's directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::proxy::free_port;

/// The database LiteLLM gets.
pub const DATABASE: &str = "litellm";

/// A running cluster; stopped (SIGQUIT, then SIGKILL) by its PID on drop.
pub struct Postgres {
    /// Owned by the server's user: `data/`, the socket, `server.log`.
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    pid: u32,
}

impl Postgres {
    /// A new cluster with a migrated `litellm` database, accepting
    /// connections. `None` (a loud skip) when PostgreSQL is not installed,
    /// outside CI.
    pub fn start() -> Option<Postgres> {
        let bin = server_bin()?;
        crate::peer("psql")?;
        let template = template(&bin);
        let dir = owned_tempdir("litekeys-pg.");
        let data = dir.path().join("data");
        // cp -a keeps the template's owner (postgres, when we are root).
        run(Command::new("cp").arg("-a").arg(template).arg(&data));
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            match start_server(&bin, &data, dir.path(), Some(port)) {
                Ok(pid) => {
                    return Some(Postgres {
                        dir,
                        bin,
                        port,
                        pid,
                    });
                }
                // Another test took the port between free_port and bind.
                Err(log) => last = log,
            }
        }
        panic!("PostgreSQL did not start:\n{last}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's PID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `postgresql://postgres@127.0.0.1:PORT/litellm` (trust auth on the
    /// loopback only: no password to leak).
    pub fn url(&self) -> String {
        self.url_of(DATABASE)
    }

    pub fn url_of(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` in the `litellm` database with psql; its unaligned,
    /// tuples-only output (`|` between columns). Panics on an SQL error.
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.url(), sql)
    }

    /// A copy of the migrated database, e.g. to give a second LiteLLM its own.
    pub fn create_database(&self, name: &str) -> String {
        psql(
            &self.url_of("postgres"),
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{DATABASE}\""),
        );
        self.url_of(name)
    }

    /// The server's log (for a failing test).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.path().join("server.log"), lines)
    }

    /// `pg_ctl`, for tests that stop or restart the server themselves.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- PostgreSQL log, last lines:\n{}", self.log_tail(20));
        }
        stop_pid(self.pid);
    }
}

/// Debian's server binaries, the newest version installed; else `pg_ctl` on
/// PATH (another layout); else a loud skip (a panic under CI).
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    crate::peer("pg_ctl").map(|p| p.parent().expect("bin dir").to_path_buf())
}

fn am_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(am_root)
}

/// A server program, as the `postgres` user when we are root.
fn server_cmd(bin: &Path, program: &str) -> Command {
    let path = bin.join(program);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

/// A temp dir the server's user can work in: ours, or given to `postgres`.
fn owned_tempdir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir");
    if is_root() {
        run(Command::new("chown").arg("postgres:").arg(dir.path()));
    }
    dir
}

/// Starts a postmaster on `data` (socket and log in `dir`; TCP on
/// 127.0.0.1:port, or none for the template build), waits until it accepts
/// connections (bounded by pg_ctl's -t): its PID, or the log on failure.
fn start_server(bin: &Path, data: &Path, dir: &Path, port: Option<u16>) -> Result<u32, String> {
    let log = dir.join("server.log");
    let listen = match port {
        Some(p) => format!("-c listen_addresses=127.0.0.1 -p {p}"),
        None => "-c listen_addresses=''".to_string(),
    };
    // Durability is not what these clusters are for.
    let opts = format!(
        "{listen} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        dir.display()
    );
    let out = server_cmd(bin, "pg_ctl")
        .arg("-D")
        .arg(data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "60", "-o", &opts, "start"])
        .stdin(Stdio::null())
        .output()
        .expect("pg_ctl runs");
    if !out.status.success() {
        return Err(format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&log, 20)
        ));
    }
    let pid = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse().ok())
        .ok_or_else(|| "no postmaster.pid".to_string())?;
    Ok(pid)
}

/// SIGQUIT (immediate shutdown) to the postmaster, SIGKILL after 10 s;
/// returns once it is gone (bounded).
fn stop_pid(pid: u32) {
    let signal = |sig: &str| {
        let _ = Command::new("kill")
            .args([sig, &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    };
    signal("-QUIT");
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > Duration::from_secs(10) {
            signal("-KILL");
        }
        if start.elapsed() > Duration::from_secs(20) {
            eprintln!("postgres (pid {pid}) does not stop");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Running and not a zombie (whoever reaps it may be slow).
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| Some(s.rsplit_once(") ")?.1.chars().next()? != 'Z'))
        .unwrap_or(false)
}

/// The stopped, migrated template cluster for this server version and these
/// migrations: built once (by whichever test process gets there first; a
/// build in a sibling directory, renamed into place).
fn template(bin: &Path) -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| build_template(bin)).clone()
}

fn migrations_dir() -> PathBuf {
    let site = crate::root().join(".tools/venv/lib");
    std::fs::read_dir(&site)
        .expect(".tools/venv/lib")
        .flatten()
        .map(|e| {
            e.path()
                .join("site-packages/litellm_proxy_extras/migrations")
        })
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!("litellm_proxy_extras' migrations are missing: run scripts/install-peers")
        })
}

/// The migrations in the order Prisma applies them (directory names sort by
/// timestamp): (name, SQL).
fn migrations() -> Vec<(String, String)> {
    let dir = migrations_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .flatten()
        .filter(|e| e.path().join("migration.sql").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let sql = std::fs::read_to_string(dir.join(&n).join("migration.sql")).expect("read");
            (n, sql)
        })
        .collect()
}

/// cargo's `target/tmp` (next to the profile dir the test binary runs
/// from); the temp dir when that is not ours to write.
fn cache_root() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<exe>")
        .join("tmp");
    let probe = target.join(format!(".litekeys-probe-{}", std::process::id()));
    if std::fs::create_dir_all(&target).is_ok() && std::fs::write(&probe, "").is_ok() {
        let _ = std::fs::remove_file(&probe);
        return target;
    }
    std::env::temp_dir()
}

fn build_template(bin: &Path) -> PathBuf {
    let migrations = migrations();
    let version = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut key = version.into_bytes();
    for (name, sql) in &migrations {
        key.extend_from_slice(name.as_bytes());
        key.extend_from_slice(sql.as_bytes());
    }
    let cache = cache_root().join(format!(
        "pg-template-{}{}",
        vault::fingerprint(&key),
        if is_root() { "-postgres" } else { "" }
    ));
    let ready = cache.join("data/PG_VERSION");
    if ready.is_file() && cache.join("ok").is_file() {
        return cache.join("data");
    }
    let work = owned_tempdir("litekeys-pg-template.");
    let data = work.path().join("data");
    run(server_cmd(bin, "initdb")
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--wal-segsize=1",
        ])
        .stdout(Stdio::null()));
    let pid = start_server(bin, &data, work.path(), None)
        .unwrap_or_else(|log| panic!("template PostgreSQL did not start:\n{log}"));
    let socket = |db: &str| format!("postgresql://postgres@/{db}?host={}", work.path().display());
    psql(
        &socket("postgres"),
        &format!("CREATE DATABASE \"{DATABASE}\""),
    );
    psql(&socket(DATABASE), &migration_script(&migrations));
    stop_pid(pid);
    // Rename into place; a concurrent build that won keeps its copy.
    let staging = cache_root().join(format!(
        "pg-template.{}.{}",
        std::process::id(),
        vault::fingerprint(work.path().as_os_str().as_encoded_bytes())
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("staging dir");
    run(Command::new("cp")
        .arg("-a")
        .arg(&data)
        .arg(staging.join("data")));
    std::fs::write(staging.join("ok"), "").expect("ok marker");
    if std::fs::rename(&staging, &cache).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(
        ready.is_file(),
        "no template cluster at {}",
        cache.display()
    );
    cache.join("data")
}

/// Every migration in one psql session, and `_prisma_migrations` as
/// `prisma migrate deploy` leaves it (checksum: SHA-256 of the file).
fn migration_script(migrations: &[(String, String)]) -> String {
    let mut sql = String::from(
        "CREATE TABLE \"_prisma_migrations\" (\
         \"id\" VARCHAR(36) PRIMARY KEY NOT NULL, \"checksum\" VARCHAR(64) NOT NULL, \
         \"finished_at\" TIMESTAMPTZ, \"migration_name\" VARCHAR(255) NOT NULL, \"logs\" TEXT, \
         \"rolled_back_at\" TIMESTAMPTZ, \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), \
         \"applied_steps_count\" INTEGER NOT NULL DEFAULT 0);\n",
    );
    for (name, body) in migrations {
        sql.push_str(body);
        sql.push_str("\n;\n");
        sql.push_str(&format!(
            "INSERT INTO \"_prisma_migrations\" (id, checksum, finished_at, migration_name, applied_steps_count) \
             VALUES (gen_random_uuid()::text, '{}', now(), '{name}', 1);\n",
            sha256_hex(body.as_bytes())
        ));
    }
    sql
}

fn sha256_hex(bytes: &[u8]) -> String {
    // vault's fingerprint is the first 8 hex digits; Prisma keeps all 64.
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().expect("piped").write_all(bytes)?;
            child.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// psql on `url` with `sql` on stdin: stops at the first error (panics with
/// it), quiet, unaligned and tuples only.
fn psql(url: &str, sql: &str) -> String {
    use std::io::Write as _;
    let psql = crate::peer("psql").expect("psql");
    let mut child = Command::new(psql)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs");
    let mut stdin = child.stdin.take().expect("piped");
    let input = sql.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("psql");
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "psql: {}\n{stderr}", out.status);
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

fn run(cmd: &mut Command) {
    let out = cmd.stdin(Stdio::null()).output().expect("runs");
    assert!(
        out.status.success(),
        "{:?}: {}\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
