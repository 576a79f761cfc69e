//! The Slack endpoints: `POST /slack/commands` (slash commands) and `POST /slack/interactions`
//! (`block_actions`, `view_submission`, `view_closed`).
//!
//! Each request goes through, in order:
//!
//! 1. [`SignedForm`]: the `v0` HMAC over the timestamp and the raw body, the five-minute
//!    window, the body limit and the replay set, before anything is decoded (`401`; `413`
//!    when too large; an unsigned `ssl_check=1` alone gets an empty `200`);
//! 2. the form, decoded once, duplicate keys refused (`400`: Slack never sends them); a signed
//!    form carrying `ssl_check` gets an empty `200` and goes nowhere;
//! 3. who it is for (reference §2.5): a request for another app (when `[slack] app_id` is
//!    set) or from a workspace not in `[slack.teams]` is answered `200` — for a command, with
//!    an ephemeral "this workspace is not served by passdesk" (Slack shows any other status
//!    as a failure the user cannot act on); for an interaction, empty (Slack ignores the
//!    body) — logged, and dispatched nowhere;
//! 4. the [`SlackHandler`] (the Slack core): its [`Initial`] answer is the `200` body, and
//!    its `after_sent` work (the core's `FollowUp`) starts once that body is written. Interactions of a type Passdesk
//!    does not use (shortcuts, …) are acked empty and dropped.
//!
//! The handler runs in its own task: if Slack hangs up (it waits 3 s), the work is not cut
//! off halfway; only the answer is lost. No body, form or payload is ever logged: a
//! `view_submission` holds a password.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::Stream;
use futures::future::BoxFuture;
use passdesk_config::SlackConfig;
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::core::{Ack, SlackCore};
use super::replay::SignatureReplayGuard;
use super::signature::{SignatureVerifier, SignedForm};
use super::wire::{Interaction, SlashCommand, WireError};

/// The slash command's Request URL path.
pub const COMMANDS_PATH: &str = "/slack/commands";
/// The Interactivity Request URL path.
pub const INTERACTIONS_PATH: &str = "/slack/interactions";
/// Slack's deadline for the acknowledgement.
pub const ACK_BUDGET: Duration = Duration::from_secs(3);
/// What a workspace (or app) that is not served is told.
pub const NOT_SERVED: &str = "this workspace is not served by passdesk";

/// Work to start once the acknowledgement has been handed to Slack.
pub type AfterSent = Box<dyn FnOnce() + Send + 'static>;

/// A request's acknowledgement, and what to do once it is sent.
#[must_use]
pub struct Initial {
    /// The `200` body: a message (JSON) for a command, a `response_action` for a
    /// `view_submission`; `None` for an empty body.
    pub body: Option<Value>,
    /// Run once the body has been written (or the connection is gone): `response_url` posts
    /// and Web API calls that should follow the ack.
    pub after_sent: Option<AfterSent>,
}

impl Initial {
    /// An empty `200`.
    pub fn empty() -> Self {
        Self {
            body: None,
            after_sent: None,
        }
    }

    /// A `200` with a JSON body and nothing after it.
    pub fn json(body: Value) -> Self {
        Self {
            body: Some(body),
            after_sent: None,
        }
    }

    /// The same ack, with work to start once it is sent.
    pub fn then(mut self, after_sent: AfterSent) -> Self {
        self.after_sent = Some(after_sent);
        self
    }
}

impl fmt::Debug for Initial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initial")
            .field("has_body", &self.body.is_some())
            .field("after_sent", &self.after_sent.is_some())
            .finish()
    }
}

impl From<Ack> for Initial {
    fn from(ack: Ack) -> Self {
        match ack {
            Ack::Empty => Initial::empty(),
            Ack::Json(body) => Initial::json(body),
        }
    }
}

/// The Slack core as the endpoints' handler: its ack is the HTTP answer, and its follow-up
/// starts once that answer is written.
impl SlackHandler for SlackCore {
    fn command(&self, command: SlashCommand) -> BoxFuture<'_, Initial> {
        Box::pin(async move { initial(SlackCore::command(self, command).await.into_parts()) })
    }

    fn interaction(&self, interaction: Interaction) -> BoxFuture<'_, Initial> {
        Box::pin(
            async move { initial(SlackCore::interaction(self, interaction).await.into_parts()) },
        )
    }
}

/// The core's ack and follow-up as an [`Initial`] answer.
fn initial((ack, follow_up): (Ack, super::core::FollowUp)) -> Initial {
    let answer = Initial::from(ack);
    if follow_up.is_empty() {
        answer
    } else {
        answer.then(Box::new(move || drop(follow_up.start())))
    }
}

/// What turns a verified, served request into its acknowledgement: the Slack core, or a
/// stand-in in tests.
pub trait SlackHandler: Send + Sync + 'static {
    /// The ack of a slash command, due within [`ACK_BUDGET`].
    fn command(&self, command: SlashCommand) -> BoxFuture<'_, Initial>;
    /// The ack of an interaction (`block_actions`, `view_submission`, `view_closed`; never
    /// [`Interaction::Other`]), due within [`ACK_BUDGET`].
    fn interaction(&self, interaction: Interaction) -> BoxFuture<'_, Initial>;
}

/// Which app and workspaces are served (reference §2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    app_id: Option<String>,
    teams: BTreeSet<String>,
}

impl Served {
    /// Requests for `app_id` (any app when `None`) from the `teams`.
    pub fn new(app_id: Option<String>, teams: impl IntoIterator<Item = String>) -> Self {
        Self {
            app_id,
            teams: teams.into_iter().collect(),
        }
    }

    /// From `[slack] app_id` and `[slack.teams]`.
    pub fn from_config(config: &SlackConfig) -> Self {
        Self::new(
            config.app_id.as_ref().map(|app| app.as_str().to_owned()),
            config.teams.keys().map(|team| team.as_str().to_owned()),
        )
    }

    /// Whether a request for `app_id` from `team_id` is served. A request without an app id
    /// is served when no app id is configured; one without a team never is.
    pub fn admits(&self, app_id: Option<&str>, team_id: Option<&str>) -> bool {
        let app_ok = match &self.app_id {
            Some(expected) => app_id == Some(expected.as_str()),
            None => true,
        };
        app_ok && team_id.is_some_and(|team| self.teams.contains(team))
    }
}

/// The endpoints' state: the verifier, the replay set, the handler and who is served.
#[derive(Clone)]
pub struct SlackHttpState {
    verifier: Arc<SignatureVerifier>,
    replay: Arc<SignatureReplayGuard>,
    handler: Arc<dyn SlackHandler>,
    served: Arc<Served>,
}

impl fmt::Debug for SlackHttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackHttpState")
            .field("verifier", &self.verifier)
            .field("replay", &self.replay.len())
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl SlackHttpState {
    /// The endpoints' state from its parts.
    pub fn new(
        verifier: SignatureVerifier,
        replay: Arc<SignatureReplayGuard>,
        handler: Arc<dyn SlackHandler>,
        served: Served,
    ) -> Self {
        Self {
            verifier: Arc::new(verifier),
            replay,
            handler,
            served: Arc::new(served),
        }
    }

    /// The replay set (to start its sweeper, or look at it in tests).
    pub fn replay(&self) -> &Arc<SignatureReplayGuard> {
        &self.replay
    }
}

impl FromRef<SlackHttpState> for Arc<SignatureVerifier> {
    fn from_ref(state: &SlackHttpState) -> Self {
        Arc::clone(&state.verifier)
    }
}

impl FromRef<SlackHttpState> for Arc<SignatureReplayGuard> {
    fn from_ref(state: &SlackHttpState) -> Self {
        Arc::clone(&state.replay)
    }
}

/// The Slack routes (`POST /slack/commands`, `POST /slack/interactions`), to merge into the
/// server's router.
pub fn routes(state: SlackHttpState) -> Router {
    Router::new()
        .route(COMMANDS_PATH, post(commands))
        .route(INTERACTIONS_PATH, post(interactions))
        .with_state(state)
}

/// Why a signed request was not dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The signed body is not a form Slack sends (duplicate keys, a required field missing,
    /// a `payload` that is not an interaction).
    #[error("malformed slack request")]
    Malformed,
    /// The handler failed (a bug: it panicked).
    #[error("the request could not be handled")]
    Handler,
}

impl IntoResponse for DeliveryError {
    fn into_response(self) -> Response {
        let status = match self {
            DeliveryError::Malformed => StatusCode::BAD_REQUEST,
            DeliveryError::Handler => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

/// `POST /slack/commands`.
async fn commands(
    State(state): State<SlackHttpState>,
    signed: SignedForm,
) -> Result<Response, DeliveryError> {
    let received = Instant::now();
    if has_ssl_check(&signed.body) {
        return Ok(StatusCode::OK.into_response());
    }
    let command = SlashCommand::from_form(&signed.body).map_err(malformed)?;
    let span = tracing::info_span!(
        "slack.http_request",
        platform = "slack",
        kind = "slash_command",
        team_id = %command.team_id,
        user_id = %command.user_id,
    );
    if !state
        .served
        .admits(command.api_app_id.as_deref(), Some(&command.team_id))
    {
        span.in_scope(|| tracing::warn!("slash command from a workspace or app not served"));
        return Ok(json_response(
            &serde_json::json!({ "response_type": "ephemeral", "text": NOT_SERVED }),
            None,
            &span,
        ));
    }
    let handler = Arc::clone(&state.handler);
    let ack = dispatch(async move { handler.command(command).await }, &span).await?;
    finish(ack, received, &span)
}

/// `POST /slack/interactions`.
async fn interactions(
    State(state): State<SlackHttpState>,
    signed: SignedForm,
) -> Result<Response, DeliveryError> {
    let received = Instant::now();
    if has_ssl_check(&signed.body) {
        return Ok(StatusCode::OK.into_response());
    }
    let interaction = Interaction::from_form(&signed.body).map_err(malformed)?;
    let (app_id, team_id, user_id) = match &interaction {
        Interaction::BlockActions(press) => (&press.api_app_id, &press.team, &press.user.id),
        Interaction::ViewSubmission(view) | Interaction::ViewClosed(view) => {
            (&view.api_app_id, &view.team, &view.user.id)
        }
        _ => {
            tracing::debug!("slack interaction type not used by passdesk: ignored");
            return Ok(StatusCode::OK.into_response());
        }
    };
    let team_id = team_id.as_ref().map(|team| team.id.as_str());
    let span = tracing::info_span!(
        "slack.http_request",
        platform = "slack",
        kind = interaction.kind(),
        team_id = team_id.unwrap_or(""),
        user_id = %user_id,
    );
    if !state.served.admits(app_id.as_deref(), team_id) {
        span.in_scope(|| tracing::warn!("interaction from a workspace or app not served"));
        return Ok(StatusCode::OK.into_response());
    }
    let handler = Arc::clone(&state.handler);
    let ack = dispatch(async move { handler.interaction(interaction).await }, &span).await?;
    finish(ack, received, &span)
}

/// Whether a signed form carries `ssl_check` (then it is answered, not dispatched).
fn has_ssl_check(body: &[u8]) -> bool {
    url::form_urlencoded::parse(body).any(|(key, _)| key == "ssl_check")
}

/// A signed body that is not what Slack sends: logged by kind (never with the body).
fn malformed(error: WireError) -> DeliveryError {
    tracing::warn!(%error, "a signed slack request could not be read");
    DeliveryError::Malformed
}

/// Runs the handler in its own task, within the request's span.
async fn dispatch(
    work: impl Future<Output = Initial> + Send + 'static,
    span: &tracing::Span,
) -> Result<Initial, DeliveryError> {
    tokio::spawn(work.instrument(span.clone()))
        .await
        .map_err(|error| {
            span.in_scope(|| tracing::error!(%error, "the slack handler failed"));
            DeliveryError::Handler
        })
}

/// The `200` answer carrying the ack, with a warning when it is later than Slack waits.
fn finish(
    ack: Initial,
    received: Instant,
    span: &tracing::Span,
) -> Result<Response, DeliveryError> {
    let elapsed = received.elapsed();
    if elapsed >= ACK_BUDGET {
        span.in_scope(|| {
            tracing::warn!(
                elapsed_ms = elapsed.as_millis(),
                "acknowledgement later than slack's 3 s deadline"
            );
        });
    }
    let Initial { body, after_sent } = ack;
    match body {
        Some(body) => Ok(json_response(&body, after_sent, span)),
        None => Ok(body_response(None, None, after_sent, span)),
    }
}

/// A `200` JSON answer (an unserialisable value cannot occur: it is a `Value`).
fn json_response(body: &Value, after_sent: Option<AfterSent>, span: &tracing::Span) -> Response {
    let json = Bytes::from(body.to_string());
    body_response(
        Some(json),
        Some(HeaderValue::from_static("application/json")),
        after_sent,
        span,
    )
}

/// A `200` whose `after_sent` work starts once the body has been handed to the connection.
fn body_response(
    data: Option<Bytes>,
    content_type: Option<HeaderValue>,
    after_sent: Option<AfterSent>,
    span: &tracing::Span,
) -> Response {
    let length = data.as_ref().map_or(0, Bytes::len);
    let mut response = Body::from_stream(ThenStream {
        data,
        after_sent,
        span: span.clone(),
    })
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// A body of at most one chunk that runs its `after_sent` work when dropped, i.e. once hyper
/// has written it (or given up on the connection).
struct ThenStream {
    data: Option<Bytes>,
    after_sent: Option<AfterSent>,
    span: tracing::Span,
}

impl Stream for ThenStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.data.take().map(Ok))
    }
}

impl Drop for ThenStream {
    fn drop(&mut self) {
        if let Some(after_sent) = self.after_sent.take() {
            if self.data.is_some() {
                self.span.in_scope(|| {
                    tracing::warn!("the ack was not sent (connection gone); following up anyway");
                });
            }
            let _entered = self.span.enter();
            after_sent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use axum::http::Request;
    use secrecy::SecretString;
    use serde_json::json;
    use tower::ServiceExt as _;

    use crate::slack::signature::{Clock, SIGNATURE_HEADER, TIMESTAMP_HEADER};

    const SECRET: &str = "unit-signing-secret";
    const NOW: i64 = 1_700_000_000;
    const APP: &str = "A0PASSDESK";
    const TEAM: &str = "T0PASSDESK";

    struct FixedClock;

    impl Clock for FixedClock {
        fn unix_now(&self) -> i64 {
            NOW
        }
    }

    /// Records what reached it; the second list records the acks whose `after_sent` ran.
    #[derive(Default)]
    struct Recorder {
        commands: Mutex<Vec<SlashCommand>>,
        interactions: Mutex<Vec<String>>,
        after: Arc<Mutex<Vec<String>>>,
    }

    impl SlackHandler for Recorder {
        fn command(&self, command: SlashCommand) -> BoxFuture<'_, Initial> {
            let text = command.text.clone();
            self.commands.lock().unwrap().push(command);
            let after = Arc::clone(&self.after);
            Box::pin(async move {
                let reply = json!({"response_type": "ephemeral", "text": format!("plan: {text}")});
                Initial::json(reply).then(Box::new(move || after.lock().unwrap().push(text)))
            })
        }

        fn interaction(&self, interaction: Interaction) -> BoxFuture<'_, Initial> {
            let seen = match &interaction {
                Interaction::BlockActions(press) => format!(
                    "{} pressed {}",
                    press.user.id,
                    press.actions.first().map_or("", |a| a.action_id.as_str())
                ),
                other => other.kind().to_owned(),
            };
            self.interactions.lock().unwrap().push(seen);
            Box::pin(async { Initial::empty() })
        }
    }

    fn app(recorder: Arc<Recorder>) -> Router {
        let verifier = SignatureVerifier::new(SecretString::from(SECRET.to_owned()))
            .with_clock(Arc::new(FixedClock));
        routes(SlackHttpState::new(
            verifier,
            Arc::new(SignatureReplayGuard::default()),
            recorder,
            Served::new(Some(APP.to_owned()), [TEAM.to_owned()]),
        ))
    }

    fn signed(path: &str, body: &str) -> Request<Body> {
        let ts = NOW.to_string();
        Request::post(path)
            .header(
                SIGNATURE_HEADER,
                passdesk_sim::slack::sign(SECRET, &ts, body.as_bytes()),
            )
            .header(TIMESTAMP_HEADER, ts)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 65_536)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    fn command_form(team: &str, app: &str, text: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", "legacy")
            .append_pair("team_id", team)
            .append_pair("channel_id", "C0HELPDESK")
            .append_pair("user_id", "U0REQUEST1")
            .append_pair("command", "/passdesk")
            .append_pair("text", text)
            .append_pair("api_app_id", app)
            .append_pair("response_url", "http://127.0.0.1:1/hooks/x")
            .append_pair("trigger_id", "1.2.3")
            .finish()
    }

    fn interaction_form(payload: &Value) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
    }

    #[tokio::test]
    async fn a_command_reaches_the_handler_and_its_ack_is_the_answer() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        let (status, content_type, body) = send(
            &app,
            signed(COMMANDS_PATH, &command_form(TEAM, APP, "reset user:jc.one")),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        let ack: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(ack["text"], "plan: reset user:jc.one");
        let commands = recorder.commands.lock().unwrap();
        assert_eq!(commands.len(), 1);
        assert_eq!(commands[0].user_id, "U0REQUEST1");
        assert_eq!(commands[0].command, "/passdesk");
        assert_eq!(commands[0].trigger_id.as_deref(), Some("1.2.3"));
        drop(commands);
        assert_eq!(
            *recorder.after.lock().unwrap(),
            vec!["reset user:jc.one".to_owned()],
            "the follow-up ran once the ack was out"
        );
    }

    #[tokio::test]
    async fn an_unserved_workspace_or_app_is_told_so_and_nothing_is_dispatched() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        for form in [
            command_form("T0STRANGER", APP, "help"),
            command_form(TEAM, "A0OTHERAPP", "help"),
        ] {
            let (status, _, body) = send(&app, signed(COMMANDS_PATH, &form)).await;
            assert_eq!(status, StatusCode::OK);
            let ack: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(ack["response_type"], "ephemeral");
            assert_eq!(ack["text"], NOT_SERVED);
        }
        let stranger = json!({"type": "block_actions", "api_app_id": APP,
                              "team": {"id": "T0STRANGER"}, "user": {"id": "U1"}});
        let (status, _, body) = send(
            &app,
            signed(INTERACTIONS_PATH, &interaction_form(&stranger)),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
        assert!(recorder.commands.lock().unwrap().is_empty());
        assert!(recorder.interactions.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn interactions_are_dispatched_by_type() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        let press = json!({"type": "block_actions", "api_app_id": APP,
                           "team": {"id": TEAM}, "user": {"id": "U0REQUEST1"},
                           "actions": [{"action_id": "pd:confirm", "value": "7f3a"}]});
        let shortcut = json!({"type": "shortcut", "api_app_id": APP, "team": {"id": TEAM},
                              "user": {"id": "U0REQUEST1"}});
        let (status, _, body) =
            send(&app, signed(INTERACTIONS_PATH, &interaction_form(&press))).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
        let (status, _, _) = send(
            &app,
            signed(INTERACTIONS_PATH, &interaction_form(&shortcut)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "an unused type is acked");
        assert_eq!(
            *recorder.interactions.lock().unwrap(),
            vec!["U0REQUEST1 pressed pd:confirm".to_owned()]
        );
    }

    #[tokio::test]
    async fn signed_but_malformed_forms_are_client_errors_and_ssl_checks_go_nowhere() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        let twice = format!("{}&text=again", command_form(TEAM, APP, "help"));
        for (path, body) in [
            (COMMANDS_PATH, twice.as_str()),
            (COMMANDS_PATH, "text=help"),
            (INTERACTIONS_PATH, "payload=not-json"),
            (INTERACTIONS_PATH, "payload=%5B1%5D"),
            (INTERACTIONS_PATH, "payload=%7B%7D&payload=%7B%7D"),
            (INTERACTIONS_PATH, "other=%7B%7D"),
            (INTERACTIONS_PATH, ""),
        ] {
            let (status, _, _) = send(&app, signed(path, body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        }
        let ssl = format!("ssl_check=1&{}", command_form(TEAM, APP, "help"));
        let (status, _, body) = send(&app, signed(COMMANDS_PATH, &ssl)).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
        assert!(recorder.commands.lock().unwrap().is_empty());
        assert!(recorder.interactions.lock().unwrap().is_empty());
    }

    #[test]
    fn served_needs_the_app_when_configured_and_always_a_known_team() {
        let any_app = Served::new(None, [TEAM.to_owned()]);
        assert!(any_app.admits(None, Some(TEAM)));
        assert!(any_app.admits(Some("A0ANY"), Some(TEAM)));
        assert!(!any_app.admits(None, None));
        let pinned = Served::new(Some(APP.to_owned()), [TEAM.to_owned()]);
        assert!(pinned.admits(Some(APP), Some(TEAM)));
        assert!(!pinned.admits(None, Some(TEAM)));
        assert!(!pinned.admits(Some(APP), Some("T0OTHER")));
    }
}
