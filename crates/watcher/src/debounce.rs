//! Filesystem events → batches: act once nothing changed for `quiet`, or
//! `max` after the first change of a burst.
//!
//! notify-debouncer-full is not used: its timer thread sleeps one tick
//! (a quarter of the timeout) in a loop for as long as it runs, i.e. wakes
//! 8 times a second with the 500 ms default even when nothing happens, and
//! it times each event on its own rather than waiting for a quiet period.
//! Here an idle watcher blocks in `recv()` and never wakes.

use crate::files::WatchSet;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

/// Not in litekeys.toml (`litekeys-rotate` rejects unknown tables): set by
/// command-line flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Debounce {
    /// Act once nothing changed for this long…
    pub(crate) quiet: Duration,
    /// …or this long after the first change, whichever comes first.
    pub(crate) max: Duration,
}

impl Default for Debounce {
    fn default() -> Self {
        Debounce {
            quiet: Duration::from_millis(500),
            max: Duration::from_secs(5),
        }
    }
}

pub(crate) enum Msg {
    /// A watched file (index into `WatchSet::files`) may have changed.
    Changed(usize, Instant),
    /// The kernel queue overflowed: anything may have changed.
    Rescan,
    Error(String),
}

/// What woke the watcher.
pub(crate) enum Wake {
    Batch(Batch),
    Timer,
    Closed,
}

#[derive(Default)]
pub(crate) struct Batch {
    /// File index → time of its last event.
    pub(crate) files: BTreeMap<usize, Instant>,
    pub(crate) rescan: bool,
    pub(crate) errors: Vec<String>,
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

/// The file watcher could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("cannot start the file watcher: {0}")]
    Start(#[source] notify::Error),
    #[error("cannot watch {}: {source}", dir.display())]
    Watch {
        dir: std::path::PathBuf,
        source: notify::Error,
    },
}

pub(crate) struct Debouncer {
    rx: Receiver<Msg>,
    settings: Debounce,
    // Dropping the watcher stops its thread; keep it for our lifetime.
    _watcher: Option<RecommendedWatcher>,
}

impl Debouncer {
    /// Watches every directory of `set` (non-recursively), forwarding only
    /// events about the watched names.
    pub(crate) fn start(set: Arc<WatchSet>, settings: Debounce) -> Result<Debouncer, SetupError> {
        let (tx, rx) = channel();
        let handler_set = Arc::clone(&set);
        let mut watcher = notify::recommended_watcher(move |res| forward(&handler_set, &tx, res))
            .map_err(SetupError::Start)?;
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
                .map_err(|source| SetupError::Watch {
                    dir: dir.to_path_buf(),
                    source,
                })?;
        }
        Ok(Debouncer {
            rx,
            settings,
            _watcher: Some(watcher),
        })
    }

    /// Batches whatever arrives on `rx` (tests feed it directly).
    #[cfg(test)]
    fn from_channel(rx: Receiver<Msg>, settings: Debounce) -> Debouncer {
        Debouncer {
            rx,
            settings,
            _watcher: None,
        }
    }

    /// Blocks until a batch is complete, or `timer` passes first.
    pub(crate) fn next(&self, timer: Option<Instant>) -> Wake {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn batches(rx: Receiver<Msg>, settings: Debounce) -> Vec<Batch> {
        let d = Debouncer::from_channel(rx, settings);
        let mut out = Vec::new();
        while let Wake::Batch(b) = d.next(None) {
            out.push(b);
        }
        out
    }

    #[test]
    fn a_burst_is_one_batch() {
        let (tx, rx) = channel();
        for i in 0..20 {
            tx.send(Msg::Changed(i % 2, Instant::now())).unwrap();
        }
        drop(tx);
        let settings = Debounce {
            quiet: Duration::from_millis(50),
            max: Duration::from_secs(5),
        };
        let got = batches(rx, settings);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].files.keys().copied().collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn an_endless_stream_is_cut_at_max() {
        let (tx, rx) = channel();
        // Events every 20 ms for 1.5 s never leave a 400 ms quiet gap, so
        // only the 300 ms cap can end a batch (a quiet-only debounce would
        // give one): about five of them.
        let feeder = std::thread::spawn(move || {
            for _ in 0..75 {
                tx.send(Msg::Changed(0, Instant::now())).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let settings = Debounce {
            quiet: Duration::from_millis(400),
            max: Duration::from_millis(300),
        };
        let got = batches(rx, settings);
        feeder.join().unwrap();
        assert!(got.len() >= 3, "{} batches", got.len());
    }

    #[test]
    fn a_timer_wakes_an_idle_watcher() {
        let (tx, rx) = channel::<Msg>();
        let d = Debouncer::from_channel(rx, Debounce::default());
        assert!(matches!(d.next(Some(Instant::now())), Wake::Timer));
        drop(tx);
        assert!(matches!(d.next(None), Wake::Closed));
    }
}
