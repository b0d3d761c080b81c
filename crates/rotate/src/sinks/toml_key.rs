//! A toml sink: one string of a TOML client config (OpenHands'
//! `config.toml` `[llm] api_key`). toml_edit parses the file with spans;
//! the string's span is replaced (a literal `'…'` string stays literal when
//! the new value allows it), and the result is parsed again and compared
//! with the intended change, so every other byte stays as written.

use super::error::SinkError;
use super::json_text::index;
use super::quoted;
use crate::config::Pointer;
use toml_edit::{ImDocument, Item, Table, Value};
use zeroize::Zeroizing;

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn parse(text: &str) -> Result<ImDocument<&str>, SinkError> {
    ImDocument::parse(text).map_err(|e| SinkError::Toml {
        line: line_of(text, e.span().map_or(0, |s| s.start)),
        what: e.message().trim().replace('\n', " "),
    })
}

/// Where a walk down the document stands.
enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

/// What a pointer names, or `None` when nothing is there.
fn find<'a>(root: &'a Table, pointer: &Pointer) -> Option<Node<'a>> {
    let mut node = Node::Table(root);
    for token in pointer.tokens() {
        node = match node {
            Node::Table(t) | Node::Item(Item::Table(t)) => Node::Item(t.get(token)?),
            Node::Item(Item::ArrayOfTables(a)) => Node::Table(a.get(index(token)?)?),
            Node::Item(Item::Value(v)) | Node::Value(v) => match v {
                Value::InlineTable(t) => Node::Value(t.get(token)?),
                Value::Array(a) => Node::Value(a.get(index(token)?)?),
                _ => return None,
            },
            Node::Item(Item::None) => return None,
        };
    }
    Some(node)
}

/// The string at `pointer`, with its span in the text.
fn string_at(
    doc: &ImDocument<&str>,
    pointer: &Pointer,
) -> Result<(Zeroizing<String>, Option<std::ops::Range<usize>>), SinkError> {
    let not_found = || SinkError::PointerNotFound {
        at: pointer.to_string(),
    };
    let value = match find(doc.as_table(), pointer).ok_or_else(not_found)? {
        Node::Item(Item::Value(v)) | Node::Value(v) => v,
        Node::Item(Item::None) => return Err(not_found()),
        Node::Table(_) | Node::Item(Item::Table(_)) => {
            return Err(not_string(pointer, "a table"));
        }
        Node::Item(Item::ArrayOfTables(_)) => {
            return Err(not_string(pointer, "an array of tables"));
        }
    };
    match value {
        Value::String(s) => Ok((Zeroizing::new(s.value().clone()), s.span())),
        Value::Integer(_) | Value::Float(_) => Err(not_string(pointer, "a number")),
        Value::Boolean(_) => Err(not_string(pointer, "a boolean")),
        Value::Datetime(_) => Err(not_string(pointer, "a date")),
        Value::Array(_) => Err(not_string(pointer, "an array")),
        Value::InlineTable(_) => Err(not_string(pointer, "a table")),
    }
}

fn not_string(pointer: &Pointer, what: &'static str) -> SinkError {
    SinkError::NotString {
        at: pointer.to_string(),
        what,
    }
}

pub(crate) fn value(text: &str, pointer: &Pointer) -> Result<Zeroizing<String>, SinkError> {
    string_at(&parse(text)?, pointer).map(|(v, _)| v)
}

/// `new` as a TOML string: literal (`'…'`) when the old one was and it can
/// be, else basic (`"…"`) with escapes.
fn render(new: &str, literal: bool) -> Zeroizing<String> {
    if literal && !new.contains('\'') && !new.chars().any(char::is_control) {
        return Zeroizing::new(format!("'{new}'"));
    }
    quoted::double(new)
}

/// The same walk in the plain parsed value, to state the intended result.
fn set(root: &mut toml::Value, pointer: &Pointer, new: &str) -> Option<()> {
    let mut at = root;
    for token in pointer.tokens() {
        at = match at {
            toml::Value::Table(t) => t.get_mut(token)?,
            toml::Value::Array(a) => a.get_mut(index(token)?)?,
            _ => return None,
        };
    }
    *at = toml::Value::String(new.to_string());
    Some(())
}

pub(crate) fn replace(
    text: &str,
    pointer: &Pointer,
    new: &str,
) -> Result<Zeroizing<Vec<u8>>, SinkError> {
    let doc = parse(text)?;
    let (_, span) = string_at(&doc, pointer)?;
    let span = span.ok_or_else(|| SinkError::FieldNotFound {
        at: pointer.to_string(),
    })?;
    let literal = text.as_bytes().get(span.start) == Some(&b'\'');
    let mut out = Zeroizing::new(text.as_bytes().to_vec());
    out.splice(span, render(new, literal).bytes());
    // The in-place edit must mean exactly the intended change.
    let table: toml::Table = toml::from_str(text).map_err(|_| SinkError::RoundTrip)?;
    let mut expected = toml::Value::Table(table);
    set(&mut expected, pointer, new).ok_or(SinkError::RoundTrip)?;
    let after = std::str::from_utf8(&out)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(t).ok())
        .map(toml::Value::Table);
    if after.as_ref() != Some(&expected) {
        return Err(SinkError::RoundTrip);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::super::pointed::{Format, edit, read_values};
    use super::*;

    /// OpenHands' config.toml as a user keeps it: comments, a dotted key,
    /// a literal string, odd spacing, an array of tables.
    const OPENHANDS: &str = "# OpenHands\n[core]\nworkspace_base = './workspace'   # here\n\n[llm]\nmodel = \"litellm_proxy/claude\"\nbase_url=\"http://127.0.0.1:4000\"\n  api_key   =   'sk-old'  # the gateway's\nnum_retries = 4\n\n[agent.tools]\nx.y = \"sk-old\"\n\n[[mcp]]\nname = \"a\"\n[[mcp]]\nname = \"b\"\ntoken = \"sk-old\"\n";

    fn p(text: &str) -> Pointer {
        Pointer::parse(text).unwrap()
    }

    #[test]
    fn changes_exactly_the_values_bytes_and_keeps_literal_quotes() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let ptr = p("/llm/api_key");
        let e = edit(Format::Toml, Some(OPENHANDS.as_bytes()), &ptr, &t.target()).unwrap();
        let expected = OPENHANDS.replace("'sk-old'", "'sk-new'");
        assert_eq!(std::str::from_utf8(&e.bytes).unwrap(), expected);
        assert_eq!(e.fields[0].name, "/llm/api_key");
        let again = edit(Format::Toml, Some(&e.bytes), &ptr, &t.target()).unwrap();
        assert!(again.fields.is_empty());
        let key = "LITELLM_MASTER_KEY".to_string();
        let read = read_values(Format::Toml, &e.bytes, &ptr, Some(&key));
        assert_eq!(read[0].1.expose(), b"sk-new");
    }

    #[test]
    fn dotted_keys_arrays_of_tables_and_basic_strings() {
        let t = target(&[("K", "sk-it's")], &["K"]);
        let e = edit(
            Format::Toml,
            Some(OPENHANDS.as_bytes()),
            &p("/mcp/1/token"),
            &t.target(),
        )
        .unwrap();
        let text = std::str::from_utf8(&e.bytes).unwrap();
        assert_eq!(
            text,
            OPENHANDS.replace("token = \"sk-old\"", "token = \"sk-it's\"")
        );
        // A literal string cannot hold a quote: it becomes a basic one.
        let e = edit(
            Format::Toml,
            Some(OPENHANDS.as_bytes()),
            &p("/llm/api_key"),
            &t.target(),
        )
        .unwrap();
        let text = std::str::from_utf8(&e.bytes).unwrap();
        assert_eq!(text, OPENHANDS.replace("'sk-old'", "\"sk-it's\""));
        let t = target(&[("K", "sk-n\"\\")], &["K"]);
        let e = edit(
            Format::Toml,
            Some(OPENHANDS.as_bytes()),
            &p("/agent/tools/x/y"),
            &t.target(),
        )
        .unwrap();
        let text = std::str::from_utf8(&e.bytes).unwrap();
        assert_eq!(
            text,
            OPENHANDS.replace("x.y = \"sk-old\"", r#"x.y = "sk-n\"\\""#)
        );
        assert_eq!(&*value(text, &p("/agent/tools/x/y")).unwrap(), "sk-n\"\\");
    }

    #[test]
    fn bad_input_names_the_line_or_the_pointer() {
        let t = target(&[("K", "sk-new")], &["K"]);
        let run = |text: &str, ptr: &str| {
            edit(Format::Toml, Some(text.as_bytes()), &p(ptr), &t.target())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let msg = run("[llm]\napi_key = 'sk-secret\n", "/llm/api_key");
        assert!(msg.starts_with("not valid TOML at line 2 ("), "{msg}");
        assert!(!msg.contains("sk-secret") && !msg.contains('\n'), "{msg}");
        let msg = run(OPENHANDS, "/llm/nope");
        assert!(msg.starts_with("has no /llm/nope;"), "{msg}");
        let msg = run(OPENHANDS, "/llm/num_retries");
        assert!(
            msg.starts_with("/llm/num_retries is a number, not a string"),
            "{msg}"
        );
        let msg = run(OPENHANDS, "/llm");
        assert!(msg.starts_with("/llm is a table, not a string"), "{msg}");
        let msg = run(OPENHANDS, "/llm/model/x");
        assert!(msg.starts_with("has no /llm/model/x"), "{msg}");
    }
}
