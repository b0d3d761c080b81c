//! The `sops_*` metadata of a dotenv file: recipients and their wrapped data
//! keys, `lastmodified`, `mac`, the encryption rule, `mac_only_encrypted`,
//! `version`.
//!
//! sops unflattens `age__list_0__map_enc`-style keys into its metadata
//! struct and ignores keys it does not know; so do we. Key types we do not
//! open natively (pgp, kms, gcp_kms, azure_kv, hc_vault, key groups) are
//! recorded so the caller can hand the file to the `sops` binary.

use super::dotenv::{SOPS_PREFIX, encode_newlines};
use super::rfc3339::Timestamp;
use crate::error::MetadataError;
use crate::rule::Rule;

/// The sops version litekeys writes into files (the format it matches).
pub(crate) const SOPS_VERSION: &str = "3.11.0";

/// One age recipient and the data key wrapped for it (an armored age file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeStanza {
    pub recipient: String,
    pub enc: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub age: Vec<AgeStanza>,
    /// Key kinds the native backend cannot open (`pgp`, `kms`, …).
    pub foreign: Vec<String>,
    /// `lastmodified` as written in the file.
    pub lastmodified_raw: String,
    pub lastmodified: Timestamp,
    /// The encrypted MAC (`ENC[…]`), or empty.
    pub mac: String,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
    pub version: String,
    /// `shamir_threshold` as written, kept for the sops backend.
    pub shamir_threshold: Option<String>,
}

impl Metadata {
    /// Builds metadata from the `sops_` lines (prefix removed, values decoded).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, MetadataError> {
        if pairs.is_empty() {
            return Err(MetadataError::Missing);
        }
        let mut age: Vec<Option<(Option<String>, Option<String>)>> = Vec::new();
        let mut foreign: Vec<String> = Vec::new();
        let mut lastmodified_raw = None;
        let mut mac = String::new();
        let mut version = String::new();
        let mut rules = RuleFields::default();
        let mut mac_only_encrypted = false;
        let mut shamir_threshold = None;

        for (key, value) in pairs {
            // sops decodes `\n` twice (store, then metadata): a no-op after the first.
            let value = value.replace("\\n", "\n");
            match key.as_str() {
                "lastmodified" => lastmodified_raw = Some(value),
                "mac" => mac = value,
                "version" => version = value,
                "unencrypted_suffix" => rules.unencrypted_suffix = value,
                "encrypted_suffix" => rules.encrypted_suffix = value,
                "unencrypted_regex" => rules.unencrypted_regex = value,
                "encrypted_regex" => rules.encrypted_regex = value,
                "unencrypted_comment_regex" => rules.unencrypted_comment_regex = value,
                "encrypted_comment_regex" => rules.encrypted_comment_regex = value,
                "mac_only_encrypted" => mac_only_encrypted = value == "true",
                "shamir_threshold" => shamir_threshold = Some(value),
                other => {
                    if let Some(rest) = other.strip_prefix("age__list_") {
                        let (index, field) = parse_list_field(rest).ok_or_else(|| {
                            MetadataError::BadKey(format!("{SOPS_PREFIX}{other}"))
                        })?;
                        if index >= age.len() {
                            age.resize(index + 1, None);
                        }
                        let slot = age[index].get_or_insert((None, None));
                        match field {
                            "recipient" => slot.0 = Some(value),
                            "enc" => slot.1 = Some(value),
                            _ => {}
                        }
                    } else {
                        for kind in [
                            "pgp",
                            "kms",
                            "gcp_kms",
                            "azure_kv",
                            "hc_vault",
                            "key_groups",
                        ] {
                            if other.starts_with(&format!("{kind}__list_"))
                                && !foreign.iter().any(|k| k == kind)
                            {
                                foreign.push(kind.to_string());
                            }
                        }
                    }
                }
            }
        }

        let lastmodified_raw = lastmodified_raw.ok_or(MetadataError::Missing)?;
        let lastmodified = Timestamp::parse(&lastmodified_raw)
            .ok_or_else(|| MetadataError::BadLastModified(lastmodified_raw.clone()))?;
        let age = age
            .into_iter()
            .enumerate()
            .map(|(i, slot)| match slot {
                Some((Some(recipient), Some(enc))) => Ok(AgeStanza { recipient, enc }),
                _ => Err(MetadataError::IncompleteAge(i)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if age.is_empty() && foreign.is_empty() {
            return Err(MetadataError::NoKeys);
        }
        Ok(Metadata {
            age,
            foreign,
            lastmodified_raw,
            lastmodified,
            mac,
            rule: rules.into_rule()?,
            mac_only_encrypted,
            version,
            shamir_threshold,
        })
    }

    /// The age recipients the file lists, in file order.
    pub fn recipients(&self) -> Vec<String> {
        self.age.iter().map(|s| s.recipient.clone()).collect()
    }

    /// True when every key is an age X25519 recipient: the native backend can
    /// open the file.
    pub fn is_native(&self) -> bool {
        self.foreign.is_empty()
            && self.shamir_threshold.is_none()
            && self.age.iter().all(|s| is_x25519_recipient(&s.recipient))
    }

    /// The `sops_*` lines sops writes for this metadata, sorted bytewise.
    /// Only valid for native (age-only) metadata.
    pub fn emit(&self) -> Vec<u8> {
        let mut lines: Vec<(String, String)> = Vec::new();
        for (i, stanza) in self.age.iter().enumerate() {
            lines.push((format!("age__list_{i}__map_enc"), stanza.enc.clone()));
            lines.push((
                format!("age__list_{i}__map_recipient"),
                stanza.recipient.clone(),
            ));
        }
        lines.push(("lastmodified".into(), self.lastmodified.to_string()));
        lines.push(("mac".into(), self.mac.clone()));
        if self.mac_only_encrypted {
            lines.push(("mac_only_encrypted".into(), "true".into()));
        }
        let (name, value) = self.rule.metadata_field();
        lines.push((name.into(), value.into()));
        lines.push(("version".into(), self.version.clone()));
        lines.sort();
        let mut out = Vec::new();
        for (key, value) in lines {
            out.extend_from_slice(SOPS_PREFIX.as_bytes());
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            out.extend_from_slice(encode_newlines(&value).as_bytes());
            out.push(b'\n');
        }
        out
    }
}

/// `age1…` with a single `1` (a plugin recipient has a second one).
pub(crate) fn is_x25519_recipient(r: &str) -> bool {
    r.starts_with("age1") && r.matches('1').count() == 1
}

fn parse_list_field(rest: &str) -> Option<(usize, &str)> {
    let (index, field) = rest.split_once("__map_")?;
    Some((index.parse().ok()?, field))
}

#[derive(Default)]
struct RuleFields {
    unencrypted_suffix: String,
    encrypted_suffix: String,
    unencrypted_regex: String,
    encrypted_regex: String,
    unencrypted_comment_regex: String,
    encrypted_comment_regex: String,
}

impl RuleFields {
    fn into_rule(self) -> Result<Rule, MetadataError> {
        let set: Vec<Rule> = [
            (
                self.unencrypted_suffix,
                Rule::UnencryptedSuffix as fn(String) -> Rule,
            ),
            (self.encrypted_suffix, Rule::EncryptedSuffix),
            (self.unencrypted_regex, Rule::UnencryptedRegex),
            (self.encrypted_regex, Rule::EncryptedRegex),
            (
                self.unencrypted_comment_regex,
                Rule::UnencryptedCommentRegex,
            ),
            (self.encrypted_comment_regex, Rule::EncryptedCommentRegex),
        ]
        .into_iter()
        .filter(|(value, _)| !value.is_empty())
        .map(|(value, make)| make(value))
        .collect();
        match set.len() {
            0 => Ok(Rule::default()),
            1 => Ok(set.into_iter().next().expect("one rule")),
            _ => Err(MetadataError::SeveralRules),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_age_stanzas_in_index_order() {
        let md = Metadata::from_pairs(&pairs(&[
            ("age__list_1__map_recipient", "age1b"),
            ("age__list_1__map_enc", "B"),
            ("age__list_0__map_enc", "A"),
            ("age__list_0__map_recipient", "age1a"),
            ("lastmodified", "2024-01-01T00:00:00Z"),
            ("mac", "ENC[x]"),
            ("unencrypted_suffix", "_unencrypted"),
            ("version", "3.11.0"),
        ]))
        .unwrap();
        assert_eq!(md.age[0].enc, "A");
        assert_eq!(md.age[1].recipient, "age1b");
        assert!(md.is_native());
    }

    #[test]
    fn foreign_keys_and_two_rules() {
        let md = Metadata::from_pairs(&pairs(&[
            ("pgp__list_0__map_fp", "ABC"),
            ("lastmodified", "2024-01-01T00:00:00Z"),
        ]))
        .unwrap();
        assert_eq!(md.foreign, vec!["pgp"]);
        assert!(!md.is_native());
        let err = Metadata::from_pairs(&pairs(&[
            ("age__list_0__map_recipient", "age1a"),
            ("age__list_0__map_enc", "A"),
            ("lastmodified", "2024-01-01T00:00:00Z"),
            ("encrypted_regex", "x"),
            ("unencrypted_suffix", "_u"),
        ]));
        assert_eq!(err, Err(MetadataError::SeveralRules));
    }

    #[test]
    fn emit_is_sorted_and_escaped() {
        let md = Metadata::from_pairs(&pairs(&[
            ("age__list_0__map_recipient", "age1a"),
            ("age__list_0__map_enc", "line1\nline2\n"),
            ("lastmodified", "2024-01-01T00:00:00Z"),
            ("mac", "M"),
            ("version", "3.11.0"),
        ]))
        .unwrap();
        assert_eq!(
            String::from_utf8(md.emit()).unwrap(),
            "sops_age__list_0__map_enc=line1\\nline2\\n\nsops_age__list_0__map_recipient=age1a\n\
             sops_lastmodified=2024-01-01T00:00:00Z\nsops_mac=M\nsops_unencrypted_suffix=_unencrypted\n\
             sops_version=3.11.0\n"
        );
    }
}
