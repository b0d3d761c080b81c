//! The read path against the real sops.

mod interop;
