//! `litekeys-watch`: restart litellm.service when its secrets change.

use clap::Parser;

/// Watch the encrypted source and the service's sinks; sync, restart and verify when they change.
#[derive(Parser, Debug)]
#[command(name = "litekeys-watch", version)]
struct Args {}

fn main() {
    let _ = Args::parse();
    eprintln!("litekeys-watch: not implemented yet; see `litekeys-watch --help`");
    std::process::exit(1);
}
