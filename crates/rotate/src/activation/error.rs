//! Why an activation failed.

use super::service::ServiceError;
use crate::gateway::GatewayError;

/// Why activation failed, one line, no secret in it.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    #[error("restart through manager \"{manager}\" failed: {source}")]
    Restart {
        manager: &'static str,
        source: ServiceError,
    },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// A sentinel failed through these Droid routes.
    #[error("{source} (Droid route {})", routes.join(", "))]
    Sentinel {
        source: GatewayError,
        routes: Vec<String>,
    },
    /// The restart back to the old values failed.
    #[error("{0} (while going back to the old key)")]
    GoingBack(Box<ActivateError>),
    /// The gateway did not come back on the old key.
    #[error("on the old key {fingerprint}: {source}")]
    OldKey {
        fingerprint: String,
        source: GatewayError,
    },
    /// What a test double says.
    #[cfg(any(test, feature = "fault-injection"))]
    #[error("{0}")]
    Double(&'static str),
}
