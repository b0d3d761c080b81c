//! litekeys' vault: sops dotenv files (age) read and written natively,
//! byte-compatible with sops 3.11, with the `sops` binary as a fallback.
//!
//! Internal crate of the litekeys workspace; not a public API. The layers,
//! bottom up: `format` (the bytes of a file), `crypto` (values, MAC, data
//! key), `identity` (who can open it), `document` (a file opened, read,
//! changed), `store` (the file system: lock, snapshot, atomic replace), and
//! `backend`/`sops` (native or the sops binary).

mod backend;
pub mod crypto;
mod document;
mod env_name;
mod error;
mod exit;
pub mod format;
mod harden;
pub mod identity;
pub mod locate;
mod pin;
mod plaintext;
mod rule;
mod secret;
pub mod sops;
pub mod sops_config;
pub mod store;
mod trust;
mod value;

pub use backend::{Backend, UnknownBackend, decrypt_file};
pub use crypto::DataKey;
pub use document::{Change, Document, EncryptOptions, KeyError, check_key, encrypt};
pub use env_name::{allow_env_help, is_env_name, steers_programs};
pub use error::{Error, FormatError, MetadataError};
pub use exit::Exit;
pub use format::Timestamp;
pub use harden::harden_process;
pub use pin::RecipientPin;
pub use plaintext::{Entry, Plaintext};
pub use rule::Rule;
pub use secret::{Secret, fingerprint};
pub use trust::{
    Pin, TrustError, TrustState, TrustStore, state_dir, trust_command, user_state_dir,
};
