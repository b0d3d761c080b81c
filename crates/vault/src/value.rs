//! Typed plaintexts. sops' dotenv store only writes `str` (and `comment`),
//! but its cipher tags values `int`, `float`, `bool`, `bytes` and `time`
//! too; each has its own bytes for the MAC (Go's `ToBytes`) and its own
//! text in the decrypted file (Go's `ValToString`).

use crate::format::Timestamp;
use zeroize::Zeroizing;

/// Why a decrypted plaintext is not a value of its tag.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadType;

/// A decrypted value: the bytes the MAC covers and the text the plaintext
/// file shows.
pub(crate) struct Plain {
    pub mac_bytes: Zeroizing<Vec<u8>>,
    pub text: Zeroizing<Vec<u8>>,
    /// `str`: the only type `get` and `exec` take as they are.
    pub is_str: bool,
    /// A value tagged `comment` is shown but never hashed.
    pub is_comment: bool,
}

impl Plain {
    pub(crate) fn from_tagged(bytes: Zeroizing<Vec<u8>>, kind: &str) -> Result<Plain, BadType> {
        let text = || std::str::from_utf8(&bytes).map_err(|_| BadType);
        let both = |mac: String, text: String| Plain {
            mac_bytes: Zeroizing::new(mac.into_bytes()),
            text: Zeroizing::new(text.into_bytes()),
            is_str: false,
            is_comment: false,
        };
        Ok(match kind {
            "str" => Plain {
                mac_bytes: bytes.clone(),
                text: bytes,
                is_str: true,
                is_comment: false,
            },
            "comment" => {
                // Go prints a Comment struct held as a value with `%v`.
                let mut shown = Vec::with_capacity(bytes.len() + 2);
                shown.push(b'{');
                shown.extend_from_slice(&bytes);
                shown.push(b'}');
                Plain {
                    mac_bytes: Zeroizing::new(Vec::new()),
                    text: Zeroizing::new(shown),
                    is_str: false,
                    is_comment: true,
                }
            }
            "int" => {
                let n = parse_go_int(text()?).ok_or(BadType)?;
                both(n.to_string(), n.to_string())
            }
            "float" => {
                let f: f64 = text()?.parse().map_err(|_| BadType)?;
                both(go_format_f(f), go_val_to_string_float(f))
            }
            "bool" => {
                let b = match text()? {
                    "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                    "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                    _ => return Err(BadType),
                };
                both(if b { "True" } else { "False" }.into(), b.to_string())
            }
            "bytes" => {
                // Go shows a []byte with `%v`: `[104 105]`.
                let shown = format!(
                    "[{}]",
                    bytes
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                Plain {
                    mac_bytes: bytes,
                    text: Zeroizing::new(shown.into_bytes()),
                    is_str: false,
                    is_comment: false,
                }
            }
            "time" => {
                let t = Timestamp::parse(text()?).ok_or(BadType)?;
                both(t.to_rfc3339_nano(), t.to_string())
            }
            _ => return Err(BadType),
        })
    }
}

/// Go's `strconv.Atoi` on a 64-bit platform.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: Rust's `Display` is the
/// same shortest round-trip digits without an exponent.
fn go_format_f(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f.is_nan() {
        return "NaN".into();
    }
    format!("{f}")
}

/// sops' `ValToString` for a float: `%G` with shortest digits, and at least
/// one decimal when it would read as an integer.
fn go_val_to_string_float(f: f64) -> String {
    if !f.is_finite() {
        return go_format_f(f);
    }
    // Shortest digits and decimal exponent from Rust's `{:e}`: "d.ddde±x".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    let shown = if !(-4..6).contains(&exp) {
        // With shortest digits Go's %G uses an exponent outside [-4, 6).
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}E{esign}{:02}", exp.abs())
    } else {
        go_format_f(f)
    };
    if !shown.contains('.') && !shown.contains('E') {
        format!("{}", FloatOneDecimal(f))
    } else {
        shown
    }
}

struct FloatOneDecimal(f64);

impl std::fmt::Display for FloatOneDecimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(bytes: &str, kind: &str) -> (String, String) {
        let p = Plain::from_tagged(Zeroizing::new(bytes.as_bytes().to_vec()), kind).unwrap();
        (
            String::from_utf8(p.mac_bytes.to_vec()).unwrap(),
            String::from_utf8(p.text.to_vec()).unwrap(),
        )
    }

    #[test]
    fn go_conversions() {
        assert_eq!(plain("007", "int"), ("7".into(), "7".into()));
        assert_eq!(plain("t", "bool"), ("True".into(), "true".into()));
        assert_eq!(plain("2.5", "float"), ("2.5".into(), "2.5".into()));
        assert_eq!(plain("3", "float"), ("3".into(), "3.0".into()));
        assert_eq!(
            plain("1234567", "float"),
            ("1234567".into(), "1.234567E+06".into())
        );
        assert_eq!(
            plain("0.00001", "float"),
            ("0.00001".into(), "1E-05".into())
        );
        assert_eq!(plain("hi", "bytes"), ("hi".into(), "[104 105]".into()));
        assert_eq!(plain("x", "str"), ("x".into(), "x".into()));
        assert!(Plain::from_tagged(Zeroizing::new(b"x".to_vec()), "int").is_err());
        assert!(Plain::from_tagged(Zeroizing::new(b"x".to_vec()), "nope").is_err());
    }
}
