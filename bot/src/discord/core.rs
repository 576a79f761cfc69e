//! The interaction core both Discord modes share: one interaction in, its first response out
//! within Discord's 3-second window, and everything after that — edits, follow-ups, the
//! approvals channel, progress — done through serenity's `Http`.
//!
//! # The first response
//!
//! The first response never waits on the directory, the audit log or any other I/O:
//! [`DiscordCore::handle`] polls the engine's work once, where the interaction is handled.
//! What is ready then — work that touched only memory: a usage error, the help, a press on a
//! request that is gone, the password button (which must answer with the modal) — is answered
//! directly:
//!
//! | interaction | engine answer | first response |
//! |---|---|---|
//! | slash command | ready (a usage error, the help) | 4, the reply as an ephemeral embed |
//! | button | `open_password_prompt` | 9, the password modal |
//! | button | `update_original` | 7, the pressed message rewritten (buttons replaced) |
//! | button | other (an unknown or handled request, …) | 4, a new ephemeral message; the pressed one is unchanged |
//! | password modal | `update_original` | 7 (the modal came from a button) |
//! | password modal | other (the password itself refused) | 4, a new ephemeral message |
//! | autocomplete | `Engine::autocomplete` suggestions | 8, at most 25 choices, within [`AUTOCOMPLETE_BUDGET`] (none for anyone the policy refuses) |
//!
//! Everything else (an audit line to write, a JumpCloud or Identity Manager look-up, a run) goes
//! on in its own task and the interaction is acknowledged at once — 5 (ephemeral "thinking…")
//! for a command or a modal not from a button, 6 for a button or a modal from one — and the
//! answer edits the original message once it comes (a refused press gets a new ephemeral
//! follow-up instead, the pressed message unchanged). While a deferred button runs a bulk job,
//! the message shows a progress bar from [`EngineEvent::Progress`], edited at most once per
//! `progress_min_interval` (the first one interval after the press, so a quick run shows just
//! its report) and at most `max_progress_edits` times.
//!
//! [`CoreSettings::with_ack_budget`] lets the core wait a little (at most 2.5 s) for that work
//! before deferring, for anyone who prefers fewer edits to the fastest answer; the default
//! ([`DEFAULT_ACK_BUDGET`], zero) does not wait.
//!
//! The core is transport-agnostic: `handle` returns a [`Handled`]: the first response (the
//! HTTP endpoint returns it as its response body; gateway mode POSTs it with
//! [`DiscordCore::respond`]) and a [`FollowUp`] to start once the response is sent.
//!
//! # Later messages
//!
//! The core remembers, per pending action, the requester's message (the interaction token that
//! can edit it, valid 15 minutes) and the approvals-channel message, in a small map whose old
//! entries are swept at most once a second (not on every new prompt).
//! [`DiscordCore::spawn_listener`] turns [`EngineEvent`]s into edits: an approval decided or a
//! run finished after someone else's press updates the requester's message; an expiry updates
//! both messages and removes their buttons. Approval requests are posted to the
//! approvals channel with the bot token after the first response.
//!
//! # The password
//!
//! A modal submit's password is moved out of the interaction into a `SecretString` and handed
//! to [`Engine::submit_password`]; it is never logged, echoed, stored or sent back to Discord.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use crate::engine_events::Listener;
use crate::engine_events::{EventHandler, ProgressRoutes, ProgressSubscription};
pub use crate::follow_up::FollowUp;
use crate::follow_up::{Backlog, Dated, Failed, Inflight, Raced, SweptMap, first_answer};
use passdesk_commands::ids::{ButtonAction, PendingId};
use passdesk_commands::{Engine, EngineEvent, Reply, Response, Suggestion};
use passdesk_core::retry::OperationKind;
use secrecy::{ExposeSecret as _, SecretString};
use serenity::all::{
    AutocompleteChoice, ChannelId, CommandInteraction, ComponentInteraction,
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseMessage,
    Interaction, InteractionId, MessageId, ModalInteraction,
};
use serenity::http::Http;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{Instrument as _, Span, debug, error, field, info_span, warn};

use super::{DiscordError, convert, render, rest};

/// How long the engine may take before the interaction is deferred, by default: none. Its work
/// is polled once; whatever waits on I/O is deferred (see the module docs).
pub const DEFAULT_ACK_BUDGET: Duration = Duration::ZERO;
/// The longest ack budget: the response must still fit Discord's 3 seconds.
pub const MAX_ACK_BUDGET: Duration = Duration::from_millis(2500);
/// The least time between two progress edits of one message.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// The most progress edits of one message (the final report is not counted).
pub const DEFAULT_MAX_PROGRESS_EDITS: u32 = 20;
/// The longest an autocomplete interaction waits for suggestions before answering with none:
/// the engine's own look-up timeout and a margin, well inside Discord's 3 seconds.
pub const AUTOCOMPLETE_BUDGET: Duration = Duration::from_millis(2000);
/// Discord's limit on an autocomplete choice's name and string value, in characters.
const CHOICE_MAX_CHARS: usize = 100;
/// How long an interaction token can edit its messages (Discord: 15 minutes), less a margin.
const TOKEN_USABLE: Duration = Duration::from_secs(14 * 60 + 30);
/// How long a token is kept at least (its lifetime); entries live longer while awaiting approval.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// How the core paces itself and where it posts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CoreSettings {
    /// How long the engine may take before the interaction is deferred (zero: poll it once,
    /// defer whatever waits on I/O).
    pub ack_budget: Duration,
    /// Where approval requests are posted (`[discord] approvals_channel`).
    pub approvals_channel: Option<ChannelId>,
    /// The least time between two progress edits of one message.
    pub progress_min_interval: Duration,
    /// The most progress edits of one message.
    pub max_progress_edits: u32,
}

impl CoreSettings {
    /// The defaults, posting approval requests to `approvals_channel`.
    pub fn new(approvals_channel: Option<ChannelId>) -> Self {
        Self {
            ack_budget: DEFAULT_ACK_BUDGET,
            approvals_channel,
            progress_min_interval: DEFAULT_PROGRESS_INTERVAL,
            max_progress_edits: DEFAULT_MAX_PROGRESS_EDITS,
        }
    }

    /// The defaults with `[discord]`'s approvals channel.
    pub fn from_config(discord: &passdesk_config::DiscordConfig) -> Self {
        Self::new(discord.approvals_channel.map(|c| ChannelId::new(c.get())))
    }

    /// Sets the ack budget: how long to wait for work that needs I/O before deferring (kept
    /// under [`MAX_ACK_BUDGET`], so the response still fits Discord's window; zero, the
    /// default, polls the work once and defers at once).
    #[must_use]
    pub fn with_ack_budget(mut self, budget: Duration) -> Self {
        self.ack_budget = budget.min(MAX_ACK_BUDGET);
        self
    }

    /// Sets the pace of progress edits.
    #[must_use]
    pub fn with_progress(mut self, min_interval: Duration, max_edits: u32) -> Self {
        self.progress_min_interval = min_interval;
        self.max_progress_edits = max_edits;
        self
    }
}

/// An interaction token: it can edit the interaction's messages for 15 minutes, so it is kept
/// as a secret and never logged.
#[derive(Clone)]
struct Token {
    secret: SecretString,
    at: Instant,
}

impl Token {
    fn new(token: &str) -> Self {
        Self {
            secret: SecretString::from(token.to_owned()),
            at: Instant::now(),
        }
    }

    fn usable(&self) -> bool {
        self.at.elapsed() < TOKEN_USABLE
    }

    fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// What the core remembers of one pending action's messages.
#[derive(Debug, Clone)]
struct Tracked {
    /// The requester's platform id.
    requester: String,
    /// A token that edits the requester's (ephemeral) message.
    requester_message: Token,
    /// The approval request in the approvals channel, once posted.
    approvals_message: Option<(ChannelId, MessageId)>,
    /// Whether the press that may be running the request is the requester's own (then its
    /// answer already shows the report, and [`EngineEvent::Finished`] needs no edit).
    run_by_requester: bool,
    /// When it was first remembered.
    since: Instant,
}

impl Dated for Tracked {
    fn since(&self) -> Instant {
        self.since
    }
}

/// One interaction handled: its first response, and what follows it.
#[derive(Debug)]
#[must_use]
pub struct Handled {
    response: CreateInteractionResponse,
    follow_up: FollowUp,
}

impl Handled {
    /// The first response (serialise it for an HTTP response body, or POST it).
    pub fn response(&self) -> &CreateInteractionResponse {
        &self.response
    }

    /// The first response and the follow-up.
    pub fn into_parts(self) -> (CreateInteractionResponse, FollowUp) {
        (self.response, self.follow_up)
    }
}

/// The shared interaction core. Cheap to clone; every clone is the same core.
#[derive(Clone)]
pub struct DiscordCore {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    http: Arc<Http>,
    settings: CoreSettings,
    tracked: SweptMap<PendingId, Tracked>,
    inflight: Inflight,
    /// The bound on engine work running after its first answer.
    backlog: Backlog,
    /// The deferred presses following their run's progress.
    progress: ProgressRoutes,
}

impl fmt::Debug for DiscordCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordCore")
            .field("settings", &self.inner.settings)
            .field("tracked", &self.inner.tracked.len())
            .finish_non_exhaustive()
    }
}

impl DiscordCore {
    /// A core on `engine`, doing its REST calls through `http` (which must know the
    /// application id).
    pub fn new(engine: Engine, http: Arc<Http>, settings: CoreSettings) -> Self {
        let limits = &engine.config().limits;
        let retention = limits.confirmation_ttl + limits.approval_ttl * 2 + TOKEN_LIFETIME;
        Self {
            inner: Arc::new(Inner {
                engine,
                http,
                settings,
                tracked: SweptMap::new(retention),
                inflight: Inflight::new(),
                backlog: Backlog::default(),
                progress: ProgressRoutes::default(),
            }),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The Discord REST client.
    pub fn http(&self) -> &Arc<Http> {
        &self.inner.http
    }

    /// Handles one interaction and returns its first response — at once, without waiting on
    /// I/O (or within the ack budget, when one is set) — with the work that follows.
    pub async fn handle(&self, interaction: Interaction) -> Handled {
        let span = info_span!(
            "discord.interaction",
            platform = "discord",
            kind = field::Empty,
            interaction_id = %interaction.id(),
            actor = field::Empty,
            command = field::Empty,
        );
        async move {
            match interaction {
                Interaction::Ping(_) => {
                    Span::current().record("kind", "ping");
                    self.now(CreateInteractionResponse::Pong)
                }
                Interaction::Command(command) => {
                    Span::current().record("kind", "command");
                    self.command(command).await
                }
                Interaction::Component(component) => {
                    Span::current().record("kind", "component");
                    self.component(component).await
                }
                Interaction::Modal(modal) => {
                    Span::current().record("kind", "modal_submit");
                    self.modal(modal).await
                }
                Interaction::Autocomplete(typing) => {
                    Span::current().record("kind", "autocomplete");
                    self.autocomplete(typing).await
                }
                _ => {
                    Span::current().record("kind", "other");
                    let reply = Reply::error(
                        "Not supported",
                        "Passdesk does not handle this kind of interaction.",
                    );
                    self.now(CreateInteractionResponse::Message(render::message(&reply)))
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Sends the first response of an interaction (`POST …/callback`): what gateway mode does
    /// with [`Handled::response`]. Not retried: an interaction takes one response.
    ///
    /// # Errors
    ///
    /// Discord refused it (e.g. `10062` after the 3-second window) or could not be reached.
    pub async fn respond(
        &self,
        id: InteractionId,
        token: &str,
        response: &CreateInteractionResponse,
    ) -> Result<(), DiscordError> {
        let span = info_span!(
            "discord.request",
            method = "POST",
            route = rest::CALLBACK,
            attempt = 1,
            status = field::Empty,
        );
        let result = self
            .inner
            .http
            .create_interaction_response(id, token, response, Vec::new())
            .instrument(span.clone())
            .await;
        match result {
            Ok(()) => {
                span.record("status", "2xx");
                Ok(())
            }
            Err(e) => {
                if let Some((status, _)) = rest::status_and_code(&e) {
                    span.record("status", status);
                }
                Err(DiscordError::from_serenity(&e))
            }
        }
    }

    /// Starts turning engine events into message edits (see the module docs).
    pub fn spawn_listener(&self) -> Listener {
        Listener::spawn(
            self.clone(),
            self.inner.engine.events(),
            info_span!("discord.events"),
        )
    }

    /// Waits until every started follow-up has finished.
    pub async fn idle(&self) {
        self.inner.inflight.idle().await;
    }

    fn now(&self, response: CreateInteractionResponse) -> Handled {
        Handled {
            response,
            follow_up: FollowUp::none(),
        }
    }

    fn then(
        &self,
        response: CreateInteractionResponse,
        work: impl Future<Output = ()> + Send + 'static,
    ) -> Handled {
        Handled {
            response,
            follow_up: self.inner.inflight.follow_up(work),
        }
    }

    /// The engine's `work` if it is ready at once (or within the ack budget), else its task.
    async fn race<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Raced<T> {
        first_answer(
            work.in_current_span(),
            self.inner.settings.ack_budget,
            &self.inner.backlog,
        )
        .await
    }

    // ---- Slash commands ----

    async fn command(&self, command: CommandInteraction) -> Handled {
        let token = Token::new(&command.token);
        let dm = command.guild_id.is_none();
        let invocation = convert::invocation(&command);
        drop(command);
        Span::current().record("actor", field::display(&invocation.actor.id));
        Span::current().record(
            "command",
            passdesk_core::http::excerpt(&invocation.command).as_str(),
        );
        let requester = invocation.actor.id.clone();
        let engine = self.inner.engine.clone();
        match self
            .race(async move { engine.invoke(invocation).await })
            .await
        {
            Raced::Ready(done) => {
                let response = settle(done, dm);
                self.remember_prompt(&response, &requester, token);
                self.now(CreateInteractionResponse::Message(render::message(
                    &response.reply,
                )))
            }
            Raced::Late(task) => {
                debug!("the command waits on I/O; deferring");
                let core = self.clone();
                self.then(
                    CreateInteractionResponse::Defer(
                        CreateInteractionResponseMessage::new().ephemeral(true),
                    ),
                    async move {
                        let response = settle(task.await.map_err(Failed::from), dm);
                        core.edit_original(&token, &response.reply).await;
                        core.remember_prompt(&response, &requester, token);
                    },
                )
            }
        }
    }

    /// Remembers the requester's message of a new confirmation prompt.
    fn remember_prompt(&self, response: &Response, requester: &str, token: Token) {
        let Some(pending) = response
            .reply
            .buttons
            .iter()
            .find(|b| b.id.action == ButtonAction::Confirm)
            .map(|b| b.id.pending)
        else {
            return;
        };
        self.inner.tracked.insert(
            pending,
            Tracked {
                requester: requester.to_owned(),
                requester_message: token,
                approvals_message: None,
                run_by_requester: false,
                since: Instant::now(),
            },
        );
    }

    // ---- Autocomplete ----

    /// Suggestions for the option being typed, answered at once as type 8: the engine checks
    /// the command's policy first (anyone it refuses gets none) and bounds its directory
    /// look-up; [`AUTOCOMPLETE_BUDGET`] bounds the whole, so the answer always fits Discord's
    /// 3 seconds. Nothing follows: an autocomplete result is final.
    async fn autocomplete(&self, interaction: CommandInteraction) -> Handled {
        let typing = convert::typing(&interaction);
        drop(interaction);
        let Some(typing) = typing else {
            debug!("autocomplete without a focused option");
            return self.now(suggestions(&[]));
        };
        Span::current().record("actor", field::display(&typing.actor.id));
        Span::current().record(
            "command",
            passdesk_core::http::excerpt(&typing.command).as_str(),
        );
        let found = tokio::time::timeout(
            AUTOCOMPLETE_BUDGET,
            self.inner.engine.autocomplete(
                &typing.actor,
                typing.channel.as_deref(),
                typing.tenant.as_deref(),
                &typing.command,
                &typing.option,
                &typing.partial,
            ),
        )
        .await
        .unwrap_or_else(|_| {
            debug!("suggestions not ready within the budget; answering with none");
            Vec::new()
        });
        self.now(suggestions(&found))
    }

    // ---- Buttons ----

    async fn component(&self, component: ComponentInteraction) -> Handled {
        let token = Token::new(&component.token);
        let dm = component.guild_id.is_none();
        let message = (component.channel_id, component.message.id);
        let press = match convert::press(&component) {
            Ok(press) => press,
            Err(e) => {
                debug!(error = %e, "button refused");
                return self.now(CreateInteractionResponse::Message(render::message(
                    &e.reply(),
                )));
            }
        };
        drop(component);
        Span::current().record("actor", field::display(&press.actor.id));
        Span::current().record("command", press.button.action.as_str());
        let pending = press.button.pending;
        let action = press.button.action;
        self.note_press(pending, &press.actor.id, action, message);
        // Subscribed before the press starts, so no progress of its run is missed.
        let progress = self.inner.progress.subscribe(pending);
        let engine = self.inner.engine.clone();
        match self.race(async move { engine.press(press).await }).await {
            Raced::Ready(done) => {
                let response = settle(done, dm);
                let first = match response.open_password_prompt {
                    Some(prompt) => {
                        CreateInteractionResponse::Modal(render::password_modal(prompt))
                    }
                    None if response.update_original => {
                        CreateInteractionResponse::UpdateMessage(render::update(&response.reply))
                    }
                    None => CreateInteractionResponse::Message(render::message(&response.reply)),
                };
                let core = self.clone();
                self.then(first, async move {
                    core.after_press(pending, action, &token, &response).await;
                })
            }
            Raced::Late(task) => {
                debug!("the press waits on I/O; deferring its answer");
                let core = self.clone();
                self.then(CreateInteractionResponse::Acknowledge, async move {
                    let done = core.follow_progress(&token, progress, task).await;
                    let response = settle(done.map_err(Failed::from), dm);
                    if response.open_password_prompt.is_some() {
                        // A modal must be the first response; that moment has passed.
                        let again = Reply::warning(
                            "Press the button again",
                            "The password prompt could not open in time; press \"Enter \
                             password and send\" again.",
                        );
                        core.followup(&token, &again).await;
                    } else if response.update_original {
                        core.edit_original(&token, &response.reply).await;
                    } else {
                        core.followup(&token, &response.reply).await;
                    }
                    core.after_press(pending, action, &token, &response).await;
                })
            }
        }
    }

    /// Notes who pressed: whether a run that follows is the requester's own, and where the
    /// approval request sits.
    fn note_press(
        &self,
        pending: PendingId,
        actor: &str,
        action: ButtonAction,
        message: (ChannelId, MessageId),
    ) {
        let Some(mut tracked) = self.inner.tracked.get_mut(&pending) else {
            return;
        };
        let own = tracked.requester == actor;
        match action {
            ButtonAction::Confirm | ButtonAction::EnterPassword if own => {
                tracked.run_by_requester = true;
            }
            ButtonAction::Approve if !own => tracked.run_by_requester = false,
            _ => {}
        }
        if matches!(action, ButtonAction::Approve | ButtonAction::Deny)
            && tracked.approvals_message.is_none()
        {
            tracked.approvals_message = Some(message);
        }
    }

    /// After a press was answered: keep the freshest token of the requester's message, post an
    /// approval request, and tell the approvals channel about a cancel.
    async fn after_press(
        &self,
        pending: PendingId,
        action: ButtonAction,
        token: &Token,
        response: &Response,
    ) {
        let on_requester_message = matches!(
            action,
            ButtonAction::Confirm | ButtonAction::Cancel | ButtonAction::EnterPassword
        );
        if response.update_original && on_requester_message {
            if let Some(mut tracked) = self.inner.tracked.get_mut(&pending) {
                tracked.requester_message = token.clone();
            }
        }
        if action == ButtonAction::Cancel && response.update_original {
            if let Some((_, tracked)) = self.inner.tracked.remove(&pending) {
                if let Some(message) = tracked.approvals_message {
                    self.edit_channel_message(message, &response.reply).await;
                }
            }
        }
        if let Some(approval) = &response.approval_request {
            self.post_approval_request(pending, token, approval).await;
        }
    }

    async fn post_approval_request(&self, pending: PendingId, token: &Token, approval: &Reply) {
        let Some(channel) = self.inner.settings.approvals_channel else {
            error!("an approval was asked for, but [discord] approvals_channel is not set");
            let reply = Reply::error(
                "No approvals channel",
                "This request needs an approval, but Passdesk has no Discord approvals channel \
                 to ask in; tell a Passdesk administrator. You can cancel it.",
            );
            self.followup(token, &reply).await;
            return;
        };
        let http = &self.inner.http;
        let posted = rest::retrying(OperationKind::Write, "POST", rest::CHANNEL_MESSAGES, || {
            channel.send_message(http.as_ref(), render::channel_message(approval))
        })
        .await;
        match posted {
            Ok(message) => {
                if let Some(mut tracked) = self.inner.tracked.get_mut(&pending) {
                    tracked.approvals_message = Some((channel, message.id));
                }
            }
            Err(e) => {
                error!(error = %rest::describe(&e), "the approval request could not be posted");
                let reply = Reply::error(
                    "Approval request not posted",
                    "The approvals channel could not be reached, so no approver was asked; tell \
                     a Passdesk administrator. You can cancel this request.",
                );
                self.followup(token, &reply).await;
            }
        }
    }

    /// While a deferred press runs: edits its message with the job's progress, at a bounded
    /// rate and count; returns the press's answer.
    async fn follow_progress(
        &self,
        token: &Token,
        mut progress: ProgressSubscription,
        mut task: JoinHandle<Response>,
    ) -> Result<Response, tokio::task::JoinError> {
        let settings = &self.inner.settings;
        let mut edits: u32 = 0;
        // The first edit waits one interval too: a quick run (one target) shows no progress,
        // just its report.
        let mut last = Instant::now();
        let mut listening = true;
        loop {
            tokio::select! {
                biased;
                done = &mut task => return done,
                update = progress.next(), if listening => match update {
                    Some((request_id, progress)) => {
                        let due = last.elapsed() >= settings.progress_min_interval;
                        if due && edits < settings.max_progress_edits && progress.done < progress.total {
                            edits += 1;
                            last = Instant::now();
                            let reply = render::progress_reply(request_id, progress);
                            self.edit_original(token, &reply).await;
                        }
                    }
                    None => listening = false,
                },
            }
        }
    }

    // ---- Password modal ----

    async fn modal(&self, mut modal: ModalInteraction) -> Handled {
        let token = Token::new(&modal.token);
        let dm = modal.guild_id.is_none();
        let from_button = modal.message.is_some();
        let submitted = convert::password_submit(&mut modal);
        drop(modal);
        let (press, password) = match submitted {
            Ok(submitted) => submitted,
            Err(e) => {
                debug!(error = %e, "modal refused");
                return self.now(CreateInteractionResponse::Message(render::message(
                    &e.reply(),
                )));
            }
        };
        Span::current().record("actor", field::display(&press.actor.id));
        Span::current().record("command", "password");
        let pending = press.button.pending;
        if let Some(mut tracked) = self.inner.tracked.get_mut(&pending) {
            if tracked.requester == press.actor.id {
                tracked.run_by_requester = true;
            }
        }
        let engine = self.inner.engine.clone();
        match self
            .race(async move { engine.submit_password(press, password).await })
            .await
        {
            Raced::Ready(done) => {
                let response = settle(done, dm);
                let first = if response.update_original && from_button {
                    CreateInteractionResponse::UpdateMessage(render::update(&response.reply))
                } else {
                    CreateInteractionResponse::Message(render::message(&response.reply))
                };
                if response.update_original && from_button {
                    if let Some(mut tracked) = self.inner.tracked.get_mut(&pending) {
                        tracked.requester_message = token;
                    }
                }
                self.now(first)
            }
            Raced::Late(task) => {
                let core = self.clone();
                let first = if from_button {
                    CreateInteractionResponse::Acknowledge
                } else {
                    CreateInteractionResponse::Defer(
                        CreateInteractionResponseMessage::new().ephemeral(true),
                    )
                };
                self.then(first, async move {
                    let response = settle(task.await.map_err(Failed::from), dm);
                    if response.update_original || !from_button {
                        core.edit_original(&token, &response.reply).await;
                    } else {
                        core.followup(&token, &response.reply).await;
                    }
                })
            }
        }
    }

    // ---- Engine events ----

    async fn on_event(&self, event: EngineEvent) {
        match event {
            EngineEvent::Expired { pending, reply, .. } => {
                let Some((_, tracked)) = self.inner.tracked.remove(&pending) else {
                    return;
                };
                self.edit_requester(&tracked, &reply).await;
                if let Some(message) = tracked.approvals_message {
                    self.edit_channel_message(message, &reply).await;
                }
            }
            EngineEvent::ApprovalDecided {
                pending,
                approved,
                reply_for_requester,
                ..
            } => {
                let tracked = if approved {
                    self.inner.tracked.get(&pending).map(|t| t.clone())
                } else {
                    self.inner.tracked.remove(&pending).map(|(_, t)| t)
                };
                if let Some(tracked) = tracked {
                    self.edit_requester(&tracked, &reply_for_requester).await;
                }
            }
            EngineEvent::Progress {
                request_id,
                pending,
                progress,
            } => self.inner.progress.deliver(pending, request_id, progress),
            EngineEvent::Finished { pending, reply, .. } => {
                let Some((_, tracked)) = self.inner.tracked.remove(&pending) else {
                    return;
                };
                if !tracked.run_by_requester {
                    self.edit_requester(&tracked, &reply).await;
                }
            }
            _ => {}
        }
    }

    async fn edit_requester(&self, tracked: &Tracked, reply: &Reply) {
        if tracked.requester_message.usable() {
            self.edit_original(&tracked.requester_message, reply).await;
        } else {
            debug!("the requester's message can no longer be edited (token expired)");
        }
    }

    // ---- REST ----

    async fn edit_original(&self, token: &Token, reply: &Reply) {
        let http = &self.inner.http;
        let edit = render::edit(reply);
        let result = rest::retrying(
            OperationKind::IdempotentWrite,
            "PATCH",
            rest::EDIT_ORIGINAL,
            || http.edit_original_interaction_response(token.expose(), &edit, Vec::new()),
        )
        .await;
        if let Err(e) = result {
            warn!(error = %rest::describe(&e), "could not edit an interaction's message");
        }
    }

    async fn followup(&self, token: &Token, reply: &Reply) {
        let http = &self.inner.http;
        let message = render::followup(reply);
        let result = rest::retrying(OperationKind::Write, "POST", rest::FOLLOWUP, || {
            http.create_followup_message(token.expose(), &message, Vec::new())
        })
        .await;
        if let Err(e) = result {
            warn!(error = %rest::describe(&e), "could not send a follow-up message");
        }
    }

    async fn edit_channel_message(
        &self,
        (channel, message): (ChannelId, MessageId),
        reply: &Reply,
    ) {
        let http = &self.inner.http;
        let result = rest::retrying(
            OperationKind::IdempotentWrite,
            "PATCH",
            rest::CHANNEL_MESSAGE,
            || channel.edit_message(http.as_ref(), message, render::channel_edit(reply)),
        )
        .await;
        if let Err(e) = result {
            warn!(error = %rest::describe(&e), "could not edit the approvals message");
        }
    }
}

/// The engine's answer, or an error reply when its task failed; a refusal in a direct message
/// says why direct messages cannot work.
fn settle(done: Result<Response, Failed>, dm: bool) -> Response {
    let mut response = match done {
        Ok(response) => response,
        Err(e) => {
            if !e.busy {
                error!(panicked = e.panicked, "the engine task failed");
            }
            Response {
                reply: e.reply(),
                approval_request: None,
                open_password_prompt: None,
                update_original: false,
                plan: None,
                report: None,
            }
        }
    };
    if dm {
        response.reply = convert::dm_note(response.reply);
    }
    response
}

/// An autocomplete result (type 8) offering `found`: at most 25 choices, leaving out any whose
/// name or value Discord would refuse (empty, or over 100 characters: a long username is still
/// accepted when typed in full).
fn suggestions(found: &[Suggestion]) -> CreateInteractionResponse {
    let fits = |text: &str| (1..=CHOICE_MAX_CHARS).contains(&text.chars().count());
    let choices = found
        .iter()
        .filter(|s| fits(&s.name) && fits(&s.value))
        .take(passdesk_commands::engine::MAX_SUGGESTIONS)
        .map(|s| AutocompleteChoice::new(s.name.as_str(), s.value.as_str()))
        .collect();
    CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new().set_choices(choices))
}

impl EventHandler for DiscordCore {
    const PLATFORM: &'static str = "discord";

    fn on_event(&self, event: EngineEvent) -> impl Future<Output = ()> + Send {
        DiscordCore::on_event(self, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn suggestion(text: &str) -> Suggestion {
        Suggestion {
            name: text.to_owned(),
            value: text.to_owned(),
        }
    }

    #[test]
    fn suggestions_fit_discords_autocomplete_limits() {
        let long = format!("a{}", "b".repeat(CHOICE_MAX_CHARS));
        let mut found = vec![suggestion("jcuser.one"), suggestion(&long), suggestion("")];
        found.extend((0..30).map(|n| suggestion(&format!("user{n:02}"))));
        let json = serde_json::to_value(suggestions(&found)).unwrap();
        assert_eq!(json["type"], 8);
        let choices = json["data"]["choices"].as_array().unwrap();
        assert_eq!(choices.len(), 25);
        assert_eq!(
            choices[0],
            json!({"name": "jcuser.one", "value": "jcuser.one"})
        );
        assert_eq!(
            choices[1]["name"], "user00",
            "the over-long and empty ones are left out"
        );
        assert!(choices.iter().all(|c| c["value"].is_string()));

        let none = serde_json::to_value(suggestions(&[])).unwrap();
        assert_eq!(
            none,
            json!({"type": 8, "data": {"choices": Value::Array(Vec::new())}})
        );
    }
}
