//! What the configuration is resolved against: the process environment
//! (`HOME`, `XDG_*`, `LITEKEYS_CONFIG`, `LITEKEYS_FILE`, the current
//! directory), or a test's.

use std::path::{Path, PathBuf};

/// Names the configuration file, overriding the search.
pub(crate) const ENV_CONFIG: &str = "LITEKEYS_CONFIG";

/// What the configuration is resolved against (the process environment,
/// or a test's).
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub home: Option<PathBuf>,
    pub cwd: PathBuf,
    pub xdg_config_home: Option<PathBuf>,
    pub xdg_state_home: Option<PathBuf>,
    pub litekeys_config: Option<PathBuf>,
    pub litekeys_file: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Env {
            home: var("HOME"),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_state_home: var("XDG_STATE_HOME"),
            litekeys_config: var(ENV_CONFIG),
            litekeys_file: var(vault::locate::ENV_FILE),
        }
    }

    /// `~` and `~/…` are `$HOME`; other relative paths are against `base`.
    pub fn expand(&self, raw: &str, base: &Path) -> PathBuf {
        let home = self.home.clone().unwrap_or_else(|| PathBuf::from("/"));
        if raw == "~" {
            home
        } else if let Some(rest) = raw.strip_prefix("~/") {
            home.join(rest)
        } else {
            base.join(raw)
        }
    }

    pub fn config_home(&self) -> Option<PathBuf> {
        self.xdg_config_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))
    }

    pub fn state_dir(&self) -> PathBuf {
        vault::state_dir(self.xdg_state_home.as_deref(), self.home.as_deref())
    }

    /// The user's trust records (under the state directory: never from a
    /// config, which is what they vouch for).
    pub fn trust_store(&self) -> vault::TrustStore {
        vault::TrustStore::new(&self.state_dir())
    }
}
