//! `litekeys identity`: an age identity in the OS keyring.

use super::args::IdentityAction;
use super::exit::{self, Failure};

pub fn run(_action: &IdentityAction) -> Result<Vec<u8>, Failure> {
    Err(Failure::new(exit::GENERIC, "identity: not implemented yet"))
}

/// The keyring consulted when looking for identities (after the SOPS_AGE_*
/// variables, before keys.txt). `None` until the keyring is wired in.
pub fn lookup() -> Option<&'static dyn vault::identity::KeyringLookup> {
    None
}
