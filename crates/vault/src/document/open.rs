//! An encrypted sops dotenv file: parsed, its data key opened, its values
//! decrypted and its MAC verified, all natively.

use crate::crypto::Mac;
use crate::crypto::cipher::{self, DataKey, Opener};
use crate::crypto::datakey;
use crate::error::{Error, FormatError};
use crate::format::metadata::Metadata;
use crate::format::{self, Item, Layout, Text};
use crate::identity::{Identities, KeyringLookup};
use crate::plaintext::{Entry, Plaintext};
use crate::rule::Matcher;
use crate::secret::Secret;
use crate::value::Plain;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Clone, Debug)]
pub struct Document {
    pub path: PathBuf,
    pub items: Vec<Item>,
    pub metadata: Metadata,
}

impl Document {
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_layout(path, format::parse_owned(bytes))
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, Error> {
        Self::from_layout(path, format::parse(bytes))
    }

    fn from_layout(path: &Path, layout: Result<Layout, FormatError>) -> Result<Self, Error> {
        let Layout { items, metadata } = layout.map_err(|source| Error::Format {
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

    /// The data key, with the identities every command uses
    /// ([`Identities::discover_for`]: the keyring last, and only if needed).
    pub fn open_data_key(&self, keyring: Option<&dyn KeyringLookup>) -> Result<DataKey, Error> {
        Identities::discover_for(keyring, |ids| self.data_key(ids)).1
    }

    /// Decrypts every value and verifies the MAC, as `sops decrypt` does.
    pub fn decrypt(&self, key: &DataKey) -> Result<Plaintext, Error> {
        let (plaintext, computed) = self.decrypt_unverified(key)?;
        self.check_mac(key, &computed)?;
        Ok(plaintext)
    }

    /// Decrypts every value; returns the plaintext and the MAC it computes.
    pub fn decrypt_unverified(&self, key: &DataKey) -> Result<(Plaintext, String), Error> {
        let mut entries = Vec::with_capacity(self.items.len());
        let mac = self.walk(key, |_, item, _, opened, _| {
            // One allocation per value, of its exact size: the Secret's own.
            let shown = Secret::new(opened.text.to_vec());
            entries.push(match item {
                Item::Comment { .. } => Entry::Comment(shown),
                Item::Pair { key, line, .. } => Entry::Value {
                    key: key.clone(),
                    value: shown,
                    is_str: opened.is_str,
                    line: *line,
                },
            });
            Ok(())
        })?;
        Ok((Plaintext { entries }, mac.finish()))
    }

    /// Decrypts every value and verifies the MAC, keeping no plaintext.
    pub fn verify(&self, key: &DataKey) -> Result<(), Error> {
        let mac = self.walk(key, |_, _, _, _, _| Ok(()))?;
        self.check_mac(key, &mac.finish())
    }

    /// Compares `computed` with the stored MAC.
    pub(crate) fn check_mac(&self, key: &DataKey, computed: &str) -> Result<(), Error> {
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
            Some((mac, _)) if mac.as_slice() == computed.as_bytes() => Ok(()),
            _ => Err(Error::MacMismatch {
                path: self.path.clone(),
            }),
        }
    }

    /// Opens every item in file order and hashes it into the MAC, as the
    /// reader does. `visit` sees each item, whether it is encrypted, what
    /// it opened to, and the MAC as it was before the item. Returns the MAC.
    pub(crate) fn walk(
        &self,
        key: &DataKey,
        mut visit: impl FnMut(usize, &Item, bool, &Opened<'_>, &Mac) -> Result<(), Error>,
    ) -> Result<Mac, Error> {
        let matcher = self.metadata.rule.matcher();
        let opener = Opener::new(key);
        let mut scratch = Scratch::default();
        let mut context = Context::default();
        let mut mac = Mac::new(self.metadata.mac_only_encrypted);
        for (i, item) in self.items.iter().enumerate() {
            let encrypted = context.encrypts(&matcher, item);
            let opened = self.open_item(item, encrypted, &opener, &mut scratch)?;
            visit(i, item, encrypted, &opened, &mac)?;
            if let Some((flag, bytes)) = opened.mac {
                mac.add(flag, bytes);
            }
        }
        Ok(mac)
    }

    /// One item as the reader sees it, given whether it is encrypted.
    pub(crate) fn open_item<'b>(
        &self,
        item: &'b Item,
        encrypted: bool,
        opener: &Opener,
        scratch: &'b mut Scratch,
    ) -> Result<Opened<'b>, Error> {
        let (name, value, line) = match item {
            Item::Comment { text, line } => {
                return self.open_comment(text, *line, encrypted, opener, scratch);
            }
            Item::Pair { key, value, line } => (key, value, *line),
        };
        if !encrypted || value.is_empty() {
            let bytes = value.as_bytes();
            return Ok(Opened {
                text: bytes,
                is_str: true,
                mac: Some((encrypted, bytes)),
            });
        }
        let Scratch { plain, typed, aad } = scratch;
        aad.clear();
        aad.push_str(name);
        aad.push(':');
        plain.clear();
        let kind = opener
            .open_into(value, aad.as_bytes(), plain)
            .map_err(|_| Error::Value {
                path: self.path.clone(),
                line,
                key: name.to_string(),
            })?;
        if kind == "str" {
            return Ok(Opened {
                text: plain,
                is_str: true,
                mac: Some((encrypted, plain)),
            });
        }
        let value = Plain::from_tagged(Zeroizing::new(plain.to_vec()), kind).map_err(|_| {
            Error::ValueType {
                path: self.path.clone(),
                line,
                key: name.to_string(),
                kind: kind.to_string(),
            }
        })?;
        let value = typed.insert(value);
        Ok(Opened {
            text: &value.text,
            is_str: value.is_str,
            mac: (!value.is_comment).then_some((encrypted, &value.mac_bytes[..])),
        })
    }

    fn open_comment<'b>(
        &self,
        text: &'b Text,
        line: usize,
        encrypted: bool,
        opener: &Opener,
        scratch: &'b mut Scratch,
    ) -> Result<Opened<'b>, Error> {
        let as_is = Opened {
            text: text.as_bytes(),
            is_str: false,
            mac: None,
        };
        if !encrypted || text.is_empty() {
            return Ok(as_is);
        }
        // sops keeps a comment that does not decrypt as it is (written by an
        // older sops, or by hand).
        let plain = &mut scratch.plain;
        plain.clear();
        let Ok(kind) = opener.open_into(text, b":", plain) else {
            return Ok(as_is);
        };
        match kind {
            "comment" => Ok(Opened {
                text: plain,
                is_str: false,
                mac: None,
            }),
            "str" => Ok(Opened {
                text: plain,
                is_str: false,
                mac: Some((true, plain)),
            }),
            _ if Plain::from_tagged(Zeroizing::new(plain.to_vec()), kind).is_err() => Ok(as_is),
            other => Err(Error::ValueType {
                path: self.path.clone(),
                line,
                key: "#comment".into(),
                kind: other.to_string(),
            }),
        }
    }
}

/// One item as the reader sees it.
pub(crate) struct Opened<'b> {
    /// What the plaintext file shows.
    pub text: &'b [u8],
    /// A value tagged `str` (comments never are).
    pub is_str: bool,
    /// What goes into the MAC, with the `encrypted` flag `Mac::add` takes.
    pub mac: Option<(bool, &'b [u8])>,
}

/// Buffers reused from one item to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    plain: Zeroizing<Vec<u8>>,
    typed: Option<Plain>,
    aad: String,
}

/// sops' comment stack: the comments since the last value, which the
/// comment rules test.
#[derive(Default)]
pub(crate) struct Context<'a> {
    comments: Vec<&'a str>,
    after_value: bool,
}

impl<'a> Context<'a> {
    /// The stack as it stands after `items`.
    pub(crate) fn after(items: &'a [Item]) -> Context<'a> {
        let from = items
            .iter()
            .rposition(|i| matches!(i, Item::Pair { .. }))
            .map_or(0, |at| at + 1);
        let comments = items[from..]
            .iter()
            .filter_map(|i| match i {
                Item::Comment { text, .. } => Some(text.as_str()),
                Item::Pair { .. } => None,
            })
            .collect();
        Context {
            comments,
            after_value: false,
        }
    }

    /// Whether `item` is encrypted; called once per item, in file order.
    pub(crate) fn encrypts(&mut self, matcher: &Matcher, item: &'a Item) -> bool {
        match item {
            Item::Comment { text, .. } => self.encrypts_comment(matcher, text),
            Item::Pair { key, .. } => self.encrypts_value(matcher, key),
        }
    }

    pub(crate) fn encrypts_comment(&mut self, matcher: &Matcher, text: &'a str) -> bool {
        if std::mem::take(&mut self.after_value) {
            self.comments.clear();
        }
        self.comments.push(text);
        matcher.encrypts(None, &self.comments)
    }

    pub(crate) fn encrypts_value(&mut self, matcher: &Matcher, key: &str) -> bool {
        if std::mem::take(&mut self.after_value) {
            self.comments.clear();
        }
        self.after_value = true;
        matcher.encrypts(Some(key), &self.comments)
    }
}
