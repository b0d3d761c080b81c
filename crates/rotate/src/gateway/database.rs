//! Whether LiteLLM keeps credentials in a database: `LITELLM_SALT_KEY`
//! encrypts them, so a changed salt key makes them unreadable, and
//! `--salt` (or a sync that would change the salt key) is refused unless
//! forced. A database is in use when one of [`DATABASE_VARIABLES`] is set
//! in the environment or in any file LiteLLM may read it from (the
//! source, a dotenv or systemd sink, a compose `.env`), or when LiteLLM's
//! config.yaml has a `general_settings.database_url`.

use std::path::{Path, PathBuf};

/// The variable LiteLLM reads its database from.
pub const DATABASE_URL: &str = "DATABASE_URL";

/// `DATABASE_URL`, and the parts LiteLLM builds one from when it is unset.
pub const DATABASE_VARIABLES: &[&str] = &[
    DATABASE_URL,
    "DATABASE_HOST",
    "DATABASE_USERNAME",
    "DATABASE_PASSWORD",
    "DATABASE_NAME",
];

/// A file of `NAME=value` lines LiteLLM may read, and the names it sets
/// to a non-empty value.
#[derive(Clone, Debug)]
pub struct SetNames {
    pub path: PathBuf,
    pub names: Vec<String>,
}

/// Why a database is (or may be) in use.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseInUse {
    #[error("{0} is set in the environment")]
    Environment(&'static str),
    #[error("{} sets {name}", path.display())]
    File { path: PathBuf, name: &'static str },
    #[error(
        "{} (the LiteLLM config) cannot be read to check for a database_url: {source}",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} (the LiteLLM config) cannot be parsed to check for a database_url: {source}",
        path.display()
    )]
    Unparsable {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{}:{line} sets database_url", path.display())]
    Config { path: PathBuf, line: usize },
}

/// Why a database is (or may be) in use, or `None`: one of
/// [`DATABASE_VARIABLES`] in the environment or in one of `files`, or a
/// `database_url` in one of LiteLLM's config files (`litellm_configs`).
pub fn database_in_use(litellm_configs: &[&Path], files: &[SetNames]) -> Option<DatabaseInUse> {
    for name in DATABASE_VARIABLES {
        if std::env::var_os(name).is_some_and(|v| !v.is_empty()) {
            return Some(DatabaseInUse::Environment(name));
        }
    }
    for file in files {
        if let Some(name) = DATABASE_VARIABLES
            .iter()
            .find(|v| file.names.iter().any(|n| n == *v))
        {
            return Some(DatabaseInUse::File {
                path: file.path.clone(),
                name,
            });
        }
    }
    litellm_configs
        .iter()
        .find_map(|path| in_litellm_config(path))
}

/// A `database_url` in the LiteLLM config at `path`.
fn in_litellm_config(path: &Path) -> Option<DatabaseInUse> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(source) => {
            return Some(DatabaseInUse::Unreadable {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match yaml_database_url(&text) {
        Ok(line) => line.map(|line| DatabaseInUse::Config {
            path: path.to_path_buf(),
            line,
        }),
        Err(source) => Some(DatabaseInUse::Unparsable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The line of `general_settings.database_url` when it has a value (not
/// null or empty) in LiteLLM's config (YAML: block or flow style, quoted
/// or not).
fn yaml_database_url(text: &str) -> Result<Option<usize>, serde_yaml_ng::Error> {
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)?;
    let value = config
        .get("general_settings")
        .and_then(|g| g.get("database_url"));
    let set = match value {
        None | Some(serde_yaml_ng::Value::Null) => false,
        // LiteLLM is Python: it reads `None` as no value too.
        Some(serde_yaml_ng::Value::String(s)) => !matches!(s.trim(), "" | "None"),
        Some(_) => true,
    };
    // The parser keeps no positions: the line is the key's first mention.
    Ok(set.then(|| {
        text.lines()
            .position(|l| {
                l.split('#')
                    .next()
                    .unwrap_or_default()
                    .contains("database_url")
            })
            .map_or(1, |i| i + 1)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_of_litellms_database_variables_in_a_file_counts() {
        let file = |names: &[&str]| SetNames {
            path: PathBuf::from("/srv/litellm/.env"),
            names: names.iter().map(std::string::ToString::to_string).collect(),
        };
        // The test process may have them set: only then is it the environment.
        if DATABASE_VARIABLES
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
        {
            return;
        }
        assert!(database_in_use(&[], &[file(&["LITELLM_MASTER_KEY"])]).is_none());
        for name in DATABASE_VARIABLES {
            let found = database_in_use(&[], &[file(&["A"]), file(&[name])]).unwrap();
            assert_eq!(found.to_string(), format!("/srv/litellm/.env sets {name}"));
        }
    }

    #[test]
    fn finds_a_database_url_with_a_value() {
        let found = |text: &str| yaml_database_url(text).unwrap();
        let cfg = "model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  database_url: \"postgresql://u@db/litellm\"\n";
        assert_eq!(found(cfg), Some(4));
        assert_eq!(
            found("general_settings:\n  database_url: null # none\n"),
            None
        );
        assert_eq!(found("general_settings:\n  database_url:\n"), None);
        assert_eq!(found("general_settings:\n  database_url: ''\n"), None);
        assert_eq!(found("general_settings:\n  database_url: None\n"), None);
        assert_eq!(
            found("general_settings:\n  database_url: os.environ/DATABASE_URL\n"),
            Some(2)
        );
        // Flow style and quotes are YAML too.
        assert_eq!(
            found("general_settings: {\"database_url\": 'postgresql://db'}\n"),
            Some(1)
        );
        // Only general_settings' key means a database.
        assert_eq!(found("router_settings:\n  database_url: x\n"), None);
        assert!(yaml_database_url("general_settings: [\n").is_err());
    }
}
