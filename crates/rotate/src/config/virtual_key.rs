//! `[[virtual_key]]`: a source value that is a LiteLLM virtual key (made
//! with the master key through `/key/generate`, refused once deleted), so
//! that `litekeys-rotate --key NAME` rotates it at the gateway with no
//! restart. Sinks name it like any other value.

use crate::gateway::{MASTER_KEY, SALT_KEY};
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The longest grace: the rotation waits it in-process (and `recover`
/// after a crash), so it stays short.
pub const MAX_GRACE: Duration = Duration::from_secs(300);

/// The longest alias: LiteLLM takes 255 characters, and a rotation names
/// the new key `<alias>.litekeys-<tx>` until the old one is deleted.
pub const MAX_ALIAS: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVirtualKey {
    name: Spanned<String>,
    alias: Option<Spanned<String>>,
    grace: Option<Spanned<String>>,
}

/// A source value that is a LiteLLM virtual key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualKeySpec {
    /// The source value holding it (`LITELLM_DROID_KEY`).
    pub name: String,
    /// Its `key_alias` on the gateway [default: the name].
    pub alias: String,
    /// How long the old key stays valid once every sink holds the new one.
    pub grace: Duration,
    /// `file:line`, for messages.
    pub origin: String,
}

/// What is wrong with a `[[virtual_key]]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VirtualKeyRule {
    #[error("virtual_key name {0:?} is not a variable name (letters, digits, _)")]
    NotEnvName(String),
    #[error(
        "virtual_key name {0} is the gateway's own key: a virtual key is another source value (e.g. LITELLM_DROID_KEY), made with the master key"
    )]
    GatewayKey(String),
    #[error("virtual_key {0} is declared twice")]
    Duplicate(String),
    #[error(
        "virtual_key alias {0:?} must be 2 to {MAX_ALIAS} characters of letters, digits and _-/.@, starting and ending with a letter or digit (LiteLLM's rule)"
    )]
    Alias(String),
    #[error("virtual_key alias {0:?} is used twice (LiteLLM keeps aliases unique)")]
    DuplicateAlias(String),
    #[error(
        "grace must be a number and a unit, s or m (\"0s\", \"30s\", \"2m\"), at most {}s",
        MAX_GRACE.as_secs()
    )]
    Grace,
}

/// The `[[virtual_key]]` entries of `path`, checked; `line` maps a span to
/// its line. A broken rule comes back with the span it is about (the
/// parser turns it into a `file:line` error).
pub(super) fn specs(
    raw: &[Spanned<RawVirtualKey>],
    path: &Path,
    line: &dyn Fn(Range<usize>) -> usize,
) -> Result<Vec<VirtualKeySpec>, (Range<usize>, VirtualKeyRule)> {
    let fail = |span: Range<usize>, rule: VirtualKeyRule| (span, rule);
    let mut out: Vec<VirtualKeySpec> = Vec::new();
    for entry in raw {
        let r = entry.get_ref();
        let name = r.name.get_ref();
        if !vault::is_env_name(name) {
            return Err(fail(
                r.name.span(),
                VirtualKeyRule::NotEnvName(name.clone()),
            ));
        }
        if name == MASTER_KEY || name == SALT_KEY {
            return Err(fail(
                r.name.span(),
                VirtualKeyRule::GatewayKey(name.clone()),
            ));
        }
        if out.iter().any(|o| &o.name == name) {
            return Err(fail(r.name.span(), VirtualKeyRule::Duplicate(name.clone())));
        }
        let (alias, alias_span) = match &r.alias {
            Some(a) => (a.get_ref().clone(), a.span()),
            None => (name.clone(), r.name.span()),
        };
        if !alias_ok(&alias) {
            return Err(fail(alias_span, VirtualKeyRule::Alias(alias)));
        }
        if out.iter().any(|o| o.alias == alias) {
            return Err(fail(alias_span, VirtualKeyRule::DuplicateAlias(alias)));
        }
        let grace = match &r.grace {
            Some(g) => grace(g.get_ref()).ok_or_else(|| fail(g.span(), VirtualKeyRule::Grace))?,
            None => Duration::ZERO,
        };
        out.push(VirtualKeySpec {
            name: name.clone(),
            alias,
            grace,
            origin: format!("{}:{}", path.display(), line(entry.span())),
        });
    }
    Ok(out)
}

/// LiteLLM's alias rule (`_validate_key_alias_format` when enabled), so
/// that no gateway refuses it: 2 to [`MAX_ALIAS`] characters of
/// `[A-Za-z0-9_-/.@]`, alphanumeric at both ends.
fn alias_ok(alias: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_-/.@".contains(c);
    (2..=MAX_ALIAS).contains(&alias.len())
        && alias.chars().all(ok_char)
        && alias.starts_with(|c: char| c.is_ascii_alphanumeric())
        && alias.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `"0s"`, `"30s"`, `"1.5m"`: zero or more, at most [`MAX_GRACE`].
fn grace(text: &str) -> Option<Duration> {
    let secs = super::duration::seconds(text, &[("s", 1.0), ("m", 60.0)])?;
    (secs.is_finite() && secs >= 0.0 && secs <= MAX_GRACE.as_secs_f64())
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::env::Env;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/r/litekeys.toml"), text, &Env::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_issue_example_parses_and_the_alias_defaults_to_the_name() {
        let c = parse(
            "[[virtual_key]]\nname = \"LITELLM_DROID_KEY\"\nalias = \"droid\"\ngrace = \"0s\"\n\n[[virtual_key]]\nname = \"CLAUDE_KEY\"\ngrace = \"1.5m\"\n",
        )
        .unwrap();
        assert_eq!(
            c.virtual_keys[0],
            VirtualKeySpec {
                name: "LITELLM_DROID_KEY".into(),
                alias: "droid".into(),
                grace: Duration::ZERO,
                origin: "/r/litekeys.toml:1".into(),
            }
        );
        assert_eq!(c.virtual_keys[1].alias, "CLAUDE_KEY");
        assert_eq!(c.virtual_keys[1].grace, Duration::from_secs(90));
        assert!(parse("").unwrap().virtual_keys.is_empty());
    }

    #[test]
    fn bad_entries_name_their_line() {
        let cases = [
            (
                "[[virtual_key]]\nname = \"LITELLM_MASTER_KEY\"\n",
                "/r/litekeys.toml:2: virtual_key name LITELLM_MASTER_KEY is the gateway's own key",
            ),
            (
                "[[virtual_key]]\nname = \"LITELLM_SALT_KEY\"\n",
                "/r/litekeys.toml:2: virtual_key name LITELLM_SALT_KEY",
            ),
            (
                "[[virtual_key]]\nname = \"not-a-name\"\n",
                "/r/litekeys.toml:2: virtual_key name \"not-a-name\" is not a variable name",
            ),
            (
                "[[virtual_key]]\nname = \"KEY\"\n[[virtual_key]]\nname = \"KEY\"\n",
                "/r/litekeys.toml:4: virtual_key KEY is declared twice",
            ),
            (
                "[[virtual_key]]\nname = \"A\"\nalias = \"droid\"\n[[virtual_key]]\nname = \"B\"\nalias = \"droid\"\n",
                "/r/litekeys.toml:6: virtual_key alias \"droid\" is used twice",
            ),
            (
                "[[virtual_key]]\nname = \"A\"\nalias = \"-droid\"\n",
                "/r/litekeys.toml:3: virtual_key alias \"-droid\" must be",
            ),
            (
                "[[virtual_key]]\nname = \"A\"\nalias = \"a b\"\n",
                "/r/litekeys.toml:3: virtual_key alias",
            ),
            (
                "[[virtual_key]]\nname = \"AB\"\n\ngrace = \"1h\"\n",
                "/r/litekeys.toml:4: grace must be",
            ),
            (
                "[[virtual_key]]\nname = \"AB\"\nsecret = \"x\"\n",
                "/r/litekeys.toml:3: unknown field `secret`",
            ),
        ];
        for (text, want) in cases {
            let msg = parse(text).unwrap_err();
            assert!(msg.starts_with(want), "{text:?}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn grace_and_alias_rules() {
        assert_eq!(grace("0s"), Some(Duration::ZERO));
        assert_eq!(grace("5m"), Some(MAX_GRACE));
        assert_eq!(grace("250ms"), None);
        for bad in ["", "5", "-1s", "6m", "1h", "s", "NaNs"] {
            assert_eq!(grace(bad), None, "{bad}");
        }
        for good in ["droid", "team/droid@lab.1", "a1"] {
            assert!(alias_ok(good), "{good}");
        }
        for bad in [
            "d",
            "droid.",
            "_droid",
            "dr oid",
            "dröid",
            &"a".repeat(MAX_ALIAS + 1),
        ] {
            assert!(!alias_ok(bad), "{bad}");
        }
    }
}
