//! The demo's stand-in gateway, used when `litellm` is not on PATH: this
//! binary in a hidden mode (`litekeys-rotate demo-stand-in`). It answers the
//! requests the rotation's verification makes with LiteLLM's key rules
//! (DESIGN.md): `/health/liveliness` 200 with no key; `/v1/models` 401 with
//! no key, 400 with a wrong one (LiteLLM without a database), 200 with the
//! master key read from the demo's litellm.env when it starts. So a new key
//! needs a restart, exactly as with LiteLLM, and the restart is a real one:
//! `[service] command` runs `demo-stand-in restart`, which stops the running
//! process (by its PID) and starts a new one.
//!
//! It binds one loopback port chosen by the demo, never anything else, and
//! exits by itself once the demo's sandbox is gone.

use rotate::config::{MASTER_KEY, SinkKind, SinkSpec};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vault::Secret;

/// How the demo names it, everywhere.
pub(crate) const LABEL: &str = "stand-in gateway (litellm not on PATH)";

/// The marker the demo writes to make the next restart fail on purpose.
pub(crate) const FAIL_NEXT: &str = "fail-next-restart";
const PID_FILE: &str = "stand-in.pid";
const LOG_FILE: &str = "stand-in.log";
/// Bound on a start (the port answering) and on a stop (the port closed).
const BOUND: Duration = Duration::from_secs(10);
/// A stand-in left behind by a killed demo goes away on its own.
const LIFETIME: Duration = Duration::from_secs(3600);

/// What the hidden mode does.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Run the gateway in the foreground (what `start` launches).
    Serve,
    Start,
    Stop,
    /// Stop, then start: the demo's `[service] command`.
    Restart,
}

/// Where one stand-in lives: its directory (PID file, log, the failure
/// marker), its port, the litellm.env it reads the key from.
#[derive(Clone, Debug)]
pub(crate) struct StandIn {
    pub(crate) dir: PathBuf,
    pub(crate) port: u16,
    pub(crate) env_file: PathBuf,
    /// The demo's PID: once it is gone (Ctrl-C), so is the stand-in.
    pub(crate) owner: u32,
}

/// Why the stand-in could not do what it was asked; one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StandInError {
    #[error("{LABEL}: {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{LABEL}: no {MASTER_KEY} in {} (LiteLLM refuses to start without one)", .0.display())]
    NoKey(PathBuf),
    #[error("{LABEL}: not answering on 127.0.0.1:{port} after {} s (see {})", BOUND.as_secs(), log.display())]
    NotUp { port: u16, log: PathBuf },
    #[error(
        "{LABEL}: restart failed on purpose (the demo deliberately fails this one): stopped, not started again"
    )]
    Deliberate,
}

impl StandIn {
    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn io(&self, name: &str) -> impl FnOnce(std::io::Error) -> StandInError {
        let path = self.dir.join(name);
        move |source| StandInError::Io { path, source }
    }

    /// The argv of the hidden mode doing `action` for this stand-in.
    pub(crate) fn argv(&self, exe: &Path, action: &str) -> Vec<String> {
        vec![
            exe.display().to_string(),
            "demo-stand-in".into(),
            action.into(),
            "--dir".into(),
            self.dir.display().to_string(),
            "--port".into(),
            self.port.to_string(),
            "--env-file".into(),
            self.env_file.display().to_string(),
            "--owner".into(),
            self.owner.to_string(),
        ]
    }

    pub(crate) fn run(&self, action: Action) -> Result<(), StandInError> {
        match action {
            Action::Serve => self.serve(),
            Action::Start => self.start(),
            Action::Stop => {
                self.stop();
                Ok(())
            }
            Action::Restart => {
                let marker = self.dir.join(FAIL_NEXT);
                if marker.exists() {
                    let _ = std::fs::remove_file(&marker);
                    self.stop();
                    return Err(StandInError::Deliberate);
                }
                self.stop();
                self.start()
            }
        }
    }

    /// Launches `serve` in its own process group (a restart command's
    /// timeout kills its group, not the gateway it started), records the
    /// PID, and waits until the port answers.
    pub(crate) fn start(&self) -> Result<(), StandInError> {
        let exe = std::env::current_exe().map_err(self.io("litekeys-rotate"))?;
        let log = self.dir.join(LOG_FILE);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(self.io(LOG_FILE))?;
        let err = out.try_clone().map_err(self.io(LOG_FILE))?;
        let argv = self.argv(&exe, "serve");
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(self.io("litekeys-rotate"))?;
        std::fs::write(self.dir.join(PID_FILE), child.id().to_string())
            .map_err(self.io(PID_FILE))?;
        let begun = Instant::now();
        while begun.elapsed() < BOUND {
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(StandInError::NotUp {
            port: self.port,
            log,
        })
    }

    /// Stops the recorded PID, if any: TERM, then KILL once the port is
    /// still open after the bound. The port closing is what a new start
    /// needs (a dead process may stay a zombie until its parent reaps it).
    pub(crate) fn stop(&self) {
        let pid_file = self.dir.join(PID_FILE);
        let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            return;
        };
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let begun = Instant::now();
        while TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
            if begun.elapsed() > BOUND {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_file(pid_file);
    }

    /// The gateway itself, in the foreground.
    fn serve(&self) -> Result<(), StandInError> {
        let spec = SinkSpec {
            kind: SinkKind::Dotenv,
            path: self.env_file.clone(),
            keys: vec![MASTER_KEY.into()],
            pointer: None,
            origin: "demo".into(),
        };
        let bytes = std::fs::read(&self.env_file).map_err(|source| StandInError::Io {
            path: self.env_file.clone(),
            source,
        })?;
        let key = rotate::read_sink_values(&spec, &bytes)
            .into_iter()
            .find(|(name, value)| name == MASTER_KEY && !value.expose().is_empty())
            .map(|(_, value)| value)
            .ok_or_else(|| StandInError::NoKey(self.env_file.clone()))?;
        let listener = TcpListener::bind(self.addr()).map_err(self.io("127.0.0.1"))?;
        let dir = self.dir.clone();
        let owner = i32::try_from(self.owner)
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        let begun = Instant::now();
        std::thread::spawn(move || {
            // The demo removes its sandbox when it ends (so may a user); a
            // demo killed before it could stop us is gone too.
            let owner_alive =
                || owner.is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok());
            while dir.is_dir() && owner_alive() && begun.elapsed() < LIFETIME {
                std::thread::sleep(Duration::from_millis(500));
            }
            std::process::exit(0);
        });
        eprintln!("{LABEL}: listening on 127.0.0.1:{}", self.port);
        for stream in listener.incoming().flatten() {
            if let Err(e) = answer(stream, &key) {
                eprintln!("{LABEL}: {e}");
            }
        }
        Ok(())
    }
}

/// One request, one reply, connection closed.
fn answer(stream: TcpStream, key: &Secret) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    (&mut reader).take(8192).read_line(&mut request_line)?;
    let mut bearer = None;
    for _ in 0..100 {
        let mut line = String::new();
        if (&mut reader).take(8192).read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        // No let-chains: rust-version is 1.85.
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                let value = value.trim();
                bearer = Some(value.strip_prefix("Bearer ").unwrap_or(value).to_string());
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("").split('?').next().unwrap_or("");
    let (status, body) = route(method, path, bearer.as_deref(), key);
    // What came and what went, never a key.
    eprintln!("{LABEL}: {method} {path} -> {status}");
    reply(&stream, status, &body)
}

/// LiteLLM's answers (their shape, not every word).
fn route(method: &str, path: &str, bearer: Option<&str>, key: &Secret) -> (u16, String) {
    match (method, path) {
        ("GET", "/health/liveliness") => (200, "\"I'm alive!\"".into()),
        ("GET", "/v1/models" | "/models") => match bearer {
            None | Some("") => (
                401,
                auth_error("No api key passed in.", "auth_error", 401),
            ),
            Some(given) if given.as_bytes() == key.expose() => (
                200,
                "{\"data\":[{\"id\":\"gpt-5.5\",\"object\":\"model\",\"created\":1677610602,\"owned_by\":\"openai\"}],\"object\":\"list\"}".into(),
            ),
            // LiteLLM without a database: a key that is not the master key
            // cannot be looked up.
            Some(_) => (
                400,
                auth_error("No connected db.", "no_db_connection", 400),
            ),
        },
        _ => (404, "{\"detail\":\"Not Found\"}".into()),
    }
}

fn auth_error(message: &str, kind: &str, code: u16) -> String {
    format!(
        "{{\"error\":{{\"message\":\"Authentication Error, {message}\",\"type\":\"{kind}\",\"param\":\"None\",\"code\":\"{code}\"}}}}"
    )
}

fn reply(mut stream: &TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_like_litellm_without_a_database() {
        let key = Secret::from("sk-right".to_string());
        let models = |bearer| route("GET", "/v1/models", bearer, &key).0;
        assert_eq!(models(None), 401);
        assert_eq!(models(Some("")), 401);
        assert_eq!(models(Some("sk-wrong")), 400);
        assert_eq!(models(Some("sk-right")), 200);
        assert_eq!(route("GET", "/health/liveliness", None, &key).0, 200);
        assert_eq!(route("GET", "/v1/chat/completions", None, &key).0, 404);
    }
}
