//! The salt key's guard: a changed `LITELLM_SALT_KEY` makes every
//! credential LiteLLM stored in its database unreadable, so `--salt`, and
//! any sync (or rotation) that would change the salt key a sink holds, is
//! refused while a database is in use, unless `--force-salt`. Where a
//! database shows is [`gateway::database_in_use`]'s rule; this gathers the
//! files to look in: the source, every dotenv and systemd-env sink, and
//! the compose project's `.env`.

use super::request::Action;
use crate::config::{Config, ManagerKind, Refusal, SALT_KEY, SinkKind};
use crate::error::Result;
use crate::gateway::{self, DATABASE_VARIABLES, DatabaseInUse, SetNames};
use crate::sinks::{self, FileChange, Role, Values};
use std::path::Path;

/// Before anything is planned: `--salt` without `--force-salt`.
pub(super) fn check_salt_flag(config: &Config, action: Action, current: &Values) -> Result<()> {
    if let Action::Rotate {
        salt: true,
        force_salt: false,
    } = action
    {
        if let Some(reason) = database(config, current) {
            return Err(Refusal::Salt(reason).into());
        }
    }
    Ok(())
}

/// Once planned: a file whose salt key changes, without `--force-salt`.
pub(super) fn check_changes(
    config: &Config,
    action: Action,
    current: &Values,
    changes: &[FileChange],
) -> Result<()> {
    if action.force_salt() {
        return Ok(());
    }
    if let Some(change) = introduced(config, changes) {
        return match database(config, current) {
            Some(reason) => Err(Refusal::SaltIntroduced {
                path: change.shown.clone(),
                reason,
            }
            .into()),
            None => Ok(()),
        };
    }
    let changed = changes.iter().find(|c| {
        c.fields
            .iter()
            .any(|f| f.name == SALT_KEY && f.old.as_ref().is_some_and(|old| *old != f.new))
    });
    let Some(change) = changed else {
        return Ok(());
    };
    match database(config, current) {
        Some(reason) => Err(Refusal::SaltChange {
            path: change.shown.clone(),
            reason,
        }
        .into()),
        None => Ok(()),
    }
}

/// Why a database is (or may be) in use, looking everywhere LiteLLM may
/// read its settings from.
pub(super) fn database(config: &Config, current: &Values) -> Option<DatabaseInUse> {
    let set = |value: Option<&vault::Secret>| value.is_some_and(|v| !v.is_empty());
    let mut files = vec![SetNames {
        path: config.source.clone(),
        names: DATABASE_VARIABLES
            .iter()
            .filter(|name| set(current.get(name)))
            .map(std::string::ToString::to_string)
            .collect(),
    }];
    for spec in config.sinks.iter().filter(|s| s.kind != SinkKind::Droid) {
        files.extend(set_names(&spec.path, |bytes| {
            sinks::read_values(spec, bytes)
        }));
    }
    if config.service.manager == ManagerKind::Compose {
        if let Some(dir) = &config.service.dir {
            let env = dir.join(".env");
            if !config.sinks.iter().any(|s| s.path == env) {
                files.extend(set_names(&env, sinks::dotenv::read_values));
            }
        }
    }
    gateway::database_in_use(&config.litellm_configs(), &files)
}

/// A file the gateway reads that gets a salt key while the gateway has
/// none anywhere: LiteLLM encrypted what it stored with the master key
/// and would decrypt it with the salt key from its next start.
fn introduced<'a>(config: &Config, changes: &'a [FileChange]) -> Option<&'a FileChange> {
    let empty = vault::fingerprint(b"");
    let adds = |c: &&FileChange| {
        matches!(c.role, Role::Sink(kind) if kind.feeds_service())
            && c.fields.iter().any(|f| {
                f.name == SALT_KEY
                    && f.new != empty
                    && f.old.as_ref().is_none_or(|old| *old == empty)
            })
    };
    let change = changes.iter().find(adds)?;
    gateway_salt_key(config).is_none().then_some(change)
}

/// Where a salt key is set (non-empty) for LiteLLM: the environment, the
/// source, a dotenv or systemd-env sink, the compose project's `.env`.
/// With one, LiteLLM encrypts what it stores with it, not the master key.
pub(super) fn salt_key(config: &Config, current: &Values) -> Option<String> {
    if current.get(SALT_KEY).is_some_and(|v| !v.is_empty()) {
        return Some(format!("{} sets {SALT_KEY}", config.source.display()));
    }
    gateway_salt_key(config)
}

/// Where the gateway itself gets a salt key: the environment, a dotenv or
/// systemd-env sink, the compose project's `.env` (not the source, which
/// LiteLLM never reads).
fn gateway_salt_key(config: &Config) -> Option<String> {
    if std::env::var_os(SALT_KEY).is_some_and(|v| !v.is_empty()) {
        return Some(format!("{SALT_KEY} is set in the environment"));
    }
    let mut files: Vec<std::path::PathBuf> = config
        .sinks
        .iter()
        .filter(|s| s.kind != SinkKind::Droid)
        .map(|s| s.path.clone())
        .collect();
    if config.service.manager == ManagerKind::Compose {
        if let Some(dir) = &config.service.dir {
            files.push(dir.join(".env"));
        }
    }
    files.into_iter().find_map(|path| {
        let spec = config.sinks.iter().find(|s| s.path == path);
        let names = match spec {
            Some(spec) => set_names(&path, |bytes| sinks::read_values(spec, bytes)),
            None => set_names(&path, sinks::dotenv::read_values),
        }?;
        names
            .names
            .iter()
            .any(|n| n == SALT_KEY)
            .then(|| format!("{} sets {SALT_KEY}", path.display()))
    })
}

/// The names `path` sets to a non-empty value, read by `values`; `None`
/// when it is absent or unreadable (the plan reports a sink it cannot read).
fn set_names(
    path: &Path,
    values: impl Fn(&[u8]) -> Vec<(String, vault::Secret)>,
) -> Option<SetNames> {
    let found = sinks::read(path).ok()?;
    let names = values(found.bytes()?)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k)
        .collect();
    Some(SetNames {
        path: path.to_path_buf(),
        names,
    })
}
