//! Error bodies in JumpCloud's formats, and the simulator's own start-up error.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The seed data is inconsistent (the message names the problem).
    #[error("invalid simulator seed: {0}")]
    Seed(String),
    /// The listening socket on 127.0.0.1 could not be opened.
    #[error("could not bind the simulator socket on 127.0.0.1")]
    Bind(#[source] std::io::Error),
}

/// An error answer, rendered in the body format JumpCloud uses for that case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// Missing or unknown API key: `401 {"message":"Unauthorized"}`.
    Unauthorized,
    /// Multi-organisation key without `x-org-id`.
    NoOrganizationSelected,
    /// `x-org-id` that is not 24 hex digits.
    InvalidOrganizationId,
    /// `x-org-id` unknown or not bound to the key.
    OrganizationNotFound,
    /// A malformed request; v2 routes add an empty `details` array (`ErrorDetails`).
    BadRequest { message: String, v2: bool },
    /// Unknown object id (or an object of another organisation).
    NotFound,
    /// The request is well formed but the object's state refuses it.
    Conflict(String),
    /// The per-key rate limit was hit.
    TooManyRequests { retry_after: Option<u64> },
    /// A known path with the wrong method.
    MethodNotAllowed,
    /// A request body over the simulator's limit.
    PayloadTooLarge,
}

impl ApiError {
    pub(crate) fn bad_request_v1(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            v2: false,
        }
    }

    pub(crate) fn bad_request_v2(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            v2: true,
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::NoOrganizationSelected => StatusCode::UNAUTHORIZED,
            ApiError::InvalidOrganizationId | ApiError::BadRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::OrganizationNotFound | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    pub(crate) fn body(&self) -> Value {
        let status = self.status();
        match self {
            ApiError::Unauthorized => json!({ "message": "Unauthorized" }),
            ApiError::NoOrganizationSelected => {
                json!({ "message": "Unauthorized: no organization selected" })
            }
            ApiError::TooManyRequests { .. } => json!({ "message": "Too Many Requests" }),
            ApiError::InvalidOrganizationId => {
                error_body(status, "Bad Request: invalid organization id")
            }
            ApiError::OrganizationNotFound => {
                error_body(status, "Not Found: organization not found")
            }
            ApiError::BadRequest { message, v2 } => {
                let mut body = error_body(status, message);
                if *v2 {
                    body["details"] = json!([]);
                }
                body
            }
            ApiError::Conflict(message) => error_body(status, message),
            ApiError::NotFound | ApiError::MethodNotAllowed | ApiError::PayloadTooLarge => {
                error_body(status, status.canonical_reason().unwrap_or("Error"))
            }
        }
    }
}

/// `{"code":…, "message":…, "status":…}`: the specs' `Error` definition.
pub(crate) fn error_body(status: StatusCode, message: &str) -> Value {
    json!({
        "code": status.as_u16(),
        "message": message,
        "status": status.canonical_reason().unwrap_or("Error"),
    })
}

/// A JSON answer with the content type JumpCloud sends.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status(), &self.body());
        if let ApiError::TooManyRequests {
            retry_after: Some(seconds),
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_errors_name_the_organization_and_use_documented_statuses() {
        for (error, status) in [
            (ApiError::NoOrganizationSelected, 401),
            (ApiError::InvalidOrganizationId, 400),
            (ApiError::OrganizationNotFound, 404),
        ] {
            assert_eq!(error.status().as_u16(), status);
            let message = error.body()["message"].as_str().unwrap().to_owned();
            assert!(message.contains("organization"), "{message}");
        }
    }

    #[test]
    fn v2_bad_requests_carry_details_and_v1_do_not() {
        assert_eq!(ApiError::bad_request_v2("x").body()["details"], json!([]));
        assert!(
            ApiError::bad_request_v1("x")
                .body()
                .get("details")
                .is_none()
        );
        assert_eq!(
            ApiError::NotFound.body(),
            json!({"code":404,"message":"Not Found","status":"Not Found"})
        );
    }

    #[test]
    fn rate_limit_answer_has_retry_after_only_when_asked() {
        let with = ApiError::TooManyRequests {
            retry_after: Some(3),
        }
        .into_response();
        assert_eq!(with.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(with.headers()[header::RETRY_AFTER], "3");
        let without = ApiError::TooManyRequests { retry_after: None }.into_response();
        assert!(without.headers().get(header::RETRY_AFTER).is_none());
    }
}
