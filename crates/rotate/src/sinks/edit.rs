//! The pure edit every sink kind follows: what it is given ([`Target`]:
//! the [`Values`], the names it holds, the old keys) and what it returns
//! ([`Edit`]: the new bytes and the [`Field`]s that changed).

use crate::gateway::Endpoints;
use std::collections::BTreeMap;
use vault::Secret;
use zeroize::Zeroizing;

/// Values by name (what the sinks should hold).
#[derive(Clone, Debug, Default)]
pub(crate) struct Values(BTreeMap<String, Secret>);

impl Values {
    /// The first value of each name, as sops' `--extract` reads it.
    pub(crate) fn from_plaintext(plain: &vault::Plaintext) -> Values {
        let mut map = BTreeMap::new();
        for (k, v, _) in plain.values() {
            map.entry(k.to_string()).or_insert_with(|| v.clone());
        }
        Values(map)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Secret> {
        self.0.get(key)
    }

    pub(crate) fn insert(&mut self, key: &str, value: Secret) {
        self.0.insert(key.to_string(), value);
    }
}

/// What a sink edit is given.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub values: &'a Values,
    /// The names this sink holds.
    pub keys: &'a [String],
    /// Literal keys to be replaced wherever they stand (the previous master
    /// key, as the source and the other sinks held it).
    pub old: &'a [Secret],
    pub gateway: &'a Endpoints,
}

/// One value that changes, shown by fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

impl Field {
    pub fn new(name: &str, old: Option<&[u8]>, new: &Secret) -> Field {
        Field {
            name: name.to_string(),
            old: old.map(vault::fingerprint),
            new: new.fingerprint(),
        }
    }
}

/// Something about a sink file that is not a change, shown by `status`
/// and the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    /// The file does not serve the source's key as it should: not in sync.
    pub drift: bool,
}

/// A file's new bytes and what changed in them.
pub(crate) struct Edit {
    pub bytes: Zeroizing<Vec<u8>>,
    pub fields: Vec<Field>,
}

impl Edit {
    pub(crate) fn unchanged(before: &[u8]) -> Edit {
        Edit {
            bytes: Zeroizing::new(before.to_vec()),
            fields: Vec::new(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Owns what a `Target` borrows.
    pub(crate) struct Owned {
        values: Values,
        keys: Vec<String>,
        gateway: Endpoints,
    }

    impl Owned {
        pub(crate) fn target(&self) -> Target<'_> {
            Target {
                values: &self.values,
                keys: &self.keys,
                old: &[],
                gateway: &self.gateway,
            }
        }
    }

    pub(crate) fn target(values: &[(&str, &str)], keys: &[&str]) -> Owned {
        let mut v = Values::default();
        for (k, s) in values {
            v.insert(k, Secret::from(s.to_string()));
        }
        Owned {
            values: v,
            keys: keys.iter().map(std::string::ToString::to_string).collect(),
            gateway: Endpoints::new(["http://127.0.0.1:4000"]),
        }
    }
}
