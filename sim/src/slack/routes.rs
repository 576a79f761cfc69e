//! The HTTP side: the Web API under `{api_prefix}/{method}` and the `response_url` hooks, each
//! behind the gate (record, latency, faults, token check, rate limits).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value};
use tracing::Instrument;

use super::Shared;
use super::error::Answer;
use super::faults::{Action, Limit};
use super::record::{Auth, RequestRecord};

/// A Web API method the fake serves, or the `response_url` hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `auth.test`.
    AuthTest,
    /// `chat.postMessage`.
    ChatPostMessage,
    /// `chat.postEphemeral`.
    ChatPostEphemeral,
    /// `chat.update`.
    ChatUpdate,
    /// `chat.delete`.
    ChatDelete,
    /// `views.open`.
    ViewsOpen,
    /// `views.update`.
    ViewsUpdate,
    /// `users.info`.
    UsersInfo,
    /// `usergroups.users.list`.
    UsergroupsUsersList,
    /// A POST to a `response_url` (not a Web API method).
    ResponseUrl,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 10] = [
        Endpoint::AuthTest,
        Endpoint::ChatPostMessage,
        Endpoint::ChatPostEphemeral,
        Endpoint::ChatUpdate,
        Endpoint::ChatDelete,
        Endpoint::ViewsOpen,
        Endpoint::ViewsUpdate,
        Endpoint::UsersInfo,
        Endpoint::UsergroupsUsersList,
        Endpoint::ResponseUrl,
    ];

    /// The method name as in `https://slack.com/api/<name>` (`response_url` for the hooks).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::AuthTest => "auth.test",
            Endpoint::ChatPostMessage => "chat.postMessage",
            Endpoint::ChatPostEphemeral => "chat.postEphemeral",
            Endpoint::ChatUpdate => "chat.update",
            Endpoint::ChatDelete => "chat.delete",
            Endpoint::ViewsOpen => "views.open",
            Endpoint::ViewsUpdate => "views.update",
            Endpoint::UsersInfo => "users.info",
            Endpoint::UsergroupsUsersList => "usergroups.users.list",
            Endpoint::ResponseUrl => "response_url",
        }
    }

    /// The Web API method with this name.
    pub fn from_name(name: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .find(|endpoint| *endpoint != Endpoint::ResponseUrl && endpoint.name() == name)
    }

    /// The limit [`SlackFakeBuilder::rate_limits`](super::SlackFakeBuilder::rate_limits)
    /// enforces: Slack's tiers per workspace (Tier 2: 20/min, Tier 3: 50/min, Tier 4:
    /// 100/min), and for `chat.postMessage` about one message a second per channel (5 in any
    /// 5 seconds). `None`: not limited.
    pub(crate) fn limit(self) -> Option<Limit> {
        match self {
            Endpoint::UsergroupsUsersList => Some(Limit::per_minute(20)),
            Endpoint::ChatUpdate | Endpoint::ChatDelete => Some(Limit::per_minute(50)),
            Endpoint::ViewsOpen
            | Endpoint::ViewsUpdate
            | Endpoint::UsersInfo
            | Endpoint::AuthTest
            | Endpoint::ChatPostEphemeral => Some(Limit::per_minute(100)),
            Endpoint::ChatPostMessage => Some(Limit {
                calls: 5,
                window: std::time::Duration::from_secs(5),
            }),
            Endpoint::ResponseUrl => None,
        }
    }
}

/// The largest request body the fake reads.
const MAX_BODY_BYTES: usize = 2 << 20;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = format!("{}/{{method}}", shared.config.api_prefix);
    Router::new()
        .route(&api, any(web_api))
        .route("/hooks/{kind}/{team}/{hook_id}/{token}", any(response_url))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    Answer::error_status(StatusCode::NOT_FOUND, "not_found").into_response()
}

/// A Web API call's arguments: the query, then the JSON or form body.
struct Args {
    map: Map<String, Value>,
    warnings: Vec<&'static str>,
    token_in_body: bool,
}

fn parse_args(uri: &http::Uri, headers: &HeaderMap, body: &[u8]) -> Result<Args, Answer> {
    let mut map = Map::new();
    if let Some(query) = uri.query() {
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            map.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut warnings = Vec::new();
    if !body.is_empty() {
        if content_type.starts_with("application/json") {
            if !content_type.replace(' ', "").contains("charset=utf-8") {
                warnings.push("missing_charset");
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(fields)) => map.extend(fields),
                Ok(_) => return Err(Answer::error("json_not_object")),
                Err(_) => return Err(Answer::error("invalid_json")),
            }
        } else {
            if content_type.contains("charset") {
                warnings.push("superfluous_charset");
            }
            for (key, value) in url::form_urlencoded::parse(body) {
                map.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    let token_in_body = map.remove("token").is_some();
    Ok(Args {
        map,
        warnings,
        token_in_body,
    })
}

/// The bearer token's verdict, and its team.
fn authorize<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
) -> (Auth, Option<&'a super::state::Team>) {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return (Auth::Missing, None);
    };
    let team = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| shared.config.team_by_token(token));
    match team {
        Some(team) => (Auth::Valid, Some(team)),
        None => (Auth::Invalid, None),
    }
}

/// Latency, then the first matching fault: an answer to send instead, or nothing.
async fn before(shared: &Shared, endpoint: Option<Endpoint>) -> Option<Answer> {
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = shared.faults().take(endpoint);
    match fault {
        Some(Action::Respond(answer)) => Some(answer),
        Some(Action::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        None => None,
    }
}

async fn web_api(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let endpoint = Endpoint::from_name(&name);
    let span = tracing::debug_span!(
        "slack_fake_request",
        method = %request.method(),
        endpoint = endpoint.map_or("unknown", Endpoint::name),
        status = tracing::field::Empty,
    );
    async move {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let (auth, team) = authorize(&shared, &parts.headers);
        let parsed = parse_args(&parts.uri, &parts.headers, &bytes);
        let mut record = RequestRecord::new(
            endpoint,
            &parts.method,
            &parts.uri,
            &parts.headers,
            auth,
            &bytes,
        );
        if let Ok(args) = &parsed {
            record.args = Some(Value::Object(args.map.clone()));
            record.token_in_body = args.token_in_body;
        }
        let index = shared.push_request(record);
        let answer = match before(&shared, endpoint).await {
            Some(answer) => answer,
            None => match (endpoint, parsed) {
                (None, _) => Answer::error_status(StatusCode::NOT_FOUND, "unknown_method"),
                (Some(_), Err(answer)) => answer,
                (Some(endpoint), Ok(args)) => {
                    let answer = match (auth, team) {
                        (Auth::Missing, _) => Answer::error("not_authed"),
                        (_, None) => Answer::error("invalid_auth"),
                        (_, Some(team)) => {
                            let channel = args.map.get("channel").and_then(Value::as_str);
                            let now = shared.now();
                            let limited = shared.limiter().check(&team.id, endpoint, channel, now);
                            match limited {
                                Err(retry_after) => Answer::rate_limited(retry_after),
                                Ok(()) => {
                                    let wall = shared.wall();
                                    let answer = shared.state().call(
                                        &shared.config,
                                        endpoint,
                                        team,
                                        &args.map,
                                        now,
                                        wall,
                                    );
                                    shared.notify();
                                    answer
                                }
                            }
                        }
                    };
                    answer.warn(&args.warnings)
                }
            },
        };
        tracing::Span::current().record("status", answer.status.as_u16());
        shared.finish_request(index, &answer);
        answer.into_response()
    }
    .instrument(span)
    .await
}

async fn response_url(
    State(shared): State<Arc<Shared>>,
    Path((kind, team, hook_id, token)): Path<(String, String, String, String)>,
    request: Request,
) -> Response {
    let span = tracing::debug_span!(
        "slack_fake_request",
        method = %request.method(),
        endpoint = Endpoint::ResponseUrl.name(),
        status = tracing::field::Empty,
    );
    async move {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let (auth, _) = authorize(&shared, &parts.headers);
        let mut record = RequestRecord::new(
            Some(Endpoint::ResponseUrl),
            &parts.method,
            &parts.uri,
            &parts.headers,
            auth,
            &bytes,
        );
        record.args = serde_json::from_slice(&bytes).ok();
        let index = shared.push_request(record);
        let answer = match before(&shared, Some(Endpoint::ResponseUrl)).await {
            Some(answer) => answer,
            None if parts.method != Method::POST => {
                Answer::error_status(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            None => {
                let (now, wall) = (shared.now(), shared.wall());
                let answer = shared.state().response_url_post(
                    &shared.config,
                    &kind,
                    &team,
                    &hook_id,
                    &token,
                    &bytes,
                    now,
                    wall,
                );
                shared.notify();
                answer
            }
        };
        tracing::Span::current().record("status", answer.status.as_u16());
        shared.finish_request(index, &answer);
        answer.into_response()
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_hooks_are_not_a_method() {
        for endpoint in Endpoint::ALL {
            if endpoint == Endpoint::ResponseUrl {
                assert_eq!(Endpoint::from_name("response_url"), None);
            } else {
                assert_eq!(Endpoint::from_name(endpoint.name()), Some(endpoint));
            }
        }
        assert_eq!(Endpoint::from_name("chat.postmessage"), None);
    }

    #[test]
    fn json_without_charset_warns_and_a_body_token_is_noticed() {
        let uri: http::Uri = "/api/chat.postMessage?x=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        let args = parse_args(&uri, &headers, br#"{"channel":"C1","token":"xoxb-t"}"#)
            .ok()
            .unwrap();
        assert_eq!(args.warnings, vec!["missing_charset"]);
        assert!(args.token_in_body);
        assert_eq!(args.map["channel"], "C1");
        assert_eq!(args.map["x"], "1");
        assert!(!args.map.contains_key("token"));

        headers.insert(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        let bad = parse_args(&uri, &headers, b"{not json");
        assert_eq!(
            bad.err().and_then(|answer| answer.error_code()).as_deref(),
            Some("invalid_json")
        );

        headers.insert(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        let form = parse_args(&uri, &headers, b"channel=C2&text=a+b")
            .ok()
            .unwrap();
        assert_eq!(form.warnings, vec!["superfluous_charset"]);
        assert_eq!(form.map["text"], "a b");
    }
}
