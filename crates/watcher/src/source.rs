//! Reading the encrypted source natively: parsed, data key opened with the
//! sops identities, every value decrypted, MAC verified. Any failure
//! (missing, half-written, unparsable, tampered, no identity) is one line.

use crate::actions::{Failure, SourceKeys};
use std::collections::BTreeSet;
use std::path::Path;
use vault::Document;
use vault::identity::Identities;

/// The values named in `wanted` (absent ones are simply absent).
pub(crate) fn read(path: &Path, wanted: &BTreeSet<String>) -> Result<SourceKeys, Failure> {
    let doc = Document::read(path)?;
    // Looked up again on each change: the identity file may have been
    // added or replaced since the last one. (The OS keyring is not asked:
    // a daemon must not block on an unlock prompt.)
    let identities = Identities::discover(None);
    let key = doc.data_key(&identities)?;
    let plain = doc.decrypt(&key)?;
    let mut keys = SourceKeys::default();
    for (name, value, _) in plain.values() {
        if wanted.contains(name) && !keys.values.contains_key(name) {
            keys.values.insert(name.to_string(), value.clone());
        }
    }
    Ok(keys)
}
