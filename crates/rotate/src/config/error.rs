//! Why litekeys.toml cannot be used ([`ConfigError`], with the file and
//! line; [`ConfigReason`], what is wrong there), and why a command is
//! refused as asked ([`Refusal`]).

use super::sink::{LayoutError, SinkRule};
use std::path::PathBuf;

/// Why litekeys.toml (named or found) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It is malformed or has an unknown key.
    #[error("{}:{line}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        reason: ConfigReason,
    },
    /// It cannot be read.
    #[error(
        "{}: {source}; pass --config FILE or create it (see `litekeys-rotate --help`)",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// It exists but is not a regular file (a directory, a FIFO, …).
    #[error("{}: not a regular file; pass --config FILE or remove it", .0.display())]
    NotAFile(PathBuf),
    /// Found by walking up (a config, or a source the config does not
    /// name) and not trusted, or changed since: nothing was read from it,
    /// run, sent or written.
    #[error(
        "{}: {}; not used, nothing was run, sent or written: read it, then run `{}` (or pass --config FILE)",
        path.display(),
        if *changed {
            "changed since you trusted it"
        } else {
            "found by walking up from the current directory and not trusted (a repository someone else wrote may hold it)"
        },
        vault::trust_command("litekeys-rotate", path)
    )]
    Untrusted { path: PathBuf, changed: bool },
    /// The trust records cannot be read or written.
    #[error(transparent)]
    Trust(#[from] vault::TrustError),
}

/// What is wrong at a line of litekeys.toml.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigReason {
    /// TOML syntax, an unknown key or a wrong type (toml's message).
    #[error("{0}; see `litekeys-rotate --help` for the keys")]
    Toml(String),
    #[error("{0:?} is not a gateway URL (http://HOST:PORT or https://HOST[:PORT])")]
    NotGatewayUrl(String),
    #[error("sentinel must be one line of text (the exact reply asked for)")]
    Sentinel,
    #[error("timeout must be a number of seconds between 0 and 86400")]
    Timeout,
    #[error("pull_every must be a number and a unit, s, m or h (\"30s\"), at most a day")]
    PullEvery,
    #[error("manager = \"command\" needs command = [\"program\", \"arg\", …]")]
    NoCommand,
    #[error("manager = \"compose\" needs dir = \"/path/to/the/compose/project\"")]
    NoComposeDir,
    #[error("a sink sets key or keys, not both")]
    KeyAndKeys,
    #[error("keys = [] names no value to write")]
    NoKeys,
    #[error("a droid sink holds one key (key = \"LITELLM_MASTER_KEY\")")]
    DroidKeys,
    #[error("{0:?} is not a variable name (letters, digits, _)")]
    NotEnvName(String),
    #[error(
        "a recipient in recipients is not an age X25519 recipient (age1…, as `age-keygen -y` prints)"
    )]
    NotRecipient,
    #[error(
        "recipients holds an age SECRET key (keep it private; remove it from this file); pin its public recipient (`age-keygen -y` prints it)"
    )]
    SecretKeyAsRecipient,
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Sink(#[from] SinkRule),
    #[error(transparent)]
    VirtualKey(#[from] super::virtual_key::VirtualKeyRule),
    #[error("{} is already a sink ({origin})", path.display())]
    DuplicateSink { path: PathBuf, origin: String },
}

/// A command refused as asked; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// `--salt` while LiteLLM keeps a database the salt key encrypts.
    #[error(
        "--salt refused: {0}; a new salt key makes the credentials LiteLLM stored in its database unreadable; pass --force-salt to rotate it anyway"
    )]
    Salt(crate::gateway::DatabaseInUse),
    /// A sync (or the sync part of a rotation) would change the salt key a
    /// sink holds while LiteLLM keeps a database.
    #[error(
        "{}: LITELLM_SALT_KEY would change, refused: {reason}; a changed salt key makes the credentials LiteLLM stored in its database unreadable; pass --force-salt to change it anyway",
        path.display()
    )]
    SaltChange {
        path: PathBuf,
        reason: crate::gateway::DatabaseInUse,
    },
    /// A sync (or rotation) would give LiteLLM a salt key where it has none
    /// while it keeps a database: what it stored is encrypted with the
    /// master key.
    #[error(
        "{}: LITELLM_SALT_KEY would be set where LiteLLM has none, refused: {reason}; LiteLLM encrypted what it stored with the master key and would decrypt it with the salt key, so every stored credential would become unreadable; pass --force-salt to set it anyway (then add the stored credentials again)",
        path.display()
    )]
    SaltIntroduced {
        path: PathBuf,
        reason: crate::gateway::DatabaseInUse,
    },
    /// A master-key change with no restart while LiteLLM keeps a
    /// database without a salt key.
    #[error(
        "master key change refused: {0} and no LITELLM_SALT_KEY is set, so LiteLLM's stored credentials are encrypted with the master key; they are re-encrypted (/key/regenerate) only together with the restart, and a change without one (--no-restart, manager \"none\", litekeys-watch's sync) would leave them unreadable at the next restart; run `litekeys-rotate` (or `litekeys-rotate sync`) with a [service] manager"
    )]
    DatabaseNeedsRestart(String),
    #[error("declined: nothing was changed")]
    Declined,
    #[error(
        "{} already exists; init never overwrites it (run `litekeys-rotate` to rotate its keys)",
        .0.display()
    )]
    SourceExists(PathBuf),
    #[error(
        "{}: no age recipient: pass --age RECIPIENT (`age-keygen -y KEYFILE` prints it)",
        .0.display()
    )]
    NoRecipient(PathBuf),
    #[error("--salt goes with rotate only, --force-salt with rotate and sync")]
    SaltWithoutRotate,
    #[error("--key goes with rotate only")]
    KeyWithoutRotate,
    #[error(
        "--key rotates a virtual key, which --salt and --force-salt never touch: run them apart"
    )]
    KeyWithSalt,
    #[error(
        "--key {name}: not a [[virtual_key]] in {config}; declare it there (name = \"{name}\"), or run without --key to rotate the master key"
    )]
    NotVirtualKey { name: String, config: String },
    #[error(
        "nothing to trust from {}: no litekeys.toml next to a secrets/ directory and no secrets/global.enc.env found walking up; pass FILE",
        .0.display()
    )]
    NothingToTrust(PathBuf),
}
