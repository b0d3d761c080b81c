//! The real Factory Droid CLI as a check: `droid doctor --config --json`
//! on the Droid settings a transaction writes (before, on the planned
//! content; after, on the written files), and `droid exec` through each
//! Droid route that reaches the gateway as the `--sentinel` client
//! (`[gateway] sentinel_client = "droid"`).
//!
//! Rooms: [`run`] (the binary on PATH, one bounded run: offline, its
//! process group killed on timeout, secrets redacted from what it
//! printed), [`home`] (the private copy of a Droid directory droid runs
//! in), [`models`] (the ids droid gives custom models), [`doctor`],
//! [`exec`] (the sentinels), [`error`].
//!
//! droid always runs in a private copy of the Droid directory (HOME and
//! `FACTORY_HOME_OVERRIDE` pointing at it): it holds exactly the files
//! droid reads, so the check sees what droid would, and droid's own state
//! (sessions, logs) stays out of the user's history. The key stays in the
//! copied settings file (mode 0600 in a 0700 directory, removed after),
//! never in argv.

mod doctor;
mod error;
mod exec;
mod home;
mod models;
mod run;

pub(crate) use doctor::doctor_planned;
pub use doctor::{Doctored, doctor_written};
pub use error::DroidError;
pub use exec::sentinels;
pub use models::{Named, listed, slug};
pub use run::Cli;
