//! Writing sops dotenv files natively: encrypting a plaintext, setting and
//! unsetting values, re-wrapping the data key for new recipients, rotating
//! the data key. Output is what sops 3.11 would write: unchanged values keep
//! their ciphertext (sops reuses the nonce of an unchanged value), so a
//! change shows in git as the changed line plus `sops_mac` and
//! `sops_lastmodified`.

use super::open::{Context, Document, Scratch};
use crate::crypto::Mac;
use crate::crypto::cipher::{self, DataKey, Opener};
use crate::crypto::datakey;
use crate::error::Error;
use crate::format::Timestamp;
use crate::format::metadata::{Metadata, SOPS_VERSION};
use crate::format::{self, Item, SOPS_PREFIX, Text};
use crate::pin::RecipientPin;
use crate::plaintext::{Entry, Plaintext};
use crate::rule::Rule;
use crate::secret::Secret;
use std::path::Path;

/// One change to a file's values.
#[derive(Clone, Debug)]
pub enum Change {
    /// Replace the first value named so, or append it.
    Set(String, Secret),
    /// Remove every value named so.
    Unset(String),
}

/// Why a key cannot be written into a dotenv file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the key is empty")]
    Empty,
    #[error("the key {0:?} contains '=' (dotenv keys end at the first '=')")]
    Equals(String),
    #[error("the key {0:?} contains a newline, carriage return or NUL")]
    LineBreak(String),
    #[error("the key {0:?} starts with '#' (it would read back as a comment)")]
    Comment(String),
    #[error("the key {0:?} starts with {SOPS_PREFIX} (reserved for sops metadata)")]
    Reserved(String),
}

/// Whether `key` can be written into a dotenv file (and read back as itself).
pub fn check_key(key: &str) -> Result<(), KeyError> {
    let owned = || key.to_string();
    if key.is_empty() {
        Err(KeyError::Empty)
    } else if key.contains('=') {
        Err(KeyError::Equals(owned()))
    } else if key.contains(['\n', '\r', '\0']) {
        Err(KeyError::LineBreak(owned()))
    } else if key.starts_with('#') {
        Err(KeyError::Comment(owned()))
    } else if key.starts_with(SOPS_PREFIX) {
        Err(KeyError::Reserved(owned()))
    } else {
        Ok(())
    }
}

/// How a new file is encrypted.
#[derive(Clone, Debug, Default)]
pub struct EncryptOptions {
    pub recipients: Vec<String>,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
    /// When set, every recipient must be pinned.
    pub pin: Option<RecipientPin>,
}

/// Encrypts a plaintext dotenv file (as `sops encrypt`). Refuses input that
/// already holds `sops_` keys.
pub fn encrypt(path: &Path, plaintext: &[u8], options: &EncryptOptions) -> Result<Document, Error> {
    let layout = format::parse_secret(plaintext).map_err(|source| Error::Format {
        path: path.to_path_buf(),
        source,
    })?;
    if !layout.metadata.is_empty() {
        return Err(Error::AlreadyEncrypted {
            path: path.to_path_buf(),
        });
    }
    for item in &layout.items {
        if let Item::Pair { key, line, .. } = item {
            if key.contains('\0') {
                return Err(Error::BadKey {
                    path: path.to_path_buf(),
                    reason: format!("line {line}: the key contains a NUL byte"),
                });
            }
        }
    }
    if options.recipients.is_empty() {
        return Err(Error::Recipients {
            path: path.to_path_buf(),
            reason: "no recipient given".into(),
        });
    }
    if let Some(pin) = &options.pin {
        pin.check(path, &options.recipients)?;
    }
    let key = cipher::new_data_key();
    let age = datakey::wrap(&key, &options.recipients).map_err(|e| Error::Recipients {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let metadata = Metadata {
        age,
        foreign: Vec::new(),
        lastmodified_raw: String::new(),
        lastmodified: Timestamp::now_utc(),
        mac: String::new(),
        rule: options.rule.clone(),
        mac_only_encrypted: options.mac_only_encrypted,
        version: SOPS_VERSION.to_string(),
        shamir_threshold: None,
    };
    let plain = Plaintext::from_items(&layout.items);
    let mut doc = Document {
        path: path.to_path_buf(),
        items: Vec::new(),
        metadata,
    };
    doc.seal_all(&key, &plain);
    Ok(doc)
}

/// One line of the file [`Document::apply`] writes.
enum Slot {
    /// Line `i` of the file as read.
    Old(usize),
    /// A value set by a change, in place of old line `replaces` or
    /// appended. `unless_same`: the old line stays when it holds this very
    /// `str` (it keeps its ciphertext, as sops keeps an unchanged value's
    /// nonce: no diff at all).
    Set {
        key: Text,
        value: Secret,
        replaces: Option<usize>,
        unless_same: bool,
    },
}

impl Slot {
    fn key<'s>(&'s self, items: &'s [Item]) -> Option<&'s str> {
        match self {
            Slot::Old(i) => match &items[*i] {
                Item::Pair { key, .. } => Some(key),
                Item::Comment { .. } => None,
            },
            Slot::Set { key, .. } => Some(key),
        }
    }

    fn old(&self) -> Option<usize> {
        match self {
            Slot::Old(i) => Some(*i),
            Slot::Set { replaces, .. } => *replaces,
        }
    }
}

/// The lines of the new file, from the changes alone: the first line that
/// differs is known before any value is decrypted.
fn plan(items: &[Item], changes: &[Change]) -> Result<Vec<Slot>, KeyError> {
    let mut slots: Vec<Slot> = (0..items.len()).map(Slot::Old).collect();
    for change in changes {
        match change {
            Change::Set(name, value) => {
                check_key(name)?;
                let set = |replaces, unless_same| Slot::Set {
                    key: Text::from(name.as_str()),
                    value: value.clone(),
                    replaces,
                    unless_same,
                };
                let at = slots
                    .iter()
                    .position(|s| s.key(items) == Some(name.as_str()));
                let Some(at) = at else {
                    slots.push(set(None, false));
                    continue;
                };
                let new = match &slots[at] {
                    Slot::Old(i) => set(Some(*i), true),
                    // The line holds this value already.
                    Slot::Set { value: now, .. } if now == value => continue,
                    Slot::Set { replaces, .. } => set(*replaces, false),
                };
                slots[at] = new;
            }
            Change::Unset(name) => slots.retain(|s| s.key(items) != Some(name.as_str())),
        }
    }
    Ok(slots)
}

impl Document {
    /// The file's bytes: data lines, then the sorted metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let metadata = self.metadata.emit();
        let mut out = Vec::with_capacity(format::items_len(&self.items) + metadata.len());
        format::push_items(&mut out, &self.items);
        out.extend_from_slice(&metadata);
        out
    }

    /// Applies `changes` (after verifying the MAC) and returns the new file.
    pub fn apply(&self, key: &DataKey, changes: &[Change]) -> Result<Document, Error> {
        self.clone().apply_into(key, changes)
    }

    /// [`Document::apply`] without copying the file's items first.
    ///
    /// One pass decrypts the file, verifies its MAC and computes the new
    /// one: up to the first line a change touches both files hash the same,
    /// so the hash state there is forked and each line after it goes into
    /// the new MAC as the reader will hash it in the new file.
    pub fn apply_into(mut self, key: &DataKey, changes: &[Change]) -> Result<Document, Error> {
        self.require_native()?;
        let slots = match plan(&self.items, changes) {
            Ok(slots) => slots,
            Err(bad) => {
                // A tampered file is reported first, whatever the change.
                self.verify(key)?;
                return Err(Error::BadKey {
                    path: self.path.clone(),
                    reason: bad.to_string(),
                });
            }
        };
        let fork = slots
            .iter()
            .enumerate()
            .position(|(i, s)| !matches!(s, Slot::Old(j) if *j == i))
            .unwrap_or(slots.len())
            .min(self.items.len());
        // Where each old line from the fork on goes (None: unset).
        let mut place = vec![None; self.items.len() - fork];
        for (s, slot) in slots.iter().enumerate().skip(fork) {
            if let Some(p) = slot.old().and_then(|i| place.get_mut(i.checked_sub(fork)?)) {
                *p = Some(s);
            }
        }
        let matcher = self.metadata.rule.matcher();
        let opener = Opener::new(key);
        let mut scratch = Scratch::default();
        let mut context = Context::after(&self.items[..fork]);
        let mut new_mac: Option<Mac> = None;
        let mut encrypted = vec![false; slots.len()];
        let mut same = vec![false; slots.len()];
        let old_mac = self.walk(key, |i, _, was_encrypted, opened, mac_before| {
            let Some(at) = i.checked_sub(fork) else {
                return Ok(());
            };
            let new_mac = new_mac.get_or_insert_with(|| mac_before.clone());
            let Some(s) = place[at] else { return Ok(()) };
            if let Slot::Set {
                key: name,
                value,
                unless_same,
                ..
            } = &slots[s]
            {
                same[s] = *unless_same && opened.is_str && opened.text == value.expose();
                if !same[s] {
                    encrypted[s] = context.encrypts_value(&matcher, name);
                    new_mac.add(encrypted[s], value.expose());
                    return Ok(());
                }
            }
            // An old line kept: hashed as it was, unless the lines around
            // it now change whether it counts as encrypted.
            let item = &self.items[i];
            let now_encrypted = context.encrypts(&matcher, item);
            let opened = if now_encrypted == was_encrypted {
                opened.mac
            } else {
                self.open_item(item, now_encrypted, &opener, &mut scratch)?
                    .mac
            };
            if let Some((flag, bytes)) = opened {
                new_mac.add(flag, bytes);
            }
            Ok(())
        })?;
        let mut new_mac = new_mac.unwrap_or_else(|| old_mac.clone());
        self.check_mac(key, &old_mac.finish())?;
        for (s, slot) in slots.iter().enumerate().skip(fork) {
            if let Slot::Set {
                key: name,
                value,
                replaces: None,
                ..
            } = slot
            {
                encrypted[s] = context.encrypts_value(&matcher, name);
                new_mac.add(encrypted[s], value.expose());
            }
        }
        drop(context);
        let mut items = std::mem::take(&mut self.items);
        let mut tail: Vec<Option<Item>> = items.split_off(fork).into_iter().map(Some).collect();
        let mut old = |i: usize| {
            let at = i.checked_sub(fork)?;
            tail.get_mut(at).and_then(Option::take)
        };
        for (s, slot) in slots.into_iter().enumerate().skip(fork) {
            let item = match slot {
                Slot::Old(i) => old(i),
                Slot::Set {
                    replaces: Some(i), ..
                } if same[s] => old(i),
                Slot::Set {
                    key: name, value, ..
                } => {
                    let sealed = if encrypted[s] {
                        cipher::seal(value.expose(), "str", key, &format!("{name}:"))
                    } else {
                        value
                            .as_str()
                            .map(str::to_string)
                            .ok_or_else(|| Error::BadKey {
                                path: self.path.clone(),
                                reason: format!(
                                    "{name} is stored in the clear and its value is not UTF-8"
                                ),
                            })?
                    };
                    Some(Item::Pair {
                        key: name,
                        value: sealed.into(),
                        line: 0,
                    })
                }
            };
            items.extend(item);
        }
        let mut doc = Document {
            path: self.path,
            items,
            metadata: self.metadata,
        };
        doc.metadata.lastmodified = Timestamp::now_utc();
        doc.metadata.version = SOPS_VERSION.to_string();
        doc.seal_mac(key, &new_mac.finish());
        Ok(doc)
    }

    /// The same data key wrapped for a new set of recipients (as `sops
    /// updatekeys`); values untouched. Stanzas of kept recipients are kept.
    /// With a pin, refused unless every recipient is pinned.
    pub fn with_recipients(
        &self,
        key: &DataKey,
        recipients: &[String],
        pin: Option<&RecipientPin>,
    ) -> Result<Document, Error> {
        self.require_native()?;
        if let Some(pin) = pin {
            pin.check(&self.path, recipients)?;
        }
        if recipients.is_empty() {
            return Err(Error::Recipients {
                path: self.path.clone(),
                reason: "refusing to remove the last recipient: nobody could open the file".into(),
            });
        }
        // Prove the key is this file's before wrapping it for anyone.
        self.verify(key)?;
        let mut age = Vec::with_capacity(recipients.len());
        for r in recipients {
            match self.metadata.age.iter().find(|s| &s.recipient == r) {
                Some(stanza) => age.push(stanza.clone()),
                None => age.extend(datakey::wrap(key, std::slice::from_ref(r)).map_err(|e| {
                    Error::Recipients {
                        path: self.path.clone(),
                        reason: e.to_string(),
                    }
                })?),
            }
        }
        let mut doc = self.clone();
        doc.metadata.age = age;
        Ok(doc)
    }

    /// A new data key, every value re-encrypted (as `sops rotate`), wrapped
    /// for the file's recipients; with a pin, refused while one is not
    /// pinned (a stanza anyone can add must not get the new key).
    pub fn rotate_data_key(
        &self,
        old: &DataKey,
        pin: Option<&RecipientPin>,
    ) -> Result<Document, Error> {
        self.require_native()?;
        let recipients: Vec<String> = self.metadata.recipients();
        if let Some(pin) = pin {
            pin.check(&self.path, &recipients)?;
        }
        let plain = self.decrypt(old)?;
        let key = cipher::new_data_key();
        let mut doc = Document {
            path: self.path.clone(),
            items: Vec::new(),
            metadata: self.metadata.clone(),
        };
        doc.metadata.age = datakey::wrap(&key, &recipients).map_err(|e| Error::Recipients {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        doc.metadata.lastmodified = Timestamp::now_utc();
        doc.metadata.version = SOPS_VERSION.to_string();
        doc.seal_all(&key, &plain);
        Ok(doc)
    }

    fn require_native(&self) -> Result<(), Error> {
        if self.metadata.is_native() {
            Ok(())
        } else {
            Err(Error::NotNative {
                path: self.path.clone(),
                kinds: self.metadata.foreign.join(", "),
            })
        }
    }

    /// Encrypts every entry of `plain` into `self.items` and seals the MAC.
    fn seal_all(&mut self, key: &DataKey, plain: &Plaintext) {
        let matcher = self.metadata.rule.matcher();
        let mut comments: Vec<String> = Vec::new();
        let mut items = Vec::with_capacity(plain.entries.len());
        for entry in &plain.entries {
            match entry {
                Entry::Comment(text) => {
                    let text = String::from_utf8_lossy(text.expose()).into_owned();
                    comments.push(text.clone());
                    let refs: Vec<&str> = comments.iter().map(String::as_str).collect();
                    let sealed = if matcher.encrypts(None, &refs) {
                        cipher::seal(text.as_bytes(), "comment", key, ":")
                    } else {
                        text
                    };
                    items.push(Item::Comment {
                        text: sealed.into(),
                        line: 0,
                    });
                }
                Entry::Value {
                    key: name, value, ..
                } => {
                    let refs: Vec<&str> = comments.iter().map(String::as_str).collect();
                    let sealed = if matcher.encrypts(Some(name), &refs) {
                        cipher::seal(value.expose(), "str", key, &format!("{name}:"))
                    } else {
                        String::from_utf8_lossy(value.expose()).into_owned()
                    };
                    items.push(Item::Pair {
                        key: Text::from(name.as_str()),
                        value: sealed.into(),
                        line: 0,
                    });
                    comments.clear();
                }
            }
        }
        self.items = items;
        self.reseal_mac(key, plain)
            .expect("freshly sealed values decrypt");
    }

    /// Recomputes the MAC over `plain` and encrypts it for `lastmodified`.
    fn reseal_mac(&mut self, key: &DataKey, plain: &Plaintext) -> Result<(), Error> {
        let matcher = self.metadata.rule.matcher();
        let mut mac = Mac::new(self.metadata.mac_only_encrypted);
        let mut comments: Vec<&str> = Vec::new();
        for (item, entry) in self.items.iter().zip(&plain.entries) {
            match (item, entry) {
                (Item::Comment { text, .. }, _) => comments.push(text.as_str()),
                (Item::Pair { key: name, .. }, Entry::Value { value, .. }) => {
                    mac.add(matcher.encrypts(Some(name), &comments), value.expose());
                    comments.clear();
                }
                _ => unreachable!("items and entries are built side by side"),
            }
        }
        self.seal_mac(key, &mac.finish());
        Ok(())
    }

    /// Stores `mac` encrypted for the current `lastmodified`.
    fn seal_mac(&mut self, key: &DataKey, mac: &str) {
        let lastmodified = self.metadata.lastmodified.to_string();
        self.metadata.mac = cipher::seal(mac.as_bytes(), "str", key, &lastmodified);
        self.metadata.lastmodified_raw = lastmodified;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identities, Source};
    use age::secrecy::ExposeSecret;

    fn fixture(plain: &[u8]) -> (Document, DataKey) {
        let id = age::x25519::Identity::generate();
        let options = EncryptOptions {
            recipients: vec![id.to_public().to_string()],
            ..EncryptOptions::default()
        };
        let doc = encrypt(Path::new("t.env"), plain, &options).unwrap();
        let ids = Identities::from_text(Source::Env, id.to_string().expose_secret());
        let key = doc.data_key(&ids).unwrap();
        (doc, key)
    }

    fn set(k: &str, v: &str) -> Change {
        Change::Set(k.into(), Secret::from(v.to_string()))
    }

    #[test]
    fn set_unset_keep_other_lines_and_a_valid_mac() {
        let (doc, key) = fixture(b"# c\nA=1\nB=2\nC=\n");
        let new = doc.apply(&key, &[set("B", "two"), set("D", "4")]).unwrap();
        assert_eq!(new.items[0], doc.items[0]);
        assert_eq!(new.items[1], doc.items[1]);
        assert_ne!(new.items[2], doc.items[2]);
        let plain = new.decrypt(&key).unwrap();
        assert_eq!(&*plain.to_dotenv(), b"# c\nA=1\nB=two\nC=\nD=4\n");
        let same = new.apply(&key, &[set("B", "two")]).unwrap();
        assert_eq!(same.items, new.items, "the same value keeps its ciphertext");
        let gone = same.apply(&key, &[Change::Unset("A".into())]).unwrap();
        assert_eq!(
            &*gone.decrypt(&key).unwrap().to_dotenv(),
            b"# c\nB=two\nC=\nD=4\n"
        );
        assert!(doc.apply(&key, &[set("X=Y", "1")]).is_err());
    }

    #[test]
    fn the_mac_stays_right_around_values_of_other_types() {
        let (mut doc, key) = fixture(b"A=1\nN=007\n");
        // A value tagged bool (other sops stores write them): shown as
        // "true", hashed as "True".
        if let Item::Pair { value, .. } = &mut doc.items[1] {
            *value = cipher::seal(b"t", "bool", &key, "N:").into();
        }
        let (_, mac) = doc.decrypt_unverified(&key).unwrap();
        doc.seal_mac(&key, &mac);
        doc.decrypt(&key).unwrap();
        let new = doc.apply(&key, &[set("A", "2")]).unwrap();
        let plain = new.decrypt(&key).expect("MAC verifies");
        assert_eq!(plain.get("A").unwrap().0.expose(), b"2");
    }

    #[test]
    fn recipients_and_rotation() {
        let (doc, key) = fixture(b"A=1\n");
        let other = age::x25519::Identity::generate().to_public().to_string();
        let mut list: Vec<String> = doc.metadata.recipients();
        list.push(other);
        let two = doc.with_recipients(&key, &list, None).unwrap();
        assert_eq!(two.metadata.age.len(), 2);
        assert_eq!(
            two.metadata.age[0], doc.metadata.age[0],
            "kept stanza untouched"
        );
        assert_eq!(two.items, doc.items);
        assert!(doc.with_recipients(&key, &[], None).is_err());
        let rotated = doc.rotate_data_key(&key, None).unwrap();
        assert_ne!(rotated.items, doc.items);
        assert!(
            rotated.decrypt(&key).is_err(),
            "the old key no longer opens it"
        );
    }
}
