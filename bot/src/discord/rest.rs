//! The Discord REST calls the adapter makes after the first response, each in its own span
//! (method, route template, attempt, status — never a token, a URL or a body) and retried as
//! the shared rule `passdesk_core::retry::RetryPolicy::decide` says.
//!
//! Edits are idempotent writes (repeating one changes nothing more); new messages (follow-ups,
//! approval requests) are plain writes, never resent once Discord may have posted them. One
//! Discord-specific refusal is retried: `404 10015 Unknown Webhook` on an interaction token,
//! which Discord answers until it has processed the interaction's first response — with the
//! HTTP interactions endpoint that response is our HTTP answer, which may still be on its way
//! when a follow-up starts. Nothing was done, so it is as safe to retry as a request that never
//! left.

use std::future::Future;
use std::time::Duration;

use passdesk_core::retry::{self, Decision, OperationKind, Outcome, RetryPolicy};
use serenity::http::HttpError;
use tracing::{Instrument as _, field, info_span};

/// `PATCH /webhooks/{application_id}/{interaction_token}/messages/@original`.
pub(crate) const EDIT_ORIGINAL: &str =
    "/webhooks/{application_id}/{interaction_token}/messages/@original";
/// `POST /webhooks/{application_id}/{interaction_token}`.
pub(crate) const FOLLOWUP: &str = "/webhooks/{application_id}/{interaction_token}";
/// `POST /interactions/{interaction_id}/{interaction_token}/callback`.
pub(crate) const CALLBACK: &str = "/interactions/{interaction_id}/{interaction_token}/callback";
/// `POST /channels/{channel_id}/messages`.
pub(crate) const CHANNEL_MESSAGES: &str = "/channels/{channel_id}/messages";
/// `PATCH /channels/{channel_id}/messages/{message_id}`.
pub(crate) const CHANNEL_MESSAGE: &str = "/channels/{channel_id}/messages/{message_id}";

/// Discord's code for an interaction token it does not know (yet).
pub(crate) const UNKNOWN_WEBHOOK: isize = 10015;

/// The HTTP status and Discord error code of a failed call, when Discord answered.
pub(crate) fn status_and_code(error: &serenity::Error) -> Option<(u16, isize)> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            Some((response.status_code.as_u16(), response.error.code))
        }
        _ => None,
    }
}

/// The retry rule's view of a failed call; `None` when it must not be retried at all.
pub(crate) fn outcome(error: &serenity::Error) -> Option<Outcome> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            match status {
                // serenity keeps only `code` and `message` of a 429 body, so `retry_after` is
                // lost here; with its rate limiter on (production) serenity has already waited
                // and retried before a 429 reaches us.
                429 => Some(Outcome::RateLimited { retry_after: None }),
                500..=599 => Some(Outcome::ServerError { status }),
                404 if response.error.code == UNKNOWN_WEBHOOK => Some(Outcome::NotSent),
                _ => None,
            }
        }
        serenity::Error::Http(HttpError::Request(request)) => Some(if request.is_connect() {
            Outcome::NotSent
        } else {
            Outcome::LostAfterSend
        }),
        _ => None,
    }
}

/// A failed call as a short description for logs: status and code, or the kind of transport
/// failure; never the URL (which holds the interaction token) nor Discord's message.
pub(crate) fn describe(error: &serenity::Error) -> String {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => format!(
            "status {} code {}",
            response.status_code.as_u16(),
            response.error.code
        ),
        serenity::Error::Http(HttpError::Request(request)) if request.is_timeout() => {
            "timed out".to_owned()
        }
        serenity::Error::Http(HttpError::Request(request)) if request.is_connect() => {
            "connection failed".to_owned()
        }
        serenity::Error::Http(HttpError::Request(_)) => "request failed".to_owned(),
        serenity::Error::Http(HttpError::ApplicationIdMissing) => {
            "application id missing".to_owned()
        }
        serenity::Error::Model(_) => "refused before sending (over a Discord limit)".to_owned(),
        serenity::Error::Json(_) => "answer not understood".to_owned(),
        _ => "failed".to_owned(),
    }
}

/// Runs `call` until it succeeds or the retry rule says stop; one span per attempt.
pub(crate) async fn retrying<T, F, Fut>(
    kind: OperationKind,
    method: &'static str,
    route: &'static str,
    mut call: F,
) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let policy = RetryPolicy::default();
    let mut attempt: u32 = 1;
    let mut waited = Duration::ZERO;
    loop {
        let span = info_span!(
            "discord.request",
            method,
            route,
            attempt,
            status = field::Empty,
        );
        let result = call().instrument(span.clone()).await;
        let error = match result {
            Ok(value) => {
                span.record("status", "2xx");
                return Ok(value);
            }
            Err(error) => error,
        };
        if let Some((status, _)) = status_and_code(&error) {
            span.record("status", status);
        }
        let Some(outcome) = outcome(&error) else {
            return Err(error);
        };
        match policy.decide(kind, outcome, attempt, waited, retry::jitter()) {
            Decision::RetryAfter(delay) => {
                tracing::debug!(route, attempt, error = %describe(&error), retry_in = ?delay, "discord call failed; retrying");
                tokio::time::sleep(delay).await;
                waited = waited.saturating_add(delay);
                attempt = attempt.saturating_add(1);
            }
            Decision::GiveUp | Decision::Unknown => return Err(error),
        }
    }
}
