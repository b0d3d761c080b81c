//! `litekeys exec`: decrypt, then become the command.

use super::args::{Args, ExecArgs};
use super::exit::{self, Failure};

pub fn run(_args: &Args, _exec: &ExecArgs) -> Result<Vec<u8>, Failure> {
    Err(Failure::new(exit::GENERIC, "exec: not implemented yet"))
}
