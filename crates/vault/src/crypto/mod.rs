//! The cryptography of a sops file: AES-256-GCM values (`ENC[…]`), the MAC
//! over the values, and the data key wrapped for each age recipient.

pub(crate) mod cipher;
pub(crate) mod datakey;
mod mac;

pub use cipher::{DataKey, OpenError, Sealed, new_data_key, open, parse};
pub(crate) use mac::Mac;
