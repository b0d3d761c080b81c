//! Argument handling and glue; the work is in the library.

mod args;
mod exit;
mod read;

use args::{Args, Command};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;


pub fn run() -> ExitCode {
    let args = Args::parse();
    let result = match &args.command {
        Command::Decrypt => read::decrypt(&args),
        Command::Get { key } => read::get(&args, key),
        Command::Export { format, only } => read::export(&args, *format, only.as_deref()),
        Command::Check => read::check(&args),
    };
    match result {
        Ok(stdout) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&stdout).and_then(|()| out.flush()).is_err() {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("litekeys: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
