//! Pinned recipients: who may receive a file's data key. sops' MAC does not
//! cover the `sops_age__list_N__map_*` lines, so anyone who can write the
//! file can add a stanza for their own recipient (copying another
//! stanza's `enc` keeps "MAC ok"); the next write that wraps the data key
//! afresh would wrap it for them too. The pin — the `age` recipients of the
//! matching `.sops.yaml` creation rule (later also `litekeys.toml`) — is the
//! truth: a write wraps the data key only for pinned recipients and refuses
//! while the file lists others.

use crate::error::Error;
use crate::sops_config::{self, ConfigError};
use std::path::{Path, PathBuf};

/// The recipients allowed to receive a file's data key, and where they
/// are written down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientPin {
    recipients: Vec<String>,
    origin: PathBuf,
}

impl RecipientPin {
    /// A pin read from `origin` (a `.sops.yaml`, a `litekeys.toml`).
    pub fn new(origin: impl Into<PathBuf>, recipients: Vec<String>) -> RecipientPin {
        RecipientPin {
            recipients,
            origin: origin.into(),
        }
    }

    /// The pin of `file`: the recipients of the creation rule that matches
    /// it in the nearest `.sops.yaml` above it. `None` when there is no
    /// `.sops.yaml` or no rule matches the file (nothing is pinned).
    pub fn from_sops_config(file: &Path) -> Result<Option<RecipientPin>, ConfigError> {
        let dir = std::path::absolute(file)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let Some(config) = sops_config::find(&dir) else {
            return Ok(None);
        };
        match sops_config::rule_for(&config, file) {
            Ok(rule) => Ok(Some(RecipientPin::new(config, rule.recipients))),
            Err(ConfigError::NoMatch { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// Where the pin is written down.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    pub fn contains(&self, recipient: &str) -> bool {
        self.recipients.iter().any(|r| r == recipient)
    }

    /// The pin with `more` added (what `recipients add` writes back).
    pub fn with(&self, more: &[String]) -> RecipientPin {
        let mut pin = self.clone();
        for r in more {
            if !pin.contains(r) {
                pin.recipients.push(r.clone());
            }
        }
        pin
    }

    /// The recipients of `list` outside the pin, in list order.
    pub fn outside<'a, S: AsRef<str>>(&self, list: &'a [S]) -> Vec<&'a str> {
        list.iter()
            .map(AsRef::as_ref)
            .filter(|r| !self.contains(r))
            .collect()
    }

    /// Refuses a data key wrapped for `list` (the file `path`'s recipients
    /// after the write) when one of them is not pinned.
    pub fn check<S: AsRef<str>>(&self, path: &Path, list: &[S]) -> Result<(), Error> {
        let outside = self.outside(list);
        if outside.is_empty() {
            return Ok(());
        }
        Err(Error::Unpinned {
            path: path.to_path_buf(),
            origin: self.origin.clone(),
            recipients: outside.into_iter().map(str::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_the_pin() {
        let pin = RecipientPin::new(".sops.yaml", vec!["age1a".into(), "age1b".into()]);
        assert!(pin.check(Path::new("f"), &["age1b", "age1a"]).is_ok());
        let err = pin
            .check(Path::new("f"), &["age1a", "age1evil"])
            .unwrap_err();
        assert!(err.to_string().contains("age1evil"), "{err}");
        assert!(!err.to_string().contains("age1a,"), "{err}");
        assert!(
            pin.with(&["age1evil".into()])
                .check(Path::new("f"), &["age1evil"])
                .is_ok()
        );
    }
}
