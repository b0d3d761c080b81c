//! When to act. Level-triggered: each batch of events only prompts a look
//! at the files' content hashes, compared with what was last seen (a touch
//! or an identical rewrite does nothing) and with the last good state (the
//! one the service was last restarted with, or found at start).

use crate::actions::{Actions, Done, Failure, SourceKeys};
use crate::debounce::{Batch, Debouncer, Wake};
use crate::files::{Hashes, Role, WatchSet};
use crate::log;
use crate::pacing::Pacing;
use crate::pull::Pulling;
use rotate::config::Config;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use vault::store::{Lock, LockError};

const SOURCE: usize = 0;
/// How often in a row a sync may find the lock taken before giving up.
const LOCKED_RETRIES: usize = 5;

/// The file watcher's thread ended: nothing more will be seen.
#[derive(Debug, thiserror::Error)]
#[error("the file watcher stopped")]
pub(crate) struct WatcherStopped;

/// The watched files' hashes at one moment, and when that was.
#[derive(Clone, Debug)]
struct Observed {
    hashes: Hashes,
    at: Instant,
    wall: SystemTime,
}

impl Observed {
    fn now(set: &WatchSet) -> Observed {
        // Times first: an event from during the hashing counts as later.
        let (at, wall) = (Instant::now(), SystemTime::now());
        Observed {
            hashes: set.hashes(),
            at,
            wall,
        }
    }
}

pub(crate) struct Engine<A: Actions> {
    config: Config,
    set: Arc<WatchSet>,
    actions: A,
    pacing: Pacing,
    /// The files at the last look.
    seen: Observed,
    /// The files the service was last (re)started with: hashed before
    /// the restart, so that an edit made during it is a change of its own.
    good: Observed,
    /// The source's values in the last good state.
    keys: Option<SourceKeys>,
    /// A look deferred by the rate limit.
    deferred: bool,
    /// A restart that failed (restart or verification) and is owed,
    /// with or without daemon-reload.
    retry: Option<bool>,
    /// `[git] pull_every`: the only timer an idle watcher has.
    pull: Option<Pulling>,
    /// The last pull failure logged, so a refused commit is said once,
    /// not every interval.
    pull_said: Option<String>,
}

impl<A: Actions> Engine<A> {
    /// Pull the source's repository on `pulling`'s interval.
    pub(crate) fn pulling(mut self, pulling: Pulling) -> Self {
        self.pull = Some(pulling);
        self
    }

    /// Takes the first look: the state found at start is the good state.
    pub(crate) fn new(config: Config, set: Arc<WatchSet>, mut actions: A, pacing: Pacing) -> Self {
        let start = Observed::now(&set);
        let keys = match read_checked(&mut actions, &config) {
            Ok(keys) => {
                log::info(format!(
                    "source {}: master key {}",
                    config.source.display(),
                    keys.master_fp()
                ));
                Some(keys)
            }
            Err(f) => {
                log::error(format!("{f}; waiting for a valid source"));
                None
            }
        };
        let mut engine = Engine {
            config,
            set,
            actions,
            pacing,
            seen: start.clone(),
            good: start,
            keys,
            deferred: false,
            retry: None,
            pull: None,
            pull_said: None,
        };
        if let Some(keys) = engine.keys.clone() {
            engine.report_drift(&keys, None);
        }
        engine
    }

    pub(crate) fn run(&mut self, events: &Debouncer) -> Result<(), WatcherStopped> {
        loop {
            let pace = (self.deferred || self.retry.is_some()).then(|| {
                self.pacing
                    .wait_until(Instant::now())
                    .unwrap_or_else(Instant::now)
            });
            let pull_at = self.pull.as_ref().map(|p| p.next);
            match events.next(pace.into_iter().chain(pull_at).min()) {
                Wake::Closed => return Err(WatcherStopped),
                Wake::Timer => {
                    let now = Instant::now();
                    if pull_at.is_some_and(|t| t <= now) {
                        self.pull_now();
                    }
                    if pace.is_some_and(|t| t <= now) {
                        self.on_timer();
                    }
                }
                Wake::Batch(batch) => {
                    for e in &batch.errors {
                        log::error(format!("file watcher: {e}"));
                    }
                    self.look(Some(&batch), false);
                }
            }
        }
    }

    /// Pulls; a new source is looked at at once (sync, restart, verify),
    /// without waiting for the file watcher's debounce.
    fn pull_now(&mut self) {
        let Some(pulling) = self.pull.as_mut() else {
            return;
        };
        match pulling.pull() {
            Ok(pulled) if pulled.unchanged() => self.pull_said = None,
            Ok(pulled) => {
                self.pull_said = None;
                log::info(format!(
                    "pulled {} -> {}; source verified (MAC, recipients, keys)",
                    pulled.from, pulled.to
                ));
                self.look(None, false);
            }
            Err(e) => {
                let line = e.to_string();
                if self.pull_said.as_ref() != Some(&line) {
                    log::error(&line);
                    self.pull_said = Some(line);
                }
            }
        }
    }

    fn on_timer(&mut self) {
        if std::mem::take(&mut self.deferred) {
            self.look(None, true);
        }
        if let Some(reload) = self.retry {
            if self.pacing.wait_until(Instant::now()).is_some() {
                return;
            }
            let Some(keys) = self.keys.clone() else {
                self.retry = None;
                return;
            };
            log::info(format!(
                "retrying the restart (attempt {})",
                self.pacing.failures() + 1
            ));
            self.pacing.started(Instant::now());
            // The owed restart is for the files last accepted; a change
            // since then gets its own look.
            let before = self.good.clone();
            let result = self.actions.restart_and_verify(reload, &keys);
            self.finish(result, reload, &keys, before);
        }
    }

    /// Compares the files with the last look and the last good state, and
    /// acts on what changed. `force`: look even if nothing changed since.
    fn look(&mut self, batch: Option<&Batch>, mut force: bool) {
        for _ in 0..LOCKED_RETRIES {
            self.wait_for_rotation();
            let now = Observed::now(&self.set);
            if let Some(batch) = batch {
                for (&i, &at) in &batch.files {
                    if now.hashes.0[i] == self.seen.hashes.0[i] && at > self.seen.at {
                        log::info(format!("{}: same content; nothing to do", self.set.name(i)));
                    }
                }
            }
            if now.hashes == self.seen.hashes && !force && !batch.is_some_and(|b| b.rescan) {
                return;
            }
            let was_off = self.seen.hashes != self.good.hashes;
            self.seen = now.clone();
            let changed = now.hashes.changed_since(&self.good.hashes);
            if changed.is_empty() {
                if was_off {
                    log::info("the files are back to the last good state; nothing to do");
                }
                return;
            }
            if self.pacing.wait_until(Instant::now()).is_some() {
                self.postpone();
                return;
            }
            let result = if changed.contains(&SOURCE) {
                self.source_changed(&now)
            } else {
                self.sinks_changed(&changed, &now)
            };
            match result {
                // Look again once the rotation is done, even though the
                // files were already seen.
                Err(Failure::Locked) => force = true,
                _ => return,
            }
        }
        log::error(
            "the source's lock stayed taken by rotations; will look again on the next change",
        );
    }

    /// `now`: the files as hashed before the source was read.
    fn source_changed(&mut self, now: &Observed) -> Result<(), Failure> {
        let source = self.config.source.clone();
        let keys = match read_checked(&mut self.actions, &self.config) {
            Ok(keys) => keys,
            Err(f) => {
                log::error(format!(
                    "{f}; keeping the last good state (master key {}), not restarting",
                    self.good_fp()
                ));
                return Ok(());
            }
        };
        log::info(format!(
            "{} changed: master key {} → {}",
            source.display(),
            self.good_fp(),
            keys.master_fp()
        ));
        let unchanged = self.keys.as_ref().is_some_and(|k| k.values == keys.values);
        if unchanged && !self.any_drift(&keys) {
            log::info("none of the values the service uses changed; not restarting");
            self.accept(keys, now.clone());
            return Ok(());
        }
        if self.rotation_verified(&keys) {
            log::info(format!(
                "a rotation already restarted the service and verified master key {}; not restarting",
                keys.master_fp()
            ));
            self.accept(keys, now.clone());
            return Ok(());
        }
        self.pacing.started(Instant::now());
        // The sync may rewrite a systemd-env sink, which reaches the
        // service only through a daemon-reload.
        let reload = self
            .config
            .sinks
            .iter()
            .any(|s| s.kind.needs_daemon_reload());
        match self.actions.sync() {
            Ok(()) => {}
            Err(Failure::Locked) => {
                log::info("a rotation took the lock during the sync; waiting for it");
                return Err(Failure::Locked);
            }
            Err(f) => {
                self.finish(Err(f), reload, &keys, now.clone());
                return Ok(());
            }
        }
        // The sinks as the sync left them, hashed before the restart (an
        // edit from now on is a change of its own); the source as read.
        let mut before = Observed::now(&self.set);
        before.hashes.0[SOURCE] = now.hashes.0[SOURCE];
        let result = self.actions.restart_and_verify(reload, &keys);
        self.finish(result, reload, &keys, before);
        Ok(())
    }

    /// `now`: the files as hashed before anything was read.
    fn sinks_changed(&mut self, changed: &[usize], now: &Observed) -> Result<(), Failure> {
        let keys = match &self.keys {
            Some(keys) => keys.clone(),
            None => match read_checked(&mut self.actions, &self.config) {
                Ok(keys) => keys,
                Err(f) => {
                    log::error(format!(
                        "{f}; cannot check the changed sinks against it, not restarting"
                    ));
                    return Ok(());
                }
            },
        };
        if self.report_drift(&keys, Some(changed)) {
            return Ok(());
        }
        let sinks: Vec<_> = changed
            .iter()
            .filter_map(|&i| match self.set.files[i].role {
                Role::Sink(s) => Some(self.config.sinks[s].clone()),
                Role::Source => None,
            })
            .collect();
        let reload = sinks.iter().any(|s| s.kind.needs_daemon_reload());
        let names: Vec<String> = sinks.iter().map(|s| s.path.display().to_string()).collect();
        log::info(format!(
            "{} changed by someone else{}; restarting",
            names.join(", "),
            if reload { " (daemon-reload first)" } else { "" }
        ));
        self.pacing.started(Instant::now());
        let result = self.actions.restart_and_verify(reload, &keys);
        self.finish(result, reload, &keys, now.clone());
        Ok(())
    }

    /// Logs the outcome of a restart; on failure, owes a retry after a
    /// backoff. `before`: the files as hashed before the restart, what it
    /// applied.
    fn finish(
        &mut self,
        result: Result<Done, Failure>,
        reload: bool,
        keys: &SourceKeys,
        before: Observed,
    ) {
        match result {
            Ok(done) => {
                self.pacing.succeeded();
                self.retry = None;
                log::info(match done {
                    Done::Verified => format!(
                        "restarted; the gateway accepts master key {}",
                        keys.master_fp()
                    ),
                    Done::Restarted => "restarted (verification off)".to_string(),
                    Done::NoService => "service manager is none: nothing restarted".to_string(),
                });
                self.accept(keys.clone(), before);
            }
            Err(f) if f.wants_retry() => {
                let delay = self.pacing.failed();
                log::error(format!(
                    "{f}; retrying in {}s (backoff after {} failure{})",
                    delay.as_secs(),
                    self.pacing.failures(),
                    if self.pacing.failures() == 1 { "" } else { "s" }
                ));
                // The files are as wanted; only the restart is owed.
                self.accept(keys.clone(), before);
                self.retry = Some(reload);
            }
            Err(f) => log::error(format!("{f}; will try again on the next change")),
        }
    }

    /// Logs every service-facing sink (or those in `only`) that contradicts
    /// the source; returns whether any does. Such a sink is left as it is:
    /// `litekeys-rotate sync` settles it.
    fn report_drift(&mut self, keys: &SourceKeys, only: Option<&[usize]>) -> bool {
        let mut any = false;
        for (i, f) in self.set.files.iter().enumerate() {
            let Role::Sink(s) = f.role else { continue };
            if only.is_some_and(|o| !o.contains(&i)) {
                continue;
            }
            for d in self.actions.drift(&self.config.sinks[s], keys) {
                any = true;
                log::warn(format!(
                    "drift: {} {} is {}, the source has {}; left as is (run `litekeys-rotate sync`), not restarting",
                    f.path.display(),
                    d.key,
                    d.sink_fp.as_deref().unwrap_or("missing"),
                    d.source_fp
                ));
            }
        }
        any
    }

    /// Did a rotation commit this master key, restart and verify it, after
    /// our last good state, with every service-facing sink in step?
    fn rotation_verified(&mut self, keys: &SourceKeys) -> bool {
        let state = &self.config.state_dir;
        let (Some(commit), Some(written)) =
            (rotate::audit::last(state), rotate::audit::written(state))
        else {
            return false;
        };
        if written <= self.good.wall || !commit.verified || !commit.sets(&keys.master_fp()) {
            return false;
        }
        !self.any_drift(keys)
    }

    /// Does any service-facing sink contradict `keys`? (Nothing logged.)
    fn any_drift(&mut self, keys: &SourceKeys) -> bool {
        let config = &self.config;
        let actions = &mut self.actions;
        config
            .sinks
            .iter()
            .filter(|s| s.kind.feeds_service())
            .any(|s| !actions.drift(s, keys).is_empty())
    }

    /// While a rotation holds the source's lock, wait for it to finish.
    fn wait_for_rotation(&self) {
        let source = &self.config.source;
        if !vault::store::lock_path(source).exists() {
            return; // no rotation ever ran here
        }
        match Lock::acquire(source, false) {
            Ok(_held) => {}
            Err(LockError::Busy(_)) => {
                log::info("a rotation holds the source's lock; waiting for it to finish");
                match Lock::acquire(source, true) {
                    Ok(_held) => log::info("the rotation finished"),
                    Err(e) => log::warn(format!("{e}")),
                }
            }
            Err(e) => log::warn(format!("{e}; not waiting for rotations")),
        }
    }

    fn postpone(&mut self) {
        if !self.deferred {
            let wait = self.pacing.wait_until(Instant::now()).map_or(0, |t| {
                t.saturating_duration_since(Instant::now()).as_millis()
            });
            log::info(format!(
                "change postponed {wait} ms: at most one restart per {:?}",
                self.pacing.min_interval
            ));
        }
        self.deferred = true;
    }

    /// `files` becomes the good state, with `keys`. Never hashed again
    /// here: what changed after `files` was taken is still to be seen.
    fn accept(&mut self, keys: SourceKeys, files: Observed) {
        self.seen = files.clone();
        self.good = files;
        self.keys = Some(keys);
    }

    fn good_fp(&self) -> String {
        self.keys
            .as_ref()
            .map_or_else(|| "none".into(), SourceKeys::master_fp)
    }
}

/// The source's values, decrypted with the MAC verified, and its gateway
/// keys plausible (rotate's check; an empty `LITELLM_MASTER_KEY=` line
/// passes the MAC): nothing is synced or restarted on anything else.
fn read_checked<A: Actions>(actions: &mut A, config: &Config) -> Result<SourceKeys, Failure> {
    let keys = actions.read_source(&config.source)?;
    match keys.implausible(&rotate::gateway_key_names(config)) {
        None => Ok(keys),
        Some(key) => Err(Failure::Implausible {
            path: config.source.clone(),
            key,
        }),
    }
}

#[cfg(test)]
mod tests;
