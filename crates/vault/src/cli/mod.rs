//! Argument handling and glue; the work is in the library.

mod args;
mod ci;
mod direnv;
mod exec;
mod exit;
mod identity;
mod input;
mod meta;
mod prompt;
mod read;
mod select;
mod shell_quote;
mod write;

use args::{Args, Command, ExecCommand, ExecOnly};
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

pub(crate) fn run() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if ExecOnly::wants(&argv) {
        let ExecOnly {
            input,
            command: ExecCommand::Exec(exec_args),
        } = ExecOnly::parse_from(argv);
        return report(exec::run(&input, &exec_args));
    }
    let args = Args::parse_from(argv);
    let input = &args.input;
    let result = match &args.command {
        Command::Decrypt => read::decrypt(input),
        Command::Get { key } => read::get(input, key),
        Command::Export {
            format,
            only,
            allow_env,
        } => read::export(input, *format, only.as_deref(), allow_env),
        Command::Check => read::check(input),
        Command::Exec(exec_args) => exec::run(input, exec_args),
        Command::Direnv {
            stdlib,
            only,
            allow_env,
        } => direnv::run(input, *stdlib, only.as_deref(), allow_env),
        Command::Ci { target } => ci::run(input, target),
        Command::Set {
            key,
            allow_empty,
            any_key,
        } => write::set(
            input,
            key,
            write::SetRules {
                allow_empty: *allow_empty,
                any_key: *any_key,
            },
        ),
        Command::Unset { key } => write::unset(input, key),
        Command::Encrypt(encrypt_args) => write::encrypt(encrypt_args),
        Command::Recipients { action } => write::recipients(input, action),
        Command::RotateDataKey => write::rotate_data_key(input),
        Command::Identity { action } => identity::run(action),
        Command::Completions { shell } => meta::completions(*shell),
        Command::Manpages { dir } => meta::manpages(dir),
        Command::Init { args: rest } => meta::sibling_command("litekeys-rotate", "init", rest),
        Command::Rotate { args: rest } => meta::sibling("litekeys-rotate", rest),
        Command::Watch { args: rest } => meta::sibling("litekeys-watch", rest),
        Command::Trust { args: rest } => meta::sibling_command("litekeys-rotate", "trust", rest),
        Command::Scan { args: rest } => meta::sibling_command("litekeys-rotate", "scan", rest),
        Command::Untrust { args: rest } => {
            meta::sibling_command("litekeys-rotate", "untrust", rest)
        }
    };
    report(result)
}

/// Prints a command's output, or its error on one line, and exits with its code.
fn report(result: Result<Vec<u8>, exit::Failure>) -> ExitCode {
    match result {
        Ok(stdout) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&stdout).and_then(|()| out.flush()).is_err() {
                return vault::Exit::Error.process();
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("litekeys: {}", failure.message);
            ExitCode::from(failure.code())
        }
    }
}
