//! The write path: against the real sops, bad input, and the OS keyring.

mod bad_input;
mod interop;
mod keyring;
mod set_checks;
