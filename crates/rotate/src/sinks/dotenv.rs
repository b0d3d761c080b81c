//! KEY=VALUE files (litellm.env read by `EnvironmentFile=` and shells, a
//! docker compose `.env`, an environment.d file): the values of the listed
//! keys are replaced; every other line, comment, `export ` prefix, quote
//! style and the order are kept; a missing key is appended.

use super::edit::{Edit, Field, Target};
use super::error::{SinkError, Unwritable};
use vault::Secret;
use zeroize::Zeroizing;

/// Which reader the file is written for: it decides the quoting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Shells, systemd `EnvironmentFile=`, docker compose (which expands `$`
    /// outside single quotes).
    Dotenv,
    /// `~/.config/environment.d/*.conf`: expands `$` even inside quotes.
    EnvironmentD,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    Bare,
    Single,
    Double,
}

/// One `KEY=value` line.
struct Assign {
    key: String,
    /// Byte offset of the value's first character in the line.
    value_start: usize,
    /// Byte offset just after the value (its closing quote included).
    value_end: usize,
    value: Zeroizing<String>,
    quote: Quote,
}

/// Characters that mean the same to every reader without quotes.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.:/+@,=~^%".contains(c)
}

fn parse_line(line: &str) -> Option<Assign> {
    let body = line.trim_start();
    if body.starts_with('#') {
        return None;
    }
    let offset = line.len() - body.len();
    let (prefix, rest) = match body.strip_prefix("export") {
        Some(r) if r.starts_with([' ', '\t']) => {
            let r2 = r.trim_start();
            (body.len() - r2.len(), r2)
        }
        _ => (0, body),
    };
    let (key, after) = rest.split_once('=')?;
    if !vault::is_env_name(key) {
        return None;
    }
    let value_start = offset + prefix + key.len() + 1;
    let (value, len, quote) = if let Some(inner) = after.strip_prefix('\'') {
        let end = inner.find('\'')?;
        (inner[..end].to_string(), end + 2, Quote::Single)
    } else if let Some(inner) = after.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i);
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, e)) => out.push(e),
                    None => return None,
                },
                c => out.push(c),
            }
        }
        (out, end? + 2, Quote::Double)
    } else {
        let v = after.trim_end();
        (v.to_string(), v.len(), Quote::Bare)
    };
    Some(Assign {
        key: key.to_string(),
        value_start,
        value_end: value_start + len,
        value: Zeroizing::new(value),
        quote,
    })
}

/// The value written for `key`, quoted for `dialect` (in the old line's
/// style when that style can hold it).
fn render(
    value: &str,
    prefer: Quote,
    dialect: Dialect,
    key: &str,
) -> Result<Zeroizing<String>, SinkError> {
    let cannot = |why: Unwritable| {
        Err(SinkError::Unwritable {
            key: key.to_string(),
            why,
        })
    };
    if value.contains(['\n', '\r', '\0']) {
        return cannot(Unwritable::NewlineOrNul);
    }
    if dialect == Dialect::EnvironmentD && value.contains('$') {
        return cannot(Unwritable::Dollar);
    }
    let plain = value.chars().all(is_plain);
    let single_ok = !value.contains('\'');
    let double_ok = !value.contains(['"', '\\', '$', '`']);
    let quote = match prefer {
        Quote::Single if single_ok => Quote::Single,
        Quote::Double if double_ok => Quote::Double,
        _ if plain => Quote::Bare,
        _ if single_ok => Quote::Single,
        _ if dialect == Dialect::EnvironmentD => Quote::Double,
        _ => return cannot(Unwritable::Quotes),
    };
    Ok(Zeroizing::new(match quote {
        Quote::Bare => value.to_string(),
        Quote::Single => format!("'{value}'"),
        Quote::Double => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
    }))
}

/// Every `KEY=value` of the file, in order (the last one wins for readers).
pub(crate) fn read_values(bytes: &[u8]) -> Vec<(String, Secret)> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter_map(parse_line)
        .map(|a| (a.key, Secret::new(a.value.as_bytes().to_vec())))
        .collect()
}

/// The file with `t.keys` set to `t.values`; `None` input = a new file.
pub(crate) fn edit(
    before: Option<&[u8]>,
    t: &Target<'_>,
    dialect: Dialect,
) -> Result<Edit, SinkError> {
    let text = match before {
        Some(b) => Zeroizing::new(
            std::str::from_utf8(b)
                .map_err(|_| SinkError::NotText)?
                .to_string(),
        ),
        None => Zeroizing::new(String::new()),
    };
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 128));
    let mut fields: Vec<Field> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for line in text.split_inclusive('\n') {
        let (content, eol) = match line.strip_suffix('\n') {
            Some(c) => match c.strip_suffix('\r') {
                Some(c2) => (c2, "\r\n"),
                None => (c, "\n"),
            },
            None => (line, ""),
        };
        let assign = parse_line(content);
        let wanted = assign.as_ref().and_then(|a| {
            t.keys
                .iter()
                .find(|k| **k == a.key)
                .and_then(|k| t.values.get(k).map(|v| (k.as_str(), v)))
        });
        match (assign, wanted) {
            (Some(a), Some((key, value))) => {
                seen.push(key);
                let new = value
                    .as_str()
                    .ok_or_else(|| SinkError::ValueNotText(key.to_string()))?;
                if a.value.as_str() == new {
                    out.push_str(line);
                    continue;
                }
                out.push_str(&content[..a.value_start]);
                out.push_str(&render(new, a.quote, dialect, key)?);
                out.push_str(&content[a.value_end..]);
                out.push_str(eol);
                if !fields.iter().any(|f| f.name == key) {
                    fields.push(Field::new(key, Some(a.value.as_bytes()), value));
                }
            }
            _ => out.push_str(line),
        }
    }
    for key in t.keys {
        if seen.contains(&key.as_str()) {
            continue;
        }
        let Some(value) = t.values.get(key) else {
            continue;
        };
        let new = value
            .as_str()
            .ok_or_else(|| SinkError::ValueNotText(key.clone()))?;
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(&render(new, Quote::Bare, dialect, key)?);
        out.push('\n');
        fields.push(Field::new(key, None, value));
    }
    Ok(Edit {
        bytes: Zeroizing::new(out.as_bytes().to_vec()),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::*;

    #[test]
    fn replaces_only_the_listed_keys_and_keeps_the_rest() {
        let before = "# lab secrets\nexport LITELLM_MASTER_KEY=sk-old\nOTHER=keep # note\n\nLITELLM_SALT_KEY='salt-old'\r\nTAIL=1";
        let (values, keys) = (
            [
                ("LITELLM_MASTER_KEY", "sk-new"),
                ("LITELLM_SALT_KEY", "salt-new"),
            ],
            ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "ABSENT"],
        );
        let t = target(&values, &keys);
        let e = edit(Some(before.as_bytes()), &t.target(), Dialect::Dotenv).unwrap();
        assert_eq!(
            std::str::from_utf8(&e.bytes).unwrap(),
            "# lab secrets\nexport LITELLM_MASTER_KEY=sk-new\nOTHER=keep # note\n\nLITELLM_SALT_KEY='salt-new'\r\nTAIL=1"
        );
        assert_eq!(e.fields.len(), 2);
        let again = edit(Some(&e.bytes), &t.target(), Dialect::Dotenv).unwrap();
        assert!(again.fields.is_empty());
        assert_eq!(*again.bytes, *e.bytes);
    }

    #[test]
    fn appends_missing_keys_and_quotes_what_needs_it() {
        let t = target(&[("A", "x y$z"), ("B", "plain")], &["A", "B"]);
        let e = edit(Some(b"C=1"), &t.target(), Dialect::Dotenv).unwrap();
        assert_eq!(
            std::str::from_utf8(&e.bytes).unwrap(),
            "C=1\nA='x y$z'\nB=plain\n"
        );
        let t = target(&[("A", "it's $x")], &["A"]);
        assert!(edit(None, &t.target(), Dialect::Dotenv).is_err());
        let t = target(&[("A", "a\"b c")], &["A"]);
        let e = edit(None, &t.target(), Dialect::EnvironmentD).unwrap();
        assert_eq!(std::str::from_utf8(&e.bytes).unwrap(), "A='a\"b c'\n");
        let t = target(&[("A", "$HOME")], &["A"]);
        assert!(edit(None, &t.target(), Dialect::EnvironmentD).is_err());
    }

    #[test]
    fn reads_values_back_unquoted() {
        let v = read_values(b"A='x y'\nB=\"q\\\"\"\n#C=1\nexport D=4\n");
        let shown: Vec<(String, String)> = v
            .iter()
            .map(|(k, s)| (k.clone(), s.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            shown,
            [("A", "x y"), ("B", "q\""), ("D", "4")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }
}
