//! Why a virtual key could not be made, checked or deleted: one line each,
//! naming the gateway and the request, keys as fingerprints only.

use crate::gateway::GatewayError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum VirtualKeyError {
    #[error(
        "the source has no LITELLM_MASTER_KEY: a virtual key is made and deleted at the gateway with it"
    )]
    NoMaster,
    #[error("this activation rotates a virtual key, and the transaction names none")]
    NotAVirtualKeyRotation,
    #[error("virtual key {fingerprint} does not start with sk- (LiteLLM refuses it)")]
    BadKey { fingerprint: String },
    #[error("gateway {url} refused {what} (HTTP {status}{}){}", colon(.detail), hint(*.status, what))]
    Refused {
        url: String,
        what: &'static str,
        status: u16,
        detail: String,
    },
    #[error("gateway {url} did not answer {what}: {reason}; check that it is running")]
    Unreachable {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error(
        "gateway {url} refuses the new virtual key {name} {fingerprint} (last: {last}, after {}s)", .waited.as_secs_f64()
    )]
    NotAccepted {
        url: String,
        name: String,
        fingerprint: String,
        last: String,
        waited: Duration,
    },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

fn colon(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// What to do about a refusal, when it is clear.
fn hint(status: u16, what: &str) -> &'static str {
    match status {
        401 | 403 if what == super::endpoint::GENERATE => {
            "; virtual keys are made with the master key, on a LiteLLM with a database (and custom key values allowed)"
        }
        401 | 403 => "; virtual keys are managed with the master key",
        _ => "",
    }
}
