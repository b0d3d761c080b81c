//! systemd's quoting, the one home for every writer of unit files: the
//! `Environment=` words of the drop-in sink ([`quote`]) and the words of
//! `ExecStart=` or `ReadWritePaths=` that `litekeys-watch install` writes
//! ([`quote_word`]).

use zeroize::Zeroizing;

/// Why a value cannot be an `Environment=` word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the value of {key} holds a NUL byte")]
pub struct QuoteError {
    pub key: String,
}

/// `"K=V"` as an `Environment=` word: the whole assignment double-quoted,
/// `%` as `%%`, backslash, quote and control characters (newlines too)
/// C-escaped, so systemd reads back exactly `K=V`.
pub fn quote(key: &str, value: &str) -> Result<Zeroizing<String>, QuoteError> {
    if value.contains('\0') {
        return Err(QuoteError {
            key: key.to_string(),
        });
    }
    let mut out = Zeroizing::new(String::with_capacity(key.len() + value.len() + 8));
    out.push('"');
    for c in key.chars().chain(std::iter::once('=')).chain(value.chars()) {
        push_escaped(&mut out, c);
    }
    out.push('"');
    Ok(out)
}

/// One word of a unit's list setting (`ExecStart=`, `ReadWritePaths=`):
/// `%` as `%%`, and double-quoted and C-escaped (as [`quote`]) when it holds
/// whitespace, a quote, a backslash, `;` or a control character. `$` is the
/// caller's (special in `ExecStart=` only). `None` for a NUL byte, which no
/// unit file can hold.
pub fn quote_word(word: &str) -> Option<String> {
    if word.contains('\0') {
        return None;
    }
    let plain = !word
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return Some(word.replace('%', "%%"));
    }
    let mut out = String::with_capacity(word.len() + 8);
    out.push('"');
    for c in word.chars() {
        push_escaped(&mut out, c);
    }
    out.push('"');
    Some(out)
}

/// `c` inside a double-quoted systemd word.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '%' => out.push_str("%%"),
        '\\' => out.push_str("\\\\"),
        '"' => out.push_str("\\\""),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push(c),
    }
}
