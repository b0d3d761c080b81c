//! litekeys rotation: keys, sinks, the rotation transaction and its journal,
//! service control, gateway verification. Internal crate; not a public API.

pub mod gateway;
pub mod service;
