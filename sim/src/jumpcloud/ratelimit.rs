//! A fixed-window rate limit per API key.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// At most `max` requests per API key in each `window`; past that, `429 Too Many Requests`.
///
/// JumpCloud documents neither a number nor a `Retry-After` header, so both are knobs: the
/// simulator sends `Retry-After` (whole seconds until the window resets, at least 1) unless
/// [`RateLimit::without_retry_after`] is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max: u32,
    window: Duration,
    retry_after_header: bool,
}

impl RateLimit {
    /// `max` requests per `window` per key.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            retry_after_header: true,
        }
    }

    /// `max` requests per second per key.
    pub fn per_second(max: u32) -> Self {
        Self::new(max, Duration::from_secs(1))
    }

    /// `max` requests per minute per key.
    pub fn per_minute(max: u32) -> Self {
        Self::new(max, Duration::from_secs(60))
    }

    /// Answers `429` without a `Retry-After` header.
    pub fn without_retry_after(mut self) -> Self {
        self.retry_after_header = false;
        self
    }

    /// Whether `429` answers carry `Retry-After`.
    pub fn sends_retry_after(&self) -> bool {
        self.retry_after_header
    }
}

/// The limiter's state: one window per key. Time is passed in, so tests drive it directly.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    limit: Option<RateLimit>,
    windows: HashMap<String, (Instant, u32)>,
}

impl Limiter {
    pub(crate) fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            windows: HashMap::new(),
        }
    }

    pub(crate) fn set_limit(&mut self, limit: Option<RateLimit>) {
        self.limit = limit;
        self.windows.clear();
    }

    pub(crate) fn limit(&self) -> Option<RateLimit> {
        self.limit
    }

    /// Counts one request for `key` at `now`; `Err(wait)` when over the limit, with the time
    /// until the key's window resets.
    pub(crate) fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let (start, count) = self.windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= limit.window {
            *start = now;
            *count = 0;
        }
        if *count >= limit.max {
            return Err(limit.window.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

/// `Retry-After` seconds for a wait: rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_admits_max_then_refuses_until_it_resets() {
        let start = Instant::now();
        let mut limiter = Limiter::new(Some(RateLimit::new(2, Duration::from_secs(10))));
        assert_eq!(limiter.check("k", start), Ok(()));
        assert_eq!(limiter.check("k", start + Duration::from_secs(1)), Ok(()));
        assert_eq!(
            limiter.check("k", start + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        // Another key has its own window.
        assert_eq!(
            limiter.check("other", start + Duration::from_secs(4)),
            Ok(())
        );
        // The window resets after 10 s.
        assert_eq!(limiter.check("k", start + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn no_limit_admits_everything_and_changing_the_limit_resets_windows() {
        let now = Instant::now();
        let mut limiter = Limiter::new(None);
        for _ in 0..1000 {
            assert_eq!(limiter.check("k", now), Ok(()));
        }
        limiter.set_limit(Some(RateLimit::per_second(1)));
        assert_eq!(limiter.check("k", now), Ok(()));
        assert!(limiter.check("k", now).is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}
