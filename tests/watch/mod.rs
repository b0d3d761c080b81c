//! `litekeys-watch`: the source, the sinks, systemd, the install, the real LiteLLM.

mod cli;
mod install;
mod litellm;
mod sink;
mod source;
mod systemd;
