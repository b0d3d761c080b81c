//! Sentinels: one chat completion per model through the gateway, asking
//! for an exact reply (a fresh `LITEKEYS_SENTINEL_<hex>`, or the configured
//! text for models that answer fixed text).

use super::error::GatewayError;
use super::http::{COMPLETIONS, agent, bearer, quote, root, shown, transport_reason};
use rand::RngCore;
use std::time::Duration;
use vault::Secret;

/// What a fresh sentinel reply starts with; 16 random hex digits follow.
pub const SENTINEL_PREFIX: &str = "LITEKEYS_SENTINEL_";

/// `LITEKEYS_SENTINEL_` and 16 hex digits from the OS CSPRNG: a reply no
/// cache or canned answer can hold.
pub fn fresh_sentinel() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{SENTINEL_PREFIX}{hex}")
}

/// One chat completion through the gateway asking `model` to reply exactly
/// `expected`; passes when the reply, trimmed, is exactly that. A reply
/// quoted in an error shows none of `hide` (nor `key`).
pub fn sentinel(
    base_url: &str,
    key: &Secret,
    model: &str,
    expected: &str,
    timeout: Duration,
    hide: &[&Secret],
) -> Result<(), GatewayError> {
    let mut hidden: Vec<&Secret> = hide.to_vec();
    hidden.push(key);
    let root = root(base_url)?;
    let url = shown(&root).into_owned();
    let body = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": format!("Reply exactly: {expected}")}],
        "temperature": 0,
    });
    let auth = bearer(key)?;
    let reply = agent(timeout)
        .post(&format!("{root}{COMPLETIONS}"))
        .set("Authorization", &auth)
        .set("Content-Type", "application/json")
        .send_string(&body.to_string());
    let text = match reply {
        Ok(response) => response.into_string(),
        Err(ureq::Error::Status(status, response)) => {
            let detail = response.into_string().unwrap_or_default();
            return Err(GatewayError::SentinelRefused {
                url,
                model: model.to_string(),
                status,
                detail: quote(&detail, &hidden),
            });
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(GatewayError::Unreachable {
                url,
                reason: transport_reason(&t),
            });
        }
    };
    let text = text.map_err(|e| GatewayError::Unreachable {
        url: url.clone(),
        reason: format!("reading the reply: {e}"),
    })?;
    let got = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/choices/0/message/content")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        });
    match got {
        Some(got) if got.trim() == expected => Ok(()),
        Some(got) => Err(GatewayError::SentinelMismatch {
            url,
            model: model.to_string(),
            expected: expected.to_string(),
            got: quote(&got, &hidden),
        }),
        None => Err(GatewayError::SentinelMismatch {
            url,
            model: model.to_string(),
            expected: expected.to_string(),
            got: format!("no choices[0].message.content in {}", quote(&text, &hidden)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_sentinels_differ_and_are_plain_text() {
        let (a, b) = (fresh_sentinel(), fresh_sentinel());
        assert_ne!(a, b);
        assert_eq!(a.len(), SENTINEL_PREFIX.len() + 16);
        assert!(a.starts_with(SENTINEL_PREFIX));
        assert!(
            a[SENTINEL_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
    }
}
