//! sops' value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`,
//! AES-256-GCM with a 32-byte nonce, authenticated with the item's path
//! (`KEY:` for a value, `:` for a top-level comment, `lastmodified` for the
//! MAC).

use aes_gcm::Tag;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
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
/// Encodes; [`decode_into`] decodes the same language without allocating.
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

/// The fields of an `ENC[…]` value, still in base64.
struct Fields<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    kind: &'a str,
}

/// Splits the `ENC[…]` shape. sops matches it with a greedy regex; since
/// base64 has no `,`, any value that regex accepts splits at the first
/// `,iv:`, `,tag:` and `,type:`, up to the last `]` — found here in one
/// left-to-right pass (this runs once per value of 10 000-line files).
fn fields(value: &str) -> Option<Fields<'_>> {
    let rest = value.strip_prefix("ENC[AES256_GCM,data:")?;
    let (data, rest) = split_field(rest, "iv:")?;
    let (iv, rest) = split_field(rest, "tag:")?;
    let (tag, rest) = split_field(rest, "type:")?;
    let kind = &rest[..memchr::memrchr(b']', rest.as_bytes())?];
    // A newline in data, iv or tag fails their base64.
    if data.is_empty() || iv.is_empty() || tag.is_empty() || kind.is_empty() || kind.contains('\n')
    {
        return None;
    }
    Some(Fields {
        data,
        iv,
        tag,
        kind,
    })
}

/// Parses the `ENC[…]` shape and decodes its base64 fields.
pub fn parse(value: &str) -> Option<Sealed<'_>> {
    let f = fields(value)?;
    Some(Sealed {
        data: decode_vec(f.data)?,
        iv: decode_vec(f.iv)?,
        tag: decode_vec(f.tag)?,
        kind: f.kind,
    })
}

/// `"<field>,<next>:<rest>"` → `(field, rest)`.
fn split_field<'a>(s: &'a str, next: &str) -> Option<(&'a str, &'a str)> {
    let comma = memchr::memchr(b',', s.as_bytes())?;
    let rest = s[comma + 1..].strip_prefix(next)?;
    Some((&s[..comma], rest))
}

// Hand-written, not `B64.decode_slice`: with the crate, decrypting a
// 10 000-value file took 74.45 M instructions instead of 65.81 M (+13 %,
// callgrind, 2026-12); the tests hold the two decoders to the same language.
/// Go's base64 alphabet, one table per place in a group of four: each
/// byte's six bits already shifted to where they go in the group's 24; bit
/// 31 marks a byte outside the alphabet.
static SEXTETS: [[u32; 256]; 4] = [sextets(18), sextets(12), sextets(6), sextets(0)];

const OUTSIDE: u32 = 1 << 31;

const fn sextets(shift: u32) -> [u32; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [OUTSIDE; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    table
}

/// The decoded length of padded base64, or `None` when the length is not
/// a multiple of 4 (the padding itself is checked by [`decode_into`]).
fn decoded_len(s: &[u8]) -> Option<usize> {
    if s.len() % 4 != 0 {
        return None;
    }
    let pad = match s {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    Some(s.len() / 4 * 3 - pad)
}

/// Decodes `s` into `out`, which holds exactly `decoded_len(s)` bytes. As
/// Go's `StdEncoding` (and [`B64`]): `=` only as the final padding, unused
/// trailing bits ignored. `false` on anything else.
fn decode_into(s: &[u8], out: &mut [u8]) -> bool {
    let Some((body, last)) = s.split_last_chunk::<4>() else {
        return out.is_empty();
    };
    let Some(tail_len) = out.len().checked_sub(body.len() / 4 * 3) else {
        return false;
    };
    let (head, tail) = out.split_at_mut(body.len() / 4 * 3);
    let [t0, t1, t2, t3] = &SEXTETS;
    let group = |a: u8, b: u8, c: u8, d: u8| {
        t0[usize::from(a)] | t1[usize::from(b)] | t2[usize::from(c)] | t3[usize::from(d)]
    };
    // Bytes outside the alphabet are collected in `bad` and checked once.
    let mut bad = 0;
    for (four, three) in body.chunks_exact(4).zip(head.chunks_exact_mut(3)) {
        let w = group(four[0], four[1], four[2], four[3]);
        bad |= w;
        three.copy_from_slice(&[(w >> 16) as u8, (w >> 8) as u8, w as u8]);
    }
    let w = match (tail_len, *last) {
        (3, [a, b, c, d]) => group(a, b, c, d),
        (2, [a, b, c, b'=']) => group(a, b, c, b'A'),
        (1, [a, b, b'=', b'=']) => group(a, b, b'A', b'A'),
        _ => return false,
    };
    bad |= w;
    tail.copy_from_slice(&[(w >> 16) as u8, (w >> 8) as u8, w as u8][..tail_len]);
    bad & OUTSIDE == 0
}

fn decode_vec(s: &str) -> Option<Vec<u8>> {
    let mut out = vec![0; decoded_len(s.as_bytes())?];
    decode_into(s.as_bytes(), &mut out).then_some(out)
}

/// Decodes a short field (nonce, tag) into `buf`; returns its length,
/// which may exceed `buf` (the bytes are then not kept: a wrong size).
fn decode_short<const N: usize>(s: &str, buf: &mut [u8; N]) -> Result<usize, OpenError> {
    let len = decoded_len(s.as_bytes()).ok_or(OpenError::Malformed)?;
    let valid = match buf.get_mut(..len) {
        Some(out) => decode_into(s.as_bytes(), out),
        None => decode_vec(s).is_some(),
    };
    if valid {
        Ok(len)
    } else {
        Err(OpenError::Malformed)
    }
}

/// Makes room for `additional` bytes in a zeroizing buffer. A bigger buffer
/// is a new allocation and the old one is wiped as it drops: a `Vec` that
/// grows by itself leaves a copy of what it held in freed memory.
pub(crate) fn reserve(buf: &mut Zeroizing<Vec<u8>>, additional: usize) {
    if buf.capacity() - buf.len() >= additional {
        return;
    }
    let mut bigger = Vec::with_capacity((buf.len() + additional).max(buf.capacity() * 2));
    bigger.extend_from_slice(buf);
    *buf = Zeroizing::new(bigger);
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
pub(crate) struct Opener {
    gcm32: Aes256Gcm32,
    key: DataKey,
}

impl Opener {
    pub(crate) fn new(key: &DataKey) -> Opener {
        Opener {
            gcm32: Aes256Gcm32::new(key.as_ref().into()),
            key: key.clone(),
        }
    }

    pub(crate) fn open<'a>(
        &self,
        value: &'a str,
        aad: &str,
    ) -> Result<(Zeroizing<Vec<u8>>, &'a str), OpenError> {
        let mut plain = Zeroizing::new(Vec::new());
        let kind = self.open_into(value, aad.as_bytes(), &mut plain)?;
        Ok((plain, kind))
    }

    /// Appends the plaintext of `value` to `out` and returns its type tag;
    /// on error `out` is left as it was. No allocation when `out` has room:
    /// the ciphertext is decoded into `out` and decrypted in place.
    pub(crate) fn open_into<'a>(
        &self,
        value: &'a str,
        aad: &[u8],
        out: &mut Zeroizing<Vec<u8>>,
    ) -> Result<&'a str, OpenError> {
        let f = fields(value).ok_or(OpenError::Malformed)?;
        let len = decoded_len(f.data.as_bytes()).ok_or(OpenError::Malformed)?;
        let mut iv = [0u8; NONCE_LEN];
        let mut tag = [0u8; TAG_LEN];
        let iv_len = decode_short(f.iv, &mut iv)?;
        let tag_len = decode_short(f.tag, &mut tag)?;
        let start = out.len();
        reserve(out, len);
        out.resize(start + len, 0);
        let sealed = &mut out[start..];
        if !decode_into(f.data.as_bytes(), sealed) {
            out.truncate(start);
            return Err(OpenError::Malformed);
        }
        let tag = Tag::from_slice(&tag);
        let opened = match (tag_len, iv_len) {
            (TAG_LEN, NONCE_LEN) => self.gcm32.decrypt_in_place_detached(
                Nonce::<U32>::from_slice(&iv),
                aad,
                sealed,
                tag,
            ),
            // Go accepts nonce sizes sops never writes; 12 is GCM's usual one.
            (TAG_LEN, 12) => Aes256Gcm12::new(self.key.as_ref().into()).decrypt_in_place_detached(
                aes_gcm::Nonce::from_slice(&iv[..12]),
                aad,
                sealed,
                tag,
            ),
            _ => Err(aes_gcm::Error),
        };
        if opened.is_err() {
            // Only ciphertext is left there: GCM checks the tag first.
            out.truncate(start);
            return Err(OpenError::Auth);
        }
        Ok(f.kind)
    }
}

/// Encrypts `plain` with a fresh random nonce. Empty plaintexts stay empty,
/// unencrypted, as sops writes them.
pub(crate) fn seal(plain: &[u8], kind: &str, key: &DataKey, aad: &str) -> String {
    if plain.is_empty() {
        return String::new();
    }
    let mut iv = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    seal_with_iv(plain, kind, key, aad, &iv)
}

/// Encrypts with a given nonce (sops reuses a value's nonce when the value
/// is unchanged; tests use it for known answers).
pub(crate) fn seal_with_iv(
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
    fn decoder_accepts_what_the_base64_crate_accepts() {
        // Every string of up to 6 characters over an alphabet that has
        // padding, bytes outside base64, and letters whose low bits are
        // trailing bits in a final group.
        let chars = b"AB/=!Q\n";
        let mut s = Vec::new();
        fn each(s: &mut Vec<u8>, chars: &[u8], depth: usize) {
            let text = std::str::from_utf8(s).unwrap();
            assert_eq!(decode_vec(text), B64.decode(text).ok(), "{text:?}");
            if depth == 0 {
                return;
            }
            for &c in chars {
                s.push(c);
                each(s, chars, depth - 1);
                s.pop();
            }
        }
        each(&mut s, chars, 6);
        for text in [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "YWJj",
            "YWI=",
            "YQ==",
        ] {
            assert_eq!(decode_vec(text), B64.decode(text).ok(), "{text:?}");
        }
    }

    #[test]
    fn open_into_appends_and_keeps_the_buffer_on_error() {
        let sealed = seal(b"sk-secret", "str", &key(), "A:");
        let opener = Opener::new(&key());
        let mut out = Zeroizing::new(b"x".to_vec());
        assert_eq!(opener.open_into(&sealed, b"A:", &mut out), Ok("str"));
        assert_eq!(out.as_slice(), b"xsk-secret");
        assert_eq!(
            opener.open_into(&sealed, b"B:", &mut out),
            Err(OpenError::Auth)
        );
        assert_eq!(out.as_slice(), b"xsk-secret");
        let bad_base64 = sealed.replace(",tag:", ",tag:A");
        assert_eq!(opener.open(&bad_base64, "A:"), Err(OpenError::Malformed));
        let long_tag = sealed.replace(",tag:", ",tag:AAAA");
        assert_eq!(opener.open(&long_tag, "A:"), Err(OpenError::Auth));
    }

    #[test]
    fn parse_shape() {
        assert!(parse("ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]").is_some());
        assert!(parse("ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str").is_none());
        assert!(parse("ENC[AES256_GCM,data:A!AA,iv:AAAA,tag:AAAA,type:str]").is_none());
        assert!(parse("plain").is_none());
    }
}
