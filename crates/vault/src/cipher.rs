//! sops' value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`,
//! AES-256-GCM with a 32-byte nonce, authenticated with the item's path
//! (`KEY:` for a value, `:` for a top-level comment, `lastmodified` for the
//! MAC).

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore;
use zeroize::Zeroizing;

/// sops' nonce size.
const NONCE_LEN: usize = 32;
const TAG_LEN: usize = 16;

type Aes256Gcm32 = AesGcm<Aes256, U32>;
type Aes256Gcm12 = aes_gcm::Aes256Gcm;

/// Go's `base64.StdEncoding`: padded, but lenient about trailing bits.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// The 32-byte data key that encrypts every value of a file.
pub type DataKey = Zeroizing<[u8; 32]>;

/// A parsed `ENC[…]` value.
#[derive(Debug, PartialEq, Eq)]
pub struct Sealed<'a> {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub kind: &'a str,
}

/// Why a value did not open.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Not of the `ENC[AES256_GCM,…]` shape, or bad base64.
    Malformed,
    /// Authentication failed: wrong key, wrong path, or tampered bytes.
    Auth,
}

/// Parses the `ENC[…]` shape. sops matches it with a greedy regex; since
/// base64 has no `,`, any value that regex accepts splits at the first
/// `,iv:`, `,tag:` and `,type:`, up to the last `]` — found here in one
/// left-to-right pass (this runs once per value of 10 000-line files).
pub fn parse(value: &str) -> Option<Sealed<'_>> {
    let rest = value.strip_prefix("ENC[AES256_GCM,data:")?;
    let (data, rest) = split_field(rest, "iv:")?;
    let (iv, rest) = split_field(rest, "tag:")?;
    let (tag, rest) = split_field(rest, "type:")?;
    let kind = &rest[..rest.rfind(']')?];
    if [data, iv, tag, kind]
        .iter()
        .any(|p| p.is_empty() || p.contains('\n'))
    {
        return None;
    }
    Some(Sealed {
        data: B64.decode(data).ok()?,
        iv: B64.decode(iv).ok()?,
        tag: B64.decode(tag).ok()?,
        kind,
    })
}

/// `"<field>,<next>:<rest>"` → `(field, rest)`.
fn split_field<'a>(s: &'a str, next: &str) -> Option<(&'a str, &'a str)> {
    let comma = s.as_bytes().iter().position(|&b| b == b',')?;
    let rest = s[comma + 1..].strip_prefix(next)?;
    Some((&s[..comma], rest))
}

/// Decrypts an `ENC[…]` value; returns the plaintext bytes and the type tag.
pub fn open<'a>(
    value: &'a str,
    key: &DataKey,
    aad: &str,
) -> Result<(Zeroizing<Vec<u8>>, &'a str), OpenError> {
    Opener::new(key).open(value, aad)
}

/// Opens many values under one data key: the AES key schedule is computed
/// once per file, not once per value.
pub struct Opener {
    gcm32: Aes256Gcm32,
    key: DataKey,
}

impl Opener {
    pub fn new(key: &DataKey) -> Opener {
        Opener {
            gcm32: Aes256Gcm32::new(key.as_ref().into()),
            key: key.clone(),
        }
    }

    pub fn open<'a>(
        &self,
        value: &'a str,
        aad: &str,
    ) -> Result<(Zeroizing<Vec<u8>>, &'a str), OpenError> {
        let sealed = parse(value).ok_or(OpenError::Malformed)?;
        if sealed.tag.len() != TAG_LEN {
            return Err(OpenError::Auth);
        }
        let mut msg = sealed.data;
        msg.extend_from_slice(&sealed.tag);
        let payload = Payload {
            msg: &msg,
            aad: aad.as_bytes(),
        };
        let plain = match sealed.iv.len() {
            NONCE_LEN => self
                .gcm32
                .decrypt(Nonce::<U32>::from_slice(&sealed.iv), payload),
            // Go accepts nonce sizes sops never writes; 12 is GCM's usual one.
            12 => Aes256Gcm12::new(self.key.as_ref().into())
                .decrypt(aes_gcm::Nonce::from_slice(&sealed.iv), payload),
            _ => return Err(OpenError::Auth),
        }
        .map_err(|_| OpenError::Auth)?;
        Ok((Zeroizing::new(plain), sealed.kind))
    }
}

/// Encrypts `plain` with a fresh random nonce. Empty plaintexts stay empty,
/// unencrypted, as sops writes them.
pub fn seal(plain: &[u8], kind: &str, key: &DataKey, aad: &str) -> String {
    if plain.is_empty() {
        return String::new();
    }
    let mut iv = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    seal_with_iv(plain, kind, key, aad, &iv)
}

/// Encrypts with a given nonce (sops reuses a value's nonce when the value
/// is unchanged; tests use it for known answers).
pub fn seal_with_iv(
    plain: &[u8],
    kind: &str,
    key: &DataKey,
    aad: &str,
    iv: &[u8; NONCE_LEN],
) -> String {
    let out = Aes256Gcm32::new(key.as_ref().into())
        .encrypt(
            Nonce::<U32>::from_slice(iv),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let (data, tag) = out.split_at(out.len() - TAG_LEN);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        B64.encode(data),
        B64.encode(iv),
        B64.encode(tag)
    )
}

/// A fresh random data key.
pub fn new_data_key() -> DataKey {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        Zeroizing::new([7u8; 32])
    }

    #[test]
    fn round_trip_and_aad_binding() {
        let sealed = seal(b"sk-secret", "str", &key(), "A:");
        let (plain, kind) = open(&sealed, &key(), "A:").unwrap();
        assert_eq!((plain.as_slice(), kind), (&b"sk-secret"[..], "str"));
        assert_eq!(open(&sealed, &key(), "B:"), Err(OpenError::Auth));
        assert!(seal(b"", "str", &key(), "A:").is_empty());
    }

    #[test]
    fn parse_shape() {
        assert!(parse("ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]").is_some());
        assert!(parse("ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str").is_none());
        assert!(parse("ENC[AES256_GCM,data:A!AA,iv:AAAA,tag:AAAA,type:str]").is_none());
        assert!(parse("plain").is_none());
    }
}
