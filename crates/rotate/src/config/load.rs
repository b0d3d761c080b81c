//! Where `litekeys.toml` is found (`--config`, `$LITEKEYS_CONFIG`, next to
//! the nearest `secrets/` directory, `$XDG_CONFIG_HOME/litekeys/config.toml`),
//! and the seeds' layout when there is none; a walked-up file, or a
//! walked-up source, is used only once the user trusted it.

use super::error::ConfigError;
use super::settings::{
    Config, DEFAULT_GATEWAY, DEFAULT_SOURCE, FILE_NAME, Found, GatewayConfig, LOCAL_FILE_NAME,
    SentinelClient, absolute, default_service,
};
use super::sink::{SinkKind, SinkSpec};
use crate::env::Env;
use crate::gateway::{MASTER_KEY, SALT_KEY};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vault::TrustState;

/// Which configuration the current directory uses, found but not read.
#[derive(Clone, Debug)]
pub struct Located {
    /// The file, `None` for the defaults.
    pub file: Option<PathBuf>,
    pub found: Found,
    /// `litekeys.toml` files passed walking up and not used because no
    /// `secrets/` directory is next to them (for a note to the user).
    pub ignored: Vec<PathBuf>,
}

impl Located {
    /// Finds the configuration (see the module comment); reads nothing.
    pub fn find(explicit: Option<&Path>, env: &Env) -> Result<Located, ConfigError> {
        if let Some(path) = explicit
            .map(Path::to_path_buf)
            .or(env.litekeys_config.clone())
        {
            return Ok(Located {
                file: Some(absolute(&env.cwd, path)),
                found: Found::Named,
                ignored: Vec::new(),
            });
        }
        let mut ignored = Vec::new();
        for dir in env.cwd.ancestors() {
            let candidate = dir.join(FILE_NAME);
            let present = candidate.symlink_metadata().is_ok();
            if dir.join("secrets").is_dir() {
                // This machine's own file, beside the shared source and
                // git-ignored there (init's .gitignore), comes first.
                let local = dir.join("secrets").join(LOCAL_FILE_NAME);
                if local.symlink_metadata().is_ok() {
                    regular_file(&local)?;
                    return Ok(Located {
                        file: Some(local),
                        found: Found::WalkedUp,
                        ignored,
                    });
                }
                if present {
                    regular_file(&candidate)?;
                    return Ok(Located {
                        file: Some(candidate),
                        found: Found::WalkedUp,
                        ignored,
                    });
                }
                break;
            }
            if present {
                ignored.push(candidate);
            }
        }
        if let Some(path) = env.config_home().map(|d| d.join("litekeys/config.toml")) {
            if path.symlink_metadata().is_ok() {
                regular_file(&path)?;
                return Ok(Located {
                    file: Some(path),
                    found: Found::User,
                    ignored,
                });
            }
        }
        Ok(Located {
            file: None,
            found: Found::Defaults,
            ignored,
        })
    }

    /// Reads the configuration, refusing a file (or source) that needs
    /// trusting and is not trusted: then nothing else was read.
    pub fn load(&self, env: &Env) -> Result<Config, ConfigError> {
        if let (Found::WalkedUp, Some(file)) = (self.found, &self.file) {
            // Before parsing: not a byte of an untrusted file is acted on.
            check_trusted(&env.trust_store(), file)?;
        }
        let config = self.read_untrusted(env)?;
        config.check_trust(env)?;
        Ok(config)
    }

    /// Reads the configuration, trusted or not (for `trust`, which shows
    /// the user what they are about to trust).
    pub fn read_untrusted(&self, env: &Env) -> Result<Config, ConfigError> {
        let mut config = match &self.file {
            Some(path) => Config::read(path, env)?,
            None => Config::defaults(env),
        };
        config.found = self.found;
        Ok(config)
    }
}

impl Config {
    /// Finds and reads the configuration (see the module comment); a file
    /// or source found by walking up must be trusted.
    pub fn load(explicit: Option<&Path>, env: &Env) -> Result<Config, ConfigError> {
        Located::find(explicit, env)?.load(env)
    }

    pub fn read(path: &Path, env: &Env) -> Result<Config, ConfigError> {
        // A FIFO would block the read; a directory is not a config.
        regular_file(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text, env)
    }

    /// Refuses a walked-up config, or a walked-up source that is not next
    /// to a trusted walked-up config, that the user has not trusted.
    pub fn check_trust(&self, env: &Env) -> Result<(), ConfigError> {
        let store = env.trust_store();
        let walked_up_file = self
            .file
            .as_deref()
            .filter(|_| self.found == Found::WalkedUp);
        if let Some(file) = walked_up_file {
            check_trusted(&store, file)?;
        }
        // The source in secrets/ beside the config, or (litekeys.local.toml)
        // in the config's own directory.
        let beside_config = walked_up_file.and_then(Path::parent).is_some_and(|dir| {
            self.source.parent().and_then(Path::parent) == Some(dir)
                || self.source.parent() == Some(dir)
        });
        if self.source_walked_up && !beside_config && self.source.symlink_metadata().is_ok() {
            check_trusted(&store, &self.source)?;
        }
        Ok(())
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
            found: Found::Defaults,
            source: absolute(&env.cwd, source),
            source_walked_up: env.litekeys_file.is_none(),
            pin: None,
            gateway: GatewayConfig {
                url: DEFAULT_GATEWAY.into(),
                aliases: Vec::new(),
                timeout: Duration::from_secs(60),
                litellm_config: None,
                sentinel: None,
                sentinel_client: SentinelClient::default(),
            },
            service: default_service(),
            sinks: vec![
                SinkSpec {
                    kind: SinkKind::Dotenv,
                    path: home("~/.config/lab-secrets/litellm.env"),
                    keys: both,
                    pointer: None,
                    origin: "defaults".into(),
                },
                SinkSpec {
                    kind: SinkKind::Droid,
                    path: home("~/.factory"),
                    keys: vec![MASTER_KEY.into()],
                    pointer: None,
                    origin: "defaults".into(),
                },
            ],
            state_dir: env.state_dir(),
            git: super::settings::GitConfig::default(),
            virtual_keys: Vec::new(),
        }
    }
}

pub(super) fn default_source(env: &Env) -> PathBuf {
    vault::locate::nearest(&env.cwd, DEFAULT_SOURCE).unwrap_or_else(|| env.cwd.join(DEFAULT_SOURCE))
}

/// A config path that exists must be a regular file (or a link to one).
fn regular_file(path: &Path) -> Result<(), ConfigError> {
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(ConfigError::NotAFile(path.to_path_buf()))
    }
}

fn check_trusted(store: &vault::TrustStore, path: &Path) -> Result<(), ConfigError> {
    match store.state(path)? {
        TrustState::Trusted => Ok(()),
        state => Err(ConfigError::Untrusted {
            path: path.to_path_buf(),
            changed: state == TrustState::Changed,
        }),
    }
}
