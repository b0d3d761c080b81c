//! systemd environment: a unit drop-in (`UNIT.service.d/NAME.conf`) with
//! `Environment="K=V"` lines in `[Service]`, or an environment.d file
//! (`environment.d/NAME.conf`, `K=V` lines), chosen by the path.
//!
//! In a drop-in the whole assignment is double-quoted, backslashes and
//! quotes C-escaped, and `%` written `%%` (systemd expands specifiers before
//! it unquotes). Other words and lines are kept byte for byte.

use super::dotenv::{self, Dialect};
use super::edit::{Edit, Field, Target};
use super::error::SinkError;
use super::systemd_quote::quote;
pub(crate) use crate::config::Layout;
use std::ops::Range;
use vault::Secret;
use zeroize::Zeroizing;

const HEADER: &str =
    "# Written by litekeys-rotate: the gateway's keys. Mode 0600; never commit this file.\n";

/// The words of an `Environment=` value: raw byte range and decoded text
/// (`%%` resolved, quotes removed, C escapes decoded), as systemd reads them.
fn words(raw: &str) -> Vec<(Range<usize>, Zeroizing<String>)> {
    let b: Vec<char> = raw.chars().collect();
    let offsets: Vec<usize> = raw
        .char_indices()
        .map(|(i, _)| i)
        .chain([raw.len()])
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut word = Zeroizing::new(String::new());
        let mut quote: Option<char> = None;
        while i < b.len() {
            let c = b[i];
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '%') if b.get(i + 1) == Some(&'%') => {
                    word.push('%');
                    i += 1;
                }
                (_, '\\') if i + 1 < b.len() => {
                    i += 1;
                    match b[i] {
                        'n' => word.push('\n'),
                        't' => word.push('\t'),
                        'r' => word.push('\r'),
                        's' => word.push(' '),
                        'x' if i + 2 < b.len() => {
                            let hex: String = b[i + 1..i + 3].iter().collect();
                            match u8::from_str_radix(&hex, 16) {
                                Ok(v) => {
                                    word.push(v as char);
                                    i += 2;
                                }
                                Err(_) => word.push('x'),
                            }
                        }
                        e => word.push(e),
                    }
                }
                (_, c) => word.push(c),
            }
            i += 1;
        }
        out.push((offsets[start]..offsets[i], word));
    }
    out
}

struct Line<'a> {
    text: &'a str,
    eol: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(t) => Line { text: t, eol: "\n" },
            None => Line { text: l, eol: "" },
        })
        .collect()
}

/// `Environment=` value of a line in `[Service]`, and its offset.
fn environment_value(line: &str) -> Option<(usize, &str)> {
    let (key, value) = line.split_once('=')?;
    (key.trim() == "Environment").then(|| (key.len() + 1, value))
}

fn is_section(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

fn in_service(line: &str, current: &mut bool) -> bool {
    if is_section(line) {
        *current = line.trim() == "[Service]";
        return false;
    }
    *current
}

/// Every assignment the file makes, in order.
pub(crate) fn read_values(layout: Layout, bytes: &[u8]) -> Vec<(String, Secret)> {
    if layout == Layout::EnvironmentD {
        return dotenv::read_values(bytes);
    }
    let text = String::from_utf8_lossy(bytes);
    let mut service = false;
    let mut out = Vec::new();
    for line in lines(&text) {
        if !in_service(line.text, &mut service) {
            continue;
        }
        if let Some((_, value)) = environment_value(line.text) {
            for (_, word) in words(value) {
                if let Some((k, v)) = word.split_once('=') {
                    out.push((k.to_string(), Secret::new(v.as_bytes().to_vec())));
                }
            }
        }
    }
    out
}

pub(crate) fn edit(
    layout: Layout,
    before: Option<&[u8]>,
    t: &Target<'_>,
) -> Result<Edit, SinkError> {
    if layout == Layout::EnvironmentD {
        return dotenv::edit(before, t, Dialect::EnvironmentD);
    }
    let text = match before {
        Some(b) => std::str::from_utf8(b).map_err(|_| SinkError::NotText)?,
        None => "",
    };
    let all = lines(text);
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 256));
    let mut fields: Vec<Field> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut service = false;
    // Where missing assignments go: after the last Environment= (or the
    // header) of the first [Service] section.
    let mut insert_after: Option<usize> = None;
    let mut rendered: Vec<Zeroizing<String>> = Vec::with_capacity(all.len());
    for (n, line) in all.iter().enumerate() {
        let mut current = Zeroizing::new(line.text.to_string());
        if is_section(line.text) && line.text.trim() == "[Service]" && insert_after.is_none() {
            insert_after = Some(n);
        }
        let in_svc = in_service(line.text, &mut service);
        if let Some((offset, value)) = environment_value(line.text).filter(|_| in_svc) {
            if insert_after.is_some_and(|i| i < n) {
                insert_after = Some(n);
            }
            let mut replaced = Zeroizing::new(value.to_string());
            for (range, word) in words(value).into_iter().rev() {
                let Some((k, v)) = word.split_once('=') else {
                    continue;
                };
                let Some(new) = t
                    .keys
                    .iter()
                    .find(|x| *x == k)
                    .and_then(|k| t.values.get(k))
                else {
                    continue;
                };
                seen.push(k.to_string());
                let new_str = new
                    .as_str()
                    .ok_or_else(|| SinkError::ValueNotText(k.to_string()))?;
                if v == new_str {
                    continue;
                }
                replaced.replace_range(range, &quote(k, new_str)?);
                if !fields.iter().any(|f| f.name == k) {
                    fields.push(Field::new(k, Some(v.as_bytes()), new));
                }
            }
            current = Zeroizing::new(format!("{}{}", &line.text[..offset], replaced.as_str()));
        }
        rendered.push(current);
    }
    let mut missing = Zeroizing::new(String::new());
    for key in t.keys {
        if seen.contains(key) {
            continue;
        }
        let Some(value) = t.values.get(key) else {
            continue;
        };
        let v = value
            .as_str()
            .ok_or_else(|| SinkError::ValueNotText(key.clone()))?;
        missing.push_str("Environment=");
        missing.push_str(&quote(key, v)?);
        missing.push('\n');
        fields.push(Field::new(key, None, value));
    }
    if before.is_none() {
        out.push_str(HEADER);
    }
    for (n, (line, text)) in all.iter().zip(&rendered).enumerate() {
        out.push_str(text);
        out.push_str(line.eol);
        if insert_after == Some(n) && !missing.is_empty() {
            if line.eol.is_empty() {
                out.push('\n');
            }
            out.push_str(&missing);
        }
    }
    if insert_after.is_none() && !missing.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("[Service]\n");
        out.push_str(&missing);
    }
    Ok(Edit {
        bytes: Zeroizing::new(out.as_bytes().to_vec()),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::super::systemd_quote::quote_word;
    use super::*;

    #[test]
    fn quoting_round_trips_through_the_reader() {
        let value = r#"pe%r\c"q 'x' %%"#;
        let word = quote("A", value).unwrap();
        assert_eq!(word.as_str(), r#""A=pe%%r\\c\"q 'x' %%%%""#);
        let back = words(&word);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].1.as_str(), format!("A={value}"));
    }

    #[test]
    fn words_are_quoted_only_when_they_need_it() {
        assert_eq!(quote_word("/usr/bin/x").as_deref(), Some("/usr/bin/x"));
        assert_eq!(quote_word("-/a/100%").as_deref(), Some("-/a/100%%"));
        let word = quote_word("/a b/c\"d\\\n%").unwrap();
        assert_eq!(word, r#""/a b/c\"d\\\n%%""#);
        let back = words(&word);
        assert_eq!(back[0].1.as_str(), "/a b/c\"d\\\n%");
        assert_eq!(quote_word("a\0b"), None);
    }

    #[test]
    fn creates_then_edits_in_place() {
        let t = target(&[("K1", "v1"), ("K2", "a%b")], &["K1", "K2"]);
        let e = edit(Layout::DropIn, None, &t.target()).unwrap();
        let text = String::from_utf8(e.bytes.to_vec()).unwrap();
        assert_eq!(
            text,
            format!("{HEADER}[Service]\nEnvironment=\"K1=v1\"\nEnvironment=\"K2=a%%b\"\n")
        );

        let hand = "[Unit]\nDescription=x\n\n[Service]\nEnvironment=\"OTHER=%h\" K1=old\nRestart=always\n\n[Install]\nWantedBy=default.target\n";
        let e = edit(Layout::DropIn, Some(hand.as_bytes()), &t.target()).unwrap();
        assert_eq!(
            std::str::from_utf8(&e.bytes).unwrap(),
            "[Unit]\nDescription=x\n\n[Service]\nEnvironment=\"OTHER=%h\" \"K1=v1\"\nEnvironment=\"K2=a%%b\"\nRestart=always\n\n[Install]\nWantedBy=default.target\n"
        );
        let values = read_values(Layout::DropIn, &e.bytes);
        let shown: Vec<String> = values
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        assert_eq!(shown, ["OTHER=%h", "K1=v1", "K2=a%b"]);
        let again = edit(Layout::DropIn, Some(&e.bytes), &t.target()).unwrap();
        assert!(again.fields.is_empty());
        assert_eq!(*again.bytes, *e.bytes);
    }
}
