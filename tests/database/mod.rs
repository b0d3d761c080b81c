//! LiteLLM with a database (issue 15's infrastructure): a throwaway
//! PostgreSQL with LiteLLM's schema, the real LiteLLM on it through our
//! Prisma engine, and the facts DESIGN.md states about it, on the real thing.

mod facts;
mod master_key;
mod postgres;
mod virtual_key;
