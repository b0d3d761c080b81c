//! An encrypted sops dotenv file as one value: `open` reads it (parse, the
//! data key, decrypt, verify the MAC), `edit` writes it (encrypt a
//! plaintext, set and unset values, re-wrap or rotate the data key).

mod edit;
mod open;

pub use edit::{Change, EncryptOptions, KeyError, check_key, encrypt};
pub use open::Document;
