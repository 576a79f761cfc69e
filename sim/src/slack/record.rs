//! Every request the bot made to the fake, and every request the driver sent to the bot.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use serde_json::Value;

use super::routes::Endpoint;
use super::sign::RequestKind;

/// What the `Authorization` header carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    Missing,
    /// `Bearer <a workspace's bot token>`.
    Valid,
    /// Anything else (the value itself is not kept).
    Invalid,
}

/// One HTTP request the bot made to the fake (Web API or `response_url`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The Web API method, or [`Endpoint::ResponseUrl`]; `None` for an unknown path or method.
    pub endpoint: Option<Endpoint>,
    /// The HTTP method.
    pub method: Method,
    /// The path without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// Every header except `Authorization`, in order (names lowercase, values lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// What the `Authorization` header carried.
    pub auth: Auth,
    /// Whether a `token` argument came in the body or query (Slack discourages it; the fake
    /// does not accept it).
    pub token_in_body: bool,
    /// The raw body (lossy UTF-8), e.g. to scan for a secret.
    pub body: String,
    /// The arguments as the fake read them (JSON body, or form/query fields as strings).
    pub args: Option<Value>,
    /// The status answered; `None` while in flight (or when the connection was dropped).
    pub status: Option<u16>,
    /// `ok` of the answer.
    pub ok: Option<bool>,
    /// `error` of the answer.
    pub error: Option<String>,
    /// When it arrived.
    pub at: DateTime<Utc>,
}

impl RequestRecord {
    pub(crate) fn new(
        endpoint: Option<Endpoint>,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        auth: Auth,
        body: &[u8],
    ) -> Self {
        Self {
            endpoint,
            method: method.clone(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            content_type: headers
                .get(http::header::CONTENT_TYPE)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
            headers: headers
                .iter()
                .filter(|(name, _)| *name != http::header::AUTHORIZATION)
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            auth,
            token_in_body: false,
            body: String::from_utf8_lossy(body).into_owned(),
            args: None,
            status: None,
            ok: None,
            error: None,
            at: Utc::now(),
        }
    }
}

/// One request the driver sent to the bot, and what came back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// Where it went.
    pub url: String,
    /// What it was.
    pub kind: RequestKind,
    /// The acting user.
    pub user_id: String,
    /// Whether it carried a signature.
    pub signed: bool,
    /// The raw body sent (lossy UTF-8).
    pub body: String,
    /// The status answered; `None` if no answer came.
    pub status: Option<u16>,
    /// The answer's body (lossy UTF-8).
    pub answer: String,
    /// How long the answer took.
    pub elapsed: Duration,
}
