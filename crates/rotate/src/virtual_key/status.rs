//! `status`'s virtual-key lines: each `[[virtual_key]]` with its alias, the
//! fingerprint of the source's value, and whether the gateway accepts it
//! (`GET /v1/models` with it as bearer) and under which alias it knows it
//! (`GET /key/info` with the master key). Informational, like the other
//! gateway lines; every request bounded.

use super::api::{self, Admin};
use crate::config::Config;
use serde_json::json;
use std::fmt;
use std::time::Duration;
use vault::Secret;

/// One virtual key in `status`.
#[derive(Clone, Debug)]
pub struct KeyStatus {
    pub name: String,
    /// The configured alias.
    pub alias: String,
    /// The source's value's fingerprint; `None`: the source has none yet.
    pub fingerprint: Option<String>,
    /// `accepted`, `refused`, `unknown` (not probed, or no answer), or
    /// `absent` (not in the source).
    pub state: &'static str,
    pub detail: String,
    value: Option<Secret>,
}

/// The lines before probing: what the source holds.
pub(crate) fn collect(config: &Config, value: impl Fn(&str) -> Option<Secret>) -> Vec<KeyStatus> {
    config
        .virtual_keys
        .iter()
        .map(|spec| {
            let value = value(&spec.name).filter(|v| !v.is_empty());
            KeyStatus {
                name: spec.name.clone(),
                alias: spec.alias.clone(),
                fingerprint: value.as_ref().map(Secret::fingerprint),
                state: if value.is_some() { "unknown" } else { "absent" },
                detail: if value.is_some() {
                    "not probed".into()
                } else {
                    format!(
                        "the source has no {}: `litekeys-rotate --key {}` creates it",
                        spec.name, spec.name
                    )
                },
                value,
            }
        })
        .collect()
}

/// Probes each key at the gateway at `url` (unless it is not
/// `reachable`), every request bounded by `timeout`.
pub(crate) fn probe(
    lines: &mut [KeyStatus],
    url: &str,
    master: Option<&Secret>,
    reachable: bool,
    timeout: Duration,
) {
    for line in lines.iter_mut() {
        let Some(value) = line.value.clone() else {
            continue;
        };
        if !reachable {
            line.detail = format!("not checked: {url} is not reachable");
            continue;
        }
        let (state, seen) = match api::probe(url, &value, timeout) {
            Ok(status) if (200..300).contains(&status) => ("accepted", format!("HTTP {status}")),
            Ok(status) => ("refused", format!("HTTP {status}")),
            Err(e) => ("unknown", e.to_string()),
        };
        let known = master.filter(|m| !m.is_empty()).map(|m| {
            Admin::new(url, m, timeout).and_then(|a| a.hiding(&value).info(&api::token(&value)))
        });
        let alias = match known {
            None => String::new(),
            Some(Ok(Some(info))) => match info.alias {
                Some(a) if a == line.alias => format!("; key_alias {a:?}"),
                Some(a) => format!(
                    "; key_alias {a:?} on the gateway, {:?} configured",
                    line.alias
                ),
                None => "; no key_alias on the gateway".into(),
            },
            Some(Ok(None)) => "; /key/info does not know it".into(),
            Some(Err(e)) => format!("; /key/info: {e}"),
        };
        line.state = state;
        line.detail = format!("{seen}{alias}");
    }
}

impl KeyStatus {
    pub fn json(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "alias": self.alias,
            "fingerprint": self.fingerprint,
            "state": self.state,
            "detail": self.detail,
        })
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "virtual {}  alias {}  {}  {:8}  {}",
            self.name,
            self.alias,
            self.fingerprint.as_deref().unwrap_or("none"),
            self.state,
            self.detail
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VirtualKeySpec;
    use crate::env::Env;

    #[test]
    fn a_key_not_in_the_source_is_absent_and_a_gateway_down_is_unknown() {
        let mut config = Config::defaults(&Env::default());
        for (name, alias) in [("LITELLM_DROID_KEY", "droid"), ("OTHER_KEY", "other")] {
            config.virtual_keys.push(VirtualKeySpec {
                name: name.into(),
                alias: alias.into(),
                grace: Duration::ZERO,
                origin: "t".into(),
            });
        }
        let key = Secret::from("sk-droid-virtual-key".to_string());
        let mut lines = collect(&config, |n| (n == "LITELLM_DROID_KEY").then(|| key.clone()));
        assert_eq!(lines[1].state, "absent");
        assert!(lines[1].detail.contains("--key OTHER_KEY"));
        let port = crate::gateway::test_server::free_port();
        let master = Secret::from("sk-master-of-the-test".to_string());
        let url = format!("http://127.0.0.1:{port}");
        probe(
            &mut lines,
            &url,
            Some(&master),
            false,
            Duration::from_millis(300),
        );
        assert_eq!(lines[0].state, "unknown");
        assert!(
            lines[0].detail.contains("not reachable"),
            "{}",
            lines[0].detail
        );
        probe(
            &mut lines,
            &url,
            Some(&master),
            true,
            Duration::from_millis(300),
        );
        assert_eq!(lines[0].state, "unknown");
        let shown = lines[0].to_string();
        assert!(
            shown.starts_with("virtual LITELLM_DROID_KEY  alias droid  "),
            "{shown}"
        );
        assert!(shown.contains(&key.fingerprint()));
        assert!(
            !shown.contains("sk-droid") && !shown.contains("sk-master"),
            "{shown}"
        );
        assert_eq!(lines[0].json()["alias"], "droid");
    }
}
