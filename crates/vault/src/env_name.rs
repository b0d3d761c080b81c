//! Environment variable names: which names litekeys passes to a process
//! environment or a shell, and which it never sets unless the user names
//! them (a line in the source that no MAC covers can add any name).

/// A name a POSIX shell and `execve` environment both take.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Names that change which program runs or what it loads before its own
/// code: the dynamic loader, shells' start-up files and prompts, and the
/// interpreters agents are written in. Exact names.
pub(crate) const STEERING_NAMES: &[&str] = &[
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "PROMPT_COMMAND",
    "PS0",
    "PS1",
    "PS4",
    "SHELLOPTS",
    "BASHOPTS",
    "GLOBIGNORE",
    "ZDOTDIR",
    "HOME",
    "SHELL",
    "TMPDIR",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PYTHONINSPECT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYLIB",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "GIT_EXEC_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_CONFIG_GLOBAL",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "SOPS_AGE_KEY_CMD",
    "DIRENV_CONFIG",
];

/// Prefixes of such names: the dynamic loaders (glibc, macOS), bash's
/// exported functions, git's per-process config.
pub(crate) const STEERING_PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_", "GIT_CONFIG_"];

/// Whether setting `name` changes how programs run (see [`STEERING_NAMES`]):
/// `exec`, `direnv`, `ci` and `export` set it only when the user names it.
pub fn steers_programs(name: &str) -> bool {
    STEERING_NAMES.contains(&name) || STEERING_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The `--allow-env` help of `exec`, `direnv`, `ci` and `export`, from the
/// lists themselves so it cannot fall behind them.
pub fn allow_env_help() -> String {
    format!(
        "Export NAME although it changes how programs run (repeatable). Without it a value \
         with such a name is refused, not dropped: anyone who can write the encrypted file can \
         add an empty line no MAC covers. The names: {}; and any name starting with {}",
        STEERING_NAMES.join(", "),
        STEERING_PREFIXES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_env_name("LITELLM_MASTER_KEY"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("export X"));
        assert!(!is_env_name(""));
    }

    #[test]
    fn steering() {
        for n in [
            "PATH",
            "LD_PRELOAD",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "NODE_OPTIONS",
        ] {
            assert!(steers_programs(n), "{n}");
        }
        for n in [
            "LITELLM_MASTER_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "PATHS",
            "XPATH",
        ] {
            assert!(!steers_programs(n), "{n}");
        }
    }
}
