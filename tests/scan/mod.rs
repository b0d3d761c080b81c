//! `litekeys scan`: the gateway keys found in plaintext by fingerprint,
//! current or old, never printed; the sinks and the source never reported.

mod files;
mod git;
mod hint;
mod sarif;
