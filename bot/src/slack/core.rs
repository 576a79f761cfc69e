//! The transport-agnostic Slack core: a verified slash command or interaction in, the body of
//! the HTTP `200` that acknowledges it within Slack's 3 seconds out ([`Ack`]), plus the
//! [`FollowUp`] work to start once that answer is sent — the same shape as the Discord core's
//! `Handled` / `FollowUp`. The signed endpoints (`POST /slack/commands`,
//! `POST /slack/interactions`) verify, parse with [`super::wire`], call
//! [`SlackCore::command`] / [`SlackCore::interaction`], write the ack, then start the follow-up.
//!
//! # Acknowledgements
//!
//! An ack never waits on the directory, the audit log or any other I/O: the engine's work is
//! polled once where the request is handled. What is ready then (work that touched only
//! memory) is in the ack; the rest goes on in its own task and follows through `response_url`:
//!
//! | request | ack | then |
//! |---|---|---|
//! | slash command, ready at once (usage error, help) | the reply, ephemeral Block Kit | — |
//! | slash command, waiting on I/O (audit line, JumpCloud / Identity Manager look-up, roles on a cache miss) | "Working on it…" (ephemeral) | the reply (plan + Confirm / Cancel, a refusal, …) replaces it through `response_url` |
//! | `block_actions` | empty (Slack ignores a body) | the press runs; its result replaces the pressed message |
//! | `view_submission`, password refused at once | `response_action: errors` (the modal stays open) | — |
//! | `view_submission`, otherwise | empty (the modal closes) | the result replaces the requester's message (a refusal found later is a new message offering the button again) |
//! | `view_closed`, anything else | empty | — |
//!
//! The user-group look-up for roles ([`super::roles`]) is part of that work: a cached answer
//! is ready at once, a cache miss defers. [`CoreSettings::with_ack_budget`] lets the core wait
//! a little (at most 2.5 s) before deferring, for anyone who prefers one message to the fastest
//! ack; the default ([`DEFAULT_ACK_BUDGET`], zero) does not wait.
//!
//! # Where later messages go
//!
//! Slack allows 5 posts to a `response_url` within 30 minutes ([`Hook`] counts them) and
//! `chat.update` cannot edit ephemeral messages. So:
//!
//! - the requester's (ephemeral) messages are edited with `replace_original` through the
//!   freshest `response_url` of that message (each press brings a new one with its own budget);
//! - approval requests are channel messages (`chat.postMessage` to `[slack] approvals_channel`),
//!   edited with `chat.update`, which has no post budget and no 30-minute limit;
//! - **bulk progress** goes through the pressed message's `response_url`: at most
//!   `max_progress_posts` (default 3) edits, at least `progress_min_interval` apart, and
//!   never the last post the URL has left, which is kept for the final report. A progress
//!   message in the channel (`chat.postMessage` + `chat.update`) was not chosen: it would show
//!   the targets of a private request to the whole channel, and the bot may not be a member of
//!   the channel (DMs, private channels) where `response_url` still works.
//!
//! # The password
//!
//! [Enter password and send] opens a modal with `views.open` from the press's `trigger_id`,
//! right after the empty ack. Its `private_metadata` is an opaque random key under which the
//! core keeps the pending id, the requester, and the press's `response_url` (a
//! `view_submission` has none) — never the password. The submitted value is taken out of the
//! payload as a `SecretString` and handed to `Engine::submit_password` at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use crate::engine_events::Listener;
use crate::engine_events::{EventHandler, ProgressRoutes, ProgressSubscription};
pub use crate::follow_up::FollowUp;
use crate::follow_up::{Backlog, Dated, Failed, Inflight, Raced, SweptMap, first_answer};
use passdesk_commands::ids::{ButtonAction, ButtonId, PendingId};
use passdesk_commands::{CommandError, Engine, EngineEvent, Reply, Response, error_reply};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{Instrument as _, Span, debug, error, field, info_span, warn};

use super::api::{Posted, ResponseUrl, SlackApi};
use super::roles::Roles;
use super::wire::{BlockActions, Interaction, SlashCommand, ViewPayload};
use super::{convert, render};

/// How long the engine may take before a command is acknowledged with "working on it", by
/// default: none. Its work is polled once; whatever waits on I/O is deferred.
pub const DEFAULT_ACK_BUDGET: Duration = Duration::ZERO;
/// The longest ack budget: the answer must still fit Slack's 3 seconds.
pub const MAX_ACK_BUDGET: Duration = Duration::from_millis(2500);
/// The least time between two progress edits of one message.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// The most progress edits through one `response_url` (the final report not counted).
pub const DEFAULT_MAX_PROGRESS_POSTS: u32 = 3;
/// Posts a `response_url` takes (Slack: 5).
pub const RESPONSE_URL_POSTS: u32 = 5;
/// How long a `response_url` takes posts (Slack: 30 minutes), less a margin.
pub const RESPONSE_URL_LIFETIME: Duration = Duration::from_secs(29 * 60 + 30);

/// How the core paces itself and where it posts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CoreSettings {
    /// How long the engine may take before a command is acknowledged without its answer
    /// (zero: poll it once, defer whatever waits on I/O).
    pub ack_budget: Duration,
    /// Where approval requests are posted (`[slack] approvals_channel`).
    pub approvals_channel: Option<String>,
    /// The app id requests must carry (`[slack] app_id`), when set.
    pub app_id: Option<String>,
    /// The least time between two progress edits.
    pub progress_min_interval: Duration,
    /// The most progress edits through one `response_url`.
    pub max_progress_posts: u32,
}

impl CoreSettings {
    /// The defaults, posting approval requests to `approvals_channel`.
    pub fn new(approvals_channel: Option<String>, app_id: Option<String>) -> Self {
        Self {
            ack_budget: DEFAULT_ACK_BUDGET,
            approvals_channel,
            app_id,
            progress_min_interval: DEFAULT_PROGRESS_INTERVAL,
            max_progress_posts: DEFAULT_MAX_PROGRESS_POSTS,
        }
    }

    /// The defaults with `[slack]`'s approvals channel and app id.
    pub fn from_config(slack: &passdesk_config::SlackConfig) -> Self {
        Self::new(
            slack
                .approvals_channel
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            slack.app_id.as_ref().map(|a| a.as_str().to_owned()),
        )
    }

    /// Sets the ack budget: how long to wait for work that needs I/O before acknowledging
    /// without its answer (kept under [`MAX_ACK_BUDGET`], so the answer still fits Slack's
    /// window; zero, the default, polls the work once and defers at once).
    #[must_use]
    pub fn with_ack_budget(mut self, budget: Duration) -> Self {
        self.ack_budget = budget.min(MAX_ACK_BUDGET);
        self
    }

    /// Sets the pace of progress edits (at most [`RESPONSE_URL_POSTS`] − 1 of them).
    #[must_use]
    pub fn with_progress(mut self, min_interval: Duration, max_posts: u32) -> Self {
        self.progress_min_interval = min_interval;
        self.max_progress_posts = max_posts.min(RESPONSE_URL_POSTS - 1);
        self
    }
}

/// A `response_url` with its budget: 5 posts within 30 minutes of being minted. Clones share
/// the count.
#[derive(Clone)]
pub struct Hook {
    url: ResponseUrl,
    minted: Instant,
    used: Arc<AtomicU32>,
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook")
            .field("used", &self.used.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Hook {
    /// A `response_url` minted now.
    pub fn new(url: ResponseUrl) -> Self {
        Self {
            url,
            minted: Instant::now(),
            used: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Posts it still takes.
    pub fn remaining(&self) -> u32 {
        if self.minted.elapsed() >= RESPONSE_URL_LIFETIME {
            return 0;
        }
        RESPONSE_URL_POSTS.saturating_sub(self.used.load(Ordering::SeqCst))
    }

    /// Takes one post from the budget; `false` when none is left.
    fn take(&self) -> bool {
        if self.minted.elapsed() >= RESPONSE_URL_LIFETIME {
            return false;
        }
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < RESPONSE_URL_POSTS).then_some(n + 1)
            })
            .is_ok()
    }
}

/// What the core remembers of one pending action's messages.
#[derive(Debug, Clone)]
struct Tracked {
    requester: String,
    /// Edits the requester's (ephemeral) message.
    requester_hook: Hook,
    /// The approval request in the approvals channel, once posted.
    approvals_message: Option<Posted>,
    /// Whether a run that may be going on was started by the requester's own press (its
    /// answer already shows the report).
    run_by_requester: bool,
    since: Instant,
}

impl Dated for Tracked {
    fn since(&self) -> Instant {
        self.since
    }
}

/// An open password modal, under its opaque `private_metadata` key.
#[derive(Debug, Clone)]
struct Modal {
    pending: PendingId,
    requester: String,
    channel: Option<String>,
    hook: Option<Hook>,
    since: Instant,
}

impl Dated for Modal {
    fn since(&self) -> Instant {
        self.since
    }
}

/// The body of the `200` that acknowledges a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// An empty body.
    Empty,
    /// A JSON body (`application/json`).
    Json(Value),
}

impl Ack {
    /// The JSON body, if any.
    pub fn json(&self) -> Option<&Value> {
        match self {
            Ack::Empty => None,
            Ack::Json(value) => Some(value),
        }
    }
}

/// One request handled: its ack, and what follows it.
#[derive(Debug)]
#[must_use]
pub struct Handled {
    ack: Ack,
    follow_up: FollowUp,
}

impl Handled {
    /// The ack.
    pub fn ack(&self) -> &Ack {
        &self.ack
    }

    /// The ack and the follow-up.
    pub fn into_parts(self) -> (Ack, FollowUp) {
        (self.ack, self.follow_up)
    }
}

/// The Slack core. Cheap to clone; every clone is the same core.
#[derive(Clone)]
pub struct SlackCore {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    api: SlackApi,
    roles: Roles,
    settings: CoreSettings,
    tracked: SweptMap<PendingId, Tracked>,
    modals: SweptMap<String, Modal>,
    inflight: Inflight,
    /// The bound on engine work running after its first answer.
    backlog: Backlog,
    /// The deferred presses following their run's progress.
    progress: ProgressRoutes,
}

impl fmt::Debug for SlackCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackCore")
            .field("settings", &self.inner.settings)
            .field("tracked", &self.inner.tracked.len())
            .field("modals", &self.inner.modals.len())
            .finish_non_exhaustive()
    }
}

/// A short random id for spans and the engine's `interaction_id` (Slack sends none).
fn interaction_id() -> String {
    format!("slack-{}", PendingId::random().request_id())
}

fn failed_reply() -> Reply {
    Reply::error(
        "Passdesk failed",
        "An internal error stopped this request; nothing more will happen for it. Tell a \
         Passdesk administrator.",
    )
}

fn settle(done: Result<Response, Failed>) -> Response {
    done.unwrap_or_else(|e| {
        if !e.busy {
            error!(panicked = e.panicked, "the engine task failed");
        }
        Response {
            reply: if e.busy { e.reply() } else { failed_reply() },
            approval_request: None,
            open_password_prompt: None,
            update_original: false,
            plan: None,
            report: None,
        }
    })
}

impl SlackCore {
    /// A core on `engine`, posting through `api`, with roles from `roles`.
    pub fn new(engine: Engine, api: SlackApi, roles: Roles, settings: CoreSettings) -> Self {
        let limits = &engine.config().limits;
        let retention = limits.confirmation_ttl + limits.approval_ttl * 2 + RESPONSE_URL_LIFETIME;
        Self {
            inner: Arc::new(Inner {
                engine,
                api,
                roles,
                settings,
                tracked: SweptMap::new(retention),
                modals: SweptMap::new(retention),
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

    /// The Web API client.
    pub fn api(&self) -> &SlackApi {
        &self.inner.api
    }

    /// Waits until every started follow-up has finished.
    pub async fn idle(&self) {
        self.inner.inflight.idle().await;
    }

    /// Starts turning engine events into message edits.
    pub fn spawn_listener(&self) -> Listener {
        Listener::spawn(
            self.clone(),
            self.inner.engine.events(),
            info_span!("slack.events"),
        )
    }

    fn now(&self, ack: Ack) -> Handled {
        Handled {
            ack,
            follow_up: FollowUp::none(),
        }
    }

    fn then(&self, ack: Ack, work: impl Future<Output = ()> + Send + 'static) -> Handled {
        Handled {
            ack,
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

    /// Whether a request's `api_app_id` is acceptable (always, when no app id is configured).
    fn app_allowed(&self, app: Option<&str>) -> bool {
        match &self.inner.settings.app_id {
            Some(expected) => app == Some(expected.as_str()),
            None => true,
        }
    }

    // ---- Slash commands ----

    /// Handles a verified slash command: the ack carries the engine's reply when it is ready
    /// without I/O (or within the ack budget), else "working on it" and the reply follows
    /// through `response_url`.
    pub async fn command(&self, command: SlashCommand) -> Handled {
        let span = info_span!(
            "slack.interaction",
            platform = "slack",
            kind = "command",
            interaction_id = field::Empty,
            actor = %command.user_id,
            command = field::Empty,
        );
        self.command_inner(command).instrument(span).await
    }

    async fn command_inner(&self, command: SlashCommand) -> Handled {
        let id = interaction_id();
        Span::current().record("interaction_id", id.as_str());
        if !self.app_allowed(command.api_app_id.as_deref()) {
            let reply = Reply::error(
                "Not for this app",
                "This command was sent for another Slack app; Passdesk ignored it.",
            );
            return self.now(Ack::Json(render::command_ack(&reply)));
        }
        let hook = Hook::new(command.response_url.clone());
        let requester = command.user_id.clone();
        // Split and parsed before the roles are looked up: a usage error or the help needs no
        // roles, so it never waits on Slack's user groups.
        let actor = convert::actor(&command.user_id, Some(&command.user_name), Vec::new());
        let invocation = match convert::invocation(
            actor,
            &command.team_id,
            &command.channel_id,
            id,
            &command.text,
        ) {
            Ok(invocation) => invocation,
            Err(usage) => {
                let reply = error_reply(&CommandError::Usage(usage));
                return self.now(Ack::Json(render::command_ack(&reply)));
            }
        };
        Span::current().record(
            "command",
            passdesk_core::http::excerpt(&invocation.command).as_str(),
        );
        let core = self.clone();
        let work = async move {
            let mut invocation = invocation;
            if passdesk_commands::parse(&invocation).is_ok() {
                invocation.actor.roles = core.inner.roles.of(&invocation.actor.id).await;
            }
            core.inner.engine.invoke(invocation).await
        };
        match self.race(work).await {
            Raced::Ready(done) => {
                let response = settle(done);
                self.remember_prompt(&response, &requester, hook);
                self.now(Ack::Json(render::command_ack(&response.reply)))
            }
            Raced::Late(task) => {
                debug!("the command waits on I/O; answering through response_url");
                let working = Reply::info(
                    "Working on it",
                    "Passdesk is looking this up; the answer replaces this message.",
                );
                let core = self.clone();
                self.then(Ack::Json(render::command_ack(&working)), async move {
                    let response = settle(task.await.map_err(Failed::from));
                    core.post(&hook, &render::replace_original(&response.reply))
                        .await;
                    core.remember_prompt(&response, &requester, hook);
                })
            }
        }
    }

    /// Remembers the requester's message of a new confirmation prompt.
    fn remember_prompt(&self, response: &Response, requester: &str, hook: Hook) {
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
                requester_hook: hook,
                approvals_message: None,
                run_by_requester: false,
                since: Instant::now(),
            },
        );
    }

    // ---- Interactions ----

    /// Handles a verified interaction payload (see the module docs for the acks).
    pub async fn interaction(&self, interaction: Interaction) -> Handled {
        let span = info_span!(
            "slack.interaction",
            platform = "slack",
            kind = interaction.kind(),
            interaction_id = %interaction_id(),
            actor = field::Empty,
            command = field::Empty,
        );
        async move {
            match interaction {
                Interaction::BlockActions(actions) => self.block_actions(actions),
                Interaction::ViewSubmission(view) => self.view_submission(view).await,
                Interaction::ViewClosed(view) => {
                    if let Some(key) = view.view.private_metadata.as_deref() {
                        if self.inner.modals.remove(key).is_some() {
                            debug!("password modal closed without sending");
                        }
                    }
                    self.now(Ack::Empty)
                }
                _ => self.now(Ack::Empty),
            }
        }
        .instrument(span)
        .await
    }

    fn block_actions(&self, actions: BlockActions) -> Handled {
        Span::current().record("actor", actions.user.id.as_str());
        if !self.app_allowed(actions.api_app_id.as_deref()) {
            debug!("block_actions for another app ignored");
            return self.now(Ack::Empty);
        }
        let core = self.clone();
        // Slack ignores a block_actions ack's body: everything happens after it.
        self.then(Ack::Empty, async move { core.press(actions).await })
    }

    async fn press(&self, actions: BlockActions) {
        let hook = actions.response_url.clone().map(Hook::new);
        let button = actions
            .actions
            .first()
            .and_then(|a| convert::button(&a.action_id, a.value.as_deref()));
        let Some(button) = button else {
            debug!("a press on something that is not a Passdesk button");
            if let Some(hook) = &hook {
                let reply = Reply::error(
                    "Not a Passdesk button",
                    "Passdesk does not know this button; run the command again.",
                );
                self.post(hook, &render::new_message(&reply)).await;
            }
            return;
        };
        Span::current().record("command", button.action.as_str());
        let roles = self.inner.roles.of(&actions.user.id).await;
        let actor = convert::actor(&actions.user.id, actions.user.display_name(), roles);
        let container = actions.container.clone();
        let channel = actions
            .channel
            .as_ref()
            .map(|c| c.id.clone())
            .or_else(|| container.as_ref().and_then(|c| c.channel_id.clone()));
        let team = actions.team.as_ref().map(|t| t.id.clone());
        let press = convert::press(
            actor,
            team.as_deref(),
            channel.as_deref(),
            interaction_id(),
            button,
        );
        let pending = button.pending;
        let action = button.action;
        self.note_press(
            pending,
            &press.actor.id,
            action,
            &container,
            channel.as_deref(),
        );
        let presser = press.actor.id.clone();
        let progress = self.inner.progress.subscribe(pending);
        let engine = self.inner.engine.clone();
        let task = tokio::spawn(async move { engine.press(press).await }.in_current_span());
        let response = settle(
            self.follow_progress(hook.as_ref(), progress, task)
                .await
                .map_err(Failed::from),
        );
        if let Some(prompt) = response.open_password_prompt {
            self.open_password_modal(
                prompt,
                &presser,
                channel,
                actions.trigger_id.as_deref(),
                hook.clone(),
            )
            .await;
        } else {
            // A channel message (the approvals request) is edited with chat.update; an
            // ephemeral one only through its response_url.
            let channel_message = container.as_ref().and_then(|c| {
                (!c.is_ephemeral)
                    .then(|| c.channel_id.clone().zip(c.message_ts.clone()))
                    .flatten()
            });
            match (&channel_message, &hook) {
                (Some((channel, ts)), _) if response.update_original => {
                    self.update_channel_message(channel, ts, &response.reply)
                        .await;
                }
                (_, Some(hook)) if response.update_original => {
                    self.post(hook, &render::replace_original(&response.reply))
                        .await;
                }
                (_, Some(hook)) => {
                    self.post(hook, &render::new_message(&response.reply)).await;
                }
                (_, None) => debug!("no response_url to answer the press with"),
            }
        }
        self.after_press(pending, action, hook, &response).await;
    }

    /// Notes who pressed: whether a run that follows is the requester's own, and where the
    /// approval request sits.
    fn note_press(
        &self,
        pending: PendingId,
        actor: &str,
        action: ButtonAction,
        container: &Option<super::wire::Container>,
        channel: Option<&str>,
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
            if let Some(ts) = container.as_ref().and_then(|c| c.message_ts.clone()) {
                if let Some(channel) = channel {
                    tracked.approvals_message = Some(Posted {
                        channel: channel.to_owned(),
                        ts,
                    });
                }
            }
        }
    }

    /// After a press was answered: keep the freshest hook of the requester's message, post an
    /// approval request, and tell the approvals channel about a cancel.
    async fn after_press(
        &self,
        pending: PendingId,
        action: ButtonAction,
        hook: Option<Hook>,
        response: &Response,
    ) {
        let on_requester_message = matches!(
            action,
            ButtonAction::Confirm | ButtonAction::Cancel | ButtonAction::EnterPassword
        );
        if let Some(hook) = hook.clone() {
            if response.update_original && on_requester_message {
                if let Some(mut tracked) = self.inner.tracked.get_mut(&pending) {
                    tracked.requester_hook = hook;
                }
            }
        }
        if action == ButtonAction::Cancel && response.update_original {
            if let Some((_, tracked)) = self.inner.tracked.remove(&pending) {
                if let Some(message) = tracked.approvals_message {
                    self.update_channel_message(&message.channel, &message.ts, &response.reply)
                        .await;
                }
            }
        }
        if let Some(approval) = &response.approval_request {
            self.post_approval_request(pending, hook.as_ref(), approval)
                .await;
        }
    }

    async fn post_approval_request(
        &self,
        pending: PendingId,
        hook: Option<&Hook>,
        approval: &Reply,
    ) {
        let Some(channel) = self.inner.settings.approvals_channel.as_deref() else {
            error!("an approval was asked for, but [slack] approvals_channel is not set");
            if let Some(hook) = hook {
                let reply = Reply::error(
                    "No approvals channel",
                    "This request needs an approval, but Passdesk has no Slack approvals \
                     channel to ask in; tell a Passdesk administrator. You can cancel it.",
                );
                self.post(hook, &render::new_message(&reply)).await;
            }
            return;
        };
        match self
            .inner
            .api
            .post_message(channel, &render::channel_message(approval))
            .await
        {
            Ok(posted) => {
                if let Some(mut tracked) = self.inner.tracked.get_mut(&pending) {
                    tracked.approvals_message = Some(posted);
                }
            }
            Err(e) => {
                error!(error = %e, "the approval request could not be posted");
                if let Some(hook) = hook {
                    let reply = Reply::error(
                        "Approval request not posted",
                        "The approvals channel could not be reached (is the Passdesk app \
                         invited to it?), so no approver was asked; tell a Passdesk \
                         administrator. You can cancel this request.",
                    );
                    self.post(hook, &render::new_message(&reply)).await;
                }
            }
        }
    }

    /// While a press runs: edits its message with the job's progress, at a bounded rate and
    /// count, never spending the hook's last post; returns the press's answer.
    async fn follow_progress(
        &self,
        hook: Option<&Hook>,
        mut progress: ProgressSubscription,
        mut task: JoinHandle<Response>,
    ) -> Result<Response, tokio::task::JoinError> {
        let settings = &self.inner.settings;
        let mut posts: u32 = 0;
        // The first edit waits one interval too: a quick run (one target) shows no progress,
        // just its report.
        let mut last = Instant::now();
        let mut listening = hook.is_some();
        loop {
            tokio::select! {
                biased;
                done = &mut task => return done,
                update = progress.next(), if listening => match update {
                    Some((request_id, progress)) => {
                        let Some(hook) = hook else { continue };
                        let due = last.elapsed() >= settings.progress_min_interval;
                        if due
                            && posts < settings.max_progress_posts
                            && hook.remaining() > 1
                            && progress.done < progress.total
                        {
                            posts += 1;
                            last = Instant::now();
                            let reply = render::progress_reply(request_id, progress);
                            self.post(hook, &render::replace_original(&reply)).await;
                        }
                    }
                    None => listening = false,
                },
            }
        }
    }

    // ---- The password modal ----

    async fn open_password_modal(
        &self,
        pending: PendingId,
        requester: &str,
        channel: Option<String>,
        trigger_id: Option<&str>,
        hook: Option<Hook>,
    ) {
        let key = PendingId::random().to_string();
        let modal = render::password_modal(&key, pending);
        self.inner.modals.insert(
            key.clone(),
            Modal {
                pending,
                requester: requester.to_owned(),
                channel,
                hook: hook.clone(),
                since: Instant::now(),
            },
        );
        let opened = match trigger_id {
            Some(trigger) => self.inner.api.open_view(trigger, &modal).await,
            None => Err(super::api::ApiError::Slack {
                method: "views.open",
                code: "no trigger_id".to_owned(),
            }),
        };
        if let Err(e) = opened {
            warn!(error = %e, "the password modal could not be opened");
            self.inner.modals.remove(&key);
            if let Some(hook) = &hook {
                let again = Reply::warning(
                    "Press the button again",
                    "The password prompt could not open in time; press \"Enter password and \
                     send\" again.",
                );
                self.post(hook, &render::new_message(&again)).await;
            }
        }
    }

    async fn view_submission(&self, mut payload: ViewPayload) -> Handled {
        Span::current().record("actor", payload.user.id.as_str());
        Span::current().record("command", "password");
        if !self.app_allowed(payload.api_app_id.as_deref()) {
            return self.now(Ack::Empty);
        }
        if payload.view.callback_id.as_deref() != Some(render::PASSWORD_CALLBACK_ID) {
            return self.now(Ack::Empty);
        }
        let password = payload
            .view
            .take_value(render::PASSWORD_BLOCK_ID, render::PASSWORD_ACTION_ID);
        let key = payload.view.private_metadata.clone().unwrap_or_default();
        let Some(modal) = self.inner.modals.get(&key).map(|m| m.clone()) else {
            return self.now(Ack::Json(render::password_errors(
                "This prompt is no longer valid; close it and press the button again.",
            )));
        };
        let Some(password) =
            password.filter(|p| !secrecy::ExposeSecret::expose_secret(p).is_empty())
        else {
            return self.now(Ack::Json(render::password_errors("Enter the password.")));
        };
        let user_id = payload.user.id.clone();
        let user_name = payload.user.display_name().map(str::to_owned);
        let team = payload.team.as_ref().map(|t| t.id.clone());
        drop(payload);
        if user_id == modal.requester {
            if let Some(mut tracked) = self.inner.tracked.get_mut(&modal.pending) {
                tracked.run_by_requester = true;
            }
        }
        let core = self.clone();
        let (channel, pending) = (modal.channel.clone(), modal.pending);
        let work = async move {
            // Cached roles are ready at once; a cache miss asks Slack, and defers the ack.
            let roles = core.inner.roles.of(&user_id).await;
            let actor = convert::actor(&user_id, user_name.as_deref(), roles);
            let press = convert::press(
                actor,
                team.as_deref(),
                channel.as_deref(),
                interaction_id(),
                ButtonId {
                    action: ButtonAction::EnterPassword,
                    pending,
                },
            );
            core.inner.engine.submit_password(press, password).await
        };
        match self.race(work).await {
            Raced::Ready(done) => {
                let response = settle(done);
                if password_refused(&response, modal.pending) {
                    let first = response.reply.body.lines().next().unwrap_or_default();
                    return self.now(Ack::Json(render::password_errors(first)));
                }
                self.inner.modals.remove(&key);
                let core = self.clone();
                self.then(Ack::Empty, async move {
                    core.after_submit(modal, &response).await;
                })
            }
            Raced::Late(task) => {
                let core = self.clone();
                self.inner.modals.remove(&key);
                self.then(Ack::Empty, async move {
                    let response = settle(task.await.map_err(Failed::from));
                    core.after_submit(modal, &response).await;
                })
            }
        }
    }

    async fn after_submit(&self, modal: Modal, response: &Response) {
        let Some(hook) = &modal.hook else {
            return;
        };
        let body = if response.update_original {
            render::replace_original(&response.reply)
        } else {
            render::new_message(&response.reply)
        };
        self.post(hook, &body).await;
        if response.update_original {
            if let Some(mut tracked) = self.inner.tracked.get_mut(&modal.pending) {
                tracked.requester_hook = hook.clone();
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
                self.post(&tracked.requester_hook, &render::replace_original(&reply))
                    .await;
                if let Some(message) = tracked.approvals_message {
                    self.update_channel_message(&message.channel, &message.ts, &reply)
                        .await;
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
                    self.post(
                        &tracked.requester_hook,
                        &render::replace_original(&reply_for_requester),
                    )
                    .await;
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
                    self.post(&tracked.requester_hook, &render::replace_original(&reply))
                        .await;
                }
            }
            _ => {}
        }
    }

    // ---- Posting ----

    /// Posts to a `response_url` within its budget; a refusal is logged (the URL is gone: the
    /// message stays as it was).
    async fn post(&self, hook: &Hook, body: &Value) {
        if !hook.take() {
            warn!("a response_url has no posts left (5 in 30 minutes); message not updated");
            return;
        }
        if let Err(e) = self.inner.api.respond(&hook.url, body).await {
            warn!(error = %e, "could not post to a response_url");
        }
    }

    async fn update_channel_message(&self, channel: &str, ts: &str, reply: &Reply) {
        if let Err(e) = self
            .inner
            .api
            .update_message(channel, ts, &render::channel_message(reply))
            .await
        {
            warn!(error = %e, "could not edit the approvals message");
        }
    }
}

/// Whether a submit's answer is the engine refusing the password itself (the request still
/// waits for it: the answer offers the button again).
fn password_refused(response: &Response, pending: PendingId) -> bool {
    !response.update_original
        && response
            .reply
            .buttons
            .iter()
            .any(|b| b.id.action == ButtonAction::EnterPassword && b.id.pending == pending)
}

impl EventHandler for SlackCore {
    const PLATFORM: &'static str = "slack";

    fn on_event(&self, event: EngineEvent) -> impl Future<Output = ()> + Send {
        SlackCore::on_event(self, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hook_takes_five_posts_within_thirty_minutes() {
        let hook = Hook::new(ResponseUrl::new("http://127.0.0.1:1/hooks/x"));
        let shared = hook.clone();
        for left in (1..=5).rev() {
            assert_eq!(hook.remaining(), left);
            assert!(shared.take());
        }
        assert!(!hook.take(), "a sixth post is never sent");
        let fresh = Hook::new(ResponseUrl::new("http://127.0.0.1:1/hooks/y"));
        tokio::time::advance(RESPONSE_URL_LIFETIME).await;
        assert_eq!(fresh.remaining(), 0);
        assert!(!fresh.take(), "past 30 minutes");
    }

    #[test]
    fn progress_edits_are_capped_below_the_budget() {
        let settings = CoreSettings::new(None, None).with_progress(Duration::ZERO, 50);
        assert_eq!(settings.max_progress_posts, RESPONSE_URL_POSTS - 1);
    }
}
