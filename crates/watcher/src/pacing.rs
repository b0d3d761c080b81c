//! When the next restart may start: at most one per `min_interval`, and
//! after failed verifications an exponential backoff (doubling, capped).

use std::time::{Duration, Instant};

pub(crate) struct Pacing {
    pub(crate) min_interval: Duration,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_max: Duration,
    last_restart: Option<Instant>,
    failures: u32,
}

impl Pacing {
    pub(crate) fn new(
        min_interval: Duration,
        backoff_base: Duration,
        backoff_max: Duration,
    ) -> Pacing {
        Pacing {
            min_interval,
            backoff_base,
            backoff_max,
            last_restart: None,
            failures: 0,
        }
    }

    /// `None` when a restart may start now.
    pub(crate) fn wait_until(&self, now: Instant) -> Option<Instant> {
        let last = self.last_restart?;
        let gap = self.min_interval.max(self.backoff());
        let at = last + gap;
        (at > now).then_some(at)
    }

    pub(crate) fn started(&mut self, now: Instant) {
        self.last_restart = Some(now);
    }

    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Records a failure; returns the delay before the next attempt.
    pub(crate) fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.backoff()
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    fn backoff(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (self.failures - 1).min(20);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_then_doubling_backoff_capped() {
        let s = Duration::from_secs;
        let mut p = Pacing::new(s(10), s(5), s(60));
        let t0 = Instant::now();
        assert_eq!(p.wait_until(t0), None);
        p.started(t0);
        assert_eq!(p.wait_until(t0), Some(t0 + s(10)));
        assert_eq!(p.failed(), s(5));
        assert_eq!(p.wait_until(t0), Some(t0 + s(10)), "rate limit dominates");
        assert_eq!(p.failed(), s(10));
        assert_eq!(p.failed(), s(20));
        assert_eq!(p.wait_until(t0), Some(t0 + s(20)));
        for _ in 0..10 {
            p.failed();
        }
        assert_eq!(p.wait_until(t0), Some(t0 + s(60)), "capped");
        p.succeeded();
        assert_eq!(p.wait_until(t0 + s(11)), None);
    }
}
