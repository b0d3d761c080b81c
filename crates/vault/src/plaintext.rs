//! A decrypted file: comments and values in file order, and the ways
//! litekeys prints them.

use crate::format::{self, Text};
use crate::secret::Secret;
use zeroize::Zeroizing;

#[derive(Clone, Debug)]
pub enum Entry {
    Comment(Secret),
    Value {
        key: Text,
        value: Secret,
        /// Tagged `str` (anything sops' dotenv store writes).
        is_str: bool,
        /// 1-based line in the encrypted file (0 when unknown).
        line: usize,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Plaintext {
    pub entries: Vec<Entry>,
}

impl Plaintext {
    /// Parses the plaintext dotenv that `sops decrypt` prints.
    pub fn from_dotenv(bytes: &[u8]) -> Result<Self, crate::error::FormatError> {
        let layout = format::parse_secret(bytes)?;
        Ok(Plaintext::from_items(&layout.items))
    }

    /// A plaintext from the items of a plaintext file. Keys are copied: the
    /// entries do not keep the file's text alive.
    pub fn from_items(items: &[format::Item]) -> Plaintext {
        let entries = items
            .iter()
            .map(|item| match item {
                format::Item::Comment { text, .. } => {
                    Entry::Comment(Secret::new(text.as_bytes().to_vec()))
                }
                format::Item::Pair { key, value, line } => Entry::Value {
                    key: Text::from(key.as_str()),
                    value: Secret::new(value.as_bytes().to_vec()),
                    is_str: true,
                    line: *line,
                },
            })
            .collect();
        Plaintext { entries }
    }

    /// The file as `sops decrypt --output-type dotenv` prints it.
    pub fn to_dotenv(&self) -> Zeroizing<Vec<u8>> {
        let mut size = 0;
        let mut escapes = false;
        for entry in &self.entries {
            size += 2 + match entry {
                Entry::Comment(t) => t.expose().len(),
                Entry::Value { key, value, .. } => {
                    let len = format::escaped_len(value.expose());
                    escapes |= len != value.expose().len();
                    key.len() + len
                }
            };
        }
        // One allocation of the exact size: growing would leave copies of
        // secrets in freed memory.
        let mut out = Zeroizing::new(Vec::with_capacity(size));
        for entry in &self.entries {
            match entry {
                Entry::Comment(text) => format::push_comment(&mut out, text.expose()),
                Entry::Value { key, value, .. } if escapes => {
                    format::push_pair(&mut out, key, value.expose());
                }
                // No value has a newline: no second search through each.
                Entry::Value { key, value, .. } => {
                    out.extend_from_slice(key.as_bytes());
                    out.push(b'=');
                    out.extend_from_slice(value.expose());
                    out.push(b'\n');
                }
            }
        }
        out
    }

    /// Values only, in file order (comments skipped).
    pub fn values(&self) -> impl Iterator<Item = (&str, &Secret, usize)> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Value {
                key, value, line, ..
            } => Some((key.as_str(), value, *line)),
            Entry::Comment(_) => None,
        })
    }

    /// The first value named `key` (as `sops decrypt --extract`).
    pub fn get(&self, key: &str) -> Option<(&Secret, bool)> {
        self.entries.iter().find_map(|e| match e {
            Entry::Value {
                key: k,
                value,
                is_str,
                ..
            } if k.as_str() == key => Some((value, *is_str)),
            _ => None,
        })
    }

    pub fn len(&self) -> usize {
        self.values().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
