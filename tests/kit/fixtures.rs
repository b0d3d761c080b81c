//! Fixture texts shared by several suites, each kept in one file
//! (tests/fixtures/, or next to the crate's unit tests that read it too).

/// Values that break naive dotenv handling: quotes, `$(…)` and backticks,
/// `=` and `#` inside values, `\n` escapes, an empty value, `export`,
/// spaces in a key, comments, a trailing backslash, a tab, a trailing CR.
/// The file keeps its trailing spaces and CR on purpose.
pub const AWKWARD: &str = include_str!("../fixtures/awkward.env");
