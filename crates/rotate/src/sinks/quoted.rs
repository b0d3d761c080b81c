//! A value as a double-quoted string with backslash escapes: TOML basic
//! strings and YAML double-quoted scalars read the same ones (`\"`, `\\`,
//! `\n`, `\t`, `\r`, `\uXXXX`), so the toml and yaml sinks write it alike.

use zeroize::Zeroizing;

/// `"…"` holding `new`, every control character escaped.
pub(crate) fn double(new: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(new.len() + 2));
    out.push('"');
    for c in new.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_yaml_read_it_back_the_same() {
        let value = "a\"b\\c\nd\te\rf\u{1}g\u{7f}é";
        let quoted = double(value);
        let toml: toml::Table = toml::from_str(&format!("k = {}", &*quoted)).unwrap();
        assert_eq!(toml["k"].as_str(), Some(value));
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&format!("k: {}", &*quoted)).unwrap();
        assert_eq!(yaml["k"].as_str(), Some(value));
    }
}
