//! Fleet through git: with `[git] pull_every`, the watcher pulls the
//! source's repository on that interval (its only timer: without `[git]`
//! an idle watcher never wakes) as `litekeys-rotate pull` does. The pull
//! itself (fast-forward only, the new source verified before any sink is
//! touched, the repository put back when it fails) is rotate's
//! `git::pull`; the watcher only decides when, behind this trait so the
//! timer is tested without git. The sync and restart that follow are the
//! engine's, as for any change of the source.

use rotate::git::{PullError, Pulled};
use std::time::{Duration, Instant};
use vault::identity::Identities;

pub(crate) trait Pull {
    /// Fast-forward to the upstream and verify its source.
    fn pull(&mut self) -> Result<Pulled, PullError>;
}

/// A pull every `every`, counted from the end of the last one (a slow
/// fetch never stacks up).
pub(crate) struct Pulling {
    pub(crate) every: Duration,
    pub(crate) next: Instant,
    pub(crate) puller: Box<dyn Pull>,
}

impl Pulling {
    /// The first pull is due at once: a machine that was off converges
    /// when the watcher starts.
    pub(crate) fn new(every: Duration, puller: Box<dyn Pull>) -> Pulling {
        Pulling {
            every,
            next: Instant::now(),
            puller,
        }
    }

    /// Pulls now and schedules the next one.
    pub(crate) fn pull(&mut self) -> Result<Pulled, PullError> {
        let result = self.puller.pull();
        self.next = Instant::now() + self.every;
        result
    }
}

/// The real one: `rotate::git::pull` on the watcher's configuration.
pub(crate) struct GitPull {
    pub(crate) config: rotate::Config,
}

impl Pull for GitPull {
    fn pull(&mut self) -> Result<Pulled, PullError> {
        // As for the sync: no OS keyring, a daemon must not wait on an
        // unlock prompt.
        rotate::git::pull(&self.config, &Identities::discover(None))
    }
}
