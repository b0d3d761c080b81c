//! The sops dotenv layout: `KEY=value` lines, `#` comments, and `sops_*`
//! metadata lines, exactly as sops 3.11's dotenv store reads and writes them.
//!
//! The store is byte-oriented: lines split on `\n` only, empty lines are
//! dropped, the key is everything before the first `=` (no trimming, no
//! quotes), and the two characters `\n` in a value stand for a newline.

use crate::error::FormatError;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use zeroize::Zeroize;

/// Prefix of the metadata keys sops appends after the data lines.
pub(crate) const SOPS_PREFIX: &str = "sops_";

/// One data line of a dotenv file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `#text`: `text` is everything after the `#`.
    Comment { text: Text, line: usize },
    /// `key=value`, `value` with `\n` already decoded.
    Pair { key: Text, value: Text, line: usize },
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
pub(crate) struct Layout {
    pub items: Vec<Item>,
    /// `sops_` keys with the prefix removed, values decoded, in file order.
    pub metadata: Vec<(String, String)>,
}

/// The text a [`Text`] points into: a whole file, or one string.
struct Buffer {
    text: String,
    /// Wiped on drop: the text of a plaintext file.
    secret: bool,
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if self.secret {
            self.text.zeroize();
        }
    }
}

/// A key, value or comment of a parsed file. Items share the file's buffer
/// (one allocation per file, not two per line: files have 10 000 lines);
/// reads as a `str`.
#[derive(Clone)]
pub struct Text {
    buffer: Arc<Buffer>,
    start: usize,
    end: usize,
}

impl Text {
    fn new(text: String, secret: bool) -> Text {
        let end = text.len();
        Text {
            buffer: Arc::new(Buffer { text, secret }),
            start: 0,
            end,
        }
    }

    fn slice(&self, start: usize, end: usize) -> Text {
        Text {
            buffer: Arc::clone(&self.buffer),
            start,
            end,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.buffer.text[self.start..self.end]
    }

    /// The line this text's buffer holds from `start` to `end` (exclusive of
    /// the `\n`), when `start..end` is one and the `\n` follows it: the
    /// line can be copied from the buffer as it is.
    fn line(&self, start: usize, end: usize) -> Option<Line> {
        let text = self.buffer.text.as_bytes();
        (text.get(end) == Some(&b'\n')).then(|| Line {
            buffer: Arc::as_ptr(&self.buffer),
            start,
            end: end + 1,
        })
    }
}

/// A run of whole lines, `\n` included, as they stand in a buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Line {
    buffer: *const Buffer,
    start: usize,
    end: usize,
}

impl Item {
    /// The item's line as it was read, when nothing changed it.
    fn as_read(&self) -> Option<Line> {
        match self {
            Item::Comment { text, .. } => {
                let hash = text.start.checked_sub(1)?;
                (text.buffer.text.as_bytes()[hash] == b'#').then_some(())?;
                text.line(hash, text.end)
            }
            Item::Pair { key, value, .. } => {
                let same = Arc::ptr_eq(&key.buffer, &value.buffer)
                    && key.end + 1 == value.start
                    && key.buffer.text.as_bytes()[key.end] == b'=';
                same.then_some(())?;
                key.line(key.start, value.end)
            }
        }
    }
}

/// About the bytes [`push_items`] appends: exact unless values have
/// newlines to escape (an encrypted file has none; it holds no secret).
pub(crate) fn items_len(items: &[Item]) -> usize {
    items
        .iter()
        .map(|item| match item {
            Item::Comment { text, .. } => text.len() + 2,
            Item::Pair { key, value, .. } => key.len() + value.len() + 2,
        })
        .sum()
}

/// Appends the items as dotenv lines. Lines still as they were read are
/// copied from the file's text, a run of them at a time (`set` rewrites
/// 10 000-line files to change one).
pub(crate) fn push_items(out: &mut Vec<u8>, items: &[Item]) {
    // Lines as read not copied yet, and a text of their buffer.
    let mut run: Option<(Line, &Text)> = None;
    for item in items {
        let read = item.as_read();
        if let (Some((pending, _)), Some(line)) = (&mut run, read) {
            if pending.buffer == line.buffer && pending.end == line.start {
                pending.end = line.end;
                continue;
            }
        }
        if let Some((pending, text)) = run.take() {
            out.extend_from_slice(&text.buffer.text.as_bytes()[pending.start..pending.end]);
        }
        match (read, item) {
            (Some(line), Item::Comment { text, .. } | Item::Pair { key: text, .. }) => {
                run = Some((line, text));
            }
            (None, Item::Comment { text, .. }) => push_comment(out, text.as_bytes()),
            (None, Item::Pair { key, value, .. }) => push_pair(out, key, value.as_bytes()),
        }
    }
    if let Some((pending, text)) = run {
        out.extend_from_slice(&text.buffer.text.as_bytes()[pending.start..pending.end]);
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::from(String::new())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::new(s, false)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s.to_string(), false)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

/// Splits `input` the way sops' dotenv store does. Errors name the 1-based
/// line; they never quote the line (it may hold a secret).
pub(crate) fn parse(input: &[u8]) -> Result<Layout, FormatError> {
    parse_owned(input.to_vec())
}

/// [`parse`] of a file already in memory: no copy of its bytes.
pub(crate) fn parse_owned(input: Vec<u8>) -> Result<Layout, FormatError> {
    split(input, false)
}

/// [`parse`] of a plaintext file: the copy the items share is wiped when
/// the last of them is dropped.
pub(crate) fn parse_secret(input: &[u8]) -> Result<Layout, FormatError> {
    split(input.to_vec(), true)
}

fn split(input: Vec<u8>, secret: bool) -> Result<Layout, FormatError> {
    // One UTF-8 check for the whole file; a bad byte is reported on its
    // line, after any error on the lines before it (as a line-by-line check).
    let (text, bad) = match String::from_utf8(input) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            if secret {
                bytes[valid..].zeroize();
            }
            bytes.truncate(valid);
            (String::from_utf8(bytes).unwrap_or_default(), Some(valid))
        }
    };
    let whole = Text::new(text, secret);
    let text = whole.as_str();
    let bytes = text.as_bytes();
    let mut layout = Layout {
        items: Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1),
        metadata: Vec::new(),
    };
    let mut start = 0;
    let mut line = 0;
    loop {
        line += 1;
        // One search finds the end of the line and tells whether it has a
        // backslash (a `\n` escape to decode) on the way.
        let (end, backslash) = match memchr::memchr2(b'\n', b'\\', &bytes[start..]) {
            Some(at) if bytes[start + at] == b'\\' => {
                let from = start + at;
                let end = memchr::memchr(b'\n', &bytes[from..]).map_or(text.len(), |e| from + e);
                (end, true)
            }
            Some(at) => (start + at, false),
            None => (text.len(), false),
        };
        let last = end == text.len();
        if last && bad.is_some() {
            return Err(FormatError::NotUtf8 { line });
        }
        let raw = &text[start..end];
        if raw.starts_with('#') {
            layout.items.push(Item::Comment {
                text: whole.slice(start + 1, end),
                line,
            });
        } else if !raw.is_empty() {
            let Some(eq) = memchr::memchr(b'=', raw.as_bytes()) else {
                return Err(FormatError::NoEquals { line });
            };
            let key = &raw[..eq];
            let value = &raw[eq + 1..];
            if let Some(meta) = key.strip_prefix(SOPS_PREFIX) {
                layout
                    .metadata
                    .push((meta.to_string(), decode_newlines(value)));
            } else {
                let value = if backslash && value.contains("\\n") {
                    Text::new(decode_newlines(value), secret)
                } else {
                    whole.slice(start + eq + 1, end)
                };
                layout.items.push(Item::Pair {
                    key: whole.slice(start, start + eq),
                    value,
                    line,
                });
            }
        }
        if last {
            return unique_keys(&layout.items).map(|()| layout);
        }
        start = end + 1;
    }
}

/// Refuses a key set twice, naming the second line. The sops MAC does not
/// cover keys, so anyone who can write the file can add a second `NAME=`
/// line; every reader refusing it is the only way they all agree.
fn unique_keys(items: &[Item]) -> Result<(), FormatError> {
    let mut seen = std::collections::HashMap::with_capacity(items.len());
    for item in items {
        if let Item::Pair { key, line, .. } = item {
            if let Some(first) = seen.insert(key.as_str(), *line) {
                return Err(FormatError::DuplicateKey {
                    line: *line,
                    first,
                    key: key.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// `\n` (backslash, n) to a newline, left to right, as Go's `strings.Replace`.
pub(crate) fn decode_newlines(s: &str) -> String {
    // Sized up front (decoding only shortens): a growing String would leave
    // pieces of a plaintext value in freed memory.
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\\n") {
        out.push_str(&rest[..at]);
        out.push('\n');
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// A newline to `\n`; the inverse of [`decode_newlines`] on any value read
/// from a file.
pub(crate) fn encode_newlines(s: &str) -> String {
    s.replace('\n', "\\n")
}

/// The length of `value` once [`push_pair`] escapes its newlines: output
/// buffers are sized up front (growing one leaves copies of secrets behind).
pub(crate) fn escaped_len(value: &[u8]) -> usize {
    // A search is cheaper than a count, and most values have no newline.
    match memchr::memchr(b'\n', value) {
        None => value.len(),
        Some(at) => value.len() + 1 + memchr::memchr_iter(b'\n', &value[at + 1..]).count(),
    }
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
pub(crate) fn push_comment(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'#');
    out.extend_from_slice(text);
    out.push(b'\n');
}

fn push_escaped(out: &mut Vec<u8>, value: &[u8]) {
    let mut rest = value;
    while let Some(at) = memchr::memchr(b'\n', rest) {
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
    fn a_key_set_twice_is_refused_on_its_second_line() {
        let err = parse(b"A=1\n#c\nB=\nA=\n").unwrap_err();
        let dup = FormatError::DuplicateKey {
            line: 4,
            first: 1,
            key: "A".into(),
        };
        assert_eq!(err, dup);
    }

    #[test]
    fn errors_come_in_line_order_and_backslashes_anywhere() {
        assert_eq!(
            parse(b"A=1\nnope\nB=\xff\n"),
            Err(FormatError::NoEquals { line: 2 })
        );
        assert_eq!(
            parse(b"A=1\n\nB=\xffx\nnope\n"),
            Err(FormatError::NotUtf8 { line: 3 })
        );
        assert_eq!(parse(b"A=1\n\xff"), Err(FormatError::NotUtf8 { line: 2 }));
        let layout = parse(b"K\\x=a\\nb\nE=\\\nF=x\\\\n\nG=\\").unwrap();
        let values: Vec<(&str, &str)> = layout
            .items
            .iter()
            .map(|i| match i {
                Item::Pair { key, value, .. } => (key.as_str(), value.as_str()),
                Item::Comment { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(
            values,
            [("K\\x", "a\nb"), ("E", "\\"), ("F", "x\\\n"), ("G", "\\")]
        );
    }

    #[test]
    fn lines_as_read_are_copied_as_they_were() {
        fn each_line(items: &[Item]) -> Vec<u8> {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Item::Comment { text, .. } => push_comment(&mut out, text.as_bytes()),
                    Item::Pair { key, value, .. } => push_pair(&mut out, key, value.as_bytes()),
                }
            }
            out
        }
        let check = |items: &[Item]| {
            let mut out = Vec::new();
            push_items(&mut out, items);
            assert_eq!(out, each_line(items));
            let escapes: usize = items
                .iter()
                .map(|i| match i {
                    Item::Pair { value, .. } => value.matches('\n').count(),
                    Item::Comment { .. } => 0,
                })
                .sum();
            assert_eq!(items_len(items) + escapes, out.len());
        };
        let mut items = parse(b"# c\nA=1\n\nB=x\\ny\n#\nC=\nE=5\nD=3")
            .unwrap()
            .items;
        check(&items);
        items[1] = Item::Pair {
            key: "A".into(),
            value: "9\n".into(),
            line: 0,
        };
        items.swap(4, 5);
        items.push(Item::Comment {
            text: "new".into(),
            line: 0,
        });
        items.extend(parse(b"F=6\n#x\n").unwrap().items);
        check(&items);
    }

    #[test]
    fn newline_escapes_round_trip() {
        for s in ["a\nb", "\\", "\\\n", "x\\ny", "", "\\\\nn\\n\\", "\\n\\n"] {
            assert_eq!(decode_newlines(s), s.replace("\\n", "\n"), "{s:?}");
            let encoded = encode_newlines(s);
            assert!(!encoded.contains('\n'));
            if !s.contains("\\n") {
                assert_eq!(decode_newlines(&encoded), s);
            }
        }
    }
}
