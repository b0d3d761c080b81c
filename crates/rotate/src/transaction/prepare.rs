//! Everything validated and computed before the first change: the source
//! decrypted, the new values, every sink read, parsed and planned, every
//! target checked writable, the Droid routes for the sentinels.

use super::plan::{Plan, PlanFile};
use super::reencrypt;
use super::request::Request;
use super::salt_guard;
use crate::audit::KeyChange;
use crate::config::{Config, MASTER_KEY, SinkKind};
use crate::error::{Error, Result, SourceError};
use crate::gateway::Endpoints;
use crate::keys;
use crate::sinks::{self, Field, FileChange, Role, Values, droid};
use vault::store::Snapshot;
use vault::{Document, Secret};

/// Everything validated and computed before the first change.
pub(crate) struct Prepared {
    pub(crate) plan: Plan,
    pub(crate) changes: Vec<FileChange>,
    pub(crate) recipients: Vec<String>,
    pub(crate) old_master: Option<Secret>,
    pub(crate) new_master: Option<Secret>,
    pub(crate) routes: Vec<droid::Route>,
    /// Every value of the source, the fresh ones and the keys replaced:
    /// redacted from whatever a child process or the gateway prints.
    pub(crate) hide: Vec<Secret>,
    /// LiteLLM's stored credentials across the master-key change.
    pub(crate) stored: reencrypt::Phase,
    /// The virtual key rotated (`--key NAME`), old and new value.
    pub(crate) virtual_key: Option<crate::virtual_key::Rotation>,
}

pub(crate) fn prepare(req: &Request<'_>, fresh: &[(String, Secret)]) -> Result<Prepared> {
    let config = req.config;
    let doc = Document::read(&config.source)?;
    if !doc.metadata.is_native() {
        return Err(Error::source(&config.source, SourceError::NotAgeOnly));
    }
    let data_key = doc.data_key(req.identities)?;
    let plain = doc.decrypt(&data_key)?;
    let current = Values::from_plaintext(&plain);
    salt_guard::check_salt_flag(config, req.action, &current)?;
    let old_master = current.get(MASTER_KEY).cloned();
    let mut values = current.clone();
    let mut changes = Vec::new();
    let mut key_changes = Vec::new();
    if !fresh.is_empty() {
        let edits: Vec<vault::Change> = fresh
            .iter()
            .map(|(k, v)| vault::Change::Set(k.clone(), v.clone()))
            .collect();
        let new_doc = doc.apply(&data_key, &edits)?;
        let mut fields = Vec::new();
        for (k, v) in fresh {
            let old = current.get(k);
            fields.push(Field::new(k, old.map(Secret::expose), v));
            key_changes.push(KeyChange {
                name: k.clone(),
                old: old.map(Secret::fingerprint),
                new: v.fingerprint(),
            });
            values.insert(k, v.clone());
        }
        let target =
            vault::store::resolve(&config.source).map_err(|e| Error::io(&config.source, e))?;
        let before = Snapshot::read(&target).map_err(|e| Error::io(&config.source, e))?;
        sinks::check_writable(&target).map_err(|e| Error::source(&config.source, e))?;
        let mode = std::fs::metadata(&target).map_or(0o600, |m| {
            std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777
        });
        changes.push(FileChange {
            role: Role::Source,
            shown: config.source.clone(),
            target,
            before,
            after: zeroize::Zeroizing::new(new_doc.to_bytes()),
            fields,
            mode,
        });
    }
    // Before any sink is planned: a value no gateway can run on (an empty
    // line sops' MAC does not cover) must not reach a file or a restart.
    for name in keys::gateway_key_names(config) {
        if let Some(value) = values.get(name) {
            keys::check_gateway_key(name, value).map_err(|source| Error::Implausible {
                path: config.source.clone(),
                source,
            })?;
        }
    }
    let new_master = values.get(MASTER_KEY).cloned();
    let mut old: Vec<Secret> = sinks::held(config, MASTER_KEY);
    old.extend(old_master.clone());
    old.retain(|o| Some(o) != new_master.as_ref());
    let gateway = Endpoints::new(config.gateway_urls());
    changes.extend(sinks::plan(config, &values, &old, &gateway)?);
    salt_guard::check_changes(config, req.action, &current, &changes)?;
    if fresh.is_empty() {
        key_changes = sync_summary(&changes);
    }
    let routes = gateway_routes(config, &gateway);
    let hide: Vec<Secret> = plain
        .values()
        .map(|(_, v, _)| v.clone())
        .chain(fresh.iter().map(|(_, v)| v.clone()))
        .chain(old.iter().cloned())
        .collect();
    let mut plan = Plan {
        action: req.action.name(),
        source: config.source.clone(),
        keys: key_changes,
        files: changes
            .iter()
            .map(|c| PlanFile {
                role: c.role,
                path: c.shown.clone(),
                creates: !c.before.existed(),
                fields: c.fields.clone(),
            })
            .collect(),
        pending_recovery: false,
        notes: sinks::notes(config, &values, &old, &gateway),
        stored: None,
    };
    let recipients = doc.metadata.recipients();
    let previous = old_master
        .filter(|o| Some(o) != new_master.as_ref())
        .or_else(|| old.first().cloned());
    let stored = reencrypt::decide(config, &current, previous.is_some() && new_master.is_some());
    plan.stored = stored.line();
    Ok(Prepared {
        plan,
        changes,
        recipients,
        old_master: previous,
        new_master,
        routes,
        hide,
        stored: reencrypt::Phase::new(stored),
        virtual_key: virtual_rotation(req, &current, fresh),
    })
}

/// The virtual key `req` rotates: its declaration, the source's value
/// before, and the fresh one.
fn virtual_rotation(
    req: &Request<'_>,
    current: &Values,
    fresh: &[(String, Secret)],
) -> Option<crate::virtual_key::Rotation> {
    let crate::transaction::Action::RotateVirtual { key } = req.action else {
        return None;
    };
    let spec = req.config.virtual_keys.get(key)?;
    let (_, new) = fresh.iter().find(|(name, _)| *name == spec.name)?;
    Some(crate::virtual_key::Rotation {
        spec: spec.clone(),
        old: current.get(&spec.name).filter(|v| !v.is_empty()).cloned(),
        new: new.clone(),
    })
}

/// The keys a sync changes, from the sink fields (droid fields are the
/// master key's).
fn sync_summary(changes: &[FileChange]) -> Vec<KeyChange> {
    let mut out: Vec<KeyChange> = Vec::new();
    for field in changes.iter().flat_map(|c| &c.fields) {
        let name = if vault::is_env_name(&field.name) {
            field.name.clone()
        } else {
            MASTER_KEY.to_string()
        };
        if !out.iter().any(|k| k.name == name) {
            out.push(KeyChange {
                name,
                old: field.old.clone(),
                new: field.new.clone(),
            });
        }
    }
    out
}

fn gateway_routes(config: &Config, gateway: &Endpoints) -> Vec<droid::Route> {
    config
        .sinks
        .iter()
        .filter(|s| s.kind == SinkKind::Droid)
        .flat_map(|s| droid::files(&s.path))
        .filter_map(|p| sinks::read(&p).ok())
        .filter_map(|f| droid::gateway_routes(f.bytes()?, gateway).ok())
        .flatten()
        .collect()
}
