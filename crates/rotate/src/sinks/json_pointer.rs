//! A json sink: one string of a JSON client config (Claude Code's
//! `~/.claude/settings.json` `env.ANTHROPIC_AUTH_TOKEN`, opencode's
//! `provider.*.options.apiKey`), found by serde_json and replaced in place
//! ([`json_text::pointer_span`]), as the Droid sink replaces its keys.

use super::error::SinkError;
use super::json_text;
use crate::config::Pointer;
use serde_json::Value;
use zeroize::Zeroizing;

/// What a JSON value is, for a message that must not show it.
fn what(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn value(text: &str, pointer: &Pointer) -> Result<Zeroizing<String>, SinkError> {
    let doc = json_text::parse(text.as_bytes())?;
    match doc.pointer(pointer.as_str()) {
        None => Err(SinkError::PointerNotFound {
            at: pointer.to_string(),
        }),
        Some(Value::String(s)) => Ok(Zeroizing::new(s.clone())),
        Some(other) => Err(SinkError::NotString {
            at: pointer.to_string(),
            what: what(other),
        }),
    }
}

pub(crate) fn replace(
    text: &str,
    pointer: &Pointer,
    new: &str,
) -> Result<Zeroizing<Vec<u8>>, SinkError> {
    let doc = json_text::parse(text.as_bytes())?;
    let span = json_text::pointer_span(text.as_bytes(), pointer.tokens())
        .filter(|s| text.as_bytes().get(s.start) == Some(&b'"'))
        .ok_or_else(|| SinkError::FieldNotFound {
            at: pointer.to_string(),
        })?;
    let literal = Zeroizing::new(serde_json::to_string(new).expect("a string serialises"));
    let mut out = Zeroizing::new(text.as_bytes().to_vec());
    out.splice(span, literal.bytes());
    let mut expected = doc;
    match expected.pointer_mut(pointer.as_str()) {
        Some(v) => *v = Value::String(new.to_string()),
        None => return Err(SinkError::RoundTrip),
    }
    // The in-place edit must mean exactly the intended change.
    let after = json_text::parse(&out).ok();
    if after.as_ref() != Some(&expected) {
        return Err(SinkError::RoundTrip);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::super::edit::{Edit, Target};
    use super::super::pointed::{Format, edit, read_values};
    use super::*;

    /// Claude Code's settings as a user keeps them: odd indentation, an
    /// escape, members in their order, the key last on its line.
    const CLAUDE: &str = "{\n   \"model\" :\"opus\",\n  \"env\": {\n\t\"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:4000\",\n      \"ANTHROPIC_AUTH_TOKEN\":   \"sk-old\" ,\n  \"X\": \"caf\\u00e9\"},\n  \"permissions\": {\"allow\": [\"Bash(ls)\"]}, \"n\": 1.50\n}\n";

    fn pointer() -> Pointer {
        Pointer::parse("/env/ANTHROPIC_AUTH_TOKEN").unwrap()
    }

    fn edit_claude(t: &Target<'_>) -> Edit {
        edit(Format::Json, Some(CLAUDE.as_bytes()), &pointer(), t).unwrap()
    }

    #[test]
    fn changes_exactly_the_values_bytes_and_is_idempotent() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let e = edit_claude(&t.target());
        let expected = CLAUDE.replace("\"sk-old\"", "\"sk-new\"");
        assert_eq!(std::str::from_utf8(&e.bytes).unwrap(), expected);
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.fields[0].name, "/env/ANTHROPIC_AUTH_TOKEN");
        assert_eq!(e.fields[0].old, Some(vault::fingerprint(b"sk-old")));
        let again = edit(Format::Json, Some(&e.bytes), &pointer(), &t.target()).unwrap();
        assert!(again.fields.is_empty());
        let key = "LITELLM_MASTER_KEY".to_string();
        let read = read_values(Format::Json, &e.bytes, &pointer(), Some(&key));
        assert_eq!(read.len(), 1);
        assert_eq!(
            (read[0].0.as_str(), read[0].1.expose()),
            ("LITELLM_MASTER_KEY", &b"sk-new"[..])
        );
    }

    #[test]
    fn a_value_that_needs_escapes_is_written_as_json() {
        let t = target(&[("K", "a\"b\\c")], &["K"]);
        let e = edit_claude(&t.target());
        let text = std::str::from_utf8(&e.bytes).unwrap();
        assert_eq!(text, CLAUDE.replace("\"sk-old\"", r#""a\"b\\c""#));
        assert_eq!(&*value(text, &pointer()).unwrap(), "a\"b\\c");
    }

    #[test]
    fn bad_input_names_what_is_wrong_and_never_the_value() {
        let t = target(&[("K", "sk-new")], &["K"]);
        let run = |text: &str, p: &str| {
            let p = Pointer::parse(p).unwrap();
            edit(Format::Json, Some(text.as_bytes()), &p, &t.target())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let msg = run("{\n  \"env\": {,}\n}", "/env/A");
        assert!(
            msg.starts_with("not valid JSON at line 2 column 11"),
            "{msg}"
        );
        let msg = run(CLAUDE, "/env/NOPE");
        assert!(msg.starts_with("has no /env/NOPE;"), "{msg}");
        let msg = run(CLAUDE, "/n");
        assert!(msg.starts_with("/n is a number, not a string"), "{msg}");
        let msg = run(CLAUDE, "/env");
        assert!(msg.starts_with("/env is an object, not a string"), "{msg}");
        let msg = run("{\"a\": [\"sk-secret\"]}", "/a/0/b");
        assert!(
            msg.starts_with("has no /a/0/b") && !msg.contains("sk-secret"),
            "{msg}"
        );
    }

    #[test]
    fn array_elements_by_index() {
        let text = "{\"provider\": {\"litellm\": {\"options\": {\"apiKey\": \"sk-old\"}}},\n \"l\": [\"a\", \"sk-old\"]}";
        let t = target(&[("K", "sk-new")], &["K"]);
        let p = Pointer::parse("/l/1").unwrap();
        let e = edit(Format::Json, Some(text.as_bytes()), &p, &t.target()).unwrap();
        assert_eq!(
            std::str::from_utf8(&e.bytes).unwrap(),
            "{\"provider\": {\"litellm\": {\"options\": {\"apiKey\": \"sk-old\"}}},\n \"l\": [\"a\", \"sk-new\"]}"
        );
    }
}
