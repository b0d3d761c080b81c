//! Gateway verification: is the LiteLLM proxy up, does it accept the new
//! master key, and does it refuse no key and the old one.
//!
//! LiteLLM reads its master key at start only, so after a restart the new
//! key must get 200 on `GET /v1/models`, no key must be refused (401) and
//! the old key refused too — with no database LiteLLM answers a wrong key
//! with 400 `no_db_connection`, not 401, so any non-2xx counts as refused.
//! Keys travel only in the `Authorization` header; messages show their
//! fingerprints.

use super::error::GatewayError;
use super::http::{
    LIVELINESS, MODELS, POLL, REQUEST_TIMEOUT, budget, get, is_success, root, shown,
};
use std::fmt;
use std::time::{Duration, Instant};
use vault::Secret;

/// How long a live gateway may keep refusing the new key before the
/// verification gives up, well before its timeout: a gateway that is live
/// and refuses the key runs on another one, and waiting longer would not
/// change that (the timeout is for a restart that is slow to come up).
pub const REFUSED_FOR: Duration = Duration::from_secs(3);

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

/// One `GET /health/liveliness`: its status, or why there was none.
pub fn liveliness(base_url: &str) -> Result<u16, GatewayError> {
    let root = root(base_url)?;
    get(&root, LIVELINESS, None, REQUEST_TIMEOUT)
}

/// Polls `GET /health/liveliness` until it answers 200, at most `timeout`;
/// returns how long that took.
pub fn wait_live(base_url: &str, timeout: Duration) -> Result<Duration, GatewayError> {
    wait_live_with(base_url, timeout, &mut NoProgress)
}

/// [`wait_live`], telling `progress` while it waits.
pub fn wait_live_with(
    base_url: &str,
    timeout: Duration,
    progress: &mut dyn Progress,
) -> Result<Duration, GatewayError> {
    let root = root(base_url)?;
    let start = Instant::now();
    wait_live_until(&root, start, start + timeout, progress)
}

fn wait_live_until(
    root: &str,
    start: Instant,
    deadline: Instant,
    progress: &mut dyn Progress,
) -> Result<Duration, GatewayError> {
    let label = format!("waiting for gateway {}", shown(root));
    let result = poll_live(root, start, deadline, &mut |elapsed| {
        progress.waiting(&label, elapsed);
    });
    progress.finished();
    result
}

fn poll_live(
    root: &str,
    start: Instant,
    deadline: Instant,
    tick: &mut dyn FnMut(Duration),
) -> Result<Duration, GatewayError> {
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
        tick(start.elapsed());
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// `GET /v1/models` with `key` (or none): the HTTP status.
pub fn probe(base_url: &str, key: Option<&Secret>) -> Result<u16, GatewayError> {
    let root = root(base_url)?;
    get(&root, MODELS, key, REQUEST_TIMEOUT)
}

/// Proves the gateway runs on `new`: waits until it is live and accepts
/// `new` (a restart may still be under way; all within `timeout`), then
/// checks that no key and `old` (when given and different) are refused.
/// A live gateway that refuses `new` for [`REFUSED_FOR`] in a row fails
/// then (still on `old`: [`GatewayError::OldKeyAccepted`]), not at
/// `timeout`.
pub fn verify(
    base_url: &str,
    old: Option<&Secret>,
    new: &Secret,
    timeout: Duration,
) -> Result<Report, GatewayError> {
    verify_with(base_url, old, new, timeout, &mut NoProgress)
}

/// [`verify`], telling `progress` while it waits for the gateway to be live.
pub fn verify_with(
    base_url: &str,
    old: Option<&Secret>,
    new: &Secret,
    timeout: Duration,
    progress: &mut dyn Progress,
) -> Result<Report, GatewayError> {
    let root = root(base_url)?;
    let url = shown(&root).into_owned();
    let old = old.filter(|old| *old != new);
    let start = Instant::now();
    let deadline = start + timeout;
    let live_after = wait_live_until(&root, start, deadline, progress)?;

    // Since when the live gateway has answered the new key with a refusal
    // (4xx), without a gap: a restart under way makes it unreachable or
    // 5xx for a moment, which starts the count again.
    let mut refused_since: Option<Instant> = None;
    let new_status = loop {
        let last = match get(&root, MODELS, Some(new), budget(deadline)) {
            Ok(status) if is_success(status) => break status,
            Ok(status) => {
                if (400..500).contains(&status) {
                    refused_since.get_or_insert_with(Instant::now);
                } else {
                    refused_since = None;
                }
                format!("HTTP {status}")
            }
            Err(GatewayError::Unreachable { reason, .. }) => {
                refused_since = None;
                reason
            }
            Err(e) => return Err(e),
        };
        let settled = refused_since.is_some_and(|since| since.elapsed() >= REFUSED_FOR);
        if settled || Instant::now() >= deadline {
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

/// Progress of a wait on the gateway, shown by a caller that has a
/// terminal (the binary's spinner); the library itself writes nothing.
pub trait Progress {
    /// Still waiting for `what` (a short label) after `elapsed`.
    fn waiting(&mut self, what: &str, elapsed: Duration);
    /// The wait is over, either way.
    fn finished(&mut self) {}
}

/// Shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn waiting(&mut self, _: &str, _: Duration) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// A gateway on a free loopback port that is live and accepts `key`
    /// only (401 otherwise), like a LiteLLM that runs on `key`.
    fn gateway_on(key: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut head = Vec::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    head.push(std::mem::take(&mut line));
                }
                let bearer = format!("authorization: bearer {key}");
                let ok = head[0].contains(LIVELINESS)
                    || head.iter().any(|h| h.trim().eq_ignore_ascii_case(&bearer));
                let status = if ok { "200 OK" } else { "401 Unauthorized" };
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                );
            }
        });
        url
    }

    #[test]
    fn a_live_gateway_that_refuses_the_new_key_fails_fast() {
        let old = Secret::from("sk-old-key-of-the-fake".to_string());
        let new = Secret::from("sk-new-key-of-the-fake".to_string());
        let url = gateway_on("sk-old-key-of-the-fake");
        let start = Instant::now();
        let err = verify(&url, Some(&old), &new, Duration::from_secs(60)).unwrap_err();
        assert!(
            matches!(err, GatewayError::OldKeyAccepted { status: 200, .. }),
            "{err}"
        );
        let took = start.elapsed();
        assert!(took >= REFUSED_FOR && took < REFUSED_FOR * 3, "{took:?}");
        // Without the old key: the new key's refusal, as fast.
        let err = verify(&url, None, &new, Duration::from_secs(60)).unwrap_err();
        assert!(matches!(err, GatewayError::NewKeyRefused { .. }), "{err}");
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        // And the old key verifies.
        verify(&url, Some(&new), &old, Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn unreachable_gateway_is_not_live_within_the_bound() {
        // A port just released: nothing listens there.
        let port = crate::gateway::test_server::free_port();
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
