//! The gateway pieces of `rotate` (service managers, LiteLLM checks and restarts) against real programs.

mod restart;
mod service;
mod verify;
