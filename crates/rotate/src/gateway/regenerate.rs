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
use super::http::{agent, bearer, is_success, quote, root, shown, transport_reason};
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
    let auth = bearer(current)?;
    // `bearer` checked `current`; `new` must be as printable.
    bearer(new)?;
    let body = Zeroizing::new(
        serde_json::json!({
            "key": current.as_str().unwrap_or_default(),
            "new_master_key": new.as_str().unwrap_or_default(),
        })
        .to_string(),
    );
    let hide = [current, new];
    let reply = agent(timeout)
        .post(&format!("{root}{REGENERATE}"))
        .set("Authorization", &auth)
        .set("Content-Type", "application/json")
        .send_string(&body);
    match reply {
        // The reply holds the new key: dropped unread.
        Ok(response) if is_success(response.status()) => Ok(()),
        Ok(response) => Err(RegenerateError::Unknown {
            url,
            why: format!("HTTP {}", response.status()),
        }),
        Err(ureq::Error::Status(status, response)) => {
            let detail = quote(&response.into_string().unwrap_or_default(), &hide);
            if (400..500).contains(&status) {
                Err(RegenerateError::Refused {
                    url,
                    status,
                    detail,
                })
            } else {
                Err(RegenerateError::Unknown {
                    url,
                    why: format!("HTTP {status}: {detail}"),
                })
            }
        }
        Err(ureq::Error::Transport(t)) => Err(RegenerateError::Unknown {
            url,
            why: transport_reason(&t),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// A one-request server answering `status` with `reply`; returns its
    /// URL and what it received (head lines and body).
    fn answer_once(
        status: &'static str,
        reply: &'static str,
    ) -> (String, std::thread::JoinHandle<(Vec<String>, String)>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                head.push(std::mem::take(&mut line));
            }
            let len: usize = head
                .iter()
                .find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            (head, String::from_utf8(body).unwrap())
        });
        (url, handle)
    }

    #[test]
    fn sends_both_keys_in_the_body_and_the_current_one_as_bearer() {
        let current = Secret::from("sk-current-master-0001".to_string());
        let new = Secret::from("sk-new-master-0002".to_string());
        let (url, seen) = answer_once("200 OK", "{\"key\":\"sk-new-master-0002\"}");
        regenerate(&url, &current, &new, Duration::from_secs(5)).unwrap();
        let (head, body) = seen.join().unwrap();
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
        let (url, _) = answer_once("401 Unauthorized", "bad key sk-current-master-0001");
        let err = regenerate(&url, &current, &new, Duration::from_secs(5)).unwrap_err();
        assert!(!err.may_have_applied(), "{err}");
        let text = err.to_string();
        assert!(text.contains("HTTP 401"), "{text}");
        assert!(!text.contains("sk-current-master-0001"), "{text}");
        let (url, _) = answer_once("500 Internal Server Error", "sk-new-master-0002 failed");
        let err = regenerate(&url, &current, &new, Duration::from_secs(5)).unwrap_err();
        assert!(err.may_have_applied(), "{err}");
        assert!(!err.to_string().contains("sk-new-master-0002"), "{err}");
    }
}
