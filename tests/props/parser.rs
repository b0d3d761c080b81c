//! Properties of the parser and the cipher on arbitrary input: they return
//! errors, never panic; and what litekeys encrypts, it decrypts unchanged.

use proptest::prelude::*;
use std::path::Path;
use vault::identity::{Identities, Source};
use vault::{EncryptOptions, encrypt};

fn dotenv_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_ ]{0,12}=[^\n]{0,40}",
        "#[^\n]{0,30}",
        "sops_[a-z_]{0,30}=[^\n]{0,60}",
        "sops_age__list_[0-9]{1,2}__map_(enc|recipient)=[^\n]{0,60}",
        "ENC\\[AES256_GCM,data:[A-Za-z0-9+/=]{0,12},iv:[A-Za-z0-9+/=]{0,12},tag:[A-Za-z0-9+/=]{0,24},type:[a-z]{0,8}\\]",
        "[^\n]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = vault::Document::parse(Path::new("fuzz.env"), &bytes);
        let _ = vault::Plaintext::from_dotenv(&bytes);
    }

    #[test]
    fn parse_never_panics_on_dotenv_shapes(lines in proptest::collection::vec(dotenv_line(), 0..24)) {
        let text = lines.join("\n");
        if let Ok(doc) = vault::Document::parse(Path::new("fuzz.env"), text.as_bytes()) {
            // Decrypting with a random key must fail cleanly, never panic.
            let key = vault::crypto::new_data_key();
            let _ = doc.decrypt(&key);
        }
    }

    #[test]
    fn cipher_parse_never_panics(s in "\\PC{0,120}") {
        let _ = vault::crypto::parse(&s);
        let key = vault::crypto::new_data_key();
        let _ = vault::crypto::open(&s, &key, "K:");
    }

}

proptest! {
    // Each case generates an age identity and runs X25519: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encrypt_then_decrypt_is_identity(
        pairs in proptest::collection::vec(("[A-Za-z_][A-Za-z0-9_]{0,10}", "[^\n\\\\]{0,30}"), 0..12),
        mac_only in any::<bool>(),
    ) {
        // Every reader refuses a key set twice: the first of each only.
        let mut seen = std::collections::HashSet::new();
        let pairs: Vec<_> = pairs.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let identity = age::x25519::Identity::generate();
        let mut plain = String::new();
        for (k, v) in &pairs {
            plain.push_str(&format!("{k}={v}\n"));
        }
        let options = EncryptOptions {
            recipients: vec![identity.to_public().to_string()],
            mac_only_encrypted: mac_only,
            ..Default::default()
        };
        let doc = encrypt(Path::new("p.env"), plain.as_bytes(), &options).unwrap();
        let reparsed = vault::Document::parse(Path::new("p.env"), &doc.to_bytes()).unwrap();
        let ids = Identities::from_text(Source::Env, &{
            use age::secrecy::ExposeSecret;
            identity.to_string().expose_secret().to_string()
        });
        let key = reparsed.data_key(&ids).unwrap();
        let out = reparsed.decrypt(&key).unwrap();
        prop_assert_eq!(out.to_dotenv().to_vec(), plain.into_bytes());
    }
}
