//! Property tests of vault's public API: the parser and cipher, and set/unset against a model.

mod edit;
mod parser;
