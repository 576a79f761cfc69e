//! Fault injection (make the next calls of a method fail as Slack does, wait, or drop the
//! connection) and the optional per-tier rate limits.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;

use super::error::Answer;
use super::routes::Endpoint;

/// A fault for the next `times` requests to an endpoint (once by default).
///
/// ```
/// use std::time::Duration;
/// use passdesk_sim::slack::{Endpoint, Fault};
/// let down = Fault::error(Endpoint::ChatPostMessage, "internal_error").times(2);
/// let limited = Fault::rate_limited(Endpoint::UsergroupsUsersList, Duration::from_secs(7));
/// let slow = Fault::delay(Endpoint::ViewsOpen, Duration::from_secs(4));
/// let gone = Fault::disconnect(Endpoint::ResponseUrl);
/// # let _ = (down, limited, slow, gone);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    endpoint: Option<Endpoint>,
    action: Action,
    remaining: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Respond(Answer),
    Delay(Duration),
}

impl Fault {
    /// `200 {"ok": false, "error": code}`, e.g. `internal_error`, `fatal_error`,
    /// `request_timeout`, `token_revoked`, `account_inactive`.
    pub fn error(endpoint: Endpoint, code: &str) -> Self {
        Self::new(Some(endpoint), Action::Respond(Answer::error(code)))
    }

    /// A bare HTTP status with an empty body (e.g. `500`, `503`); a status outside
    /// `100..=999` becomes `500`.
    pub fn status(endpoint: Endpoint, status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(Some(endpoint), Action::Respond(Answer::status(status)))
    }

    /// `429`, `Retry-After` in whole seconds (rounded up, at least 1) and
    /// `{"ok": false, "error": "ratelimited"}`.
    pub fn rate_limited(endpoint: Endpoint, retry_after: Duration) -> Self {
        Self::new(
            Some(endpoint),
            Action::Respond(Answer::rate_limited(retry_after)),
        )
    }

    /// Wait `delay`, then handle the request normally.
    pub fn delay(endpoint: Endpoint, delay: Duration) -> Self {
        Self::new(Some(endpoint), Action::Delay(delay))
    }

    /// Drop the connection without a complete answer (the request is not handled: nothing
    /// changes).
    pub fn disconnect(endpoint: Endpoint) -> Self {
        Self::new(Some(endpoint), Action::Respond(Answer::disconnect()))
    }

    /// Apply to every endpoint instead of one (the first matching fault wins).
    #[must_use]
    pub fn everywhere(mut self) -> Self {
        self.endpoint = None;
        self
    }

    /// Apply to the next `times` matching requests.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.remaining = times;
        self
    }

    fn new(endpoint: Option<Endpoint>, action: Action) -> Self {
        Self {
            endpoint,
            action,
            remaining: 1,
        }
    }
}

/// The pending faults, first match wins.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<Fault>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault) {
        if fault.remaining > 0 {
            self.faults.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    /// Takes one use of the first fault matching this request.
    pub(crate) fn take(&mut self, endpoint: Option<Endpoint>) -> Option<Action> {
        let index = self
            .faults
            .iter()
            .position(|fault| fault.endpoint.is_none() || fault.endpoint == endpoint)?;
        let fault = self.faults.get_mut(index)?;
        fault.remaining = fault.remaining.saturating_sub(1);
        let action = fault.action.clone();
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }
}

/// How many calls a window allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    pub(crate) calls: usize,
    pub(crate) window: Duration,
}

impl Limit {
    pub(crate) const fn per_minute(calls: usize) -> Self {
        Self {
            calls,
            window: Duration::from_secs(60),
        }
    }
}

/// Sliding-window counters per (team, endpoint, channel), on the fake's clock.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    pub(crate) enabled: bool,
    calls: HashMap<(String, Endpoint, String), VecDeque<Instant>>,
}

impl RateLimiter {
    /// Counts a call, or says how long until the window has room again.
    pub(crate) fn check(
        &mut self,
        team: &str,
        endpoint: Endpoint,
        channel: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        let Some(limit) = endpoint.limit() else {
            return Ok(());
        };
        // Posting is limited per channel; every other method per workspace.
        let channel = if endpoint == Endpoint::ChatPostMessage {
            channel.unwrap_or_default().to_owned()
        } else {
            String::new()
        };
        let calls = self
            .calls
            .entry((team.to_owned(), endpoint, channel))
            .or_default();
        while calls
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= limit.window)
        {
            calls.pop_front();
        }
        if calls.len() >= limit.calls {
            let oldest = calls.front().copied().unwrap_or(now);
            return Err(limit
                .window
                .saturating_sub(now.saturating_duration_since(oldest)));
        }
        calls.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_the_given_number_of_times_on_its_endpoint_only() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::error(Endpoint::ChatPostMessage, "internal_error").times(2));
        assert_eq!(queue.take(Some(Endpoint::ChatUpdate)), None);
        for _ in 0..2 {
            match queue.take(Some(Endpoint::ChatPostMessage)) {
                Some(Action::Respond(answer)) => {
                    assert_eq!(answer.error_code().as_deref(), Some("internal_error"));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(queue.take(Some(Endpoint::ChatPostMessage)), None);
    }

    #[test]
    fn an_everywhere_fault_matches_any_endpoint() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(Endpoint::AuthTest, 503).everywhere());
        assert!(queue.take(Some(Endpoint::ResponseUrl)).is_some());
        assert!(queue.take(None).is_none());
    }

    #[test]
    fn tier_two_allows_twenty_calls_a_minute_then_says_when() {
        let mut limiter = RateLimiter {
            enabled: true,
            ..RateLimiter::default()
        };
        let start = Instant::now();
        for i in 0..20 {
            let at = start + Duration::from_secs(i);
            assert_eq!(
                limiter.check("T1", Endpoint::UsergroupsUsersList, None, at),
                Ok(())
            );
        }
        let at = start + Duration::from_secs(30);
        assert_eq!(
            limiter.check("T1", Endpoint::UsergroupsUsersList, None, at),
            Err(Duration::from_secs(30))
        );
        // Another workspace has its own budget.
        assert_eq!(
            limiter.check("T2", Endpoint::UsergroupsUsersList, None, at),
            Ok(())
        );
        // A minute after the first call there is room again.
        let later = start + Duration::from_secs(60);
        assert_eq!(
            limiter.check("T1", Endpoint::UsergroupsUsersList, None, later),
            Ok(())
        );
    }

    #[test]
    fn posting_is_limited_per_channel() {
        let mut limiter = RateLimiter {
            enabled: true,
            ..RateLimiter::default()
        };
        let now = Instant::now();
        let limit = Endpoint::ChatPostMessage.limit().unwrap();
        for _ in 0..limit.calls {
            assert!(
                limiter
                    .check("T1", Endpoint::ChatPostMessage, Some("C1"), now)
                    .is_ok()
            );
        }
        assert!(
            limiter
                .check("T1", Endpoint::ChatPostMessage, Some("C1"), now)
                .is_err()
        );
        assert!(
            limiter
                .check("T1", Endpoint::ChatPostMessage, Some("C2"), now)
                .is_ok()
        );
    }
}
