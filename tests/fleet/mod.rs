//! The fleet through git: machines (HOMEs) sharing the encrypted source
//! through a bare repository.

mod push_pull;
mod three_machines;
mod watch;
