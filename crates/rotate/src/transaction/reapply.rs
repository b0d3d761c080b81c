//! Putting the old keys back into a file that changed after the
//! transaction wrote it (Droid re-serialises its settings, `litekeys set`
//! rewrites the source). Restoring the backup would drop the other
//! program's change, and leaving the file would leave it on a key that was
//! never committed; so the file is read again with its kind, and only the
//! values that still hold a never-committed new key (by fingerprint) get
//! the old value again, through the same edit a rotation uses.

use super::journal::PlannedFile;
use crate::audit::KeyChange;
use crate::config::{Config, MASTER_KEY, SinkKind, SinkSpec};
use crate::error::Unverifiable;
use crate::gateway::Endpoints;
use crate::keys;
use crate::sinks::{self, Role, Target, Values, droid};
use age::x25519;
use vault::Secret;
use vault::identity::Identities;
use zeroize::Zeroizing;

/// The file's new bytes with the old keys back, or `None` when it holds
/// none of the never-committed keys (nothing to do).
pub(crate) fn reapply(
    config: &Config,
    file: &PlannedFile,
    now: Option<&[u8]>,
    before: Option<&[u8]>,
    changes: &[KeyChange],
    identities: &[x25519::Identity],
) -> Result<Option<Zeroizing<Vec<u8>>>, Unverifiable> {
    // A file removed since holds no key at all.
    let Some(now) = now else {
        return Ok(None);
    };
    if file.role == Role::Source.name() {
        return source(config, now, before, changes, identities);
    }
    let spec = config
        .sinks
        .iter()
        .find(|s| s.kind.name() == file.role && sinks::sink_files(s).contains(&file.shown))
        .ok_or(Unverifiable::NoSink)?;
    sink(config, spec, now, before, changes)
}

/// The change of `name`: a Droid sink's key is the master key's.
fn change_of<'a>(changes: &'a [KeyChange], name: &str) -> Option<&'a KeyChange> {
    changes
        .iter()
        .find(|k| k.name == name)
        .or_else(|| changes.iter().find(|k| k.name == MASTER_KEY))
}

/// What a sink file holds, by name; a Droid file's gateway routes hold the
/// sink's one key.
fn held(
    spec: &SinkSpec,
    bytes: &[u8],
    gateway: &Endpoints,
) -> Result<Vec<(String, Secret)>, Unverifiable> {
    Ok(match spec.kind {
        SinkKind::Droid => {
            let name = spec
                .keys
                .first()
                .cloned()
                .unwrap_or_else(|| MASTER_KEY.into());
            droid::gateway_keys(bytes, gateway)?
                .into_iter()
                .map(|k| (name.clone(), k))
                .collect()
        }
        _ => sinks::read_values(spec, bytes),
    })
}

fn sink(
    config: &Config,
    spec: &SinkSpec,
    now: &[u8],
    before: Option<&[u8]>,
    changes: &[KeyChange],
) -> Result<Option<Zeroizing<Vec<u8>>>, Unverifiable> {
    let gateway = Endpoints::new(config.gateway_urls());
    let current = held(spec, now, &gateway)?;
    let was = match before {
        Some(b) => held(spec, b, &gateway)?,
        None => Vec::new(),
    };
    let gateway_names = keys::gateway_key_names(config);
    let mut values = Values::default();
    let mut fix: Vec<String> = Vec::new();
    let mut never_committed: Vec<&str> = Vec::new();
    for name in &spec.keys {
        let Some(change) = change_of(changes, name) else {
            continue;
        };
        let holds_new = current
            .iter()
            .any(|(n, v)| n == name && v.fingerprint() == change.new);
        if !holds_new {
            continue;
        }
        // The value this file held before: the one the plan replaced (by
        // fingerprint), else the last one readers took.
        let old = was
            .iter()
            .find(|(n, v)| n == name && change.old.as_deref() == Some(&v.fingerprint()))
            .or_else(|| was.iter().rev().find(|(n, _)| n == name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| Unverifiable::NoOldValue { name: name.clone() })?;
        if gateway_names.contains(&name.as_str()) || spec.kind == SinkKind::Droid {
            keys::check_gateway_key(name, &old)?;
        }
        values.insert(name, old);
        fix.push(name.clone());
        never_committed.push(&change.new);
    }
    if fix.is_empty() {
        return Ok(None);
    }
    let target = Target {
        values: &values,
        keys: &fix,
        old: &[],
        gateway: &gateway,
    };
    let edit = sinks::edit_sink(spec, Some(now), &target)?;
    // Only what still holds a never-committed key may change: anything else
    // is the other program's.
    if let Some(f) = edit.fields.iter().find(|f| {
        !f.old
            .as_deref()
            .is_some_and(|o| never_committed.contains(&o))
    }) {
        return Err(Unverifiable::Other {
            field: f.name.clone(),
        });
    }
    Ok(Some(edit.bytes))
}

/// The source changed since (a `litekeys set`): the keys that still hold
/// their never-committed value get the backup's value again, the other
/// changes are kept.
fn source(
    config: &Config,
    now: &[u8],
    before: Option<&[u8]>,
    changes: &[KeyChange],
    identities: &[x25519::Identity],
) -> Result<Option<Zeroizing<Vec<u8>>>, Unverifiable> {
    let ids = Identities {
        identities: identities.to_vec(),
        ..Identities::default()
    };
    let doc = vault::Document::parse(&config.source, now)?;
    let data_key = doc.data_key(&ids)?;
    let current = Values::from_plaintext(&doc.decrypt(&data_key)?);
    let stale: Vec<&KeyChange> = changes
        .iter()
        .filter(|k| {
            current
                .get(&k.name)
                .is_some_and(|v| v.fingerprint() == k.new)
        })
        .collect();
    if stale.is_empty() {
        return Ok(None);
    }
    let Some(before) = before else {
        return Err(Unverifiable::NoOldValue {
            name: stale[0].name.clone(),
        });
    };
    let old_doc = vault::Document::parse(&config.source, before)?;
    let old = Values::from_plaintext(&old_doc.decrypt(&old_doc.data_key(&ids)?)?);
    let mut edits = Vec::new();
    for k in stale {
        let value = old.get(&k.name).ok_or_else(|| Unverifiable::NoOldValue {
            name: k.name.clone(),
        })?;
        keys::check_gateway_key(&k.name, value)?;
        edits.push(vault::Change::Set(k.name.clone(), value.clone()));
    }
    let fixed = doc.apply(&data_key, &edits)?;
    Ok(Some(Zeroizing::new(fixed.to_bytes())))
}
