//! `litekeys-rotate status`: every sink compared with the source, the source
//! itself, the last rotation ([`report`]), and the gateway lines added by
//! the probe ([`gateway`]).

mod gateway;
mod report;

pub use report::{Check, Status, collect};
