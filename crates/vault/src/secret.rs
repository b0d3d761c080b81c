//! Secret values: held in zeroizing buffers, never shown by `Debug`, logged
//! only as a fingerprint.

use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use std::fmt;

/// A decrypted value. `Debug` prints a fingerprint, never the bytes.
#[derive(Clone)]
pub struct Secret(SecretSlice<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(SecretSlice::from(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The value as UTF-8, or `None` when it is not.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(self.expose())
    }

    /// `text` with every occurrence of any of `secrets` replaced by
    /// `[secret <fingerprint>]`: for anything a child process or a peer
    /// printed before it reaches a message or a log.
    pub fn redact(text: &str, secrets: &[&Secret]) -> String {
        let mut text = text.to_owned();
        for secret in secrets {
            if let Some(value) = secret.as_str().filter(|v| !v.is_empty()) {
                if text.contains(value) {
                    text = text.replace(value, &format!("[secret {}]", secret.fingerprint()));
                }
            }
        }
        text
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s.into_bytes())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(sha256:{})", self.fingerprint())
    }
}

/// First 8 hex digits of SHA-256: enough to tell keys apart in logs, useless
/// to an attacker.
pub fn fingerprint(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::from("sk-very-secret".to_string());
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert_eq!(shown, format!("Secret(sha256:{})", s.fingerprint()));
        assert_eq!(s.fingerprint().len(), 8);
    }
}
