//! `litekeys direnv`: what an `.envrc` evaluates.

use super::args::Args;
use super::exit::{self, Failure};

pub fn run(_args: &Args, _stdlib: bool) -> Result<Vec<u8>, Failure> {
    Err(Failure::new(exit::GENERIC, "direnv: not implemented yet"))
}
