//! The part of `litekeys.toml` the watcher needs: the source, the gateway,
//! the service manager and the sinks' kinds and paths. Other keys are
//! ignored here; `litekeys-rotate` owns the full schema and its checks.
//!
//! Stop-gap: kept in this one module so that it can be replaced by the
//! rotate crate's config type once that exists.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ENV_CONFIG: &str = "LITEKEYS_CONFIG";
/// The key the gateway checks; verification uses the source's value of it.
pub const MASTER_KEY: &str = "LITELLM_MASTER_KEY";
pub const SALT_KEY: &str = "LITELLM_SALT_KEY";
const DEFAULT_GATEWAY: &str = "http://127.0.0.1:4000";
const DEFAULT_UNIT: &str = "litellm.service";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}; pass --config FILE or set {ENV_CONFIG}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    NoSource(String),
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The file read, or `None` when the seeds' defaults are used.
    pub file: Option<PathBuf>,
    pub source: PathBuf,
    pub gateway: Gateway,
    pub service: Service,
    /// Bound on one restart command (`[service] timeout`, seconds).
    pub service_timeout: Duration,
    pub sinks: Vec<Sink>,
    /// Not in the file: `litekeys-rotate` rejects unknown tables, so the
    /// debounce comes from command-line flags.
    pub debounce: Debounce,
}

#[derive(Clone, Debug)]
pub struct Gateway {
    pub url: String,
    /// Bound on the restarted gateway answering (`timeout`, seconds).
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    SystemdUser { unit: String },
    SystemdSystem { unit: String },
    Compose { dir: PathBuf, service: String },
    Command { argv: Vec<String> },
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    Dotenv,
    SystemdEnv,
    Droid,
}

#[derive(Clone, Debug)]
pub struct Sink {
    pub kind: SinkKind,
    pub path: PathBuf,
    /// The source keys this sink holds.
    pub keys: Vec<String>,
}

impl Sink {
    /// Sinks the service reads at start: a change there needs a restart.
    pub fn feeds_service(&self) -> bool {
        matches!(self.kind, SinkKind::Dotenv | SinkKind::SystemdEnv)
    }

    /// A unit drop-in (`*.service.d/*.conf`): systemd must reload it first.
    pub fn is_dropin(&self) -> bool {
        self.kind == SinkKind::SystemdEnv
            && self
                .path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d.to_string_lossy().ends_with(".d"))
            && !self
                .path
                .components()
                .any(|c| c.as_os_str() == "environment.d")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debounce {
    /// Act once nothing changed for this long…
    pub quiet: Duration,
    /// …or this long after the first change, whichever comes first.
    pub max: Duration,
}

impl Default for Debounce {
    fn default() -> Self {
        Debounce {
            quiet: Duration::from_millis(500),
            max: Duration::from_secs(5),
        }
    }
}

#[derive(Deserialize, Default)]
struct Raw {
    source: Option<String>,
    gateway: Option<RawGateway>,
    service: Option<RawService>,
    #[serde(default)]
    sink: Vec<RawSink>,
}

#[derive(Deserialize)]
struct RawGateway {
    url: Option<String>,
    timeout: Option<f64>,
}

#[derive(Deserialize)]
struct RawService {
    manager: Option<String>,
    unit: Option<String>,
    command: Option<Vec<String>>,
    dir: Option<String>,
    service: Option<String>,
    timeout: Option<f64>,
}

#[derive(Deserialize)]
struct RawSink {
    kind: String,
    path: String,
    keys: Option<Vec<String>>,
    key: Option<String>,
}

/// Finds the config the way `litekeys-rotate` does: `--config`,
/// `$LITEKEYS_CONFIG`, `litekeys.toml` next to the nearest `secrets/`
/// directory, `$XDG_CONFIG_HOME/litekeys/config.toml`; else the defaults.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(ENV_CONFIG).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(dir) = cwd.ancestors().find(|d| d.join("secrets").is_dir()) {
            let candidate = dir.join("litekeys.toml");
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let candidate = config_home()?.join("litekeys/config.toml");
    candidate.is_file().then_some(candidate)
}

pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    match locate(explicit) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            parse(&path, &text)
        }
        None => defaults(),
    }
}

pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        line: e
            .span()
            .map_or(1, |s| text[..s.start].matches('\n').count() + 1),
        message: e.message().trim().replace('\n', " "),
    })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    let bad = |what: &str, message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        line: line_of(text, what),
        message,
    };
    let source = match &raw.source {
        Some(s) => expand(&base, s),
        None => default_source()?,
    };
    let gateway = Gateway {
        url: raw
            .gateway
            .as_ref()
            .and_then(|g| g.url.clone())
            .unwrap_or_else(|| DEFAULT_GATEWAY.to_string())
            .trim_end_matches('/')
            .to_string(),
        timeout: seconds(raw.gateway.as_ref().and_then(|g| g.timeout), 60),
    };
    let service_timeout = seconds(raw.service.as_ref().and_then(|s| s.timeout), 120);
    let service = match &raw.service {
        None => Service::SystemdUser {
            unit: DEFAULT_UNIT.into(),
        },
        Some(s) => {
            let unit = s.unit.clone().unwrap_or_else(|| DEFAULT_UNIT.into());
            match s.manager.as_deref().unwrap_or("systemd-user") {
                "systemd-user" => Service::SystemdUser { unit },
                "systemd-system" => Service::SystemdSystem { unit },
                "compose" => Service::Compose {
                    dir: expand(&base, s.dir.as_deref().unwrap_or(".")),
                    service: s.service.clone().unwrap_or_else(|| "litellm".into()),
                },
                "command" => match &s.command {
                    Some(argv) if !argv.is_empty() => Service::Command { argv: argv.clone() },
                    _ => {
                        return Err(bad(
                            "manager",
                            "manager = \"command\" needs command = [\"program\", \"arg\", …]"
                                .into(),
                        ));
                    }
                },
                "none" => Service::None,
                other => {
                    return Err(bad(
                        &format!("{other:?}"),
                        format!(
                            "unknown manager {other:?}; use systemd-user, systemd-system, compose, command or none"
                        ),
                    ));
                }
            }
        }
    };
    let mut sinks = Vec::new();
    for s in &raw.sink {
        let kind = match s.kind.as_str() {
            "dotenv" => SinkKind::Dotenv,
            "systemd-env" => SinkKind::SystemdEnv,
            "droid" => SinkKind::Droid,
            other => {
                return Err(bad(
                    &format!("{other:?}"),
                    format!("unknown sink kind {other:?}; use dotenv, droid or systemd-env"),
                ));
            }
        };
        let keys = match (&s.keys, &s.key) {
            (Some(keys), _) => keys.clone(),
            (None, Some(key)) => vec![key.clone()],
            (None, None) => default_keys(kind),
        };
        sinks.push(Sink {
            kind,
            path: expand(&base, &s.path),
            keys,
        });
    }
    Ok(Config {
        file: Some(abs),
        source,
        gateway,
        service,
        service_timeout,
        sinks,
        debounce: Debounce::default(),
    })
}

/// No config file: the seeds' layout.
fn defaults() -> Result<Config, ConfigError> {
    let home = home();
    let sink = |kind, path: PathBuf| Sink {
        kind,
        path,
        keys: default_keys(kind),
    };
    Ok(Config {
        file: None,
        source: default_source()?,
        gateway: Gateway {
            url: DEFAULT_GATEWAY.into(),
            timeout: Duration::from_secs(60),
        },
        service: Service::SystemdUser {
            unit: DEFAULT_UNIT.into(),
        },
        service_timeout: Duration::from_secs(120),
        sinks: vec![
            sink(
                SinkKind::Dotenv,
                home.join(".config/lab-secrets/litellm.env"),
            ),
            sink(SinkKind::Droid, home.join(".factory")),
        ],
        debounce: Debounce::default(),
    })
}

fn default_source() -> Result<PathBuf, ConfigError> {
    let found = vault::locate::source_file(None).map_err(ConfigError::NoSource)?;
    Ok(std::path::absolute(&found).unwrap_or(found))
}

/// Whole or fractional seconds; clamped so a typo cannot make it negative.
fn seconds(value: Option<f64>, default: u64) -> Duration {
    value.map_or(Duration::from_secs(default), |s| {
        Duration::from_secs_f64(s.clamp(0.0, 86_400.0))
    })
}

fn default_keys(kind: SinkKind) -> Vec<String> {
    match kind {
        SinkKind::Droid => vec![MASTER_KEY.into()],
        _ => vec![MASTER_KEY.into(), SALT_KEY.into()],
    }
}

/// `~` is `$HOME`; a relative path is relative to the config's directory.
fn expand(base: &Path, s: &str) -> PathBuf {
    if s == "~" {
        return home();
    }
    if let Some(rest) = s.strip_prefix("~/") {
        return home().join(rest);
    }
    base.join(s)
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// The first line holding `needle` (serde reports no span for semantic errors).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_watcher_needs_and_ignores_the_rest() {
        let text = r#"
source = "secrets/global.enc.env"
[gateway]
url = "http://127.0.0.1:4000/"
aliases = ["http://framework:4000"]
timeout = 30
[service]
manager = "command"
command = ["/bin/restart", "litellm"]
[[sink]]
kind = "dotenv"
path = "/x/litellm.env"
keys = ["LITELLM_MASTER_KEY"]
[[sink]]
kind = "droid"
path = "/h/.factory"
key = "LITELLM_MASTER_KEY"
[[sink]]
kind = "systemd-env"
path = "/h/.config/systemd/user/litellm.service.d/litekeys.conf"
"#;
        let c = parse(Path::new("/p/litekeys.toml"), text).unwrap();
        assert_eq!(c.source, Path::new("/p/secrets/global.enc.env"));
        assert_eq!(c.gateway.url, "http://127.0.0.1:4000");
        assert_eq!(c.gateway.timeout, Duration::from_secs(30));
        assert_eq!(c.service_timeout, Duration::from_secs(120));
        assert_eq!(
            c.service,
            Service::Command {
                argv: vec!["/bin/restart".into(), "litellm".into()]
            }
        );
        assert_eq!(c.sinks.len(), 3);
        assert!(c.sinks[0].feeds_service() && !c.sinks[1].feeds_service());
        assert!(c.sinks[2].is_dropin());
        assert_eq!(c.sinks[2].keys, [MASTER_KEY, SALT_KEY]);
        assert_eq!(c.debounce, Debounce::default());
    }

    #[test]
    fn environment_d_is_not_a_dropin() {
        let s = Sink {
            kind: SinkKind::SystemdEnv,
            path: "/h/.config/environment.d/litellm.conf".into(),
            keys: vec![],
        };
        assert!(!s.is_dropin());
    }

    #[test]
    fn errors_name_the_line() {
        let text = "source = \"s.env\"\n[service]\nmanager = \"launchd\"\n";
        let e = parse(Path::new("c.toml"), text).unwrap_err().to_string();
        assert!(e.starts_with("c.toml:3: unknown manager"), "{e}");
        let e = parse(Path::new("c.toml"), "source = \n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1: "), "{e}");
    }
}
