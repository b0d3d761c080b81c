//! LiteLLM's key management, with the master key as bearer: `POST
//! /key/generate` (the value is ours, `key`, so that the transaction knows
//! it before the gateway does), `POST /key/delete`, `POST /key/update` (the
//! alias), `GET /key/info`; and whether a key is accepted (`GET /v1/models`
//! with it as bearer). Keys go in the body or the `Authorization` header,
//! never in a URL: `/key/info` and `/key/delete` take LiteLLM's own token
//! (the key's SHA-256, [`token`]), which is what its database holds.
//! Replies are quoted with every key redacted.

use super::endpoint::{DELETE, GENERATE, INFO, UPDATE};
use super::error::VirtualKeyError;
use crate::gateway::MODELS;
use crate::gateway::http::{Reply, agent, bearer, get, post_json, read, root, shown};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use vault::Secret;
use zeroize::Zeroizing;

/// The settings of a key that a rotation carries over to the new one
/// (what it may reach and spend, who owns it), as `/key/info` shows them.
const CARRIED: &[&str] = &[
    "models",
    "team_id",
    "user_id",
    "organization_id",
    "max_budget",
    "budget_duration",
    "soft_budget",
    "tpm_limit",
    "rpm_limit",
    "max_parallel_requests",
    "model_max_budget",
    "model_rpm_limit",
    "model_tpm_limit",
    "allowed_routes",
    "aliases",
    "config",
    "permissions",
    "tags",
];

/// LiteLLM's token of a key: the SHA-256 of it, hex (`hash_token`). It is
/// what the database stores; a request with it as bearer is refused.
pub fn token(key: &Secret) -> String {
    Sha256::digest(key.expose())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `/key/info` says of a key.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Info {
    pub alias: Option<String>,
    pub blocked: bool,
    /// The [`CARRIED`] settings it has (non-null).
    pub settings: Map<String, Value>,
    pub metadata: Map<String, Value>,
}

/// Whether a deletion found the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deleted {
    Now,
    /// Not there (never made, or deleted before).
    Absent,
}

/// The gateway's key management, as its admin (the master key).
pub(crate) struct Admin<'a> {
    root: String,
    master: &'a Secret,
    timeout: Duration,
    /// Redacted from every reply quoted.
    hide: Vec<&'a Secret>,
}

impl<'a> Admin<'a> {
    pub(crate) fn new(
        base_url: &str,
        master: &'a Secret,
        timeout: Duration,
    ) -> Result<Admin<'a>, VirtualKeyError> {
        if master.is_empty() {
            return Err(VirtualKeyError::NoMaster);
        }
        Ok(Admin {
            root: root(base_url)?,
            master,
            timeout,
            hide: vec![master],
        })
    }

    /// Also redact `key` from what is quoted.
    pub(crate) fn hiding(mut self, key: &'a Secret) -> Self {
        self.hide.push(key);
        self
    }

    fn url(&self) -> String {
        shown(&self.root).into_owned()
    }

    /// One POST with a JSON body: the reply's JSON on 2xx.
    fn post(&self, what: &'static str, body: &Zeroizing<String>) -> Result<Value, VirtualKeyError> {
        let reply = post_json(
            &self.root,
            what,
            self.master,
            body,
            self.timeout,
            &self.hide,
        )?;
        self.json(what, reply)
    }

    fn json(&self, what: &'static str, reply: Reply) -> Result<Value, VirtualKeyError> {
        match reply {
            Reply::Success(response) => {
                let text = Zeroizing::new(response.into_string().unwrap_or_default());
                Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Reply::Failure { status, detail } => Err(VirtualKeyError::Refused {
                url: self.url(),
                what,
                status,
                detail: detail.unwrap_or_default(),
            }),
            Reply::Unreachable(reason) => Err(VirtualKeyError::Unreachable {
                url: self.url(),
                what,
                reason,
            }),
        }
    }

    /// Makes `key` a virtual key named `alias`, with `settings` (carried
    /// from the key it replaces) and `metadata`.
    pub(crate) fn generate(
        &self,
        key: &Secret,
        alias: &str,
        settings: &Map<String, Value>,
        metadata: Map<String, Value>,
    ) -> Result<(), VirtualKeyError> {
        let value =
            key.as_str()
                .filter(|k| k.starts_with("sk-"))
                .ok_or(VirtualKeyError::BadKey {
                    fingerprint: key.fingerprint(),
                })?;
        let mut body = settings.clone();
        body.insert("key".into(), json!(value));
        body.insert("key_alias".into(), json!(alias));
        body.insert("metadata".into(), Value::Object(metadata));
        let body = Zeroizing::new(Value::Object(body).to_string());
        // The reply echoes the key: dropped unread.
        self.post(GENERATE, &body).map(drop)
    }

    /// Deletes the key whose token is `token`.
    pub(crate) fn delete(&self, token: &str) -> Result<Deleted, VirtualKeyError> {
        let body = Zeroizing::new(json!({ "keys": [token] }).to_string());
        match self.post(DELETE, &body) {
            Ok(_) => Ok(Deleted::Now),
            Err(VirtualKeyError::Refused { status: 404, .. }) => Ok(Deleted::Absent),
            Err(e) => Err(e),
        }
    }

    /// Sets the alias of the key whose token is `token`.
    pub(crate) fn rename(&self, token: &str, alias: &str) -> Result<(), VirtualKeyError> {
        let body = Zeroizing::new(json!({ "key": token, "key_alias": alias }).to_string());
        self.post(UPDATE, &body).map(drop)
    }

    /// What the gateway knows of the key whose token is `token`; `None`
    /// when it knows no such key.
    pub(crate) fn info(&self, token: &str) -> Result<Option<Info>, VirtualKeyError> {
        let auth = bearer(self.master)?;
        let reply = agent(self.timeout)
            .get(&format!("{}{INFO}", self.root))
            .query("key", token)
            .set("Authorization", &auth)
            .call();
        let value = match self.json(INFO, read(reply, &self.hide)) {
            Ok(v) => v,
            Err(VirtualKeyError::Refused { status: 404, .. }) => return Ok(None),
            // LiteLLM answers an unknown token with a 400 naming it.
            Err(VirtualKeyError::Refused {
                status: 400,
                detail,
                ..
            }) if detail.contains("not found") || detail.contains("does not exist") => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let info = value.get("info").and_then(Value::as_object);
        let field = |name: &str| info.and_then(|i| i.get(name)).filter(|v| !v.is_null());
        Ok(Some(Info {
            alias: field("key_alias").and_then(Value::as_str).map(String::from),
            blocked: field("blocked").and_then(Value::as_bool).unwrap_or(false),
            settings: CARRIED
                .iter()
                .filter_map(|k| Some(((*k).to_string(), field(k)?.clone())))
                .collect(),
            metadata: field("metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        }))
    }
}

/// `GET /v1/models` with `key` as bearer: its status (2xx: accepted).
pub(crate) fn probe(
    base_url: &str,
    key: &Secret,
    timeout: Duration,
) -> Result<u16, VirtualKeyError> {
    Ok(get(&root(base_url)?, MODELS, Some(key), timeout)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::test_server::serve;

    #[test]
    fn the_token_is_litellms_hash() {
        // python3 -c 'import hashlib; print(hashlib.sha256(b"sk-1234").hexdigest())'
        assert_eq!(
            token(&Secret::from("sk-1234".to_string())),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
    }

    #[test]
    fn generate_sends_the_key_in_the_body_and_quotes_refusals_redacted() {
        let master = Secret::from("sk-master-of-the-test".to_string());
        let key = Secret::from("sk-virtual-of-the-test".to_string());
        let (url, server) = serve(vec![
            ("200 OK", "{\"key\": \"sk-virtual-of-the-test\"}"),
            (
                "400 Bad Request",
                "{\"error\": {\"message\": \"Key with alias 'droid' already exists. sk-virtual-of-the-test\"}}",
            ),
        ]);
        let admin = Admin::new(&url, &master, Duration::from_secs(5))
            .unwrap()
            .hiding(&key);
        let mut settings = Map::new();
        settings.insert("models".into(), json!(["m"]));
        let mut meta = Map::new();
        meta.insert("litekeys_tx".into(), json!("abc"));
        admin
            .generate(&key, "droid", &settings, meta.clone())
            .unwrap();
        let err = admin.generate(&key, "droid", &settings, meta).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("HTTP 400") && msg.contains("already exists"),
            "{msg}"
        );
        assert!(!msg.contains("sk-virtual-of-the-test"), "{msg}");
        assert!(!msg.contains("sk-master-of-the-test"), "{msg}");
        let seen = server.join().unwrap();
        let (head, body) = &seen[0];
        assert!(head[0].starts_with("POST /key/generate "), "{head:?}");
        assert!(!head[0].contains("sk-"), "no key in the URL");
        assert!(
            head.iter()
                .any(|h| h.trim() == "Authorization: Bearer sk-master-of-the-test")
        );
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["key"], "sk-virtual-of-the-test");
        assert_eq!(body["key_alias"], "droid");
        assert_eq!(body["metadata"]["litekeys_tx"], "abc");
        assert_eq!(body["models"], json!(["m"]));
    }

    #[test]
    fn delete_and_info_use_the_token_and_a_missing_key_is_absent() {
        let master = Secret::from("sk-master-of-the-test".to_string());
        let (url, server) = serve(vec![
            ("200 OK", "{\"deleted_keys\": [\"t\"]}"),
            (
                "404 Not Found",
                "{\"detail\": {\"error\": \"No keys found\"}}",
            ),
            (
                "200 OK",
                "{\"key\": \"t\", \"info\": {\"key_alias\": \"droid\", \"blocked\": null, \"models\": [], \"max_budget\": null, \"metadata\": {\"litekeys_tx\": \"abc\"}}}",
            ),
            ("404 Not Found", "{}"),
        ]);
        let admin = Admin::new(&url, &master, Duration::from_secs(5)).unwrap();
        assert_eq!(admin.delete("t0ken").unwrap(), Deleted::Now);
        assert_eq!(admin.delete("t0ken").unwrap(), Deleted::Absent);
        let info = admin.info("t0ken").unwrap().unwrap();
        assert_eq!(info.alias.as_deref(), Some("droid"));
        assert!(!info.blocked);
        assert_eq!(info.settings.len(), 1, "{:?}", info.settings);
        assert_eq!(info.metadata["litekeys_tx"], "abc");
        assert_eq!(admin.info("t0ken").unwrap(), None);
        let seen = server.join().unwrap();
        assert!(seen[0].0[0].starts_with("POST /key/delete "));
        assert_eq!(seen[0].1, "{\"keys\":[\"t0ken\"]}");
        assert!(
            seen[2].0[0].starts_with("GET /key/info?key=t0ken "),
            "{:?}",
            seen[2].0
        );
    }

    #[test]
    fn no_master_key_is_said_before_any_request() {
        let empty = Secret::new(Vec::new());
        assert!(matches!(
            Admin::new("http://127.0.0.1:1", &empty, Duration::from_secs(1)),
            Err(VirtualKeyError::NoMaster)
        ));
    }
}
