//! `litekeys-rotate status`: every sink compared with the source (in-sync,
//! drifted, missing, unreadable), the source itself (MAC, recipients), the
//! last rotation from the audit log, and any further checks (the gateway
//! lines of the verification step plug in as [`Check`]s).

use crate::audit;
use crate::config::Config;
use crate::error::Result;
use crate::gateway::Endpoints;
use crate::sinks::{self, FileStatus, State, Values};
use crate::transaction::recover::{self, Recovered};
use serde_json::json;
use vault::Document;
use vault::identity::Identities;

/// One more line of the report (e.g. "gateway accepts the current key").
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

pub struct Status {
    pub source: std::path::PathBuf,
    pub recipients: Vec<String>,
    /// The recipients held to the pin; informational (not part of
    /// [`Status::in_sync`], which is about the sinks).
    pub pin: super::PinReport,
    /// Fingerprints of the source's values, by name.
    pub keys: Vec<(String, String)>,
    pub sinks: Vec<FileStatus>,
    pub last: Option<audit::Entry>,
    /// Another process holds the lock: a rotation is running.
    pub busy: bool,
    pub recovered: Recovered,
    pub checks: Vec<Check>,
    /// Where the configuration came from.
    pub config: String,
    /// The gateway lines, once probed (`Status::probe_gateway`);
    /// informational: not part of [`Status::in_sync`].
    pub gateway: Option<crate::gateway::GatewayLines>,
    /// The source's master key, for the gateway probe.
    pub(crate) master: Option<vault::Secret>,
    /// Each `[[virtual_key]]`: alias, fingerprint, and (once probed)
    /// whether the gateway accepts it; informational.
    pub virtual_keys: Vec<crate::virtual_key::KeyStatus>,
}

/// Settles any interrupted transaction (unless one is running), then
/// compares every sink with the source.
pub fn collect(config: &Config, identities: &Identities) -> Result<Status> {
    let lock = match vault::store::Lock::acquire(&config.source, false) {
        Ok(l) => Some(l),
        Err(vault::store::LockError::Busy(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let recovered = match lock {
        Some(_) => recover::recover(config, &identities.identities)?,
        None => Recovered::Nothing,
    };
    let doc = Document::read(&config.source)?;
    let key = doc.data_key(identities)?;
    let plain = doc.decrypt(&key)?;
    drop(lock);
    let values = Values::from_plaintext(&plain);
    let gateway = Endpoints::new(config.gateway_urls());
    let mut keys: Vec<(String, String)> = Vec::new();
    for spec in &config.sinks {
        for k in &spec.keys {
            if let Some(v) = values.get(k).filter(|_| !keys.iter().any(|(n, _)| n == k)) {
                keys.push((k.clone(), v.fingerprint()));
            }
        }
    }
    let recipients = doc.metadata.recipients();
    Ok(Status {
        source: config.source.clone(),
        pin: super::PinReport::of(config, &recipients),
        recipients,
        keys,
        sinks: sinks::inspect(config, &values, &gateway),
        last: audit::last(&config.state_dir),
        busy: lock_busy(config),
        recovered,
        checks: Vec::new(),
        config: config.origin(),
        gateway: None,
        master: values.get(crate::config::MASTER_KEY).cloned(),
        virtual_keys: crate::virtual_key::collect_status(config, |name| values.get(name).cloned()),
    })
}

fn lock_busy(config: &Config) -> bool {
    matches!(
        vault::store::Lock::acquire(&config.source, false),
        Err(vault::store::LockError::Busy(_))
    )
}

fn mode(m: Option<u32>) -> String {
    m.map_or("-".into(), |m| format!("{m:04o}"))
}

impl Status {
    pub fn in_sync(&self) -> bool {
        self.sinks.iter().all(FileStatus::in_sync) && self.checks.iter().all(|c| c.ok)
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        if self.recovered != Recovered::Nothing {
            out.push_str(&format!("{}\n", self.recovered));
        }
        if self.busy {
            out.push_str("a rotation is running (the source is locked)\n");
        }
        out.push_str(&format!(
            "source  {}  MAC ok  recipients: {}\n",
            self.source.display(),
            self.recipients.join(", ")
        ));
        out.push_str(&self.pin.to_string());
        for (name, fp) in &self.keys {
            out.push_str(&format!("        {name} {fp}\n"));
        }
        let width = self
            .sinks
            .iter()
            .map(|s| s.kind.name().len())
            .max()
            .unwrap_or(0);
        for s in &self.sinks {
            out.push_str(&format!(
                "sink    {:width$}  {:10}  {:4}  {}",
                s.kind.name(),
                s.state.name(),
                mode(s.mode),
                s.path.display()
            ));
            match &s.state {
                State::Drifted(fields) => {
                    let shown: Vec<String> = fields
                        .iter()
                        .map(|f| {
                            format!(
                                "{} {} (source {})",
                                f.name,
                                f.old.as_deref().unwrap_or("absent"),
                                f.new
                            )
                        })
                        .collect();
                    out.push_str(&format!("  {}", shown.join("; ")));
                }
                State::Unreadable(why) => out.push_str(&format!("  {why}")),
                _ => {}
            }
            out.push('\n');
            for note in &s.notes {
                let what = if note.drift { "problem" } else { "warning" };
                out.push_str(&format!("        {what}: {}\n", note.text));
            }
        }
        for c in &self.checks {
            let ok = if c.ok { "ok" } else { "FAILED" };
            out.push_str(&format!("check   {}  {ok}  {}\n", c.name, c.detail));
        }
        if let Some(g) = &self.gateway {
            out.push_str(&g.to_string());
        }
        for k in &self.virtual_keys {
            out.push_str(&k.to_string());
        }
        match &self.last {
            Some(l) => out.push_str(&format!(
                "last    {} {} {} on {}: {}\n",
                l.time,
                l.action,
                if l.verified { "verified" } else { "unverified" },
                l.host,
                l.keys.join(" ")
            )),
            None => out.push_str("last    no rotation recorded\n"),
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "config": self.config,
            "in_sync": self.in_sync(),
            "busy": self.busy,
            "recovered": match &self.recovered {
                Recovered::Nothing => serde_json::Value::Null,
                r => json!(r.to_string()),
            },
            "source": {
                "path": self.source,
                "mac": "ok",
                "recipients": self.recipients,
                "pin": self.pin.json(),
                "keys": self.keys.iter().map(|(n, f)| json!({"name": n, "fingerprint": f})).collect::<Vec<_>>(),
            },
            "sinks": self.sinks.iter().map(|s| json!({
                "kind": s.kind.name(),
                "path": s.path,
                "mode": s.mode.map(|m| format!("{m:04o}")),
                "state": s.state.name(),
                "in_sync": s.in_sync(),
                "notes": s.notes.iter().map(|n| json!({"text": n.text, "drift": n.drift})).collect::<Vec<_>>(),
                "detail": match &s.state {
                    State::Drifted(fields) => json!(fields.iter().map(|f| json!({
                        "field": f.name, "fingerprint": f.old, "source": f.new
                    })).collect::<Vec<_>>()),
                    State::Unreadable(why) => json!(why),
                    _ => serde_json::Value::Null,
                },
            })).collect::<Vec<_>>(),
            "checks": self.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
            "last_rotation": self.last,
            "gateway": self.gateway.as_ref().map(crate::gateway::GatewayLines::json),
            "virtual_keys": self.virtual_keys.iter().map(crate::virtual_key::KeyStatus::json).collect::<Vec<_>>(),
        })
    }
}
