//! `litekeys-rotate`: end to end, bad input, concurrency, crash safety, and the real LiteLLM.

mod bad_input;
mod concurrency;
mod crash;
mod e2e;
mod first_run;
mod gateway;
mod preflight;
