//! The REST routes under `/api/v10`: one enum, one route table, the gate in front of them
//! (record, latency, faults, bot-token check) and the handlers.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::Instrument;

use super::Shared;
use super::error::{ApiError, FormProblem, json_response};
use super::faults::Action;
use super::interaction::CallbackVia;
use super::record::{Auth, RequestRecord};
use super::state::Target;

/// One REST operation the fake serves (all under `/api/v10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `GET /gateway` (no token needed).
    Gateway,
    /// `GET /gateway/bot`.
    GatewayBot,
    /// `GET /users/@me`.
    CurrentUser,
    /// `GET /applications/@me`.
    CurrentApplication,
    /// `GET /oauth2/applications/@me`.
    OAuth2Application,
    /// `GET /applications/{application_id}/commands`.
    GetGlobalCommands,
    /// `PUT /applications/{application_id}/commands` (bulk overwrite).
    PutGlobalCommands,
    /// `GET /applications/{application_id}/guilds/{guild_id}/commands`.
    GetGuildCommands,
    /// `PUT /applications/{application_id}/guilds/{guild_id}/commands` (bulk overwrite).
    PutGuildCommands,
    /// `POST /interactions/{interaction_id}/{interaction_token}/callback` (no bot token).
    InteractionCallback,
    /// `GET /webhooks/{application_id}/{interaction_token}/messages/@original`.
    GetOriginalResponse,
    /// `PATCH /webhooks/{application_id}/{interaction_token}/messages/@original`.
    EditOriginalResponse,
    /// `DELETE /webhooks/{application_id}/{interaction_token}/messages/@original`.
    DeleteOriginalResponse,
    /// `POST /webhooks/{application_id}/{interaction_token}` (a follow-up).
    CreateFollowup,
    /// `GET /webhooks/{application_id}/{interaction_token}/messages/{message_id}`.
    GetFollowup,
    /// `PATCH /webhooks/{application_id}/{interaction_token}/messages/{message_id}`.
    EditFollowup,
    /// `DELETE /webhooks/{application_id}/{interaction_token}/messages/{message_id}`.
    DeleteFollowup,
    /// `POST /channels/{channel_id}/messages`.
    CreateMessage,
    /// `GET /channels/{channel_id}/messages/{message_id}`.
    GetMessage,
    /// `PATCH /channels/{channel_id}/messages/{message_id}`.
    EditMessage,
    /// `DELETE /channels/{channel_id}/messages/{message_id}`.
    DeleteMessage,
}

const GATEWAY: &str = "/api/v10/gateway";
const GATEWAY_BOT: &str = "/api/v10/gateway/bot";
const CURRENT_USER: &str = "/api/v10/users/@me";
const CURRENT_APPLICATION: &str = "/api/v10/applications/@me";
const OAUTH2_APPLICATION: &str = "/api/v10/oauth2/applications/@me";
const GLOBAL_COMMANDS: &str = "/api/v10/applications/{application_id}/commands";
const GUILD_COMMANDS: &str = "/api/v10/applications/{application_id}/guilds/{guild_id}/commands";
const CALLBACK: &str = "/api/v10/interactions/{interaction_id}/{interaction_token}/callback";
const ORIGINAL: &str = "/api/v10/webhooks/{application_id}/{interaction_token}/messages/@original";
const WEBHOOK: &str = "/api/v10/webhooks/{application_id}/{interaction_token}";
const FOLLOWUP: &str =
    "/api/v10/webhooks/{application_id}/{interaction_token}/messages/{message_id}";
const CHANNEL_MESSAGES: &str = "/api/v10/channels/{channel_id}/messages";
const CHANNEL_MESSAGE: &str = "/api/v10/channels/{channel_id}/messages/{message_id}";

impl Route {
    /// Every route.
    pub const ALL: [Route; 21] = [
        Route::Gateway,
        Route::GatewayBot,
        Route::CurrentUser,
        Route::CurrentApplication,
        Route::OAuth2Application,
        Route::GetGlobalCommands,
        Route::PutGlobalCommands,
        Route::GetGuildCommands,
        Route::PutGuildCommands,
        Route::InteractionCallback,
        Route::GetOriginalResponse,
        Route::EditOriginalResponse,
        Route::DeleteOriginalResponse,
        Route::CreateFollowup,
        Route::GetFollowup,
        Route::EditFollowup,
        Route::DeleteFollowup,
        Route::CreateMessage,
        Route::GetMessage,
        Route::EditMessage,
        Route::DeleteMessage,
    ];

    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Route::Gateway
            | Route::GatewayBot
            | Route::CurrentUser
            | Route::CurrentApplication
            | Route::OAuth2Application
            | Route::GetGlobalCommands
            | Route::GetGuildCommands
            | Route::GetOriginalResponse
            | Route::GetFollowup
            | Route::GetMessage => Method::GET,
            Route::PutGlobalCommands | Route::PutGuildCommands => Method::PUT,
            Route::InteractionCallback | Route::CreateFollowup | Route::CreateMessage => {
                Method::POST
            }
            Route::EditOriginalResponse | Route::EditFollowup | Route::EditMessage => Method::PATCH,
            Route::DeleteOriginalResponse | Route::DeleteFollowup | Route::DeleteMessage => {
                Method::DELETE
            }
        }
    }

    /// The path template, e.g. `/api/v10/channels/{channel_id}/messages`.
    pub fn template(self) -> &'static str {
        match self {
            Route::Gateway => GATEWAY,
            Route::GatewayBot => GATEWAY_BOT,
            Route::CurrentUser => CURRENT_USER,
            Route::CurrentApplication => CURRENT_APPLICATION,
            Route::OAuth2Application => OAUTH2_APPLICATION,
            Route::GetGlobalCommands | Route::PutGlobalCommands => GLOBAL_COMMANDS,
            Route::GetGuildCommands | Route::PutGuildCommands => GUILD_COMMANDS,
            Route::InteractionCallback => CALLBACK,
            Route::GetOriginalResponse
            | Route::EditOriginalResponse
            | Route::DeleteOriginalResponse => ORIGINAL,
            Route::CreateFollowup => WEBHOOK,
            Route::GetFollowup | Route::EditFollowup | Route::DeleteFollowup => FOLLOWUP,
            Route::CreateMessage => CHANNEL_MESSAGES,
            Route::GetMessage | Route::EditMessage | Route::DeleteMessage => CHANNEL_MESSAGE,
        }
    }

    /// Whether the route needs `Authorization: Bot <token>` (interaction callbacks and
    /// webhook routes authenticate by the interaction token in the path; `GET /gateway` is
    /// public).
    pub fn needs_bot_token(self) -> bool {
        !matches!(
            self,
            Route::Gateway
                | Route::InteractionCallback
                | Route::GetOriginalResponse
                | Route::EditOriginalResponse
                | Route::DeleteOriginalResponse
                | Route::CreateFollowup
                | Route::GetFollowup
                | Route::EditFollowup
                | Route::DeleteFollowup
        )
    }

    pub(crate) fn recognize(method: &Method, template: &str) -> Option<Route> {
        Route::ALL
            .into_iter()
            .find(|route| route.method() == *method && route.template() == template)
    }
}

/// The REST router, every route behind the gate; unknown paths answer Discord's `404`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(GATEWAY, get(gateway))
        .route(GATEWAY_BOT, get(gateway_bot))
        .route(CURRENT_USER, get(current_user))
        .route(CURRENT_APPLICATION, get(current_application))
        .route(OAUTH2_APPLICATION, get(current_application))
        .route(
            GLOBAL_COMMANDS,
            get(get_global_commands).put(put_global_commands),
        )
        .route(
            GUILD_COMMANDS,
            get(get_guild_commands).put(put_guild_commands),
        )
        .route(CALLBACK, post(callback))
        .route(
            ORIGINAL,
            get(get_original)
                .patch(edit_original)
                .delete(delete_original),
        )
        .route(WEBHOOK, post(create_followup))
        .route(
            FOLLOWUP,
            get(get_followup)
                .patch(edit_followup)
                .delete(delete_followup),
        )
        .route(CHANNEL_MESSAGES, post(create_message))
        .route(
            CHANNEL_MESSAGE,
            get(get_message).patch(edit_message).delete(delete_message),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate,
        ))
        .with_state(shared)
}

/// The largest request body the fake reads (Discord's limit is 25 MiB; JSON bodies here are
/// far smaller).
const MAX_BODY_BYTES: usize = 8 << 20;

/// In front of every REST request: record it, wait the latency, apply a fault, check the
/// bot token where the route needs one; then the handler; then the status is recorded.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|matched| Route::recognize(request.method(), matched.as_str()));
    let span = tracing::debug_span!(
        "discord_fake_request",
        method = %request.method(),
        route = route.map_or("unknown", Route::template),
        status = tracing::field::Empty,
    );
    async move {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .unwrap_or_default();
        let record = RequestRecord::new(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &shared.config.token,
            route,
            &bytes,
        );
        let auth = record.auth;
        let index = shared.push_request(record);

        let latency = shared.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let fault = shared.faults().take(route);
        let response = match fault {
            Some(Action::Respond(error)) => error.into_response(),
            other => {
                if let Some(Action::Delay(delay)) = other {
                    tokio::time::sleep(delay).await;
                }
                if route.is_some_and(Route::needs_bot_token) && auth != Auth::Valid {
                    ApiError::unauthorized().into_response()
                } else {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
            }
        };
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        shared.finish_request(index, status);
        response
    }
    .instrument(span)
    .await
}

async fn not_found() -> Response {
    ApiError::not_found().into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}

type Answer = Result<Response, ApiError>;

fn ok(body: &Value) -> Answer {
    Ok(json_response(StatusCode::OK, body))
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A path id: Discord answers `50035 … is not snowflake` for anything but digits.
fn snowflake(field: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::invalid_form_body(&[FormProblem::new(
            field,
            "NUMBER_TYPE_COERCE",
            format!("Value \"{raw}\" is not snowflake."),
        )])
    })
}

/// A JSON body; an empty one counts as `{}`.
fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| ApiError::invalid_json())
}

async fn gateway(State(shared): State<Arc<Shared>>) -> Answer {
    ok(&json!({ "url": shared.gateway_url }))
}

async fn gateway_bot(State(shared): State<Arc<Shared>>) -> Answer {
    ok(&json!({
        "url": shared.gateway_url,
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 14_400_000,
            "max_concurrency": 1,
        },
    }))
}

async fn current_user(State(shared): State<Arc<Shared>>) -> Answer {
    ok(&shared.config.bot.current_user_json())
}

async fn current_application(State(shared): State<Arc<Shared>>) -> Answer {
    let config = &shared.config;
    ok(&json!({
        "id": config.application_id.to_string(),
        "name": config.bot.username,
        "icon": null,
        "description": "",
        "summary": "",
        "type": null,
        "hook": true,
        "rpc_origins": [],
        "bot_public": false,
        "bot_require_code_grant": false,
        "terms_of_service_url": null,
        "privacy_policy_url": null,
        "verify_key": shared.public_key_hex(),
        "flags": 0,
        "owner": super::model::FakeUser::new(1_000_000_000_000_000_001, "owner").json(),
        "team": null,
        "bot": config.bot.json(),
        "interactions_endpoint_url": null,
        "redirect_uris": [],
        "integration_types_config": {"0": {}},
    }))
}

async fn get_global_commands(
    State(shared): State<Arc<Shared>>,
    Path(application_id): Path<String>,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    ok(&shared
        .state()
        .get_commands(&shared.config, application_id, None)?)
}

async fn put_global_commands(
    State(shared): State<Arc<Shared>>,
    Path(application_id): Path<String>,
    body: Bytes,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let body = body_json(&body)?;
    let answer = shared
        .state()
        .put_commands(&shared.config, application_id, None, &body);
    shared.notify();
    ok(&answer?)
}

async fn get_guild_commands(
    State(shared): State<Arc<Shared>>,
    Path((application_id, guild_id)): Path<(String, String)>,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let guild_id = snowflake("guild_id", &guild_id)?;
    ok(&shared
        .state()
        .get_commands(&shared.config, application_id, Some(guild_id))?)
}

async fn put_guild_commands(
    State(shared): State<Arc<Shared>>,
    Path((application_id, guild_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let guild_id = snowflake("guild_id", &guild_id)?;
    let body = body_json(&body)?;
    let answer = shared
        .state()
        .put_commands(&shared.config, application_id, Some(guild_id), &body);
    shared.notify();
    ok(&answer?)
}

async fn callback(
    State(shared): State<Arc<Shared>>,
    Path((interaction_id, token)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let Ok(interaction_id) = interaction_id.parse::<u64>() else {
        return Err(ApiError::unknown_interaction());
    };
    let body = body_json(&body)?;
    let answer = shared.state().callback(
        &shared.config,
        interaction_id,
        &token,
        &body,
        CallbackVia::Rest,
        Instant::now(),
    );
    shared.notify();
    answer?;
    no_content()
}

async fn get_original(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token)): Path<(String, String)>,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    ok(&shared.state().webhook_get(
        &shared.config,
        application_id,
        &token,
        Target::Original,
        Instant::now(),
    )?)
}

async fn edit_original(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let body = body_json(&body)?;
    let answer = shared.state().webhook_edit(
        &shared.config,
        application_id,
        &token,
        Target::Original,
        &body,
        Instant::now(),
    );
    shared.notify();
    ok(&answer?)
}

async fn delete_original(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token)): Path<(String, String)>,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let answer = shared.state().webhook_delete(
        &shared.config,
        application_id,
        &token,
        Target::Original,
        Instant::now(),
    );
    shared.notify();
    answer?;
    no_content()
}

async fn create_followup(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let body = body_json(&body)?;
    let answer = shared.state().create_followup(
        &shared.config,
        application_id,
        &token,
        &body,
        Instant::now(),
    );
    shared.notify();
    ok(&answer?)
}

async fn get_followup(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    ok(&shared.state().webhook_get(
        &shared.config,
        application_id,
        &token,
        Target::Id(message_id),
        Instant::now(),
    )?)
}

async fn edit_followup(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    let body = body_json(&body)?;
    let answer = shared.state().webhook_edit(
        &shared.config,
        application_id,
        &token,
        Target::Id(message_id),
        &body,
        Instant::now(),
    );
    shared.notify();
    ok(&answer?)
}

async fn delete_followup(
    State(shared): State<Arc<Shared>>,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
) -> Answer {
    let application_id = snowflake("application_id", &application_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    let answer = shared.state().webhook_delete(
        &shared.config,
        application_id,
        &token,
        Target::Id(message_id),
        Instant::now(),
    );
    shared.notify();
    answer?;
    no_content()
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(channel_id): Path<String>,
    body: Bytes,
) -> Answer {
    let channel_id = snowflake("channel_id", &channel_id)?;
    let body = body_json(&body)?;
    let answer = shared
        .state()
        .channel_create(&shared.config, channel_id, &body);
    shared.notify();
    ok(&answer?)
}

async fn get_message(
    State(shared): State<Arc<Shared>>,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> Answer {
    let channel_id = snowflake("channel_id", &channel_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    ok(&shared
        .state()
        .channel_get(&shared.config, channel_id, message_id)?)
}

async fn edit_message(
    State(shared): State<Arc<Shared>>,
    Path((channel_id, message_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let channel_id = snowflake("channel_id", &channel_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    let body = body_json(&body)?;
    let answer = shared
        .state()
        .channel_edit(&shared.config, channel_id, message_id, &body);
    shared.notify();
    ok(&answer?)
}

async fn delete_message(
    State(shared): State<Arc<Shared>>,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> Answer {
    let channel_id = snowflake("channel_id", &channel_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    let answer = shared
        .state()
        .channel_delete(&shared.config, channel_id, message_id);
    shared.notify();
    answer?;
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_recognized_by_its_own_method_and_template() {
        for route in Route::ALL {
            assert_eq!(
                Route::recognize(&route.method(), route.template()),
                Some(route)
            );
        }
        assert_eq!(Route::recognize(&Method::POST, CURRENT_USER), None);
    }

    #[test]
    fn only_bot_routes_need_the_bot_token() {
        assert!(Route::CreateMessage.needs_bot_token());
        assert!(Route::PutGuildCommands.needs_bot_token());
        assert!(!Route::InteractionCallback.needs_bot_token());
        assert!(!Route::EditOriginalResponse.needs_bot_token());
        assert!(!Route::Gateway.needs_bot_token());
    }
}
