//! RFC 3339 timestamps as Go's `time` package reads and writes them.
//!
//! sops authenticates its MAC with `lastmodified` re-formatted by Go
//! (`time.Parse` then `Format(time.RFC3339)`), so the AAD is the normalised
//! form, not the bytes in the file: fractions are dropped and a zero offset
//! becomes `Z`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    /// Offset from UTC in minutes.
    offset: i16,
}

impl Timestamp {
    /// The current time in UTC, whole seconds (what sops writes).
    pub fn now_utc() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::from_unix(secs)
    }

    pub fn from_unix(secs: u64) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        Timestamp {
            year: year as u16,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            nanos: 0,
            offset: 0,
        }
    }

    /// Parses like Go's `time.Parse(time.RFC3339, s)`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(range)?;
            if part.iter().all(u8::is_ascii_digit) {
                Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
            } else {
                None
            }
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let year = num(0..4)?;
        let month = num(5..7)?;
        let day = num(8..10)?;
        let hour = num(11..13)?;
        let minute = num(14..16)?;
        let second = num(17..19)?;
        let mut i = 19;
        let mut nanos = 0u32;
        if b[i] == b'.' || b[i] == b',' {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return None;
            }
            let digits = num(start..end)?;
            nanos = digits * 10u32.pow(9 - (end - start) as u32);
            i = end;
        }
        let offset: i16 = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = num(i + 1..i + 3)?;
                let m = num(i + 4..i + 6)?;
                let _ = (h1, h2, m1, m2);
                if h > 23 || m > 59 {
                    return None;
                }
                let total = (h * 60 + m) as i16;
                if *sign == b'-' { -total } else { total }
            }
            _ => return None,
        };
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        Some(Timestamp {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            nanos,
            offset,
        })
    }

    /// Go's `Format(time.RFC3339Nano)`: the fraction without trailing zeros.
    pub fn to_rfc3339_nano(self) -> String {
        let mut out = self.base();
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push_str(&self.zone());
        out
    }

    fn base(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    fn zone(self) -> String {
        if self.offset == 0 {
            "Z".to_string()
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let m = self.offset.unsigned_abs();
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

/// Go's `Format(time.RFC3339)`: whole seconds.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.base(), self.zone())
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_go() {
        let cases = [
            ("2024-03-05T10:20:30Z", "2024-03-05T10:20:30Z"),
            ("2024-03-05T10:20:30+00:00", "2024-03-05T10:20:30Z"),
            ("2024-03-05T10:20:30.123456Z", "2024-03-05T10:20:30Z"),
            ("2024-03-05T10:20:30-07:30", "2024-03-05T10:20:30-07:30"),
        ];
        for (input, want) in cases {
            assert_eq!(
                Timestamp::parse(input).unwrap().to_string(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2024-03-05 10:20:30Z",
            "2024-03-05T10:20:30",
            "2024-3-05T10:20:30Z",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn nano_form_trims_zeros() {
        let t = Timestamp::parse("2024-03-05T10:20:30.500+01:00").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2024-03-05T10:20:30.5+01:00");
    }

    #[test]
    fn unix_to_civil() {
        assert_eq!(Timestamp::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix(1_709_634_030).to_string(),
            "2024-03-05T10:20:30Z"
        );
    }
}
