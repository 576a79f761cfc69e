//! The side-effect record: mails sent, passwords expired, and every request seen.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use serde_json::Value;

use super::routes::Route;

/// Which mail the simulated `reactivate` endpoint sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// Sent to a pending user (`activated: false`): "set your password".
    Activation,
    /// Sent to an active user (`activated: true`): "reset your password".
    Reset,
}

/// One mail the simulator "sent".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mail {
    /// The organisation the user belongs to.
    pub org_id: String,
    /// The user's `_id`.
    pub user_id: String,
    /// The user's username at the time of sending.
    pub username: String,
    /// The address the mail went to (the user's `email`).
    pub email: String,
    /// Activation or reset.
    pub kind: MailKind,
    /// When it was sent.
    pub at: DateTime<Utc>,
}

/// One password the simulator expired.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expiration {
    /// The organisation the user belongs to.
    pub org_id: String,
    /// The user's `_id`.
    pub user_id: String,
    /// The user's username at the time.
    pub username: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// One HTTP request the simulator received, with what it answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: Method,
    /// The path, without the query string (e.g. `/api/systemusers/5f0c…`).
    pub path: String,
    /// The raw query string, if any (still percent-encoded).
    pub query: Option<String>,
    /// The simulated operation the path matched, if any.
    pub route: Option<Route>,
    /// The `x-api-key` header as sent (simulator keys are test values, not secrets).
    pub api_key: Option<String>,
    /// The `x-org-id` header as sent; `None` when the header was absent.
    pub org_id: Option<String>,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The `accept` header.
    pub accept: Option<String>,
    /// The `user-agent` header.
    pub user_agent: Option<String>,
    /// The request body (lossy UTF-8; empty when there was none).
    pub body: String,
    /// The status answered; `None` when the connection was dropped by a fault or the request
    /// was still in flight (or abandoned by the client) when the record was read.
    pub status: Option<u16>,
    /// True when a drop fault closed the connection instead of answering.
    pub dropped: bool,
    /// When the request arrived.
    pub at: DateTime<Utc>,
}

impl RequestRecord {
    pub(crate) fn new(
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        route: Option<Route>,
        body: &[u8],
    ) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        Self {
            method: method.clone(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            route,
            api_key: header("x-api-key"),
            org_id: header("x-org-id"),
            content_type: header("content-type"),
            accept: header("accept"),
            user_agent: header("user-agent"),
            body: String::from_utf8_lossy(body).into_owned(),
            status: None,
            dropped: false,
            at: Utc::now(),
        }
    }

    /// Whether the request carried an `x-org-id` header (even an empty one).
    pub fn org_id_sent(&self) -> bool {
        self.org_id.is_some()
    }

    /// The query string decoded into (name, value) pairs, in order (`+` decodes to a space).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug, Default)]
struct Inner {
    mails: Vec<Mail>,
    expirations: Vec<Expiration>,
    requests: Vec<RequestRecord>,
}

/// A cheap-to-clone, thread-safe handle on everything the simulator did.
///
/// Reads return snapshots (copies), so a test can hold them while the simulator keeps running.
/// A request is recorded when it arrives and its status is filled in before the response is
/// written, so once a client has its answer, the record shows it.
#[derive(Debug, Clone, Default)]
pub struct Record {
    inner: Arc<Mutex<Inner>>,
}

impl Record {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the vectors half-written: keep going.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every mail sent, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        self.lock().mails.clone()
    }

    /// Every password expired, oldest first.
    pub fn expirations(&self) -> Vec<Expiration> {
        self.lock().expirations.clone()
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    /// The requests that matched one simulated operation, oldest first.
    pub fn requests_to(&self, route: Route) -> Vec<RequestRecord> {
        self.lock()
            .requests
            .iter()
            .filter(|request| request.route == Some(route))
            .cloned()
            .collect()
    }

    /// Forgets everything recorded so far (the simulated data is untouched).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.mails.clear();
        inner.expirations.clear();
        inner.requests.clear();
    }

    pub(crate) fn push_mail(&self, mail: Mail) {
        self.lock().mails.push(mail);
    }

    pub(crate) fn push_expiration(&self, expiration: Expiration) {
        self.lock().expirations.push(expiration);
    }

    /// Records an arriving request; the returned index lets the gate fill in the outcome.
    pub(crate) fn push_request(&self, request: RequestRecord) -> usize {
        let mut inner = self.lock();
        inner.requests.push(request);
        inner.requests.len() - 1
    }

    pub(crate) fn finish_request(&self, index: usize, status: Option<u16>, dropped: bool) {
        if let Some(request) = self.lock().requests.get_mut(index) {
            request.status = status;
            request.dropped = dropped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_request_shows_its_status_and_clear_forgets_it() {
        let record = Record::default();
        let mut headers = HeaderMap::new();
        headers.insert("x-org-id", http::HeaderValue::from_static(""));
        let uri: http::Uri = "/api/systemusers?filter=username:$eq:a+b".parse().unwrap();
        let index = record.push_request(RequestRecord::new(
            &Method::GET,
            &uri,
            &headers,
            Some(Route::ListUsers),
            b"",
        ));
        record.finish_request(index, Some(200), false);

        let seen = record.requests_to(Route::ListUsers);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].status, Some(200));
        assert!(
            seen[0].org_id_sent(),
            "an empty x-org-id header still counts as sent"
        );
        assert_eq!(
            seen[0].query_pairs(),
            vec![("filter".to_owned(), "username:$eq:a b".to_owned())]
        );
        assert!(record.requests_to(Route::GetUser).is_empty());

        record.clear();
        assert!(record.requests().is_empty());
    }
}
