//! Environment variable names: which names litekeys passes to a process
//! environment or a shell.

/// A name a POSIX shell and `execve` environment both take.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}
