//! What a key of ours looks like: the source's values (current) and the
//! audit log's fingerprints (old). Only fingerprints of old keys exist.

use crate::audit;
use crate::config::Config;
use std::collections::BTreeMap;
use vault::Secret;
use vault::identity::Identities;

/// Values shorter than this are not searched for verbatim (a `1` or
/// `true` would be found everywhere); `sk-` tokens are always hashed.
const MIN_VALUE_LEN: usize = 8;

/// The keys a scan recognises.
#[derive(Debug, Default)]
pub struct Known {
    /// The source's values now: `(NAME, value, fingerprint)`.
    pub(crate) current: Vec<(String, Secret, String)>,
    /// Fingerprint -> NAME, of every value the audit log recorded that is
    /// not current.
    pub(crate) old: BTreeMap<String, String>,
    /// Also report `sk-` tokens shaped like LiteLLM keys that are neither.
    pub(crate) unknown: bool,
}

impl Known {
    /// The source opened with `identities` (no source yet: nothing
    /// current) and `config`'s audit log.
    pub fn load(config: &Config, identities: &Identities) -> Result<Known, vault::Error> {
        let mut current = Vec::new();
        if config.source.exists() {
            let doc = vault::Document::read(&config.source)?;
            let key = doc.data_key(identities)?;
            let plain = doc.decrypt(&key)?;
            for (name, value, _) in plain.values() {
                if value.expose().len() >= MIN_VALUE_LEN {
                    current.push((name.to_string(), value.clone(), value.fingerprint()));
                }
            }
        }
        Ok(Known::new(current, audit::fingerprints(&config.state_dir)))
    }

    /// From the current values and `(NAME, fingerprint)` pairs of the log.
    pub fn new(current: Vec<(String, Secret, String)>, logged: Vec<(String, String)>) -> Known {
        let mut old = BTreeMap::new();
        for (name, fp) in logged {
            if !current.iter().any(|(_, _, c)| *c == fp) {
                old.insert(fp, name);
            }
        }
        Known {
            current,
            old,
            unknown: false,
        }
    }

    /// Also report `sk-` keys shaped like LiteLLM's that are not ours, as
    /// [`super::State::Unknown`].
    #[must_use]
    pub fn with_unknown(mut self, unknown: bool) -> Known {
        self.unknown = unknown;
        self
    }

    /// The name and state of the key with fingerprint `fp`, if it is ours.
    pub(crate) fn lookup(&self, fp: &str) -> Option<(&str, super::State)> {
        if let Some((name, _, _)) = self.current.iter().find(|(_, _, c)| c == fp) {
            return Some((name, super::State::Current));
        }
        self.old.get(fp).map(|n| (n.as_str(), super::State::Old))
    }
}
