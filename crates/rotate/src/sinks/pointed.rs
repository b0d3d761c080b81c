//! What the json, toml and yaml sinks share: one string, at the sink's
//! [`Pointer`], set to the source's value of the sink's one key. Each
//! format reads the string with its parser and replaces its span in the
//! text ([`json_pointer`], [`toml_key`], [`yaml_key`]), so every other byte
//! stays; a reference to an environment variable there is left alone.

use super::edit::{Edit, Field, Note, Target};
use super::error::SinkError;
use super::{droid, json_pointer, toml_key, yaml_key};
use crate::config::{Pointer, SinkKind};
use vault::Secret;
use zeroize::Zeroizing;

/// The three formats a pointer sink may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Toml,
    Yaml,
}

impl Format {
    pub(crate) fn of(kind: SinkKind) -> Option<Format> {
        match kind {
            SinkKind::Json => Some(Format::Json),
            SinkKind::Toml => Some(Format::Toml),
            SinkKind::Yaml => Some(Format::Yaml),
            _ => None,
        }
    }

    /// The string at `pointer`; an error when the text does not parse, or
    /// holds nothing or no string there.
    fn value(self, text: &str, pointer: &Pointer) -> Result<Zeroizing<String>, SinkError> {
        match self {
            Format::Json => json_pointer::value(text, pointer),
            Format::Toml => toml_key::value(text, pointer),
            Format::Yaml => yaml_key::value(text, pointer.tokens(), &at(pointer)),
        }
    }

    /// The text with the string at `pointer` replaced by `new`, checked
    /// by parsing it: nothing else may differ.
    fn replace(
        self,
        text: &str,
        pointer: &Pointer,
        new: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SinkError> {
        match self {
            Format::Json => json_pointer::replace(text, pointer, new),
            Format::Toml => toml_key::replace(text, pointer, new),
            Format::Yaml => yaml_key::replace(text, pointer.tokens(), new, &at(pointer)),
        }
    }
}

/// How a pointer is named in messages: `/env/ANTHROPIC_AUTH_TOKEN`.
pub(crate) fn at(pointer: &Pointer) -> String {
    pointer.as_str().to_string()
}

/// `${VAR}`, `$VAR`, `env:VAR` (Droid), `{env:VAR}` (opencode) and
/// `os.environ/VAR` (LiteLLM) name an environment variable: the client
/// reads the key from there, so the file holds no key to change.
pub(crate) fn is_reference(value: &str) -> bool {
    droid::is_reference(value)
        || value.starts_with("os.environ/")
        || value
            .strip_prefix("{env:")
            .and_then(|v| v.strip_suffix('}'))
            .is_some_and(vault::is_env_name)
}

pub(crate) fn text(bytes: &[u8]) -> Result<&str, SinkError> {
    std::str::from_utf8(bytes).map_err(|_| SinkError::NotText)
}

/// The file with the string at `pointer` set to the source's value of the
/// sink's key. A missing file is left missing (`status` says so): there is
/// no place for the value in it.
pub(crate) fn edit(
    format: Format,
    before: Option<&[u8]>,
    pointer: &Pointer,
    t: &Target<'_>,
) -> Result<Edit, SinkError> {
    let Some(before) = before else {
        return Ok(Edit::unchanged(b""));
    };
    let name = t.keys.first().map(String::as_str).unwrap_or_default();
    let text = text(before)?;
    let current = format.value(text, pointer)?;
    let Some(new) = t.values.get(name) else {
        return Ok(Edit::unchanged(before));
    };
    let new_str = new
        .as_str()
        .ok_or_else(|| SinkError::ValueNotText(name.to_string()))?;
    if is_reference(&current) || current.as_str() == new_str {
        return Ok(Edit::unchanged(before));
    }
    let bytes = format.replace(text, pointer, new_str)?;
    Ok(Edit {
        bytes,
        fields: vec![Field::new(pointer.as_str(), Some(current.as_bytes()), new)],
    })
}

/// The sink's key and the literal value at its pointer; none when the file
/// does not parse, holds no string there, or a reference.
pub(crate) fn read_values(
    format: Format,
    bytes: &[u8],
    pointer: &Pointer,
    key: Option<&String>,
) -> Vec<(String, Secret)> {
    let (Some(key), Ok(text)) = (key, text(bytes)) else {
        return Vec::new();
    };
    match format.value(text, pointer) {
        Ok(v) if !is_reference(&v) => vec![(key.clone(), Secret::from(v.to_string()))],
        _ => Vec::new(),
    }
}

/// A reference at the pointer, said by `status`: the client reads the
/// key from its environment, so this file has nothing to hold.
pub(crate) fn review(format: Format, bytes: &[u8], pointer: &Pointer) -> Vec<Note> {
    let Ok(text) = text(bytes) else {
        return Vec::new();
    };
    match format.value(text, pointer) {
        Ok(v) if is_reference(&v) => vec![Note {
            text: format!(
                "{pointer} is a reference to an environment variable: left alone (whatever sets that variable carries the key)"
            ),
            drift: false,
        }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::*;

    #[test]
    fn references_are_left_alone() {
        for r in [
            "${LITELLM_MASTER_KEY}",
            "env:K",
            "{env:LITELLM_MASTER_KEY}",
            "os.environ/LITELLM_MASTER_KEY",
        ] {
            assert!(is_reference(r), "{r}");
        }
        assert!(!is_reference("sk-abc") && !is_reference("{env:}"));
        let text = "{\"env\": {\"ANTHROPIC_AUTH_TOKEN\": \"{env:LITELLM_MASTER_KEY}\"}}";
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let p = Pointer::parse("/env/ANTHROPIC_AUTH_TOKEN").unwrap();
        let e = edit(Format::Json, Some(text.as_bytes()), &p, &t.target()).unwrap();
        assert!(e.fields.is_empty());
        assert_eq!(&e.bytes[..], text.as_bytes());
        let key = "LITELLM_MASTER_KEY".to_string();
        assert!(read_values(Format::Json, text.as_bytes(), &p, Some(&key)).is_empty());
        let notes = review(Format::Json, text.as_bytes(), &p);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0]
                .text
                .starts_with("/env/ANTHROPIC_AUTH_TOKEN is a reference to an environment variable")
                && !notes[0].drift
        );
    }

    #[test]
    fn a_missing_file_stays_missing_and_a_bad_pointer_is_an_error_first() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let p = Pointer::parse("/llm/api_key").unwrap();
        let e = edit(Format::Toml, None, &p, &t.target()).unwrap();
        assert!(e.fields.is_empty());
        // Even with no value to write, a pointer to nothing is reported.
        let none = target(&[], &["LITELLM_MASTER_KEY"]);
        let err = edit(
            Format::Toml,
            Some(b"[llm]\nmodel = \"x\"\n"),
            &p,
            &none.target(),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "has no /llm/api_key; fix the file or the sink's pointer (nothing was changed)"
        );
    }
}
