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
    /// A check through the real Droid CLI failed (`droid doctor` on the
    /// settings as written, a `droid exec` sentinel).
    #[error(transparent)]
    Droid(#[from] crate::droid::DroidError),
    /// After the rollback the gateway did not answer on the old key;
    /// `restart` says how the restart back failed, when it did.
    #[error("{}the gateway does not answer on the old key {fingerprint}: {source}", again(.restart))]
    OldKey {
        fingerprint: String,
        source: Box<GatewayError>,
        restart: Option<String>,
    },
    /// `/key/regenerate` (the stored credentials re-encrypted with the
    /// new master key) failed.
    #[error(transparent)]
    Regenerate(#[from] crate::gateway::RegenerateError),
    /// Stored models the gateway served with the old master key are gone
    /// with the new one: their credentials no longer decrypt.
    #[error(
        "gateway {url} lost stored model(s) {names} with the new master key {fingerprint}: their credentials no longer decrypt"
    )]
    StoredLost {
        url: String,
        names: String,
        fingerprint: String,
    },
    /// The journal could not record a step recovery depends on.
    #[error("{}: {source}", path.display())]
    Journal {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A virtual key could not be made, accepted or deleted.
    #[error(transparent)]
    VirtualKey(#[from] crate::virtual_key::VirtualKeyError),
    /// What a test double says.
    #[cfg(any(test, feature = "fault-injection"))]
    #[error("{0}")]
    Double(&'static str),
}

fn again(restart: &Option<String>) -> String {
    match restart {
        Some(why) => format!("the restart failed again ({why}); "),
        None => String::new(),
    }
}
