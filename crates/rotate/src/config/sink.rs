//! What a sink is in the configuration: its kind, its path and keys, and
//! for a systemd-env sink which of the two file layouts the path names.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    Dotenv,
    Droid,
    SystemdEnv,
}

impl SinkKind {
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Dotenv => "dotenv",
            SinkKind::Droid => "droid",
            SinkKind::SystemdEnv => "systemd-env",
        }
    }
}

impl SinkKind {
    /// The service reads this kind at start: a change there needs a restart
    /// (Droid settings are read by Droid, not by the gateway).
    pub fn feeds_service(self) -> bool {
        matches!(self, SinkKind::Dotenv | SinkKind::SystemdEnv)
    }

    /// systemd must `daemon-reload` before the restart for a change here to
    /// reach the service: a unit drop-in is re-read only then, and
    /// environment.d files are read by an environment generator, which the
    /// user manager runs at its start and on each daemon-reload
    /// (systemd.environment-generator(7)); a restart alone sees neither.
    pub fn needs_daemon_reload(self) -> bool {
        self == SinkKind::SystemdEnv
    }
}

#[derive(Clone, Debug)]
pub struct SinkSpec {
    pub kind: SinkKind,
    /// `~` expanded, relative paths resolved against the config's directory.
    pub path: PathBuf,
    /// The source values this sink holds (a droid sink holds one).
    pub keys: Vec<String>,
    /// `litekeys.toml:12`, or `defaults`.
    pub origin: String,
}

/// Which file a systemd-env sink is: a unit drop-in or an environment.d file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    DropIn,
    EnvironmentD,
}

impl Layout {
    pub fn of(path: &Path) -> Result<Layout, LayoutError> {
        let conf = path.extension().is_some_and(|e| e == "conf");
        let parent = path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match () {
            () if conf && parent == "environment.d" => Ok(Layout::EnvironmentD),
            () if conf && parent.ends_with(".d") && parent.len() > 2 => Ok(Layout::DropIn),
            () => Err(LayoutError {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// A systemd-env sink's path that is neither layout.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} is neither a drop-in (…/UNIT.service.d/NAME.conf) nor an environment.d file (…/environment.d/NAME.conf)",
    path.display()
)]
pub struct LayoutError {
    pub path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_by_path() {
        let l = |p: &str| Layout::of(Path::new(p));
        assert_eq!(
            l("/h/.config/systemd/user/litellm.service.d/litekeys.conf"),
            Ok(Layout::DropIn)
        );
        assert_eq!(
            l("/h/.config/environment.d/50-litellm.conf"),
            Ok(Layout::EnvironmentD)
        );
        assert!(l("/h/litellm.env").is_err());
        assert!(l("/h/.d/x.conf").is_err());
    }

    #[test]
    fn systemd_env_sinks_need_a_daemon_reload_and_droid_feeds_no_service() {
        // environment.d too: its generator runs on daemon-reload only.
        assert!(SinkKind::SystemdEnv.needs_daemon_reload());
        assert!(!SinkKind::Dotenv.needs_daemon_reload());
        assert!(SinkKind::SystemdEnv.feeds_service() && SinkKind::Dotenv.feeds_service());
        assert!(!SinkKind::Droid.feeds_service() && !SinkKind::Droid.needs_daemon_reload());
    }
}
