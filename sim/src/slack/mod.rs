//! A local fake of the parts of Slack the bot talks to, on `127.0.0.1`, built from
//! `shared/reference/slack.md` (§1–§4 for the wire formats, §7 for what a fake must do): the
//! Web API, the `response_url` hooks, trigger ids and modals, and a "Slack client" driver that
//! plays Slack towards the bot's endpoints with correctly (and incorrectly) signed requests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), passdesk_sim::slack::FakeError> {
//! use std::time::Duration;
//! use passdesk_sim::slack::{FakeUser, SlackFake};
//!
//! let ana = FakeUser::new("U0REQUEST1", "ana");
//! let fake = SlackFake::builder()
//!     .user(ana.clone())
//!     .user_group("S0HELPDESK", ["U0REQUEST1"])
//!     .start()
//!     .await?;
//! // The bot: Web API base `fake.api_url()`, token `fake.bot_token()`, signing secret
//! // `fake.signing_secret()`, app id `fake.app_id()`.
//! let command = fake.slash_command(&ana, "T0PASSDESK", "C0HELPDESK", "/passdesk", "reset user:jc.one")?;
//! let ack = fake.deliver("http://127.0.0.1:8080/slack/commands", &command).await?;
//! let plan = ack.message.expect("the ack shows the plan");
//! let press = fake.press_button(&ana, &plan, "pd:confirm", None)?;
//! fake.deliver("http://127.0.0.1:8080/slack/interactions", &press).await?;
//! let posts = fake
//!     .wait_for_response_posts(press.response_url.as_deref().unwrap_or_default(), 1, Duration::from_secs(5))
//!     .await?;
//! # let _ = posts;
//! # Ok(()) }
//! ```
//!
//! # Web API (`http://127.0.0.1:<port>/api/<method>`, the prefix is configurable)
//!
//! GET or POST; arguments from the query and from a JSON body
//! (`application/json; charset=utf-8`; without the charset the answer carries the
//! `missing_charset` warning) or a form body (a charset there warns `superfluous_charset`;
//! `blocks` and `view` are then JSON strings). The token must be in
//! `Authorization: Bearer <bot token>`: none is `not_authed`, another `invalid_auth`, and a
//! `token` argument in the body or query is ignored (Slack accepts one in a form body; the
//! fake does not, so a test notices a token leaving the header). Answers are Slack's: `200`
//! with `{"ok": true, …}` or `{"ok": false, "error": code}`; an unknown method is
//! `404 unknown_method`; a body that is not JSON `invalid_json`.
//!
//! | method | does | errors |
//! |---|---|---|
//! | `auth.test` | the team and bot identity | |
//! | `chat.postMessage` | posts as the bot (a user id as `channel` opens their DM); monotonic `ts`; `thread_ts` kept | `channel_not_found`, `is_archived`, `not_in_channel`, `no_text`, `msg_too_long`, `invalid_blocks_format`, `invalid_blocks` (with `errors` and `response_metadata.messages`) |
//! | `chat.postEphemeral` | an ephemeral message for `user` | the above, `user_not_found`, `user_not_in_channel` |
//! | `chat.update` | edits the bot's own channel message; what is not given is kept (`blocks: []` removes them) | `message_not_found` (also for ephemeral ones), `cant_update_message`, content errors |
//! | `chat.delete` | deletes the bot's own channel message | `message_not_found`, `cant_delete_message` |
//! | `views.open` | exchanges a `trigger_id` (once, within 3 s on the fake's clock, same team) for a modal | `invalid_trigger_id`, `exchanged_trigger_id`, `expired_trigger_id`, `invalid_arguments` (view checks), `view_too_large`, `duplicate_external_id` |
//! | `views.update` | replaces a view by `view_id` or `external_id` (optional `hash` check) | `not_found`, `hash_conflict`, view errors |
//! | `users.info` | the seeded (or acting) user | `user_not_found` |
//! | `usergroups.users.list` | a seeded group's members | `no_such_subteam` (also a disabled group without `include_disabled`), `plan_upgrade_required` (free plan) |
//!
//! Block Kit is checked as §3.4 lists (≤ 50 blocks per message, ≤ 100 per modal, button,
//! confirm, header, section, context, actions and input limits, unique `block_id`s and
//! `action_id`s, element types per place) and missing `block_id`/`action_id`s are filled in as
//! Slack does.
//!
//! # `response_url`s
//!
//! Every command and button press gets a fresh `http://127.0.0.1:<port>/hooks/{commands|actions}/…`.
//! A POST with a JSON message: `delete_original` deletes the message the URL is tied to (the
//! pressed message; for a command, its latest reply), `replace_original` replaces its text and
//! blocks (ephemeral stays ephemeral), otherwise a new message, ephemeral to the user unless
//! `response_type` is `in_channel`. The answer is `200 {"ok": true}`, with no `ts`. A URL takes
//! 5 accepted posts within 30 minutes of being minted; after that, and for any post past its
//! lifetime, the answer is `404 {"ok": false, "error": "expired_url"}` — the reference found no
//! source for Slack's exact answer, so this is a guess. Unknown URLs are
//! `404 no_service`, a non-JSON body `400 invalid_payload`, content errors `400` with the
//! Web API's codes, a deleted original `404 message_not_found` (also guesses).
//!
//! # The driver
//!
//! [`SlackFake::slash_command`], [`SlackFake::press_button`], [`SlackFake::submit_view`] and
//! [`SlackFake::close_view`] build what Slack would POST (every field Slack sends, form encoded
//! as Slack does) and sign it with the signing secret at the current Unix time (the real
//! clock, which the bot's verifier checks; [`SlackFake::advance`] only ages the fake's own
//! state). [`SlackFake::deliver`] POSTs it within the 3-second ack window and applies the
//! answer as Slack would: a slash command's `200` body is shown (ephemeral unless
//! `in_channel`), a `block_actions` body is ignored, a `view_submission` body's
//! `response_action` closes, updates, pushes, clears or shows errors.
//!
//! # The gate
//!
//! Every request, in this order: is recorded ([`SlackFake::requests`]: endpoint, method, path,
//! query, headers without `Authorization`, whether the token was right, the raw body), waits
//! the configured latency, meets the first matching injected [`Fault`], is checked for the bot
//! token, meets the optional tier rate limits, then is handled; its status, `ok` and `error`
//! are recorded before the answer is written.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

mod blocks;
mod error;
mod faults;
mod model;
mod payload;
mod record;
mod routes;
mod sign;
mod state;
#[cfg(test)]
mod tests;

pub use error::FakeError;
pub use faults::Fault;
pub use model::{
    ButtonView, FakeChannel, FakeUser, InputView, MessageVersion, MessageView, Origin, PostOutcome,
    ResponseUrlPost, ViewInfo,
};
pub use record::{Auth, DeliveryRecord, RequestRecord};
pub use routes::Endpoint;
pub use sign::{RequestKind, SignedRequest, sign};

use error::Answer;
use faults::{FaultQueue, RateLimiter};
use state::{Built, Config, State, Team, UserGroup};

/// The signing secret a fake uses unless told otherwise (the reference's own test vectors use
/// it too).
pub const DEFAULT_SIGNING_SECRET: &str = "passdesk-test-signing-secret";
/// The bot token a fake accepts unless told otherwise.
pub const DEFAULT_BOT_TOKEN: &str = "xoxb-fake-passdesk-bot-token";
/// The legacy verification token sent in every request (`token`), which a bot must ignore.
pub const DEFAULT_VERIFICATION_TOKEN: &str = "legacyNotUsed";
/// The app id (`api_app_id`).
pub const DEFAULT_APP_ID: &str = "A0PASSDESK";
/// The primary team.
pub const DEFAULT_TEAM_ID: &str = "T0PASSDESK";
/// The primary team's domain.
pub const DEFAULT_TEAM_DOMAIN: &str = "acme-it";
/// The channel present when no [`SlackFakeBuilder::channel`] is declared.
pub const DEFAULT_CHANNEL_ID: &str = "C0HELPDESK";
/// The bot's user id.
pub const DEFAULT_BOT_USER_ID: &str = "U0PASSBOT1";
/// The bot id (`bot_id` on its messages).
pub const DEFAULT_BOT_ID: &str = "B0PASSDESK";

/// State shared by the handle and the HTTP handlers.
pub(crate) struct Shared {
    config: Config,
    state: Mutex<State>,
    requests: Mutex<Vec<RequestRecord>>,
    deliveries: Mutex<Vec<DeliveryRecord>>,
    faults: Mutex<FaultQueue>,
    limiter: Mutex<RateLimiter>,
    latency: Mutex<Duration>,
    /// How far [`SlackFake::advance`] moved the fake's clock.
    offset: Mutex<Duration>,
    changes: watch::Sender<u64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No lock is held across an await, and a panic while holding one leaves nothing
    // half-updated that later requests would trip on, so poisoning is ignored.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.faults)
    }

    fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.limiter)
    }

    fn latency(&self) -> Duration {
        *lock(&self.latency)
    }

    fn offset(&self) -> Duration {
        *lock(&self.offset)
    }

    /// The fake's monotonic clock (real time plus [`SlackFake::advance`]).
    fn now(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// The fake's wall clock, for message `ts` (real time plus [`SlackFake::advance`]).
    fn wall(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::from_std(self.offset()).unwrap_or_default();
        Utc::now() + offset
    }

    fn push_request(&self, record: RequestRecord) -> usize {
        let mut requests = lock(&self.requests);
        requests.push(record);
        let index = requests.len() - 1;
        drop(requests);
        self.notify();
        index
    }

    fn finish_request(&self, index: usize, answer: &Answer) {
        if let Some(record) = lock(&self.requests).get_mut(index) {
            if !answer.disconnect {
                record.status = Some(answer.status.as_u16());
                record.ok = answer.ok_flag();
                record.error = answer.error_code();
            }
        }
        self.notify();
    }

    /// Wakes every waiter: something changed.
    fn notify(&self) {
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }
}

/// Builds a [`SlackFake`]: identity, workspace seed data, timing knobs, then
/// [`start`](Self::start).
#[derive(Clone)]
#[must_use]
pub struct SlackFakeBuilder {
    signing_secret: String,
    verification_token: String,
    app_id: String,
    team: Team,
    other_teams: Vec<Team>,
    bot_user_id: String,
    bot_id: String,
    bot_name: String,
    users: Vec<FakeUser>,
    channels: Vec<FakeChannel>,
    groups: Vec<UserGroup>,
    free_plan: bool,
    latency: Duration,
    trigger_window: Duration,
    response_url_lifetime: Duration,
    response_url_uses: u32,
    ack_timeout: Duration,
    api_prefix: String,
    rate_limits: bool,
    faults: Vec<Fault>,
}

impl fmt::Debug for SlackFakeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackFakeBuilder")
            .field("app_id", &self.app_id)
            .field("team_id", &self.team.id)
            .field("signing_secret", &"[redacted]")
            .field("bot_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Default for SlackFakeBuilder {
    fn default() -> Self {
        Self {
            signing_secret: DEFAULT_SIGNING_SECRET.to_owned(),
            verification_token: DEFAULT_VERIFICATION_TOKEN.to_owned(),
            app_id: DEFAULT_APP_ID.to_owned(),
            team: Team {
                id: DEFAULT_TEAM_ID.to_owned(),
                domain: DEFAULT_TEAM_DOMAIN.to_owned(),
                name: "Acme IT".to_owned(),
                bot_token: DEFAULT_BOT_TOKEN.to_owned(),
            },
            other_teams: Vec::new(),
            bot_user_id: DEFAULT_BOT_USER_ID.to_owned(),
            bot_id: DEFAULT_BOT_ID.to_owned(),
            bot_name: "passdesk".to_owned(),
            users: Vec::new(),
            channels: Vec::new(),
            groups: Vec::new(),
            free_plan: false,
            latency: Duration::ZERO,
            trigger_window: Duration::from_secs(3),
            response_url_lifetime: Duration::from_secs(30 * 60),
            response_url_uses: 5,
            ack_timeout: Duration::from_secs(3),
            api_prefix: "/api".to_owned(),
            rate_limits: false,
            faults: Vec::new(),
        }
    }
}

impl SlackFakeBuilder {
    /// The app's signing secret (what the bot verifies `X-Slack-Signature` with).
    pub fn signing_secret(mut self, secret: impl Into<String>) -> Self {
        self.signing_secret = secret.into();
        self
    }

    /// The primary team's bot token (`xoxb-…`), accepted as `Authorization: Bearer …`.
    pub fn bot_token(mut self, token: impl Into<String>) -> Self {
        self.team.bot_token = token.into();
        self
    }

    /// The legacy verification token sent as `token` in every request.
    pub fn verification_token(mut self, token: impl Into<String>) -> Self {
        self.verification_token = token.into();
        self
    }

    /// The app id (`api_app_id`).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// The primary team's id and domain.
    pub fn team(mut self, team_id: impl Into<String>, domain: impl Into<String>) -> Self {
        self.team.id = team_id.into();
        self.team.domain = domain.into();
        self
    }

    /// Another workspace the app is installed in, with its own bot token. Users, channels
    /// and groups belong to it when they name its id.
    pub fn other_team(
        mut self,
        team_id: impl Into<String>,
        domain: impl Into<String>,
        bot_token: impl Into<String>,
    ) -> Self {
        let domain = domain.into();
        self.other_teams.push(Team {
            id: team_id.into(),
            name: domain.clone(),
            domain,
            bot_token: bot_token.into(),
        });
        self
    }

    /// The bot's user id and bot id.
    pub fn bot_user(mut self, user_id: impl Into<String>, bot_id: impl Into<String>) -> Self {
        self.bot_user_id = user_id.into();
        self.bot_id = bot_id.into();
        self
    }

    /// A user of the workspace (for `users.info`; users who act are added anyway).
    pub fn user(mut self, user: FakeUser) -> Self {
        self.users.push(user);
        self
    }

    /// A conversation. Declaring any replaces the default public `#helpdesk`
    /// ([`DEFAULT_CHANNEL_ID`]).
    pub fn channel(mut self, channel: FakeChannel) -> Self {
        self.channels.push(channel);
        self
    }

    /// A user group of the primary team (`S…`) and its members.
    pub fn user_group<I, S>(mut self, group_id: impl Into<String>, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.push(UserGroup {
            id: group_id.into(),
            team_id: None,
            members: members.into_iter().map(Into::into).collect(),
            disabled: false,
        });
        self
    }

    /// A user group of another team.
    pub fn team_user_group<I, S>(
        mut self,
        team_id: impl Into<String>,
        group_id: impl Into<String>,
        members: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.push(UserGroup {
            id: group_id.into(),
            team_id: Some(team_id.into()),
            members: members.into_iter().map(Into::into).collect(),
            disabled: false,
        });
        self
    }

    /// The workspace is on the free plan: `usergroups.users.list` answers
    /// `plan_upgrade_required`.
    pub fn free_plan(mut self) -> Self {
        self.free_plan = true;
        self
    }

    /// Latency added to every request to the fake.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// How long a `trigger_id` can be exchanged (default 3 s).
    pub fn trigger_window(mut self, window: Duration) -> Self {
        self.trigger_window = window;
        self
    }

    /// How long a `response_url` works (default 30 minutes).
    pub fn response_url_lifetime(mut self, lifetime: Duration) -> Self {
        self.response_url_lifetime = lifetime;
        self
    }

    /// How many posts a `response_url` accepts (default 5).
    pub fn response_url_uses(mut self, uses: u32) -> Self {
        self.response_url_uses = uses;
        self
    }

    /// How long [`SlackFake::deliver`] waits for the bot's answer (default 3 s, Slack's ack
    /// window).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The Web API path prefix (default `/api`, as `https://slack.com/api/`).
    pub fn api_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.api_prefix = prefix.into();
        self
    }

    /// Enforce Slack's per-tier rate limits on the fake's clock (off by default; see
    /// [`Endpoint`]'s limits in the module docs).
    pub fn rate_limits(mut self, enforce: bool) -> Self {
        self.rate_limits = enforce;
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
    /// [`FakeError::Bind`] when the socket cannot be opened, [`FakeError::Config`] for an API
    /// prefix that is not `/…` without a trailing `/`, or two teams with one id.
    pub async fn start(self) -> Result<SlackFake, FakeError> {
        let prefix_ok = self.api_prefix.is_empty()
            || (self.api_prefix.starts_with('/') && !self.api_prefix.ends_with('/'));
        if !prefix_ok || self.api_prefix.contains(['{', '}']) {
            return Err(FakeError::Config(format!(
                "api prefix {:?} must be empty or start with / and not end with /",
                self.api_prefix
            )));
        }
        let mut teams = vec![self.team];
        teams.extend(self.other_teams);
        let ids: BTreeSet<&str> = teams.iter().map(|team| team.id.as_str()).collect();
        if ids.len() != teams.len() {
            return Err(FakeError::Config("two teams share an id".to_owned()));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(FakeError::Bind)?;
        let addr = listener.local_addr().map_err(FakeError::Bind)?;
        let mut state = State::default();
        state.free_plan = self.free_plan;
        for user in self.users {
            state.add_user(user);
        }
        let mut channels = self.channels;
        if channels.is_empty() {
            channels.push(FakeChannel::public(DEFAULT_CHANNEL_ID, "helpdesk"));
        }
        for channel in channels {
            state.add_channel(channel);
        }
        for group in self.groups {
            state.groups.insert(group.id.clone(), group);
        }
        let mut faults = FaultQueue::default();
        for fault in self.faults {
            faults.push(fault);
        }
        let mut limiter = RateLimiter::default();
        limiter.enabled = self.rate_limits;
        let (changes, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            config: Config {
                app_id: self.app_id,
                signing_secret: self.signing_secret,
                verification_token: self.verification_token,
                bot_user_id: self.bot_user_id,
                bot_id: self.bot_id,
                bot_name: self.bot_name,
                teams,
                trigger_window: self.trigger_window,
                response_url_lifetime: self.response_url_lifetime,
                response_url_uses: self.response_url_uses,
                ack_timeout: self.ack_timeout,
                base_url: format!("http://{addr}"),
                api_prefix: self.api_prefix,
            },
            state: Mutex::new(state),
            requests: Mutex::new(Vec::new()),
            deliveries: Mutex::new(Vec::new()),
            faults: Mutex::new(faults),
            limiter: Mutex::new(limiter),
            latency: Mutex::new(self.latency),
            offset: Mutex::new(Duration::ZERO),
            changes,
        });
        let app = routes::router(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "slack fake stopped");
            }
        });
        tracing::debug!(%addr, "slack fake listening");
        Ok(SlackFake {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }
}

/// What the bot's endpoint answered to a delivery, and what Slack made of it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpDelivery {
    /// The status.
    pub status: u16,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// How long the answer took (Slack gives up after 3 s).
    pub elapsed: Duration,
    /// For a slash command: the message its `200` body showed the user.
    pub message: Option<MessageView>,
    /// Why Slack could not use the answer (e.g. `invalid_blocks: …` for a command's ack, or
    /// a `view_submission` answered with a non-200).
    pub problem: Option<String>,
}

impl HttpDelivery {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A running fake Slack. Dropping it stops the server.
pub struct SlackFake {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for SlackFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackFake")
            .field("addr", &self.addr)
            .field("app_id", &self.shared.config.app_id)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> String {
    Utc::now().timestamp().to_string()
}

fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}

impl SlackFake {
    /// A builder with the defaults.
    pub fn builder() -> SlackFakeBuilder {
        SlackFakeBuilder::default()
    }

    /// The socket address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.shared.config.base_url.clone()
    }

    /// `http://127.0.0.1:<port>/api/`: what replaces `https://slack.com/api/` (the method
    /// name is appended).
    pub fn api_url(&self) -> String {
        format!(
            "{}{}/",
            self.shared.config.base_url, self.shared.config.api_prefix
        )
    }

    /// The signing secret.
    pub fn signing_secret(&self) -> &str {
        &self.shared.config.signing_secret
    }

    /// The primary team's bot token.
    pub fn bot_token(&self) -> &str {
        self.shared
            .config
            .teams
            .first()
            .map_or("", |team| team.bot_token.as_str())
    }

    /// The app id (`api_app_id`).
    pub fn app_id(&self) -> &str {
        &self.shared.config.app_id
    }

    /// The primary team id.
    pub fn team_id(&self) -> &str {
        self.shared.config.primary()
    }

    /// The bot's user id.
    pub fn bot_user_id(&self) -> &str {
        &self.shared.config.bot_user_id
    }

    /// The legacy verification token sent as `token`.
    pub fn verification_token(&self) -> &str {
        &self.shared.config.verification_token
    }

    // ---- Driving: what users do ----

    fn signed(&self, built: Built) -> SignedRequest {
        let timestamp = unix_now();
        let signature = sign(&self.shared.config.signing_secret, &timestamp, &built.body);
        SignedRequest {
            kind: built.kind,
            body: built.body,
            timestamp: Some(timestamp),
            signature: Some(signature),
            response_url: built.response_url,
            trigger_id: built.trigger_id,
            user_id: built.user_id,
            channel_id: built.channel_id,
            view_id: built.view_id,
        }
    }

    /// A user types `/command text` in a channel of a team: the form body Slack sends (every
    /// field: `token`, `team_id`, `team_domain`, `channel_id`, `channel_name`, `user_id`,
    /// `user_name`, `command`, `text`, `api_app_id`, `is_enterprise_install`,
    /// `response_url`, `trigger_id`), signed now. Mints a fresh `response_url` and
    /// `trigger_id`.
    ///
    /// # Errors
    ///
    /// [`FakeError::UnknownTeam`], or [`FakeError::UnknownChannel`] for a channel not
    /// declared in that team.
    pub fn slash_command(
        &self,
        user: &FakeUser,
        team_id: &str,
        channel_id: &str,
        command: &str,
        text: &str,
    ) -> Result<SignedRequest, FakeError> {
        let now = self.shared.now();
        let built = self.shared.state().slash_command(
            &self.shared.config,
            user,
            team_id,
            channel_id,
            command,
            text,
            now,
        )?;
        self.shared.notify();
        Ok(self.signed(built))
    }

    /// A user presses the button with `action_id` (and `value`, when several share the id)
    /// on a message as they saw it (`message` may be older than the current state, as with
    /// two people clicking at once): a signed `block_actions` payload with `container`,
    /// `actions`, a fresh `response_url` tied to that message and a fresh `trigger_id`.
    ///
    /// # Errors
    ///
    /// [`FakeError::UnknownMessage`] if the message was deleted, [`FakeError::NotVisible`]
    /// for another user's ephemeral message, [`FakeError::NoSuchButton`] if `message` shows
    /// no such button.
    pub fn press_button(
        &self,
        user: &FakeUser,
        message: &MessageView,
        action_id: &str,
        value: Option<&str>,
    ) -> Result<SignedRequest, FakeError> {
        let wanted = |button: &ButtonView| {
            button.action_id == action_id
                && value.is_none_or(|value| button.value.as_deref() == Some(value))
        };
        let describe = match value {
            Some(value) => format!("{action_id:?} with value {value:?}"),
            None => format!("{action_id:?}"),
        };
        self.press(user, message, &wanted, &describe)
    }

    /// Like [`press_button`](Self::press_button), finding the button by its label.
    ///
    /// # Errors
    ///
    /// As [`press_button`](Self::press_button).
    pub fn press_button_labelled(
        &self,
        user: &FakeUser,
        message: &MessageView,
        label: &str,
    ) -> Result<SignedRequest, FakeError> {
        let wanted = |button: &ButtonView| button.text == label;
        self.press(user, message, &wanted, &format!("labelled {label:?}"))
    }

    fn press(
        &self,
        user: &FakeUser,
        message: &MessageView,
        wanted: &dyn Fn(&ButtonView) -> bool,
        describe: &str,
    ) -> Result<SignedRequest, FakeError> {
        let (now, wall) = (self.shared.now(), self.shared.wall());
        let built = self.shared.state().press(
            &self.shared.config,
            user,
            message,
            wanted,
            describe,
            now,
            wall,
        )?;
        self.shared.notify();
        Ok(self.signed(built))
    }

    /// A user fills in and submits a modal the bot opened for them: `values` are
    /// (input `block_id`, text) pairs; the signed `view_submission` carries the view as
    /// opened (with `private_metadata`, `callback_id`, `hash`) and `state.values`.
    ///
    /// # Errors
    ///
    /// [`FakeError::NoSuchView`] if no such view is open for the user, [`FakeError::ViewInput`]
    /// for what Slack's client would refuse (an unknown block, a required input left empty,
    /// a text outside `min_length`/`max_length`).
    pub fn submit_view(
        &self,
        user: &FakeUser,
        view_id: &str,
        values: &[(&str, &str)],
    ) -> Result<SignedRequest, FakeError> {
        let now = self.shared.now();
        let built =
            self.shared
                .state()
                .submit_view(&self.shared.config, user, view_id, values, now)?;
        self.shared.notify();
        Ok(self.signed(built))
    }

    /// A user closes a modal: it is gone; a signed `view_closed` comes back if the view asked
    /// for `notify_on_close`.
    ///
    /// # Errors
    ///
    /// [`FakeError::NoSuchView`] if no such view is open for the user.
    pub fn close_view(
        &self,
        user: &FakeUser,
        view_id: &str,
    ) -> Result<Option<SignedRequest>, FakeError> {
        let built = self
            .shared
            .state()
            .close_view(&self.shared.config, user, view_id)?;
        self.shared.notify();
        Ok(built.map(|built| self.signed(built)))
    }

    /// The same request signed at a chosen `X-Slack-Request-Timestamp` (e.g. a stale one,
    /// or non-digits).
    pub fn sign_with_timestamp(&self, request: &SignedRequest, timestamp: &str) -> SignedRequest {
        request.resigned(&self.shared.config.signing_secret, timestamp.to_owned())
    }

    /// The same request signed now with a secret that is not the app's.
    pub fn sign_with_wrong_secret(&self, request: &SignedRequest) -> SignedRequest {
        let secret = hex::encode(rand::random::<[u8; 16]>());
        request.resigned(&secret, unix_now())
    }

    /// The same request without `X-Slack-Request-Timestamp` and `X-Slack-Signature`.
    pub fn unsigned(&self, request: &SignedRequest) -> SignedRequest {
        SignedRequest {
            timestamp: None,
            signature: None,
            ..request.clone()
        }
    }

    /// POSTs a request to the bot (`url` must be on this machine) and waits at most the ack
    /// window (3 s). A `200` to a slash command shows its body to the user
    /// ([`HttpDelivery::message`]); a `200` to a `view_submission` applies its
    /// `response_action`; a `block_actions` answer changes nothing, as in Slack.
    ///
    /// # Errors
    ///
    /// [`FakeError::Delivery`] when the URL is not on this machine or no answer came
    /// (refused, timed out).
    #[tracing::instrument(
        skip_all,
        fields(kind = request.kind.name(), status = tracing::field::Empty)
    )]
    pub async fn deliver(
        &self,
        url: &str,
        request: &SignedRequest,
    ) -> Result<HttpDelivery, FakeError> {
        if !is_loopback(url) {
            return Err(FakeError::Delivery(
                "the fake only delivers to this machine".to_owned(),
            ));
        }
        let mut record = DeliveryRecord {
            url: url.to_owned(),
            kind: request.kind,
            user_id: request.user_id.clone(),
            signed: request.signature.is_some(),
            body: String::from_utf8_lossy(&request.body).into_owned(),
            status: None,
            answer: String::new(),
            elapsed: Duration::ZERO,
        };
        let started = std::time::Instant::now();
        let answer = self.post(url, request).await;
        record.elapsed = started.elapsed();
        let (status, content_type, body) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                lock(&self.shared.deliveries).push(record);
                self.shared.notify();
                return Err(error);
            }
        };
        tracing::Span::current().record("status", status);
        record.status = Some(status);
        record.answer = String::from_utf8_lossy(&body).into_owned();
        let mut delivery = HttpDelivery {
            status,
            content_type,
            body,
            elapsed: record.elapsed,
            message: None,
            problem: None,
        };
        let wall = self.shared.wall();
        match request.kind {
            RequestKind::SlashCommand if status == 200 => {
                let url = request.response_url.as_deref().unwrap_or_default();
                let mut state = self.shared.state();
                match state.command_ack(
                    &self.shared.config,
                    url,
                    delivery.content_type.as_deref(),
                    &delivery.body,
                    wall,
                ) {
                    Ok(Some(key)) => {
                        delivery.message = state.message_view(&self.shared.config, key);
                    }
                    Ok(None) => {}
                    Err(problem) => delivery.problem = Some(problem),
                }
            }
            RequestKind::SlashCommand => {
                delivery.problem = Some(format!("the bot answered {status}"));
            }
            RequestKind::ViewSubmission => {
                let view_id = request.view_id.as_deref().unwrap_or_default();
                if let Err(problem) = self.shared.state().view_ack(
                    &self.shared.config,
                    view_id,
                    status,
                    &delivery.body,
                    wall,
                ) {
                    delivery.problem = Some(problem);
                }
            }
            RequestKind::BlockActions | RequestKind::ViewClosed => {}
        }
        lock(&self.shared.deliveries).push(record);
        self.shared.notify();
        Ok(delivery)
    }

    async fn post(
        &self,
        url: &str,
        request: &SignedRequest,
    ) -> Result<(u16, Option<String>, Vec<u8>), FakeError> {
        let failed = |error: reqwest::Error| FakeError::Delivery(error.without_url().to_string());
        let client = reqwest::Client::builder()
            .timeout(self.shared.config.ack_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(failed)?;
        let mut post = client.post(url).body(request.body.clone());
        for (name, value) in request.headers() {
            post = post.header(name, value);
        }
        let response = post.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(failed)?.to_vec();
        Ok((status, content_type, body))
    }

    // ---- Observing: what Slack users see ----

    /// What everyone in the channel sees: its non-ephemeral messages (thread replies
    /// included), oldest first.
    pub fn channel_messages(&self, channel_id: &str) -> Vec<MessageView> {
        self.shared
            .state()
            .messages_where(&self.shared.config, channel_id, |message| {
                !message.is_ephemeral()
            })
    }

    /// The ephemeral messages `user_id` sees in the channel, oldest first.
    pub fn ephemerals(&self, channel_id: &str, user_id: &str) -> Vec<MessageView> {
        self.shared
            .state()
            .messages_where(&self.shared.config, channel_id, |message| {
                message.ephemeral_to.as_deref() == Some(user_id)
            })
    }

    /// Everything `user_id` sees in the channel (channel messages and their ephemerals),
    /// oldest first.
    pub fn visible_to(&self, user_id: &str, channel_id: &str) -> Vec<MessageView> {
        self.shared
            .state()
            .messages_where(&self.shared.config, channel_id, |message| {
                message
                    .ephemeral_to
                    .as_deref()
                    .is_none_or(|owner| owner == user_id)
            })
    }

    /// One message as it stands now (ephemeral ones included); `None` once deleted.
    pub fn message(&self, channel_id: &str, ts: &str) -> Option<MessageView> {
        self.shared
            .state()
            .message_by_ts(&self.shared.config, channel_id, ts)
    }

    /// Every post the bot made to a `response_url`, in order (refused ones included).
    pub fn response_posts(&self, response_url: &str) -> Vec<ResponseUrlPost> {
        self.shared
            .state()
            .hook_by_url(response_url)
            .map(|hook| hook.posts.clone())
            .unwrap_or_default()
    }

    /// Every view the bot opened or pushed, in order.
    pub fn views(&self) -> Vec<ViewInfo> {
        self.shared
            .state()
            .views
            .values()
            .map(state::StoredView::info)
            .collect()
    }

    /// One view.
    pub fn view(&self, view_id: &str) -> Option<ViewInfo> {
        self.shared
            .state()
            .views
            .get(view_id)
            .map(state::StoredView::info)
    }

    /// Every request the bot made to the fake, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.requests).clone()
    }

    /// The requests to one endpoint.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RequestRecord> {
        lock(&self.shared.requests)
            .iter()
            .filter(|request| request.endpoint == Some(endpoint))
            .cloned()
            .collect()
    }

    /// Every request the driver delivered to the bot, in order.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        lock(&self.shared.deliveries).clone()
    }

    // ---- Waiting ----

    /// Waits until `check` returns `Some`, re-checking after every change in the fake
    /// (requests, posts, messages, views). No polling, no sleeps.
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

    /// Waits until a `response_url` got at least `count` posts (accepted or not).
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if they did not come in time.
    pub async fn wait_for_response_posts(
        &self,
        response_url: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ResponseUrlPost>, FakeError> {
        self.wait_until(
            &format!("{count} post(s) to a response_url"),
            timeout,
            |fake| {
                let posts = fake.response_posts(response_url);
                (posts.len() >= count).then_some(posts)
            },
        )
        .await
    }

    /// Waits until the channel shows at least `count` non-ephemeral messages.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if they did not come in time.
    pub async fn wait_for_channel_messages(
        &self,
        channel_id: &str,
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

    /// Waits until `user_id` sees at least `count` ephemeral messages in the channel.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if they did not come in time.
    pub async fn wait_for_ephemerals(
        &self,
        channel_id: &str,
        user_id: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<MessageView>, FakeError> {
        self.wait_until(
            &format!("{count} ephemeral message(s) for {user_id} in {channel_id}"),
            timeout,
            |fake| {
                let messages = fake.ephemerals(channel_id, user_id);
                (messages.len() >= count).then_some(messages)
            },
        )
        .await
    }

    /// Waits until the bot opened a view with this request's `trigger_id`.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if none was opened in time.
    pub async fn wait_for_view(
        &self,
        request: &SignedRequest,
        timeout: Duration,
    ) -> Result<ViewInfo, FakeError> {
        let trigger = request.trigger_id.clone();
        self.wait_until("a view opened with the trigger_id", timeout, |fake| {
            fake.views()
                .into_iter()
                .find(|view| view.trigger_id.is_some() && view.trigger_id == trigger)
        })
        .await
    }

    /// Waits until at least `count` requests to the endpoint were answered.
    ///
    /// # Errors
    ///
    /// [`FakeError::Timeout`] if they did not come in time.
    pub async fn wait_for_requests(
        &self,
        endpoint: Endpoint,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RequestRecord>, FakeError> {
        self.wait_until(
            &format!("{count} answered {} request(s)", endpoint.name()),
            timeout,
            |fake| {
                let answered: Vec<RequestRecord> = fake
                    .requests_to(endpoint)
                    .into_iter()
                    .filter(|request| request.status.is_some())
                    .collect();
                (answered.len() >= count).then_some(answered)
            },
        )
        .await
    }

    // ---- Knobs ----

    /// Changes the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.shared.latency) = latency;
    }

    /// Injects a fault (after any already pending).
    pub fn inject(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Turns the per-tier rate limits on or off.
    pub fn set_rate_limits(&self, enforce: bool) {
        self.shared.limiter().enabled = enforce;
    }

    /// Moves the fake's clock forward: trigger ids, `response_url`s and rate-limit windows
    /// age without waiting (message `ts` moves too). Signatures keep the real clock.
    pub fn advance(&self, by: Duration) {
        *lock(&self.shared.offset) += by;
        self.shared.notify();
    }

    /// Puts the workspace on (or off) the free plan (`plan_upgrade_required`).
    pub fn set_free_plan(&self, free: bool) {
        self.shared.state().free_plan = free;
    }

    /// Creates a user group of the primary team, or replaces its members.
    pub fn set_user_group<I, S>(&self, group_id: &str, members: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        let mut state = self.shared.state();
        let group = state
            .groups
            .entry(group_id.to_owned())
            .or_insert_with(|| UserGroup {
                id: group_id.to_owned(),
                team_id: None,
                members: Vec::new(),
                disabled: false,
            });
        group.members = members;
    }

    /// Disables (or re-enables) a user group; returns `false` for an unknown group.
    pub fn set_user_group_disabled(&self, group_id: &str, disabled: bool) -> bool {
        match self.shared.state().groups.get_mut(group_id) {
            Some(group) => {
                group.disabled = disabled;
                true
            }
            None => false,
        }
    }

    /// Adds (or replaces) a user.
    pub fn add_user(&self, user: FakeUser) {
        self.shared.state().add_user(user);
    }

    /// Adds (or replaces) a conversation.
    pub fn add_channel(&self, channel: FakeChannel) {
        self.shared.state().add_channel(channel);
    }

    /// Invites the bot to a channel or removes it; returns `false` for an unknown channel.
    pub fn set_bot_member(&self, channel_id: &str, member: bool) -> bool {
        match self.shared.state().channels.get_mut(channel_id) {
            Some(channel) => {
                channel.bot_member = member;
                true
            }
            None => false,
        }
    }
}

impl Drop for SlackFake {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
