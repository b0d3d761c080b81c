//! What a configuration holds: the source, the gateway, the service, the
//! sinks, and where the state lives.

use super::sink::SinkSpec;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const FILE_NAME: &str = "litekeys.toml";
/// A machine's own configuration in the source's directory (`secrets/`),
/// git-ignored there: found before the shared `litekeys.toml`.
pub const LOCAL_FILE_NAME: &str = "litekeys.local.toml";
pub const DEFAULT_SOURCE: &str = "secrets/global.enc.env";
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:4000";

/// How the configuration file was found: a file found by walking up may
/// come from a repository someone else wrote, so it is used only once the
/// user trusted it (`litekeys-rotate trust`); the others are the user's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// `--config FILE` or `$LITEKEYS_CONFIG`.
    Named,
    /// `secrets/litekeys.local.toml`, else `litekeys.toml` next to the
    /// nearest `secrets/` from the current directory.
    WalkedUp,
    /// `$XDG_CONFIG_HOME/litekeys/config.toml`.
    User,
    /// No file: the defaults.
    Defaults,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManagerKind {
    SystemdUser,
    SystemdSystem,
    Compose,
    Command,
    None,
}

#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub url: String,
    /// Other base URLs that reach the same gateway.
    pub aliases: Vec<String>,
    /// Bound on waiting for the restarted gateway to answer.
    pub timeout: Duration,
    /// LiteLLM's own config.yaml: a `database_url` there forbids `--salt`.
    pub litellm_config: Option<PathBuf>,
    /// The exact reply `--sentinel` asks each route's model for, for models
    /// that answer fixed text (LiteLLM `mock_response`); default: a fresh
    /// random `LITEKEYS_SENTINEL_<hex>` per rotation.
    pub sentinel: Option<String>,
    /// What sends the sentinels: a chat completion per model, or the real
    /// Droid CLI per Droid route (`droid exec`).
    pub sentinel_client: SentinelClient,
}

/// `[gateway] sentinel_client`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SentinelClient {
    #[default]
    Http,
    Droid,
}

#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub manager: ManagerKind,
    pub unit: String,
    /// compose: the project directory.
    pub dir: Option<PathBuf>,
    /// compose: the service name.
    pub service: String,
    /// command: an argv, run without a shell.
    pub command: Vec<String>,
    /// Bound on the whole restart.
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The file read, or `None` when the defaults are used.
    pub file: Option<PathBuf>,
    /// How the file was found (whether it needs trusting).
    pub found: Found,
    pub source: PathBuf,
    /// The source was found by walking up from the current directory
    /// (neither the config nor `$LITEKEYS_FILE` names it): it needs
    /// trusting of its own, unless it sits next to a trusted config.
    pub source_walked_up: bool,
    /// `recipients = [...]`: who may receive the source's data key (it
    /// comes before the `.sops.yaml` creation rule's pin); `None` when the
    /// file has no `recipients` key.
    pub pin: Option<vault::RecipientPin>,
    pub gateway: GatewayConfig,
    pub service: ServiceConfig,
    pub sinks: Vec<SinkSpec>,
    /// `$XDG_STATE_HOME/litekeys`: journal and audit log.
    pub state_dir: PathBuf,
    /// `[git]`: the fleet through the source's repository.
    pub git: GitConfig,
    /// `[[virtual_key]]`: source values that are LiteLLM virtual keys.
    pub virtual_keys: Vec<super::VirtualKeySpec>,
}

/// `[git]`: how the source travels between machines.
#[derive(Clone, Debug, Default)]
pub struct GitConfig {
    /// Commit and push the source after a rotation (as `--push`).
    pub push: bool,
    /// How often `litekeys-watch` fetches; `None`: never (no timer).
    pub pull_every: Option<Duration>,
}

impl Config {
    /// The gateway's URL followed by its aliases.
    pub fn gateway_urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.gateway.url.as_str())
            .chain(self.gateway.aliases.iter().map(String::as_str))
    }

    /// LiteLLM's config files: `[gateway] litellm_config`, then every
    /// `litellm-config` sink's file (the gateway reads those too, so a
    /// `database_url` there means a database as much as the named one).
    pub fn litellm_configs(&self) -> Vec<&Path> {
        let mut all: Vec<&Path> = self
            .gateway
            .litellm_config
            .iter()
            .map(PathBuf::as_path)
            .collect();
        for sink in self
            .sinks
            .iter()
            .filter(|s| s.kind == super::SinkKind::LitellmConfig)
        {
            if !all.contains(&sink.path.as_path()) {
                all.push(&sink.path);
            }
        }
        all
    }

    /// Where the configuration came from, for messages.
    pub fn origin(&self) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => "the default layout (no litekeys.toml)".into(),
        }
    }
}

pub(crate) fn default_service() -> ServiceConfig {
    ServiceConfig {
        manager: ManagerKind::SystemdUser,
        unit: "litellm.service".into(),
        dir: None,
        service: "litellm".into(),
        command: Vec::new(),
        timeout: Duration::from_secs(30),
    }
}

pub(crate) fn absolute(cwd: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() { p } else { cwd.join(p) }
}
