//! sops' MAC: SHA-512 over the plaintext of every value in file order (keys
//! are not hashed, comments neither), uppercase hex, stored encrypted with
//! `lastmodified` as AAD. With `mac_only_encrypted` the hash is seeded with
//! sha256("sops") and covers only the values that are encrypted.

use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

/// Values are short (a key is ~50 bytes) and SHA-512 pays per call: they
/// are gathered and hashed this many bytes at a time.
const BATCH: usize = 2048;

#[derive(Clone)]
pub(crate) struct Mac {
    hash: Sha512,
    only_encrypted: bool,
    /// Plaintexts not hashed yet (wiped on drop).
    pending: Zeroizing<[u8; BATCH]>,
    len: usize,
}

impl Mac {
    pub(crate) fn new(only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if only_encrypted {
            // Seeding keeps the two modes' MACs apart for the same values.
            hash.update(Sha256::digest(b"sops"));
        }
        Mac {
            hash,
            only_encrypted,
            pending: Zeroizing::new([0; BATCH]),
            len: 0,
        }
    }

    /// Adds one value's canonical bytes (see `value::Plain::mac_bytes`).
    pub(crate) fn add(&mut self, encrypted: bool, bytes: &[u8]) {
        if self.only_encrypted && !encrypted {
            return;
        }
        if self.len + bytes.len() > BATCH {
            self.hash.update(&self.pending[..self.len]);
            self.len = 0;
            if bytes.len() > BATCH {
                self.hash.update(bytes);
                return;
            }
        }
        self.pending[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    pub(crate) fn finish(mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.hash.update(&self.pending[..self.len]);
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
    fn batching_hashes_the_same_bytes() {
        let values: Vec<Vec<u8>> = (0..300)
            .map(|i| vec![i as u8; (i * 37) % (BATCH + 200)])
            .collect();
        let mut mac = Mac::new(false);
        let mut all = Sha512::new();
        for v in &values {
            mac.add(true, v);
            all.update(v);
        }
        let forked = mac.clone();
        let want: String = all.finalize().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(mac.finish(), want);
        assert_eq!(forked.finish(), want);
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
