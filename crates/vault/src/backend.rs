//! Choosing between the native reader and the `sops` binary.

use crate::document::Document;
use crate::error::Error;
use crate::identity::KeyringLookup;
use crate::plaintext::Plaintext;
use crate::sops;
use std::path::Path;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// Native when every key is age X25519, else the `sops` binary.
    #[default]
    Auto,
    Native,
    Sops,
}

/// A `--backend` that is not one of auto, native, sops.
#[derive(Debug, thiserror::Error)]
#[error("unknown backend {0:?} (auto, native, sops)")]
pub struct UnknownBackend(String);

impl std::str::FromStr for Backend {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Self, UnknownBackend> {
        match s {
            "auto" => Ok(Backend::Auto),
            "native" => Ok(Backend::Native),
            "sops" => Ok(Backend::Sops),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

/// Reads and decrypts a file, MAC verified, with the chosen backend.
pub fn decrypt_file(
    path: &Path,
    backend: Backend,
    keyring: Option<&dyn KeyringLookup>,
) -> Result<Plaintext, Error> {
    if backend == Backend::Sops {
        return sops::decrypt(path);
    }
    let doc = Document::read(path)?;
    if !doc.metadata.is_native() {
        if backend == Backend::Auto {
            return sops::decrypt(path);
        }
        if doc.metadata.age.is_empty() {
            return Err(Error::NotNative {
                path: path.to_path_buf(),
                kinds: doc.metadata.foreign.join(", "),
            });
        }
    }
    let key = doc.open_data_key(keyring)?;
    doc.decrypt(&key)
}
