//! The fake's own errors, and Slack's answers (`{"ok": false, "error": …}` and friends).

use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

/// An error from the fake's test-facing API (not an HTTP answer to the bot).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// The listening socket on 127.0.0.1 could not be opened.
    #[error("could not bind the fake slack socket on 127.0.0.1")]
    Bind(#[source] std::io::Error),
    /// A builder setting cannot work.
    #[error("invalid fake slack setting: {0}")]
    Config(String),
    /// A wait ran out before its condition held.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        timeout: Duration,
    },
    /// The workspace is not one of the fake's teams.
    #[error("team {team_id} is not a workspace of the fake")]
    UnknownTeam {
        /// The team id.
        team_id: String,
    },
    /// The conversation is unknown (or in another workspace).
    #[error("channel {channel_id} is not a conversation of this workspace")]
    UnknownChannel {
        /// The channel id.
        channel_id: String,
    },
    /// The message does not exist (any more).
    #[error("message {ts} does not exist")]
    UnknownMessage {
        /// The message `ts`.
        ts: String,
    },
    /// The message is ephemeral and shown to another user only.
    #[error("user {user_id} cannot see ephemeral message {ts}")]
    NotVisible {
        /// The user who tried to use the message.
        user_id: String,
        /// The message.
        ts: String,
    },
    /// The message (as the user saw it) has no such button.
    #[error("the message has no button {wanted}")]
    NoSuchButton {
        /// The `action_id` (and value) or label asked for.
        wanted: String,
    },
    /// No open view with this id is shown to this user.
    #[error("no open view {view_id} is shown to user {user_id}")]
    NoSuchView {
        /// The view id.
        view_id: String,
        /// The user.
        user_id: String,
    },
    /// Slack's client would not let the user submit these values.
    #[error("the view cannot be submitted: {problem}")]
    ViewInput {
        /// What the client would refuse.
        problem: String,
    },
    /// Delivering a request to the bot failed before any answer.
    #[error("delivering the request to the bot failed: {0}")]
    Delivery(String),
}

/// An HTTP answer of the fake: a status, an optional JSON body, extra headers, or a dropped
/// connection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) disconnect: bool,
}

impl Answer {
    /// `200 {"ok": true, …fields}`.
    pub(crate) fn ok(fields: Value) -> Self {
        let mut body = Map::new();
        body.insert("ok".into(), Value::Bool(true));
        if let Value::Object(fields) = fields {
            body.extend(fields);
        }
        Self::json(StatusCode::OK, Value::Object(body))
    }

    /// `200 {"ok": false, "error": code}`: how the Web API reports nearly every failure.
    pub(crate) fn error(code: &str) -> Self {
        Self::json(StatusCode::OK, json!({ "ok": false, "error": code }))
    }

    /// `{"ok": false, "error": code}` with another status (hooks, unknown methods).
    pub(crate) fn error_status(status: StatusCode, code: &str) -> Self {
        Self::json(status, json!({ "ok": false, "error": code }))
    }

    /// `ok: false` with each problem in `errors` (for `invalid_blocks`) and in
    /// `response_metadata.messages` as `[ERROR] …`, as Slack reports schema failures.
    pub(crate) fn problems(status: StatusCode, code: &str, lines: &[String]) -> Self {
        let messages: Vec<String> = lines.iter().map(|line| format!("[ERROR] {line}")).collect();
        let mut body = json!({
            "ok": false,
            "error": code,
            "response_metadata": { "messages": messages },
        });
        if code == "invalid_blocks" {
            body["errors"] = json!(lines);
        }
        Self::json(status, body)
    }

    /// `429` with `Retry-After` (whole seconds, at least 1) and `{"ok":false,"error":"ratelimited"}`.
    pub(crate) fn rate_limited(retry_after: Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let mut answer = Self::error_status(StatusCode::TOO_MANY_REQUESTS, "ratelimited");
        answer
            .headers
            .push(("retry-after".into(), secs.max(1).to_string()));
        answer
    }

    /// A bare status with an empty body.
    pub(crate) fn status(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
            disconnect: false,
        }
    }

    /// No answer at all: the connection is dropped.
    pub(crate) fn disconnect() -> Self {
        Self {
            disconnect: true,
            ..Self::status(StatusCode::OK)
        }
    }

    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
            disconnect: false,
        }
    }

    /// Adds Slack's charset warning to a JSON answer (`warning` and
    /// `response_metadata.warnings`).
    pub(crate) fn warn(mut self, warnings: &[&'static str]) -> Self {
        if warnings.is_empty() {
            return self;
        }
        if let Some(Value::Object(body)) = &mut self.body {
            body.insert("warning".into(), json!(warnings.join(",")));
            let metadata = body.entry("response_metadata").or_insert_with(|| json!({}));
            if let Value::Object(metadata) = metadata {
                metadata.insert("warnings".into(), json!(warnings));
            }
        }
        self
    }

    /// `ok` of the JSON body, if it has one.
    pub(crate) fn ok_flag(&self) -> Option<bool> {
        self.body
            .as_ref()
            .and_then(|body| body.get("ok"))
            .and_then(Value::as_bool)
    }

    /// `error` of the JSON body, if it has one.
    pub(crate) fn error_code(&self) -> Option<String> {
        self.body
            .as_ref()
            .and_then(|body| body.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        if self.disconnect {
            // A body that fails before its first byte makes the server abort the connection:
            // the client sees it closed without a complete response.
            let failing = futures::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault: connection dropped",
                ))
            });
            return Response::new(Body::from_stream(failing));
        }
        let mut response = match &self.body {
            Some(body) => (self.status, axum::Json(body.clone())).into_response(),
            None => self.status.into_response(),
        };
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_round_retry_after_up_to_whole_seconds() {
        let answer = Answer::rate_limited(Duration::from_millis(1500));
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            answer.headers,
            vec![("retry-after".to_owned(), "2".to_owned())]
        );
        assert_eq!(answer.error_code().as_deref(), Some("ratelimited"));
        let zero = Answer::rate_limited(Duration::ZERO);
        assert_eq!(zero.headers[0].1, "1");
    }

    #[test]
    fn warnings_go_where_slack_puts_them() {
        let answer = Answer::ok(json!({"ts": "1.2"})).warn(&["missing_charset"]);
        let body = answer.body.unwrap();
        assert_eq!(body["warning"], "missing_charset");
        assert_eq!(body["response_metadata"]["warnings"][0], "missing_charset");
        assert_eq!(body["ok"], true);
    }
}
