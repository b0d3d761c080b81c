//! New gateway keys: `sk-` and 48 base62 characters from the OS CSPRNG
//! (about 285 bits; LiteLLM wants the `sk-` prefix and refuses weak keys).

use rand::RngCore;
use rand::rngs::OsRng;
use vault::Secret;
use zeroize::Zeroizing;

pub(crate) const PREFIX: &str = "sk-";
/// At least 43 base62 characters (≥ 256 bits); 48 keeps a margin.
pub(crate) const BODY_LEN: usize = 48;

const BASE62: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh key. Bytes from the OS CSPRNG, 64 at a time (one getrandom
/// call, not one per character); a byte is used only below 248 = 4 x 62,
/// so every character is equally likely (no modulo bias).
pub fn generate() -> Secret {
    let mut bytes = Vec::with_capacity(PREFIX.len() + BODY_LEN);
    bytes.extend_from_slice(PREFIX.as_bytes());
    let mut random = Zeroizing::new([0u8; 64]);
    while bytes.len() < PREFIX.len() + BODY_LEN {
        OsRng.fill_bytes(random.as_mut());
        for &b in random.iter().filter(|b| **b < 248) {
            if bytes.len() == PREFIX.len() + BODY_LEN {
                break;
            }
            bytes.push(BASE62[usize::from(b % 62)]);
        }
    }
    Secret::new(bytes)
}

/// The shortest value accepted as a gateway key. LiteLLM refuses weak
/// keys; the point here is to stop an empty or truncated value (sops'
/// MAC does not cover empty values) before it reaches a sink or a restart.
pub const MIN_KEY_LEN: usize = 16;

/// What makes a value implausible as a gateway key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Implausible {
    #[error("is empty")]
    Empty,
    #[error("is shorter than {MIN_KEY_LEN} characters")]
    Short,
    #[error("holds whitespace")]
    Whitespace,
    #[error("holds a character that is not printable ASCII")]
    NotPrintable,
    #[error(
        "looks like an environment reference ($NAME, ${{NAME}}, env:NAME), which Droid would read as one"
    )]
    Reference,
}

/// A gateway key (`LITELLM_MASTER_KEY`, `LITELLM_SALT_KEY`, a key a Droid
/// route receives) that cannot be one. Names the key, never shows the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} {why}: not a plausible gateway key; fix it in the source (nothing was changed)")]
pub struct ImplausibleKey {
    pub name: String,
    pub why: Implausible,
}

/// Whether `value` can be the gateway key `name`: non-empty, printable
/// ASCII without whitespace, at least [`MIN_KEY_LEN`] characters, and not
/// shaped like an environment reference. Called before anything acts on a
/// value (a sink write, a restart).
pub fn check_gateway_key(name: &str, value: &Secret) -> Result<(), ImplausibleKey> {
    let bytes = value.expose();
    let why = if bytes.is_empty() {
        Some(Implausible::Empty)
    } else if bytes.iter().any(u8::is_ascii_whitespace) {
        Some(Implausible::Whitespace)
    } else if !bytes.iter().all(u8::is_ascii_graphic) {
        Some(Implausible::NotPrintable)
    } else if value
        .as_str()
        .is_some_and(crate::sinks::droid::is_reference)
    {
        Some(Implausible::Reference)
    } else if bytes.len() < MIN_KEY_LEN {
        Some(Implausible::Short)
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(ImplausibleKey {
            name: name.to_string(),
            why,
        }),
    }
}

/// The names whose values are gateway keys: LiteLLM's master and salt
/// keys, and the key each Droid sink hands its routes. (Also what
/// `litekeys-watch` checks before it syncs or restarts.)
pub fn gateway_key_names(config: &crate::config::Config) -> Vec<&str> {
    use crate::config::{MASTER_KEY, SALT_KEY, SinkKind};
    let mut names = vec![MASTER_KEY, SALT_KEY];
    for spec in config.sinks.iter().filter(|s| s.kind == SinkKind::Droid) {
        if let Some(k) = spec.keys.first().filter(|k| !names.contains(&k.as_str())) {
            names.push(k);
        }
    }
    names
}

/// Whether a value looks like a key this module generates.
#[cfg(test)]
pub(crate) fn is_generated_shape(value: &[u8]) -> bool {
    value.len() >= PREFIX.len() + 43
        && value.starts_with(PREFIX.as_bytes())
        && value[PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_uniqueness() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose().len(), 3 + BODY_LEN);
        assert!(is_generated_shape(a.expose()));
        assert_ne!(a, b);
        assert!(!is_generated_shape(b"sk-1234"));
    }

    #[test]
    fn gateway_keys_must_be_plausible() {
        let check =
            |v: &str| check_gateway_key("K", &Secret::from(v.to_string())).map_err(|e| e.why);
        assert_eq!(check(""), Err(Implausible::Empty));
        assert_eq!(check("sk-short"), Err(Implausible::Short));
        assert_eq!(
            check("sk-aaaaaaaa bbbbbbbbbb"),
            Err(Implausible::Whitespace)
        );
        assert_eq!(check("sk-aaaaaaaaaaaaa"), Ok(()));
        assert_eq!(check("sk-aaaaaaaaaaaaaaaa\n"), Err(Implausible::Whitespace));
        assert_eq!(
            check("sk-aaaaaaaaaaaaaaaa\u{e9}"),
            Err(Implausible::NotPrintable)
        );
        assert_eq!(
            check("sk-aaaaaaaaaaaaaaaa\x07"),
            Err(Implausible::NotPrintable)
        );
        for r in [
            "$LITELLM_MASTER_KEY",
            "${LITELLM_MASTER_KEY}",
            "env:LITELLM_MASTER_KEY",
        ] {
            assert_eq!(check(r), Err(Implausible::Reference), "{r}");
        }
        assert_eq!(check(r#"sk-pe%rc\ent"quote%%s\\"#), Ok(()));
        assert_eq!(check(generate().as_str().unwrap()), Ok(()));
        let e = check_gateway_key("LITELLM_SALT_KEY", &Secret::from("tiny-value".to_string()))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("LITELLM_SALT_KEY is shorter than 16"), "{e}");
        assert!(!e.contains("tiny-value"), "{e}");
    }

    #[test]
    fn every_base62_character_turns_up() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.extend(generate().expose()[3..].iter().copied());
        }
        assert_eq!(seen.len(), 62);
    }
}
