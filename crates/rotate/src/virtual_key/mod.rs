//! LiteLLM virtual keys for clients (`[[virtual_key]]` in litekeys.toml):
//! a source value that the gateway knows as a virtual key, rotated with no
//! restart and no failed request. The transaction writes the new value
//! into the source and the sinks as for any key; around that, the
//! [`crate::RotateVirtualKey`] activation (in `activation/`, with the
//! other activations) generates the new key at the gateway
//! before the first file is written, checks the gateway accepts it, and
//! deletes the old key after its grace once the transaction committed. The
//! journal records the work at the gateway ([`pending`]), so that
//! `recover` finishes a deletion a crash left (or, for a rotation that did
//! not commit, deletes the new key).
//!
//! Rooms: [`api`] (LiteLLM's key management, over the routes of
//! `endpoint`), [`pending`] (the journal's record and how it is settled),
//! [`status`] (`status`'s lines), [`error`].

pub(crate) mod api;
mod endpoint;
mod error;
pub(crate) mod pending;
mod status;

pub use api::token;
pub use error::VirtualKeyError;
pub use status::KeyStatus;
pub(crate) use status::{collect as collect_status, probe as probe_status};

use crate::config::VirtualKeySpec;
use vault::Secret;

/// A virtual key a transaction rotates: its declaration, the value the
/// source held (`None`: it creates it) and the new one.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub spec: VirtualKeySpec,
    pub old: Option<Secret>,
    pub new: Secret,
}
