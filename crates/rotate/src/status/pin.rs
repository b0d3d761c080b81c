//! `litekeys-rotate status`'s pin line: the source's recipients outside
//! the pin. sops' MAC does not cover the recipient stanzas, so a forged one
//! passes "MAC ok"; only the pin — litekeys.toml's `recipients`, else the
//! matching `.sops.yaml` creation rule's — tells it from a real one.

use crate::config::Config;
use serde_json::json;
use std::fmt;
use vault::RecipientPin;

/// The pin the source is held to, and what lies outside it.
#[derive(Clone, Debug)]
pub struct PinReport {
    /// litekeys.toml's pin, else `.sops.yaml`'s; `None`: nothing is pinned.
    pub pin: Option<RecipientPin>,
    /// The source's recipients outside `pin`, in file order.
    pub outside: Vec<String>,
    /// `.sops.yaml`'s pin, when litekeys.toml has one too and they do not
    /// name the same recipients.
    pub disagrees: Option<RecipientPin>,
    /// `.sops.yaml` could not be read (its message).
    pub unreadable: Option<String>,
}

impl PinReport {
    /// Holds `recipients` (the source's) to the configuration's pin.
    pub fn of(config: &Config, recipients: &[String]) -> PinReport {
        let (sops, unreadable) = match RecipientPin::from_sops_config(&config.source) {
            Ok(p) => (p, None),
            Err(e) => (None, Some(e.to_string())),
        };
        let disagrees = match (&config.pin, &sops) {
            (Some(ours), Some(theirs)) if !same(ours, theirs) => Some(theirs.clone()),
            _ => None,
        };
        let pin = config.pin.clone().or(sops);
        let outside = pin.as_ref().map_or_else(Vec::new, |p| {
            p.outside(recipients)
                .into_iter()
                .map(str::to_string)
                .collect()
        });
        PinReport {
            pin,
            outside,
            disagrees,
            unreadable,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "origin": self.pin.as_ref().map(|p| p.origin().display().to_string()),
            "recipients": self.pin.as_ref().map(RecipientPin::recipients),
            "outside": self.outside,
            "disagrees": self.disagrees.as_ref().map(|p| json!({
                "origin": p.origin().display().to_string(),
                "recipients": p.recipients(),
            })),
            "unreadable": self.unreadable,
        })
    }
}

/// The same recipients, in any order.
fn same(a: &RecipientPin, b: &RecipientPin) -> bool {
    a.outside(b.recipients()).is_empty() && b.outside(a.recipients()).is_empty()
}

impl fmt::Display for PinReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pin {
            None => writeln!(
                f,
                "pin     none (no recipients in litekeys.toml, no .sops.yaml creation rule matches the source): nothing tells a forged recipient stanza from a real one"
            )?,
            Some(p) => writeln!(
                f,
                "pin     {} ({} recipients)",
                p.origin().display(),
                p.recipients().len()
            )?,
        }
        if let Some(why) = &self.unreadable {
            writeln!(f, "        warning: .sops.yaml unreadable: {why}")?;
        }
        if let (Some(p), false) = (&self.pin, self.outside.is_empty()) {
            writeln!(
                f,
                "        NOT PINNED: {} (in the source, not in {}; remove with `litekeys recipients remove`)",
                self.outside.join(", "),
                p.origin().display()
            )?;
        }
        if let (Some(p), Some(other)) = (&self.pin, &self.disagrees) {
            let only_ours = other.outside(p.recipients());
            let only_theirs = p.outside(other.recipients());
            let list = |l: &[&str]| {
                if l.is_empty() {
                    "none".to_string()
                } else {
                    l.join(", ")
                }
            };
            writeln!(
                f,
                "        warning: the pins disagree: {} pins {} that {} does not, {} pins {} that {} does not ({} is the one used)",
                p.origin().display(),
                list(&only_ours),
                other.origin().display(),
                other.origin().display(),
                list(&only_theirs),
                p.origin().display(),
                p.origin().display()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use std::path::Path;

    fn config(pin: Option<Vec<&str>>) -> Config {
        let env = Env {
            cwd: "/nonexistent-litekeys-pin-test".into(),
            ..Env::default()
        };
        let mut c = Config::defaults(&env);
        c.pin = pin.map(|l| {
            RecipientPin::new(
                "/r/litekeys.toml",
                l.into_iter().map(String::from).collect(),
            )
        });
        c
    }

    #[test]
    fn outside_the_litekeys_toml_pin() {
        let r = PinReport::of(
            &config(Some(vec!["age1a", "age1b"])),
            &["age1a".into(), "age1evil".into()],
        );
        assert_eq!(r.outside, ["age1evil"]);
        let text = r.to_string();
        assert!(
            text.starts_with("pin     /r/litekeys.toml (2 recipients)\n"),
            "{text}"
        );
        assert!(text.contains("NOT PINNED: age1evil (in the source, not in /r/litekeys.toml"));
        assert_eq!(r.pin.unwrap().origin(), Path::new("/r/litekeys.toml"));
    }

    #[test]
    fn no_pin_says_so() {
        let r = PinReport::of(&config(None), &["age1a".into()]);
        assert!(r.outside.is_empty());
        assert!(r.to_string().starts_with("pin     none"), "{r}");
    }

    #[test]
    fn disagreeing_pins_are_named() {
        let ours = RecipientPin::new("/r/litekeys.toml", vec!["age1a".into(), "age1b".into()]);
        let theirs = RecipientPin::new("/r/.sops.yaml", vec!["age1b".into(), "age1c".into()]);
        let r = PinReport {
            pin: Some(ours.clone()),
            outside: Vec::new(),
            disagrees: Some(theirs.clone()),
            unreadable: None,
        };
        let text = r.to_string();
        assert!(
            text.contains("the pins disagree: /r/litekeys.toml pins age1a that /r/.sops.yaml does not, /r/.sops.yaml pins age1c that /r/litekeys.toml does not"),
            "{text}"
        );
        assert!(same(&ours, &ours.clone()) && !same(&ours, &theirs));
    }
}
