//! `litekeys-rotate pull`: fast-forward the source's repository, verify the
//! new source before any sink sees it, and put the repository back when it
//! fails (so that no later `sync` picks the commit up).

use super::{GitError, Repo};
use crate::config::Config;
use crate::{Error, PinReport, keys};
use std::path::PathBuf;
use vault::Document;
use vault::identity::Identities;

/// What a pull brought: the commits before and after (short ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    pub from: String,
    pub to: String,
}

impl Pulled {
    /// Nothing new upstream.
    pub fn unchanged(&self) -> bool {
        self.from == self.to
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{}: not in a git repository: nothing to pull", .0.display())]
    NotARepository(PathBuf),
    #[error(
        "{}: the branch has no upstream to pull from (`git -C {} branch --set-upstream-to origin/BRANCH`)",
        .0.display(),
        .0.display()
    )]
    NoUpstream(PathBuf),
    /// `git pull --ff-only` failed: not a fast-forward, no network, …
    #[error(transparent)]
    Git(#[from] GitError),
    /// The pulled source failed verification; the repository is back at
    /// `back`, no sink was touched.
    #[error(
        "refused commit {commit} ({subject}): {source}; {} is back at {back}, every sink as it was",
        repo.display()
    )]
    Refused {
        commit: String,
        subject: String,
        repo: PathBuf,
        back: String,
        source: Box<Error>,
    },
    /// The pulled source failed verification and the repository could not
    /// be put back: say both.
    #[error(
        "refused commit {commit}: {source}; and {} could not be put back to {back} ({reset}): run `git -C {} reset --keep {back}` before any sync",
        repo.display(),
        repo.display()
    )]
    NotPutBack {
        commit: String,
        repo: PathBuf,
        back: String,
        source: Box<Error>,
        reset: Box<GitError>,
    },
}

impl PullError {
    /// The exit code: a refused source keeps its verification's (MAC
    /// mismatch, bad input, …); git's failures are errors.
    pub fn exit(&self) -> vault::Exit {
        match self {
            PullError::Refused { source, .. } | PullError::NotPutBack { source, .. } => {
                source.exit()
            }
            PullError::NotARepository(_) | PullError::NoUpstream(_) | PullError::Git(_) => {
                vault::Exit::Error
            }
        }
    }
}

/// The source as a sink would receive it: its MAC holds, its recipients
/// are inside the pin (litekeys.toml's, else `.sops.yaml`'s), its gateway
/// keys are plausible.
pub fn verify_source(config: &Config, identities: &Identities) -> Result<(), Error> {
    let doc = Document::read(&config.source)?;
    let data_key = doc.data_key(identities)?;
    let plain = doc.decrypt(&data_key)?;
    let recipients = doc.metadata.recipients();
    if let Some(pin) = PinReport::of(config, &recipients).pin {
        pin.check(&config.source, &recipients)?;
    }
    for name in keys::gateway_key_names(config) {
        if let Some((value, _)) = plain.get(name) {
            keys::check_gateway_key(name, value).map_err(|source| Error::Implausible {
                path: config.source.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

/// `git pull --ff-only` in the source's repository, then [`verify_source`];
/// a source that fails is refused and the repository reset to the commit
/// before the pull (`git reset --keep`).
pub fn pull(config: &Config, identities: &Identities) -> Result<Pulled, PullError> {
    let repo =
        Repo::of(&config.source).ok_or_else(|| PullError::NotARepository(config.source.clone()))?;
    if repo.upstream().is_none() {
        return Err(PullError::NoUpstream(repo.root().to_path_buf()));
    }
    let from = repo.head()?;
    repo.git(&["pull", "--quiet", "--ff-only"])?;
    let to = repo.head()?;
    let pulled = Pulled {
        from: short(&from),
        to: short(&to),
    };
    if pulled.unchanged() {
        return Ok(pulled);
    }
    let Err(failed) = verify_source(config, identities) else {
        return Ok(pulled);
    };
    let subject = repo
        .git(&["log", "-1", "--format=%s", &to])
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    match repo.git(&["reset", "--quiet", "--keep", &from]) {
        Ok(_) => Err(PullError::Refused {
            commit: pulled.to,
            subject,
            repo: repo.root().to_path_buf(),
            back: pulled.from,
            source: Box::new(failed),
        }),
        Err(reset) => Err(PullError::NotPutBack {
            commit: pulled.to,
            repo: repo.root().to_path_buf(),
            back: pulled.from,
            source: Box::new(failed),
            reset: Box::new(reset),
        }),
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Boxed in [`Error`]: the refusal carries the verification's own error.
impl From<PullError> for Error {
    fn from(e: PullError) -> Self {
        Error::Pull(Box::new(e))
    }
}
