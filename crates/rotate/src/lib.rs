//! litekeys rotation: keys, sinks, the rotation transaction and its journal,
//! service control, gateway verification. Internal crate; not a public API.

pub mod activate;
pub mod activation;
pub mod audit;
pub mod config;
pub mod demo;
pub mod demo_gateway;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod fault;
pub mod gateway;
pub mod gateway_status;
pub mod init;
pub mod journal;
pub mod keys;
pub mod plan;
pub mod recover;
pub mod salt;
pub mod service;
pub mod sinks;
pub mod status;
pub mod transaction;

pub use error::{Error, Result};
