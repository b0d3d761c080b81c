//! `litekeys.toml`: where the source, the gateway, the service and the sinks
//! are. Found by `--config`, `$LITEKEYS_CONFIG`, next to the nearest
//! `secrets/` directory walking up from the current directory, or
//! `$XDG_CONFIG_HOME/litekeys/config.toml`; with none, the seeds' layout.
//! A file (or source) found by walking up is used only once trusted.
//! Unknown keys and bad values are errors naming the file and line.

//!
//! Rooms: [`keys`] (every key, with its meaning, for `--help`),
//! [`settings`] (what a configuration holds), [`sink`] (what a sink
//! is), [`parse`] (the file's text to a [`Config`]), [`load`] (where the
//! file is found, and the defaults).

mod duration;
mod error;
mod keys;
mod load;
mod parse;
mod settings;
mod sink;
mod virtual_key;

pub use crate::env::Env;
pub use crate::gateway::{MASTER_KEY, SALT_KEY};
pub use error::{ConfigError, ConfigReason, Refusal};
pub use keys::{KEYS, Key, help_text as keys_help};
pub use load::Located;
pub use settings::{
    Config, DEFAULT_GATEWAY, DEFAULT_SOURCE, FILE_NAME, Found, GatewayConfig, GitConfig,
    LOCAL_FILE_NAME, ManagerKind, SentinelClient, ServiceConfig,
};
pub use sink::{Layout, LayoutError, Pointer, SinkKind, SinkRule, SinkSpec};
pub use virtual_key::{MAX_ALIAS, MAX_GRACE, VirtualKeyRule, VirtualKeySpec};
