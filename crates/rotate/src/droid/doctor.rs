//! `droid doctor --config --json` on the Droid settings a transaction
//! writes. Before anything is written it checks the planned content (a
//! private home holding the files as they would be after the write: the
//! check that can refuse a change Droid would reject, with nothing
//! written); after the write, the files as written (droid may rewrite
//! its settings meanwhile). Without droid on PATH neither runs, and the
//! outcome says so.

use super::error::DroidError;
use super::home::{Home, read_by_droid};
use super::run::{Cli, tail};
use crate::config::{Config, SinkKind};
use crate::sinks::FileChange;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vault::Secret;

/// Bound on one doctor run (it takes ~0.5 s offline).
const TIMEOUT: Duration = Duration::from_secs(30);

/// What a doctor check did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Doctored {
    /// No Droid file changes: nothing to check.
    Nothing,
    /// Passed on this many Droid directories.
    Passed(usize),
    /// Not run: droid is not on PATH.
    NotChecked,
}

impl Doctored {
    /// The line the outcome shows, if any.
    pub fn line(&self) -> Option<String> {
        match self {
            Doctored::Nothing => None,
            Doctored::Passed(n) => Some(format!("droid doctor passed on {n} Droid dir(s)")),
            Doctored::NotChecked => {
                Some("Droid settings not checked by droid doctor: droid is not on PATH".into())
            }
        }
    }
}

/// The Droid sinks `changed` (configured paths) touch, with the files
/// droid reads from each.
fn touched(config: &Config, changed: &[PathBuf]) -> Vec<(PathBuf, Vec<(&'static str, PathBuf)>)> {
    config
        .sinks
        .iter()
        .filter(|s| s.kind == SinkKind::Droid)
        .map(|s| (s.path.clone(), read_by_droid(&s.path)))
        .filter(|(_, files)| files.iter().any(|(_, p)| changed.contains(p)))
        .collect()
}

/// Before the write: each touched Droid directory as `changes` would
/// leave it.
pub(crate) fn doctor_planned(
    config: &Config,
    changes: &[FileChange],
    hide: &[&Secret],
) -> Result<Doctored, DroidError> {
    let changed: Vec<PathBuf> = changes.iter().map(|c| c.shown.clone()).collect();
    check(
        config,
        &changed,
        hide,
        "refuses the settings this change would write",
        |path| match changes.iter().find(|c| c.shown == path) {
            Some(c) => Some(c.after.to_vec()),
            None => std::fs::read(path).ok(),
        },
    )
}

/// After the write: each touched Droid directory as it now is.
pub fn doctor_written(
    config: &Config,
    changed: &[PathBuf],
    hide: &[&Secret],
) -> Result<Doctored, DroidError> {
    check(
        config,
        changed,
        hide,
        "refuses the settings as written",
        |path| std::fs::read(path).ok(),
    )
}

fn check(
    config: &Config,
    changed: &[PathBuf],
    hide: &[&Secret],
    when: &'static str,
    content: impl Fn(&Path) -> Option<Vec<u8>>,
) -> Result<Doctored, DroidError> {
    let dirs = touched(config, changed);
    if dirs.is_empty() {
        return Ok(Doctored::Nothing);
    }
    let Some(cli) = Cli::on_path() else {
        return Ok(Doctored::NotChecked);
    };
    for (dir, files) in &dirs {
        let texts: Vec<(&str, Vec<u8>)> = files
            .iter()
            .filter_map(|(name, path)| Some((*name, content(path)?)))
            .collect();
        let borrowed: Vec<(&str, &[u8])> = texts.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let home = Home::with(&borrowed, dir)?;
        let ran = cli.run(
            home.path(),
            &["doctor", "--config", "--json"],
            TIMEOUT,
            hide,
        )?;
        let report: Option<Value> = serde_json::from_str(ran.stdout.trim()).ok();
        let ok = report
            .as_ref()
            .and_then(|r| r.get("ok"))
            .and_then(Value::as_bool);
        if ran.status.success() && ok == Some(true) {
            continue;
        }
        let problems = match &report {
            Some(r) => failures(r, &home.factory(), dir),
            None => tail(&format!("{}\n{}", ran.stdout, ran.stderr)),
        };
        return Err(DroidError::Doctor {
            dir: dir.clone(),
            when,
            problems,
        });
    }
    Ok(Doctored::Passed(dirs.len()))
}

/// The failed checks of a doctor report, `file: detail; …`, the private
/// copy's paths shown as the Droid directory's.
fn failures(report: &Value, copy: &Path, dir: &Path) -> String {
    let shown = |label: &str| {
        let dir = dir.display().to_string();
        label
            .replace(&copy.display().to_string(), &dir)
            .replace("~/.factory", &dir)
    };
    let found: Vec<String> = report
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("status").and_then(Value::as_str) == Some("fail"))
        .map(|r| {
            let text = |f: &str| r.get(f).and_then(Value::as_str).unwrap_or_default();
            format!("{}: {}", shown(text("label")), text("detail"))
        })
        .collect();
    if found.is_empty() {
        "it reported a failure without details".into()
    } else {
        found.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_droid_directory_not_the_private_copy() {
        let report = serde_json::json!({"ok": false, "results": [
            {"status": "fail", "label": "/tmp/copy/.factory/settings.json", "detail": "customModels.0.provider: Invalid enum value"},
            {"status": "fail", "label": "~/.factory/settings.local.json", "detail": "customModels.1.id: Expected string"},
            {"status": "pass", "label": "Droid environment", "detail": "v0.215.0"}
        ]});
        let got = failures(
            &report,
            Path::new("/tmp/copy/.factory"),
            Path::new("/home/u/.factory"),
        );
        assert_eq!(
            got,
            "/home/u/.factory/settings.json: customModels.0.provider: Invalid enum value; /home/u/.factory/settings.local.json: customModels.1.id: Expected string"
        );
        let none = failures(
            &serde_json::json!({"ok": false}),
            Path::new("/c"),
            Path::new("/d"),
        );
        assert_eq!(none, "it reported a failure without details");
        assert_eq!(Doctored::Nothing.line(), None);
    }
}
