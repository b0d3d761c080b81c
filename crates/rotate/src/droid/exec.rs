//! The sentinels through the real client: for each Droid route that
//! reaches the gateway, `droid exec -m <id> --auto low -o json 'Reply
//! exactly: <sentinel>'` in a private copy of its Droid directory, passing
//! when droid exits 0 and its result, trimmed, is exactly the sentinel.
//! The id is the one droid gives the route ([`super::models`]), checked
//! against what `droid exec --help` lists; a route droid does not load
//! (config.d/, shadowed, an id listed twice) is handed back for the
//! caller to check over HTTP.

use super::error::DroidError;
use super::home::{Home, read_by_droid};
use super::models::{id_of, listed};
use super::run::{Cli, tail};
use crate::config::{Config, SinkKind};
use crate::gateway::Endpoints;
use crate::sinks::droid::{self, Route};
use serde_json::Value;
use std::time::Duration;
use vault::Secret;

/// What the droid sentinels did.
#[derive(Debug, Default)]
pub struct Asked {
    /// `settings.json customModels[2] (custom:gw-0)`, each answered.
    pub answered: Vec<String>,
    /// Gateway routes droid does not select by an id of their own.
    pub unlisted: Vec<Route>,
}

/// One sentinel through droid per gateway route of every Droid sink of
/// `config`, each run bounded by `timeout`.
pub fn sentinels(
    cli: &Cli,
    config: &Config,
    expected: &str,
    timeout: Duration,
    hide: &[&Secret],
) -> Result<Asked, DroidError> {
    let gateway = Endpoints::new(config.gateway_urls());
    let mut asked = Asked::default();
    for sink in config.sinks.iter().filter(|s| s.kind == SinkKind::Droid) {
        let files: Vec<(&'static str, Vec<u8>)> = read_by_droid(&sink.path)
            .into_iter()
            .filter_map(|(name, path)| Some((name, std::fs::read(path).ok()?)))
            .collect();
        let parsed = |name: &str| -> Option<Value> {
            let (_, bytes) = files.iter().find(|(n, _)| *n == name)?;
            serde_json::from_slice(bytes).ok()
        };
        let (settings, local, legacy) = (
            parsed("settings.json"),
            parsed("settings.local.json"),
            parsed("config.json"),
        );
        let models = listed(settings.as_ref(), local.as_ref(), legacy.as_ref());
        let mut routes: Vec<(&str, Route)> = Vec::new();
        for (name, bytes) in &files {
            for route in droid::gateway_routes(bytes, &gateway).unwrap_or_default() {
                routes.push((name, route));
            }
        }
        // Routes in files droid does not read (config.d/*.json).
        for path in droid::files(&sink.path) {
            if files
                .iter()
                .any(|(n, _)| sink.path.join(n) == path || sink.path == path)
            {
                continue;
            }
            if let Ok(bytes) = std::fs::read(&path) {
                asked
                    .unlisted
                    .extend(droid::gateway_routes(&bytes, &gateway).unwrap_or_default());
            }
        }
        if routes.is_empty() {
            continue;
        }
        let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let home = Home::with(&borrowed, &sink.path)?;
        let help = cli.run(home.path(), &["exec", "--help"], timeout, hide)?;
        let shown = custom_models(&help.stdout);
        for (name, route) in routes {
            let id = id_of(&models, name, &route.at).filter(|id| shown.iter().any(|s| s == id));
            let Some(id) = id else {
                asked.unlisted.push(route);
                continue;
            };
            let at = format!("{} {}", sink.path.join(name).display(), route.at);
            exec(cli, &home, &at, id, expected, timeout, hide)?;
            asked.answered.push(format!("{at} ({id})"));
        }
    }
    Ok(asked)
}

fn exec(
    cli: &Cli,
    home: &Home,
    at: &str,
    id: &str,
    expected: &str,
    timeout: Duration,
    hide: &[&Secret],
) -> Result<(), DroidError> {
    let prompt = format!("Reply exactly: {expected}");
    let args = ["exec", "-m", id, "--auto", "low", "-o", "json", &prompt];
    let ran = cli.run(home.path(), &args, timeout, hide)?;
    let result = serde_json::from_str::<Value>(ran.stdout.trim())
        .ok()
        .filter(|v| v.get("is_error").and_then(Value::as_bool) != Some(true))
        .and_then(|v| v.get("result").and_then(Value::as_str).map(str::to_string));
    match result {
        Some(got) if ran.status.success() && got.trim() == expected => Ok(()),
        Some(got) if ran.status.success() => Err(DroidError::Mismatch {
            at: at.into(),
            id: id.into(),
            expected: expected.into(),
            got: tail(&got),
        }),
        _ => Err(DroidError::ExecFailed {
            at: at.into(),
            id: id.into(),
            status: match ran.status.code() {
                Some(code) => format!("exit {code}"),
                None => "killed".into(),
            },
            detail: tail(&format!("{}\n{}", ran.stderr, ran.stdout)),
        }),
    }
}

/// The ids in the `Custom Models:` section of `droid exec --help`.
pub(crate) fn custom_models(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Custom Models:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_custom_model_ids() {
        let help = "Available Models:\n\nCustom Models:\n  custom:gw-a-0        gw-a\n  my-id-b              gw-b\n\nModel details:\n";
        assert_eq!(custom_models(help), ["custom:gw-a-0", "my-id-b"]);
        assert!(custom_models("Available Models:\n\n\nModel details:\n").is_empty());
    }
}
