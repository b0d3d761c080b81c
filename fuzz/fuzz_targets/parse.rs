//! `cargo +nightly fuzz run parse`: the dotenv/sops parser and the value
//! cipher on arbitrary bytes must return errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = vault::Document::parse(Path::new("fuzz.env"), data) {
        let key = vault::crypto::new_data_key();
        let _ = doc.decrypt(&key);
    }
    let _ = vault::Plaintext::from_dotenv(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vault::crypto::parse(text);
    }
});
