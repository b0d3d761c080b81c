//! The gateway lines of `litekeys-rotate status`: is the gateway reachable
//! (`/health/liveliness`), does it accept the source's master key, does it
//! refuse the previous one. Informational: they never change the exit code
//! (3 is for drifted sinks). Every request is bounded by a short timeout so
//! that `status` stays quick when the gateway is down or hangs.
//!
//! The previous key is probed only when a sink still holds a key whose
//! fingerprint is the audit log's old one (the caller finds it): the log
//! keeps fingerprints only, and no old key is kept in plaintext anywhere,
//! so otherwise it is "unknown".

use super::error::GatewayError;
use super::http::{LIVELINESS, MODELS, get, root};
use super::variables::MASTER_KEY;
use serde_json::json;
use std::fmt;
use std::time::Duration;
use vault::Secret;

/// Bound on each request `status` makes.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// One line: what was checked, what was seen, and the detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub name: &'static str,
    /// `yes`/`no` (reachable), `accepted`/`refused`, or `unknown`.
    pub state: &'static str,
    pub detail: String,
}

/// The three lines, in order: reachable, current key, old key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayLines {
    pub url: String,
    pub lines: Vec<Line>,
}

impl GatewayLines {
    pub fn json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("url".into(), json!(self.url));
        for l in &self.lines {
            out.insert(
                l.name.replace(' ', "_"),
                json!({"state": l.state, "detail": l.detail}),
            );
        }
        serde_json::Value::Object(out)
    }
}

impl fmt::Display for GatewayLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            writeln!(f, "gateway {:11}  {:8}  {}", l.name, l.state, l.detail)?;
        }
        Ok(())
    }
}

/// The lines for the gateway at `url`: `current` is the source's master
/// key, `old_fp` the audit log's previous one, `held` the master keys the
/// sinks hold (where a previous key may still be found).
pub fn probe_status(
    url: &str,
    current: Option<&Secret>,
    old_fp: Option<&str>,
    held: &[Secret],
    timeout: Duration,
) -> GatewayLines {
    let line = |name, state, detail: String| Line {
        name,
        state,
        detail,
    };
    let mut lines = Vec::new();
    let reachable = match root(url).and_then(|r| get(&r, LIVELINESS, None, timeout)) {
        Ok(200) => {
            lines.push(line("reachable", "yes", format!("{url} (liveliness 200)")));
            true
        }
        Ok(status) => {
            lines.push(line(
                "reachable",
                "no",
                format!("{url} (liveliness {status})"),
            ));
            false
        }
        Err(e) => {
            lines.push(line("reachable", "no", e.to_string()));
            false
        }
    };
    let accepts = |key: &Secret| -> Result<(bool, String), GatewayError> {
        root(url)
            .and_then(|r| get(&r, MODELS, Some(key), timeout))
            .map(|status| ((200..300).contains(&status), format!("HTTP {status}")))
    };
    let unreachable = || format!("not checked: {url} is not reachable");

    lines.push(match current {
        None => line(
            "current key",
            "unknown",
            format!("the source has no {MASTER_KEY}"),
        ),
        Some(_) if !reachable => line("current key", "unknown", unreachable()),
        Some(key) => match accepts(key) {
            Ok((true, seen)) => line(
                "current key",
                "accepted",
                format!("{MASTER_KEY} {} ({seen})", key.fingerprint()),
            ),
            Ok((false, seen)) => line(
                "current key",
                "refused",
                format!(
                    "{MASTER_KEY} {} ({seen}): restart the gateway (`litekeys-rotate sync` then your service manager)",
                    key.fingerprint()
                ),
            ),
            Err(why) => line("current key", "unknown", why.to_string()),
        },
    });

    let old = old_fp.and_then(|fp| {
        held.iter()
            .find(|k| k.fingerprint() == fp && Some(*k) != current)
    });
    lines.push(match (old_fp, old) {
        (None, _) => line(
            "old key",
            "unknown",
            "no previous key in the audit log".into(),
        ),
        (Some(fp), None) => line(
            "old key",
            "unknown",
            format!(
                "{fp}: the audit log keeps only its fingerprint (old keys are not kept), so it cannot be probed"
            ),
        ),
        (Some(_), Some(_)) if !reachable => line("old key", "unknown", unreachable()),
        (Some(fp), Some(key)) => match accepts(key) {
            Ok((false, seen)) => line("old key", "refused", format!("{fp} ({seen})")),
            Ok((true, seen)) => line(
                "old key",
                "accepted",
                format!("{fp} ({seen}): the gateway still runs on the old key; restart it"),
            ),
            Err(why) => line("old key", "unknown", why.to_string()),
        },
    });
    GatewayLines {
        url: url.to_string(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_that_is_down_is_not_reachable_and_nothing_else_is_probed() {
        let port = crate::gateway::test_server::free_port();
        let current = Secret::from("sk-current".to_string());
        let old = Secret::from("sk-old".to_string());
        let url = format!("http://127.0.0.1:{port}");
        let g = probe_status(
            &url,
            Some(&current),
            Some(&old.fingerprint()),
            std::slice::from_ref(&old),
            Duration::from_millis(500),
        );
        let states: Vec<&str> = g.lines.iter().map(|l| l.state).collect();
        assert_eq!(states, ["no", "unknown", "unknown"], "{g}");
        let shown = g.to_string();
        assert!(!shown.contains("sk-current") && !shown.contains("sk-old"));
        assert_eq!(g.json()["old_key"]["state"], "unknown");
        // Only a fingerprint and no sink holding that key: unknown, said so.
        let g = probe_status(
            &url,
            Some(&current),
            Some("1a2b3c4d"),
            &[],
            Duration::from_millis(500),
        );
        assert!(
            g.lines[2].detail.contains("keeps only its fingerprint"),
            "{g}"
        );
    }
}
