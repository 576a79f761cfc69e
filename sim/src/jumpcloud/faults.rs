//! Fault injection: make the next requests on a route fail, stall, or lose their connection.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde_json::Value;

use super::error::error_body;
use super::routes::Route;

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultTarget {
    /// One simulated operation.
    Route(Route),
    /// Any request whose path starts with `path_prefix`, with this method (or any method).
    Prefix {
        /// The method to match; `None` matches every method.
        method: Option<Method>,
        /// The path prefix, e.g. `/api/systemusers`.
        path_prefix: String,
    },
    /// Every request.
    Any,
}

impl FaultTarget {
    /// Requests with `method` whose path starts with `path_prefix`.
    pub fn prefix(method: Method, path_prefix: impl Into<String>) -> Self {
        FaultTarget::Prefix {
            method: Some(method),
            path_prefix: path_prefix.into(),
        }
    }

    /// Requests with any method whose path starts with `path_prefix`.
    pub fn any_method(path_prefix: impl Into<String>) -> Self {
        FaultTarget::Prefix {
            method: None,
            path_prefix: path_prefix.into(),
        }
    }

    fn matches(&self, route: Option<Route>, method: &Method, path: &str) -> bool {
        match self {
            FaultTarget::Route(target) => route == Some(*target),
            FaultTarget::Prefix {
                method: wanted,
                path_prefix,
            } => wanted.as_ref().is_none_or(|m| m == method) && path.starts_with(path_prefix),
            FaultTarget::Any => true,
        }
    }
}

impl From<Route> for FaultTarget {
    fn from(route: Route) -> Self {
        FaultTarget::Route(route)
    }
}

/// What a fault does to a request it catches.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer at once with this status, body and extra headers; the request has no effect.
    Respond {
        /// The status.
        status: StatusCode,
        /// The JSON body.
        body: Value,
        /// Extra headers (e.g. `Retry-After`).
        headers: Vec<(String, String)>,
    },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Close the connection without writing any response; the request has no effect.
    Drop,
}

/// A fault for the next `times` matching requests (once by default).
///
/// ```
/// use passdesk_sim::jumpcloud::{Fault, Route};
/// let fault = Fault::status(Route::ReactivateUsers, 503).times(2);
/// # let _ = fault;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    target: FaultTarget,
    action: FaultAction,
    remaining: u32,
}

impl Fault {
    /// Answer with `status` and JumpCloud's `Error` body for it (`{"code","message","status"}`).
    /// A code outside `100..=999` becomes `500`.
    pub fn status(target: impl Into<FaultTarget>, status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = error_body(status, status.canonical_reason().unwrap_or("Error"));
        Self::new(
            target,
            FaultAction::Respond {
                status,
                body,
                headers: Vec::new(),
            },
        )
    }

    /// Wait `delay` before handling the request normally.
    pub fn delay(target: impl Into<FaultTarget>, delay: Duration) -> Self {
        Self::new(target, FaultAction::Delay(delay))
    }

    /// Close the connection without an HTTP response.
    pub fn drop_connection(target: impl Into<FaultTarget>) -> Self {
        Self::new(target, FaultAction::Drop)
    }

    fn new(target: impl Into<FaultTarget>, action: FaultAction) -> Self {
        Self {
            target: target.into(),
            action,
            remaining: 1,
        }
    }

    /// Applies to the next `n` matching requests instead of one.
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = n;
        self
    }

    /// Replaces the body of a status fault (no effect on other faults).
    pub fn with_body(mut self, new_body: Value) -> Self {
        if let FaultAction::Respond { body, .. } = &mut self.action {
            *body = new_body;
        }
        self
    }

    /// Adds a header to a status fault's answer, e.g. `("retry-after", "2")` (no effect on
    /// other faults; invalid names or values are skipped when answering).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let FaultAction::Respond { headers, .. } = &mut self.action {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// The requests it applies to.
    pub fn target(&self) -> &FaultTarget {
        &self.target
    }

    /// What it does.
    pub fn action(&self) -> &FaultAction {
        &self.action
    }
}

/// Converts a fault's extra headers, skipping any that are not valid HTTP.
pub(crate) fn header_pairs(headers: &[(String, String)]) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect()
}

/// The pending faults, first injected first used.
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

    /// Consumes one use of the first fault matching the request.
    pub(crate) fn take(
        &mut self,
        route: Option<Route>,
        method: &Method,
        path: &str,
    ) -> Option<FaultAction> {
        let index = self
            .faults
            .iter()
            .position(|fault| fault.target.matches(route, method, path))?;
        let fault = &mut self.faults[index];
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
        queue.push(Fault::status(Route::ReactivateUsers, 503).times(2));
        let path = "/api/systemusers/reactivate";

        assert!(
            queue
                .take(Some(Route::GetUser), &Method::GET, "/api/systemusers/x")
                .is_none()
        );
        for _ in 0..2 {
            let action = queue.take(Some(Route::ReactivateUsers), &Method::POST, path);
            assert!(matches!(
                action,
                Some(FaultAction::Respond { status, .. }) if status == StatusCode::SERVICE_UNAVAILABLE
            ));
        }
        assert!(
            queue
                .take(Some(Route::ReactivateUsers), &Method::POST, path)
                .is_none()
        );
    }

    #[test]
    fn prefix_targets_match_method_and_path_prefix() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::drop_connection(FaultTarget::prefix(
            Method::POST,
            "/api/systemusers/",
        )));
        assert!(
            queue
                .take(None, &Method::GET, "/api/systemusers/abc/expire")
                .is_none()
        );
        assert!(
            queue
                .take(None, &Method::POST, "/api/v2/usergroups")
                .is_none()
        );
        assert_eq!(
            queue.take(None, &Method::POST, "/api/systemusers/abc/expire"),
            Some(FaultAction::Drop)
        );
    }

    #[test]
    fn status_faults_carry_an_error_body_and_custom_headers() {
        let fault = Fault::status(FaultTarget::Any, 429)
            .with_header("retry-after", "2")
            .with_header("bad header", "x");
        let FaultAction::Respond { body, headers, .. } = fault.action() else {
            panic!("not a status fault");
        };
        assert_eq!(body["code"], 429);
        let pairs = header_pairs(headers);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].1, "2");
        assert_eq!(Fault::status(Route::GetUser, 42).times(0).remaining, 0);
    }
}
