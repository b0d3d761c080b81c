//! Why `adopt` stopped: one line naming the file (and line), never a key
//! (fingerprints only), and the exit code of the shared table. Nothing was
//! written when any of these is returned.

use super::At;
use std::path::PathBuf;
use vault::Exit;

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// LiteLLM's config.yaml is not YAML.
    #[error(
        "{at}: LiteLLM's config cannot be parsed ({what}); fix it, then run adopt again (nothing was written)"
    )]
    Unparsable { at: At, what: String },
    /// A file adopt must read cannot be read.
    #[error("{}: {source} (nothing was written)", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The same key has two values in the places the gateway reads it from.
    #[error(transparent)]
    Conflict(Box<Conflict>),
    /// No master key anywhere adopt looked.
    #[error(
        "no gateway master key found (looked in {looked}); pass --litellm-config PATH (nothing was written)"
    )]
    NoKey { looked: String },
    /// The value found cannot be a gateway key.
    #[error(
        "{at}: {} {}: not a plausible gateway key; fix it there, then run adopt again (nothing was written)",
        source.name,
        source.why
    )]
    Implausible {
        at: At,
        source: crate::keys::ImplausibleKey,
    },
    /// litekeys.toml or the source is there already.
    #[error(
        "{} already exists; adopt never overwrites it (nothing was written): run it in a directory without litekeys.toml and secrets/global.enc.env",
        .0.display()
    )]
    Exists(PathBuf),
    /// Off a terminal without `--yes`: nobody to ask.
    #[error(
        "adopt writes litekeys.toml and the encrypted source: stdin is not a terminal, pass --yes to write them (or --dry-run to see the table); nothing was written"
    )]
    Unattended,
    /// The user said no.
    #[error("declined: nothing was written")]
    Declined,
    /// The litekeys.toml adopt would write does not parse (a bug): not written.
    #[error(
        "the litekeys.toml adopt would write is refused by the parser ({0}); nothing was written"
    )]
    Config(String),
    /// Writing the source, litekeys.toml or the trust records failed.
    #[error(transparent)]
    Write(Box<crate::Error>),
}

/// One key, two values: where each is, by fingerprint.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} has two values: {first} holds {first_fp}, {second} holds {second_fp}; make them agree (the one the gateway runs on), then run adopt again (nothing was written)"
)]
pub struct Conflict {
    pub name: &'static str,
    pub first: At,
    pub first_fp: String,
    pub second: At,
    pub second_fp: String,
}

impl From<crate::Error> for AdoptError {
    fn from(e: crate::Error) -> Self {
        AdoptError::Write(Box::new(e))
    }
}

impl AdoptError {
    /// The code in the table every binary shares.
    pub fn exit(&self) -> Exit {
        match self {
            AdoptError::Unparsable { .. }
            | AdoptError::Unreadable { .. }
            | AdoptError::Conflict(_)
            | AdoptError::NoKey { .. }
            | AdoptError::Config(_) => Exit::Error,
            AdoptError::Implausible { .. } => Exit::BadInput,
            AdoptError::Exists(_) | AdoptError::Unattended | AdoptError::Declined => Exit::Usage,
            AdoptError::Write(e) => e.exit(),
        }
    }
}
