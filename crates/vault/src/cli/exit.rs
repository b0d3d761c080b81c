//! Errors to exit codes. sops' codes where sops has one, so scripts written
//! against sops keep working.

use vault::Error;

pub const GENERIC: u8 = 1;
// 2 (usage) is clap's own exit code for bad arguments.
pub const DECRYPT_VALUE: u8 = 25;
pub const MAC_MISMATCH: u8 = 51;
pub const NO_IDENTITY: u8 = 128;
// The write path (set, unset, encrypt, recipients, rotate-data-key, identity).
/// A key or plaintext line litekeys cannot write (non-UTF-8, NUL, `=`, …).
pub const BAD_INPUT: u8 = 3;
/// The file (or its directory) cannot be written.
pub const CANNOT_WRITE: u8 = 4;
/// Someone else changed the file between litekeys reading and replacing it.
pub const CHANGED_UNDERNEATH: u8 = 5;
/// Another litekeys holds the file's lock.
pub const LOCKED: u8 = 6;
/// No OS keyring is reachable, or it failed.
pub const KEYRING: u8 = 7;
/// A recipient change refused (the last one, not an age recipient).
pub const RECIPIENTS: u8 = 8;
/// Already encrypted (as sops).
pub const ALREADY_ENCRYPTED: u8 = 203;

/// A one-line message and the exit code that goes with it.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Value { .. } | Error::ValueType { .. } => DECRYPT_VALUE,
            Error::MacMismatch { .. } => MAC_MISMATCH,
            Error::NoIdentity { .. } => NO_IDENTITY,
            Error::Sops { code, .. } => u8::try_from(*code).unwrap_or(GENERIC),
            _ => GENERIC,
        };
        Failure::new(code, e.to_string())
    }
}
