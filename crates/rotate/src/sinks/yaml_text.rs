//! Where a one-line scalar sits in a YAML text's block mappings and
//! sequences, so that a key can be replaced in place: comments, order,
//! indentation and quoting elsewhere stay as the user wrote them.
//! serde_yaml_ng gives no spans, so this scanner finds them by indentation;
//! it refuses flow collections, anchors, tags and multi-line scalars on the
//! way. Its answer is never trusted alone: the edited text is parsed
//! again and compared with the intended change ([`super::yaml_key`]).

use std::ops::Range;

/// How the scalar was written; the new value keeps it when it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
}

/// Why no span was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unlocated {
    NotFound,
    /// A value this scanner does not replace in place (what it is).
    NotInPlace(&'static str),
}

/// A line with content (not blank, not only a comment, not a document
/// marker or directive).
struct Line<'a> {
    start: usize,
    text: &'a str,
    indent: usize,
}

impl Line<'_> {
    fn body(&self) -> &str {
        &self.text[self.indent..]
    }

    /// A sequence entry (`- x`, or `-` alone).
    fn is_dash(&self) -> bool {
        let b = self.body();
        b == "-" || b.starts_with("- ") || b.starts_with("-\t")
    }
}

fn content_lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line[indent..].trim_end();
        let marker = indent == 0
            && (body.starts_with('%') || body.starts_with("---") || body.starts_with("..."));
        if !body.is_empty() && !body.starts_with('#') && !marker {
            out.push(Line {
                start,
                text: line,
                indent,
            });
        }
        start += raw.len();
    }
    out
}

/// Where a quoted scalar starting at `s[0]` ends (after its closing
/// quote), on this line.
fn quoted_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let q = b[0];
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            b'\'' if q == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == q => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The key of a `key: value` line and the offset in the line after its
/// colon; `None` for anything else.
fn key_of(line: &Line<'_>) -> Option<(String, usize)> {
    let body = line.body();
    if line.is_dash() || body.starts_with("? ") {
        return None;
    }
    let (key, after) = if body.starts_with(['\'', '"']) {
        let end = quoted_end(body)?;
        let key = serde_yaml_ng::from_str::<String>(&body[..end]).ok()?;
        let rest = &body[end..];
        let colon = end + (rest.len() - rest.trim_start().len());
        (key, colon)
    } else {
        if body.starts_with([
            '[', '{', '&', '*', '!', '|', '>', '%', '@', '`', '#', ',', ']', '}',
        ]) {
            return None;
        }
        let b = body.as_bytes();
        let colon = (0..b.len()).find(|&i| {
            b[i] == b':' && matches!(b.get(i + 1), None | Some(b' ' | b'\t'))
                || (b[i] == b'#' && i > 0 && matches!(b[i - 1], b' ' | b'\t'))
        })?;
        if b[colon] == b'#' {
            return None;
        }
        (body[..colon].trim_end().to_string(), colon)
    };
    if body.as_bytes().get(after) != Some(&b':') {
        return None;
    }
    let next = body.as_bytes().get(after + 1);
    if !matches!(next, None | Some(b' ' | b'\t')) {
        return None;
    }
    Some((key, line.indent + after + 1))
}

/// The one-line scalar that starts the `rest` of a line (after a colon).
fn scalar(line: &Line<'_>, rest: usize) -> Result<(Range<usize>, Style), Unlocated> {
    let s = &line.text[rest..];
    let lead = s.len() - s.trim_start().len();
    let v = s.trim_start();
    let at = line.start + rest + lead;
    let first = v.chars().next().ok_or(Unlocated::NotFound)?;
    let (len, style) = match first {
        '#' => return Err(Unlocated::NotFound),
        '\'' | '"' => {
            let end = quoted_end(v).ok_or(Unlocated::NotInPlace("a multi-line string"))?;
            let style = if first == '"' {
                Style::Double
            } else {
                Style::Single
            };
            (end, style)
        }
        '|' | '>' => return Err(Unlocated::NotInPlace("a block scalar")),
        '&' | '!' => return Err(Unlocated::NotInPlace("anchored or tagged")),
        '*' => return Err(Unlocated::NotInPlace("an alias")),
        '[' | '{' => return Err(Unlocated::NotInPlace("in a flow collection")),
        _ => {
            let b = v.as_bytes();
            let end = (1..b.len())
                .find(|&i| b[i] == b'#' && matches!(b[i - 1], b' ' | b'\t'))
                .unwrap_or(b.len());
            (v[..end].trim_end().len(), Style::Plain)
        }
    };
    Ok((at..at + len, style))
}

/// A one-line scalar, or the multi-line verdict when more lines belong to
/// the value (what the value starts with says more, when it is that).
fn one_line(
    found: Result<(Range<usize>, Style), Unlocated>,
    more: bool,
) -> Result<(Range<usize>, Style), Unlocated> {
    match found {
        Err(e @ Unlocated::NotInPlace(_)) => Err(e),
        _ if more => Err(Unlocated::NotInPlace("a multi-line value")),
        found => found,
    }
}

/// The span (quotes included) and style of the one-line scalar at `path`
/// through block mappings and block sequences (an index for an entry).
pub(crate) fn scalar_span(text: &str, path: &[String]) -> Result<(Range<usize>, Style), Unlocated> {
    let mut lines = content_lines(text);
    let (mut lo, mut hi) = (0, lines.len());
    let mut parent: Option<usize> = None;
    for (depth, token) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let first = lines[lo..hi].first().ok_or(Unlocated::NotFound)?;
        let indent = first.indent;
        if first.is_dash() {
            // A block sequence (at its key's indentation or deeper).
            let n = super::json_text::index(token).ok_or(Unlocated::NotFound)?;
            let starts: Vec<usize> = (lo..hi)
                .filter(|&i| lines[i].indent == indent && lines[i].is_dash())
                .collect();
            let i = *starts.get(n).ok_or(Unlocated::NotFound)?;
            let end = starts.get(n + 1).copied().unwrap_or(hi);
            let after = &lines[i].body()[1..];
            let col = indent + 1 + (after.len() - after.trim_start().len());
            if after.trim().is_empty() || after.trim_start().starts_with('#') {
                // The entry's value starts on the next line.
                if last {
                    return Err(Unlocated::NotInPlace("a multi-line value"));
                }
                (lo, hi, parent) = (i + 1, end, Some(indent));
                continue;
            }
            if last {
                return one_line(scalar(&lines[i], col), end > i + 1);
            }
            // `- key: value`: a mapping that starts on the dash's line.
            lines[i].indent = col;
            (lo, hi, parent) = (i, end, Some(indent));
            continue;
        }
        if parent.is_some_and(|p| indent <= p) {
            return Err(Unlocated::NotFound);
        }
        if first.body().starts_with(['{', '[']) {
            return Err(Unlocated::NotInPlace("in a flow collection"));
        }
        let found = (lo..hi).rev().find_map(|i| {
            let line = &lines[i];
            (line.indent == indent)
                .then(|| key_of(line))
                .flatten()
                .filter(|(k, _)| k == token)
                .map(|(_, rest)| (i, rest))
        });
        let (i, rest) = found.ok_or(Unlocated::NotFound)?;
        let mut end = i + 1;
        while end < hi
            && (lines[end].indent > indent || (lines[end].indent == indent && lines[end].is_dash()))
        {
            end += 1;
        }
        if last {
            return one_line(scalar(&lines[i], rest), end > i + 1);
        }
        let after = lines[i].text[rest..].trim_start();
        if !(after.is_empty() || after.starts_with('#')) {
            return Err(match after.chars().next() {
                Some('{' | '[') => Unlocated::NotInPlace("in a flow collection"),
                Some('&' | '!' | '*') => Unlocated::NotInPlace("anchored, tagged or an alias"),
                _ => Unlocated::NotFound,
            });
        }
        (lo, hi, parent) = (i + 1, end, Some(indent));
    }
    Err(Unlocated::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# LiteLLM\nmodel_list:\n- model_name: a   # first\n  litellm_params:\n    model: openai/a\n    api_key: sk-provider\n\ngeneral_settings:   # the proxy\n    # master_key: sk-commented\n    'master_key' :   \"sk-old\"  # literal\n    salt_key: sk-salt # trailing\n    database_url: os.environ/DATABASE_URL\n    nested:\n      deep: 'it''s'\nlitellm_settings:\n  master_key: sk-not-this-one\n";

    fn at(path: &[&str]) -> Result<(&'static str, Style), Unlocated> {
        let path: Vec<String> = path.iter().map(|p| (*p).to_string()).collect();
        scalar_span(TEXT, &path).map(|(r, s)| (&TEXT[r], s))
    }

    #[test]
    fn finds_scalars_through_block_mappings() {
        assert_eq!(
            at(&["general_settings", "master_key"]),
            Ok(("\"sk-old\"", Style::Double))
        );
        assert_eq!(
            at(&["general_settings", "salt_key"]),
            Ok(("sk-salt", Style::Plain))
        );
        assert_eq!(
            at(&["general_settings", "nested", "deep"]),
            Ok(("'it''s'", Style::Single))
        );
        assert_eq!(
            at(&["litellm_settings", "master_key"]),
            Ok(("sk-not-this-one", Style::Plain))
        );
        assert_eq!(at(&["general_settings", "nope"]), Err(Unlocated::NotFound));
        assert_eq!(
            at(&["model_list", "0", "litellm_params", "api_key"]),
            Ok(("sk-provider", Style::Plain))
        );
        assert_eq!(
            at(&["model_list", "0", "model_name"]),
            Ok(("a", Style::Plain))
        );
        assert_eq!(at(&["model_list", "1"]), Err(Unlocated::NotFound));
        assert_eq!(at(&["model_list", "x"]), Err(Unlocated::NotFound));
        assert_eq!(
            at(&["general_settings", "nested"]),
            Err(Unlocated::NotInPlace("a multi-line value"))
        );
    }

    #[test]
    fn refuses_what_it_cannot_replace_in_place() {
        let one = |text: &str| scalar_span(text, &["a".to_string(), "k".to_string()]);
        assert_eq!(
            one("a:\n  k: |\n    sk-x\n"),
            Err(Unlocated::NotInPlace("a block scalar"))
        );
        assert_eq!(
            one("a:\n  k: &x sk\n"),
            Err(Unlocated::NotInPlace("anchored or tagged"))
        );
        assert_eq!(
            one("a: {k: v}\n"),
            Err(Unlocated::NotInPlace("in a flow collection"))
        );
        assert_eq!(
            one("a:\n  k: \"sk\n    x\"\n"),
            Err(Unlocated::NotInPlace("a multi-line string"))
        );
        assert_eq!(
            one("a:\n  k: sk\n    more\n"),
            Err(Unlocated::NotInPlace("a multi-line value"))
        );
        // Entries: compact mappings, scalars, a nested sequence.
        let seq = |text: &'static str, path: &[&str]| {
            let path: Vec<String> = path.iter().map(|p| (*p).to_string()).collect();
            scalar_span(text, &path).map(|(r, _)| &text[r])
        };
        let continue_dev = "models:\n  - name: a\n    apiKey: sk-a\n  -   name: b\n      apiKey: \"sk-b\"\n  -\n    name: c\n    apiKey: sk-c\nlist:\n- one\n- - two\n  - 'three'\n";
        assert_eq!(
            seq(continue_dev, &["models", "1", "apiKey"]),
            Ok("\"sk-b\"")
        );
        assert_eq!(seq(continue_dev, &["models", "2", "apiKey"]), Ok("sk-c"));
        assert_eq!(seq(continue_dev, &["models", "0", "apiKey"]), Ok("sk-a"));
        assert_eq!(seq(continue_dev, &["list", "0"]), Ok("one"));
        assert_eq!(seq(continue_dev, &["list", "1", "1"]), Ok("'three'"));
        assert_eq!(
            seq(continue_dev, &["models", "2"]),
            Err(Unlocated::NotInPlace("a multi-line value"))
        );
        let crlf = "a:\r\n  k: 'v' # c\r\n";
        let (r, style) = one(crlf).unwrap();
        assert_eq!((&crlf[r], style), ("'v'", Style::Single));
    }
}
