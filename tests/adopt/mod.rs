//! `litekeys-rotate adopt`: a machine set up by hand (the
//! Droid-through-LiteLLM guide's HOME with a real LiteLLM, a compose
//! deployment), taken over, then rotated; bad input refused with nothing
//! written.

mod bad_input;
mod compose;
mod confirm;
mod guide;
mod systemd;

use litekeys_tests::Sandbox;

/// A gateway-shaped key (sk- and 48 characters) made from `tag`.
pub(crate) fn key(tag: &str) -> String {
    let body = format!("{tag}{}", "Zq4Lw8Nx2Pk6Rt1Y".repeat(3));
    format!("sk-{}", &body[..48])
}

/// The 1-based line of the first line of `text` containing `needle`.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

/// The sandbox with an age identity (the source is encrypted to it), and
/// the directory adopt runs in (`repo/`, empty); `None` when age is missing.
pub(crate) fn sandbox() -> Option<Sandbox> {
    let sb = Sandbox::new();
    sb.age_keygen("home/.config/sops/age/keys.txt")?;
    std::fs::create_dir_all(sb.path("repo")).expect("repo dir");
    Some(sb)
}
