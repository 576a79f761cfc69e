//! The Slack Web API client: the few methods Passdesk calls (`chat.postMessage`, `chat.update`,
//! `views.open`, `usergroups.users.list`) and `response_url` posts, hand-written on `reqwest`.
//!
//! - The base URL comes from `[slack] api_base_url` (default [`SLACK_API_BASE`]); the method
//!   name is appended (`…/api/chat.postMessage`).
//! - The bot token is a [`SecretString`], exposed only in [`SlackApi::authorized`] as
//!   `Authorization: Bearer …` (never in a body or a query). `response_url` posts carry no token:
//!   the URL itself is the capability, so it is kept as a [`ResponseUrl`] whose `Debug` hides it.
//! - JSON bodies are sent as `application/json; charset=utf-8`.
//! - `{"ok": false, "error": code}` is an error ([`ApiError::Slack`], or
//!   [`ApiError::Unauthorized`] for token problems), whatever the HTTP status.
//! - HTTP 429 honours `Retry-After` (seconds); every retry is what
//!   [`RetryPolicy::decide`] says: reads (`usergroups.users.list`) and edits (`chat.update`) are
//!   retried on 5xx and timeouts, posts (`chat.postMessage`, `views.open`, `response_url`) only
//!   when Slack refused them before acting (429, not sent).
//! - One span per attempt: `slack.request` with method, route (the Web API method name, or
//!   `response_url`), attempt and status; never a URL, a query, a body or the token.

use std::fmt;
use std::time::Duration;

use passdesk_core::retry::{self, Decision, OperationKind, Outcome, RetryPolicy};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::{Instrument as _, field, info_span};
use url::Url;

/// Slack's own Web API base: what `[slack] api_base_url` replaces.
pub const SLACK_API_BASE: &str = "https://slack.com/api/";
/// Whole-request timeout of one Web API call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection timeout of one Web API call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The route name of `response_url` posts in spans and errors.
pub const RESPONSE_URL_ROUTE: &str = "response_url";

/// Why a Web API call or a `response_url` post failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Slack answered `ok: false` with this error code (e.g. `not_in_channel`,
    /// `expired_trigger_id`, `plan_upgrade_required`).
    #[error("slack {method} refused: {code}")]
    Slack {
        /// The Web API method.
        method: &'static str,
        /// Slack's error code, as a bounded excerpt.
        code: String,
    },
    /// The bot token was refused (`not_authed`, `invalid_auth`, `token_revoked`,
    /// `account_inactive`).
    #[error("slack {method} refused the bot token: {code}")]
    Unauthorized {
        /// The Web API method.
        method: &'static str,
        /// Slack's error code.
        code: String,
    },
    /// HTTP 429, still after the retries the policy allows.
    #[error("slack {method} rate limited")]
    RateLimited {
        /// The Web API method.
        method: &'static str,
        /// Slack's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// A 5xx or a timeout on a call that may not be repeated: Slack may have acted.
    #[error("slack {method}: outcome unknown")]
    SentButUnknown {
        /// The Web API method.
        method: &'static str,
    },
    /// A 5xx, still after the retries the policy allows.
    #[error("slack {method} unavailable (status {status})")]
    Unavailable {
        /// The Web API method.
        method: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The request timed out or the connection broke, still after the retries allowed.
    #[error("slack {method} timed out")]
    Timeout {
        /// The Web API method.
        method: &'static str,
    },
    /// Slack could not be reached: nothing was sent.
    #[error("slack {method} not reached")]
    NotSent {
        /// The Web API method.
        method: &'static str,
    },
    /// A `response_url` that no longer takes posts (expired, used up, unknown): a non-2xx
    /// answer other than 429 and 5xx.
    #[error("response_url refused the post (status {status}): {code}")]
    ResponseUrlGone {
        /// The HTTP status.
        status: u16,
        /// Slack's error code, when it gave one (bounded excerpt).
        code: String,
    },
    /// Another non-2xx answer without an `ok: false` body.
    #[error("slack {method} answered {status}")]
    Upstream {
        /// The Web API method.
        method: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The answer was not what the method returns.
    #[error("slack {method}: unexpected answer")]
    Decode {
        /// The Web API method.
        method: &'static str,
    },
    /// The HTTP client could not be built, or the base URL is not usable.
    #[error("slack client could not be built: {0}")]
    Client(String),
}

impl ApiError {
    /// Slack's error code, for `ok: false` answers.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Slack { code, .. } | ApiError::Unauthorized { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A `response_url`: posting to it needs no token, so whoever has it can write to the
/// user's conversation for 30 minutes; it is kept like a secret and never logged.
#[derive(Clone)]
pub struct ResponseUrl(SecretString);

impl ResponseUrl {
    /// Wraps a `response_url` from a payload.
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseUrl(..)")
    }
}

/// A message posted with `chat.postMessage`: where it is, to edit it with `chat.update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The channel id.
    pub channel: String,
    /// The message `ts`.
    pub ts: String,
}

/// The Slack Web API client. Cheap to clone.
#[derive(Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    retry: RetryPolicy,
}

impl fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackApi")
            .field("base", &self.base.as_str())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct PostMessageAnswer {
    channel: String,
    ts: String,
}

#[derive(Deserialize)]
struct ViewsOpenAnswer {
    view: OpenedView,
}

#[derive(Deserialize)]
struct OpenedView {
    id: String,
}

#[derive(Deserialize)]
struct UsersAnswer {
    #[serde(default)]
    users: Vec<String>,
}

/// How one attempt ended, before the retry rule is asked.
enum Attempt<T> {
    Done(Result<T, ApiError>),
    Failed(Outcome, ApiError),
}

/// Slack error codes that mean the token itself is refused.
fn is_auth_code(code: &str) -> bool {
    matches!(
        code,
        "not_authed" | "invalid_auth" | "token_revoked" | "account_inactive" | "token_expired"
    )
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl SlackApi {
    /// A client for `base` (`None`: [`SLACK_API_BASE`]) with the bot `token`, the default
    /// timeouts and [`RetryPolicy::default`].
    ///
    /// # Errors
    ///
    /// [`ApiError::Client`] when the HTTP client cannot be built or `base` is not a URL.
    pub fn new(base: Option<&Url>, token: SecretString) -> Result<Self, ApiError> {
        Self::with_timeouts(base, token, REQUEST_TIMEOUT, CONNECT_TIMEOUT)
    }

    /// As [`SlackApi::new`], with these timeouts.
    ///
    /// # Errors
    ///
    /// See [`SlackApi::new`].
    pub fn with_timeouts(
        base: Option<&Url>,
        token: SecretString,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, ApiError> {
        let mut base = match base {
            Some(url) => url.clone(),
            None => Url::parse(SLACK_API_BASE).map_err(|e| ApiError::Client(e.to_string()))?,
        };
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(passdesk_core::http::USER_AGENT)
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| ApiError::Client("http client".to_owned()))?;
        Ok(Self {
            http,
            base,
            token,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy (the audit channel's queue retries itself,
    /// so it uses [`RetryPolicy::none`]).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The Web API base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The one place the bot token is exposed: the `Authorization` header.
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.token.expose_secret())
    }

    fn method_url(&self, method: &str) -> Result<Url, ApiError> {
        self.base
            .join(method)
            .map_err(|e| ApiError::Client(e.to_string()))
    }

    /// `chat.postMessage`: posts `message` (`text` + `blocks`) to `channel`.
    ///
    /// # Errors
    ///
    /// See [`ApiError`]; `not_in_channel` when the bot is not invited to a private channel.
    pub async fn post_message(&self, channel: &str, message: &Value) -> Result<Posted, ApiError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        let answer: PostMessageAnswer = self
            .call("chat.postMessage", OperationKind::Write, &body)
            .await?;
        Ok(Posted {
            channel: answer.channel,
            ts: answer.ts,
        })
    }

    /// `chat.update`: replaces the text and blocks of the bot's message `ts` in `channel`.
    ///
    /// # Errors
    ///
    /// See [`ApiError`].
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Value,
    ) -> Result<(), ApiError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        let _: Value = self
            .call("chat.update", OperationKind::IdempotentWrite, &body)
            .await?;
        Ok(())
    }

    /// `views.open`: opens `view` (a modal) for the `trigger_id` of an interaction; returns
    /// the view id.
    ///
    /// # Errors
    ///
    /// See [`ApiError`]; `expired_trigger_id` / `exchanged_trigger_id` for a late or reused
    /// trigger.
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<String, ApiError> {
        let body = json!({ "trigger_id": trigger_id, "view": view });
        // A trigger id is single-use: never resent once Slack may have exchanged it.
        let answer: ViewsOpenAnswer = self.call("views.open", OperationKind::Write, &body).await?;
        Ok(answer.view.id)
    }

    /// `usergroups.users.list`: the user ids in the user group `group` (`S…`).
    ///
    /// # Errors
    ///
    /// See [`ApiError`]; `no_such_subteam`, `plan_upgrade_required` (free plans).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, ApiError> {
        let body = json!({ "usergroup": group });
        let answer: UsersAnswer = self
            .call("usergroups.users.list", OperationKind::Read, &body)
            .await?;
        Ok(answer.users)
    }

    /// Posts `message` to a `response_url` (no token; the body chooses `replace_original`,
    /// `response_type`, …). Retried only when Slack refused before acting (429, not sent).
    ///
    /// # Errors
    ///
    /// [`ApiError::ResponseUrlGone`] when the URL no longer takes posts; see [`ApiError`].
    pub async fn respond(&self, url: &ResponseUrl, message: &Value) -> Result<(), ApiError> {
        let target = Url::parse(url.expose()).map_err(|_| ApiError::Client("url".to_owned()))?;
        self.attempts(RESPONSE_URL_ROUTE, OperationKind::Write, || {
            let request = self
                .http
                .post(target.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(message.to_string());
            async move {
                let response = match request.send().await {
                    Ok(response) => response,
                    Err(e) => return transport(RESPONSE_URL_ROUTE, &e),
                };
                let status = response.status().as_u16();
                tracing::Span::current().record("status", status);
                if status == 429 {
                    let after = retry_after(response.headers());
                    return Attempt::Failed(
                        Outcome::RateLimited { retry_after: after },
                        ApiError::RateLimited {
                            method: RESPONSE_URL_ROUTE,
                            retry_after: after,
                        },
                    );
                }
                if (500..=599).contains(&status) {
                    return Attempt::Failed(
                        Outcome::ServerError { status },
                        ApiError::Unavailable {
                            method: RESPONSE_URL_ROUTE,
                            status,
                        },
                    );
                }
                let text = response.text().await.unwrap_or_default();
                let envelope: Option<Envelope> = serde_json::from_str(&text).ok();
                let code = envelope
                    .as_ref()
                    .and_then(|e| e.error.as_deref())
                    .map(passdesk_core::http::excerpt)
                    .unwrap_or_default();
                if !(200..=299).contains(&status) || envelope.is_some_and(|e| !e.ok) {
                    return Attempt::Done(Err(ApiError::ResponseUrlGone { status, code }));
                }
                Attempt::Done(Ok(()))
            }
        })
        .await
    }

    /// One Web API method with a JSON body, retried as the rule says; `T` is decoded from an
    /// `ok: true` answer.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        kind: OperationKind,
        body: &Value,
    ) -> Result<T, ApiError> {
        let url = self.method_url(method)?;
        let text = body.to_string();
        self.attempts(method, kind, || {
            let request = self
                .authorized(self.http.post(url.clone()))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(text.clone());
            async move {
                let response = match request.send().await {
                    Ok(response) => response,
                    Err(e) => return transport(method, &e),
                };
                let status = response.status().as_u16();
                tracing::Span::current().record("status", status);
                if status == 429 {
                    let after = retry_after(response.headers());
                    return Attempt::Failed(
                        Outcome::RateLimited { retry_after: after },
                        ApiError::RateLimited {
                            method,
                            retry_after: after,
                        },
                    );
                }
                if (500..=599).contains(&status) {
                    return Attempt::Failed(
                        Outcome::ServerError { status },
                        ApiError::Unavailable { method, status },
                    );
                }
                let bytes = match response.bytes().await {
                    Ok(bytes) => bytes,
                    Err(e) => return transport(method, &e),
                };
                Attempt::Done(decode(method, status, &bytes))
            }
        })
        .await
    }

    /// Runs `attempt` until it is done or [`RetryPolicy::decide`] stops it; one span each.
    async fn attempts<T, F, Fut>(
        &self,
        route: &'static str,
        kind: OperationKind,
        mut attempt: F,
    ) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let mut waited = Duration::ZERO;
        let mut number: u32 = 1;
        loop {
            let span = info_span!(
                "slack.request",
                method = "POST",
                route,
                attempt = number,
                status = field::Empty,
            );
            let (outcome, error) = match attempt().instrument(span).await {
                Attempt::Done(result) => return result,
                Attempt::Failed(outcome, error) => (outcome, error),
            };
            match self
                .retry
                .decide(kind, outcome, number, waited, retry::jitter())
            {
                Decision::RetryAfter(delay) => {
                    tracing::debug!(route, attempt = number, ?delay, "retrying a slack call");
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    number += 1;
                }
                Decision::GiveUp => return Err(error),
                Decision::Unknown => return Err(ApiError::SentButUnknown { method: route }),
            }
        }
    }
}

/// A transport failure as an attempt: never sent (connect), or lost after sending (a
/// timeout or a broken connection: Slack may have acted).
fn transport<T>(method: &'static str, error: &reqwest::Error) -> Attempt<T> {
    if error.is_connect() {
        Attempt::Failed(Outcome::NotSent, ApiError::NotSent { method })
    } else {
        Attempt::Failed(Outcome::LostAfterSend, ApiError::Timeout { method })
    }
}

/// A Web API answer: `ok` decides, whatever the status; then the method's fields.
fn decode<T: DeserializeOwned>(
    method: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T, ApiError> {
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return Err(if (200..=299).contains(&status) {
            ApiError::Decode { method }
        } else {
            ApiError::Upstream { method, status }
        });
    };
    if !envelope.ok {
        let code = passdesk_core::http::excerpt(envelope.error.as_deref().unwrap_or("unknown"));
        return Err(if is_auth_code(&code) {
            ApiError::Unauthorized { method, code }
        } else {
            ApiError::Slack { method, code }
        });
    }
    serde_json::from_slice(body).map_err(|_| ApiError::Decode { method })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_decides_not_the_status_and_token_codes_are_unauthorized() {
        let refused: Result<Value, _> = decode(
            "chat.postMessage",
            200,
            br#"{"ok":false,"error":"not_in_channel"}"#,
        );
        assert_eq!(
            refused,
            Err(ApiError::Slack {
                method: "chat.postMessage",
                code: "not_in_channel".to_owned()
            })
        );
        let auth: Result<Value, _> = decode(
            "chat.update",
            200,
            br#"{"ok":false,"error":"invalid_auth"}"#,
        );
        assert!(matches!(auth, Err(ApiError::Unauthorized { .. })));
        let no_error: Result<Value, _> = decode("chat.update", 200, br#"{"ok":false}"#);
        assert_eq!(no_error.unwrap_err().code(), Some("unknown"));
        let posted: PostMessageAnswer = decode(
            "chat.postMessage",
            200,
            br#"{"ok":true,"channel":"C1","ts":"1.2","warning":"missing_charset"}"#,
        )
        .unwrap();
        assert_eq!((posted.channel.as_str(), posted.ts.as_str()), ("C1", "1.2"));
        let html: Result<Value, _> = decode("chat.update", 502, b"<html>bad gateway</html>");
        assert_eq!(
            html,
            Err(ApiError::Upstream {
                method: "chat.update",
                status: 502
            })
        );
    }

    #[test]
    fn debug_never_shows_the_token_or_a_response_url() {
        let api = SlackApi::new(None, SecretString::from("xoxb-SECRET-123")).unwrap();
        assert!(!format!("{api:?}").contains("xoxb-SECRET-123"));
        assert_eq!(api.base().as_str(), SLACK_API_BASE);
        let url = ResponseUrl::new("https://hooks.slack.com/commands/T1/2/SECRETPART");
        assert!(!format!("{url:?}").contains("SECRETPART"));
    }

    #[test]
    fn a_base_without_a_trailing_slash_still_gets_the_method_appended() {
        let base = Url::parse("http://127.0.0.1:9/api").unwrap();
        let api = SlackApi::new(Some(&base), SecretString::from("x")).unwrap();
        assert_eq!(
            api.method_url("chat.update").unwrap().as_str(),
            "http://127.0.0.1:9/api/chat.update"
        );
    }
}
