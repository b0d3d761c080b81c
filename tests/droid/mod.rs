//! The real Factory Droid CLI as the proof: `droid exec` through a real
//! LiteLLM (the kit, `kit/droid.rs`), the `custom:` model ids it lists,
//! and `litekeys-rotate --sentinel` with `sentinel_client = "droid"`.

mod client;
mod models;
mod rotate;
