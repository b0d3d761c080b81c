//! Sinks: the plaintext copies programs read. Each kind turns a file's
//! bytes into its new bytes (a pure edit); this module reads the files,
//! checks they can be replaced, and reports what changes or has drifted.

pub(crate) mod dotenv;
pub(crate) mod droid;
pub(crate) mod json_text;
pub(crate) mod systemd_env;

// Issue 14: the clients' own files, each value replaced in place.
mod json_pointer;
mod litellm_config;
mod pointed;
mod quoted;
mod toml_key;
mod yaml_key;
mod yaml_text;

mod edit;
mod error;
mod file;
mod inspect;
mod kind;
mod plan;
pub(crate) mod systemd_quote;

pub(crate) use edit::{Field, Target, Values};
pub(crate) use error::{PlanError, SameFile, SinkError, SinkFailure, WritableError};
pub(crate) use file::{FileChange, Role, check_writable, read};
pub(crate) use inspect::{FileStatus, State, held, inspect, notes};
pub use kind::read_values;
// Recovery re-applies an old key with the same pure edit a rotation uses.
pub(crate) use kind::{edit as edit_sink, files as sink_files};
pub(crate) use plan::plan;
