//! The one-line spinner on stderr while the gateway comes up: only when
//! stderr is a terminal, erased when the wait is over.

use rotate::gateway::Progress;
use std::io::{IsTerminal, Write};
use std::time::Duration;

pub(crate) struct Spinner {
    on: bool,
    frame: usize,
}

impl Spinner {
    pub(crate) fn new() -> Self {
        Spinner {
            on: std::io::stderr().is_terminal(),
            frame: 0,
        }
    }
}

impl Progress for Spinner {
    fn waiting(&mut self, what: &str, elapsed: Duration) {
        if !self.on {
            return;
        }
        let frames = ['|', '/', '-', '\\'];
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {what} ({:.1} s)",
            frames[self.frame % frames.len()],
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
        self.frame += 1;
    }

    fn finished(&mut self) {
        if self.on && self.frame > 0 {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.frame = 0;
        }
    }
}
