//! A virtual-key rotation's work at the gateway, as the journal records it
//! ([`Pending`], before the new key is generated) and as it is settled:
//! once the transaction committed, the old key is deleted after its grace
//! and the new key takes the alias ([`finish`]); when it did not, the new
//! key is deleted and the old one is left as it was ([`withdraw`]). Both
//! run in the rotation itself and, after a crash, in `recover`; both may
//! run twice (a key already gone is fine). The journal holds LiteLLM's
//! tokens (the keys' SHA-256, what its database stores), never a key.

use super::api::{Admin, Deleted, token};
use super::error::VirtualKeyError;
use crate::config::VirtualKeySpec;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vault::Secret;

/// A key as the journal names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyRef {
    pub fingerprint: String,
    /// LiteLLM's token ([`token`]).
    pub token: String,
}

impl KeyRef {
    pub(crate) fn of(key: &Secret) -> KeyRef {
        KeyRef {
            fingerprint: key.fingerprint(),
            token: token(key),
        }
    }
}

/// A virtual key being rotated, recorded (and fsynced) before the new key
/// is generated at the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The source value.
    pub name: String,
    pub alias: String,
    /// The alias the new key carries while the old one still has `alias`
    /// (LiteLLM keeps aliases unique).
    pub provisional: String,
    /// The gateway's URL.
    pub url: String,
    /// `None`: the value is new (`--key NAME` created it).
    pub old: Option<KeyRef>,
    pub new: KeyRef,
    pub grace_ms: u64,
}

/// The alias a new key carries until the old one is deleted.
pub(crate) fn provisional(alias: &str, tx: &str) -> String {
    format!("{alias}.litekeys-{tx}")
}

/// Milliseconds since the epoch, for the journal.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Pending {
    pub(crate) fn new(
        spec: &VirtualKeySpec,
        url: &str,
        old: Option<&Secret>,
        new: &Secret,
        tx: &str,
    ) -> Pending {
        Pending {
            name: spec.name.clone(),
            alias: spec.alias.clone(),
            provisional: provisional(&spec.alias, tx),
            url: url.to_string(),
            old: old.filter(|o| *o != new).map(KeyRef::of),
            new: KeyRef::of(new),
            grace_ms: u64::try_from(spec.grace.as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub(crate) fn grace(&self) -> Duration {
        Duration::from_millis(self.grace_ms)
    }

    /// When the grace of a transaction committed at `committed_ms` ends
    /// (`None`: the commit time is not known, the grace counts from now).
    pub(crate) fn grace_until(&self, committed_ms: Option<u64>) -> u64 {
        committed_ms
            .unwrap_or_else(now_ms)
            .saturating_add(self.grace_ms)
    }
}

/// The committed side: waits until `until_ms` (never longer than the
/// grace; not at all for a value that had no old key), deletes the old
/// key, gives the new key its alias. Says what it did.
pub(crate) fn finish(
    pending: &Pending,
    master: &Secret,
    until_ms: u64,
    timeout: Duration,
) -> Result<String, VirtualKeyError> {
    let wait = match pending.old {
        Some(_) => Duration::from_millis(until_ms.saturating_sub(now_ms())).min(pending.grace()),
        None => Duration::ZERO,
    };
    std::thread::sleep(wait);
    let admin = Admin::new(&pending.url, master, timeout)?;
    let mut said = Vec::new();
    if let Some(old) = &pending.old {
        match admin.delete(&old.token)? {
            Deleted::Now => said.push(format!(
                "old virtual key {} deleted at the gateway after {:.1} s of grace",
                old.fingerprint,
                wait.as_secs_f64()
            )),
            Deleted::Absent => said.push(format!(
                "old virtual key {} was not at the gateway (deleted before)",
                old.fingerprint
            )),
        }
    }
    admin.rename(&pending.new.token, &pending.alias)?;
    said.push(format!(
        "{} {} is key_alias {:?}",
        pending.name, pending.new.fingerprint, pending.alias
    ));
    Ok(said.join("; "))
}

/// The rolled-back side: deletes the new key (if it was made); the old
/// one was never changed.
pub(crate) fn withdraw(
    pending: &Pending,
    master: &Secret,
    timeout: Duration,
) -> Result<String, VirtualKeyError> {
    let admin = Admin::new(&pending.url, master, timeout)?;
    Ok(match admin.delete(&pending.new.token)? {
        Deleted::Now => format!(
            "the new virtual key {} was deleted at the gateway",
            pending.new.fingerprint
        ),
        Deleted::Absent => format!(
            "the new virtual key {} was never made at the gateway",
            pending.new.fingerprint
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VirtualKeySpec {
        VirtualKeySpec {
            name: "LITELLM_DROID_KEY".into(),
            alias: "droid".into(),
            grace: Duration::from_millis(1500),
            origin: "t".into(),
        }
    }

    #[test]
    fn the_record_names_tokens_and_fingerprints_never_a_key() {
        let old = Secret::from("sk-old-virtual-key-value".to_string());
        let new = Secret::from("sk-new-virtual-key-value".to_string());
        let p = Pending::new(&spec(), "http://127.0.0.1:4000", Some(&old), &new, "0a1b2c");
        assert_eq!(p.provisional, "droid.litekeys-0a1b2c");
        assert_eq!(p.old.as_ref().unwrap().token, token(&old));
        assert_eq!(p.new.fingerprint, new.fingerprint());
        let text = serde_json::to_string(&p).unwrap();
        assert!(
            !text.contains("sk-old") && !text.contains("sk-new"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Pending>(&text).unwrap(), p);
        assert_eq!(p.grace_until(Some(1000)), 2500);
        // A value the source did not hold has no old key to delete.
        assert!(
            Pending::new(&spec(), "http://x:1", None, &new, "t")
                .old
                .is_none()
        );
    }

    #[test]
    fn an_unreachable_gateway_is_an_error_and_nothing_waits_past_the_grace() {
        let port = crate::gateway::test_server::free_port();
        let old = Secret::from("sk-old-virtual-key-value".to_string());
        let new = Secret::from("sk-new-virtual-key-value".to_string());
        let mut s = spec();
        s.grace = Duration::ZERO;
        let p = Pending::new(
            &s,
            &format!("http://127.0.0.1:{port}"),
            Some(&old),
            &new,
            "t",
        );
        let master = Secret::from("sk-master-value-here".to_string());
        let start = std::time::Instant::now();
        // A deadline far away is cut to the grace (0 here).
        let err = finish(&p, &master, u64::MAX, Duration::from_secs(1)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(matches!(err, VirtualKeyError::Unreachable { .. }), "{err}");
        assert!(withdraw(&p, &master, Duration::from_secs(1)).is_err());
    }
}
