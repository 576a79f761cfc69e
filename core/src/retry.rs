//! The one retry rule every Passdesk client follows.
//!
//! [`RetryPolicy::decide`] is a pure function of (operation kind, outcome, attempt, time already
//! waited, a jitter sample), so the whole rule is visible in one table of tests below. Clients
//! feed it what happened and sleep for what it returns; they never decide on their own.
//!
//! The rules:
//! - a `429` may be retried for every kind of operation: the server refused it before acting.
//!   `Retry-After` is honoured when present; without it (JumpCloud documents neither a limit nor
//!   the header) the client backs off exponentially with jitter;
//! - a request that never reached the server (connection refused, DNS) may be retried for every
//!   kind;
//! - reads, and writes that are idempotent in effect (expiring a password twice leaves it
//!   expired), are retried on `5xx`, timeouts and broken connections;
//! - a write that is *not* idempotent (the reset mail) is never resent once the server may have
//!   acted on it: the decision is [`Decision::Unknown`], and the caller reports that outcome
//!   instead of mailing a user twice;
//! - attempts and the total wait are bounded.

use std::time::Duration;

/// What a request does to the upstream, as far as retries are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// Reads nothing but state: safe to repeat.
    Read,
    /// Changes state, but repeating it changes nothing more (e.g. expiring a password).
    IdempotentWrite,
    /// Changes state and repeating it repeats the effect (e.g. sending a mail).
    Write,
}

/// What one attempt ended with, in the terms the rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `429 Too Many Requests`, with the server's `Retry-After` when it sent one.
    RateLimited {
        /// The delay the server asked for.
        retry_after: Option<Duration>,
    },
    /// A `5xx` answer: the server may or may not have acted.
    ServerError {
        /// The HTTP status.
        status: u16,
    },
    /// The connection could not be made: the request never left this host.
    NotSent,
    /// Timed out, or the connection broke, after the request was sent.
    LostAfterSend,
}

/// What the client does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
    /// Stop and report the last outcome as the error.
    GiveUp,
    /// Stop: the server may have acted, so the outcome is unknown and must be reported as such.
    Unknown,
}

/// Bounds and pacing for retries. Built with [`RetryPolicy::default`] and the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_total_wait: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 250 ms doubling to at most 8 s, at most 30 s of waiting in all.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (each request is tried once).
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How many attempts in all (the first included); at least 1.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff delay; later ones double, up to [`Self::with_max_delay`].
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest single backoff delay (a longer `Retry-After` is still honoured while it fits
    /// the total budget).
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The most time one request may spend waiting between attempts.
    pub fn with_max_total_wait(mut self, wait: Duration) -> Self {
        self.max_total_wait = wait;
        self
    }

    /// The number of attempts this policy allows.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Decides what follows attempt number `attempt` (1-based) of an operation of `kind` that
    /// ended with `outcome`, after `waited` time spent in earlier backoffs. `jitter` is a sample
    /// from `[0, 1)`; the backoff without `Retry-After` lies in `[d/2, d)` for the capped
    /// exponential delay `d`.
    pub fn decide(
        &self,
        kind: OperationKind,
        outcome: Outcome,
        attempt: u32,
        waited: Duration,
        jitter: f64,
    ) -> Decision {
        let retryable = match (kind, outcome) {
            (_, Outcome::RateLimited { .. } | Outcome::NotSent) => true,
            (OperationKind::Read | OperationKind::IdempotentWrite, _) => true,
            (OperationKind::Write, Outcome::ServerError { .. } | Outcome::LostAfterSend) => {
                return Decision::Unknown;
            }
        };
        if !retryable || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        let delay = match outcome {
            Outcome::RateLimited {
                retry_after: Some(after),
            } => after,
            _ => self.backoff(attempt, jitter),
        };
        if waited.saturating_add(delay) > self.max_total_wait {
            return Decision::GiveUp;
        }
        Decision::RetryAfter(delay)
    }

    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = jitter.clamp(0.0, 1.0);
        full.mul_f64(0.5 + jitter / 2.0)
    }
}

/// A jitter sample for [`RetryPolicy::decide`].
pub fn jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use OperationKind::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(4)
            .with_base_delay(MS(100))
            .with_max_delay(MS(1_000))
            .with_max_total_wait(MS(5_000))
    }

    #[test]
    fn decision_table() {
        let rate_limited = |ms| Outcome::RateLimited {
            retry_after: Some(MS(ms)),
        };
        let no_header = Outcome::RateLimited { retry_after: None };
        let e500 = Outcome::ServerError { status: 500 };
        let e503 = Outcome::ServerError { status: 503 };
        #[rustfmt::skip]
        let table: &[(OperationKind, Outcome, u32, u64, f64, Decision)] = &[
            // kind, outcome, attempt, waited ms, jitter, decision
            (Read, rate_limited(700), 1, 0, 0.3, RetryAfter(MS(700))),
            (Write, rate_limited(700), 1, 0, 0.3, RetryAfter(MS(700))),
            (IdempotentWrite, rate_limited(700), 1, 0, 0.3, RetryAfter(MS(700))),
            // Retry-After longer than the remaining budget: give up rather than overrun it.
            (Read, rate_limited(4_900), 2, 200, 0.0, GiveUp),
            // No Retry-After: capped exponential with jitter in [d/2, d).
            (Write, no_header, 1, 0, 0.0, RetryAfter(MS(50))),
            (Write, no_header, 2, 0, 0.0, RetryAfter(MS(100))),
            (Write, no_header, 3, 0, 0.999_999, RetryAfter(Duration::from_nanos(399_999_800))),
            (Read, no_header, 1, 0, 0.5, RetryAfter(MS(75))),
            // 5xx: reads and idempotent writes retry, a mail is never resent.
            (Read, e500, 1, 0, 0.0, RetryAfter(MS(50))),
            (Read, e503, 3, 0, 0.0, RetryAfter(MS(200))),
            (IdempotentWrite, e503, 1, 0, 0.0, RetryAfter(MS(50))),
            (Write, e500, 1, 0, 0.0, Unknown),
            (Write, e503, 1, 0, 0.0, Unknown),
            // Lost after send: same split.
            (Read, Outcome::LostAfterSend, 1, 0, 0.0, RetryAfter(MS(50))),
            (Write, Outcome::LostAfterSend, 1, 0, 0.0, Unknown),
            // Never sent: safe for everyone.
            (Write, Outcome::NotSent, 1, 0, 0.0, RetryAfter(MS(50))),
            // Attempts are bounded…
            (Read, e500, 4, 0, 0.0, GiveUp),
            (Write, no_header, 4, 0, 0.0, GiveUp),
            // …but a mail that may have gone out is still unknown, not a plain failure.
            (Write, e500, 4, 0, 0.0, Unknown),
            // …and so is the total wait.
            (Read, e500, 2, 4_990, 0.0, GiveUp),
        ];
        for (i, &(kind, outcome, attempt, waited, jitter, want)) in table.iter().enumerate() {
            let got = policy().decide(kind, outcome, attempt, MS(waited), jitter);
            assert_eq!(got, want, "row {i}: {kind:?} {outcome:?} attempt {attempt}");
        }
    }

    #[test]
    fn backoff_is_capped() {
        let p = policy()
            .with_max_attempts(100)
            .with_max_total_wait(Duration::MAX);
        let Decision::RetryAfter(d) = p.decide(Read, Outcome::NotSent, 60, Duration::ZERO, 0.999)
        else {
            panic!("expected a retry");
        };
        assert!(d <= MS(1_000), "{d:?}");
        assert!(d >= MS(500), "{d:?}");
    }

    #[test]
    fn none_never_retries() {
        let d = RetryPolicy::none().decide(Read, Outcome::NotSent, 1, Duration::ZERO, 0.0);
        assert_eq!(d, GiveUp);
    }
}
