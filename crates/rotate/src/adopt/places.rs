//! Every place on the machine that holds the gateway's key, by value (the
//! scanner's walk and candidate search, with the values found as the
//! current keys), each classified: a file a sink kind manages (Droid's
//! settings, Claude Code, opencode, OpenHands and continue.dev configs,
//! LiteLLM's config.yaml, the dotenv and systemd files the gateway reads), or a
//! place only reported (shell rc files and histories, unit files, any
//! other file) with the fix to make by hand. Shell rc files are never
//! edited.

use super::fields::{assigned, droid_routes, json_pointers, toml_pointers, yaml_pointers};
use super::gateway::{Found, Gateway};
use super::{At, Roots};
use crate::config::{Layout, MASTER_KEY};
use crate::scan::{self, Finding, Known};
use crate::sinks::{dotenv, droid, systemd_env};
use std::path::{Path, PathBuf};

/// Shell start-up files: reported, never edited.
const SHELL_RC: [&str; 7] = [
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".bashrc",
    ".bash_profile",
    ".profile",
    ".config/fish/config.fish",
];
const HISTORIES: [&str; 3] = [
    ".bash_history",
    ".zsh_history",
    ".local/share/fish/fish_history",
];
/// Claude Code's settings (`env.ANTHROPIC_AUTH_TOKEN`): json sinks.
const CLAUDE: [&str; 2] = [".claude/settings.json", ".claude/settings.local.json"];
/// opencode (`provider.*.options.apiKey`), under the config directory.
const OPENCODE: &str = "opencode/opencode.json";
/// OpenHands (`[llm] api_key`): toml sinks.
const OPENHANDS: [&str; 1] = [".openhands/config.toml"];
const OPENHANDS_XDG: &str = "openhands/config.toml";
/// continue.dev (`models[].apiKey`): yaml sinks.
const CONTINUE: &str = ".continue/config.yaml";

/// A sink adopt writes into litekeys.toml.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Sink {
    pub(super) kind: &'static str,
    pub(super) path: PathBuf,
    pub(super) pointer: Option<String>,
    pub(super) keys: Vec<&'static str>,
}

/// Why a place is only reported, and what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fix {
    Shell,
    History,
    Unit,
    /// A second field of a file another row manages (one sink per file).
    Second,
    /// A Droid route holding the key whose base URL is not the gateway's.
    Elsewhere,
    Unknown,
}

impl Fix {
    pub(super) fn text(self, name: &str) -> String {
        match self {
            Fix::Shell => format!(
                "report only (never edited): use \"$(litekeys get {name})\" there, or run the command under `litekeys exec`"
            ),
            Fix::History => {
                "report only: shell history: delete the line (the key is in plaintext there)".into()
            }
            Fix::Unit => "report only: a unit file: move the Environment= line into a drop-in (litellm.service.d/litekeys.conf), which litekeys manages".into(),
            Fix::Elsewhere => "report only: the route points elsewhere, not at the gateway: if that is the gateway under another name, add it to [gateway] aliases; else give the route its own key".into(),
            Fix::Second => "report only: a second field of a file already managed: remove it, or point it at the managed one".into(),
            Fix::Unknown => format!(
                "report only: remove the key there; read it with `litekeys get {name}` or `litekeys exec`"
            ),
        }
    }

    fn holds(self) -> &'static str {
        match self {
            Fix::Shell => "a shell rc file",
            Fix::History => "a shell history line",
            Fix::Unit => "a systemd unit file",
            Fix::Elsewhere | Fix::Second | Fix::Unknown => "the key, in plaintext",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Manage(Sink),
    Report(Fix),
}

/// One row of the table.
#[derive(Clone, Debug)]
pub(super) struct Place {
    pub(super) at: At,
    /// The source names it holds.
    pub(super) names: Vec<&'static str>,
    /// What in the file holds the key.
    pub(super) holds: String,
    pub(super) action: Action,
    /// A Droid file's routes holding the master key: where, and their base
    /// URL (settled against the gateway's URL by [`Places::settle_routes`]).
    pub(super) routes: Vec<(String, String)>,
}

/// The places, the base URLs of the Droid routes that hold the master key
/// (the gateway's URL and aliases), and files the scan could not read.
pub(super) struct Places {
    pub(super) rows: Vec<Place>,
    pub(super) route_urls: Vec<String>,
    pub(super) problems: Vec<String>,
}

impl Places {
    /// The files of clients (Droid, Claude Code, OpenHands, …: not the
    /// gateway's own) that litekeys will manage and that hold the master
    /// key, once each.
    pub(super) fn clients_on_master(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for place in &self.rows {
            if let Action::Manage(sink) = &place.action {
                let client = matches!(sink.kind, "droid" | "json" | "toml" | "yaml");
                if client && sink.keys.contains(&MASTER_KEY) && !out.contains(&sink.path.as_path())
                {
                    out.push(&sink.path);
                }
            }
        }
        out
    }

    /// Droid routes go through the gateway by URL only (the droid sink
    /// rotates those): a route holding the key that points elsewhere is
    /// reported, never aliased on a guess, and a file with no gateway route
    /// is no sink.
    pub(super) fn settle_routes(&mut self, url: &str) {
        let gateway = crate::gateway::Endpoints::new([url]);
        let mut settled = Vec::new();
        for mut place in std::mem::take(&mut self.rows) {
            if place.routes.is_empty() {
                settled.push(place);
                continue;
            }
            let (ours, elsewhere): (Vec<_>, Vec<_>) = std::mem::take(&mut place.routes)
                .into_iter()
                .partition(|(_, base)| gateway.matches(base));
            if !ours.is_empty() {
                place.holds = ours
                    .iter()
                    .map(|(at, _)| at.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                place.routes = ours;
                settled.push(place.clone());
            }
            for (at, base) in elsewhere {
                settled.push(Place {
                    at: place.at.clone(),
                    names: vec![MASTER_KEY],
                    holds: format!("{at} -> {}", crate::gateway::shown_url(&base)),
                    action: Action::Report(Fix::Elsewhere),
                    routes: Vec::new(),
                });
            }
        }
        self.rows = settled;
    }
}

enum Kind {
    Droid,
    Json,
    Toml,
    Yaml,
    LitellmConfig,
    Dotenv,
    SystemdEnv(Layout),
    Unit,
    Shell,
    History,
    Unknown,
}

fn same(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real(a) == real(b)
}

fn kind_of(roots: &Roots, gateway: &Gateway, path: &Path) -> Kind {
    let home = &roots.home;
    let factory = home.join(".factory");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = path.parent().unwrap_or(Path::new("/"));
    let is = |rel: &str| same(path, &home.join(rel));
    if (same(parent, &factory) && droid::FILES.contains(&name.as_str()))
        || (same(parent, &factory.join(droid::CONFIG_D)) && name.ends_with(".json"))
    {
        Kind::Droid
    } else if CLAUDE.iter().any(|r| is(r)) || same(path, &roots.config_home.join(OPENCODE)) {
        Kind::Json
    } else if OPENHANDS.iter().any(|r| is(r)) || same(path, &roots.config_home.join(OPENHANDS_XDG))
    {
        Kind::Toml
    } else if is(CONTINUE) {
        Kind::Yaml
    } else if gateway.config.as_deref().is_some_and(|c| same(c, path)) {
        Kind::LitellmConfig
    } else if let Ok(layout) = Layout::of(path) {
        Kind::SystemdEnv(layout)
    } else if name.ends_with(".service") {
        Kind::Unit
    } else if gateway.env_files.iter().any(|e| same(e, path)) || name == "litellm.env" {
        Kind::Dotenv
    } else if SHELL_RC.iter().any(|r| is(r)) {
        Kind::Shell
    } else if HISTORIES.iter().any(|r| is(r)) {
        Kind::History
    } else {
        Kind::Unknown
    }
}

/// The rows of one file, from its findings (in line order).
fn classify(roots: &Roots, gateway: &Gateway, path: &Path, hits: &[&Finding], out: &mut Places) {
    let values = &gateway.values;
    let names: Vec<&'static str> = values
        .iter()
        .filter(|f| hits.iter().any(|h| h.key == f.name))
        .map(|f| f.name)
        .collect();
    let first = At::new(path, hits[0].line);
    let bytes = std::fs::read(path).unwrap_or_default();
    let manage = |kind: &'static str,
                  pointer: Option<String>,
                  keys: Vec<&'static str>,
                  holds: String| Place {
        at: first.clone(),
        names: keys.clone(),
        holds,
        action: Action::Manage(Sink {
            kind,
            path: path.to_path_buf(),
            pointer,
            keys,
        }),
        routes: Vec::new(),
    };
    let managed: Option<Place> = match kind_of(roots, gateway, path) {
        Kind::Droid => {
            let routes = droid_routes(&bytes, &values[0]);
            out.route_urls.extend(routes.iter().map(|(_, u)| u.clone()));
            (!routes.is_empty()).then(|| {
                let mut place = manage("droid", None, vec![MASTER_KEY], String::new());
                if let Action::Manage(sink) = &mut place.action {
                    sink.path = roots.home.join(".factory");
                }
                place.routes = routes;
                place
            })
        }
        Kind::Json => {
            let mut pointers = Vec::new();
            if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                json_pointers(&doc, "", values, &mut pointers);
            }
            pointer_place(&pointers, &first, out)
                .map(|(p, name)| manage("json", Some(p.clone()), vec![name], p))
        }
        Kind::Toml => {
            let mut pointers = Vec::new();
            if let Ok(doc) = toml::from_str::<toml::Value>(&String::from_utf8_lossy(&bytes)) {
                toml_pointers(&doc, "", values, &mut pointers);
            }
            pointer_place(&pointers, &first, out)
                .map(|(p, name)| manage("toml", Some(p.clone()), vec![name], p))
        }
        Kind::Yaml => {
            let mut pointers = Vec::new();
            if let Ok(doc) = serde_yaml_ng::from_slice::<serde_yaml_ng::Value>(&bytes) {
                yaml_pointers(&doc, "", values, &mut pointers);
            }
            pointer_place(&pointers, &first, out)
                .map(|(p, name)| manage("yaml", Some(p.clone()), vec![name], p))
        }
        Kind::LitellmConfig => {
            let keys: Vec<&'static str> = gateway
                .literal
                .iter()
                .copied()
                .filter(|n| names.contains(n))
                .collect();
            (!keys.is_empty()).then(|| {
                let holds = keys
                    .iter()
                    .map(|k| {
                        if *k == MASTER_KEY {
                            "general_settings.master_key"
                        } else {
                            "general_settings.salt_key"
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                manage("litellm-config", None, keys, holds)
            })
        }
        Kind::Dotenv => {
            let keys = assigned(values, &dotenv::read_values(&bytes));
            (!keys.is_empty()).then(|| manage("dotenv", None, keys, "NAME=value lines".into()))
        }
        Kind::SystemdEnv(layout) => {
            let keys = assigned(values, &systemd_env::read_values(layout, &bytes));
            let holds = if layout == Layout::DropIn {
                "Environment= lines"
            } else {
                "NAME=value lines"
            };
            (!keys.is_empty()).then(|| manage("systemd-env", None, keys, holds.into()))
        }
        Kind::Unit => report_all(path, hits, values, Fix::Unit, out),
        Kind::Shell => report_all(path, hits, values, Fix::Shell, out),
        Kind::History => report_all(path, hits, values, Fix::History, out),
        Kind::Unknown => report_all(path, hits, values, Fix::Unknown, out),
    };
    match managed {
        Some(place) => out.rows.push(place),
        // A known file whose key is not where its sink would look.
        None if !out.rows.iter().any(|p| p.at.path == path) => {
            report_all(path, hits, values, Fix::Unknown, out);
        }
        None => {}
    }
}

/// One sink per file: the first pointer is managed (returned), the others
/// reported as second fields.
fn pointer_place(
    pointers: &[(String, &'static str)],
    first: &At,
    out: &mut Places,
) -> Option<(String, &'static str)> {
    for (p, name) in pointers.iter().skip(1) {
        out.rows.push(Place {
            at: first.clone(),
            names: vec![*name],
            holds: p.clone(),
            action: Action::Report(Fix::Second),
            routes: Vec::new(),
        });
    }
    pointers.first().cloned()
}

/// One report row per line holding a key; `None`: nothing to manage.
fn report_all(
    path: &Path,
    hits: &[&Finding],
    values: &[Found],
    fix: Fix,
    out: &mut Places,
) -> Option<Place> {
    let mut seen: Vec<usize> = Vec::new();
    for h in hits {
        if seen.contains(&h.line) {
            continue;
        }
        seen.push(h.line);
        let names: Vec<&'static str> = hits
            .iter()
            .filter(|o| o.line == h.line)
            .filter_map(|o| values.iter().find(|f| f.name == o.key).map(|f| f.name))
            .collect();
        out.rows.push(Place {
            at: At::new(path, h.line),
            names,
            holds: fix.holds().into(),
            action: Action::Report(fix),
            routes: Vec::new(),
        });
    }
    None
}

/// The paths searched: the current repository (its .gitignore honoured),
/// and, with nothing ignored, the client configs, the shell files, the
/// gateway's config directory and environment files.
fn paths(roots: &Roots, gateway: &Gateway) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let repo = scan::default_paths(None, &roots.cwd);
    let home = &roots.home;
    let mut rest: Vec<PathBuf> = [".factory", ".claude", ".openhands", ".continue"]
        .iter()
        .chain(SHELL_RC.iter())
        .chain(HISTORIES.iter())
        .map(|r| home.join(r))
        .collect();
    rest.push(roots.config_home.clone());
    if let Some(dir) = gateway.config.as_deref().and_then(Path::parent) {
        rest.push(dir.to_path_buf());
    }
    rest.extend(gateway.env_files.iter().cloned());
    rest.retain(|p| p.exists());
    rest.sort();
    rest.dedup();
    (repo, rest)
}

pub(super) fn find(roots: &Roots, gateway: &Gateway) -> Places {
    let current = gateway
        .values
        .iter()
        .map(|f| (f.name.to_string(), f.value.clone(), f.value.fingerprint()))
        .collect();
    let known = Known::new(current, Vec::new());
    let (repo, rest) = paths(roots, gateway);
    let mut found = scan::scan(
        &scan::Options {
            paths: repo,
            ..scan::Options::default()
        },
        &known,
    );
    let all = scan::scan(
        &scan::Options {
            paths: rest,
            no_ignore: true,
            ..scan::Options::default()
        },
        &known,
    );
    found.findings.extend(all.findings);
    found.problems.extend(all.problems);
    let mut findings: Vec<Finding> = found
        .findings
        .into_iter()
        .map(|mut f| {
            f.path = std::fs::canonicalize(&f.path).unwrap_or(f.path);
            f
        })
        .collect();
    findings.sort();
    findings.dedup();
    let mut out = Places {
        rows: Vec::new(),
        route_urls: Vec::new(),
        problems: found.problems,
    };
    let mut files: Vec<&Path> = findings.iter().map(|f| f.path.as_path()).collect();
    files.dedup();
    for file in files {
        let hits: Vec<&Finding> = findings.iter().filter(|f| f.path == file).collect();
        classify(roots, gateway, file, &hits, &mut out);
    }
    out
}
