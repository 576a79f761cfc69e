//! The HTTP server `passdesk run` starts: `/healthz` always, the Discord interactions endpoint
//! when `[discord] mode = "http"`, and the Slack endpoints (`/slack/commands`,
//! `/slack/interactions`) when `[slack]` is configured.
//!
//! [`router`] builds the whole route table from a [`ServerState`], so tests drive it without a
//! socket; [`Server::bind`] and [`Server::serve`] put it on `[server] listen` with graceful
//! shutdown: on the shutdown signal the listener stops accepting, requests in flight finish.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use passdesk_config::{DiscordConfig, SlackConfig};
use tokio::net::TcpListener;

use crate::discord::Discord;
use crate::discord::http::{self as discord_http, DiscordHttpState, InteractionHandler};
use crate::discord::replay::{self, ReplayGuard};
use crate::discord::signature::{InvalidPublicKey, SignatureVerifier};
use crate::slack::http::{self as slack_http, Served, SlackHandler, SlackHttpState};
use crate::slack::replay::SignatureReplayGuard;
use crate::slack::signature::SignatureVerifier as SlackSignatureVerifier;

/// The liveness probe's path.
pub const HEALTHZ_PATH: &str = "/healthz";

/// What the routes serve; each platform's part is present when configured.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ServerState {
    /// The Discord HTTP interactions endpoint.
    pub discord: Option<DiscordHttpState>,
    /// The Slack endpoints.
    pub slack: Option<SlackHttpState>,
}

impl ServerState {
    /// A state serving only `/healthz`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves the Discord interactions endpoint too.
    #[must_use]
    pub fn with_discord(mut self, discord: DiscordHttpState) -> Self {
        self.discord = Some(discord);
        self
    }

    /// Serves the Slack endpoints too.
    #[must_use]
    pub fn with_slack(mut self, slack: SlackHttpState) -> Self {
        self.slack = Some(slack);
        self
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// `[discord] mode = "http"` without `public_key` (validation should have caught it).
    #[error("discord http mode needs discord.public_key")]
    MissingPublicKey,
    /// The public key is not an Ed25519 key.
    #[error(transparent)]
    InvalidPublicKey(#[from] InvalidPublicKey),
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// `[server] listen`.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Serving stopped with an error.
    #[error("the http server failed: {0}")]
    Serve(#[source] io::Error),
}

/// Every route: `GET /healthz`, plus `POST /discord/interactions` when Discord is served and
/// `POST /slack/commands` and `POST /slack/interactions` when Slack is. Unknown paths are
/// `404`, other methods `405`.
pub fn router(state: ServerState) -> Router {
    let mut router = Router::new().route(HEALTHZ_PATH, get(healthz));
    if let Some(discord) = state.discord {
        router = router.merge(discord_http::routes(discord));
    }
    if let Some(slack) = state.slack {
        router = router.merge(slack_http::routes(slack));
    }
    router
}

/// `GET /healthz`: `200 ok` while the process serves.
async fn healthz() -> &'static str {
    "ok"
}

/// The Discord endpoint's state from `[discord]`: its public key, a fresh replay set, and
/// the handler (the shared interaction core). Starts the replay set's sweeper.
///
/// # Errors
///
/// [`ServerError::MissingPublicKey`] or [`ServerError::InvalidPublicKey`].
pub fn discord_state(
    config: &DiscordConfig,
    handler: Arc<dyn InteractionHandler>,
) -> Result<DiscordHttpState, ServerError> {
    let key = config.public_key.ok_or(ServerError::MissingPublicKey)?;
    let verifier = SignatureVerifier::new(key)?;
    let replay = Arc::new(ReplayGuard::default());
    // The sweeper holds a weak reference: it ends when the state is dropped.
    drop(replay.spawn_sweeper(replay::DEFAULT_SWEEP_INTERVAL));
    Ok(DiscordHttpState::new(verifier, replay, handler))
}

/// The Slack endpoints' state from `[slack]`: its signing secret, a fresh replay set, the app
/// and workspaces served, and the handler (the Slack core). Starts the replay set's sweeper.
pub fn slack_state(config: &SlackConfig, handler: Arc<dyn SlackHandler>) -> SlackHttpState {
    let verifier = SlackSignatureVerifier::new(config.signing_secret.clone());
    let replay = Arc::new(SignatureReplayGuard::default());
    // The sweeper holds a weak reference: it ends when the state is dropped.
    drop(replay.spawn_sweeper(replay::DEFAULT_SWEEP_INTERVAL));
    SlackHttpState::new(verifier, replay, handler, Served::from_config(config))
}

/// Binds `listen` with the routes that serve `discord`'s HTTP interactions endpoint (its
/// shared core as the handler) and `/healthz`: what `passdesk run` serves in
/// `[discord] mode = "http"`.
///
/// # Errors
///
/// See [`discord_state`] and [`Server::bind`].
pub async fn bind_discord(discord: &Discord, listen: SocketAddr) -> Result<Server, ServerError> {
    let state = discord_state(discord.config(), Arc::new(discord.core().clone()))?;
    Server::bind(listen, router(ServerState::new().with_discord(state))).await
}

/// A bound listener and the routes it will serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
}

impl Server {
    /// Binds `addr` (port `0`: any free port; see [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    ///
    /// [`ServerError::Bind`].
    pub async fn bind(addr: SocketAddr, router: Router) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Self { listener, router })
    }

    /// The address actually bound.
    ///
    /// # Errors
    ///
    /// The socket's address cannot be read.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    ///
    /// # Errors
    ///
    /// [`ServerError::Serve`].
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        if let Ok(addr) = self.listener.local_addr() {
            tracing::info!(%addr, "http server listening");
        }
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Serve)?;
        tracing::info!("http server stopped");
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM. If a handler cannot be installed, that
/// signal is not waited for (the other still is).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted: shutting down"),
        () = terminate => tracing::info!("terminated: shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    async fn call(router: Router, request: Request<Body>) -> (StatusCode, String) {
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn healthz_answers_ok_and_nothing_else_is_served_by_default() {
        let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        assert_eq!(
            call(router(ServerState::new()), get(HEALTHZ_PATH)).await,
            (StatusCode::OK, "ok".to_owned())
        );
        assert_eq!(
            call(router(ServerState::new()), get("/nope")).await.0,
            StatusCode::NOT_FOUND
        );
        let post = Request::post(discord_http::INTERACTIONS_PATH)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            call(router(ServerState::new()), post).await.0,
            StatusCode::NOT_FOUND,
            "no discord route without discord in http mode"
        );
    }

    #[tokio::test]
    async fn serve_stops_on_shutdown_and_frees_the_port() {
        let server = Server::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            router(ServerState::new()),
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        let text = reqwest::get(format!("http://{addr}{HEALTHZ_PATH}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, "ok");
        stop.send(()).unwrap();
        serving.await.unwrap().unwrap();
        assert!(
            reqwest::get(format!("http://{addr}{HEALTHZ_PATH}"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn binding_a_taken_port_names_the_address() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let error = Server::bind(addr, router(ServerState::new()))
            .await
            .unwrap_err();
        assert!(error.to_string().contains(&addr.to_string()), "{error}");
    }
}
