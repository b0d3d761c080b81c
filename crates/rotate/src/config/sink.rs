//! What a sink is in the configuration: its kind, its path and keys, for
//! a systemd-env sink which of the two file layouts the path names, and for
//! a json, toml or yaml sink the [`Pointer`] to its one value.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    Dotenv,
    Droid,
    SystemdEnv,
    /// LiteLLM's config.yaml: the literal `general_settings.master_key` /
    /// `salt_key`.
    LitellmConfig,
    /// One string of a JSON client config, at a [`Pointer`].
    Json,
    /// One string of a TOML client config, at a [`Pointer`].
    Toml,
    /// One string of a YAML client config, at a [`Pointer`].
    Yaml,
}

impl SinkKind {
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Dotenv => "dotenv",
            SinkKind::Droid => "droid",
            SinkKind::SystemdEnv => "systemd-env",
            SinkKind::LitellmConfig => "litellm-config",
            SinkKind::Json => "json",
            SinkKind::Toml => "toml",
            SinkKind::Yaml => "yaml",
        }
    }

    /// A droid, json, toml or yaml sink holds one value (the master key
    /// unless it names another).
    pub fn holds_one_key(self) -> bool {
        matches!(
            self,
            SinkKind::Droid | SinkKind::Json | SinkKind::Toml | SinkKind::Yaml
        )
    }

    /// Without `keys`, the sink holds the master key alone: one-key kinds,
    /// and LiteLLM's config.yaml, where a salt key is rare (LiteLLM reads
    /// it from the environment).
    pub fn master_only_by_default(self) -> bool {
        self.holds_one_key() || self == SinkKind::LitellmConfig
    }

    /// The kinds that name their value with `pointer`.
    pub fn takes_pointer(self) -> bool {
        matches!(self, SinkKind::Json | SinkKind::Toml | SinkKind::Yaml)
    }
}

impl SinkKind {
    /// The service reads this kind at start: a change there needs a restart
    /// (LiteLLM reads its config.yaml at start; Droid settings and the other
    /// clients' configs are read by those clients, not by the gateway).
    pub fn feeds_service(self) -> bool {
        matches!(
            self,
            SinkKind::Dotenv | SinkKind::SystemdEnv | SinkKind::LitellmConfig
        )
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
    /// The source values this sink holds (a droid, json, toml or yaml sink
    /// holds one).
    pub keys: Vec<String>,
    /// Where a json, toml or yaml sink's value is; `None` for other kinds.
    pub pointer: Option<Pointer>,
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

/// An RFC 6901 JSON pointer to one value (`/env/ANTHROPIC_AUTH_TOKEN`):
/// a json sink's member path, a toml sink's table/key path, a yaml sink's
/// mapping path (array elements by index in JSON and TOML).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

impl Pointer {
    pub fn parse(text: &str) -> Result<Pointer, SinkRule> {
        let bad = |why| SinkRule::BadPointer {
            pointer: text.to_string(),
            why,
        };
        let Some(rest) = text.strip_prefix('/') else {
            return Err(bad(if text.is_empty() {
                "names the whole file, not one value"
            } else {
                "must start with / (\"/env/ANTHROPIC_AUTH_TOKEN\")"
            }));
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::new();
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match c {
                    '~' => match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => {
                            return Err(bad(
                                "has a ~ not followed by 0 or 1 (write ~ as ~0, / as ~1)",
                            ));
                        }
                    },
                    c if c.is_control() => return Err(bad("holds a control character")),
                    c => token.push(c),
                }
            }
            tokens.push(token);
        }
        Ok(Pointer {
            text: text.to_string(),
            tokens,
        })
    }

    /// The member names (or array indices), unescaped.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A `[[sink]]` whose kind, pointer and keys do not go together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkRule {
    #[error(
        "a {0} sink needs pointer = \"/table/key\" (an RFC 6901 pointer to the one value it holds)"
    )]
    NeedsPointer(&'static str),
    #[error("pointer is for json, toml and yaml sinks, not {0}")]
    NoPointer(&'static str),
    #[error("pointer {pointer:?} {why}")]
    BadPointer { pointer: String, why: &'static str },
    #[error("a {0} sink holds one key (key = \"LITELLM_MASTER_KEY\")")]
    OneKey(&'static str),
    #[error(
        "a litellm-config sink holds LITELLM_MASTER_KEY (general_settings.master_key) and LITELLM_SALT_KEY (general_settings.salt_key), not {0:?}"
    )]
    LitellmKey(String),
}

/// The pointer of a sink of `kind` holding `keys`, checked: required for
/// json, toml and yaml, refused elsewhere; those hold one key, and a
/// litellm-config sink only the two keys its file has a place for.
pub(super) fn check(
    kind: SinkKind,
    pointer: Option<&str>,
    keys: &[String],
) -> Result<Option<Pointer>, SinkRule> {
    if kind.holds_one_key() && keys.len() != 1 {
        return Err(SinkRule::OneKey(kind.name()));
    }
    if kind == SinkKind::LitellmConfig {
        if let Some(other) = keys.iter().find(|k| {
            k.as_str() != crate::gateway::MASTER_KEY && k.as_str() != crate::gateway::SALT_KEY
        }) {
            return Err(SinkRule::LitellmKey(other.clone()));
        }
    }
    match (kind.takes_pointer(), pointer) {
        (true, None) => Err(SinkRule::NeedsPointer(kind.name())),
        (false, Some(_)) => Err(SinkRule::NoPointer(kind.name())),
        (true, Some(p)) => Pointer::parse(p).map(Some),
        (false, None) => Ok(None),
    }
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
        // LiteLLM reads its config.yaml at start; the clients' files feed no service.
        assert!(SinkKind::LitellmConfig.feeds_service());
        for k in [SinkKind::Json, SinkKind::Toml, SinkKind::Yaml] {
            assert!(!k.feeds_service() && !k.needs_daemon_reload());
        }
    }

    /// The syntax agreed for issue 14 (what `adopt` writes) parses.
    const AGREED: &str = r#"[[sink]]
kind = "litellm-config"
path = "~/.config/litellm/config.yaml"
keys = ["LITELLM_MASTER_KEY"]

[[sink]]
kind = "json"
path = "~/.claude/settings.json"
pointer = "/env/ANTHROPIC_AUTH_TOKEN"
keys = ["LITELLM_MASTER_KEY"]

[[sink]]
kind = "toml"
path = "~/.openhands/config.toml"
pointer = "/llm/api_key"
keys = ["LITELLM_MASTER_KEY"]

[[sink]]
kind = "yaml"
path = "~/.config/foo/config.yaml"
pointer = "/client/api_key"
"#;

    #[test]
    fn the_agreed_syntax_parses_and_a_pointer_elsewhere_names_the_line() {
        use crate::config::{Config, Env};
        let env = Env {
            home: Some("/home/u".into()),
            cwd: "/work".into(),
            ..Env::default()
        };
        let c = Config::parse(Path::new("/r/litekeys.toml"), AGREED, &env).unwrap();
        let kinds: Vec<SinkKind> = c.sinks.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SinkKind::LitellmConfig,
                SinkKind::Json,
                SinkKind::Toml,
                SinkKind::Yaml
            ]
        );
        assert!(c.sinks[0].pointer.is_none());
        let p = c.sinks[1].pointer.as_ref().unwrap();
        assert_eq!(p.tokens(), ["env", "ANTHROPIC_AUTH_TOKEN"]);
        assert_eq!(c.sinks[1].path, Path::new("/home/u/.claude/settings.json"));
        // Without keys, a yaml sink holds the master key.
        assert_eq!(c.sinks[3].keys, ["LITELLM_MASTER_KEY"]);
        let text = AGREED.replace(
            "keys = [\"LITELLM_MASTER_KEY\"]\n\n[[sink]]\nkind = \"json\"",
            "\n[[sink]]\nkind = \"json\"",
        );
        assert_ne!(text, AGREED);
        let c = Config::parse(Path::new("/r/litekeys.toml"), &text, &env).unwrap();
        assert_eq!(
            c.sinks[0].keys,
            ["LITELLM_MASTER_KEY"],
            "litellm-config's default"
        );

        let bad = "[[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\npointer = \"/a\"\n";
        let msg = Config::parse(Path::new("/r/l.toml"), bad, &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "/r/l.toml:1: pointer is for json, toml and yaml sinks, not droid"
        );
        let bad = AGREED.replace("pointer = \"/llm/api_key\"\n", "");
        let msg = Config::parse(Path::new("/r/l.toml"), &bad, &env)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:12: a toml sink needs pointer"),
            "{msg}"
        );
    }

    #[test]
    fn pointers_unescape_and_refuse_what_rfc_6901_does() {
        let p = Pointer::parse("/env/ANTHROPIC_AUTH_TOKEN").unwrap();
        assert_eq!(p.tokens(), ["env", "ANTHROPIC_AUTH_TOKEN"]);
        assert_eq!(p.to_string(), "/env/ANTHROPIC_AUTH_TOKEN");
        let p = Pointer::parse("/provider/a~1b~0c/0/").unwrap();
        assert_eq!(p.tokens(), ["provider", "a/b~c", "0", ""]);
        for bad in ["", "env/x", "/a~2", "/a~", "/a\nb"] {
            assert!(Pointer::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pointer_goes_with_json_toml_and_yaml_only() {
        let one = vec!["LITELLM_MASTER_KEY".to_string()];
        let both = vec![
            "LITELLM_MASTER_KEY".to_string(),
            "LITELLM_SALT_KEY".to_string(),
        ];
        assert!(check(SinkKind::Json, Some("/a"), &one).unwrap().is_some());
        assert_eq!(
            check(SinkKind::Yaml, None, &one),
            Err(SinkRule::NeedsPointer("yaml"))
        );
        assert_eq!(
            check(SinkKind::Droid, Some("/a"), &one),
            Err(SinkRule::NoPointer("droid"))
        );
        assert_eq!(
            check(SinkKind::Toml, Some("/a"), &both),
            Err(SinkRule::OneKey("toml"))
        );
        assert!(
            check(SinkKind::LitellmConfig, None, &both)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            check(
                SinkKind::LitellmConfig,
                None,
                &["OPENAI_API_KEY".to_string()]
            ),
            Err(SinkRule::LitellmKey("OPENAI_API_KEY".into()))
        );
        assert!(
            SinkRule::NoPointer("litellm-config")
                .to_string()
                .starts_with("pointer is for json, toml and yaml sinks")
        );
    }
}
