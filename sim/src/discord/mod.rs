//! A local fake of the parts of Discord the bot talks to: the REST API under `/api/v10` and
//! the gateway WebSocket, on `127.0.0.1`, built from Discord's documentation and
//! `shared/reference/discord.md`, and checked against the real serenity 0.12.5 client.
//!
//! ```no_run
//! # async fn demo() -> Result<(), passdesk_sim::discord::FakeError> {
//! use std::time::Duration;
//! use passdesk_sim::discord::{CommandOption, DiscordFake, FakeUser};
//!
//! let fake = DiscordFake::builder()
//!     .bot_token("test-token")
//!     .guild(300, [400, 401])
//!     .heartbeat_interval(Duration::from_millis(200))
//!     .start()
//!     .await?;
//! // serenity: HttpBuilder::new("test-token").proxy(fake.base_url()).ratelimiter_disabled(true)
//! let alice = FakeUser::new(500, "alice");
//! let command = fake.slash_command(&alice, &[600], 300, 400, "reset-email",
//!     vec![CommandOption::sub_command("user", vec![CommandOption::string("username", "jdoe")])]);
//! fake.wait_for_ready(Duration::from_secs(5)).await?;
//! fake.dispatch(&command)?;
//! let callback = fake.wait_for_callback(command.id(), Duration::from_secs(5)).await?;
//! let shown = fake.original_response(command.id());
//! # let _ = (callback, shown);
//! # Ok(()) }
//! ```
//!
//! # REST (under `/api/v10`)
//!
//! | route | answer |
//! |---|---|
//! | `GET /gateway`, `GET /gateway/bot` | `{"url": "ws://127.0.0.1:<port>", …}` (`/gateway/bot` adds `shards` and `session_start_limit`) |
//! | `GET /users/@me` | the bot user |
//! | `GET /applications/@me`, `GET /oauth2/applications/@me` | the application; `verify_key` is [`DiscordFake::public_key_hex`] |
//! | `GET`/`PUT /applications/{app}/commands`, `…/guilds/{guild}/commands` | the scope's commands; `PUT` replaces them and returns them with ids (stable per scope, type and name) and a new `version` |
//! | `POST /interactions/{id}/{token}/callback` | `204`; see *Callbacks* |
//! | `GET`/`PATCH`/`DELETE /webhooks/{app}/{token}/messages/@original` | the original response: `200` + message / `200` + message / `204` |
//! | `POST /webhooks/{app}/{token}` | a follow-up: `200` + message |
//! | `GET`/`PATCH`/`DELETE /webhooks/{app}/{token}/messages/{id}` | the interaction's original or a follow-up |
//! | `POST /channels/{channel}/messages`, `GET`/`PATCH`/`DELETE …/messages/{id}` | channel messages (never an ephemeral one) |
//!
//! Errors are Discord's bodies `{"message", "code"}`: a wrong or missing
//! `Authorization: Bot <token>` on a bot route is `401 {"code":0,"message":"401: Unauthorized"}`
//! (interaction callbacks, webhook routes and `GET /gateway` need no bot token); a channel
//! outside the configured guilds' channels, or an unknown guild, `403 50001 Missing Access`;
//! an unknown message `404 10008`; an unknown path `404 {"code":0,"message":"404: Not Found"}`.
//! Payloads are checked against Discord's limits (content 2000 characters, 10 embeds, embed
//! field limits and the 6000 total, 5 rows of 5 buttons, `custom_id` 1–100 and unique, command
//! names and descriptions, required options first): `400 50035 Invalid Form Body` with the
//! nested `errors` tree; a message with nothing to show is `400 50006`; a body that is not JSON
//! `400 50109`. File uploads (multipart) are not supported.
//!
//! # Callbacks, tokens and messages
//!
//! An interaction gets one callback, within 3 seconds of its creation (the
//! [`DiscordFakeBuilder::callback_window`]): a late one or a wrong token is
//! `404 10062 Unknown interaction`, a second one `400 40060`. The callback type must suit the
//! interaction (4, 5, 9 for commands; 4–7, 9 for components; 4, 5 for modal submits, and 6, 7
//! when the modal came from a component; 8 for autocomplete; 1 for PING), else `400 50035`.
//! Effects, as a user sees them:
//! - 4 creates the original response (ephemeral with flag 64: seen by the invoker only);
//! - 5 creates a "thinking" original (flag [`LOADING`], plus 64 if asked) that the first edit,
//!   or the first follow-up, fills in;
//! - 6 makes the component's message the original (nothing visible changes);
//! - 7 edits the component's message in place;
//! - 8 shows autocomplete suggestions (at most 25 `choices`, names 1–100 characters, string
//!   values at most 100; [`CallbackView::choices`]); nothing else follows;
//! - 9 opens a modal ([`DiscordFake::modal`]), answered by [`DiscordFake::submit_modal`].
//!
//! Webhook routes need the bot's application id and the interaction token, valid for 15
//! minutes (then `401 50027 Invalid Webhook Token`) and only once the interaction was
//! acknowledged (before that, or for an unknown token, `404 10015 Unknown Webhook`). Edits
//! replace the fields they carry, never change the ephemeral state, and cannot leave a message
//! empty.
//!
//! # Gateway
//!
//! `ws://127.0.0.1:<port>` (the URL `GET /gateway` returns; `?v=` other than 10 is closed with
//! 4012). On connect: HELLO (op 10) with the configured heartbeat interval. IDENTIFY (op 2)
//! with the right token (with or without `Bot `) gets READY (op 0, `s` 1; the bot user, the
//! shard's guilds as unavailable, a `session_id`, `resume_gateway_url`, `application`); a
//! wrong token closes with 4004, privileged intents not granted with 4014, a bad shard with
//! 4010, a second IDENTIFY with 4005, other ops before IDENTIFY with 4003. Heartbeats (op 1)
//! get HEARTBEAT_ACK (op 11) unless [`DiscordFake::set_heartbeat_ack`] turned that off.
//! Dispatches carry increasing `s`. RESUME (op 6) of a known session replays the dispatches
//! after the client's `seq` and sends RESUMED; an unknown session gets op 9 `false`. Sessions
//! survive closes with 4000–4003, 4005 and 4008 (resumable); other closes end them.
//! Interactions go to the session serving the guild's shard (`(guild_id >> 22) % shards`; DMs
//! shard 0); while it is disconnected they wait in its replay buffer.
//!
//! # The gate
//!
//! Every REST request, in this order: is recorded ([`DiscordFake::requests`]: method, path,
//! query, route, whether `Authorization` was missing, right or wrong, the body), waits the
//! configured latency, meets the first matching injected [`Fault`], is checked for the bot
//! token, then is handled; its status is recorded before the answer is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

mod error;
mod faults;
mod gateway;
mod interaction;
mod model;
mod record;
mod routes;
mod state;
#[cfg(test)]
mod tests;
mod validate;

pub use error::FakeError;
pub use faults::Fault;
pub use gateway::{GatewayStats, PRIVILEGED_INTENTS, SessionInfo};
pub use interaction::{
    CallbackOutcome, CallbackVia, CallbackView, CommandOption, InteractionHandle, InteractionKind,
    SignedRequest,
};
pub use model::{
    ADMINISTRATOR, ButtonView, DEFAULT_MEMBER_PERMISSIONS, EPHEMERAL, FakeUser, LOADING,
    MessageView,
};
pub use record::{Auth, RequestRecord};
pub use routes::Route;

use faults::FaultQueue;
use gateway::Gateway;
use state::{Config, State};

/// The bot token a fake accepts unless [`DiscordFakeBuilder::bot_token`] says otherwise.
pub const DEFAULT_BOT_TOKEN: &str = "fake-discord-bot-token";
/// The default application id (also the bot user's id, as for Discord's newer applications).
pub const DEFAULT_APPLICATION_ID: u64 = 1_200_000_000_000_000_001;
/// The default guild, present when no [`DiscordFakeBuilder::guild`] is declared.
pub const DEFAULT_GUILD_ID: u64 = 1_200_000_000_000_000_100;
/// The default guild's one channel.
pub const DEFAULT_CHANNEL_ID: u64 = 1_200_000_000_000_000_200;
/// Discord's heartbeat interval (41.25 s), the default.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(41_250);

/// State shared by the handle, the REST handlers and the gateway connections.
pub(crate) struct Shared {
    config: Config,
    gateway_url: String,
    heartbeat_interval: Duration,
    privileged_intents: u64,
    signing_key: SigningKey,
    state: Mutex<State>,
    requests: Mutex<Vec<RequestRecord>>,
    faults: Mutex<FaultQueue>,
    latency: Mutex<Duration>,
    gateway: Mutex<Gateway>,
    changes: watch::Sender<u64>,
}

// No lock is held across an await, and a panic while holding one leaves nothing half-updated
// that later requests would trip on, so poisoning is ignored.
impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn gateway(&self) -> MutexGuard<'_, Gateway> {
        self.gateway.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn latency(&self) -> Duration {
        *self.latency.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn requests(&self) -> MutexGuard<'_, Vec<RequestRecord>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push_request(&self, record: RequestRecord) -> usize {
        let mut requests = self.requests();
        requests.push(record);
        let index = requests.len() - 1;
        drop(requests);
        self.notify();
        index
    }

    fn finish_request(&self, index: usize, status: u16) {
        if let Some(record) = self.requests().get_mut(index) {
            record.status = Some(status);
        }
        self.notify();
    }

    /// Wakes every waiter: something changed.
    fn notify(&self) {
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    fn public_key_hex(&self) -> String {
        hex::encode(self.signing_key.verifying_key().to_bytes())
    }
}

/// Builds a [`DiscordFake`]: identity, guilds, timing knobs, then [`start`](Self::start).
#[derive(Debug, Clone)]
#[must_use]
pub struct DiscordFakeBuilder {
    token: String,
    application_id: u64,
    bot: Option<FakeUser>,
    guilds: BTreeMap<u64, BTreeSet<u64>>,
    latency: Duration,
    heartbeat_interval: Duration,
    callback_window: Duration,
    token_lifetime: Duration,
    privileged_intents: u64,
    bot_permissions: u64,
    signing_seed: Option<[u8; 32]>,
    faults: Vec<Fault>,
}

impl Default for DiscordFakeBuilder {
    fn default() -> Self {
        Self {
            token: DEFAULT_BOT_TOKEN.to_owned(),
            application_id: DEFAULT_APPLICATION_ID,
            bot: None,
            guilds: BTreeMap::new(),
            latency: Duration::ZERO,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            callback_window: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(15 * 60),
            privileged_intents: 0,
            bot_permissions: DEFAULT_MEMBER_PERMISSIONS,
            signing_seed: None,
            faults: Vec::new(),
        }
    }
}

impl DiscordFakeBuilder {
    /// The bot token accepted in `Authorization: Bot <token>` and in IDENTIFY.
    pub fn bot_token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// The application id (webhook and command routes, READY's `application.id`).
    pub fn application_id(mut self, id: u64) -> Self {
        self.application_id = id;
        self
    }

    /// The bot's user (default: a bot named `passdesk` whose id is the application id).
    pub fn bot_user(mut self, user: FakeUser) -> Self {
        self.bot = Some(user);
        self
    }

    /// A guild the bot is in and the channels it can see there (others answer `50001`).
    /// Declaring any guild replaces the default one.
    pub fn guild(mut self, guild_id: u64, channels: impl IntoIterator<Item = u64>) -> Self {
        self.guilds.entry(guild_id).or_default().extend(channels);
        self
    }

    /// Latency added to every REST request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The heartbeat interval sent in HELLO (default 41.25 s, as Discord).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// How long after its creation an interaction accepts its callback (default 3 s).
    pub fn callback_window(mut self, window: Duration) -> Self {
        self.callback_window = window;
        self
    }

    /// How long an interaction token works on webhook routes (default 15 min).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// The privileged intents the application may ask for (bits of [`PRIVILEGED_INTENTS`];
    /// default none, so IDENTIFY with any of them closes with 4014).
    pub fn privileged_intents(mut self, bits: u64) -> Self {
        self.privileged_intents = bits & PRIVILEGED_INTENTS;
        self
    }

    /// The bot's permissions in interaction channels (`app_permissions`).
    pub fn bot_permissions(mut self, bits: u64) -> Self {
        self.bot_permissions = bits;
        self
    }

    /// A fixed seed for the Ed25519 signing key (default: random per fake).
    pub fn signing_key_seed(mut self, seed: [u8; 32]) -> Self {
        self.signing_seed = Some(seed);
        self
    }

    /// A fault pending from the start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Serves the fake on `127.0.0.1` with a random port.
    ///
    /// # Errors
    ///
    /// [`FakeError::Bind`] when the socket cannot be opened.
    pub async fn start(self) -> Result<DiscordFake, FakeError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(FakeError::Bind)?;
        let addr = listener.local_addr().map_err(FakeError::Bind)?;
        let mut guilds = self.guilds;
        if guilds.is_empty() {
            guilds.insert(DEFAULT_GUILD_ID, BTreeSet::from([DEFAULT_CHANNEL_ID]));
        }
        let seed = self.signing_seed.unwrap_or_else(rand::random);
        let mut faults = FaultQueue::default();
        for fault in self.faults {
            faults.push(fault);
        }
        let (changes, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            config: Config {
                token: self.token,
                application_id: self.application_id,
                bot: self
                    .bot
                    .unwrap_or_else(|| FakeUser::bot(self.application_id, "passdesk")),
                guilds,
                callback_window: self.callback_window,
                token_lifetime: self.token_lifetime,
                bot_permissions: self.bot_permissions,
            },
            gateway_url: format!("ws://{addr}"),
            heartbeat_interval: self.heartbeat_interval,
            privileged_intents: self.privileged_intents,
            signing_key: SigningKey::from_bytes(&seed),
            state: Mutex::new(State::default()),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(faults),
            latency: Mutex::new(self.latency),
            gateway: Mutex::new(Gateway::default()),
            changes,
        });
        let app = Router::new()
            .route("/", get(gateway::upgrade))
            .with_state(Arc::clone(&shared))
            .merge(routes::router(Arc::clone(&shared)));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "discord fake stopped");
            }
        });
        tracing::debug!(%addr, "discord fake listening");
        Ok(DiscordFake {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }
}

/// What an HTTP interactions endpoint answered to a delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpDelivery {
    /// The status.
    pub status: u16,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpDelivery {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A running fake Discord. Dropping it stops the server and closes gateway connections.
pub struct DiscordFake {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for DiscordFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordFake")
            .field("addr", &self.addr)
            .field("application_id", &self.shared.config.application_id)
            .finish_non_exhaustive()
    }
}

impl DiscordFake {
    /// A builder with the defaults.
    pub fn builder() -> DiscordFakeBuilder {
        DiscordFakeBuilder::default()
    }

    /// The socket address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: what replaces `https://discord.com` (serenity's
    /// `HttpBuilder::proxy`, which needs `ratelimiter_disabled(true)`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/api/v10`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// `ws://127.0.0.1:<port>`: the gateway.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    /// The accepted bot token.
    pub fn bot_token(&self) -> &str {
        &self.shared.config.token
    }

    /// The application id.
    pub fn application_id(&self) -> u64 {
        self.shared.config.application_id
    }

    /// The bot user.
    pub fn bot_user(&self) -> &FakeUser {
        &self.shared.config.bot
    }

    /// The application's Ed25519 public key, 64 hex characters (the portal's "Public Key").
    pub fn public_key_hex(&self) -> String {
        self.shared.public_key_hex()
    }

    // ---- Driving: interactions a user makes ----

    /// A user runs a slash command in a guild channel; `roles` are the member's role ids.
    /// `data.id` is the registered command's id when one with this name was registered
    /// (guild scope first), else a fresh id.
    pub fn slash_command(
        &self,
        user: &FakeUser,
        roles: &[u64],
        guild_id: u64,
        channel_id: u64,
        name: &str,
        options: Vec<CommandOption>,
    ) -> InteractionHandle {
        let handle = self.shared.state().slash_command(
            &self.shared.config,
            user,
            roles,
            Some(guild_id),
            channel_id,
            name,
            &options,
            Instant::now(),
        );
        self.shared.notify();
        handle
    }

    /// A member types into an option marked `autocomplete` of a slash command in a guild
    /// channel (`APPLICATION_COMMAND_AUTOCOMPLETE`): `options` as for
    /// [`slash_command`](Self::slash_command), with the option being typed built by
    /// [`CommandOption::focused`]. The interaction takes one callback, type 8 with at most 25
    /// `choices`, read back with [`CallbackView::choices`]; it has no message and no webhook.
    pub fn autocomplete(
        &self,
        user: &FakeUser,
        roles: &[u64],
        guild_id: u64,
        channel_id: u64,
        name: &str,
        options: Vec<CommandOption>,
    ) -> InteractionHandle {
        let handle = self.shared.state().autocomplete(
            &self.shared.config,
            user,
            roles,
            Some(guild_id),
            channel_id,
            name,
            &options,
            Instant::now(),
        );
        self.shared.notify();
        handle
    }

    /// A user runs a slash command in a DM with the bot (`user` instead of `member`).
    pub fn dm_slash_command(
        &self,
        user: &FakeUser,
        channel_id: u64,
        name: &str,
        options: Vec<CommandOption>,
    ) -> InteractionHandle {
        let handle = self.shared.state().slash_command(
            &self.shared.config,
            user,
            &[],
            None,
            channel_id,
            name,
            &options,
            Instant::now(),
        );
        self.shared.notify();
        handle
    }

    /// A user presses a button on a message as they saw it (`message`, possibly older than
    /// the current state, as with two people clicking at once); the interaction carries the
    /// message's current state.
    ///
    /// # Errors
    ///
    /// [`FakeError::UnknownMessage`] if the message was deleted, [`FakeError::NotVisible`] for
    /// another user's ephemeral message, [`FakeError::NoSuchButton`] if `message` shows no
    /// enabled, non-link button with this `custom_id`.
    pub fn press_button(
        &self,
        user: &FakeUser,
        roles: &[u64],
        message: &MessageView,
        custom_id: &str,
    ) -> Result<InteractionHandle, FakeError> {
        let handle = self.shared.state().press_button(
            &self.shared.config,
            user,
            roles,
            message,
            custom_id,
            Instant::now(),
        )?;
        self.shared.notify();
        Ok(handle)
    }

    /// A user submits the latest modal with this `custom_id` the bot opened for them, with
    /// (text input `custom_id`, value) pairs; the interaction has the opener's guild, channel
    /// and (for a modal opened from a button) message.
    ///
    /// # Errors
    ///
    /// [`FakeError::NoModal`] if no such modal was opened for the user,
    /// [`FakeError::ModalInput`] for values Discord's client would not submit.
    pub fn submit_modal(
        &self,
        user: &FakeUser,
        roles: &[u64],
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Result<InteractionHandle, FakeError> {
        let handle = self.shared.state().submit_modal(
            &self.shared.config,
            user,
            roles,
            custom_id,
            fields,
            Instant::now(),
        )?;
        self.shared.notify();
        Ok(handle)
    }

    /// A `PING`, as Discord sends to an HTTP endpoint when its URL is saved.
    pub fn ping(&self) -> InteractionHandle {
        let handle = self
            .shared
            .state()
            .ping(&self.shared.config, Instant::now());
        self.shared.notify();
        handle
    }

    /// Makes an interaction older by `by` (e.g. past the 3-second window or the 15-minute
    /// token lifetime) without waiting. Returns `false` for an unknown id.
    pub fn age_interaction(&self, interaction_id: u64, by: Duration) -> bool {
        self.shared.state().age(interaction_id, by)
    }

    // ---- Delivering ----

    /// Sends the interaction as an `INTERACTION_CREATE` dispatch to the gateway session
    /// serving its guild's shard; returns the dispatch's sequence number.
    ///
    /// # Errors
    ///
    /// [`FakeError::HttpOnly`] for a PING, [`FakeError::NoGatewaySession`] if no session
    /// (connected or resumable) serves the shard.
    pub fn dispatch(&self, interaction: &InteractionHandle) -> Result<u64, FakeError> {
        if interaction.kind == InteractionKind::Ping {
            return Err(FakeError::HttpOnly {
                kind: InteractionKind::Ping.name(),
            });
        }
        let body = String::from_utf8_lossy(&interaction.body);
        let seq = self
            .shared
            .gateway()
            .dispatch_to_shard(interaction.guild_id, "INTERACTION_CREATE", &body)
            .ok_or(FakeError::NoGatewaySession)?;
        self.shared.notify();
        Ok(seq)
    }

    /// Signs the interaction as Discord's HTTP delivery does, timestamped now.
    pub fn sign(&self, interaction: &InteractionHandle) -> SignedRequest {
        let now = chrono::Utc::now().timestamp().to_string();
        self.sign_with_timestamp(interaction, &now)
    }

    /// Signs with a chosen `X-Signature-Timestamp` (e.g. a stale one).
    pub fn sign_with_timestamp(
        &self,
        interaction: &InteractionHandle,
        timestamp: &str,
    ) -> SignedRequest {
        interaction::sign(
            &self.shared.signing_key,
            timestamp.to_owned(),
            interaction.body.clone(),
        )
    }

    /// Signs with a key that is not the application's, as Discord's probes of an endpoint
    /// do: a correct endpoint answers `401`.
    pub fn sign_with_wrong_key(&self, interaction: &InteractionHandle) -> SignedRequest {
        let seed: [u8; 32] = rand::random();
        let now = chrono::Utc::now().timestamp().to_string();
        interaction::sign(
            &SigningKey::from_bytes(&seed),
            now,
            interaction.body.clone(),
        )
    }

    /// POSTs the signed interaction to an HTTP interactions endpoint (`url` must be on this
    /// machine), waiting at most the callback window as Discord does. A `200` whose JSON body
    /// has a `type` counts as the interaction's callback, under the same rules as
    /// `POST …/callback` (see [`callbacks`](Self::callbacks)).
    ///
    /// # Errors
    ///
    /// [`FakeError::Delivery`] when no answer came (refused, timed out).
    pub async fn deliver_http(
        &self,
        url: &str,
        interaction: &InteractionHandle,
    ) -> Result<HttpDelivery, FakeError> {
        let signed = self.sign(interaction);
        self.post_signed(url, interaction, &signed).await
    }

    /// Like [`deliver_http`](Self::deliver_http), with a given signed request (e.g. from
    /// [`sign_with_wrong_key`](Self::sign_with_wrong_key)).
    ///
    /// # Errors
    ///
    /// [`FakeError::Delivery`] when no answer came (refused, timed out).
    #[tracing::instrument(
        skip_all,
        fields(interaction_kind = interaction.kind.name(), status = tracing::field::Empty)
    )]
    pub async fn post_signed(
        &self,
        url: &str,
        interaction: &InteractionHandle,
        signed: &SignedRequest,
    ) -> Result<HttpDelivery, FakeError> {
        let client = reqwest::Client::builder()
            .timeout(self.shared.config.callback_window)
            .build()
            .map_err(|error| FakeError::Delivery(error.to_string()))?;
        let mut request = client.post(url).body(signed.body.clone());
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|error| FakeError::Delivery(error.without_url().to_string()))?;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|error| FakeError::Delivery(error.without_url().to_string()))?
            .to_vec();
        let delivery = HttpDelivery {
            status,
            content_type,
            body,
        };
        if status == 200 {
            if let Some(callback) = delivery.json().filter(|json| json.get("type").is_some()) {
                let _ = self.shared.state().callback(
                    &self.shared.config,
                    interaction.id,
                    &interaction.token,
                    &callback,
                    CallbackVia::HttpResponse,
                    Instant::now(),
                );
                self.shared.notify();
            }
        }
        Ok(delivery)
    }

    // ---- Observing ----

    /// Every callback attempt for an interaction, in order (refused ones included).
    pub fn callbacks(&self, interaction_id: u64) -> Vec<CallbackView> {
        self.shared
            .state()
            .interactions
            .get(&interaction_id)
            .map(|interaction| interaction.callbacks.clone())
            .unwrap_or_default()
    }

    /// Waits for the interaction's first callback attempt (accepted or not).
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if none came in time.
    pub async fn wait_for_callback(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<CallbackView, FakeError> {
        self.wait_until(
            &format!("a callback for interaction {interaction_id}"),
            timeout,
            |fake| fake.callbacks(interaction_id).into_iter().next(),
        )
        .await
    }

    /// A message in a channel, ephemeral ones included (see [`MessageView::visible_to`]).
    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<MessageView> {
        self.shared
            .state()
            .view(&self.shared.config, message_id)
            .filter(|message| message.channel_id == channel_id)
    }

    /// The interaction's original response as it stands (for a component after type 6/7:
    /// the message it sits on); `None` before any, or once deleted.
    pub fn original_response(&self, interaction_id: u64) -> Option<MessageView> {
        let state = self.shared.state();
        let original = state.interactions.get(&interaction_id)?.original?;
        state.view(&self.shared.config, original)
    }

    /// The interaction's follow-ups that still exist, in order.
    pub fn followups(&self, interaction_id: u64) -> Vec<MessageView> {
        let state = self.shared.state();
        state
            .interactions
            .get(&interaction_id)
            .map(|interaction| {
                interaction
                    .followups
                    .iter()
                    .filter_map(|id| state.view(&self.shared.config, *id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What everyone in the channel sees: its non-ephemeral messages, oldest first.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<MessageView> {
        let state = self.shared.state();
        state
            .messages
            .values()
            .filter(|message| message.channel_id == channel_id && message.visible_to.is_none())
            .map(|message| message.view(&self.shared.config.bot, self.shared.config.application_id))
            .collect()
    }

    /// Waits until the channel shows at least `count` non-ephemeral messages; returns them.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if they did not come in time.
    pub async fn wait_for_channel_messages(
        &self,
        channel_id: u64,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<MessageView>, FakeError> {
        self.wait_until(
            &format!("{count} message(s) in channel {channel_id}"),
            timeout,
            |fake| {
                let messages = fake.channel_messages(channel_id);
                (messages.len() >= count).then_some(messages)
            },
        )
        .await
    }

    /// The modal (callback type 9 `data`) this interaction opened, if any.
    pub fn modal(&self, interaction_id: u64) -> Option<Value> {
        self.shared
            .state()
            .interactions
            .get(&interaction_id)
            .and_then(|interaction| interaction.modal.clone())
    }

    /// The registered commands of a scope (`None`: global; `Some(guild)`), as returned.
    pub fn commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.shared
            .state()
            .commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every REST request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests().clone()
    }

    /// The requests that matched a route.
    pub fn requests_to(&self, route: Route) -> Vec<RequestRecord> {
        self.shared
            .requests()
            .iter()
            .filter(|request| request.route == Some(route))
            .cloned()
            .collect()
    }

    /// Gateway counters and sessions.
    pub fn gateway_stats(&self) -> GatewayStats {
        self.shared.gateway().stats()
    }

    /// Waits until a gateway session has been identified (READY sent); returns the newest.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if none was in time.
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<SessionInfo, FakeError> {
        self.wait_until("a gateway session", timeout, |fake| {
            fake.gateway_stats()
                .sessions
                .into_iter()
                .filter(|session| session.connected)
                .max_by_key(|session| session.seq)
        })
        .await
    }

    /// Waits until `check` returns `Some`, re-checking after every change in the fake
    /// (requests, callbacks, messages, gateway frames). No polling, no sleeps.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`], naming `what`, if it did not happen in time.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> Result<T, FakeError> {
        let mut changes = self.shared.changes.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                changes.borrow_and_update();
                if let Some(found) = check(self) {
                    return Some(found);
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match waited {
            Ok(Some(found)) => Ok(found),
            _ => Err(FakeError::Timeout {
                what: what.to_owned(),
                timeout,
            }),
        }
    }

    // ---- Knobs ----

    /// Changes the latency added to every REST request.
    pub fn set_latency(&self, latency: Duration) {
        *self
            .shared
            .latency
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = latency;
    }

    /// Injects a fault (after any already pending).
    pub fn inject(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Whether heartbeats get HEARTBEAT_ACK (default `true`); without ACKs a client should
    /// treat the connection as a zombie and reconnect.
    pub fn set_heartbeat_ack(&self, ack: bool) {
        self.shared.gateway().ack_heartbeats = ack;
    }

    /// Closes every gateway connection with `code` (e.g. 4000: resumable; 4004 or 4009: the
    /// session ends); returns how many were closed.
    pub fn close_gateway(&self, code: u16) -> usize {
        let closed = self.shared.gateway().close_all(code);
        self.shared.notify();
        closed
    }

    /// Sends op 7 RECONNECT on every gateway connection; returns how many got it.
    pub fn request_reconnect(&self) -> usize {
        self.shared.gateway().request_reconnect()
    }
}

impl Drop for DiscordFake {
    fn drop(&mut self) {
        self.shared.gateway().close_all(1001);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
