//! litekeys rotation: keys, sinks, the rotation transaction and its journal,
//! service control, gateway verification. Internal crate; not a public API.
//!
//! Rooms, in the order data flows: [`config`] (litekeys.toml), [`sinks`]
//! (the plaintext copies programs read), [`transaction`] (plan, journal,
//! execute, recover), [`activation`] (restart through the service manager
//! and verify), [`gateway`] (LiteLLM's endpoints, checks and sentinels),
//! `status` (the report). `audit` is the commit log, `keys` makes new
//! keys, `init` creates the source. The transaction, status, init and keys
//! are private: their facade is re-exported here.

mod activation;
pub mod adopt;
pub mod audit;
pub mod config;
pub mod droid;
mod env;
mod error;
pub mod gateway;
pub mod git;
mod init;
mod keys;
pub mod scan;
mod sinks;
mod status;
mod transaction;
pub mod virtual_key;

pub use activation::{
    Activate, ActivateError, Activation, ChangedFile, PreflightError, Restart, RotateVirtualKey,
    Skip, Verification, service, service_spec,
};
pub use init::{Created, init};
pub use keys::{
    Implausible, ImplausibleKey, MIN_KEY_LEN, check_gateway_key, gateway_key_names,
    generate as generate_key,
};
pub use sinks::read_values as read_sink_values;
pub use status::{Check, PinReport, Status, collect as collect_status};
pub use transaction::fault::activation_double;
pub use transaction::{
    Action, Done, NO_RESTART, Plan, PlanFile, Quiet, Recovered, Report, Request, Settled, Ui,
    identities, recover, run, sync,
};

/// systemd's quoting, for every writer of unit files: `Environment=` lines
/// (the drop-in sink, `litekeys-watch install`) and the words of
/// `ExecStart=` or `ReadWritePaths=` (`litekeys-watch install`).
pub mod systemd {
    pub use crate::sinks::systemd_quote::{QuoteError, quote as quote_environment, quote_word};
}
pub use config::Config;
pub use env::Env;
pub use error::{
    BackupError, Error, FileState, RestoreError, Result, SourceError, Unrestored, Unverifiable,
};
