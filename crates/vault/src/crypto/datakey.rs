//! The file's data key, wrapped for each recipient as an armored age file
//! (one `sops_age__list_N__map_enc` per recipient).

use crate::crypto::cipher::DataKey;
use crate::format::metadata::AgeStanza;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::x25519;
use std::io::{Read, Write};
use std::str::FromStr;
use thiserror::Error;
use zeroize::Zeroizing;

/// Why no stanza gave the data key (no secret in it).
#[derive(Debug, Error)]
pub(crate) enum UnwrapError {
    #[error("no age recipient in the file")]
    NoRecipient,
    #[error("the age stanza for {recipient} is malformed: {source}")]
    Malformed {
        recipient: String,
        source: age::DecryptError,
    },
    #[error("{0}")]
    NoMatch(age::DecryptError),
    #[error("the age stanza for {recipient} is corrupt: {source}")]
    Corrupt {
        recipient: String,
        source: std::io::Error,
    },
    #[error("the data key for {recipient} is {len} bytes, not 32")]
    WrongSize { recipient: String, len: usize },
}

/// A recipient the data key cannot be wrapped for.
#[derive(Debug, Error)]
#[error("{recipient:?} is not an age recipient: {reason}")]
pub(crate) struct NotARecipient {
    recipient: String,
    reason: &'static str,
}

/// Opens the data key with the first stanza any identity can open.
/// `Err` says why the last one failed when none can.
pub(crate) fn unwrap(
    stanzas: &[AgeStanza],
    identities: &[x25519::Identity],
) -> Result<DataKey, UnwrapError> {
    let mut last = UnwrapError::NoRecipient;
    for stanza in stanzas {
        match unwrap_one(stanza, identities) {
            Ok(key) => return Ok(key),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn unwrap_one(stanza: &AgeStanza, identities: &[x25519::Identity]) -> Result<DataKey, UnwrapError> {
    let recipient = || stanza.recipient.clone();
    let decryptor =
        age::Decryptor::new(ArmoredReader::new(stanza.enc.as_bytes())).map_err(|source| {
            UnwrapError::Malformed {
                recipient: recipient(),
                source,
            }
        })?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(UnwrapError::NoMatch)?;
    let mut plain = Zeroizing::new(Vec::with_capacity(32));
    reader
        .read_to_end(&mut plain)
        .map_err(|source| UnwrapError::Corrupt {
            recipient: recipient(),
            source,
        })?;
    let key: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| UnwrapError::WrongSize {
            recipient: recipient(),
            len: plain.len(),
        })?;
    Ok(Zeroizing::new(key))
}

/// Wraps the data key for each recipient, in order.
pub(crate) fn wrap(key: &DataKey, recipients: &[String]) -> Result<Vec<AgeStanza>, NotARecipient> {
    recipients
        .iter()
        .map(|r| {
            let parsed = x25519::Recipient::from_str(r).map_err(|reason| NotARecipient {
                recipient: r.clone(),
                reason,
            })?;
            Ok(AgeStanza {
                recipient: r.clone(),
                enc: wrap_one(key, &parsed),
            })
        })
        .collect()
}

fn wrap_one(key: &DataKey, recipient: &x25519::Recipient) -> String {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .expect("one recipient is enough");
    let mut out = Vec::new();
    let armor =
        ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).expect("writing to memory");
    let mut w = encryptor.wrap_output(armor).expect("writing to memory");
    w.write_all(key.as_ref()).expect("writing to memory");
    w.finish()
        .and_then(age::armor::ArmoredWriter::finish)
        .expect("writing to memory");
    String::from_utf8(out).expect("armor is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_then_unwrap_with_either_identity() {
        let a = x25519::Identity::generate();
        let b = x25519::Identity::generate();
        let key = crate::crypto::cipher::new_data_key();
        let stanzas = wrap(
            &key,
            &[a.to_public().to_string(), b.to_public().to_string()],
        )
        .unwrap();
        assert!(
            stanzas[0]
                .enc
                .starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n")
        );
        assert!(
            stanzas[0]
                .enc
                .ends_with("-----END AGE ENCRYPTED FILE-----\n")
        );
        assert_eq!(*unwrap(&stanzas, std::slice::from_ref(&b)).unwrap(), *key);
        assert_eq!(*unwrap(&stanzas, std::slice::from_ref(&a)).unwrap(), *key);
        let c = x25519::Identity::generate();
        assert!(unwrap(&stanzas, &[c]).is_err());
    }
}
