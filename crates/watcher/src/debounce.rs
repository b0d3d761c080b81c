//! Filesystem events → batches: act once nothing changed for `quiet`, or
//! `max` after the first change of a burst.
//!
//! notify-debouncer-full is not used: its timer thread sleeps one tick
//! (a quarter of the timeout) in a loop for as long as it runs, i.e. wakes
//! 8 times a second with the 500 ms default even when nothing happens, and
//! it times each event on its own rather than waiting for a quiet period.
//! Here an idle watcher blocks in `recv()` and never wakes.

use crate::config::Debounce;
use crate::files::WatchSet;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Instant;

pub enum Msg {
    /// A watched file (index into `WatchSet::files`) may have changed.
    Changed(usize, Instant),
    /// The kernel queue overflowed: anything may have changed.
    Rescan,
    Error(String),
}

/// What woke the watcher.
pub enum Wake {
    Batch(Batch),
    Timer,
    Closed,
}

#[derive(Default)]
pub struct Batch {
    /// File index → time of its last event.
    pub files: BTreeMap<usize, Instant>,
    pub rescan: bool,
    pub errors: Vec<String>,
}

impl Batch {
    fn add(&mut self, msg: Msg) {
        match msg {
            Msg::Changed(i, at) => {
                self.files.insert(i, at);
            }
            Msg::Rescan => self.rescan = true,
            Msg::Error(e) => self.errors.push(e),
        }
    }
}

pub struct Debouncer {
    rx: Receiver<Msg>,
    settings: Debounce,
    // Dropping the watcher stops its thread; keep it for our lifetime.
    _watcher: RecommendedWatcher,
}

impl Debouncer {
    /// Watches every directory of `set` (non-recursively), forwarding only
    /// events about the watched names.
    pub fn start(set: Arc<WatchSet>, settings: Debounce) -> Result<Debouncer, String> {
        let (tx, rx) = channel();
        let handler_set = Arc::clone(&set);
        let mut watcher = notify::recommended_watcher(move |res| forward(&handler_set, &tx, res))
            .map_err(|e| format!("cannot start the file watcher: {e}"))?;
        for dir in set.dirs() {
            if !dir.is_dir() {
                crate::log::warn(format!(
                    "{}: no such directory; changes there are not seen until litekeys-watch restarts",
                    dir.display()
                ));
                continue;
            }
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        }
        Ok(Debouncer {
            rx,
            settings,
            _watcher: watcher,
        })
    }

    /// Blocks until a batch is complete, or `timer` passes first.
    pub fn next(&self, timer: Option<Instant>) -> Wake {
        let first = match timer {
            None => match self.rx.recv() {
                Ok(m) => m,
                Err(_) => return Wake::Closed,
            },
            Some(t) => match self
                .rx
                .recv_timeout(t.saturating_duration_since(Instant::now()))
            {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => return Wake::Timer,
                Err(RecvTimeoutError::Disconnected) => return Wake::Closed,
            },
        };
        let start = Instant::now();
        let mut last = start;
        let mut batch = Batch::default();
        batch.add(first);
        loop {
            let deadline = (last + self.settings.quiet).min(start + self.settings.max);
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match self.rx.recv_timeout(deadline - now) {
                Ok(m) => {
                    batch.add(m);
                    last = Instant::now();
                }
                Err(_) => break,
            }
        }
        Wake::Batch(batch)
    }
}

fn forward(set: &WatchSet, tx: &Sender<Msg>, res: notify::Result<notify::Event>) {
    let now = Instant::now();
    let event = match res {
        Ok(e) => e,
        Err(e) => {
            let _ = tx.send(Msg::Error(e.to_string()));
            return;
        }
    };
    if event.need_rescan() {
        let _ = tx.send(Msg::Rescan);
        return;
    }
    // Opening or reading a file (ours included: we hash them) changes
    // nothing; closing a file opened for writing does.
    if let EventKind::Access(kind) = event.kind {
        if kind != AccessKind::Close(AccessMode::Write) {
            return;
        }
    }
    for path in &event.paths {
        for i in set.lookup(path) {
            let _ = tx.send(Msg::Changed(i, now));
        }
    }
}
