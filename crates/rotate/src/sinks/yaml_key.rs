//! A yaml sink (and the YAML half of a litellm-config sink): a string in
//! block mappings and sequences (continue.dev's `/models/0/apiKey`), read
//! with serde_yaml_ng, its span found by
//! [`yaml_text::scalar_span`] and replaced in its quoting style (plain stays
//! plain when the new value reads back the same unquoted). The edited text
//! is parsed again and must equal the old document with exactly those
//! strings changed; anything else is refused and nothing is written.

use super::error::SinkError;
use super::quoted;
use super::yaml_text::{self, Style, Unlocated};
use serde_yaml_ng::Value;
use zeroize::Zeroizing;

pub(crate) fn parse(text: &str) -> Result<Value, SinkError> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let what = msg.split(" at line ").next().unwrap_or(&msg);
        SinkError::Yaml {
            line: e.location().map_or(1, |l| l.line()),
            what: what.trim().replace('\n', " "),
        }
    })
}

/// What a YAML value is, for a message that must not show it.
pub(crate) fn what(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The value at `tokens` (mapping keys; sequence indices).
pub(crate) fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |at, token| match at {
        Value::Mapping(m) => m.get(token.as_str()),
        Value::Sequence(s) => s.get(super::json_text::index(token)?),
        _ => None,
    })
}

fn get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(doc, |at, token| match at {
        Value::Mapping(m) => m.get_mut(token.as_str()),
        Value::Sequence(s) => s.get_mut(super::json_text::index(token)?),
        _ => None,
    })
}

fn string_at(doc: &Value, tokens: &[String], at: &str) -> Result<Zeroizing<String>, SinkError> {
    match get(doc, tokens) {
        None => Err(SinkError::PointerNotFound { at: at.to_string() }),
        Some(Value::String(s)) => Ok(Zeroizing::new(s.clone())),
        Some(other) => Err(SinkError::NotString {
            at: at.to_string(),
            what: what(other),
        }),
    }
}

/// The string at `tokens`; `at` names it in messages.
pub(crate) fn value(
    text: &str,
    tokens: &[String],
    at: &str,
) -> Result<Zeroizing<String>, SinkError> {
    string_at(&parse(text)?, tokens, at)
}

/// Whether `value` written unquoted reads back as this very string.
fn plain_ok(value: &str) -> bool {
    let simple = !value.is_empty()
        && value.trim() == value
        && !value.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        && !value.chars().any(char::is_control)
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':');
    simple && serde_yaml_ng::from_str::<Value>(value).is_ok_and(|v| v.as_str() == Some(value))
}

/// `new` in the old scalar's style when that style can hold it.
fn render(new: &str, style: Style) -> Zeroizing<String> {
    if style == Style::Plain && plain_ok(new) {
        return Zeroizing::new(new.to_string());
    }
    if style != Style::Double && !new.chars().any(char::is_control) {
        return Zeroizing::new(format!("'{}'", new.replace('\'', "''")));
    }
    quoted::double(new)
}

/// One string to replace: where, with what, and how messages name it.
pub(crate) struct Change<'a> {
    pub tokens: &'a [String],
    pub new: &'a str,
    pub at: &'a str,
}

/// The text with each change's string replaced in place.
pub(crate) fn replace_all(
    text: &str,
    changes: &[Change<'_>],
) -> Result<Zeroizing<Vec<u8>>, SinkError> {
    let doc = parse(text)?;
    let mut expected = doc.clone();
    let mut spans = Vec::new();
    for c in changes {
        string_at(&doc, c.tokens, c.at)?;
        let (span, style) = yaml_text::scalar_span(text, c.tokens).map_err(|e| match e {
            Unlocated::NotFound => SinkError::FieldNotFound {
                at: c.at.to_string(),
            },
            Unlocated::NotInPlace(why) => SinkError::NotInPlace {
                at: c.at.to_string(),
                why,
            },
        })?;
        spans.push((span, render(c.new, style)));
        *get_mut(&mut expected, c.tokens).ok_or(SinkError::RoundTrip)? =
            Value::String(c.new.to_string());
    }
    spans.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = Zeroizing::new(text.as_bytes().to_vec());
    for (span, literal) in spans {
        out.splice(span, literal.bytes());
    }
    // The in-place edit must mean exactly the intended change.
    let after = std::str::from_utf8(&out)
        .ok()
        .and_then(|t| serde_yaml_ng::from_str::<Value>(t).ok());
    if after.as_ref() != Some(&expected) {
        return Err(SinkError::RoundTrip);
    }
    Ok(out)
}

/// A yaml sink's one change.
pub(crate) fn replace(
    text: &str,
    tokens: &[String],
    new: &str,
    at: &str,
) -> Result<Zeroizing<Vec<u8>>, SinkError> {
    replace_all(text, &[Change { tokens, new, at }])
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::super::pointed::{Format, edit, read_values};
    use crate::config::Pointer;

    const CLIENT: &str = "# my client\nclient:\n   name: \"x\"   # shown\n   api_key: 'sk-old'    # the gateway's\n   base_url: http://127.0.0.1:4000\nother:\n  api_key: \"sk-old\"\n  plain: sk-old # c\n  n: 3\n";

    fn p(text: &str) -> Pointer {
        Pointer::parse(text).unwrap()
    }

    fn run(text: &str, ptr: &str, new: &str) -> Result<String, String> {
        let t = target(&[("K", new)], &["K"]);
        edit(Format::Yaml, Some(text.as_bytes()), &p(ptr), &t.target())
            .map(|e| String::from_utf8(e.bytes.to_vec()).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_quoting_style_stays_and_nothing_else_moves() {
        // (pointer, new value, the old text, what it becomes)
        for (ptr, new, old, then) in [
            ("/client/api_key", "sk-new", "'sk-old'", "'sk-new'"),
            ("/other/api_key", "sk-new", "\"sk-old\"", "\"sk-new\""),
            ("/other/plain", "sk-new", "plain: sk-old", "plain: sk-new"),
            // Plain cannot hold these: quoted then.
            ("/other/plain", "true", "plain: sk-old", "plain: 'true'"),
            ("/other/plain", "a: #b", "plain: sk-old", "plain: 'a: #b'"),
            ("/client/api_key", "it's", "'sk-old'", "'it''s'"),
            ("/other/api_key", "q\"\\", "\"sk-old\"", r#""q\"\\""#),
        ] {
            assert_eq!(
                run(CLIENT, ptr, new).unwrap(),
                CLIENT.replace(old, then),
                "{ptr} {new}"
            );
        }
    }

    #[test]
    fn layouts_users_write() {
        // A document marker, a hash inside quotes, a tab after the colon,
        // a sibling deeper down with the same key, CRLF line ends.
        let text = "---\n# c: x\na:\n  b:\n    k: 'deep'\n  k:\t\"sk#1\" # c: d\n  z: 1\n";
        assert_eq!(
            run(text, "/a/k", "sk-new").unwrap(),
            text.replace("\"sk#1\"", "\"sk-new\"")
        );
        // continue.dev's config.yaml: a key per entry of `models`.
        let models =
            "models:\n  - name: a\n    apiKey: sk-a   # a\n  - name: b\n    apiKey: 'sk-old'\n";
        assert_eq!(
            run(models, "/models/1/apiKey", "sk-new").unwrap(),
            models.replace("'sk-old'", "'sk-new'")
        );
        let crlf = "a:\r\n  k: sk-old\r\n  j: x\r\n";
        assert_eq!(
            run(crlf, "/a/k", "sk-new").unwrap(),
            crlf.replace("sk-old", "sk-new")
        );
        // An anchored mapping on the way, a merge: refused, not guessed.
        let msg = run("a: &x\n  k: sk-old\n", "/a/k", "sk-new").unwrap_err();
        assert!(
            msg.starts_with("/a/k is anchored, tagged or an alias"),
            "{msg}"
        );
        let msg = run("b: &x {k: sk-old}\na:\n  <<: *x\n", "/a/k", "sk-new").unwrap_err();
        assert!(msg.starts_with("has no /a/k"), "{msg}");
    }

    #[test]
    fn idempotent_and_read_back() {
        let once = run(CLIENT, "/client/api_key", "sk-new").unwrap();
        let t = target(&[("K", "sk-new")], &["K"]);
        let again = edit(
            Format::Yaml,
            Some(once.as_bytes()),
            &p("/client/api_key"),
            &t.target(),
        )
        .unwrap();
        assert!(again.fields.is_empty());
        let key = "K".to_string();
        let read = read_values(
            Format::Yaml,
            once.as_bytes(),
            &p("/client/api_key"),
            Some(&key),
        );
        assert_eq!(read[0].1.expose(), b"sk-new");
    }

    #[test]
    fn bad_input_is_an_error_naming_what_and_never_the_value() {
        let msg = run(
            "client:\n  api_key: 'sk-secret\n  x: [\n",
            "/client/api_key",
            "sk-new",
        )
        .unwrap_err();
        assert!(msg.starts_with("not valid YAML at line "), "{msg}");
        assert!(!msg.contains("sk-secret") && !msg.contains('\n'), "{msg}");
        let msg = run(CLIENT, "/client/nope", "sk-new").unwrap_err();
        assert!(msg.starts_with("has no /client/nope;"), "{msg}");
        let msg = run(CLIENT, "/other/n", "sk-new").unwrap_err();
        assert!(
            msg.starts_with("/other/n is a number, not a string"),
            "{msg}"
        );
        let msg = run("a:\n  k: |\n    sk-old\n", "/a/k", "sk-new").unwrap_err();
        assert!(
            msg.starts_with("/a/k is a block scalar; litekeys replaces"),
            "{msg}"
        );
        let msg = run("a:\n  k: !!str sk-old\n", "/a/k", "sk-new").unwrap_err();
        assert!(msg.starts_with("/a/k is anchored or tagged"), "{msg}");
    }
}
