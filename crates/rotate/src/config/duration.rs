//! How litekeys.toml spells a duration: a number and a unit (`"30s"`,
//! `"1.5m"`, `"1h"`); each key says which units it takes and its range.

/// The seconds `text` spells with one of `units` (name, seconds in one);
/// `None` when it is no number followed by one of them.
pub(super) fn seconds(text: &str, units: &[(&str, f64)]) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let (_, scale) = units.iter().find(|(name, _)| *name == unit.trim())?;
    Some(number.parse::<f64>().ok()? * scale)
}
