//! The bytes of a sops dotenv file: the dotenv layout (lines, comments,
//! `\n` escapes, kept byte for byte), the `sops_*` metadata lines, and the
//! RFC 3339 times sops writes.

mod dotenv;
pub(crate) mod metadata;
mod rfc3339;

pub(crate) use dotenv::*;
pub use dotenv::{Item, Text, push_pair};
pub use metadata::{AgeStanza, Metadata};
pub use rfc3339::Timestamp;
