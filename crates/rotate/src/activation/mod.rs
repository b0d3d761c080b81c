//! The step between "sinks written" and "commit": make the running gateway
//! pick up the new values (restart through its service manager) and prove
//! it did (the new key accepted, the old one refused). The transaction
//! calls it through the [`Activate`] trait; an error there rolls every file
//! back from the journal, then [`Activate::reactivate`] restarts the gateway
//! on the old values (exit 11, rolled back), or the rollback is reported
//! incomplete (exit 12).
//!
//! `--no-restart` and `manager = "none"` use [`Skip`]: the commit is then
//! recorded as unverified in the audit log.
//!
//! Rooms: [`step`] (the [`Activate`] trait and what it is given and
//! establishes), [`error`], [`restart`] (the real service managers' one),
//! [`virtual_key`] (a virtual key's: nothing restarts, the gateway makes
//! the new key before and deletes the old one after),
//! [`service`] (the managers themselves), [`preflight`] (whether a manager
//! can act here, asked before anything is written).

mod error;
mod preflight;
mod restart;
pub mod service;
mod step;
mod virtual_key;

pub use error::ActivateError;
pub use preflight::PreflightError;
pub use restart::{Restart, service_spec};
#[cfg(any(test, feature = "fault-injection"))]
pub(crate) use step::Failing;
pub use step::{Activate, Activation, ChangedFile, Skip, Verification};
pub use virtual_key::RotateVirtualKey;
