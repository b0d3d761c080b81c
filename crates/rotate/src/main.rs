//! `litekeys-rotate`: rotate the gateway keys everywhere at once.

use clap::Parser;

/// Rotate the LiteLLM master (and salt) key in the encrypted source and every sink, as one transaction.
#[derive(Parser, Debug)]
#[command(name = "litekeys-rotate", version)]
struct Args {}

fn main() {
    let _ = Args::parse();
    eprintln!("litekeys-rotate: not implemented yet; see `litekeys-rotate --help`");
    std::process::exit(1);
}
