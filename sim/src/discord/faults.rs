//! Fault injection: make the next requests on a route fail with Discord's answers, or wait.

use std::time::Duration;

use http::StatusCode;

use super::error::ApiError;
use super::routes::Route;

/// A fault for the next `times` requests on a route (once by default).
///
/// ```
/// use std::time::Duration;
/// use passdesk_sim::discord::{Fault, Route};
/// let outage = Fault::status(Route::CreateMessage, 500).times(2);
/// let limited = Fault::rate_limited(Route::CreateMessage, Duration::from_millis(1500));
/// let slow = Fault::delay(Route::InteractionCallback, Duration::from_secs(4));
/// # let _ = (outage, limited, slow);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    route: Option<Route>,
    action: Action,
    remaining: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Respond(ApiError),
    Delay(Duration),
}

impl Fault {
    /// Answer with `status` and Discord's generic body for it
    /// (`{"message": "500: Internal Server Error", "code": 0}`). A code outside `100..=999`
    /// becomes `500`.
    pub fn status(route: Route, status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = format!(
            "{}: {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        );
        Self::new(
            Some(route),
            Action::Respond(ApiError::discord(status, 0, &message)),
        )
    }

    /// Answer with `status` and `{"message": message, "code": code}`, e.g.
    /// `Fault::error(Route::CreateMessage, 403, 50013, "Missing Permissions")`.
    pub fn error(route: Route, status: u16, code: u32, message: &str) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(
            Some(route),
            Action::Respond(ApiError::discord(status, code, message)),
        )
    }

    /// Answer `429` as Discord does: body `{"message", "retry_after", "global": false}`,
    /// headers `Retry-After` and `X-RateLimit-*` (scope `user`).
    pub fn rate_limited(route: Route, retry_after: Duration) -> Self {
        Self::new(
            Some(route),
            Action::Respond(ApiError::rate_limited(retry_after, false)),
        )
    }

    /// A global `429` on every route (`"global": true`, `X-RateLimit-Global: true`).
    pub fn globally_rate_limited(retry_after: Duration) -> Self {
        Self::new(
            None,
            Action::Respond(ApiError::rate_limited(retry_after, true)),
        )
    }

    /// Wait `delay`, then handle the request normally (the 3-second callback window counts
    /// the wait).
    pub fn delay(route: Route, delay: Duration) -> Self {
        Self::new(Some(route), Action::Delay(delay))
    }

    /// Apply to the next `times` matching requests.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.remaining = times;
        self
    }

    fn new(route: Option<Route>, action: Action) -> Self {
        Self {
            route,
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
    pub(crate) fn take(&mut self, route: Option<Route>) -> Option<Action> {
        let index = self
            .faults
            .iter()
            .position(|fault| fault.route.is_none() || fault.route == route)?;
        let fault = self.faults.get_mut(index)?;
        fault.remaining -= 1;
        let action = fault.action.clone();
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_the_given_number_of_times_on_its_route_only() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(Route::CreateMessage, 503).times(2));
        assert_eq!(queue.take(Some(Route::EditMessage)), None);
        for _ in 0..2 {
            match queue.take(Some(Route::CreateMessage)) {
                Some(Action::Respond(error)) => {
                    assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
                    assert_eq!(error.body["message"], "503: Service Unavailable");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(queue.take(Some(Route::CreateMessage)), None);
    }
}
