//! Errors to exit codes, from the one table (`vault::Exit`) every litekeys
//! binary shares.

use vault::{Error, Exit};

/// A one-line message and the exit code that goes with it.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            code: exit.code(),
            message: message.into(),
        }
    }

    /// sops' own exit status, passed through so scripts written against
    /// sops see the code sops gave (most are in the table, not all).
    fn sops(code: i32, message: String) -> Self {
        Failure {
            code: u8::try_from(code).unwrap_or(Exit::Error.code()),
            message,
        }
    }

    pub(crate) fn code(&self) -> u8 {
        self.code
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let exit = match &e {
            Error::Value { .. } | Error::ValueType { .. } => Exit::DecryptValue,
            Error::MacMismatch { .. } => Exit::MacMismatch,
            Error::Unpinned { .. } => Exit::Recipients,
            Error::Format {
                source: vault::FormatError::DuplicateKey { .. },
                ..
            } => Exit::BadInput,
            Error::NoIdentity { .. } => Exit::NoIdentity,
            Error::Sops { code, .. } => return Failure::sops(*code, e.to_string()),
            _ => Exit::Error,
        };
        Failure::new(exit, e.to_string())
    }
}
