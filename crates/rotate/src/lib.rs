//! litekeys rotation: keys, sinks, the rotation transaction and its journal,
//! service control, gateway verification. Internal crate; not a public API.

pub mod config;
pub mod endpoint;
pub mod error;
pub mod gateway;
pub mod keys;
pub mod service;
pub mod sinks;

pub use error::{Error, Result};
