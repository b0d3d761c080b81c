//! `litekeys-rotate adopt`: takes over a machine set up by hand. Rooms:
//! `gateway` (the key LiteLLM runs on now, from its config.yaml and the
//! files it reads its environment from; how it is started, its port),
//! `places` (every file holding that key by value, found by the scanner,
//! and what litekeys does with each: a sink, or a report with the fix;
//! `fields`: what in a file holds it, a pointer, a Droid route, a name),
//! `table` (what is printed: places, fingerprints, never a key), `write`
//! (the encrypted source and a trusted litekeys.toml, as `init` writes).

mod error;
mod fields;
mod gateway;
mod places;
mod table;
mod write;

pub use error::AdoptError;
pub use write::Written;

use crate::env::Env;
use std::path::{Path, PathBuf};

/// Where adopt looks for `/srv/docker/litellm` (a compose deployment):
/// `/` unless this names another root (tests).
pub const ENV_ROOT: &str = "LITEKEYS_ADOPT_ROOT";

/// A line of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub path: PathBuf,
    pub line: usize,
}

impl At {
    pub(crate) fn new(path: &Path, line: usize) -> At {
        At {
            path: path.to_path_buf(),
            line,
        }
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Where adopt looks: the user's HOME and config directory, the system
/// root, the directory adopt runs in, and LiteLLM's config if given.
#[derive(Clone, Debug)]
pub struct Roots {
    pub home: PathBuf,
    pub config_home: PathBuf,
    pub system_root: PathBuf,
    pub cwd: PathBuf,
    pub litellm_config: Option<PathBuf>,
}

impl Roots {
    /// From the process environment (`HOME`, `XDG_CONFIG_HOME`,
    /// [`ENV_ROOT`]) and `--litellm-config`.
    pub fn new(env: &Env, litellm_config: Option<&Path>) -> Roots {
        let home = env.home.clone().unwrap_or_else(|| PathBuf::from("/"));
        let system_root = std::env::var_os(ENV_ROOT)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from("/"), PathBuf::from);
        Roots {
            config_home: env.config_home().unwrap_or_else(|| home.join(".config")),
            home,
            system_root,
            cwd: env.cwd.clone(),
            litellm_config: litellm_config.map(|p| {
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    env.cwd.join(p)
                }
            }),
        }
    }
}

/// What adopt found: the gateway and every place holding its key.
pub struct Survey {
    gateway: gateway::Gateway,
    places: places::Places,
    url: String,
    home: PathBuf,
}

/// Finds the gateway's key and every place holding it; reads only.
pub fn survey(roots: &Roots) -> Result<Survey, AdoptError> {
    let gateway = gateway::find(roots)?;
    let mut places = places::find(roots, &gateway);
    let url = write::url(&gateway, &places.route_urls);
    places.settle_routes(&url);
    Ok(Survey {
        gateway,
        places,
        url,
        home: roots.home.clone(),
    })
}

impl Survey {
    /// The table adopt prints: never a key, fingerprints only.
    pub fn table(&self) -> String {
        table::render(self)
    }

    /// Files the scan could not read (a line each).
    pub fn problems(&self) -> &[String] {
        &self.places.problems
    }

    /// The litekeys.toml adopt writes (the source in `secrets/` next to
    /// it).
    pub fn config_text(&self) -> String {
        write::config_text(self)
    }

    /// `NAME fingerprint` of every value found.
    pub fn fingerprints(&self) -> Vec<(&'static str, String)> {
        self.gateway
            .values
            .iter()
            .map(|f| (f.name, f.value.fingerprint()))
            .collect()
    }
}

/// Refuses a `config` (litekeys.toml) that exists, or a source next to it.
pub fn check_absent(config: &Path) -> Result<(), AdoptError> {
    write::check_absent(config)
}

/// Writes litekeys.toml at `config` and the encrypted source in
/// `secrets/` next to it (to `recipients`, else as `init` chooses), both
/// trusted; nothing when either exists.
pub fn write(
    survey: &Survey,
    config: &Path,
    env: &Env,
    recipients: &[String],
) -> Result<Written, AdoptError> {
    write::write(survey, config, env, recipients)
}
