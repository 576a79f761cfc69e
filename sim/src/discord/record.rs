//! Every REST request the fake received, with what it answered.

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use serde_json::Value;

use super::routes::Route;

/// What the `Authorization` header carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    Missing,
    /// `Bot <the accepted token>`.
    Valid,
    /// Anything else (the value itself is not kept).
    Invalid,
}

impl Auth {
    pub(crate) fn of(headers: &HeaderMap, token: &str) -> Self {
        match headers.get(http::header::AUTHORIZATION) {
            None => Auth::Missing,
            Some(value) => {
                let expected = format!("Bot {token}");
                if value.as_bytes() == expected.as_bytes() {
                    Auth::Valid
                } else {
                    Auth::Invalid
                }
            }
        }
    }
}

/// One HTTP request the fake received.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The method.
    pub method: Method,
    /// The path without the query, e.g. `/api/v10/channels/20/messages`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The route the path matched, if any.
    pub route: Option<Route>,
    /// What the `Authorization` header carried.
    pub auth: Auth,
    /// The body parsed as JSON (`None` when empty or not JSON).
    pub json: Option<Value>,
    /// The raw body (lossy UTF-8), e.g. to scan for a secret.
    pub body: String,
    /// The status answered; `None` while the request is still in flight.
    pub status: Option<u16>,
    /// When it arrived.
    pub at: DateTime<Utc>,
}

impl RequestRecord {
    pub(crate) fn new(
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        token: &str,
        route: Option<Route>,
        body: &[u8],
    ) -> Self {
        Self {
            method: method.clone(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            route,
            auth: Auth::of(headers, token),
            json: serde_json::from_slice(body).ok(),
            body: String::from_utf8_lossy(body).into_owned(),
            status: None,
            at: Utc::now(),
        }
    }
}
