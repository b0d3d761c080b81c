//! What reads the values: `litekeys ci`, `litekeys direnv` and `litekeys exec` on awkward values.

mod ci;
mod direnv;
mod exec;
