//! The gate every request passes, in this order: record, latency, fault, rate limit, auth.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use tracing::Instrument;

use super::Shared;
use super::conn::ConnHandle;
use super::error::{ApiError, json_response};
use super::faults::{FaultAction, header_pairs};
use super::ratelimit::retry_after_secs;
use super::routes::Route;
use super::state::{Store, is_object_id};

/// The largest request body the simulator reads.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The organisation a request acts in, decided by the gate from the key and `x-org-id`.
#[derive(Debug, Clone)]
pub(crate) struct OrgCtx(pub(crate) String);

enum Verdict {
    Respond(Response),
    Drop,
}

/// The middleware in front of every route.
pub(crate) async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|matched| Route::recognize(request.method(), matched.as_str()));
    let span = tracing::debug_span!(
        "jumpcloud_sim_request",
        method = %request.method(),
        route = route.map_or("unknown", Route::template),
        status = tracing::field::Empty,
    );
    async move {
        let (parts, body) = request.into_parts();
        let (bytes, too_large) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => (bytes, false),
            Err(_) => (bytes::Bytes::new(), true),
        };
        let index = shared
            .record
            .push_request(super::record::RequestRecord::new(
                &parts.method,
                &parts.uri,
                &parts.headers,
                route,
                &bytes,
            ));
        let verdict = if too_large {
            Verdict::Respond(ApiError::PayloadTooLarge.into_response())
        } else {
            decide(
                &shared,
                route,
                Request::from_parts(parts, Body::from(bytes)),
                next,
            )
            .await
        };
        match verdict {
            Verdict::Respond(response) => {
                let status = response.status().as_u16();
                tracing::Span::current().record("status", status);
                shared.record.finish_request(index, Some(status), false);
                response
            }
            Verdict::Drop => {
                shared.record.finish_request(index, None, true);
                // Never written: the killed stream fails the write and hyper drops the connection.
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

async fn decide(
    shared: &Shared,
    route: Option<Route>,
    mut request: Request,
    next: Next,
) -> Verdict {
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let fault = shared
        .faults()
        .take(route, request.method(), request.uri().path());
    match fault {
        Some(FaultAction::Respond {
            status,
            body,
            headers,
        }) => {
            let mut response = json_response(status, &body);
            for (name, value) in header_pairs(&headers) {
                response.headers_mut().insert(name, value);
            }
            return Verdict::Respond(response);
        }
        Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(FaultAction::Drop) => {
            return match request.extensions().get::<ConnectInfo<ConnHandle>>() {
                Some(ConnectInfo(conn)) => {
                    conn.kill.trigger();
                    Verdict::Drop
                }
                // Only reachable when the router is served without the simulator's listener.
                None => Verdict::Respond(StatusCode::BAD_GATEWAY.into_response()),
            };
        }
        None => {}
    }

    let api_key = header_str(request.headers(), "x-api-key");
    {
        let mut limiter = shared.limiter();
        if let Err(wait) = limiter.check(api_key.unwrap_or_default(), Instant::now()) {
            let retry_after = limiter
                .limit()
                .filter(|limit| limit.sends_retry_after())
                .map(|_| retry_after_secs(wait));
            return Verdict::Respond(ApiError::TooManyRequests { retry_after }.into_response());
        }
    }

    let org = {
        let org_header = request
            .headers()
            .get("x-org-id")
            .map(|value| value.to_str());
        let store = shared.store();
        authorize(&store, api_key, org_header)
    };
    match org {
        Ok(org) => {
            request.extensions_mut().insert(OrgCtx(org));
            Verdict::Respond(next.run(request).await)
        }
        Err(error) => Verdict::Respond(error.into_response()),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Decides the organisation from the API key and the `x-org-id` header.
///
/// `org_header` is `None` when the header is absent and `Some(Err(_))` when it is not
/// visible ASCII. An empty (or blank) header counts as absent: JumpCloud's own code samples
/// send `x-org-id: ''`.
pub(crate) fn authorize<E>(
    store: &Store,
    api_key: Option<&str>,
    org_header: Option<Result<&str, E>>,
) -> Result<String, ApiError> {
    let orgs = api_key
        .filter(|key| !key.is_empty())
        .and_then(|key| store.keys.get(key))
        .ok_or(ApiError::Unauthorized)?;
    let requested = match org_header {
        None => None,
        Some(Err(_)) => return Err(ApiError::InvalidOrganizationId),
        Some(Ok(value)) => Some(value.trim()).filter(|value| !value.is_empty()),
    };
    match requested {
        None => match orgs.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(ApiError::NoOrganizationSelected),
        },
        Some(value) if !is_object_id(value) => Err(ApiError::InvalidOrganizationId),
        Some(value) => {
            let wanted = value.to_ascii_lowercase();
            if orgs.contains(&wanted) && store.org_exists(&wanted) {
                Ok(wanted)
            } else {
                Err(ApiError::OrganizationNotFound)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jumpcloud::state::OrgRec;

    const ONE: &str = "5a1b2c3d4e5f6a7b8c9d0e1f";
    const TWO: &str = "5a1b2c3d4e5f6a7b8c9d0e20";
    const THREE: &str = "5a1b2c3d4e5f6a7b8c9d0e21";

    fn store() -> Store {
        let mut store = Store::default();
        for id in [ONE, TWO, THREE] {
            store.orgs.push(OrgRec {
                id: id.to_owned(),
                name: id.to_owned(),
            });
        }
        store.keys.insert("single".into(), vec![ONE.to_owned()]);
        store
            .keys
            .insert("multi".into(), vec![ONE.to_owned(), TWO.to_owned()]);
        store
    }

    #[test]
    fn org_selection_follows_the_documented_codes() {
        let store = store();
        let auth = |key: Option<&str>, org: Option<&str>| authorize::<()>(&store, key, org.map(Ok));
        let upper = ONE.to_uppercase();
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<String, ApiError>);
        let cases: Vec<Case> = vec![
            (None, None, Err(ApiError::Unauthorized)),
            (Some(""), None, Err(ApiError::Unauthorized)),
            (Some("wrong"), Some(ONE), Err(ApiError::Unauthorized)),
            (Some("single"), None, Ok(ONE.to_owned())),
            (Some("single"), Some(""), Ok(ONE.to_owned())),
            (Some("single"), Some(ONE), Ok(ONE.to_owned())),
            (Some("single"), Some(&upper), Ok(ONE.to_owned())),
            (
                Some("single"),
                Some(TWO),
                Err(ApiError::OrganizationNotFound),
            ),
            (
                Some("single"),
                Some("acme"),
                Err(ApiError::InvalidOrganizationId),
            ),
            (Some("multi"), None, Err(ApiError::NoOrganizationSelected)),
            (
                Some("multi"),
                Some(" "),
                Err(ApiError::NoOrganizationSelected),
            ),
            (Some("multi"), Some(TWO), Ok(TWO.to_owned())),
            (
                Some("multi"),
                Some(THREE),
                Err(ApiError::OrganizationNotFound),
            ),
            (
                Some("multi"),
                Some("ffffffffffffffffffffffff"),
                Err(ApiError::OrganizationNotFound),
            ),
            (
                Some("multi"),
                Some("5a1b"),
                Err(ApiError::InvalidOrganizationId),
            ),
        ];
        for (key, org, expected) in cases {
            assert_eq!(auth(key, org), expected, "key {key:?}, org {org:?}");
        }
        assert_eq!(
            authorize(&store, Some("multi"), Some(Err(()))),
            Err(ApiError::InvalidOrganizationId)
        );
    }
}
