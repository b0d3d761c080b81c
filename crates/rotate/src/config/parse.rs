//! `litekeys.toml`'s text to a [`Config`]: unknown keys and bad values are
//! errors naming the file and line.

use super::error::{ConfigError, ConfigReason};
use super::load::default_source;
use super::settings::{
    Config, DEFAULT_GATEWAY, Found, GatewayConfig, GitConfig, ManagerKind, SentinelClient,
    ServiceConfig, absolute, default_service,
};
use super::sink::{self, Layout, SinkKind, SinkSpec};
use crate::env::Env;
use crate::gateway::Endpoint;
use crate::gateway::{MASTER_KEY, SALT_KEY};
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// Seconds, integer or fractional.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(untagged)]
enum Seconds {
    Whole(u64),
    Fraction(f64),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    url: Option<Spanned<String>>,
    aliases: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<Seconds>>,
    litellm_config: Option<String>,
    sentinel: Option<Spanned<String>>,
    sentinel_client: Option<SentinelClient>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    manager: Option<ManagerKind>,
    unit: Option<String>,
    dir: Option<String>,
    service: Option<String>,
    command: Option<Vec<String>>,
    timeout: Option<Spanned<Seconds>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGit {
    push: Option<bool>,
    pull_every: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    kind: SinkKind,
    path: String,
    key: Option<String>,
    keys: Option<Vec<String>>,
    pointer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    source: Option<String>,
    recipients: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    gateway: RawGateway,
    service: Option<Spanned<RawService>>,
    #[serde(default)]
    sink: Vec<Spanned<RawSink>>,
    #[serde(default)]
    git: RawGit,
    #[serde(default)]
    virtual_key: Vec<Spanned<super::virtual_key::RawVirtualKey>>,
}

impl Config {
    pub fn parse(path: &Path, text: &str, env: &Env) -> Result<Config, ConfigError> {
        let at = |span: Option<Range<usize>>| line_of(text, span.map_or(0, |s| s.start));
        let fail = |line: usize, reason: ConfigReason| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().replace('\n', " ");
            fail(at(e.span()), ConfigReason::Toml(msg))
        })?;
        let base = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let base = absolute(&env.cwd, base);

        let source = match &raw.source {
            Some(s) => env.expand(s, &base),
            None => env
                .litekeys_file
                .clone()
                .unwrap_or_else(|| default_source(env)),
        };

        let mut pinned = Vec::new();
        for r in raw.recipients.iter().flatten() {
            check_recipient(r.get_ref()).map_err(|m| fail(at(Some(r.span())), m))?;
            if !pinned.contains(r.get_ref()) {
                pinned.push(r.get_ref().clone());
            }
        }
        let pin = raw
            .recipients
            .as_ref()
            .map(|_| vault::RecipientPin::new(path, pinned));

        let g = &raw.gateway;
        let url = match &g.url {
            Some(u) => {
                check_url(u.get_ref()).map_err(|m| fail(at(Some(u.span())), m))?;
                u.get_ref().clone()
            }
            None => DEFAULT_GATEWAY.into(),
        };
        let mut aliases = Vec::new();
        for a in g.aliases.iter().flatten() {
            check_url(a.get_ref()).map_err(|m| fail(at(Some(a.span())), m))?;
            aliases.push(a.get_ref().clone());
        }
        let gateway = GatewayConfig {
            url,
            aliases,
            timeout: duration(&g.timeout, 60, &fail, &at)?,
            litellm_config: g.litellm_config.as_deref().map(|p| env.expand(p, &base)),
            sentinel: match &g.sentinel {
                Some(t)
                    if t.get_ref().trim().is_empty()
                        || t.get_ref().chars().any(char::is_control) =>
                {
                    return Err(fail(at(Some(t.span())), ConfigReason::Sentinel));
                }
                Some(t) => Some(t.get_ref().trim().to_string()),
                None => None,
            },
            sentinel_client: g.sentinel_client.unwrap_or_default(),
        };

        let no_service = Spanned::new(0..0, RawService::default());
        let spanned = raw.service.as_ref().unwrap_or(&no_service);
        let s = spanned.get_ref();
        let service_line = at(Some(spanned.span()));
        let defaults = default_service();
        let service = ServiceConfig {
            manager: s.manager.unwrap_or(defaults.manager),
            unit: s.unit.clone().unwrap_or(defaults.unit),
            dir: s.dir.as_deref().map(|d| env.expand(d, &base)),
            service: s.service.clone().unwrap_or(defaults.service),
            command: s.command.clone().unwrap_or_default(),
            timeout: duration(&s.timeout, 30, &fail, &at)?,
        };
        match service.manager {
            ManagerKind::Command if service.command.is_empty() => {
                return Err(fail(service_line, ConfigReason::NoCommand));
            }
            ManagerKind::Compose if service.dir.is_none() => {
                return Err(fail(service_line, ConfigReason::NoComposeDir));
            }
            _ => {}
        }

        let mut sinks: Vec<SinkSpec> = Vec::new();
        for entry in &raw.sink {
            let line = at(Some(entry.span()));
            let r = entry.get_ref();
            let keys = match (&r.key, &r.keys) {
                (Some(_), Some(_)) => {
                    return Err(fail(line, ConfigReason::KeyAndKeys));
                }
                (Some(k), None) => vec![k.clone()],
                (None, Some(ks)) => ks.clone(),
                (None, None) if r.kind.master_only_by_default() => vec![MASTER_KEY.into()],
                (None, None) => vec![MASTER_KEY.into(), SALT_KEY.into()],
            };
            if keys.is_empty() {
                return Err(fail(line, ConfigReason::NoKeys));
            }
            if r.kind == SinkKind::Droid && keys.len() != 1 {
                return Err(fail(line, ConfigReason::DroidKeys));
            }
            for k in &keys {
                if !vault::is_env_name(k) {
                    return Err(fail(line, ConfigReason::NotEnvName(k.clone())));
                }
            }
            let pointer = sink::check(r.kind, r.pointer.as_deref(), &keys)
                .map_err(|e| fail(line, e.into()))?;
            let sink_path = env.expand(&r.path, &base);
            if r.kind == SinkKind::SystemdEnv {
                Layout::of(&sink_path).map_err(|e| fail(line, e.into()))?;
            }
            if let Some(other) = sinks.iter().find(|o| o.path == sink_path) {
                return Err(fail(
                    line,
                    ConfigReason::DuplicateSink {
                        path: sink_path,
                        origin: other.origin.clone(),
                    },
                ));
            }
            sinks.push(SinkSpec {
                kind: r.kind,
                path: sink_path,
                keys,
                pointer,
                origin: format!("{}:{line}", path.display()),
            });
        }

        let virtual_keys =
            super::virtual_key::specs(&raw.virtual_key, path, &|span| at(Some(span)))
                .map_err(|(span, rule)| fail(at(Some(span)), rule.into()))?;

        Ok(Config {
            file: Some(path.to_path_buf()),
            // The caller's choice of file; `Located` says how it was found.
            found: Found::Named,
            source: absolute(&env.cwd, source),
            source_walked_up: raw.source.is_none() && env.litekeys_file.is_none(),
            pin,
            gateway,
            service,
            sinks,
            state_dir: env.state_dir(),
            git: GitConfig {
                push: raw.git.push.unwrap_or(false),
                pull_every: match &raw.git.pull_every {
                    Some(every) => Some(
                        interval(every.get_ref())
                            .ok_or_else(|| fail(at(Some(every.span())), ConfigReason::PullEvery))?,
                    ),
                    None => None,
                },
            },
            virtual_keys,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn check_url(url: &str) -> Result<(), ConfigReason> {
    match Endpoint::parse(url) {
        Some(_) => Ok(()),
        None => Err(ConfigReason::NotGatewayUrl(url.to_string())),
    }
}

/// An age X25519 recipient (`age1…`); the reason never quotes the value,
/// which may be a secret key pasted by mistake.
fn check_recipient(r: &str) -> Result<(), ConfigReason> {
    match r.parse::<age::x25519::Recipient>() {
        Ok(_) => Ok(()),
        Err(_) if r.trim().to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") => {
            Err(ConfigReason::SecretKeyAsRecipient)
        }
        Err(_) => Err(ConfigReason::NotRecipient),
    }
}

/// `pull_every`: a number and a unit (`"30s"`, `"5m"`, `"1h"`), more than
/// zero and at most a day.
fn interval(text: &str) -> Option<Duration> {
    let secs = super::duration::seconds(text, &[("s", 1.0), ("m", 60.0), ("h", 3600.0)])?;
    (secs > 0.0 && secs <= 86_400.0).then(|| Duration::from_secs_f64(secs))
}

fn duration(
    value: &Option<Spanned<Seconds>>,
    default: u64,
    fail: &dyn Fn(usize, ConfigReason) -> ConfigError,
    at: &dyn Fn(Option<Range<usize>>) -> usize,
) -> Result<Duration, ConfigError> {
    let Some(v) = value else {
        return Ok(Duration::from_secs(default));
    };
    let secs = match *v.get_ref() {
        Seconds::Whole(s) => s as f64,
        Seconds::Fraction(f) => f,
    };
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(fail(at(Some(v.span())), ConfigReason::Timeout));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            home: Some("/home/u".into()),
            cwd: "/work".into(),
            ..Env::default()
        }
    }

    const EXAMPLE: &str = r#"source = "secrets/global.enc.env"        # relative to this file
[gateway]
url = "http://127.0.0.1:4000"
aliases = ["http://framework:4000"]
[service]
manager = "systemd-user"
unit = "litellm.service"
[[sink]]
kind = "dotenv"
path = "~/.config/lab-secrets/litellm.env"
keys = ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"]
[[sink]]
kind = "droid"
path = "~/.factory"
key = "LITELLM_MASTER_KEY"
[[sink]]
kind = "systemd-env"
path = "~/.config/systemd/user/litellm.service.d/litekeys.conf"
keys = ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"]
"#;

    #[test]
    fn the_issue_example_parses() {
        let c = Config::parse(Path::new("/repo/litekeys.toml"), EXAMPLE, &env()).unwrap();
        assert_eq!(c.source, Path::new("/repo/secrets/global.enc.env"));
        assert_eq!(c.gateway.aliases, ["http://framework:4000"]);
        assert_eq!(c.service.manager, ManagerKind::SystemdUser);
        assert_eq!(c.sinks.len(), 3);
        assert_eq!(
            c.sinks[0].path,
            Path::new("/home/u/.config/lab-secrets/litellm.env")
        );
        assert_eq!(c.sinks[1].keys, ["LITELLM_MASTER_KEY"]);
        assert_eq!(c.sinks[2].kind, SinkKind::SystemdEnv);
        assert_eq!(c.sinks[2].origin, "/repo/litekeys.toml:16");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let bad = EXAMPLE.replace("unit = ", "unti = ");
        let e = Config::parse(Path::new("/r/litekeys.toml"), &bad, &env()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("/r/litekeys.toml:7: unknown field `unti`"),
            "{msg}"
        );

        let bad = EXAMPLE.replace("kind = \"droid\"", "kind = \"droyd\"");
        let msg = Config::parse(Path::new("/r/l.toml"), &bad, &env())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:13: unknown variant `droyd`"),
            "{msg}"
        );

        let bad = EXAMPLE.replace("\"http://framework:4000\"", "\"framework\"");
        let msg = Config::parse(Path::new("/r/l.toml"), &bad, &env())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:4: \"framework\" is not a gateway URL"),
            "{msg}"
        );

        let bad =
            format!("{EXAMPLE}[[sink]]\nkind = \"droid\"\npath = \"/x\"\nkeys = [\"A\", \"B\"]\n");
        let msg = Config::parse(Path::new("/r/l.toml"), &bad, &env())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:20: a droid sink holds one key"),
            "{msg}"
        );

        let bad = "[service]\nmanager = \"command\"\n";
        let msg = Config::parse(Path::new("/r/l.toml"), bad, &env())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:1: manager = \"command\" needs"),
            "{msg}"
        );

        let bad = "[gateway]\ntimeout = -3\n";
        let msg = Config::parse(Path::new("/r/l.toml"), bad, &env())
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("/r/l.toml:2:"), "{msg}");
    }

    #[test]
    fn recipients_pin_the_source() {
        let ok = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        let text = format!("source = \"s.env\"\nrecipients = [\"{ok}\", \"{ok}\"]\n");
        let c = Config::parse(Path::new("/r/litekeys.toml"), &text, &env()).unwrap();
        let pin = c.pin.unwrap();
        assert_eq!(pin.recipients(), [ok]);
        assert_eq!(pin.origin(), Path::new("/r/litekeys.toml"));
        assert!(
            Config::parse(Path::new("/r/l.toml"), "", &env())
                .unwrap()
                .pin
                .is_none()
        );

        let text = format!("recipients = [\n  \"{ok}\",\n  \"age1nope\",\n]\n");
        let msg = Config::parse(Path::new("/r/l.toml"), &text, &env())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:3: a recipient in recipients is not an age X25519"),
            "{msg}"
        );
        assert!(!msg.contains("age1nope") && !msg.contains('\n'), "{msg}");

        let secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        let text = format!("recipients = [\"{secret}\"]\n");
        let msg = Config::parse(Path::new("/r/l.toml"), &text, &env())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("/r/l.toml:1: recipients holds an age SECRET key"),
            "{msg}"
        );
        assert!(!msg.contains(secret), "{msg}");
    }

    #[test]
    fn the_git_table_takes_push_and_an_interval() {
        let c = Config::parse(
            Path::new("/r/l.toml"),
            "[git]\npush = true\npull_every = \"2s\"\n",
            &env(),
        )
        .unwrap();
        assert!(c.git.push);
        assert_eq!(c.git.pull_every, Some(Duration::from_secs(2)));
        assert_eq!(interval("5m"), Some(Duration::from_secs(300)));
        assert_eq!(interval("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["0s", "30", "2d", "s", "-1s", "2 days"] {
            assert_eq!(interval(bad), None, "{bad}");
        }
        let msg = Config::parse(
            Path::new("/r/l.toml"),
            "[git]\npull_every = \"soon\"\n",
            &env(),
        )
        .unwrap_err()
        .to_string();
        assert!(msg.starts_with("/r/l.toml:2: pull_every must be"), "{msg}");
        let c = Config::parse(Path::new("/r/l.toml"), "", &env()).unwrap();
        assert!(!c.git.push && c.git.pull_every.is_none());
    }

    #[test]
    fn defaults_follow_the_seeds() {
        let c = Config::defaults(&env());
        assert_eq!(c.source, Path::new("/work/secrets/global.enc.env"));
        assert_eq!(c.gateway.url, "http://127.0.0.1:4000");
        assert_eq!(c.sinks[1].path, Path::new("/home/u/.factory"));
        assert_eq!(c.state_dir, Path::new("/home/u/.local/state/litekeys"));
    }
}
