//! An encrypted sops dotenv file: parsed, its data key opened, its values
//! decrypted and its MAC verified, all natively.

use crate::cipher::{self, DataKey};
use crate::datakey;
use crate::error::Error;
use crate::format::{self, Item, Layout};
use crate::identity::Identities;
use crate::mac::Mac;
use crate::metadata::Metadata;
use crate::plaintext::{Entry, Plaintext};
use crate::secret::Secret;
use crate::value::Plain;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Document {
    pub path: PathBuf,
    pub items: Vec<Item>,
    pub metadata: Metadata,
}

impl Document {
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &bytes)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, Error> {
        let Layout { items, metadata } = format::parse(bytes).map_err(|source| Error::Format {
            path: path.to_path_buf(),
            source,
        })?;
        let metadata = Metadata::from_pairs(&metadata).map_err(|source| Error::Metadata {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Document {
            path: path.to_path_buf(),
            items,
            metadata,
        })
    }

    /// Opens the data key with any identity that matches any recipient.
    pub fn data_key(&self, identities: &Identities) -> Result<DataKey, Error> {
        if !self.metadata.foreign.is_empty() && self.metadata.age.is_empty() {
            return Err(Error::NotNative {
                path: self.path.clone(),
                kinds: self.metadata.foreign.join(", "),
            });
        }
        if identities.is_empty() {
            return Err(Error::NoIdentity {
                path: self.path.clone(),
                detail: identities.describe_failure(),
            });
        }
        datakey::unwrap(&self.metadata.age, &identities.identities).map_err(|reason| {
            Error::NoIdentity {
                path: self.path.clone(),
                detail: format!("{} ({reason})", identities.describe_failure()),
            }
        })
    }

    /// Decrypts every value and verifies the MAC, as `sops decrypt` does.
    pub fn decrypt(&self, key: &DataKey) -> Result<Plaintext, Error> {
        let (plaintext, computed) = self.decrypt_unverified(key)?;
        let stored = if self.metadata.mac.is_empty() {
            None
        } else {
            cipher::open(
                &self.metadata.mac,
                key,
                &self.metadata.lastmodified.to_string(),
            )
            .ok()
        };
        match stored {
            Some((mac, _)) if mac.as_slice() == computed.as_bytes() => Ok(plaintext),
            _ => Err(Error::MacMismatch {
                path: self.path.clone(),
            }),
        }
    }

    /// Decrypts every value; returns the plaintext and the MAC it computes.
    pub fn decrypt_unverified(&self, key: &DataKey) -> Result<(Plaintext, String), Error> {
        let matcher = self.metadata.rule.matcher();
        let mut mac = Mac::new(self.metadata.mac_only_encrypted);
        let mut comments: Vec<&str> = Vec::new();
        let mut entries = Vec::with_capacity(self.items.len());
        let opener = cipher::Opener::new(key);
        let mut aad = String::new();
        for item in &self.items {
            match item {
                Item::Comment { text, line } => {
                    comments.push(text);
                    let encrypted = matcher.encrypts(None, &comments);
                    entries.push(self.decrypt_comment(text, *line, encrypted, &opener, &mut mac)?);
                }
                Item::Pair {
                    key: name,
                    value,
                    line,
                } => {
                    let encrypted = matcher.encrypts(Some(name), &comments);
                    let plain = if encrypted && !value.is_empty() {
                        aad.clear();
                        aad.push_str(name);
                        aad.push(':');
                        let (bytes, kind) = opener.open(value, &aad).map_err(|_| Error::Value {
                            path: self.path.clone(),
                            line: *line,
                            key: name.clone(),
                        })?;
                        Plain::from_tagged(bytes, kind).map_err(|_| Error::ValueType {
                            path: self.path.clone(),
                            line: *line,
                            key: name.clone(),
                            kind: kind.to_string(),
                        })?
                    } else {
                        Plain::from_tagged(
                            zeroize::Zeroizing::new(value.as_bytes().to_vec()),
                            "str",
                        )
                        .expect("a str is always valid")
                    };
                    if !plain.is_comment {
                        mac.add(encrypted, &plain.mac_bytes);
                    }
                    entries.push(Entry::Value {
                        key: name.clone(),
                        value: Secret::new(plain.text.to_vec()),
                        is_str: plain.is_str,
                        line: *line,
                    });
                    comments.clear();
                }
            }
        }
        Ok((Plaintext { entries }, mac.finish()))
    }

    fn decrypt_comment(
        &self,
        text: &str,
        line: usize,
        encrypted: bool,
        opener: &cipher::Opener,
        mac: &mut Mac,
    ) -> Result<Entry, Error> {
        if !encrypted || text.is_empty() {
            return Ok(Entry::Comment(Secret::new(text.as_bytes().to_vec())));
        }
        // sops keeps a comment that does not decrypt as it is (written by an
        // older sops, or by hand).
        let Ok((bytes, kind)) = opener.open(text, ":") else {
            return Ok(Entry::Comment(Secret::new(text.as_bytes().to_vec())));
        };
        match kind {
            "comment" => Ok(Entry::Comment(Secret::new(bytes.to_vec()))),
            "str" => {
                mac.add(true, &bytes);
                Ok(Entry::Comment(Secret::new(bytes.to_vec())))
            }
            _ if Plain::from_tagged(bytes, kind).is_err() => {
                Ok(Entry::Comment(Secret::new(text.as_bytes().to_vec())))
            }
            other => Err(Error::ValueType {
                path: self.path.clone(),
                line,
                key: "#comment".into(),
                kind: other.to_string(),
            }),
        }
    }
}
