//! The fake's own errors, and Discord's JSON error answers.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

/// An error from the fake's test-facing API (not an HTTP answer to the bot).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// The listening socket on 127.0.0.1 could not be opened.
    #[error("could not bind the fake discord socket on 127.0.0.1")]
    Bind(#[source] std::io::Error),
    /// A wait ran out before its condition held.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        timeout: Duration,
    },
    /// No gateway session (connected, or waiting to resume) serves the interaction's shard.
    #[error("no gateway session serves this interaction's shard")]
    NoGatewaySession,
    /// The interaction kind is never sent over the gateway (a `PING`).
    #[error("a {kind} interaction is only sent to an http interactions endpoint")]
    HttpOnly {
        /// The interaction kind.
        kind: &'static str,
    },
    /// The message does not exist (any more).
    #[error("message {message_id} does not exist")]
    UnknownMessage {
        /// The message id.
        message_id: u64,
    },
    /// The message (as the user saw it) has no enabled button with this `custom_id`.
    #[error("the message has no enabled button with custom_id {custom_id:?}")]
    NoSuchButton {
        /// The `custom_id` asked for.
        custom_id: String,
    },
    /// The message is ephemeral and shown to another user only.
    #[error("user {user_id} cannot see ephemeral message {message_id}")]
    NotVisible {
        /// The user who tried to use the message.
        user_id: u64,
        /// The message.
        message_id: u64,
    },
    /// No modal with this `custom_id` was opened for this user.
    #[error("no modal with custom_id {custom_id:?} was shown to user {user_id}")]
    NoModal {
        /// The modal's `custom_id`.
        custom_id: String,
        /// The user.
        user_id: u64,
    },
    /// Discord's client would not let the user submit these values.
    #[error("the modal cannot be submitted: {problem}")]
    ModalInput {
        /// What the client would refuse.
        problem: String,
    },
    /// Delivering a signed interaction to an HTTP endpoint failed before any answer.
    #[error("delivering the interaction over http failed: {0}")]
    Delivery(String),
}

/// An error answer in Discord's format: `{"message": …, "code": …}` (plus `errors` for form
/// errors, `retry_after`/`global` for rate limits) and optional extra headers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(String, String)>,
}

impl ApiError {
    /// Any Discord JSON error.
    pub(crate) fn discord(status: StatusCode, code: u32, message: &str) -> Self {
        Self {
            status,
            body: json!({ "message": message, "code": code }),
            headers: Vec::new(),
        }
    }

    /// A wrong or missing bot token.
    pub(crate) fn unauthorized() -> Self {
        Self::discord(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
    }

    /// A path the fake does not serve.
    pub(crate) fn not_found() -> Self {
        Self::discord(StatusCode::NOT_FOUND, 0, "404: Not Found")
    }

    /// A served path with another method.
    pub(crate) fn method_not_allowed() -> Self {
        Self::discord(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed")
    }

    /// 10062: the interaction is unknown, its token wrong, or its 3-second window over.
    pub(crate) fn unknown_interaction() -> Self {
        Self::discord(StatusCode::NOT_FOUND, 10062, "Unknown interaction")
    }

    /// 40060: a second callback for one interaction.
    pub(crate) fn already_acknowledged() -> Self {
        Self::discord(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        )
    }

    /// 50001: a channel or guild the bot cannot see.
    pub(crate) fn missing_access() -> Self {
        Self::discord(StatusCode::FORBIDDEN, 50001, "Missing Access")
    }

    /// 10008: no such message (or not reachable this way, e.g. an ephemeral one by channel).
    pub(crate) fn unknown_message() -> Self {
        Self::discord(StatusCode::NOT_FOUND, 10008, "Unknown Message")
    }

    /// 10015: the webhook (application id + interaction token) is unknown, or the interaction
    /// was never acknowledged.
    pub(crate) fn unknown_webhook() -> Self {
        Self::discord(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
    }

    /// 50027: the interaction token is older than its 15-minute lifetime.
    pub(crate) fn invalid_webhook_token() -> Self {
        Self::discord(StatusCode::UNAUTHORIZED, 50027, "Invalid Webhook Token")
    }

    /// 20012: the application id in the path is not the bot's.
    pub(crate) fn not_your_application() -> Self {
        Self::discord(
            StatusCode::FORBIDDEN,
            20012,
            "You are not authorized to perform this action on this application",
        )
    }

    /// 50109: the body is not JSON.
    pub(crate) fn invalid_json() -> Self {
        Self::discord(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    }

    /// 50006: a message with nothing to show.
    pub(crate) fn empty_message() -> Self {
        Self::discord(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        )
    }

    /// 50035 with Discord's nested `errors` tree, one entry per (dotted path, code, message).
    pub(crate) fn invalid_form_body(problems: &[FormProblem]) -> Self {
        let mut tree = Map::new();
        for problem in problems {
            insert_problem(&mut tree, problem);
        }
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "message": "Invalid Form Body", "code": 50035, "errors": tree }),
            headers: Vec::new(),
        }
    }

    /// A `429` as Discord sends it: body `message`, `retry_after` (seconds, fractional) and
    /// `global`, headers `Retry-After` (whole seconds, rounded up) and the `X-RateLimit-*` set.
    pub(crate) fn rate_limited(retry_after: Duration, global: bool) -> Self {
        let secs = retry_after.as_secs_f64();
        let whole = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let reset = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 + secs;
        let mut headers = vec![
            ("retry-after".to_owned(), whole.max(1).to_string()),
            ("x-ratelimit-limit".to_owned(), "1".to_owned()),
            ("x-ratelimit-remaining".to_owned(), "0".to_owned()),
            ("x-ratelimit-reset".to_owned(), format!("{reset:.3}")),
            ("x-ratelimit-reset-after".to_owned(), format!("{secs:.3}")),
            ("x-ratelimit-bucket".to_owned(), "fake-bucket".to_owned()),
            (
                "x-ratelimit-scope".to_owned(),
                if global { "global" } else { "user" }.to_owned(),
            ),
        ];
        if global {
            headers.push(("x-ratelimit-global".to_owned(), "true".to_owned()));
        }
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: json!({
                "message": "You are being rate limited.",
                "retry_after": secs,
                "global": global,
            }),
            headers,
        }
    }
}

/// One entry of a 50035 `errors` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormProblem {
    /// Dotted path in the request body, e.g. `embeds.0.title`; empty for the body itself.
    pub(crate) path: String,
    /// Discord's error code string, e.g. `BASE_TYPE_MAX_LENGTH`.
    pub(crate) code: &'static str,
    /// The human message.
    pub(crate) message: String,
}

impl FormProblem {
    pub(crate) fn new(
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }

    /// `BASE_TYPE_MAX_LENGTH` for a string or array longer than `max`.
    pub(crate) fn too_long(path: impl Into<String>, max: usize) -> Self {
        Self::new(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        )
    }

    /// `BASE_TYPE_REQUIRED` for a missing field.
    pub(crate) fn required(path: impl Into<String>) -> Self {
        Self::new(path, "BASE_TYPE_REQUIRED", "This field is required")
    }
}

fn insert_problem(tree: &mut Map<String, Value>, problem: &FormProblem) {
    let mut node = tree;
    for segment in problem
        .path
        .split('.')
        .filter(|segment| !segment.is_empty())
    {
        let entry = node
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        node = next;
    }
    let errors = node
        .entry("_errors".to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = errors {
        list.push(json!({ "code": problem.code, "message": problem.message }));
    }
}

/// A JSON answer with a status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body.clone())).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body);
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
    fn form_errors_nest_by_path_like_discord() {
        let error = ApiError::invalid_form_body(&[
            FormProblem::too_long("embeds.0.title", 256),
            FormProblem::required("content"),
        ]);
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.body["code"], 50035);
        assert_eq!(
            error.body["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        assert_eq!(
            error.body["errors"]["content"]["_errors"][0]["message"],
            "This field is required"
        );
    }

    #[test]
    fn rate_limit_answers_carry_retry_after_in_body_and_headers() {
        let error = ApiError::rate_limited(Duration::from_millis(1500), false);
        assert_eq!(error.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.body["retry_after"], 1.5);
        assert_eq!(error.body["global"], false);
        let header = |name: &str| {
            error
                .headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(header("retry-after").as_deref(), Some("2"));
        assert_eq!(header("x-ratelimit-reset-after").as_deref(), Some("1.500"));
        assert_eq!(header("x-ratelimit-global"), None);
    }
}
