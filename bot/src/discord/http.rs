//! The HTTP interactions endpoint: `POST /discord/interactions`.
//!
//! Each delivery goes through, in order:
//!
//! 1. [`SignedBody`]: the Ed25519 signature over timestamp and raw body, the five-minute
//!    window and the body limit, before anything is parsed (`401`, or `413` when too large);
//! 2. serenity's [`Interaction`] model (`400` for a signed body it cannot read, which Discord
//!    does not send);
//! 3. the [`ReplayGuard`]: an interaction id seen before is a replay, answered `401` (like
//!    any delivery that is not a fresh one from Discord: a prober learns nothing from the
//!    difference) and never dispatched again (should the set ever be full of unexpired ids,
//!    new deliveries get `429` rather than an unchecked pass);
//! 4. `PING` is answered `{"type":1}` (PONG) here; everything else goes to the
//!    [`InteractionHandler`] (the shared interaction core), whose initial callback is the
//!    `200` JSON body.
//!
//! The handler runs in its own task: if Discord hangs up (it waits 3 s), the engine's work
//! is not cut off halfway; only the answer is lost.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::Stream;
use futures::future::BoxFuture;
use serenity::builder::CreateInteractionResponse;
use serenity::model::application::Interaction;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::core::DiscordCore;
use super::replay::{Admission, ReplayGuard};
use super::signature::{SignatureVerifier, SignedBody};

/// Where Discord posts interactions (the portal's "Interactions Endpoint URL" path).
pub const INTERACTIONS_PATH: &str = "/discord/interactions";

/// Discord's deadline for the initial callback.
pub const CALLBACK_BUDGET: Duration = Duration::from_secs(3);

/// What turns an interaction (never a PING) into its initial callback: the shared
/// interaction core, or a stand-in in tests.
pub trait InteractionHandler: Send + Sync + 'static {
    /// The initial callback for `interaction`, due within [`CALLBACK_BUDGET`] of delivery,
    /// and the work (edits, follow-ups) to start once it has been sent.
    fn handle(&self, interaction: Interaction) -> BoxFuture<'_, Initial>;
}

/// Work to start once the initial callback has been handed to Discord.
pub type AfterSent = Box<dyn FnOnce() + Send + 'static>;

/// An interaction's initial callback, and what to do once it is sent.
#[must_use]
pub struct Initial {
    /// The callback, answered as the `200` JSON body.
    pub response: CreateInteractionResponse,
    /// Run once the body has been written to the connection (or the connection is gone):
    /// edits of the original response need Discord to have the callback first.
    pub after_sent: Option<AfterSent>,
}

impl Initial {
    /// A callback with nothing to do after it.
    pub fn new(response: CreateInteractionResponse) -> Self {
        Self {
            response,
            after_sent: None,
        }
    }
}

impl fmt::Debug for Initial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initial")
            .field("response", &self.response)
            .field("after_sent", &self.after_sent.is_some())
            .finish()
    }
}

/// The shared interaction core as the endpoint's handler: its first response is the HTTP
/// answer, and its follow-up starts once that answer is written.
impl InteractionHandler for DiscordCore {
    fn handle(&self, interaction: Interaction) -> BoxFuture<'_, Initial> {
        Box::pin(async move {
            let (response, follow_up) = DiscordCore::handle(self, interaction).await.into_parts();
            let after_sent: Option<AfterSent> = if follow_up.is_empty() {
                None
            } else {
                Some(Box::new(move || drop(follow_up.start())))
            };
            Initial {
                response,
                after_sent,
            }
        })
    }
}

/// The endpoint's state: the verifier, the replay set and the handler.
#[derive(Clone)]
pub struct DiscordHttpState {
    verifier: Arc<SignatureVerifier>,
    replay: Arc<ReplayGuard>,
    handler: Arc<dyn InteractionHandler>,
}

impl fmt::Debug for DiscordHttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordHttpState")
            .field("verifier", &self.verifier)
            .field("replay", &self.replay.len())
            .finish_non_exhaustive()
    }
}

impl DiscordHttpState {
    /// The endpoint's state from its parts.
    pub fn new(
        verifier: SignatureVerifier,
        replay: Arc<ReplayGuard>,
        handler: Arc<dyn InteractionHandler>,
    ) -> Self {
        Self {
            verifier: Arc::new(verifier),
            replay,
            handler,
        }
    }

    /// The replay set (to start its sweeper, or look at it in tests).
    pub fn replay(&self) -> &Arc<ReplayGuard> {
        &self.replay
    }
}

impl FromRef<DiscordHttpState> for Arc<SignatureVerifier> {
    fn from_ref(state: &DiscordHttpState) -> Self {
        Arc::clone(&state.verifier)
    }
}

/// The Discord routes (`POST /discord/interactions`), to merge into the server's router.
pub fn routes(state: DiscordHttpState) -> Router {
    Router::new()
        .route(INTERACTIONS_PATH, post(interactions))
        .with_state(state)
}

/// Why a signed delivery was not dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The signed body is not an interaction serenity can read.
    #[error("unsupported interaction")]
    Unsupported,
    /// The interaction id was delivered before.
    #[error("interaction already delivered")]
    Replay,
    /// The replay set is full: the delivery cannot be checked, so it is refused.
    #[error("too many interactions at once")]
    Busy,
    /// The handler failed (a bug: it panicked).
    #[error("the interaction could not be handled")]
    Handler,
}

impl IntoResponse for DeliveryError {
    fn into_response(self) -> Response {
        let status = match self {
            DeliveryError::Unsupported => StatusCode::BAD_REQUEST,
            // Same answer as a bad signature: not a fresh delivery from Discord.
            DeliveryError::Replay => StatusCode::UNAUTHORIZED,
            DeliveryError::Busy => StatusCode::TOO_MANY_REQUESTS,
            DeliveryError::Handler => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = match self {
            DeliveryError::Replay => "invalid request signature".to_owned(),
            other => other.to_string(),
        };
        (status, body).into_response()
    }
}

/// `POST /discord/interactions`.
async fn interactions(
    State(state): State<DiscordHttpState>,
    signed: SignedBody,
) -> Result<Response, DeliveryError> {
    let received = Instant::now();
    let interaction: Interaction = serde_json::from_slice(&signed.body).map_err(|error| {
        tracing::warn!(
            error = %passdesk_core::http::excerpt(&error.to_string()),
            "a signed discord delivery is not an interaction"
        );
        DeliveryError::Unsupported
    })?;
    let id = interaction.id().get();
    let span = tracing::info_span!(
        "discord.http_delivery",
        platform = "discord",
        interaction_id = id,
        kind = kind_name(&interaction),
    );
    match state.replay.admit(id, received) {
        Admission::Fresh => {}
        Admission::Replay => {
            span.in_scope(|| tracing::warn!("replayed discord delivery refused"));
            return Err(DeliveryError::Replay);
        }
        Admission::Full => return Err(DeliveryError::Busy),
    }
    if matches!(interaction, Interaction::Ping(_)) {
        span.in_scope(|| tracing::debug!("ping answered with pong"));
        // Exactly `{"type":1}`: serenity's `Pong` would add `"data":null`.
        return Ok(Json(serde_json::json!({ "type": 1 })).into_response());
    }
    let handler = Arc::clone(&state.handler);
    let task =
        tokio::spawn(async move { handler.handle(interaction).await }.instrument(span.clone()));
    let initial = task.await.map_err(|error| {
        span.in_scope(|| tracing::error!(%error, "the interaction handler failed"));
        DeliveryError::Handler
    })?;
    let elapsed = received.elapsed();
    if elapsed >= CALLBACK_BUDGET {
        span.in_scope(|| {
            tracing::warn!(
                elapsed_ms = elapsed.as_millis(),
                "initial callback later than discord's 3 s deadline"
            );
        });
    }
    callback_response(initial, &span)
}

/// The `200` JSON response carrying the callback; its `after_sent` work starts when the body
/// has been handed to the connection.
fn callback_response(initial: Initial, span: &tracing::Span) -> Result<Response, DeliveryError> {
    let Initial {
        response,
        after_sent,
    } = initial;
    let json = serde_json::to_vec(&response).map_err(|error| {
        span.in_scope(|| tracing::error!(%error, "the callback could not be serialised"));
        DeliveryError::Handler
    })?;
    let length = json.len();
    let body = Body::from_stream(ThenStream {
        data: Some(Bytes::from(json)),
        after_sent,
        span: span.clone(),
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
        ],
        body,
    )
        .into_response())
}

/// A one-chunk body that runs its `after_sent` work when dropped, i.e. once hyper has written
/// it (or given up on the connection).
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
                    tracing::warn!(
                        "the callback was not sent (connection gone); following up anyway"
                    );
                });
            }
            let _entered = self.span.enter();
            after_sent();
        }
    }
}

/// The interaction type's name, for spans.
fn kind_name(interaction: &Interaction) -> &'static str {
    match interaction {
        Interaction::Ping(_) => "ping",
        Interaction::Command(_) => "command",
        Interaction::Autocomplete(_) => "autocomplete",
        Interaction::Component(_) => "component",
        Interaction::Modal(_) => "modal_submit",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::Request;
    use ed25519_dalek::{Signer as _, SigningKey};
    use passdesk_config::DiscordPublicKey;
    use serde_json::{Value, json};
    use serenity::builder::CreateInteractionResponseMessage;
    use tower::ServiceExt as _;

    use crate::discord::signature::{Clock, SIGNATURE_HEADER, TIMESTAMP_HEADER};

    const NOW: i64 = 1_700_000_000;

    struct FixedClock;

    impl Clock for FixedClock {
        fn unix_now(&self) -> i64 {
            NOW
        }
    }

    /// Records the ids it is given and answers with an ephemeral message naming them; the
    /// second list records the ids whose `after_sent` ran.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<u64>>, Arc<Mutex<Vec<u64>>>);

    impl InteractionHandler for Recorder {
        fn handle(&self, interaction: Interaction) -> BoxFuture<'_, Initial> {
            let id = interaction.id().get();
            self.0.lock().unwrap().push(id);
            let after = Arc::clone(&self.1);
            Box::pin(async move {
                Initial {
                    response: CreateInteractionResponse::Message(
                        CreateInteractionResponseMessage::new()
                            .content(format!("handled {id}"))
                            .ephemeral(true),
                    ),
                    after_sent: Some(Box::new(move || after.lock().unwrap().push(id))),
                }
            })
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn app(recorder: Arc<Recorder>) -> Router {
        let public: DiscordPublicKey = hex::encode(key().verifying_key().to_bytes())
            .parse()
            .unwrap();
        let verifier = SignatureVerifier::new(public)
            .unwrap()
            .with_clock(Arc::new(FixedClock));
        routes(DiscordHttpState::new(
            verifier,
            Arc::new(ReplayGuard::default()),
            recorder,
        ))
    }

    fn signed(body: &Value) -> Request<Body> {
        let body = serde_json::to_vec(body).unwrap();
        let ts = NOW.to_string();
        let signature = key().sign(&[ts.as_bytes(), &body].concat());
        Request::post(INTERACTIONS_PATH)
            .header(SIGNATURE_HEADER, hex::encode(signature.to_bytes()))
            .header(TIMESTAMP_HEADER, ts)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    }

    async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 65_536)
            .await
            .unwrap();
        (status, content_type, body.to_vec())
    }

    fn ping(id: u64) -> Value {
        json!({"id": id.to_string(), "application_id": "2", "type": 1, "token": "t", "version": 1})
    }

    /// The smallest command interaction serenity 0.12.5 accepts (reference §8).
    fn command(id: u64) -> Value {
        json!({
            "id": id.to_string(), "application_id": "2", "type": 2, "token": "tok", "version": 1,
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608,
            "guild_id": "3", "channel_id": "4", "app_permissions": "2048",
            "member": {"user": {"id": "5", "username": "alice", "global_name": null, "avatar": null},
                       "roles": ["6"], "permissions": "32", "deaf": false, "mute": false,
                       "flags": 0, "joined_at": null},
            "data": {"id": "7", "name": "reset", "type": 1}
        })
    }

    #[tokio::test]
    async fn a_signed_ping_gets_a_json_pong_without_reaching_the_handler() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        let (status, content_type, body) = send(&app, signed(&ping(11))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"type": 1})
        );
        assert!(recorder.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_command_is_answered_with_the_handlers_callback_once() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        let response = app.clone().oneshot(signed(&command(21))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let length = response.headers()["content-length"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            recorder.1.lock().unwrap().is_empty(),
            "nothing follows before the body is out"
        );
        let body = axum::body::to_bytes(response.into_body(), 65_536)
            .await
            .unwrap();
        assert_eq!(length, body.len().to_string());
        let callback: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(callback["type"], 4);
        assert_eq!(callback["data"]["content"], "handled 21");
        assert_eq!(callback["data"]["flags"], 64);
        assert_eq!(
            *recorder.1.lock().unwrap(),
            vec![21],
            "the follow-up starts once the body is out"
        );

        // The same signed delivery again: refused like a forgery, not dispatched.
        let (status, _, body) = send(&app, signed(&command(21))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, b"invalid request signature");
        let (status, _, _) = send(&app, signed(&ping(21))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the id is what counts");
        assert_eq!(*recorder.0.lock().unwrap(), vec![21]);
    }

    #[tokio::test]
    async fn a_signed_body_that_is_not_an_interaction_is_a_client_error() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        for body in [
            json!({"type": 99, "id": "1"}),
            json!({"id": "1"}),
            json!([1, 2]),
            json!({"type": 2, "id": "1", "token": "t"}),
        ] {
            let (status, _, _) = send(&app, signed(&body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        }
        assert!(recorder.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unsigned_interaction_never_reaches_the_handler() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        let mut request = signed(&command(31));
        request.headers_mut().remove(SIGNATURE_HEADER);
        assert_eq!(send(&app, request).await.0, StatusCode::UNAUTHORIZED);
        // The id was not burnt by the refused delivery.
        assert_eq!(send(&app, signed(&command(31))).await.0, StatusCode::OK);
        assert_eq!(*recorder.0.lock().unwrap(), vec![31]);
    }
}
