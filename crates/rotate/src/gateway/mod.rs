//! The gateway: which URLs reach it ([`endpoint`]), proving it runs on a
//! key ([`verify`]: live, new key accepted, no key and old key refused),
//! sentinels through its routes ([`sentinel`]), the lines `status` shows
//! ([`status_probe`]), and whether it keeps a database that the salt key
//! encrypts ([`database`]), the master key's re-encryption of what it
//! stored ([`regenerate`]) and the models it stored ([`stored_models`]).
//! [`http`] is the one client they share;
//! [`variables`] names the keys LiteLLM reads.

mod database;
mod endpoint;
mod error;
// Shared with the virtual keys' admin requests.
pub(crate) mod http;
mod regenerate;
mod sentinel;
mod status_probe;
mod stored_models;
#[cfg(test)]
pub(crate) mod test_server;
mod variables;
mod verify;

pub use database::{DATABASE_URL, DATABASE_VARIABLES, DatabaseInUse, SetNames, database_in_use};
pub use endpoint::{Endpoint, Endpoints};
pub use error::GatewayError;
pub(crate) use http::shown as shown_url;
pub use http::{COMPLETIONS, LIVELINESS, MODELS, REQUEST_TIMEOUT, root};
pub use regenerate::{REGENERATE, RegenerateError, regenerate};
pub use sentinel::{SENTINEL_PREFIX, fresh_sentinel, sentinel};
pub use status_probe::{GatewayLines, Line, TIMEOUT, probe_status};
pub use stored_models::{MODEL_INFO, StoredModel, missing, names, stored_models, wait_stored};
pub use variables::{MASTER_KEY, SALT_KEY};
pub use verify::{
    NoProgress, Progress, REFUSED_FOR, Report, liveliness, probe, verify, verify_with, wait_live,
    wait_live_with,
};
