//! `litekeys-rotate trust [FILE]` and `untrust [FILE]`: the user read a
//! file found by walking up (a cloned repository may hold one) and agrees
//! to its use, or withdraws that. Trusting a config prints everything it
//! would act on, so the user sees what they agree to.

use rotate::Error;
use rotate::config::{Config, ConfigError, Env, Found, Located, ManagerKind, Refusal};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use vault::Pin;

/// What the config acts on: the lines `trust` prints and the rotation's
/// confirmation starts with.
pub(super) fn describe(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config:  {}", config.origin());
    let _ = writeln!(out, "source:  {}", config.source.display());
    let _ = write!(out, "gateway: {}", config.gateway.url);
    if !config.gateway.aliases.is_empty() {
        let _ = write!(out, " (aliases: {})", config.gateway.aliases.join(", "));
    }
    out.push('\n');
    let _ = writeln!(out, "restart: {}", restart_command(config));
    if let Some(litellm) = &config.gateway.litellm_config {
        let _ = writeln!(out, "litellm config: {}", litellm.display());
    }
    for sink in &config.sinks {
        let _ = writeln!(
            out,
            "sink:    {} {} ({})",
            sink.kind.name(),
            sink.path.display(),
            sink.keys.join(", ")
        );
    }
    out
}

/// The programs a restart runs, as they would run (no shell).
pub(super) fn restart_command(config: &Config) -> String {
    if config.service.manager == ManagerKind::None {
        return "none (manager = \"none\")".into();
    }
    match rotate::service_spec(config).plan(false) {
        Ok(steps) if !steps.is_empty() => steps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        _ => "none".into(),
    }
}

fn absolute(env: &Env, file: &Path) -> PathBuf {
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        env.cwd.join(file)
    }
}

/// A config by its name; anything else is a source.
fn is_config(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "toml")
}

fn trust_error(e: vault::TrustError) -> Error {
    Error::Config(ConfigError::Trust(e))
}

/// Records the config (by content) and its source (by path), printing
/// what the config names.
fn trust_config(config: &Config, file: &Path, env: &Env, out: &mut String) -> Result<(), Error> {
    let store = env.trust_store();
    let path = store.trust(file, Pin::Content).map_err(trust_error)?;
    let _ = writeln!(
        out,
        "trusted {} (by content: trust it again after any change); it names:",
        path.display()
    );
    for line in describe(config).lines().skip(1) {
        let _ = writeln!(out, "  {line}");
    }
    trust_source(&config.source, env, out)
}

fn trust_source(source: &Path, env: &Env, out: &mut String) -> Result<(), Error> {
    if source.symlink_metadata().is_err() {
        return Ok(());
    }
    let path = env
        .trust_store()
        .trust(source, Pin::Path)
        .map_err(trust_error)?;
    let _ = writeln!(
        out,
        "trusted source {} (by path: its values change with every rotation and are checked by their MAC)",
        path.display()
    );
    Ok(())
}

/// `trust [FILE]`: returns what to print.
pub(super) fn trust(
    file: Option<&Path>,
    explicit: Option<&Path>,
    env: &Env,
) -> Result<String, Error> {
    let mut out = String::new();
    if let Some(file) = file {
        let file = absolute(env, file);
        if is_config(&file) {
            // Parsed first: a broken file is not recorded.
            let config = Config::read(&file, env)?;
            trust_config(&config, &file, env, &mut out)?;
        } else {
            // Only a regular file is recorded (the store checks).
            if file.symlink_metadata().is_err() {
                return Err(Error::Config(ConfigError::Unreadable {
                    path: file.clone(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                }));
            }
            trust_source(&file, env, &mut out)?;
        }
        return Ok(out);
    }
    let located = Located::find(explicit, env)?;
    let config = located.read_untrusted(env)?;
    match (&located.found, &located.file) {
        (Found::WalkedUp, Some(file)) => trust_config(&config, file, env, &mut out)?,
        (Found::Named | Found::User, Some(file)) => {
            let _ = writeln!(
                out,
                "{} is your own config (named, or in $XDG_CONFIG_HOME): trusted as is",
                file.display()
            );
            if config.source_walked_up {
                trust_source(&config.source, env, &mut out)?;
            }
        }
        _ => trust_source(&config.source, env, &mut out)?,
    }
    if out.is_empty() {
        return Err(Refusal::NothingToTrust(env.cwd.clone()).into());
    }
    Ok(out)
}

/// `untrust [FILE]`: returns what to print.
pub(super) fn untrust(
    file: Option<&Path>,
    explicit: Option<&Path>,
    env: &Env,
) -> Result<String, Error> {
    let store = env.trust_store();
    let files: Vec<PathBuf> = match file {
        Some(file) => vec![absolute(env, file)],
        None => {
            let located = Located::find(explicit, env)?;
            // A config that no longer parses can still be untrusted.
            let source = located.read_untrusted(env).ok().map(|c| c.source);
            let mut files: Vec<PathBuf> = located
                .file
                .filter(|_| located.found == Found::WalkedUp)
                .into_iter()
                .collect();
            files.extend(source);
            files
        }
    };
    let mut out = String::new();
    for file in files.iter().filter(|f| f.symlink_metadata().is_ok()) {
        let removed = store.untrust(file).map_err(trust_error)?;
        let _ = writeln!(
            out,
            "{} {}",
            if removed {
                "untrusted"
            } else {
                "was not trusted:"
            },
            file.display()
        );
    }
    if out.is_empty() {
        return Err(Refusal::NothingToTrust(env.cwd.clone()).into());
    }
    Ok(out)
}
