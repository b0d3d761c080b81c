//! The test kit of the end-to-end suite (`tests/main.rs`): the sandbox and
//! the binaries run in it, the real peers, a real LiteLLM, and one lab per
//! area shaped like the seeds.

mod peers;
mod sandbox;
mod snapshot;
mod sops;
mod test;

pub mod consumers_lab;
pub mod droid;
pub mod echo;
pub mod fixtures;
pub mod litellm;
pub mod litellm_db;
pub mod postgres;
pub mod proxy;
pub mod rotate_lab;
pub mod watch_lab;
pub mod write_lab;

pub use peers::{peer, tool_file, which};
pub use sandbox::{Outcome, Run, Sandbox, bin, root};
pub use snapshot::{Snapshot, walk};
pub use sops::{DOTENV, Sops};
pub use test::Test;
