//! Gateway verification: is the LiteLLM proxy up, does it accept the new
//! master key, and does it refuse no key and the old one.
//!
//! LiteLLM reads its master key at start only, so after a restart the new
//! key must get 200 on `GET /v1/models`, no key must be refused (401) and
//! the old key refused too — with no database LiteLLM answers a wrong key
//! with 400 `no_db_connection`, not 401, so any non-2xx counts as refused.
//! Keys travel only in the `Authorization` header; messages show their
//! fingerprints.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

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
const POLL: Duration = Duration::from_millis(100);
/// How much of a reply a message quotes.
const QUOTE_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "gateway URL `{url}` is not an http:// or https:// URL: fix [gateway] url in litekeys.toml"
    )]
    BadUrl { url: String },
    #[error(
        "key {fingerprint} is not printable text and cannot be sent to the gateway: check the source"
    )]
    BadKey { fingerprint: String },
    #[error("gateway {url} did not answer: {reason}; check that it is running")]
    Unreachable { url: String, reason: String },
    #[error(
        "gateway {url} not live after {}s (last: {last}); check its logs (e.g. `journalctl --user -u litellm`) and that it starts with the new key", .timeout.as_secs_f64()
    )]
    NotLive {
        url: String,
        timeout: Duration,
        last: String,
    },
    #[error(
        "gateway {url} accepts requests with no key (HTTP {status}): set general_settings.master_key in its config"
    )]
    NoKeyAccepted { url: String, status: u16 },
    #[error(
        "gateway {url} still accepts the old key {fingerprint} (HTTP {status}): it did not pick up the new key; was it restarted?"
    )]
    OldKeyAccepted {
        url: String,
        fingerprint: String,
        status: u16,
    },
    #[error(
        "gateway {url} refuses the new key {fingerprint} (last: {last}, after {}s): check that the service reads it (EnvironmentFile=, .env) and was restarted", .waited.as_secs_f64()
    )]
    NewKeyRefused {
        url: String,
        fingerprint: String,
        last: String,
        waited: Duration,
    },
    #[error("sentinel through {url} model `{model}`: HTTP {status}: {detail}")]
    SentinelRefused {
        url: String,
        model: String,
        status: u16,
        detail: String,
    },
    #[error(
        "sentinel through {url} model `{model}`: expected the reply {expected:?}, got {got:?}; check the route's model"
    )]
    SentinelMismatch {
        url: String,
        model: String,
        expected: String,
        got: String,
    },
}

/// What a successful [`verify`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The gateway's root URL (no `/v1`).
    pub url: String,
    /// From the start of the verification until liveliness answered 200.
    pub live_after: Duration,
    /// Until the new key got its 2xx: the end of the verification's wait.
    pub accepted_after: Duration,
    pub no_key: u16,
    /// Fingerprint and status of the old key, when there was one.
    pub old_key: Option<(String, u16)>,
    pub new_key: (String, u16),
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gateway {}: live after {:.1} s; no key → {} (refused)",
            self.url,
            self.live_after.as_secs_f64(),
            self.no_key
        )?;
        if let Some((fp, status)) = &self.old_key {
            write!(f, ", old key {fp} → {status} (refused)")?;
        }
        write!(f, ", new key {} → {}", self.new_key.0, self.new_key.1)
    }
}

/// The gateway's root URL: `base_url` trimmed, without trailing `/` or a
/// final `/v1` (Droid routes end in `/v1` or `/v1/`).
pub fn root(base_url: &str) -> Result<String, GatewayError> {
    let url = base_url.trim();
    let bad = || GatewayError::BadUrl {
        url: shown(url).into_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(bad)?;
    if rest.trim_start_matches('/').is_empty() || rest.starts_with('/') {
        return Err(bad());
    }
    let mut root = url.trim_end_matches('/');
    if let Some(without) = root.strip_suffix("/v1") {
        root = without.trim_end_matches('/');
    }
    Ok(root.to_string())
}

/// One `GET /health/liveliness`: its status, or why there was none.
pub fn liveliness(base_url: &str) -> Result<u16, GatewayError> {
    let root = root(base_url)?;
    get(&root, LIVELINESS, None, REQUEST_TIMEOUT)
}

/// Polls `GET /health/liveliness` until it answers 200, at most `timeout`;
/// returns how long that took. Shows a spinner when stderr is a terminal.
pub fn wait_live(base_url: &str, timeout: Duration) -> Result<Duration, GatewayError> {
    let root = root(base_url)?;
    let start = Instant::now();
    wait_live_until(&root, start, start + timeout)
}

fn wait_live_until(
    root: &str,
    start: Instant,
    deadline: Instant,
) -> Result<Duration, GatewayError> {
    let mut spinner = Spinner::new(format!("waiting for gateway {}", shown(root)));
    loop {
        let last = match get(root, LIVELINESS, None, budget(deadline)) {
            Ok(200) => return Ok(start.elapsed()),
            Ok(status) => format!("HTTP {status}"),
            Err(GatewayError::Unreachable { reason, .. }) => reason,
            Err(e) => return Err(e),
        };
        if Instant::now() >= deadline {
            return Err(GatewayError::NotLive {
                url: shown(root).into_owned(),
                timeout: deadline - start,
                last,
            });
        }
        spinner.tick(start.elapsed());
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// `GET /v1/models` with `key` (or none): the HTTP status.
pub fn probe(base_url: &str, key: Option<&Secret>) -> Result<u16, GatewayError> {
    let root = root(base_url)?;
    get(&root, MODELS, key, REQUEST_TIMEOUT)
}

/// [`liveliness`] and [`probe`] bounded by `timeout` (connect and answer):
/// `status` stays quick when the gateway hangs.
pub fn liveliness_within(base_url: &str, timeout: Duration) -> Result<u16, GatewayError> {
    get(&root(base_url)?, LIVELINESS, None, timeout)
}

pub fn probe_within(
    base_url: &str,
    key: Option<&Secret>,
    timeout: Duration,
) -> Result<u16, GatewayError> {
    get(&root(base_url)?, MODELS, key, timeout)
}

/// Proves the gateway runs on `new`: waits until it is live and accepts
/// `new` (a restart may still be under way; all within `timeout`), then
/// checks that no key and `old` (when given and different) are refused.
pub fn verify(
    base_url: &str,
    old: Option<&Secret>,
    new: &Secret,
    timeout: Duration,
) -> Result<Report, GatewayError> {
    let root = root(base_url)?;
    let url = shown(&root).into_owned();
    let old = old.filter(|old| *old != new);
    let start = Instant::now();
    let deadline = start + timeout;
    let live_after = wait_live_until(&root, start, deadline)?;

    let new_status = loop {
        let last = match get(&root, MODELS, Some(new), budget(deadline)) {
            Ok(status) if is_success(status) => break status,
            Ok(status) => format!("HTTP {status}"),
            Err(GatewayError::Unreachable { reason, .. }) => reason,
            Err(e) => return Err(e),
        };
        if Instant::now() >= deadline {
            // A gateway still on the old key was not restarted: say so.
            if let Some(old) = old {
                match get(&root, MODELS, Some(old), REQUEST_TIMEOUT) {
                    Ok(status) if is_success(status) => {
                        return Err(GatewayError::OldKeyAccepted {
                            url,
                            fingerprint: old.fingerprint(),
                            status,
                        });
                    }
                    _ => {}
                }
            }
            return Err(GatewayError::NewKeyRefused {
                url,
                fingerprint: new.fingerprint(),
                last,
                waited: start.elapsed(),
            });
        }
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    };
    let accepted_after = start.elapsed();

    let no_key = get(&root, MODELS, None, REQUEST_TIMEOUT)?;
    if is_success(no_key) {
        return Err(GatewayError::NoKeyAccepted {
            url,
            status: no_key,
        });
    }
    let old_key = match old {
        None => None,
        Some(old) => {
            let status = get(&root, MODELS, Some(old), REQUEST_TIMEOUT)?;
            if is_success(status) {
                return Err(GatewayError::OldKeyAccepted {
                    url,
                    fingerprint: old.fingerprint(),
                    status,
                });
            }
            Some((old.fingerprint(), status))
        }
    };
    Ok(Report {
        url,
        live_after,
        accepted_after,
        no_key,
        old_key,
        new_key: (new.fingerprint(), new_status),
    })
}

/// One chat completion through the gateway asking `model` to reply exactly
/// `expected`; passes when the reply, trimmed, is exactly that.
pub fn sentinel(
    base_url: &str,
    key: &Secret,
    model: &str,
    expected: &str,
    timeout: Duration,
) -> Result<(), GatewayError> {
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
                detail: quote(&detail, &[key]),
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
            got: quote(&got, &[key]),
        }),
        None => Err(GatewayError::SentinelMismatch {
            url,
            model: model.to_string(),
            expected: expected.to_string(),
            got: format!("no choices[0].message.content in {}", quote(&text, &[key])),
        }),
    }
}

/// The bound of one request made while waiting for `deadline`: what is
/// left, at least one poll, at most a request's usual bound.
fn budget(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .clamp(POLL, REQUEST_TIMEOUT)
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// No proxy from the environment (the gateway is usually on loopback), no
/// redirects (a key must not follow one), bounded connect and request.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(timeout.min(REQUEST_TIMEOUT))
        .timeout(timeout)
        .redirects(0)
        .build()
}

fn bearer(key: &Secret) -> Result<Zeroizing<String>, GatewayError> {
    let value = key
        .as_str()
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| GatewayError::BadKey {
            fingerprint: key.fingerprint(),
        })?;
    Ok(Zeroizing::new(format!("Bearer {value}")))
}

/// One GET: the status (any), or `Unreachable` when none came back.
fn get(
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

/// Why no answer came, e.g. "Connection Failed: Connection refused (os
/// error 111)" (without the URL, which the message names already).
fn transport_reason(t: &ureq::Transport) -> String {
    match std::error::Error::source(t) {
        Some(source) => format!("{}: {source}", t.kind()),
        None => t.kind().to_string(),
    }
}

/// The URL as shown in messages: any `user:password@` replaced.
fn shown(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://…@{}", &rest[at + 1..]).into(),
        None => url.into(),
    }
}

/// A short, one-line quote of a reply, with any of `hide` replaced by its
/// fingerprint.
fn quote(text: &str, hide: &[&Secret]) -> String {
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in hide {
        if let Some(value) = secret.as_str().filter(|v| !v.is_empty()) {
            text = text.replace(value, &format!("[secret {}]", secret.fingerprint()));
        }
    }
    if text.chars().count() > QUOTE_CHARS {
        text = text.chars().take(QUOTE_CHARS).collect::<String>() + "…";
    }
    text
}

/// A one-line spinner on stderr, only when stderr is a terminal; erased
/// when dropped.
struct Spinner {
    label: String,
    on: bool,
    frame: usize,
}

impl Spinner {
    fn new(label: String) -> Self {
        Spinner {
            label,
            on: std::io::stderr().is_terminal(),
            frame: 0,
        }
    }

    fn tick(&mut self, elapsed: Duration) {
        if !self.on {
            return;
        }
        let frames = ['|', '/', '-', '\\'];
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {} ({:.1} s)",
            frames[self.frame % frames.len()],
            self.label,
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
        self.frame += 1;
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if self.on && self.frame > 0 {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
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

    #[test]
    fn unreachable_gateway_is_not_live_within_the_bound() {
        // A port just released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = wait_live(
            &format!("http://127.0.0.1:{port}/v1"),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(err, GatewayError::NotLive { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
    }
}
