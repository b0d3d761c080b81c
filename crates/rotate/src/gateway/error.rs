//! Why a gateway check failed: one line each, naming the URL (credentials
//! hidden) and showing keys as fingerprints only.

use std::time::Duration;

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
        "gateway {url} not live after {}s (last: {last}); check its logs (e.g. `journalctl --user -u litellm`)", .timeout.as_secs_f64()
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
    /// `GET /model/info` (the stored models) failed.
    #[error("gateway {url} GET /model/info: {detail}")]
    ModelInfo { url: String, detail: String },
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
