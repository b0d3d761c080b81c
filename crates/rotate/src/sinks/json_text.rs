//! Where a string sits in a JSON text, so that a key can be replaced in
//! place: every other byte (indentation, field order, unknown fields, number
//! spelling, escapes) stays as Droid or the user wrote it. The text has
//! already been parsed by serde_json ([`parse`], whose error names the
//! line and column); this walker only finds byte ranges.

use super::error::SinkError;
use serde_json::Value;
use std::ops::Range;

/// The JSON document of a sink's text.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, SinkError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        let what = msg.split(" at line ").next().unwrap_or(&msg);
        SinkError::Json {
            line: e.line(),
            column: e.column(),
            what: what.to_string(),
        }
    })
}

struct Walker<'a> {
    b: &'a [u8],
}

impl Walker<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.b.len() && matches!(self.b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    /// `i` at an opening quote; returns the index after the closing one.
    fn string(&self, mut i: usize) -> Option<usize> {
        i += 1;
        while i < self.b.len() {
            match self.b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// Skips the value at `i`; returns the index after it.
    fn value(&self, i: usize) -> Option<usize> {
        match *self.b.get(i)? {
            b'"' => self.string(i),
            b'{' => self.members(i).map(|(_, end)| end),
            b'[' => self.elements(i).map(|(_, end)| end),
            _ => {
                let mut j = i;
                while j < self.b.len()
                    && !matches!(self.b[j], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    j += 1;
                }
                (j > i).then_some(j)
            }
        }
    }

    /// The members of the object at `i`: (key range, value range), and the
    /// index after the closing brace.
    #[allow(clippy::type_complexity)]
    fn members(&self, i: usize) -> Option<(Vec<(Range<usize>, Range<usize>)>, usize)> {
        let mut out = Vec::new();
        let mut j = self.ws(i + 1);
        if self.b.get(j) == Some(&b'}') {
            return Some((out, j + 1));
        }
        loop {
            let key_end = self.string(j)?;
            let colon = self.ws(key_end);
            if self.b.get(colon) != Some(&b':') {
                return None;
            }
            let v = self.ws(colon + 1);
            let v_end = self.value(v)?;
            out.push((j..key_end, v..v_end));
            j = self.ws(v_end);
            match self.b.get(j)? {
                b',' => j = self.ws(j + 1),
                b'}' => return Some((out, j + 1)),
                _ => return None,
            }
        }
    }

    fn elements(&self, i: usize) -> Option<(Vec<Range<usize>>, usize)> {
        let mut out = Vec::new();
        let mut j = self.ws(i + 1);
        if self.b.get(j) == Some(&b']') {
            return Some((out, j + 1));
        }
        loop {
            let end = self.value(j)?;
            out.push(j..end);
            j = self.ws(end);
            match self.b.get(j)? {
                b',' => j = self.ws(j + 1),
                b']' => return Some((out, j + 1)),
                _ => return None,
            }
        }
    }

    /// The value of member `name` of the object at `i` (the last one, as
    /// serde_json keeps the last of duplicate keys).
    fn member(&self, i: usize, name: &str) -> Option<Range<usize>> {
        let (members, _) = self.members(i)?;
        members
            .into_iter()
            .rev()
            .find(|(k, _)| self.key_is(k.clone(), name))
            .map(|(_, v)| v)
    }

    fn key_is(&self, range: Range<usize>, name: &str) -> bool {
        let raw = &self.b[range];
        if !raw.contains(&b'\\') {
            return &raw[1..raw.len() - 1] == name.as_bytes();
        }
        serde_json::from_slice::<String>(raw).is_ok_and(|k| k == name)
    }
}

/// For each element of the top-level array `array`, the byte range of its
/// string member `field` (quotes included), or `None` where the element has
/// none. `None` overall when `array` is not a top-level array.
pub(crate) fn field_spans(
    text: &[u8],
    array: &str,
    field: &str,
) -> Option<Vec<Option<Range<usize>>>> {
    let w = Walker { b: text };
    let root = w.ws(0);
    if text.get(root) != Some(&b'{') {
        return None;
    }
    let arr = w.member(root, array)?;
    if text.get(arr.start) != Some(&b'[') {
        return None;
    }
    let (elements, _) = w.elements(arr.start)?;
    Some(
        elements
            .into_iter()
            .map(|el| {
                if text.get(el.start) != Some(&b'{') {
                    return None;
                }
                w.member(el.start, field)
                    .filter(|v| text.get(v.start) == Some(&b'"'))
            })
            .collect(),
    )
}

/// The byte range of the value an RFC 6901 pointer's `tokens` name (the
/// last of duplicate members, as serde_json keeps), or `None`.
pub(crate) fn pointer_span(text: &[u8], tokens: &[String]) -> Option<Range<usize>> {
    let w = Walker { b: text };
    let start = w.ws(0);
    let mut at = start..w.value(start)?;
    for token in tokens {
        at = match text.get(at.start)? {
            b'{' => w.member(at.start, token)?,
            b'[' => {
                let (elements, _) = w.elements(at.start)?;
                elements.into_iter().nth(index(token)?)?
            }
            _ => return None,
        };
    }
    Some(at)
}

/// An array index as RFC 6901 writes it: digits, no leading zero.
pub(crate) fn index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    (digits && (token == "0" || !token.starts_with('0')))
        .then(|| token.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_value_a_pointer_names() {
        let text = br#" {"env": {"A": 1, "ANTHROPIC_AUTH_TOKEN" : "sk-x", "a/b": "s"},
  "list": [{"k": "first"}, {"k": "second"}], "env": {"B": "last"}}"#;
        let at = |p: &[&str]| {
            let tokens: Vec<String> = p.iter().map(|t| (*t).to_string()).collect();
            pointer_span(text, &tokens).map(|r| std::str::from_utf8(&text[r]).unwrap())
        };
        // serde_json keeps the last "env".
        assert_eq!(at(&["env", "B"]), Some("\"last\""));
        assert_eq!(at(&["env", "ANTHROPIC_AUTH_TOKEN"]), None);
        assert_eq!(at(&["list", "1", "k"]), Some("\"second\""));
        assert_eq!(at(&["list", "01", "k"]), None);
        assert_eq!(at(&["list", "2"]), None);
        assert_eq!(at(&["env", "B", "x"]), None);
        assert_eq!(index("10"), Some(10));
        assert_eq!(index("-1"), None);
    }

    #[test]
    fn finds_each_elements_field() {
        let text = br#"{ "a": [1, {"x": "}"}],
  "customModels" : [
    {"apiKey": "k0", "n": 1.50},
    {"model": "m", "api\u004bey": "k\"1"},
    {"apiKey": null}, 7, {"apiKey": "dup", "apiKey": "last"}
  ]}"#;
        let spans = field_spans(text, "customModels", "apiKey").unwrap();
        let shown: Vec<Option<&str>> = spans
            .iter()
            .map(|s| s.clone().map(|r| std::str::from_utf8(&text[r]).unwrap()))
            .collect();
        assert_eq!(
            shown,
            [
                Some("\"k0\""),
                Some(r#""k\"1""#),
                None,
                None,
                Some("\"last\"")
            ]
        );
        assert!(field_spans(text, "custom_models", "api_key").is_none());
        assert!(field_spans(b"[1]", "customModels", "apiKey").is_none());
    }
}
