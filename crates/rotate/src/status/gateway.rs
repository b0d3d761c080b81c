//! `litekeys-rotate status`'s gateway lines: the probe added to a [`Status`].

use super::report::Status;
use crate::audit;
use crate::config::{Config, MASTER_KEY};
use crate::gateway;
use crate::sinks;
use std::time::Duration;

impl Status {
    /// Adds the gateway lines (see the module comment), each request
    /// bounded by `timeout`.
    pub fn probe_gateway(&mut self, config: &Config, timeout: Duration) {
        let old_fp = self.last.as_ref().and_then(old_fingerprint);
        let held = sinks::held(config, MASTER_KEY);
        self.gateway = Some(gateway::probe_status(
            &config.gateway.url,
            self.master.as_ref(),
            old_fp.as_deref(),
            &held,
            timeout,
        ));
        let reachable = self
            .gateway
            .as_ref()
            .is_some_and(|g| g.lines.first().is_some_and(|l| l.state == "yes"));
        crate::virtual_key::probe_status(
            &mut self.virtual_keys,
            &config.gateway.url,
            self.master.as_ref(),
            reachable,
            timeout,
        );
    }
}

/// The old master key's fingerprint in an audit entry
/// (`LITELLM_MASTER_KEY=OLD->NEW`), unless it was `none`.
fn old_fingerprint(entry: &audit::Entry) -> Option<String> {
    entry.keys.iter().find_map(|k| {
        let (name, change) = k.split_once('=')?;
        let (old, _) = change.split_once("->")?;
        (name == MASTER_KEY && old != "none").then(|| old.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(keys: &[&str]) -> audit::Entry {
        audit::Entry {
            time: "2025-06-01T12:00:00Z".into(),
            host: "box".into(),
            action: "rotate".into(),
            keys: keys.iter().map(std::string::ToString::to_string).collect(),
            verified: true,
            tx: "abc".into(),
        }
    }

    #[test]
    fn the_old_fingerprint_is_the_master_keys() {
        let e = entry(&[
            "LITELLM_SALT_KEY=11111111->22222222",
            "LITELLM_MASTER_KEY=1a2b3c4d->5e6f7a8b",
        ]);
        assert_eq!(old_fingerprint(&e).as_deref(), Some("1a2b3c4d"));
        assert_eq!(
            old_fingerprint(&entry(&["LITELLM_MASTER_KEY=none->5e6f7a8b"])),
            None
        );
    }
}
