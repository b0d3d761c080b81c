//! The file's data key, wrapped for each recipient as an armored age file
//! (one `sops_age__list_N__map_enc` per recipient).

use crate::crypto::cipher::DataKey;
use crate::format::metadata::AgeStanza;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::x25519;
use std::io::{Read, Write};
use std::str::FromStr;
use zeroize::Zeroizing;

/// Opens the data key with the first stanza any identity can open.
/// `Err` carries a short reason when none can (no secret in it).
pub fn unwrap(stanzas: &[AgeStanza], identities: &[x25519::Identity]) -> Result<DataKey, String> {
    let mut last = "no age recipient in the file".to_string();
    for stanza in stanzas {
        match unwrap_one(stanza, identities) {
            Ok(key) => return Ok(key),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn unwrap_one(stanza: &AgeStanza, identities: &[x25519::Identity]) -> Result<DataKey, String> {
    let decryptor = age::Decryptor::new(ArmoredReader::new(stanza.enc.as_bytes()))
        .map_err(|e| format!("the age stanza for {} is malformed: {e}", stanza.recipient))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| e.to_string())?;
    let mut plain = Zeroizing::new(Vec::with_capacity(32));
    reader
        .read_to_end(&mut plain)
        .map_err(|e| format!("the age stanza for {} is corrupt: {e}", stanza.recipient))?;
    let key: [u8; 32] = plain.as_slice().try_into().map_err(|_| {
        format!(
            "the data key for {} is {} bytes, not 32",
            stanza.recipient,
            plain.len()
        )
    })?;
    Ok(Zeroizing::new(key))
}

/// Wraps the data key for each recipient, in order.
pub fn wrap(key: &DataKey, recipients: &[String]) -> Result<Vec<AgeStanza>, String> {
    recipients
        .iter()
        .map(|r| {
            let parsed = x25519::Recipient::from_str(r)
                .map_err(|e| format!("{r:?} is not an age recipient: {e}"))?;
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
        .and_then(|armor| armor.finish())
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
