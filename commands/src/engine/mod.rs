//! The command engine: what every adapter (Discord, Slack, the demo console, the command line)
//! calls. It ties the pieces of this crate together, one command's journey at a time:
//!
//! ```text
//! invoke ─► parse ─► authorize ─► audit "requested" ─► plan (read-only)
//!             │          │                              ├─ dry run: audit "dry_run", reply the plan
//!          usage/help  denied: audit "denied"           ├─ nothing to act on: audit "failed", reply the plan
//!                                                       └─ pending action + [Confirm] [Cancel]
//! press Confirm ─► authorize_press ─► confirm (cooldown counted) ─► audit "confirmed"
//!    ├─ run now ─► executor ─► audit "executed" ─► report
//!    ├─ approval ─► audit "approval_requested" ─► [Approve] [Deny] for the approvals channel
//!    └─ notify ─► [Enter password and send] ─► prompt ─► submit_password ─► mail ─► audit "executed"
//! press Approve / Deny ─► audit "approved" / "rejected" ─► run, or ask for the password / tell the requester
//! press Cancel ─► audit "cancelled"
//! time limit ─► audit "expired" ─► EngineEvent::Expired (nothing expires silently)
//! autocomplete ─► authorize ─► cached JumpCloud prefix look-up (≤ 25 names, ≤ 1.5 s; not audited)
//! ```
//!
//! Every step is audited through the [`Auditor`] before its reply is returned; when the audit
//! log cannot record a step, the step does not go ahead and the reply says so. The engine is
//! platform-neutral: it takes [`Invocation`](crate::Invocation)s, [`Press`]es and password
//! submits, and returns [`Response`]s; what happens later (progress, approvals decided,
//! expiry, final reports of runs started by someone else) goes out as [`EngineEvent`]s on a
//! broadcast channel.
//!
//! The notification password is taken by [`Engine::submit_password`] as a `SecretString`,
//! checked, moved into the mailer and dropped: it never enters the pending store, the audit
//! trail, a reply, an event or a log.

mod autocomplete;
mod clients;
mod invoke;
mod messages;
mod press;
mod run;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use passdesk_config::Config;
use passdesk_core::identity_manager::{self, PlanOptions};
use passdesk_core::jumpcloud::{self, JumpCloudClient};
use passdesk_core::mail::{self, Mailer};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{Instrument, debug, error, info_span, warn};

use crate::audit::{AuditEvent, AuditEventBuilder, Auditor, Transition};
use crate::error::CommandError;
use crate::executor::{ExecutorSettings, SettingsError};
use crate::ids::{ButtonId, PendingId, RequestId};
use crate::invocation::{Actor, Platform};
use crate::pending::{
    ActorRef, Expired, PendingError, PendingSettings, PendingStore, PendingView, Stage, SweepReport,
};
use crate::plan::{Plan, PlannedTarget, TargetOutcome};
use crate::policy::{Cooldowns, Denial};
use crate::reply::{Progress, Reply};
use crate::request::CommandName;

pub use autocomplete::{AUTOCOMPLETE_TIMEOUT, MAX_SUGGESTIONS, Suggestion};
pub use clients::JumpCloudClients;

/// How often the sweeper expires overdue requests by default.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How long [`Engine::shutdown`] waits for the expiry events and the audit channel queue.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How many events a slow [`Engine::events`] receiver may fall behind before it misses some.
const EVENT_CAPACITY: usize = 1024;

/// What the engine is built from. [`EngineParts::from_config`] builds every client from the
/// configuration; tests and embedders may change any part before [`Engine::start`].
#[derive(Debug)]
#[non_exhaustive]
pub struct EngineParts {
    /// The validated configuration: policies, groups, accounts, targets, limits, tenants.
    pub config: Arc<Config>,
    /// The JumpCloud client of each tenant.
    pub jumpcloud: JumpCloudClients,
    /// The Identity Manager client (`notify`), when configured.
    pub identity_manager: Option<identity_manager::Client>,
    /// The notification mailer (`notify`), when configured.
    pub mailer: Option<Mailer>,
    /// Where every transition is recorded.
    pub auditor: Auditor,
    /// The bulk executor's pace.
    pub executor: ExecutorSettings,
    /// The pending store's time limits.
    pub pending: PendingSettings,
    /// How often overdue requests are expired.
    pub sweep_interval: Duration,
}

/// Why the engine could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A JumpCloud client could not be built.
    #[error("jumpcloud client: {0}")]
    JumpCloud(#[from] jumpcloud::Error),
    /// The Identity Manager client could not be built.
    #[error("identity manager client: {0}")]
    IdentityManager(#[from] identity_manager::Error),
    /// The notification mailer refused its settings.
    #[error("notification mail: {0}")]
    Mail(#[from] mail::Error),
    /// `[bulk]` does not make executor settings.
    #[error("bulk settings: {0}")]
    Bulk(#[from] SettingsError),
}

impl EngineParts {
    /// Every part from the configuration: one JumpCloud client per organisation, the Identity
    /// Manager client and mailer when `[identity_manager]` is set, `[bulk]` and `[limits]`.
    ///
    /// # Errors
    ///
    /// A client or the mailer refuses its settings, or `[bulk]` is out of range.
    pub fn from_config(config: Arc<Config>, auditor: Auditor) -> Result<Self, EngineError> {
        let jumpcloud = JumpCloudClients::from_config(&config)?;
        let (identity_manager, mailer) = match &config.identity_manager {
            None => (None, None),
            Some(im) => {
                let mut builder = identity_manager::Client::builder(
                    im.application_uri.as_str(),
                    im.client_id.as_str(),
                    im.client_secret.clone(),
                )
                .timeout(im.timeout)
                .connect_timeout(im.connect_timeout)
                .plan_options(PlanOptions {
                    require_beneficiary_name: false,
                    cultures: im.mail.cultures.clone(),
                });
                if let Some(domain) = &im.client_domain {
                    builder = builder.client_domain(domain.as_str());
                }
                (Some(builder.build()?), Some(Mailer::new(im.mail.clone())?))
            }
        };
        let executor = ExecutorSettings::try_new(
            config.bulk.concurrency,
            config.bulk.rate_per_second,
            config.bulk.progress_interval,
        )?;
        let pending = PendingSettings::from_limits(&config.limits);
        Ok(Self {
            config,
            jumpcloud,
            identity_manager,
            mailer,
            auditor,
            executor,
            pending,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
        })
    }
}

/// A button press (or a modal submit, whose custom id is a [`ButtonId`] too), as an adapter
/// hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// Who pressed, with the roles the platform reports now.
    pub actor: Actor,
    /// The channel of the message pressed (`None` in a direct message).
    pub channel: Option<String>,
    /// The workspace (Discord guild, Slack team) it came from.
    pub tenant: Option<String>,
    /// The platform's id of this interaction, for tracing.
    pub interaction_id: String,
    /// The button: what it does, on which pending action.
    pub button: ButtonId,
}

/// What the engine answers an invocation, a press or a password submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The reply to the person who acted.
    pub reply: Reply,
    /// A message to post in the approvals channel (with \[Approve\] \[Deny\]), when approval was
    /// just asked for.
    pub approval_request: Option<Reply>,
    /// Open the private password prompt for this pending action (a Discord or Slack modal, the
    /// console asking with echo off); submit it with [`Engine::submit_password`].
    pub open_password_prompt: Option<PendingId>,
    /// Whether the reply replaces the message the button was on.
    pub update_original: bool,
    /// The plan the reply shows (a dry run, nothing to do, or the confirmation prompt), as
    /// data for adapters that print results rather than messages (the command line).
    pub plan: Option<Plan>,
    /// A finished run's outcome per target, in plan order, as data (the command line builds
    /// the cmdlets' rows from it).
    pub report: Option<Vec<TargetReport>>,
}

/// One target of a finished run: what was planned for it and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetReport {
    /// The target as planned: its label, the JumpCloud user read while planning (id,
    /// username), the action.
    pub target: PlannedTarget,
    /// What happened to it.
    pub outcome: TargetOutcome,
}

impl Response {
    /// Just a reply, as a new message.
    fn reply(reply: Reply) -> Self {
        Self {
            reply,
            approval_request: None,
            open_password_prompt: None,
            update_original: false,
            plan: None,
            report: None,
        }
    }

    /// A reply showing `plan`.
    fn with_plan(reply: Reply, plan: Plan) -> Self {
        Self {
            plan: Some(plan),
            ..Self::reply(reply)
        }
    }

    /// A reply that replaces the pressed message.
    fn update(reply: Reply) -> Self {
        Self {
            update_original: true,
            ..Self::reply(reply)
        }
    }
}

/// Something that happened outside a response: adapters edit messages or tell people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineEvent {
    /// A request was not acted on in time: edit its message and tell the requester.
    Expired {
        /// The short request id.
        request_id: RequestId,
        /// The pending action.
        pending: PendingId,
        /// Who asked.
        requester: Actor,
        /// Where it was asked.
        channel: Option<String>,
        /// What it was waiting for.
        stage: Stage,
        /// What to show.
        reply: Reply,
    },
    /// A run's progress (at most one per `[bulk] progress_interval`, and a final one).
    Progress {
        /// The short request id.
        request_id: RequestId,
        /// The pending action.
        pending: PendingId,
        /// How far it is.
        progress: Progress,
    },
    /// An approver approved or denied: tell the requester (for a notification, the reply
    /// carries the \[Enter password and send\] button).
    ApprovalDecided {
        /// The short request id.
        request_id: RequestId,
        /// The pending action.
        pending: PendingId,
        /// Who asked.
        requester: Actor,
        /// Who decided.
        approver: ActorRef,
        /// Approved (`true`) or denied.
        approved: bool,
        /// What to tell the requester.
        reply_for_requester: Reply,
    },
    /// A run finished: its report, for the requester (the one who pressed last got it as the
    /// response already).
    Finished {
        /// The short request id.
        request_id: RequestId,
        /// The pending action.
        pending: PendingId,
        /// Who asked.
        requester: Actor,
        /// The report.
        reply: Reply,
    },
}

/// What the pending store holds for a request: the plan and where it runs.
#[derive(Debug)]
struct PendingPlan {
    plan: Plan,
    /// The workspace it was asked in, for the audit trail.
    tenant: Option<String>,
    /// Where it was asked.
    channel: Option<String>,
    /// The tenant's JumpCloud client (`None` without JumpCloud: notifications only).
    jumpcloud: Option<JumpCloudClient>,
}

/// The command engine. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    jumpcloud: JumpCloudClients,
    identity_manager: Option<identity_manager::Client>,
    mailer: Option<Mailer>,
    auditor: Auditor,
    executor: ExecutorSettings,
    store: Arc<PendingStore<PendingPlan>>,
    cooldowns: Cooldowns,
    /// Recent directory suggestions ([`Engine::autocomplete`]).
    suggestions: autocomplete::SuggestionCache,
    events: broadcast::Sender<EngineEvent>,
    /// `true` once shutting down: running jobs start no more targets.
    stop: watch::Sender<bool>,
    tasks: Mutex<Tasks>,
}

#[derive(Default)]
struct Tasks {
    sweeper: Option<JoinHandle<()>>,
    expiry: Option<JoinHandle<()>>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("pending", &self.inner.store)
            .field("executor", &self.inner.executor)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the engine: the pending store, its sweeper and the consumer of its expiry events
    /// (each an instrumented task). Needs a Tokio runtime.
    pub fn start(parts: EngineParts) -> Engine {
        let EngineParts {
            config,
            jumpcloud,
            identity_manager,
            mailer,
            auditor,
            executor,
            pending,
            sweep_interval,
        } = parts;
        let (store, expired) = PendingStore::new(pending);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (stop, _) = watch::channel(false);
        let cooldowns = Cooldowns::from_limits(&config.limits);
        let inner = Arc::new(Inner {
            config,
            jumpcloud,
            identity_manager,
            mailer,
            auditor: auditor.clone(),
            executor,
            store: Arc::new(store),
            cooldowns,
            suggestions: autocomplete::SuggestionCache::default(),
            events: events.clone(),
            stop: stop.clone(),
            tasks: Mutex::new(Tasks::default()),
        });
        let expiry = tokio::spawn(
            consume_expiries(expired, auditor, events, stop.subscribe())
                .instrument(info_span!("engine.expiry")),
        );
        let sweeper = spawn_sweeper(Arc::downgrade(&inner), sweep_interval);
        *inner.tasks.lock().unwrap_or_else(PoisonError::into_inner) = Tasks {
            sweeper: Some(sweeper),
            expiry: Some(expiry),
        };
        Engine { inner }
    }

    /// [`EngineParts::from_config`], then [`Engine::start`]: what the bot does.
    ///
    /// # Errors
    ///
    /// See [`EngineParts::from_config`].
    pub fn from_config(config: Arc<Config>, auditor: Auditor) -> Result<Engine, EngineError> {
        EngineParts::from_config(config, auditor).map(Engine::start)
    }

    /// The configuration the engine runs on.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Where the pending action `id` stands: who asked, whether it needs an approval or the
    /// notification password, its state. For adapters that decide what to offer before a
    /// press (the command line refuses a request that needs an approval it cannot obtain).
    ///
    /// # Errors
    ///
    /// The pending store does not know `id`, or it has expired.
    pub fn pending(&self, id: PendingId) -> Result<PendingView, PendingError> {
        self.inner.store.get(id)
    }

    /// A receiver of the engine's events from now on.
    pub fn events(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Expires every request whose wait ended before `now` (their [`EngineEvent::Expired`]
    /// follows once audited), forgets long-ended ones, and purges idle cooldowns. The sweeper
    /// calls it every `sweep_interval`; adapters and tests may call it too.
    pub fn sweep(&self, now: Instant) -> SweepReport {
        self.inner.cooldowns.purge(now);
        self.inner.store.sweep(now)
    }

    /// Stops the engine: every request still waiting expires (audited, and announced as
    /// [`EngineEvent::Expired`], so nobody waits for a button that no longer works), running
    /// jobs start no further target, the sweeper stops, and the audit channel queue is given a
    /// few seconds to deliver. Idempotent.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        // Past the longest wait, so every request still waiting expires; the sweep sends the
        // expiry events before it returns.
        let settings = inner.store.settings();
        let longest = settings.confirmation_ttl.max(settings.approval_ttl) + Duration::from_secs(1);
        let now = Instant::now();
        inner.store.sweep(now.checked_add(longest).unwrap_or(now));
        inner.stop.send_replace(true);
        let (sweeper, expiry) = {
            let mut tasks = inner.tasks.lock().unwrap_or_else(PoisonError::into_inner);
            (tasks.sweeper.take(), tasks.expiry.take())
        };
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
        if let Some(expiry) = expiry {
            if tokio::time::timeout(SHUTDOWN_TIMEOUT, expiry)
                .await
                .is_err()
            {
                warn!("expiry events not all recorded before the shutdown timeout");
            }
        }
        if let Some(queue) = inner.auditor.channel() {
            if tokio::time::timeout(SHUTDOWN_TIMEOUT, queue.flushed())
                .await
                .is_err()
            {
                warn!(
                    pending = queue.stats().pending,
                    "audit channel not flushed before the shutdown timeout; the audit file has every event"
                );
            }
        }
    }

    /// Records `event`; a failure is logged and becomes the error to reply with.
    async fn record(&self, event: AuditEvent) -> Result<(), CommandError> {
        let transition = event.transition().name();
        self.inner.auditor.record(event).await.map_err(|e| {
            error!(error = %e, transition, "audit write failed");
            CommandError::Audit(e)
        })
    }

    /// Records a policy denial (`denied`, with its code and message) and answers it.
    async fn refuse(&self, site: &Site<'_>, denial: &Denial) -> Response {
        self.refuse_with(site, denial.code(), denial.to_string())
            .await
    }

    /// Records a denial with this code and message, and answers it with the message.
    async fn refuse_with(&self, site: &Site<'_>, code: &str, message: String) -> Response {
        debug!(code, "denied");
        let event = site
            .event(Transition::denied(&format!("{code}: {message}")))
            .build();
        let error = match self.record(event).await {
            Ok(()) => CommandError::Denied { reason: message },
            Err(audit) => audit,
        };
        Response::reply(crate::error::error_reply(&error))
    }

    /// Broadcasts an event; nobody listening is not an error.
    fn emit(&self, event: EngineEvent) {
        let _ = self.inner.events.send(event);
    }
}

/// Where an audit event of one request comes from: who, which command, which request, where.
#[derive(Clone, Copy)]
struct Site<'a> {
    actor: &'a Actor,
    command: CommandName,
    request_id: RequestId,
    channel: Option<&'a str>,
    tenant: Option<&'a str>,
}

impl Site<'_> {
    fn event(&self, transition: Transition) -> AuditEventBuilder {
        AuditEvent::builder(
            transition,
            self.actor,
            self.command.as_str(),
            &self.request_id.to_string(),
        )
        .channel(self.channel)
        .tenant(self.tenant)
    }
}

/// A pending-store refusal as the error a person is shown.
fn pending_error(error: PendingError) -> CommandError {
    match error {
        PendingError::Unknown => CommandError::NotFound,
        PendingError::Expired { .. } => CommandError::Expired,
        PendingError::AlreadyHandled { by, at, .. } => CommandError::AlreadyHandled {
            by: by.to_string(),
            at,
        },
        PendingError::Refused(denial) => CommandError::Denied {
            reason: denial.to_string(),
        },
        other => CommandError::Denied {
            reason: other.to_string(),
        },
    }
}

/// The sweeper: [`Engine::sweep`] every `interval`, until the engine is dropped.
fn spawn_sweeper(inner: Weak<Inner>, interval: Duration) -> JoinHandle<()> {
    let interval = interval.max(Duration::from_millis(1));
    let span = info_span!(
        "engine.sweeper",
        interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX)
    );
    tokio::spawn(
        async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(inner) = inner.upgrade() else {
                    debug!("engine dropped; sweeper stops");
                    break;
                };
                Engine { inner }.sweep(Instant::now());
            }
        }
        .instrument(span),
    )
}

/// Audits every expiry, then announces it. Ends when the store is gone, or at shutdown once
/// the events already sent are handled.
async fn consume_expiries(
    mut expired: mpsc::UnboundedReceiver<Expired<PendingPlan>>,
    auditor: Auditor,
    events: broadcast::Sender<EngineEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stopping = async {
            // The guard `wait_for` returns is dropped here, never held across an await.
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        let next = tokio::select! {
            biased;
            next = expired.recv() => Some(next),
            () = stopping => None,
        };
        match next {
            Some(Some(event)) => announce_expiry(&auditor, &events, event).await,
            Some(None) => break,
            None => {
                while let Ok(event) = expired.try_recv() {
                    announce_expiry(&auditor, &events, event).await;
                }
                break;
            }
        }
    }
    debug!("expiry consumer stops");
}

async fn announce_expiry(
    auditor: &Auditor,
    events: &broadcast::Sender<EngineEvent>,
    event: Expired<PendingPlan>,
) {
    let Expired {
        id,
        request_id,
        requester,
        command,
        channel,
        stage,
        expired_at,
        plan,
    } = event;
    let record = AuditEvent::builder(
        Transition::Expired,
        &requester,
        command.as_str(),
        &request_id.to_string(),
    )
    .channel(channel.as_deref())
    .tenant(plan.tenant.as_deref())
    .build();
    if let Err(e) = auditor.record(record).await {
        // The requester is told all the same: nothing ran, and the audit failure is logged.
        error!(error = %e, %request_id, "audit write failed for an expiry");
    }
    let reply = messages::expired(&plan.plan.summary(), stage, expired_at, request_id);
    let _ = events.send(EngineEvent::Expired {
        request_id,
        pending: id,
        requester,
        channel,
        stage,
        reply,
    });
}

/// The JumpCloud organisation of the workspace a request came from: `None` when Passdesk does
/// not serve that workspace (or a chat request has none), `Some(None)` for the API key's own
/// organisation. On the command line the tenant, when given, is the organisation id itself.
fn served_org(
    config: &Config,
    platform: Platform,
    tenant: Option<&str>,
) -> Option<Option<passdesk_core::jumpcloud::OrgId>> {
    let default_org = config.jumpcloud.as_ref().and_then(|jc| jc.org_id.clone());
    match platform {
        Platform::Discord => tenant
            .and_then(|t| config.discord_tenant(t))
            .map(|t| t.org_id.clone()),
        Platform::Slack => tenant
            .and_then(|t| config.slack_tenant(t))
            .map(|t| t.org_id.clone()),
        // The console works on the default tenant, and so does the command line unless it
        // names an organisation (`--org-id`, passed as the invocation's tenant): any
        // organisation id is served there, JumpCloud checking it against the key.
        Platform::Console => Some(default_org),
        Platform::Cli => match tenant {
            None => Some(default_org),
            Some(org) => org.parse().ok().map(Some),
        },
    }
}

#[cfg(test)]
mod tests;
