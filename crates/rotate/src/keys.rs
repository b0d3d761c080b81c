//! New gateway keys: `sk-` and 48 base62 characters from the OS CSPRNG
//! (about 285 bits; LiteLLM wants the `sk-` prefix and refuses weak keys).

use rand::RngCore;
use rand::rngs::OsRng;
use vault::Secret;
use zeroize::Zeroizing;

pub(crate) const PREFIX: &str = "sk-";
/// At least 43 base62 characters (≥ 256 bits); 48 keeps a margin.
pub(crate) const BODY_LEN: usize = 48;

const BASE62: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh key. Bytes from the OS CSPRNG, 64 at a time (one getrandom
/// call, not one per character); a byte is used only below 248 = 4 x 62,
/// so every character is equally likely (no modulo bias).
pub fn generate() -> Secret {
    let mut bytes = Vec::with_capacity(PREFIX.len() + BODY_LEN);
    bytes.extend_from_slice(PREFIX.as_bytes());
    let mut random = Zeroizing::new([0u8; 64]);
    while bytes.len() < PREFIX.len() + BODY_LEN {
        OsRng.fill_bytes(random.as_mut());
        for &b in random.iter().filter(|b| **b < 248) {
            if bytes.len() == PREFIX.len() + BODY_LEN {
                break;
            }
            bytes.push(BASE62[usize::from(b % 62)]);
        }
    }
    Secret::new(bytes)
}

/// Whether a value looks like a key this module generates.
#[cfg(test)]
pub(crate) fn is_generated_shape(value: &[u8]) -> bool {
    value.len() >= PREFIX.len() + 43
        && value.starts_with(PREFIX.as_bytes())
        && value[PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_uniqueness() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose().len(), 3 + BODY_LEN);
        assert!(is_generated_shape(a.expose()));
        assert_ne!(a, b);
        assert!(!is_generated_shape(b"sk-1234"));
    }

    #[test]
    fn every_base62_character_turns_up() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.extend(generate().expose()[3..].iter().copied());
        }
        assert_eq!(seen.len(), 62);
    }
}
