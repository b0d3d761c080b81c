//! The HTTP client of the gateway checks: one bounded request at a time, no
//! proxy from the environment, no redirects, the key only in the
//! `Authorization` header; and how URLs and replies are shown in messages.

use super::error::GatewayError;
use std::time::{Duration, Instant};
use url::Url;
use vault::Secret;
use zeroize::Zeroizing;

/// Needs no key; 200 once the proxy serves requests.
pub const LIVELINESS: &str = "/health/liveliness";
/// Needs a key; cheap, touches no upstream.
pub const MODELS: &str = "/v1/models";
pub const COMPLETIONS: &str = "/v1/chat/completions";

/// Bound on one request to a gateway that is up (a probe, one poll).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two polls of a gateway that is (re)starting.
pub(crate) const POLL: Duration = Duration::from_millis(100);
/// How much of a reply a message quotes.
pub(crate) const QUOTE_CHARS: usize = 200;

/// The gateway's root URL: `base_url` trimmed, without trailing `/` or a
/// final `/v1` (Droid routes end in `/v1` or `/v1/`).
pub fn root(base_url: &str) -> Result<String, GatewayError> {
    let text = base_url.trim();
    let bad = || GatewayError::BadUrl {
        url: shown(text).into_owned(),
    };
    let mut url = Url::parse(text).map_err(|_| bad())?;
    // `http:///v1` parses (the host would be `v1`): a host must follow `//`.
    let after_scheme = &text[url.scheme().len()..];
    if !matches!(url.scheme(), "http" | "https") || after_scheme.starts_with(":///") {
        return Err(bad());
    }
    let mut path = url.path().trim_end_matches('/');
    if let Some(without) = path.strip_suffix("/v1") {
        path = without.trim_end_matches('/');
    }
    let path = path.to_string();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The bound of one request made while waiting for `deadline`: what is
/// left, at least one poll, at most a request's usual bound.
pub(crate) fn budget(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .clamp(POLL, REQUEST_TIMEOUT)
}

pub(crate) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// No proxy from the environment (the gateway is usually on loopback), no
/// redirects (a key must not follow one), bounded connect and request.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(timeout.min(REQUEST_TIMEOUT))
        .timeout(timeout)
        .redirects(0)
        .build()
}

pub(crate) fn bearer(key: &Secret) -> Result<Zeroizing<String>, GatewayError> {
    let value = key
        .as_str()
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| GatewayError::BadKey {
            fingerprint: key.fingerprint(),
        })?;
    Ok(Zeroizing::new(format!("Bearer {value}")))
}

/// One GET: the status (any), or `Unreachable` when none came back.
pub(crate) fn get(
    root: &str,
    path: &str,
    key: Option<&Secret>,
    timeout: Duration,
) -> Result<u16, GatewayError> {
    let mut request = agent(timeout).get(&format!("{root}{path}"));
    let auth;
    if let Some(key) = key {
        auth = bearer(key)?;
        request = request.set("Authorization", &auth);
    }
    match request.call() {
        Ok(response) => Ok(response.status()),
        Err(ureq::Error::Status(status, _)) => Ok(status),
        Err(ureq::Error::Transport(t)) => Err(GatewayError::Unreachable {
            url: shown(root).into_owned(),
            reason: transport_reason(&t),
        }),
    }
}

/// How a request that carried a key ended.
pub(crate) enum Reply {
    /// 2xx: the response, unread (it may echo a key).
    Success(Box<ureq::Response>),
    /// Any other status, with the reply quoted when it was an error (4xx,
    /// 5xx); `None` for another (a redirect, which is not followed).
    Failure { status: u16, detail: Option<String> },
    /// No answer: why.
    Unreachable(String),
}

/// What a request's `result` says, an error reply quoted with `hide`
/// redacted.
pub(crate) fn read(result: Result<ureq::Response, ureq::Error>, hide: &[&Secret]) -> Reply {
    match result {
        Ok(response) if is_success(response.status()) => Reply::Success(Box::new(response)),
        Ok(response) => Reply::Failure {
            status: response.status(),
            detail: None,
        },
        Err(ureq::Error::Status(status, response)) => {
            let text = Zeroizing::new(response.into_string().unwrap_or_default());
            Reply::Failure {
                status,
                detail: Some(quote(&text, hide)),
            }
        }
        Err(ureq::Error::Transport(t)) => Reply::Unreachable(transport_reason(&t)),
    }
}

/// One POST of the JSON `body` to `root` + `path` with `key` as bearer.
pub(crate) fn post_json(
    root: &str,
    path: &str,
    key: &Secret,
    body: &str,
    timeout: Duration,
    hide: &[&Secret],
) -> Result<Reply, GatewayError> {
    let auth = bearer(key)?;
    let result = agent(timeout)
        .post(&format!("{root}{path}"))
        .set("Authorization", &auth)
        .set("Content-Type", "application/json")
        .send_string(body);
    Ok(read(result, hide))
}

/// Why no answer came, e.g. "Connection Failed: Connection refused (os
/// error 111)" (without the URL, which the message names already).
pub(crate) fn transport_reason(t: &ureq::Transport) -> String {
    match std::error::Error::source(t) {
        Some(source) => format!("{}: {source}", t.kind()),
        None => t.kind().to_string(),
    }
}

/// The URL as shown in messages: any `user:password@` replaced.
pub(crate) fn shown(url: &str) -> std::borrow::Cow<'_, str> {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let scheme = parsed.scheme().len() + "://".len();
            let mut out = parsed.as_str().to_string();
            out.insert_str(scheme, "…@");
            out.into()
        }
        _ => url.into(),
    }
}

/// A short, one-line quote of a reply, with any of `hide` replaced by its
/// fingerprint.
pub(crate) fn quote(text: &str, hide: &[&Secret]) -> String {
    let mut text = Secret::redact(&text.split_whitespace().collect::<Vec<_>>().join(" "), hide);
    if text.chars().count() > QUOTE_CHARS {
        text = text.chars().take(QUOTE_CHARS).collect::<String>() + "…";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_drops_v1_and_slashes() {
        for url in [
            "http://127.0.0.1:4000",
            "http://127.0.0.1:4000/",
            "http://127.0.0.1:4000/v1",
            "http://127.0.0.1:4000/v1/",
            " http://127.0.0.1:4000/v1// ",
        ] {
            assert_eq!(root(url).unwrap(), "http://127.0.0.1:4000", "{url}");
        }
        assert_eq!(
            root("https://gw.example/llm/v1").unwrap(),
            "https://gw.example/llm"
        );
        for bad in ["127.0.0.1:4000", "ftp://x", "http://", "http:///v1", ""] {
            assert!(
                matches!(root(bad), Err(GatewayError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_hide_credentials_and_keys() {
        assert_eq!(shown("http://u:p@host:1/v1"), "http://…@host:1/v1");
        assert_eq!(shown("http://host:1/a@b"), "http://host:1/a@b");
        let key = Secret::from("sk-abc123".to_string());
        let q = quote("bad key sk-abc123\n  here", &[&key]);
        assert_eq!(q, format!("bad key [secret {}] here", key.fingerprint()));
        assert!(quote(&"x".repeat(500), &[]).ends_with('…'));
    }

    #[test]
    fn keys_must_be_printable() {
        let bad = Secret::from("sk-a\nb".to_string());
        assert!(matches!(bearer(&bad), Err(GatewayError::BadKey { .. })));
        let err = bearer(&bad).unwrap_err().to_string();
        assert!(!err.contains("sk-a"), "{err}");
    }
}
