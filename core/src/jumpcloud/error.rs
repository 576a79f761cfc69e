//! What can go wrong talking to JumpCloud, as variants a caller can act on.

use std::time::Duration;

use super::types::InvalidValue;
use super::wire;
use crate::http::excerpt;

/// A JumpCloud client error. Messages are lowercase and carry at most a bounded, single-line
/// excerpt of an upstream body ([`crate::http::excerpt`]); never a key, query string or request
/// body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The user or group does not exist (`404`, or no match for a name).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `user 5f0c…` or `user group "New Hires"`.
        what: String,
    },
    /// A name matched more than one record; the client does not guess.
    #[error("{what} matches {count} records; refusing to guess")]
    Ambiguous {
        /// What was looked for.
        what: String,
        /// How many records matched.
        count: usize,
    },
    /// `401` for a reason other than a missing organisation: the API key is wrong or revoked.
    #[error("jumpcloud refused the api key (401 unauthorized)")]
    Unauthorized,
    /// `403`: the administrator lacks the right, or the caller's IP is blocked for suspected
    /// abuse; the excerpt tells which.
    #[error("jumpcloud refused the request (403 forbidden): {excerpt}")]
    Forbidden {
        /// A bounded excerpt of the upstream message.
        excerpt: String,
    },
    /// `401 "Unauthorized: no organization selected"`: the key administers several
    /// organisations and no organisation id (`x-org-id`) was configured.
    #[error("the api key administers several organisations: configure an organisation id")]
    OrgRequired,
    /// `400` on a request that carried `x-org-id`, whose message mentions the organisation.
    #[error("jumpcloud rejected the configured organisation id as malformed: {excerpt}")]
    OrgMalformed {
        /// A bounded excerpt of the upstream message.
        excerpt: String,
    },
    /// `404` on a request that carried `x-org-id`, where the message mentions the organisation
    /// (or the route names no resource that could be missing instead).
    #[error("jumpcloud does not know the configured organisation id: {excerpt}")]
    UnknownOrg {
        /// A bounded excerpt of the upstream message.
        excerpt: String,
    },
    /// `429`, still after every retry the policy allowed.
    #[error("jumpcloud is rate limiting requests{}", after_text(.retry_after))]
    RateLimited {
        /// The server's last `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Any other unexpected status (`5xx` after retries, `409`, `3xx`, …).
    #[error("jumpcloud answered {status}: {excerpt}")]
    Upstream {
        /// The HTTP status.
        status: u16,
        /// A bounded excerpt of the upstream message.
        excerpt: String,
    },
    /// The request timed out, still after every retry the policy allowed.
    #[error("the request to jumpcloud timed out")]
    Timeout,
    /// The connection failed (refused, DNS, TLS, broken), still after every retry allowed.
    #[error("could not talk to jumpcloud: {source}")]
    Transport {
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// A state-changing request that must not be repeated (the reset mail) may have reached
    /// JumpCloud, but no answer says whether it acted. It was not resent.
    #[error(
        "jumpcloud may have acted on the request but did not confirm it{}; it was not resent",
        status_text(.status)
    )]
    SentButUnknown {
        /// The `5xx` status, or `None` for a timeout or a broken connection.
        status: Option<u16>,
    },
    /// A response did not have the expected shape.
    #[error("unexpected response from jumpcloud: {detail}")]
    Decode {
        /// What was wrong, bounded.
        detail: String,
    },
    /// An input or setting was refused before anything was sent.
    #[error(transparent)]
    InvalidInput(#[from] InvalidValue),
    /// A listing kept returning pages past the bound derived from its announced total.
    #[error("jumpcloud kept returning pages after {pages}; stopped to avoid looping forever")]
    Pagination {
        /// Pages fetched before stopping.
        pages: u64,
    },
}

fn after_text(after: &Option<Duration>) -> String {
    match after {
        Some(d) => format!(" (retry after {} s)", d.as_secs_f64().ceil()),
        None => String::new(),
    }
}

fn status_text(status: &Option<u16>) -> String {
    match status {
        Some(s) => format!(" (status {s})"),
        None => " (no answer)".to_owned(),
    }
}

impl Error {
    pub(crate) fn decode(detail: impl AsRef<str>) -> Self {
        Self::Decode {
            detail: excerpt(detail.as_ref()),
        }
    }

    pub(crate) fn transport(source: reqwest::Error) -> Self {
        Self::Transport {
            source: source.without_url(),
        }
    }
}

/// A result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a message names the organisation: a word starting with `org` (`org`, `orgId`,
/// `organization`, `organisation`, `x-org-id`…), compared case-insensitively.
fn mentions_org(message: &str) -> bool {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word.to_ascii_lowercase().starts_with("org"))
}

/// What the final answer of one request means, for statuses that are not retried (`4xx` other
/// than `429`, and `3xx`).
///
/// The organisation rules, from the multi-tenant section of JumpCloud's v1 spec and the observed
/// bodies (reference §1, §6, trap 9):
/// - `401` whose message contains "no organization selected" → [`Error::OrgRequired`]; any other
///   `401` → [`Error::Unauthorized`];
/// - `400` when `x-org-id` was sent and the message mentions the organisation →
///   [`Error::OrgMalformed`];
/// - `404` when `x-org-id` was sent and either the message mentions the organisation or the
///   route names no resource (a search or list cannot miss a user) → [`Error::UnknownOrg`];
///   any other `404` on a route naming a resource → [`Error::NotFound`] for `what`.
pub(crate) fn classify(
    status: u16,
    body: &[u8],
    org_sent: bool,
    names_a_resource: bool,
    what: impl FnOnce() -> String,
) -> Error {
    let message = wire::error_message(body);
    let bounded = excerpt(&message);
    match status {
        401 if message
            .to_ascii_lowercase()
            .contains("no organization selected") =>
        {
            Error::OrgRequired
        }
        401 => Error::Unauthorized,
        403 => Error::Forbidden { excerpt: bounded },
        400 if org_sent && mentions_org(&message) => Error::OrgMalformed { excerpt: bounded },
        404 if org_sent && (mentions_org(&message) || !names_a_resource) => {
            Error::UnknownOrg { excerpt: bounded }
        }
        404 if names_a_resource => Error::NotFound { what: what() },
        _ => Error::Upstream {
            status,
            excerpt: bounded,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(e: &Error) -> &'static str {
        match e {
            Error::NotFound { .. } => "NotFound",
            Error::Unauthorized => "Unauthorized",
            Error::Forbidden { .. } => "Forbidden",
            Error::OrgRequired => "OrgRequired",
            Error::OrgMalformed { .. } => "OrgMalformed",
            Error::UnknownOrg { .. } => "UnknownOrg",
            Error::Upstream { .. } => "Upstream",
            _ => "other",
        }
    }

    #[test]
    fn classification_table() {
        #[rustfmt::skip]
        let table: &[(u16, &str, bool, bool, &str)] = &[
            // status, body, org sent, route names a resource, expected
            (401, r#"{"message":"Unauthorized"}"#, false, true, "Unauthorized"),
            (401, r#"{"message":"Unathorized: api key user not found"}"#, true, true, "Unauthorized"),
            (401, r#"{"message":"Unauthorized: no organization selected"}"#, false, true, "OrgRequired"),
            (401, r#"{"error":"Unauthorized: No Organization Selected"}"#, false, false, "OrgRequired"),
            (403, r#"{"code":403,"message":"Forbidden","status":"Forbidden"}"#, false, true, "Forbidden"),
            (403, "Forbidden, your IP has been blocked due to suspected abuse", true, false, "Forbidden"),
            (400, r#"{"message":"invalid organization id"}"#, true, true, "OrgMalformed"),
            (400, r#"{"message":"x-org-id is malformed"}"#, true, false, "OrgMalformed"),
            (400, r#"{"message":"invalid organization id"}"#, false, true, "Upstream"),
            (400, r#"{"code":400,"message":"invalid object id","status":"Bad Request"}"#, true, true, "Upstream"),
            (400, r#"{"message":"forgotten field"}"#, true, true, "Upstream"),
            (404, r#"{"message":"Organization not found"}"#, true, true, "UnknownOrg"),
            (404, r#"{"code":404,"message":"Not Found","status":"Not Found"}"#, true, true, "NotFound"),
            (404, r#"{"code":404,"message":"Not Found","status":"Not Found"}"#, false, true, "NotFound"),
            (404, r#"{"message":"Not Found"}"#, true, false, "UnknownOrg"),
            (404, r#"{"message":"Not Found"}"#, false, false, "Upstream"),
            (404, r#"{"message":"Organization not found"}"#, false, true, "NotFound"),
            (409, r#"{"message":"Already Exists"}"#, true, true, "Upstream"),
            (302, "", false, true, "Upstream"),
        ];
        for (i, &(status, body, org, named, want)) in table.iter().enumerate() {
            let got = classify(status, body.as_bytes(), org, named, || "user x".to_owned());
            assert_eq!(
                kind(&got),
                want,
                "row {i}: {status} {body} org={org}: {got}"
            );
        }
    }

    #[test]
    fn excerpts_are_bounded_and_messages_lowercase() {
        let body = format!(r#"{{"message":"{}"}}"#, "x".repeat(5_000));
        let e = classify(403, body.as_bytes(), false, true, String::new);
        let text = e.to_string();
        assert!(text.len() < 400, "{}", text.len());
        assert!(text.starts_with("jumpcloud refused"));
        let e = classify(404, b"{}", false, true, || "user 5f0c".to_owned());
        assert_eq!(e.to_string(), "user 5f0c not found");
        let e = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            e.to_string(),
            "jumpcloud is rate limiting requests (retry after 3 s)"
        );
        let e = Error::SentButUnknown { status: Some(502) };
        assert!(e.to_string().contains("not resent"), "{e}");
    }
}
