//! The write path: set, unset, encrypt, recipients, rotate-data-key.

use super::args::{Args, EncryptArgs, RecipientsAction};
use super::exit::{self, Failure};

fn todo_failure(what: &str) -> Failure {
    Failure::new(exit::GENERIC, format!("{what}: not implemented yet"))
}

pub fn set(_args: &Args, _key: &str) -> Result<Vec<u8>, Failure> {
    Err(todo_failure("set"))
}

pub fn unset(_args: &Args, _key: &str) -> Result<Vec<u8>, Failure> {
    Err(todo_failure("unset"))
}

pub fn encrypt(_args: &Args, _encrypt: &EncryptArgs) -> Result<Vec<u8>, Failure> {
    Err(todo_failure("encrypt"))
}

pub fn recipients(_args: &Args, _action: &RecipientsAction) -> Result<Vec<u8>, Failure> {
    Err(todo_failure("recipients"))
}

pub fn rotate_data_key(_args: &Args) -> Result<Vec<u8>, Failure> {
    Err(todo_failure("rotate-data-key"))
}
