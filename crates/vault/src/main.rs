//! `litekeys`: the sops dotenv vault on the command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    vault::harden_process();
    cli::run()
}
