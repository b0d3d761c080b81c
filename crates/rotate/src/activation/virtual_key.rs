//! The activation of a virtual-key rotation: nothing restarts. Before the
//! first file is written the new key is generated at the gateway (so that
//! a client reading a sink never holds a key the gateway does not know
//! yet); once every file holds it, the gateway must accept it; after the
//! commit, the old key is deleted when its grace is over. A rollback
//! deletes the new key and leaves the old one as it was.

use super::error::ActivateError;
use super::preflight::PreflightError;
use super::step::{Activate, Activation, Verification};
use crate::gateway::REQUEST_TIMEOUT;
use crate::virtual_key::api::{self, Admin};
use crate::virtual_key::pending::{self, Pending};
use crate::virtual_key::{Rotation, VirtualKeyError};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};
use vault::Secret;

/// How long a gateway may take to accept a key it has just made (its key
/// cache is filled on first use; nothing restarts).
const ACCEPT_WITHIN: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

/// Rotates `config.virtual_keys[…]` at the gateway: see the module comment.
pub struct RotateVirtualKey {
    timeout: Duration,
}

impl RotateVirtualKey {
    pub fn new(config: &crate::config::Config) -> RotateVirtualKey {
        RotateVirtualKey {
            timeout: config.gateway.timeout.min(REQUEST_TIMEOUT),
        }
    }
}

/// What the step must carry for a virtual key.
fn parts<'a>(step: &'a Activation<'_>) -> Result<(&'a Rotation, &'a str), VirtualKeyError> {
    let rotation = step
        .virtual_key
        .ok_or(VirtualKeyError::NotAVirtualKeyRotation)?;
    Ok((rotation, step.tx))
}

fn pending_of(step: &Activation<'_>) -> Result<Pending, VirtualKeyError> {
    let (rotation, tx) = parts(step)?;
    Ok(Pending::new(
        &rotation.spec,
        &step.config.gateway.url,
        rotation.old.as_ref(),
        &rotation.new,
        tx,
    ))
}

/// The metadata the new key carries: the old key's, with the transaction
/// that made it.
fn metadata(old: &Map<String, Value>, rotation: &Rotation, tx: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = old
        .iter()
        .filter(|(k, _)| !k.starts_with("litekeys_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("litekeys_tx".into(), json!(tx));
    out.insert("litekeys_name".into(), json!(rotation.spec.name));
    out.insert("litekeys_alias".into(), json!(rotation.spec.alias));
    out
}

/// Polls `GET /v1/models` with `key` until it is accepted.
fn wait_accepted(url: &str, name: &str, key: &Secret) -> Result<(u16, Duration), VirtualKeyError> {
    let start = Instant::now();
    loop {
        let last = match api::probe(url, key, REQUEST_TIMEOUT.min(ACCEPT_WITHIN)) {
            Ok(status) if (200..300).contains(&status) => return Ok((status, start.elapsed())),
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e.to_string(),
        };
        if start.elapsed() >= ACCEPT_WITHIN {
            return Err(VirtualKeyError::NotAccepted {
                url: crate::gateway::shown_url(url).into_owned(),
                name: name.to_string(),
                fingerprint: key.fingerprint(),
                last,
                waited: start.elapsed(),
            });
        }
        std::thread::sleep(POLL);
    }
}

impl Activate for RotateVirtualKey {
    /// Before anything is written or asked: the master key is there and
    /// the gateway's key management answers it.
    fn preflight(&self, step: &Activation<'_>) -> Result<(), PreflightError> {
        let check = || -> Result<(), VirtualKeyError> {
            let (rotation, _) = parts(step)?;
            let admin = Admin::new(&step.config.gateway.url, step.new, self.timeout)?;
            let probe = rotation
                .old
                .as_ref()
                .map_or_else(|| api::token(&rotation.new), api::token);
            admin.info(&probe).map(drop)
        };
        check().map_err(|e| PreflightError::VirtualKey(Box::new(e)))
    }

    fn before_write(&mut self, step: &Activation<'_>) -> Result<bool, ActivateError> {
        let (rotation, tx) = parts(step)?;
        let admin =
            Admin::new(&step.config.gateway.url, step.new, self.timeout)?.hiding(&rotation.new);
        let old = match &rotation.old {
            Some(old) => admin.info(&api::token(old))?,
            None => None,
        };
        let old = old.unwrap_or_default();
        let made = admin.generate(
            &rotation.new,
            &pending::provisional(&rotation.spec.alias, tx),
            &old.settings,
            metadata(&old.metadata, rotation, tx),
        );
        if let Err(e) = made {
            // No answer may still mean made: the journal names it, but do
            // not leave it for recovery when it can go now.
            if matches!(e, VirtualKeyError::Unreachable { .. }) {
                let _ = admin.delete(&api::token(&rotation.new));
            }
            return Err(e.into());
        }
        Ok(true)
    }

    fn activate(&mut self, step: &Activation<'_>) -> Result<Verification, ActivateError> {
        let (rotation, _) = parts(step)?;
        let (status, after) =
            wait_accepted(&step.config.gateway.url, &rotation.spec.name, &rotation.new)?;
        Ok(Verification::Verified(format!(
            "virtual key {} {} accepted by {} (HTTP {status}) after {:.0} ms; no restart",
            rotation.spec.name,
            rotation.new.fingerprint(),
            crate::gateway::shown_url(&step.config.gateway.url),
            after.as_secs_f64() * 1000.0
        )))
    }

    fn reactivate(&mut self, step: &Activation<'_>) -> Result<String, ActivateError> {
        let (rotation, _) = parts(step)?;
        let pending = pending_of(step)?;
        let mut said = pending::withdraw(&pending, step.new, self.timeout)?;
        if let Some(old) = &rotation.old {
            let status = api::probe(&step.config.gateway.url, old, self.timeout)?;
            said.push_str(&format!(
                "; the old key {} gets HTTP {status}",
                old.fingerprint()
            ));
        }
        Ok(said)
    }

    fn after_commit(&mut self, step: &Activation<'_>) -> Result<Option<String>, ActivateError> {
        let pending = pending_of(step)?;
        let until = pending.grace_until(None);
        Ok(Some(pending::finish(
            &pending,
            step.new,
            until,
            self.timeout,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VirtualKeySpec;

    #[test]
    fn the_new_key_carries_the_old_metadata_and_names_the_transaction() {
        let rotation = Rotation {
            spec: VirtualKeySpec {
                name: "LITELLM_DROID_KEY".into(),
                alias: "droid".into(),
                grace: Duration::ZERO,
                origin: "t".into(),
            },
            old: None,
            new: Secret::from("sk-new-key-of-the-test".to_string()),
        };
        let mut old = Map::new();
        old.insert("team".into(), json!("core"));
        old.insert("litekeys_tx".into(), json!("before"));
        let m = metadata(&old, &rotation, "0a1b");
        assert_eq!(m["team"], "core");
        assert_eq!(m["litekeys_tx"], "0a1b");
        assert_eq!(m["litekeys_name"], "LITELLM_DROID_KEY");
    }
}
