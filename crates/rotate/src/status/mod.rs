//! `litekeys-rotate status`: every sink compared with the source, the source
//! itself, the last rotation ([`report`]), the source's recipients held to
//! the pin ([`pin`]), and the gateway lines added by the probe ([`gateway`]).

mod gateway;
mod pin;
mod report;

pub use pin::PinReport;
pub use report::{Check, Status, collect};
