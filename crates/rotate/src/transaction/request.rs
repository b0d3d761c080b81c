//! What a caller asks of a transaction ([`Request`], [`Action`]) and how it
//! is shown progress and asked to confirm ([`Ui`]).

use super::plan::Plan;
use crate::config::Config;
use vault::identity::Identities;

pub struct Request<'a> {
    pub config: &'a Config,
    pub identities: &'a Identities,
    pub action: Action,
    pub dry_run: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Rotate {
        salt: bool,
        force_salt: bool,
    },
    /// `force_salt`: change a sink's salt key even while LiteLLM keeps a
    /// database (its stored credentials become unreadable).
    Sync {
        force_salt: bool,
    },
    /// `--key NAME`: a fresh value for `config.virtual_keys[key]`, made a
    /// virtual key at the gateway (no restart; the master key stays).
    RotateVirtual {
        key: usize,
    },
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Rotate { .. } | Action::RotateVirtual { .. } => "rotate",
            Action::Sync { .. } => "sync",
        }
    }

    /// Whether the salt key's database guard is overridden.
    pub fn force_salt(self) -> bool {
        match self {
            Action::Rotate { force_salt, .. } | Action::Sync { force_salt } => force_salt,
            Action::RotateVirtual { .. } => false,
        }
    }

    /// Whether it makes a fresh key (a rotation of either kind).
    pub fn rotates(self) -> bool {
        !matches!(self, Action::Sync { .. })
    }
}

/// No progress lines, no question: for a caller with no terminal (the
/// watcher).
pub struct Quiet;

impl Ui for Quiet {
    fn step(&mut self, _: &str) {}

    fn confirm(&mut self, _: &Plan) -> bool {
        true
    }
}

/// Progress and confirmation, provided by the binary.
pub trait Ui {
    /// One line per step (on a terminal).
    fn step(&mut self, line: &str);
    /// Asked once the plan is known, before anything changes.
    fn confirm(&mut self, plan: &Plan) -> bool;
}
