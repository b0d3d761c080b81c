//! The end-to-end suite, one test binary: each folder is an area, each file
//! in it a suite. The kit (`tests/kit/`, the package's library) runs the
//! built binaries in a sandbox against the real peers.
//!
//! `cargo test -p litekeys-tests` needs the workspace built first with
//! `--features rotate/fault-injection` (see `scripts/test`).

mod adopt;
mod builder;
mod cli;
mod consumers;
mod database;
mod droid;
mod fleet;
mod gateway;
mod props;
mod read;
mod rotate;
mod scan;
mod security;
mod sinks;
mod watch;
mod write;
