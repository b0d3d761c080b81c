//! sops' MAC: SHA-512 over the plaintext of every value in file order (keys
//! are not hashed, comments neither), uppercase hex, stored encrypted with
//! `lastmodified` as AAD. With `mac_only_encrypted` the hash is seeded with
//! sha256("sops") and covers only the values that are encrypted.

use sha2::{Digest, Sha256, Sha512};

#[derive(Clone)]
pub struct Mac {
    hash: Sha512,
    only_encrypted: bool,
}

impl Mac {
    pub fn new(only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if only_encrypted {
            // Seeding keeps the two modes' MACs apart for the same values.
            hash.update(Sha256::digest(b"sops"));
        }
        Mac {
            hash,
            only_encrypted,
        }
    }

    /// Adds one value's canonical bytes (see `value::Plain::mac_bytes`).
    pub fn add(&mut self, encrypted: bool, bytes: &[u8]) {
        if !self.only_encrypted || encrypted {
            self.hash.update(bytes);
        }
    }

    pub fn finish(self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = String::with_capacity(128);
        for b in self.hash.finalize() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_plain_mac_is_sha512_of_nothing() {
        assert!(Mac::new(false).finish().starts_with("CF83E1357EEFB8BD"));
    }

    #[test]
    fn only_encrypted_skips_clear_values_and_differs() {
        let mut a = Mac::new(true);
        a.add(true, b"x");
        a.add(false, b"y");
        let mut b = Mac::new(true);
        b.add(true, b"x");
        assert_eq!(a.finish(), b.finish());
        let mut c = Mac::new(false);
        c.add(true, b"x");
        let mut d = Mac::new(true);
        d.add(true, b"x");
        assert_ne!(c.finish(), d.finish());
    }
}
