//! `.sops.yaml` creation rules, as sops 3.11 reads them for `encrypt`: the
//! first rule whose `path_regex` matches the file (path relative to the
//! config's directory; a rule without one matches everything), its `age`
//! recipients (comma-separated string or YAML list, or a single key group of
//! age keys), its encryption rule and `mac_only_encrypted`.
//!
//! One difference from sops: the config is the nearest `.sops.yaml` walking
//! up from the target file's directory (sops walks up from the current
//! directory), so `litekeys encrypt -o secrets/x.enc.env` finds
//! `secrets/.sops.yaml` from anywhere.

use crate::rule::Rule;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".sops.yaml";

/// How a new file is encrypted, from the matching creation rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreationRule {
    pub recipients: Vec<String>,
    /// `None`: the rule sets none (sops' default, `_unencrypted` suffix).
    pub rule: Option<Rule>,
    pub mac_only_encrypted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: not a sops config: {message}", path.display())]
    Yaml {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: creation rule {index}: {source}", path.display())]
    Rule {
        path: PathBuf,
        index: usize,
        source: RuleError,
    },
    #[error("{}: no creation rule matches {file}; add one or pass --age", path.display())]
    NoMatch { path: PathBuf, file: String },
}

/// Why a creation rule is not one litekeys can encrypt with.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("uses {} keys; litekeys encrypts to age only: use `sops encrypt` for this file", .0.join(", "))]
    ForeignKeys(Vec<String>),
    #[error("its key group uses {0}; litekeys encrypts to age only: use `sops encrypt`")]
    ForeignGroup(String),
    #[error(
        "uses several key groups (Shamir); litekeys encrypts to plain age recipients only: use `sops encrypt`"
    )]
    Shamir,
    #[error("lists no age recipient")]
    NoRecipient,
    #[error("path_regex does not compile: {0}")]
    PathRegex(Box<regex::Error>),
    #[error(
        "sets more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, \
         encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex"
    )]
    SeveralRules,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    creation_rules: Option<Vec<RawRule>>,
}

/// sops takes a key list as a comma-separated string or a YAML list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Keys {
    Csv(String),
    List(Vec<String>),
}

impl Keys {
    fn list(&self) -> Vec<String> {
        match self {
            Keys::Csv(s) => s
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
            Keys::List(v) => v.iter().map(|k| k.trim().to_string()).collect(),
        }
    }
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(default)]
    age: Vec<String>,
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct RawRule {
    #[serde(default)]
    path_regex: String,
    age: Option<Keys>,
    #[serde(default)]
    key_groups: Vec<RawGroup>,
    #[serde(default)]
    unencrypted_suffix: String,
    #[serde(default)]
    encrypted_suffix: String,
    #[serde(default)]
    unencrypted_regex: String,
    #[serde(default)]
    encrypted_regex: String,
    #[serde(default)]
    unencrypted_comment_regex: String,
    #[serde(default)]
    encrypted_comment_regex: String,
    #[serde(default)]
    mac_only_encrypted: bool,
    #[serde(default)]
    shamir_threshold: u32,
    /// pgp, kms, gcp_kms, azure_keyvault, hc_vault_transit_uri, hckms, …
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, serde_yaml_ng::Value>,
}

/// Key kinds litekeys cannot write natively.
const FOREIGN: [&str; 7] = [
    "pgp",
    "kms",
    "gcp_kms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "hckms",
    "hc_vault",
];

/// The nearest `.sops.yaml` from `dir` up to the root.
pub fn find(dir: &Path) -> Option<PathBuf> {
    crate::locate::nearest(dir, FILE_NAME).filter(|p| p.is_file())
}

/// The creation rule of `config` for `file`.
pub fn rule_for(config: &Path, file: &Path) -> Result<CreationRule, ConfigError> {
    let text = std::fs::read_to_string(config).map_err(|source| ConfigError::Io {
        path: config.to_path_buf(),
        source,
    })?;
    let parsed: ConfigFile = if text.trim().is_empty() {
        ConfigFile {
            creation_rules: None,
        }
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::Yaml {
            path: config.to_path_buf(),
            line: e.location().map_or(0, |l| l.line()),
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        })?
    };
    let relative = relative_to_config(config, file);
    let no_match = || ConfigError::NoMatch {
        path: config.to_path_buf(),
        file: relative.clone(),
    };
    let rules = parsed.creation_rules.ok_or_else(no_match)?;
    for (index, raw) in rules.iter().enumerate() {
        let bad = |source: RuleError| ConfigError::Rule {
            path: config.to_path_buf(),
            index,
            source,
        };
        if !raw.path_regex.is_empty() {
            let re = regex::Regex::new(&raw.path_regex)
                .map_err(|e| bad(RuleError::PathRegex(Box::new(e))))?;
            if !re.is_match(&relative) {
                continue;
            }
        }
        return raw.to_rule().map_err(bad);
    }
    Err(no_match())
}

/// sops matches `path_regex` against the absolute path with the config's
/// directory and a `/` cut off the front.
fn relative_to_config(config: &Path, file: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let file = abs(file).to_string_lossy().into_owned();
    let dir = abs(config.parent().unwrap_or(Path::new(".")))
        .to_string_lossy()
        .into_owned();
    file.strip_prefix(&format!("{dir}/"))
        .map(str::to_string)
        .unwrap_or(file)
}

impl RawRule {
    fn to_rule(&self) -> Result<CreationRule, RuleError> {
        let foreign: Vec<&str> = FOREIGN
            .iter()
            .copied()
            .filter(|k| self.other.get(*k).is_some_and(|v| !is_empty(v)))
            .collect();
        if !foreign.is_empty() {
            return Err(RuleError::ForeignKeys(
                foreign.into_iter().map(str::to_string).collect(),
            ));
        }
        let mut recipients = self.age.as_ref().map(Keys::list).unwrap_or_default();
        match self.key_groups.as_slice() {
            [] => {}
            [group] if recipients.is_empty() && self.shamir_threshold <= 1 => {
                if let Some(kind) = group.other.keys().next() {
                    return Err(RuleError::ForeignGroup(kind.clone()));
                }
                recipients = group.age.iter().map(|k| k.trim().to_string()).collect();
            }
            _ => {
                return Err(RuleError::Shamir);
            }
        }
        if recipients.is_empty() {
            return Err(RuleError::NoRecipient);
        }
        let set: Vec<Rule> = [
            (
                &self.unencrypted_suffix,
                Rule::UnencryptedSuffix as fn(String) -> Rule,
            ),
            (&self.encrypted_suffix, Rule::EncryptedSuffix),
            (&self.unencrypted_regex, Rule::UnencryptedRegex),
            (&self.encrypted_regex, Rule::EncryptedRegex),
            (
                &self.unencrypted_comment_regex,
                Rule::UnencryptedCommentRegex,
            ),
            (&self.encrypted_comment_regex, Rule::EncryptedCommentRegex),
        ]
        .into_iter()
        .filter(|(value, _)| !value.is_empty())
        .map(|(value, make)| make(value.clone()))
        .collect();
        if set.len() > 1 {
            return Err(RuleError::SeveralRules);
        }
        Ok(CreationRule {
            recipients,
            rule: set.into_iter().next(),
            mac_only_encrypted: self.mac_only_encrypted,
        })
    }
}

/// `config`'s text with `added` appended to the `age:` of the creation rule
/// that matches `file`, every other line as it was (`recipients add` keeps
/// the pin current). Only shapes edited safely: `age: a,b` (quoted or
/// not), `age: [a, b]` and a block list under `age:`, in configs without
/// `key_groups`; the result is parsed again and must give exactly the old
/// recipients plus `added` for `file`. `None` for any other shape.
pub fn with_recipients_added(
    config: &Path,
    file: &Path,
    added: &[String],
) -> Result<Option<String>, ConfigError> {
    let before = rule_for(config, file)?;
    let text = std::fs::read_to_string(config).map_err(|source| ConfigError::Io {
        path: config.to_path_buf(),
        source,
    })?;
    let new: Vec<&String> = added
        .iter()
        .filter(|r| !before.recipients.contains(r))
        .collect();
    if new.is_empty() {
        return Ok(Some(text));
    }
    let Some(edited) = edit_age_line(config, file, &text, &new) else {
        return Ok(None);
    };
    // The edit must mean what it says: same rule, recipients appended.
    let dir = tempfile::tempdir().map_err(|source| ConfigError::Io {
        path: config.to_path_buf(),
        source,
    })?;
    let probe = dir.path().join(FILE_NAME);
    std::fs::write(&probe, &edited).map_err(|source| ConfigError::Io {
        path: probe.clone(),
        source,
    })?;
    let relative = relative_to_config(config, file);
    let after = rule_for(&probe, &dir.path().join(&relative));
    let mut expected = before.clone();
    expected.recipients.extend(new.into_iter().cloned());
    Ok(matches!(after, Ok(rule) if rule == expected).then_some(edited))
}

/// The text with the `age:` value of the rule matching `file` extended.
fn edit_age_line(config: &Path, file: &Path, text: &str, new: &[&String]) -> Option<String> {
    if text.contains("key_groups") {
        return None;
    }
    let parsed: ConfigFile = serde_yaml_ng::from_str(text).ok()?;
    let rules = parsed.creation_rules?;
    let relative = relative_to_config(config, file);
    let index = rules.iter().position(|r| {
        r.path_regex.is_empty()
            || regex::Regex::new(&r.path_regex).is_ok_and(|re| re.is_match(&relative))
    })?;
    rules[index].age.as_ref()?;
    // The n-th `age:` line is the n-th rule that has one.
    let nth = rules[..index].iter().filter(|r| r.age.is_some()).count();
    let age_line = regex::Regex::new(r"^(\s*(?:-\s+)?)age:(.*)$").expect("a valid regex");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| age_line.is_match(&lines[i]))
        .collect();
    if at.len() != rules.iter().filter(|r| r.age.is_some()).count() {
        return None;
    }
    let i = at[nth];
    let caps = age_line.captures(&lines[i])?;
    let column = caps[1].len();
    let value = caps[2].trim().to_string();
    if value.contains('#') {
        return None;
    }
    let joined = new.iter().map(|r| r.as_str()).collect::<Vec<_>>();
    let head = lines[i][..lines[i].len() - caps[2].len()].to_string();
    if value.is_empty() {
        // A block list: the items right below, indented at least as `age`.
        let item = regex::Regex::new(r"^(\s*)-\s+\S").expect("a valid regex");
        let mut last = None;
        for (j, line) in lines.iter().enumerate().skip(i + 1) {
            match item.captures(line) {
                Some(c) if c[1].len() >= column && !line.contains('#') => last = Some(j),
                _ => break,
            }
        }
        let last = last?;
        let indent = item.captures(&lines[last])?[1].to_string();
        for (k, r) in joined.iter().enumerate() {
            lines.insert(last + 1 + k, format!("{indent}- {r}"));
        }
    } else if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        let sep = if inner.trim().is_empty() { "" } else { ", " };
        lines[i] = format!("{head} [{}{sep}{}]", inner.trim_end(), joined.join(", "));
    } else if let Some(q) = ['\'', '"']
        .into_iter()
        .find(|q| value.len() > 1 && value.starts_with(*q) && value.ends_with(*q))
    {
        let inner = &value[1..value.len() - 1];
        lines[i] = format!("{head} {q}{inner},{}{q}", joined.join(","));
    } else {
        lines[i] = format!("{head} {value},{}", joined.join(","));
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

fn is_empty(v: &serde_yaml_ng::Value) -> bool {
    match v {
        serde_yaml_ng::Value::Null => true,
        serde_yaml_ng::Value::String(s) => s.is_empty(),
        serde_yaml_ng::Value::Sequence(s) => s.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn first_matching_rule_wins_and_paths_are_relative() {
        let (dir, cfg) = config(
            "creation_rules:\n  - path_regex: ^prod/.*\\.env$\n    age: age1prod\n  \
             - path_regex: dev\n    age: ' age1a , age1b,'\n    encrypted_regex: KEY\n  \
             - age: [age1x, age1y]\n    mac_only_encrypted: true\n",
        );
        let r = rule_for(&cfg, &dir.path().join("prod/a.env")).unwrap();
        assert_eq!(r.recipients, vec!["age1prod"]);
        let r = rule_for(&cfg, &dir.path().join("dev/a.env")).unwrap();
        assert_eq!(r.recipients, vec!["age1a", "age1b"]);
        assert_eq!(r.rule, Some(Rule::EncryptedRegex("KEY".into())));
        let r = rule_for(&cfg, &dir.path().join("other.env")).unwrap();
        assert_eq!(r.recipients, vec!["age1x", "age1y"]);
        assert!(r.mac_only_encrypted);
        assert_eq!(r.rule, None);
        // `^prod` is anchored at the config's directory, not at /.
        let r = rule_for(&cfg, &dir.path().join("x/prod/a.env")).unwrap();
        assert_eq!(r.recipients, vec!["age1x", "age1y"]);
    }

    #[test]
    fn refusals() {
        let (dir, cfg) = config("creation_rules:\n  - path_regex: nope\n    age: age1a\n");
        assert!(matches!(
            rule_for(&cfg, &dir.path().join("a.env")),
            Err(ConfigError::NoMatch { .. })
        ));
        let (dir, cfg) = config("creation_rules:\n  - pgp: ABCDEF\n    age: age1a\n");
        let err = rule_for(&cfg, &dir.path().join("a.env")).unwrap_err();
        assert!(err.to_string().contains("pgp"), "{err}");
        let (dir, cfg) = config(
            "creation_rules:\n  - age: age1a\n    encrypted_regex: a\n    unencrypted_suffix: b\n",
        );
        assert!(matches!(
            rule_for(&cfg, &dir.path().join("a.env")),
            Err(ConfigError::Rule { .. })
        ));
        let (dir, cfg) = config("creation_rules: [\n");
        assert!(matches!(
            rule_for(&cfg, &dir.path().join("a.env")),
            Err(ConfigError::Yaml { .. })
        ));
    }

    #[test]
    fn a_recipient_is_added_to_the_matching_rule_only() {
        let add = |text: &str, file: &str| {
            let (dir, cfg) = config(text);
            with_recipients_added(&cfg, &dir.path().join(file), &["age1new".into()]).unwrap()
        };
        let text = "# keep me\ncreation_rules:\n  - path_regex: prod\n    age: age1p\n  \
                    - age: 'age1a, age1b'\n";
        assert_eq!(
            add(text, "dev.env").unwrap(),
            text.replace("'age1a, age1b'", "'age1a, age1b,age1new'")
        );
        assert_eq!(
            add(text, "prod.env").unwrap(),
            text.replace("age: age1p", "age: age1p,age1new")
        );
        let text = "creation_rules:\n  - age: [age1a]\n";
        assert_eq!(
            add(text, "x").unwrap(),
            "creation_rules:\n  - age: [age1a, age1new]\n"
        );
        let text = "creation_rules:\n  - age:\n      - age1a\n    mac_only_encrypted: true\n";
        assert_eq!(
            add(text, "x").unwrap(),
            text.replace("      - age1a\n", "      - age1a\n      - age1new\n")
        );
        assert_eq!(add("creation_rules:\n  - age: age1a # me\n", "x"), None);
    }

    #[test]
    fn a_single_age_key_group() {
        let (dir, cfg) =
            config("creation_rules:\n  - key_groups:\n      - age:\n          - age1g\n");
        let r = rule_for(&cfg, &dir.path().join("a.env")).unwrap();
        assert_eq!(r.recipients, vec!["age1g"]);
        let (dir, cfg) = config(
            "creation_rules:\n  - key_groups:\n      - age: [age1a]\n      - age: [age1b]\n",
        );
        assert!(rule_for(&cfg, &dir.path().join("a.env")).is_err());
    }
}
