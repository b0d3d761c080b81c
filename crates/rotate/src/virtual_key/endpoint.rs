//! LiteLLM's key-management routes: the API calls them, and an error names
//! the one that refused (a refused `/key/generate` has its own hint).

pub(crate) const GENERATE: &str = "/key/generate";
pub(crate) const DELETE: &str = "/key/delete";
pub(crate) const UPDATE: &str = "/key/update";
pub(crate) const INFO: &str = "/key/info";
