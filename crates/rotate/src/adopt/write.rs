//! What adopt writes: litekeys.toml (the gateway's URL, LiteLLM's config,
//! the service, one `[[sink]]` per managed place, in the agreed syntax)
//! and the encrypted source with the values found — through `init`'s own
//! writer, so both are created only where nothing is, and trusted (the
//! config by content, the source by path).

use super::Survey;
use super::error::AdoptError;
use super::gateway::{Gateway, Service};
use super::places::{Action, Sink};
use super::table::shown;
use crate::config::{Config, DEFAULT_GATEWAY, DEFAULT_SOURCE, LOCAL_FILE_NAME};
use crate::env::Env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What adopt wrote.
pub struct Written {
    pub config: PathBuf,
    pub source: PathBuf,
    pub recipients: Vec<String>,
    pub keys: Vec<(&'static str, String)>,
}

/// `scheme://host:port` of a base URL.
fn origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    let host = u.host_str()?;
    let port = u.port_or_known_default()?;
    Some(format!("{}://{host}:{port}", u.scheme()))
}

fn loopback(url: &str) -> bool {
    url::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| matches!(h.as_str(), "127.0.0.1" | "localhost" | "[::1]"))
}

/// The gateway's URL: its port, else a loopback Droid route holding the
/// key, else LiteLLM's default.
pub(super) fn url(gateway: &Gateway, routes: &[String]) -> String {
    match gateway.port {
        Some(port) => format!("http://127.0.0.1:{port}"),
        None => routes
            .iter()
            .filter(|r| loopback(r))
            .find_map(|r| origin(r))
            .unwrap_or_else(|| DEFAULT_GATEWAY.to_string()),
    }
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[&str]) -> String {
    let words: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", words.join(", "))
}

/// The managed sinks, one per path (a Droid directory once), in order.
fn sinks(s: &Survey) -> Vec<Sink> {
    let mut out: Vec<Sink> = Vec::new();
    for place in &s.places.rows {
        let Action::Manage(sink) = &place.action else {
            continue;
        };
        match out.iter_mut().find(|o| o.path == sink.path) {
            Some(o) => {
                for k in &sink.keys {
                    if !o.keys.contains(k) {
                        o.keys.push(k);
                    }
                }
            }
            None => out.push(sink.clone()),
        }
    }
    out
}

/// The better layout, as comments: each client on a virtual key of its
/// own, the master key for litekeys and admins only.
fn virtual_key_advice(t: &mut String, clients: &[&Path], home: &Path) {
    t.push_str(
        "\n# The clients above hold the master key. With a database, give each one a\n\
         # LiteLLM virtual key of its own: it rotates with no restart and no failed\n\
         # request, and the master key stays with litekeys and the admins. For each:\n\
         #   [[virtual_key]]\n\
         #   name = \"LITELLM_DROID_KEY\"\n\
         #   alias = \"droid\"\n\
         # set that client's sink to keys = [\"LITELLM_DROID_KEY\"], trust this file,\n\
         # and run `litekeys-rotate --key LITELLM_DROID_KEY` once to create it.\n",
    );
    for c in clients {
        let _ = writeln!(t, "#   a client on the master key: {}", shown(c, home));
    }
}

pub(super) fn config_text(s: &Survey) -> String {
    let home = &s.home;
    let mut t = String::from(
        "# Written by `litekeys-rotate adopt` from what it found on this machine:\n\
         # every sink below held the gateway's key. litekeys.toml is trusted by\n\
         # content: after an edit, run `litekeys-rotate trust litekeys.toml`.\n",
    );
    let _ = writeln!(t, "source = {}", quoted(DEFAULT_SOURCE));
    let _ = writeln!(t, "\n[gateway]\nurl = {}", quoted(&s.url));
    if let Some(c) = &s.gateway.config {
        let _ = writeln!(t, "litellm_config = {}", quoted(&shown(c, home)));
    }
    t.push_str("\n[service]\n");
    match &s.gateway.service {
        Service::SystemdUser { unit, .. } => {
            let _ = writeln!(t, "manager = \"systemd-user\"\nunit = {}", quoted(unit));
        }
        Service::Compose { dir, service } => {
            let _ = writeln!(
                t,
                "manager = \"compose\"\ndir = {}\nservice = {}",
                quoted(&shown(dir, home)),
                quoted(service)
            );
        }
        Service::ByHand { .. } | Service::None => {
            t.push_str(
                "# No service manager runs the gateway: rotations write the sinks but\n\
                 # neither restart nor verify it. To restart it, set\n\
                 # manager = \"command\" and command = [\"/path/to/restart-litellm.sh\"].\n\
                 manager = \"none\"\n",
            );
        }
    }
    for sink in sinks(s) {
        let _ = writeln!(
            t,
            "\n[[sink]]\nkind = {}\npath = {}",
            quoted(sink.kind),
            quoted(&shown(&sink.path, home))
        );
        if let Some(p) = &sink.pointer {
            let _ = writeln!(t, "pointer = {}", quoted(p));
        }
        let _ = writeln!(t, "keys = {}", list(&sink.keys));
    }
    let clients = s.places.clients_on_master();
    if !clients.is_empty() {
        virtual_key_advice(&mut t, &clients, home);
    }
    t
}

/// The files adopt creates next to `config` (litekeys.toml): none may exist.
pub(super) fn check_absent(config: &Path) -> Result<(), AdoptError> {
    let dir = config.parent().unwrap_or(Path::new("."));
    for path in [
        config.to_path_buf(),
        dir.join(DEFAULT_SOURCE),
        dir.join("secrets").join(LOCAL_FILE_NAME),
    ] {
        if path.symlink_metadata().is_ok() {
            return Err(AdoptError::Exists(path));
        }
    }
    Ok(())
}

pub(super) fn write(
    s: &Survey,
    config: &Path,
    env: &Env,
    recipients: &[String],
) -> Result<Written, AdoptError> {
    check_absent(config)?;
    let path = config.to_path_buf();
    let text = config_text(s);
    // Parsed as it will be read: a text the parser refuses is not written.
    let config = Config::parse(&path, &text, env).map_err(|e| AdoptError::Config(e.to_string()))?;
    let absent =
        vault::store::Snapshot::read_or_absent(&path).map_err(|source| AdoptError::Unreadable {
            path: path.clone(),
            source,
        })?;
    let values: Vec<(&'static str, vault::Secret)> = s
        .gateway
        .values
        .iter()
        .map(|f| (f.name, f.value.clone()))
        .collect();
    let identities = crate::transaction::identities(&config);
    let created = crate::init::create(&config, values, recipients, &identities)?;
    let undo = |e: AdoptError| {
        // The source is new and ours: without its config it is not adopted.
        let _ = std::fs::remove_file(&created.path);
        e
    };
    absent
        .replace_if_unchanged(text.as_bytes(), 0o644)
        .map_err(|e| match e {
            vault::store::ReplaceError::Changed(_) => AdoptError::Exists(path.clone()),
            vault::store::ReplaceError::Check { source, .. }
            | vault::store::ReplaceError::Write { source, .. } => AdoptError::Unreadable {
                path: path.clone(),
                source,
            },
        })
        .map_err(undo)?;
    env.trust_store()
        .trust(&path, vault::Pin::Content)
        .map_err(|e| crate::Error::Config(crate::config::ConfigError::Trust(e)).into())
        .map_err(undo)?;
    Ok(Written {
        config: path,
        source: created.path,
        recipients: created.recipients,
        keys: created.keys,
    })
}
