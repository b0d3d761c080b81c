//! Argument handling and glue; the work is in the library.

mod args;
mod ci;
mod direnv;
mod exec;
mod exit;
mod identity;
mod meta;
mod read;
mod write;

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
        Command::Exec(exec_args) => exec::run(&args, exec_args),
        Command::Direnv { stdlib, only } => direnv::run(&args, *stdlib, only.as_deref()),
        Command::Ci { target } => ci::run(&args, target),
        Command::Set { key } => write::set(&args, key),
        Command::Unset { key } => write::unset(&args, key),
        Command::Encrypt(encrypt_args) => write::encrypt(&args, encrypt_args),
        Command::Recipients { action } => write::recipients(&args, action),
        Command::RotateDataKey => write::rotate_data_key(&args),
        Command::Identity { action } => identity::run(action),
        Command::Completions { shell } => meta::completions(*shell),
        Command::Manpages { dir } => meta::manpages(dir),
        Command::Rotate { args: rest } => meta::sibling("litekeys-rotate", rest),
        Command::Watch { args: rest } => meta::sibling("litekeys-watch", rest),
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
