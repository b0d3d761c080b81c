//! Whether LiteLLM keeps credentials in a database: `LITELLM_SALT_KEY`
//! encrypts them, so a new salt key makes them unreadable and `--salt` is
//! refused unless forced.

use std::path::{Path, PathBuf};
use vault::Secret;

/// The variable LiteLLM reads its database from.
pub const DATABASE_URL: &str = "DATABASE_URL";

/// Why a database is (or may be) in use.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseInUse {
    #[error("DATABASE_URL is set in the environment")]
    Environment,
    #[error("{} sets DATABASE_URL", .0.display())]
    Source(PathBuf),
    #[error(
        "{} (the LiteLLM config) cannot be read to check for a database_url: {source}",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line} sets database_url", path.display())]
    Config { path: PathBuf, line: usize },
}

/// Why a database is (or may be) in use, or `None`: `DATABASE_URL` in the
/// environment, in the source (`in_source`, read from `source`), or a
/// `database_url` in LiteLLM's config file (`litellm_config`).
pub fn database_in_use(
    litellm_config: Option<&Path>,
    source: &Path,
    in_source: Option<&Secret>,
) -> Option<DatabaseInUse> {
    if std::env::var_os(DATABASE_URL).is_some_and(|v| !v.is_empty()) {
        return Some(DatabaseInUse::Environment);
    }
    if in_source.is_some_and(|v| !v.is_empty()) {
        return Some(DatabaseInUse::Source(source.to_path_buf()));
    }
    let path = litellm_config?;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(source) => {
            return Some(DatabaseInUse::Unreadable {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    yaml_database_url(&text).map(|line| DatabaseInUse::Config {
        path: path.to_path_buf(),
        line,
    })
}

/// The line of a `database_url:` key with a value (not null or empty).
/// A line scan is enough: the key only means one thing in LiteLLM's config.
fn yaml_database_url(text: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let body = line.trim_start().trim_start_matches("- ");
        let value = body.strip_prefix("database_url:")?;
        let value = value.split(" #").next().unwrap_or_default().trim();
        let value = value.trim_matches(['"', '\'']);
        let empty = matches!(value, "" | "null" | "~" | "None" | "Null" | "NULL");
        (!empty).then_some(i + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_database_url_with_a_value() {
        let cfg = "model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  database_url: \"postgresql://u@db/litellm\"\n";
        assert_eq!(yaml_database_url(cfg), Some(4));
        assert_eq!(
            yaml_database_url("general_settings:\n  database_url: null # none\n"),
            None
        );
        assert_eq!(
            yaml_database_url("general_settings:\n  database_url:\n"),
            None
        );
        assert_eq!(
            yaml_database_url("general_settings:\n  database_url: os.environ/DATABASE_URL\n"),
            Some(2)
        );
    }
}
