//! The names under which LiteLLM reads the keys litekeys rotates (the
//! config's defaults and every sink's fields use them).

/// The gateway's admin key: every client authenticates with it.
pub const MASTER_KEY: &str = "LITELLM_MASTER_KEY";
/// Encrypts the credentials LiteLLM stores in its database.
pub const SALT_KEY: &str = "LITELLM_SALT_KEY";
