//! `litekeys ci`: values into a CI runner's environment.

use super::args::{Args, CiTarget};
use super::exit::{self, Failure};

pub fn run(_args: &Args, _target: &CiTarget) -> Result<Vec<u8>, Failure> {
    Err(Failure::new(exit::GENERIC, "ci: not implemented yet"))
}
