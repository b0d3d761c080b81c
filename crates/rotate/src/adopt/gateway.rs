//! The gateway as it runs now: its master (and salt) key from LiteLLM's
//! config.yaml — literal, or `os.environ/NAME` followed to the files the
//! gateway reads its environment from (a `litellm.env` or compose `.env`
//! next to the config, the seeds' `lab-secrets/litellm.env`, a systemd
//! user unit and its drop-ins, `environment.d`) — how it is started (a
//! systemd user unit, a compose service, a process started by hand) and
//! its port. Two different values for one key are refused.

use super::error::{AdoptError, Conflict};
use super::{At, Roots};
use crate::config::{MASTER_KEY, SALT_KEY};
use crate::sinks::{dotenv, systemd_env};
use serde_yaml_ng::Value as Yaml;
use std::path::{Path, PathBuf};
use vault::Secret;

/// LiteLLM's config under the user's config directory (the guide's place).
pub(super) const HOME_CONFIG: &str = "litellm/config.yaml";
/// LiteLLM's config of a compose deployment, under the system root.
pub(super) const SYSTEM_CONFIG: &str = "srv/docker/litellm/config.yaml";
const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
/// How LiteLLM's config names an environment variable.
const ENV_PREFIX: &str = "os.environ/";

/// A key's value and the first place it was found.
pub(super) struct Found {
    pub(super) name: &'static str,
    pub(super) value: Secret,
    pub(super) at: At,
}

/// How the gateway is started.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Service {
    SystemdUser {
        unit: String,
        file: PathBuf,
    },
    Compose {
        dir: PathBuf,
        service: String,
    },
    /// A `litellm --config …` process started by hand (the guide's way).
    ByHand {
        pid: u32,
    },
    None,
}

pub(super) struct Gateway {
    /// LiteLLM's config.yaml, when one was found.
    pub(super) config: Option<PathBuf>,
    /// The names config.yaml holds literally: the litellm-config sink's.
    pub(super) literal: Vec<&'static str>,
    /// The values, master key first.
    pub(super) values: Vec<Found>,
    /// The files the gateway reads its environment from.
    pub(super) env_files: Vec<PathBuf>,
    pub(super) service: Service,
    pub(super) port: Option<u16>,
}

/// What general_settings says of one key.
enum Setting {
    Literal(String),
    Reference(String),
    Absent,
}

fn read(path: &Path) -> Result<String, AdoptError> {
    std::fs::read_to_string(path).map_err(|source| AdoptError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// The 1-based line where `needle` first occurs in `text` (else 1).
pub(super) fn line_of(text: &str, needle: &[u8]) -> usize {
    memchr::memmem::find(text.as_bytes(), needle).map_or(1, |i| {
        text.as_bytes()[..i].iter().filter(|b| **b == b'\n').count() + 1
    })
}

fn parse_yaml(path: &Path, text: &str) -> Result<Yaml, AdoptError> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        // The message before its position: YAML syntax, never a value.
        let msg = e.to_string();
        let what = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        AdoptError::Unparsable {
            at: At::new(path, e.location().map_or(1, |l| l.line())),
            what,
        }
    })
}

fn setting(config: &Yaml, field: &str) -> Setting {
    match config.get("general_settings").and_then(|g| g.get(field)) {
        Some(Yaml::String(s)) => match s.trim().strip_prefix(ENV_PREFIX) {
            Some(name) => Setting::Reference(name.trim().to_string()),
            None if s.trim().is_empty() => Setting::Absent,
            None => Setting::Literal(s.clone()),
        },
        _ => Setting::Absent,
    }
}

/// LiteLLM's config: the one given, else the first that exists.
fn config_path(roots: &Roots, looked: &mut Vec<PathBuf>) -> Option<PathBuf> {
    if let Some(given) = &roots.litellm_config {
        looked.push(given.clone());
        return Some(given.clone());
    }
    let candidates = [
        roots.config_home.join(HOME_CONFIG),
        roots.system_root.join(SYSTEM_CONFIG),
    ];
    looked.extend(candidates.iter().cloned());
    candidates.into_iter().find(|p| p.is_file())
}

/// `%h` and `%E` of a user unit's paths (systemd.unit(5)).
fn unit_path(raw: &str, roots: &Roots) -> Option<PathBuf> {
    let raw = raw.trim().trim_start_matches('-').trim_matches('"');
    let expanded = raw
        .replace("%h", &roots.home.display().to_string())
        .replace("%E", &roots.config_home.display().to_string());
    let path = PathBuf::from(expanded);
    path.is_absolute().then_some(path)
}

/// `--port N` or `--port=N` among the words of a command line.
fn port_in<'a>(words: impl IntoIterator<Item = &'a str>) -> Option<u16> {
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        if let Some(p) = w.strip_prefix("--port=") {
            return p.parse().ok();
        }
        if w == "--port" {
            return words.next()?.parse().ok();
        }
    }
    None
}

/// The user's LiteLLM unit: `litellm.service`, else a unit whose
/// `ExecStart=` runs litellm.
fn systemd_unit(roots: &Roots) -> Option<(String, PathBuf)> {
    let dir = roots.config_home.join("systemd/user");
    let named = dir.join("litellm.service");
    if named.is_file() {
        return Some(("litellm.service".into(), named));
    }
    let mut units: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "service") && p.is_file())
        .collect();
    units.sort();
    units.into_iter().find_map(|p| {
        let text = std::fs::read_to_string(&p).ok()?;
        let runs = text
            .lines()
            .any(|l| l.trim_start().starts_with("ExecStart=") && l.contains("litellm"));
        let name = p.file_name()?.to_string_lossy().into_owned();
        runs.then_some((name, p))
    })
}

/// The unit file and its drop-ins, in the order systemd reads them.
fn unit_files(unit: &Path) -> Vec<PathBuf> {
    let mut files = vec![unit.to_path_buf()];
    let dropins = PathBuf::from(format!("{}.d", unit.display()));
    if let Ok(entries) = std::fs::read_dir(&dropins) {
        let mut confs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
            .collect();
        confs.sort();
        files.extend(confs);
    }
    files
}

/// A compose project's LiteLLM service.
struct ComposeService {
    name: String,
    /// The host port it publishes.
    port: Option<u16>,
    env_files: Vec<PathBuf>,
}

/// The compose project next to the config with a LiteLLM service.
fn compose(dir: &Path) -> Result<Option<ComposeService>, AdoptError> {
    let Some(file) = COMPOSE_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return Ok(None);
    };
    let doc = parse_yaml(&file, &read(&file)?)?;
    let Some(services) = doc.get("services").and_then(Yaml::as_mapping) else {
        return Ok(None);
    };
    let found = services.iter().find(|(name, body)| {
        name.as_str() == Some("litellm")
            || body
                .get("image")
                .and_then(Yaml::as_str)
                .is_some_and(|i| i.contains("litellm"))
    });
    let Some((name, body)) = found else {
        return Ok(None);
    };
    let port = body
        .get("ports")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .find_map(|p| match p {
            // "HOST:CONTAINER", "IP:HOST:CONTAINER", optionally "/tcp".
            Yaml::String(s) => {
                let parts: Vec<&str> = s.split('/').next().unwrap_or(s).split(':').collect();
                (parts.len() >= 2)
                    .then(|| parts[parts.len() - 2].parse().ok())
                    .flatten()
            }
            Yaml::Mapping(m) => m
                .get("published")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .and_then(|v| u16::try_from(v).ok()),
            _ => None,
        });
    let env_files = match body.get("env_file") {
        Some(Yaml::String(s)) => vec![dir.join(s)],
        Some(Yaml::Sequence(list)) => list
            .iter()
            .filter_map(|e| e.as_str().or_else(|| e.get("path")?.as_str()))
            .map(|s| dir.join(s))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Some(ComposeService {
        name: name.as_str().unwrap_or("litellm").to_string(),
        port,
        env_files,
    }))
}

/// A running `litellm --config CONFIG` (the guide starts it by hand):
/// its pid and `--port`.
fn process(config: &Path) -> Option<(u32, Option<u16>)> {
    let want = std::fs::canonicalize(config).ok()?;
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter().find_map(|pid| {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let words: Vec<&str> = raw
            .split(|b| *b == 0)
            .filter_map(|w| std::str::from_utf8(w).ok())
            .collect();
        let runs_litellm = words
            .iter()
            .take(3)
            .any(|w| Path::new(w).file_name().is_some_and(|n| n == "litellm"));
        if !runs_litellm {
            return None;
        }
        let cfg = words.iter().enumerate().find_map(|(i, w)| {
            w.strip_prefix("--config=")
                .or_else(|| (*w == "--config" || *w == "-c").then(|| words.get(i + 1).copied())?)
        })?;
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        let cfg = std::fs::canonicalize(cwd.join(cfg)).ok()?;
        (cfg == want).then(|| (pid, port_in(words.iter().copied())))
    })
}

/// `ExecStart=` words of the unit and its drop-ins, for the port.
fn unit_port(files: &[PathBuf]) -> Option<u16> {
    files.iter().rev().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        text.lines().rev().find_map(|l| {
            let cmd = l.trim_start().strip_prefix("ExecStart=")?;
            port_in(cmd.split_whitespace())
        })
    })
}

/// `EnvironmentFile=` paths of a unit file's text.
fn environment_files(text: &str, roots: &Roots) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("EnvironmentFile="))
        .flat_map(str::split_whitespace)
        .filter_map(|w| unit_path(w, roots))
        .collect()
}

/// Every (file, NAME, value) the gateway may read its environment from.
struct EnvSource {
    path: PathBuf,
    text: String,
    values: Vec<(String, Secret)>,
}

fn env_source(path: &Path, unit: bool) -> Option<EnvSource> {
    let text = std::fs::read_to_string(path).ok()?;
    let values = if unit {
        systemd_env::read_values(systemd_env::Layout::DropIn, text.as_bytes())
    } else if let Ok(layout) = crate::config::Layout::of(path) {
        systemd_env::read_values(layout, text.as_bytes())
    } else {
        dotenv::read_values(text.as_bytes())
    };
    Some(EnvSource {
        path: path.to_path_buf(),
        text,
        values,
    })
}

pub(super) fn find(roots: &Roots) -> Result<Gateway, AdoptError> {
    let mut looked = Vec::new();
    let config = config_path(roots, &mut looked);
    let (settings, config_text) = match &config {
        Some(path) => {
            let text = read(path)?;
            let doc = parse_yaml(path, &text)?;
            (
                [
                    (MASTER_KEY, setting(&doc, "master_key")),
                    (SALT_KEY, setting(&doc, "salt_key")),
                ],
                text,
            )
        }
        None => (
            [(MASTER_KEY, Setting::Absent), (SALT_KEY, Setting::Absent)],
            String::new(),
        ),
    };
    let config_dir = config.as_deref().and_then(Path::parent);

    // How it runs: a unit first (its files feed the environment), then a
    // compose project next to the config, then a process started by hand.
    let mut env_paths: Vec<(PathBuf, bool)> = Vec::new();
    let mut port = None;
    let unit = systemd_unit(roots);
    let compose = match config_dir {
        Some(dir) => compose(dir)?,
        None => None,
    };
    let service = if let Some((name, file)) = unit {
        let files = unit_files(&file);
        port = unit_port(&files);
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            env_paths.extend(
                environment_files(&text, roots)
                    .into_iter()
                    .map(|p| (p, false)),
            );
            env_paths.push((f.clone(), true));
        }
        Service::SystemdUser { unit: name, file }
    } else if let (Some(found), Some(dir)) = (compose, config_dir) {
        port = found.port;
        env_paths.extend(found.env_files.into_iter().map(|p| (p, false)));
        Service::Compose {
            dir: dir.to_path_buf(),
            service: found.name,
        }
    } else if let Some((pid, p)) = config.as_deref().and_then(process) {
        port = p;
        Service::ByHand { pid }
    } else {
        Service::None
    };
    if let Some(dir) = config_dir {
        env_paths.push((dir.join("litellm.env"), false));
        env_paths.push((dir.join(".env"), false));
    }
    env_paths.push((roots.config_home.join("lab-secrets/litellm.env"), false));
    if let Ok(entries) = std::fs::read_dir(roots.config_home.join("environment.d")) {
        let mut confs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        confs.sort();
        env_paths.extend(confs.into_iter().map(|p| (p, false)));
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut sources = Vec::new();
    for (path, unit) in env_paths {
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&real) || !path.is_file() {
            continue;
        }
        seen.push(real);
        looked.push(path.clone());
        sources.extend(env_source(&path, unit));
    }

    let mut literal = Vec::new();
    let mut values = Vec::new();
    for (name, setting) in settings {
        let mut found: Vec<Found> = Vec::new();
        let env_name = match &setting {
            Setting::Literal(v) => {
                literal.push(name);
                let path = config.clone().unwrap_or_default();
                found.push(Found {
                    name,
                    value: Secret::from(v.clone()),
                    at: At::new(&path, line_of(&config_text, v.as_bytes())),
                });
                name.to_string()
            }
            Setting::Reference(env) => env.clone(),
            Setting::Absent => name.to_string(),
        };
        for source in &sources {
            for (k, v) in &source.values {
                if *k == env_name && !v.is_empty() {
                    found.push(Found {
                        name,
                        value: v.clone(),
                        at: At::new(&source.path, line_of(&source.text, v.expose())),
                    });
                }
            }
        }
        let mut found = found.into_iter();
        let Some(first) = found.next() else { continue };
        if let Some(other) = found.find(|f| f.value != first.value) {
            return Err(AdoptError::Conflict(Box::new(Conflict {
                name,
                first_fp: first.value.fingerprint(),
                first: first.at,
                second_fp: other.value.fingerprint(),
                second: other.at,
            })));
        }
        crate::keys::check_gateway_key(name, &first.value).map_err(|source| {
            AdoptError::Implausible {
                at: first.at.clone(),
                source,
            }
        })?;
        values.push(first);
    }
    if values.first().is_none_or(|f| f.name != MASTER_KEY) {
        return Err(AdoptError::NoKey {
            looked: looked
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(Gateway {
        config,
        literal,
        values,
        env_files: sources.into_iter().map(|s| s.path).collect(),
        service,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_command_lines() {
        assert_eq!(
            port_in("litellm --config c.yaml --port 4001".split(' ')),
            Some(4001)
        );
        assert_eq!(port_in(["litellm", "--port=4002"]), Some(4002));
        assert_eq!(port_in(["litellm", "--config", "x"]), None);
    }

    #[test]
    fn compose_ports_and_env_files_in_both_syntaxes() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |text: &str| std::fs::write(dir.path().join("docker-compose.yml"), text).unwrap();
        write(
            "services:\n  db: {image: postgres}\n  proxy:\n    image: ghcr.io/berriai/litellm:main-stable\n    ports: [\"4000:4000/tcp\"]\n    env_file: [.env, {path: extra.env}]\n",
        );
        let found = compose(dir.path()).unwrap().unwrap();
        assert_eq!((found.name.as_str(), found.port), ("proxy", Some(4000)));
        assert_eq!(
            found.env_files,
            [dir.path().join(".env"), dir.path().join("extra.env")]
        );
        write("services:\n  litellm:\n    ports:\n      - target: 4000\n        published: 4123\n");
        assert_eq!(compose(dir.path()).unwrap().unwrap().port, Some(4123));
        // A container port alone publishes a random host port: unknown.
        write("services:\n  litellm:\n    ports: [4000]\n");
        assert_eq!(compose(dir.path()).unwrap().unwrap().port, None);
        write("services:\n  web: {image: nginx}\n");
        assert!(compose(dir.path()).unwrap().is_none());
    }

    #[test]
    fn unit_paths_expand_h_and_drop_the_optional_dash() {
        let roots = Roots {
            home: "/h".into(),
            config_home: "/h/.config".into(),
            system_root: "/".into(),
            cwd: "/".into(),
            litellm_config: None,
        };
        let text = "[Service]\nEnvironmentFile=-%h/.config/lab-secrets/litellm.env %E/x.env\nEnvironmentFile=relative.env\n";
        assert_eq!(
            environment_files(text, &roots),
            [
                PathBuf::from("/h/.config/lab-secrets/litellm.env"),
                PathBuf::from("/h/.config/x.env")
            ]
        );
    }

    #[test]
    fn a_reference_is_not_a_literal() {
        let doc: Yaml = serde_yaml_ng::from_str(
            "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  salt_key: sk-abc\n",
        )
        .unwrap();
        assert!(
            matches!(setting(&doc, "master_key"), Setting::Reference(n) if n == "LITELLM_MASTER_KEY")
        );
        assert!(matches!(setting(&doc, "salt_key"), Setting::Literal(_)));
        assert!(matches!(setting(&doc, "database_url"), Setting::Absent));
    }

    #[test]
    fn a_yaml_error_names_the_line_and_no_value() {
        let e = parse_yaml(
            Path::new("/c.yaml"),
            "general_settings:\n  master_key: sk-secretsecretsecret\n bad: [\n",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/c.yaml:"), "{msg}");
        assert!(!msg.contains("sk-secret") && !msg.contains('\n'), "{msg}");
    }
}
