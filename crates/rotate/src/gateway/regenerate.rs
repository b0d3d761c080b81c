//! `POST /key/regenerate` for the master key: LiteLLM decrypts what it
//! stored in its database (model `litellm_params`, credentials, DB env
//! vars, MCP credentials) with the key it runs on and encrypts it again
//! with `new_master_key`. Only a database without `LITELLM_SALT_KEY` needs
//! it (with a salt key LiteLLM would re-encrypt with the master key instead
//! of the salt and break them). The running proxy keeps accepting only the
//! key it started with: the restart onto the new key follows.
//!
//! The body holds both keys and the reply echoes the new one: neither is
//! ever logged or quoted (a refusal's reply is quoted with both redacted).

use super::error::GatewayError;
use super::http::{Reply, bearer, post_json, root, shown};
use std::time::Duration;
use vault::Secret;
use zeroize::Zeroizing;

pub const REGENERATE: &str = "/key/regenerate";

/// How a `/key/regenerate` ended when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    /// Refused before anything changed (4xx: a wrong key, a bad body).
    #[error(
        "gateway {url} refused {REGENERATE} (HTTP {status}: {detail}); nothing was re-encrypted"
    )]
    Refused {
        url: String,
        status: u16,
        detail: String,
    },
    /// No answer, or a server error: the stored credentials may be under
    /// either key now.
    #[error(
        "gateway {url} did not complete {REGENERATE} ({why}); the stored credentials may be under either key"
    )]
    Unknown { url: String, why: String },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

impl RegenerateError {
    /// Whether LiteLLM may have re-encrypted something.
    pub fn may_have_applied(&self) -> bool {
        matches!(self, RegenerateError::Unknown { .. })
    }
}

/// Asks the gateway, which runs on `current`, to re-encrypt what it stored
/// with `new` (bearer `current`). Bounded by `timeout`.
pub fn regenerate(
    base_url: &str,
    current: &Secret,
    new: &Secret,
    timeout: Duration,
) -> Result<(), RegenerateError> {
    let root = root(base_url)?;
    let url = shown(&root).into_owned();
    // Both go in the body and `current` as bearer: both must be printable.
    bearer(current)?;
    bearer(new)?;
    let body = Zeroizing::new(
        serde_json::json!({
            "key": current.as_str().unwrap_or_default(),
            "new_master_key": new.as_str().unwrap_or_default(),
        })
        .to_string(),
    );
    match post_json(&root, REGENERATE, current, &body, timeout, &[current, new])? {
        // The reply holds the new key: dropped unread.
        Reply::Success(_) => Ok(()),
        Reply::Failure {
            status,
            detail: Some(detail),
        } if (400..500).contains(&status) => Err(RegenerateError::Refused {
            url,
            status,
            detail,
        }),
        Reply::Failure { status, detail } => Err(RegenerateError::Unknown {
            url,
            why: match detail {
                Some(detail) => format!("HTTP {status}: {detail}"),
                None => format!("HTTP {status}"),
            },
        }),
        Reply::Unreachable(why) => Err(RegenerateError::Unknown { url, why }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::test_server::serve;

    #[test]
    fn sends_both_keys_in_the_body_and_the_current_one_as_bearer() {
        let current = Secret::from("sk-current-master-0001".to_string());
        let new = Secret::from("sk-new-master-0002".to_string());
        let (url, seen) = serve(vec![("200 OK", "{\"key\":\"sk-new-master-0002\"}")]);
        regenerate(&url, &current, &new, Duration::from_secs(5)).unwrap();
        let (head, body) = seen.join().unwrap().remove(0);
        assert!(head[0].starts_with("POST /key/regenerate "), "{head:?}");
        assert!(
            head.iter()
                .any(|h| h.trim() == "Authorization: Bearer sk-current-master-0001"),
            "{head:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["key"], "sk-current-master-0001");
        assert_eq!(body["new_master_key"], "sk-new-master-0002");
    }

    #[test]
    fn a_refusal_changed_nothing_a_server_error_may_have() {
        let current = Secret::from("sk-current-master-0001".to_string());
        let new = Secret::from("sk-new-master-0002".to_string());
        let (url, _) = serve(vec![("401 Unauthorized", "bad key sk-current-master-0001")]);
        let err = regenerate(&url, &current, &new, Duration::from_secs(5)).unwrap_err();
        assert!(!err.may_have_applied(), "{err}");
        let text = err.to_string();
        assert!(text.contains("HTTP 401"), "{text}");
        assert!(!text.contains("sk-current-master-0001"), "{text}");
        let (url, _) = serve(vec![(
            "500 Internal Server Error",
            "sk-new-master-0002 failed",
        )]);
        let err = regenerate(&url, &current, &new, Duration::from_secs(5)).unwrap_err();
        assert!(err.may_have_applied(), "{err}");
        assert!(!err.to_string().contains("sk-new-master-0002"), "{err}");
    }
}
