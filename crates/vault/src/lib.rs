//! litekeys' vault: sops dotenv files (age) read and written natively,
//! byte-compatible with sops 3.11, with the `sops` binary as a fallback.
//!
//! Internal crate of the litekeys workspace; not a public API.

pub mod backend;
pub mod cipher;
pub mod datakey;
pub mod document;
pub mod edit;
pub mod env_name;
pub mod error;
pub mod exit;
pub mod format;
pub mod identity;
pub mod keyring;
pub mod locate;
pub mod mac;
pub mod metadata;
pub mod plaintext;
pub mod rfc3339;
pub mod rule;
pub mod secret;
pub mod sops;
pub mod sops_config;
pub mod store;
pub mod value;

pub use backend::{Backend, decrypt_file};
pub use document::Document;
pub use env_name::is_env_name;
pub use error::Error;
pub use exit::Exit;
pub use plaintext::{Entry, Plaintext};
pub use secret::{Secret, fingerprint};
