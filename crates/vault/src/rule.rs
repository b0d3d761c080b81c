//! Which values sops encrypts: at most one rule per file, tested on the key
//! (suffixes, unanchored regexes) or on the comments above it.

use regex::Regex;

/// The default: everything is encrypted except keys ending in `_unencrypted`.
pub(crate) const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(String),
    EncryptedRegex(String),
    UnencryptedCommentRegex(String),
    EncryptedCommentRegex(String),
}

impl Default for Rule {
    fn default() -> Self {
        Rule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

impl Rule {
    /// The metadata key and value sops writes for this rule.
    pub fn metadata_field(&self) -> (&'static str, &str) {
        match self {
            Rule::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
            Rule::EncryptedSuffix(s) => ("encrypted_suffix", s),
            Rule::UnencryptedRegex(s) => ("unencrypted_regex", s),
            Rule::EncryptedRegex(s) => ("encrypted_regex", s),
            Rule::UnencryptedCommentRegex(s) => ("unencrypted_comment_regex", s),
            Rule::EncryptedCommentRegex(s) => ("encrypted_comment_regex", s),
        }
    }

    /// Compiles the rule once for a whole file.
    pub fn matcher(&self) -> Matcher {
        // sops ignores a regex that does not compile (it matches nothing).
        let compile = |s: &str| Regex::new(s).ok();
        match self {
            Rule::UnencryptedSuffix(s) => Matcher::UnencryptedSuffix(s.clone()),
            Rule::EncryptedSuffix(s) => Matcher::EncryptedSuffix(s.clone()),
            Rule::UnencryptedRegex(s) => Matcher::UnencryptedRegex(compile(s)),
            Rule::EncryptedRegex(s) => Matcher::EncryptedRegex(compile(s)),
            Rule::UnencryptedCommentRegex(s) => Matcher::UnencryptedCommentRegex(compile(s)),
            Rule::EncryptedCommentRegex(s) => Matcher::EncryptedCommentRegex(compile(s)),
        }
    }
}

pub enum Matcher {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Option<Regex>),
    EncryptedRegex(Option<Regex>),
    UnencryptedCommentRegex(Option<Regex>),
    EncryptedCommentRegex(Option<Regex>),
}

fn matches(re: &Option<Regex>, s: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(s))
}

impl Matcher {
    /// Whether the item is encrypted. `key` is `None` for a comment line;
    /// `comments` are the comment texts since the last value, the current
    /// comment included when the item is a comment (sops' comment stack).
    pub fn encrypts(&self, key: Option<&str>, comments: &[&str]) -> bool {
        match self {
            Matcher::UnencryptedSuffix(s) => !key.is_some_and(|k| k.ends_with(s.as_str())),
            Matcher::EncryptedSuffix(s) => key.is_some_and(|k| k.ends_with(s.as_str())),
            Matcher::UnencryptedRegex(re) => !key.is_some_and(|k| matches(re, k)),
            Matcher::EncryptedRegex(re) => key.is_some_and(|k| matches(re, k)),
            Matcher::UnencryptedCommentRegex(re) => !comments.iter().any(|c| matches(re, c)),
            Matcher::EncryptedCommentRegex(re) => {
                // A comment that matches is itself left in the clear; only
                // what follows it is encrypted.
                let above = if key.is_none() {
                    &comments[..comments.len().saturating_sub(1)]
                } else {
                    comments
                };
                above.iter().any(|c| matches(re, c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules() {
        let m = Rule::default().matcher();
        assert!(m.encrypts(Some("A"), &[]));
        assert!(!m.encrypts(Some("A_unencrypted"), &[]));
        assert!(m.encrypts(None, &[]));

        let m = Rule::EncryptedSuffix("_KEY".into()).matcher();
        assert!(m.encrypts(Some("MASTER_KEY"), &[]));
        assert!(!m.encrypts(Some("URL"), &[]));
        assert!(
            !m.encrypts(None, &[]),
            "comments stay clear under encrypted_suffix"
        );

        let m = Rule::EncryptedRegex("KEY".into()).matcher();
        assert!(m.encrypts(Some("LITELLM_KEY_X"), &[]), "unanchored");
        let m = Rule::UnencryptedRegex("^PUBLIC_".into()).matcher();
        assert!(!m.encrypts(Some("PUBLIC_URL"), &[]));
        assert!(m.encrypts(Some("SECRET"), &[]));
        let m = Rule::EncryptedRegex("(".into()).matcher();
        assert!(
            !m.encrypts(Some("("), &[]),
            "an invalid regex matches nothing"
        );
    }

    #[test]
    fn comment_rules() {
        let m = Rule::EncryptedCommentRegex("sops:enc".into()).matcher();
        assert!(
            !m.encrypts(None, &["sops:enc"]),
            "the marker itself stays clear"
        );
        assert!(m.encrypts(None, &["sops:enc", "next"]));
        assert!(m.encrypts(Some("A"), &["sops:enc"]));
        assert!(!m.encrypts(Some("B"), &[]));
        let m = Rule::UnencryptedCommentRegex("clear".into()).matcher();
        assert!(!m.encrypts(Some("A"), &["clear"]));
        assert!(m.encrypts(Some("A"), &[]));
    }
}
