//! The sops dotenv layout: `KEY=value` lines, `#` comments, and `sops_*`
//! metadata lines, exactly as sops 3.11's dotenv store reads and writes them.
//!
//! The store is byte-oriented: lines split on `\n` only, empty lines are
//! dropped, the key is everything before the first `=` (no trimming, no
//! quotes), and the two characters `\n` in a value stand for a newline.

use crate::error::FormatError;

/// Prefix of the metadata keys sops appends after the data lines.
pub const SOPS_PREFIX: &str = "sops_";

/// One data line of a dotenv file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `#text`: `text` is everything after the `#`.
    Comment { text: String, line: usize },
    /// `key=value`, `value` with `\n` already decoded.
    Pair {
        key: String,
        value: String,
        line: usize,
    },
}

impl Item {
    pub fn line(&self) -> usize {
        match self {
            Item::Comment { line, .. } | Item::Pair { line, .. } => *line,
        }
    }
}

/// A dotenv file split into its data items and its `sops_*` metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub items: Vec<Item>,
    /// `sops_` keys with the prefix removed, values decoded, in file order.
    pub metadata: Vec<(String, String)>,
}

/// Splits `input` the way sops' dotenv store does. Errors name the 1-based
/// line; they never quote the line (it may hold a secret).
pub fn parse(input: &[u8]) -> Result<Layout, FormatError> {
    let mut layout = Layout::default();
    for (idx, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = idx + 1;
        if raw.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(raw).map_err(|_| FormatError::NotUtf8 { line })?;
        if let Some(comment) = text.strip_prefix('#') {
            layout.items.push(Item::Comment {
                text: comment.to_string(),
                line,
            });
            continue;
        }
        let Some(eq) = text.find('=') else {
            return Err(FormatError::NoEquals { line });
        };
        let key = &text[..eq];
        let value = decode_newlines(&text[eq + 1..]);
        if let Some(meta) = key.strip_prefix(SOPS_PREFIX) {
            layout.metadata.push((meta.to_string(), value));
        } else {
            layout.items.push(Item::Pair {
                key: key.to_string(),
                value,
                line,
            });
        }
    }
    Ok(layout)
}

/// `\n` (backslash, n) to a newline, left to right, as Go's `strings.Replace`.
pub fn decode_newlines(s: &str) -> String {
    if s.contains("\\n") {
        s.replace("\\n", "\n")
    } else {
        s.to_string()
    }
}

/// A newline to `\n`; the inverse of [`decode_newlines`] on any value read
/// from a file.
pub fn encode_newlines(s: &str) -> String {
    s.replace('\n', "\\n")
}

/// Appends `key=value\n` with newlines escaped.
pub fn push_pair(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    push_escaped(out, value);
    out.push(b'\n');
}

/// Appends `#text\n` with newlines escaped (sops escapes nothing in
/// comments, but a decrypted comment cannot hold one).
pub fn push_comment(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'#');
    out.extend_from_slice(text);
    out.push(b'\n');
}

fn push_escaped(out: &mut Vec<u8>, value: &[u8]) {
    let mut rest = value;
    while let Some(at) = rest.iter().position(|&b| b == b'\n') {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"\\n");
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_sops() {
        let input = b"# top\nA=1\n\nexport B= two = x \nsops_version=3.11.0\nC=\nD=a\\nb\n";
        let layout = parse(input).unwrap();
        assert_eq!(
            layout.items,
            vec![
                Item::Comment {
                    text: " top".into(),
                    line: 1
                },
                Item::Pair {
                    key: "A".into(),
                    value: "1".into(),
                    line: 2
                },
                Item::Pair {
                    key: "export B".into(),
                    value: " two = x ".into(),
                    line: 4
                },
                Item::Pair {
                    key: "C".into(),
                    value: "".into(),
                    line: 6
                },
                Item::Pair {
                    key: "D".into(),
                    value: "a\nb".into(),
                    line: 7
                },
            ]
        );
        assert_eq!(layout.metadata, vec![("version".into(), "3.11.0".into())]);
    }

    #[test]
    fn a_line_without_equals_names_its_line() {
        assert_eq!(
            parse(b"A=1\nnope\n"),
            Err(FormatError::NoEquals { line: 2 })
        );
    }

    #[test]
    fn newline_escapes_round_trip() {
        for s in ["a\nb", "\\", "\\\n", "x\\ny", ""] {
            let encoded = encode_newlines(s);
            assert!(!encoded.contains('\n'));
            if !s.contains("\\n") {
                assert_eq!(decode_newlines(&encoded), s);
            }
        }
    }
}
