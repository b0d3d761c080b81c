//! `litekeys-rotate`: rotate the gateway keys everywhere at once. The
//! command line lives in [`cli`]; the work in the `rotate` library.

mod cli;

fn main() -> std::process::ExitCode {
    vault::harden_process();
    cli::main()
}
