//! A litellm-config sink: LiteLLM's config.yaml, whose literal
//! `general_settings.master_key` (and `salt_key`) overrides the
//! environment. Those strings are replaced in place ([`yaml_key`]); a
//! value `os.environ/NAME` is a reference (LiteLLM reads the environment,
//! which the env sinks carry) and is left alone, as is a key the file
//! does not set. LiteLLM reads the file at start: a change needs a restart.

use super::edit::{Edit, Field, Note, Target};
use super::error::SinkError;
use super::pointed::{is_reference, text};
use super::yaml_key::{self, Change};
use crate::gateway::{MASTER_KEY, SALT_KEY};
use serde_yaml_ng::Value;
use vault::Secret;

/// Which `general_settings` member holds which source value.
const FIELDS: [(&str, &str); 2] = [(MASTER_KEY, "master_key"), (SALT_KEY, "salt_key")];

struct Place {
    key: &'static str,
    tokens: Vec<String>,
    at: String,
}

fn places() -> impl Iterator<Item = Place> {
    FIELDS.iter().map(|(key, field)| Place {
        key,
        tokens: vec!["general_settings".to_string(), (*field).to_string()],
        at: format!("general_settings.{field}"),
    })
}

/// The literal string at a place: `Ok(None)` when unset or a reference.
fn literal<'a>(doc: &'a Value, place: &Place) -> Result<Option<&'a str>, SinkError> {
    match yaml_key::get(doc, &place.tokens) {
        None => Ok(None),
        Some(Value::String(s)) if is_reference(s) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(SinkError::NotString {
            at: place.at.clone(),
            what: yaml_key::what(other),
        }),
    }
}

pub(crate) fn edit(before: Option<&[u8]>, t: &Target<'_>) -> Result<Edit, SinkError> {
    let Some(before) = before else {
        return Ok(Edit::unchanged(b""));
    };
    let text = text(before)?;
    let doc = yaml_key::parse(text)?;
    let mut wanted = Vec::new();
    let mut fields = Vec::new();
    for place in places().filter(|p| t.keys.iter().any(|k| k == p.key)) {
        let Some(old) = literal(&doc, &place)? else {
            continue;
        };
        let Some(new) = t.values.get(place.key) else {
            continue;
        };
        let new_str = new
            .as_str()
            .ok_or_else(|| SinkError::ValueNotText(place.key.to_string()))?;
        if old != new_str {
            fields.push(Field::new(&place.at, Some(old.as_bytes()), new));
            wanted.push((place, new_str));
        }
    }
    if wanted.is_empty() {
        return Ok(Edit::unchanged(before));
    }
    let changes: Vec<Change<'_>> = wanted
        .iter()
        .map(|(place, new)| Change {
            tokens: &place.tokens,
            new,
            at: &place.at,
        })
        .collect();
    let bytes = yaml_key::replace_all(text, &changes)?;
    Ok(Edit { bytes, fields })
}

/// The literal master and salt keys the file holds.
pub(crate) fn read_values(bytes: &[u8]) -> Vec<(String, Secret)> {
    let Some(doc) = text(bytes).ok().and_then(|t| yaml_key::parse(t).ok()) else {
        return Vec::new();
    };
    places()
        .filter_map(|p| {
            let v = literal(&doc, &p).ok().flatten()?;
            Some((p.key.to_string(), Secret::from(v.to_string())))
        })
        .collect()
}

/// A listed key the file does not set (or references): LiteLLM takes it
/// from its environment, so this sink has nothing to write for it.
pub(crate) fn review(bytes: &[u8], t: &Target<'_>) -> Vec<Note> {
    let Some(doc) = text(bytes).ok().and_then(|t| yaml_key::parse(t).ok()) else {
        return Vec::new();
    };
    places()
        .filter(|p| t.keys.iter().any(|k| k == p.key))
        .filter_map(|p| {
            let why = match yaml_key::get(&doc, &p.tokens) {
                None => "is not set",
                Some(Value::String(s)) if is_reference(s) => "is an os.environ/ reference",
                _ => return None,
            };
            Some(Note {
                text: format!(
                    "{} {why}: LiteLLM reads {} from its environment (a dotenv or systemd-env sink carries it); left alone",
                    p.at, p.key
                ),
                drift: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::*;

    /// A config.yaml as the Droid-through-LiteLLM guide has it.
    const CONFIG: &str = "# LiteLLM proxy\nmodel_list:\n  - model_name: gpt-5.5   # routed\n    litellm_params:\n      model: openai/gpt-5.5\n      api_key: os.environ/OPENAI_API_KEY\n      mock_response: \"hi\"\n\ngeneral_settings:\n  # the key every client sends\n  master_key: sk-old-master   # keep me secret\n  salt_key: \"sk-old-salt\"\n\nlitellm_settings:\n    drop_params: true\n";

    #[test]
    fn replaces_the_literal_keys_in_place() {
        let t = target(
            &[
                ("LITELLM_MASTER_KEY", "sk-new-master"),
                ("LITELLM_SALT_KEY", "sk-new-salt"),
            ],
            &["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"],
        );
        let e = edit(Some(CONFIG.as_bytes()), &t.target()).unwrap();
        let expected = CONFIG
            .replace("master_key: sk-old-master", "master_key: sk-new-master")
            .replace("\"sk-old-salt\"", "\"sk-new-salt\"");
        assert_eq!(std::str::from_utf8(&e.bytes).unwrap(), expected);
        let names: Vec<&str> = e.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["general_settings.master_key", "general_settings.salt_key"]
        );
        assert!(edit(Some(&e.bytes), &t.target()).unwrap().fields.is_empty());
        let read = read_values(&e.bytes);
        let shown: Vec<(&str, &[u8])> =
            read.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(
            shown,
            [
                ("LITELLM_MASTER_KEY", &b"sk-new-master"[..]),
                ("LITELLM_SALT_KEY", &b"sk-new-salt"[..])
            ]
        );
        // Only the keys the sink lists.
        let master = target(
            &[("LITELLM_MASTER_KEY", "sk-m"), ("LITELLM_SALT_KEY", "sk-s")],
            &["LITELLM_MASTER_KEY"],
        );
        let e = edit(Some(CONFIG.as_bytes()), &master.target()).unwrap();
        assert_eq!(e.fields.len(), 1);
        assert!(
            std::str::from_utf8(&e.bytes)
                .unwrap()
                .contains("\"sk-old-salt\"")
        );
    }

    #[test]
    fn references_and_unset_keys_are_left_alone() {
        let text = CONFIG
            .replace("sk-old-master", "os.environ/LITELLM_MASTER_KEY")
            .replace("  salt_key: \"sk-old-salt\"\n", "");
        let t = target(
            &[
                ("LITELLM_MASTER_KEY", "sk-new"),
                ("LITELLM_SALT_KEY", "sk-s"),
            ],
            &["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"],
        );
        let e = edit(Some(text.as_bytes()), &t.target()).unwrap();
        assert!(e.fields.is_empty());
        assert_eq!(&e.bytes[..], text.as_bytes());
        assert!(read_values(text.as_bytes()).is_empty());
        let notes = review(text.as_bytes(), &t.target());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].text.starts_with(
                "general_settings.master_key is an os.environ/ reference: LiteLLM reads LITELLM_MASTER_KEY"
            ),
            "{notes:?}"
        );
        assert!(
            notes[1].text.starts_with(
                "general_settings.salt_key is not set: LiteLLM reads LITELLM_SALT_KEY"
            ),
            "{notes:?}"
        );
        assert!(notes.iter().all(|n| !n.drift));
    }

    #[test]
    fn bad_input_names_the_line_or_the_key() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let broken = CONFIG.replace(
            "  salt_key: \"sk-old-salt\"\n",
            "  salt_key: \"sk-old-salt\n  x: [\n",
        );
        let msg = edit(Some(broken.as_bytes()), &t.target())
            .err()
            .unwrap()
            .to_string();
        assert!(msg.starts_with("not valid YAML at line "), "{msg}");
        assert!(!msg.contains("sk-old"), "{msg}");
        let number = CONFIG.replace("sk-old-master", "12345");
        let msg = edit(Some(number.as_bytes()), &t.target())
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.starts_with("general_settings.master_key is a number, not a string"),
            "{msg}"
        );
    }
}
