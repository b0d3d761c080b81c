//! Where `litekeys.toml` is found (`--config`, `$LITEKEYS_CONFIG`, next to
//! the nearest `secrets/` directory, `$XDG_CONFIG_HOME/litekeys/config.toml`),
//! and the seeds' layout when there is none.

use super::{
    Config, ConfigError, DEFAULT_GATEWAY, DEFAULT_SOURCE, Env, FILE_NAME, GatewayConfig,
    MASTER_KEY, SALT_KEY, SinkKind, SinkSpec, absolute, default_service,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Config {
    /// Finds and reads the configuration (see the module comment).
    pub fn load(explicit: Option<&Path>, env: &Env) -> Result<Config, ConfigError> {
        if let Some(path) = explicit
            .map(Path::to_path_buf)
            .or(env.litekeys_config.clone())
        {
            let path = if path.is_absolute() {
                path
            } else {
                env.cwd.join(path)
            };
            return Config::read(&path, env);
        }
        if let Some(dir) = nearest_secrets_parent(&env.cwd) {
            let path = dir.join(FILE_NAME);
            if path.is_file() {
                return Config::read(&path, env);
            }
        }
        let xdg = env.config_home().map(|d| d.join("litekeys/config.toml"));
        if let Some(path) = xdg.filter(|p| p.is_file()) {
            return Config::read(&path, env);
        }
        Ok(Config::defaults(env))
    }

    pub fn read(path: &Path, env: &Env) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text, env)
    }

    /// The seeds' layout: the nearest `secrets/global.enc.env`, the gateway
    /// on 127.0.0.1:4000 restarted by `systemctl --user`, litellm.env and
    /// ~/.factory.
    pub fn defaults(env: &Env) -> Config {
        let source = env
            .litekeys_file
            .clone()
            .unwrap_or_else(|| default_source(env));
        let home = |rel: &str| env.expand(rel, &env.cwd);
        let both = vec![MASTER_KEY.to_string(), SALT_KEY.to_string()];
        Config {
            file: None,
            source: absolute(&env.cwd, source),
            gateway: GatewayConfig {
                url: DEFAULT_GATEWAY.into(),
                aliases: Vec::new(),
                timeout: Duration::from_secs(60),
                litellm_config: None,
                sentinel: None,
            },
            service: default_service(),
            sinks: vec![
                SinkSpec {
                    kind: SinkKind::Dotenv,
                    path: home("~/.config/lab-secrets/litellm.env"),
                    keys: both,
                    origin: "defaults".into(),
                },
                SinkSpec {
                    kind: SinkKind::Droid,
                    path: home("~/.factory"),
                    keys: vec![MASTER_KEY.into()],
                    origin: "defaults".into(),
                },
            ],
            state_dir: env.state_dir(),
        }
    }
}

pub(super) fn default_source(env: &Env) -> PathBuf {
    vault::locate::nearest(&env.cwd, DEFAULT_SOURCE).unwrap_or_else(|| env.cwd.join(DEFAULT_SOURCE))
}

/// The directory holding the nearest `secrets/` directory, from `start` up.
fn nearest_secrets_parent(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("secrets").is_dir())
        .map(Path::to_path_buf)
}
