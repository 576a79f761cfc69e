//! Pending actions: planned requests waiting for their requester's Confirm, an approver's
//! decision or the notification password, each single use and with a time limit.
//!
//! The store is generic over the plan it holds (`P`) and knows nothing of what the plan does.
//! It never holds a password: a notification's password arrives with the modal submit, after
//! [`PendingStore::begin_execution`] has handed the plan out, and goes straight to the mailer.
//!
//! # States
//! ```text
//! AwaitingConfirmation ─confirm─► AwaitingApproval ─approve─► AwaitingPassword ─begin_execution─► Executing ─finish─► Done
//!                                  (only if needs_approval)    (only if needs_password)
//! AwaitingApproval ─deny─► Denied
//! any Awaiting… ─cancel─► Cancelled
//! any Awaiting… ─time limit─► Expired(stage)
//! ```
//! - Every transition checks and changes the state while holding the entry's map guard, so it
//!   is atomic and single use: of any number of concurrent presses, exactly one wins and every
//!   later one gets [`PendingError::AlreadyHandled`] ("already handled: confirmed by … at …").
//! - The plan leaves the store exactly once: to the caller that starts it
//!   ([`Confirmed::Execute`], [`Approved::Execute`], [`PendingStore::begin_execution`]), or with
//!   what ended it ([`PendingStore::cancel`], [`PendingStore::deny`], the [`Expired`] event).
//! - Time limits: `confirmation_ttl` from the request, `approval_ttl` from the Confirm that asks
//!   for approval, `confirmation_ttl` again for the password from the moment it is asked for.
//!   An entry past its limit is expired by whichever comes first, a press (or [`PendingStore::get`])
//!   or the sweeper ([`spawn_sweeper`]), and its [`Expired`] event is emitted exactly once.
//! - Ended entries are kept for `retention` after they end, so a late press is told who handled
//!   it rather than "unknown"; then the sweeper removes them.
//!
//! Roles are [`crate::policy`]'s business; the store enforces only the identity rules (the
//! requester's buttons only by the requester, the approver's never by the requester) as a second
//! line, and counts the requester's run in [`Cooldowns`] when a Confirm is accepted.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::ids::{ButtonAction, PendingId, RequestId};
use crate::invocation::{Actor, Platform};
use crate::policy::{Cooldowns, Denial, check_identity};
use crate::request::CommandName;

/// How long ended entries are kept by default, so late presses get "already handled".
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);

/// The store's time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingSettings {
    /// How long a request waits for Confirm; also how long the password is waited for once it
    /// is asked for.
    pub confirmation_ttl: Duration,
    /// How long a request waits for approval, from the Confirm that asked for it.
    pub approval_ttl: Duration,
    /// How long an ended entry (done, cancelled, denied, expired) is kept for late presses.
    pub retention: Duration,
}

impl PendingSettings {
    /// The limits of `[limits]`, with [`DEFAULT_RETENTION`].
    pub fn from_limits(limits: &passdesk_config::Limits) -> Self {
        Self {
            confirmation_ttl: limits.confirmation_ttl,
            approval_ttl: limits.approval_ttl,
            retention: DEFAULT_RETENTION,
        }
    }
}

/// A planned request to hold until it is confirmed (and approved).
#[derive(Debug)]
pub struct NewPending<P> {
    /// Who asked; the only one who may confirm, cancel or enter the password.
    pub requester: Actor,
    /// The operation.
    pub command: CommandName,
    /// Where it was asked (`None` for a direct message or the command line); the policy is
    /// re-checked against it on Confirm.
    pub channel: Option<String>,
    /// The plan, handed back exactly once.
    pub plan: P,
    /// Whether an approver must approve it after the Confirm.
    pub needs_approval: bool,
    /// Whether the requester must enter a password (a notification) before it runs.
    pub needs_password: bool,
}

/// A stage at which a request can wait, and so expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Waiting for the requester's Confirm.
    Confirmation,
    /// Waiting for an approver.
    Approval,
    /// Waiting for the requester to enter the notification password.
    Password,
}

impl Stage {
    /// `confirmation`, `approval` or `password`, for audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Confirmation => "confirmation",
            Stage::Approval => "approval",
            Stage::Password => "password",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a pending action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PendingState {
    /// Waiting for the requester's Confirm.
    AwaitingConfirmation,
    /// Confirmed, waiting for an approver.
    AwaitingApproval,
    /// Confirmed (and approved), waiting for the requester to enter the password.
    AwaitingPassword,
    /// Handed out to run.
    Executing,
    /// Run (whatever the per-target outcomes).
    Done,
    /// Cancelled by the requester.
    Cancelled,
    /// Denied by an approver.
    Denied,
    /// Not acted on in time.
    Expired(Stage),
}

impl PendingState {
    /// `awaiting_confirmation`, …, `expired`, for audit events and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PendingState::AwaitingConfirmation => "awaiting_confirmation",
            PendingState::AwaitingApproval => "awaiting_approval",
            PendingState::AwaitingPassword => "awaiting_password",
            PendingState::Executing => "executing",
            PendingState::Done => "done",
            PendingState::Cancelled => "cancelled",
            PendingState::Denied => "denied",
            PendingState::Expired(_) => "expired",
        }
    }

    /// The stage it waits at, when it waits for someone (and so can expire).
    pub fn waiting_stage(self) -> Option<Stage> {
        match self {
            PendingState::AwaitingConfirmation => Some(Stage::Confirmation),
            PendingState::AwaitingApproval => Some(Stage::Approval),
            PendingState::AwaitingPassword => Some(Stage::Password),
            _ => None,
        }
    }

    /// How far along it is: the order in which the waiting states come.
    fn rank(self) -> u8 {
        match self {
            PendingState::AwaitingConfirmation => 0,
            PendingState::AwaitingApproval => 1,
            PendingState::AwaitingPassword => 2,
            _ => 3,
        }
    }
}

/// Who handled a request, for people to read: display name and platform id, no roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRef {
    /// The platform.
    pub platform: Platform,
    /// The platform's user id.
    pub id: String,
    /// The name people read.
    pub display_name: String,
}

impl From<&Actor> for ActorRef {
    fn from(actor: &Actor) -> Self {
        Self {
            platform: actor.platform,
            id: actor.id.clone(),
            display_name: actor.display_name.clone(),
        }
    }
}

impl fmt::Display for ActorRef {
    /// `Alice (U0123ABCD)`, or the id alone when there is no display name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.display_name.is_empty() {
            f.write_str(&self.id)
        } else {
            write!(f, "{} ({})", self.display_name, self.id)
        }
    }
}

/// The last press that moved a request on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Who pressed.
    pub by: ActorRef,
    /// What they pressed (EnterPassword for the password submit).
    pub action: ButtonAction,
    /// When (wall clock).
    pub at: DateTime<Utc>,
}

/// A read-only copy of a pending action's state, without its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingView {
    /// Its id (what buttons carry).
    pub id: PendingId,
    /// The short id shown to people and in the audit trail.
    pub request_id: RequestId,
    /// Who asked.
    pub requester: Actor,
    /// The operation.
    pub command: CommandName,
    /// Where it was asked.
    pub channel: Option<String>,
    /// Whether it needs approval.
    pub needs_approval: bool,
    /// Whether it needs the notification password.
    pub needs_password: bool,
    /// Where it stands.
    pub state: PendingState,
    /// When it was asked (wall clock).
    pub created_at: DateTime<Utc>,
    /// When the current wait ends, or ended (wall clock).
    pub expires_at: DateTime<Utc>,
    /// The last press that moved it on, if any.
    pub handled: Option<Handled>,
}

/// What an accepted Confirm leads to.
#[derive(Debug)]
#[non_exhaustive]
pub enum Confirmed<P> {
    /// Run it now: this caller, and only this caller, has the plan.
    Execute(P),
    /// Post it for approval; the approval wait ends at `expires_at`.
    AwaitApproval {
        /// When the approval wait ends.
        expires_at: DateTime<Utc>,
    },
    /// Ask the requester for the password; the wait ends at `expires_at`.
    AwaitPassword {
        /// When the password wait ends.
        expires_at: DateTime<Utc>,
    },
}

/// What an accepted Approve leads to.
#[derive(Debug)]
#[non_exhaustive]
pub enum Approved<P> {
    /// Run it now: this caller, and only this caller, has the plan.
    Execute(P),
    /// Ask the requester for the password; the wait ends at `expires_at`.
    AwaitPassword {
        /// When the password wait ends.
        expires_at: DateTime<Utc>,
    },
}

/// A pending action that was not acted on in time: emitted exactly once per expiry, by the
/// press that found it expired or by the sweeper, so the engine can audit it and the adapters
/// can edit the original message. Carries the plan (which will never run).
#[derive(Debug)]
pub struct Expired<P> {
    /// The pending action.
    pub id: PendingId,
    /// Its short request id.
    pub request_id: RequestId,
    /// Who asked.
    pub requester: Actor,
    /// The operation.
    pub command: CommandName,
    /// Where it was asked.
    pub channel: Option<String>,
    /// What it was waiting for.
    pub stage: Stage,
    /// When the wait ended (wall clock).
    pub expired_at: DateTime<Utc>,
    /// The plan, released.
    pub plan: P,
}

/// Why a press on a pending action did nothing. Messages are for the person who pressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PendingError {
    /// No such pending action: never issued, or ended long enough ago to be forgotten (or
    /// Passdesk restarted, which loses no work: nothing ran).
    #[error(
        "this request is not known (it ended a while ago, or Passdesk restarted); run the command \
         again if it is still needed"
    )]
    Unknown,
    /// It was not acted on in time.
    #[error("this request expired at {} {}; run the command again if it is still needed",
        time(*at), stage_clause(*stage))]
    Expired {
        /// What it was waiting for.
        stage: Stage,
        /// When the wait ended.
        at: DateTime<Utc>,
    },
    /// Someone already moved it past the stage this press acts on.
    #[error("already handled: {} by {by} at {}", past(*action), time(*at))]
    AlreadyHandled {
        /// Who did.
        by: ActorRef,
        /// What they pressed.
        action: ButtonAction,
        /// When.
        at: DateTime<Utc>,
    },
    /// The press is for a stage the request has not reached (Approve before Confirm, …).
    #[error("this request is not waiting for {}", wanted(*action))]
    NotReady {
        /// The button pressed.
        action: ButtonAction,
        /// Where the request stands.
        state: PendingState,
    },
    /// [`PendingStore::finish`] on a request that was not handed out to run.
    #[error("this request is not running (it is {})", state.as_str())]
    NotExecuting {
        /// Where the request stands.
        state: PendingState,
    },
    /// Refused by an identity rule or the cooldown.
    #[error(transparent)]
    Refused(#[from] Denial),
}

/// A wall-clock time for people.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn stage_clause(stage: Stage) -> &'static str {
    match stage {
        Stage::Confirmation => "before it was confirmed",
        Stage::Approval => "before an approver approved it",
        Stage::Password => "before the password was entered",
    }
}

fn past(action: ButtonAction) -> &'static str {
    match action {
        ButtonAction::Confirm => "confirmed",
        ButtonAction::Cancel => "cancelled",
        ButtonAction::Approve => "approved",
        ButtonAction::Deny => "denied",
        ButtonAction::EnterPassword => "password entered",
    }
}

fn wanted(action: ButtonAction) -> &'static str {
    match action {
        ButtonAction::Confirm | ButtonAction::Cancel => "confirmation",
        ButtonAction::Approve | ButtonAction::Deny => "approval",
        ButtonAction::EnterPassword => "the password",
    }
}

/// `now + d` on the wall clock, saturating.
fn wall_after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `now + d` on tokio's clock; a limit too large to represent ends now (fail closed).
fn instant_after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

struct Entry<P> {
    view: PendingView,
    /// `Some` while it waits; taken exactly once. Boxed: the map's spare slots then cost a
    /// pointer, not a plan (measured with 100,000 pending confirmations).
    plan: Option<Box<P>>,
    /// While waiting: when the wait ends. Otherwise: when the entry is forgotten.
    deadline: Instant,
}

/// What [`PendingStore::sweep`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Entries that expired (one [`Expired`] event each).
    pub expired: usize,
    /// Ended entries forgotten.
    pub removed: usize,
}

/// The pending actions, in memory. Share it in an `Arc`.
pub struct PendingStore<P> {
    entries: DashMap<PendingId, Entry<P>>,
    settings: PendingSettings,
    expired: mpsc::UnboundedSender<Expired<P>>,
}

impl<P> fmt::Debug for PendingStore<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingStore")
            .field("entries", &self.entries.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<P> PendingStore<P> {
    /// An empty store, and the receiver of its [`Expired`] events (which the engine must drain:
    /// nothing expires silently).
    pub fn new(settings: PendingSettings) -> (Self, mpsc::UnboundedReceiver<Expired<P>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Self {
            entries: DashMap::new(),
            settings,
            expired: tx,
        };
        (store, rx)
    }

    /// The store's time limits.
    pub fn settings(&self) -> PendingSettings {
        self.settings
    }

    /// How many entries are held, waiting or ended.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Holds a new request, waiting for its requester's Confirm for `confirmation_ttl`, and
    /// returns its fresh random id.
    pub fn insert(&self, new: NewPending<P>) -> PendingId {
        let mut new = new;
        loop {
            // 128 random bits: a collision is practically impossible, but never overwrite.
            match self.insert_with_id(PendingId::random(), new) {
                Ok(id) => return id,
                Err(back) => new = back,
            }
        }
    }

    /// Like [`PendingStore::insert`], under an id the caller drew beforehand with
    /// [`PendingId::random`] (the engine does, so that the events audited before the plan
    /// existed carry the same request id). Never overwrites: an id already held hands `new`
    /// back.
    pub fn insert_with_id(
        &self,
        id: PendingId,
        new: NewPending<P>,
    ) -> Result<PendingId, NewPending<P>> {
        let MapEntry::Vacant(slot) = self.entries.entry(id) else {
            return Err(new);
        };
        let now = Instant::now();
        let wall = Utc::now();
        let NewPending {
            requester,
            command,
            channel,
            plan,
            needs_approval,
            needs_password,
        } = new;
        info!(
            request_id = %id.request_id(),
            %command,
            needs_approval,
            needs_password,
            "pending action created"
        );
        slot.insert(Entry {
            view: PendingView {
                id,
                request_id: id.request_id(),
                requester,
                command,
                channel,
                needs_approval,
                needs_password,
                state: PendingState::AwaitingConfirmation,
                created_at: wall,
                expires_at: wall_after(wall, self.settings.confirmation_ttl),
                handled: None,
            },
            plan: Some(Box::new(plan)),
            deadline: instant_after(now, self.settings.confirmation_ttl),
        });
        Ok(id)
    }

    /// A copy of the entry's state. An entry past its time limit is expired first (emitting its
    /// event), so no caller sees a stale waiting state.
    pub fn get(&self, id: PendingId) -> Result<PendingView, PendingError> {
        self.with_entry(id, |_, entry| Ok(entry.view.clone()))
    }

    /// Reads the entry's state and, while it waits, its plan, under the entry's guard, without
    /// changing anything (an entry past its time limit is expired first). The plan stays in the
    /// store: this is for showing it (the approvals-channel message), never for running it.
    pub fn inspect<R>(
        &self,
        id: PendingId,
        f: impl FnOnce(&PendingView, Option<&P>) -> R,
    ) -> Result<R, PendingError> {
        self.with_entry(id, |_, entry| Ok(f(&entry.view, entry.plan.as_deref())))
    }

    /// The requester's Confirm. Counts the run in `cooldowns` (refusing with the wait when the
    /// requester is over a limit, leaving the request waiting), then: runs it
    /// ([`Confirmed::Execute`]), asks for approval, or asks for the password.
    pub fn confirm(
        &self,
        id: PendingId,
        actor: &Actor,
        cooldowns: &Cooldowns,
    ) -> Result<Confirmed<P>, PendingError> {
        self.press(id, actor, ButtonAction::Confirm, |limits, entry, now| {
            cooldowns.acquire(actor, now)?;
            entry.handled(actor, ButtonAction::Confirm);
            if entry.view.needs_approval {
                let expires_at = entry.wait(PendingState::AwaitingApproval, limits.approval_ttl);
                Ok(Confirmed::AwaitApproval { expires_at })
            } else if entry.view.needs_password {
                let expires_at =
                    entry.wait(PendingState::AwaitingPassword, limits.confirmation_ttl);
                Ok(Confirmed::AwaitPassword { expires_at })
            } else {
                entry
                    .end(PendingState::Executing, limits.retention)
                    .map(Confirmed::Execute)
            }
        })
    }

    /// The requester withdraws the request (while it waits for Confirm, approval or the
    /// password); returns the plan, which will never run.
    pub fn cancel(&self, id: PendingId, actor: &Actor) -> Result<P, PendingError> {
        self.press_to_end(id, actor, ButtonAction::Cancel, PendingState::Cancelled)
    }

    /// An approver's Approve (never the requester's): runs it ([`Approved::Execute`]) or asks
    /// the requester for the password.
    pub fn approve(&self, id: PendingId, approver: &Actor) -> Result<Approved<P>, PendingError> {
        self.press(id, approver, ButtonAction::Approve, |limits, entry, _| {
            entry.handled(approver, ButtonAction::Approve);
            if entry.view.needs_password {
                let expires_at =
                    entry.wait(PendingState::AwaitingPassword, limits.confirmation_ttl);
                Ok(Approved::AwaitPassword { expires_at })
            } else {
                entry
                    .end(PendingState::Executing, limits.retention)
                    .map(Approved::Execute)
            }
        })
    }

    /// An approver's Deny (never the requester's); returns the plan, which will never run.
    pub fn deny(&self, id: PendingId, approver: &Actor) -> Result<P, PendingError> {
        self.press_to_end(id, approver, ButtonAction::Deny, PendingState::Denied)
    }

    /// The requester's EnterPassword press, which opens the password prompt: checks that the
    /// request waits for the password and the presser is the requester, changes nothing (the
    /// prompt may be opened again).
    pub fn password_prompt(
        &self,
        id: PendingId,
        actor: &Actor,
    ) -> Result<PendingView, PendingError> {
        self.press(id, actor, ButtonAction::EnterPassword, |_, entry, _| {
            Ok(entry.view.clone())
        })
    }

    /// The requester's password submit: hands the plan out to run, exactly once. The password
    /// itself never comes here; the caller gives it straight to the mailer.
    pub fn begin_execution(&self, id: PendingId, actor: &Actor) -> Result<P, PendingError> {
        self.press_to_end(
            id,
            actor,
            ButtonAction::EnterPassword,
            PendingState::Executing,
        )
    }

    /// Marks a request that was handed out to run as done; it is kept for `retention` so late
    /// presses are told who handled it.
    pub fn finish(&self, id: PendingId) -> Result<PendingView, PendingError> {
        let retention = self.settings.retention;
        self.with_entry(id, |now, entry| {
            if entry.view.state != PendingState::Executing {
                return Err(PendingError::NotExecuting {
                    state: entry.view.state,
                });
            }
            entry.view.state = PendingState::Done;
            entry.deadline = instant_after(now, retention);
            info!(request_id = %entry.view.request_id, "pending action done");
            Ok(entry.view.clone())
        })
    }

    /// Expires every waiting entry past its time limit (one [`Expired`] event each) and forgets
    /// ended entries past their retention. [`spawn_sweeper`] calls it periodically.
    pub fn sweep(&self, now: Instant) -> SweepReport {
        let mut report = SweepReport::default();
        let mut events = Vec::new();
        let retention = self.settings.retention;
        self.entries.retain(|id, entry| {
            if let Some(event) = entry.expire_if_due(*id, now, retention) {
                events.push(event);
                report.expired += 1;
                true
            } else if entry.view.state.waiting_stage().is_none() && now >= entry.deadline {
                report.removed += 1;
                false
            } else {
                true
            }
        });
        for event in events {
            self.emit(event);
        }
        if report != SweepReport::default() {
            debug!(
                expired = report.expired,
                removed = report.removed,
                "pending actions swept"
            );
        }
        report
    }

    /// Runs `f` on the entry, under its guard, after expiring it if it is past its limit.
    fn with_entry<R>(
        &self,
        id: PendingId,
        f: impl FnOnce(Instant, &mut Entry<P>) -> Result<R, PendingError>,
    ) -> Result<R, PendingError> {
        let now = Instant::now();
        let mut event = None;
        let result = match self.entries.get_mut(&id) {
            None => Err(PendingError::Unknown),
            Some(mut entry) => {
                event = entry.expire_if_due(id, now, self.settings.retention);
                f(now, &mut entry)
            }
        };
        // The guard is released: send outside it.
        if let Some(event) = event {
            self.emit(event);
        }
        result
    }

    /// A press: identity rule, then the stage, then `transition`, all under the entry's guard.
    fn press<R>(
        &self,
        id: PendingId,
        actor: &Actor,
        action: ButtonAction,
        transition: impl FnOnce(&PendingSettings, &mut Entry<P>, Instant) -> Result<R, PendingError>,
    ) -> Result<R, PendingError> {
        let result = self.with_entry(id, |now, entry| {
            check_identity(actor, &entry.view.requester, action)?;
            entry.check_stage(action)?;
            transition(&self.settings, entry, now)
        });
        match &result {
            Ok(_) => {
                info!(request_id = %id.request_id(), action = action.as_str(), "pending action pressed")
            }
            Err(e) => {
                debug!(request_id = %id.request_id(), action = action.as_str(), error = %e, "press refused")
            }
        }
        result
    }

    /// A [`press`](Self::press) that records the press and ends the wait in `state`, handing
    /// out the plan.
    fn press_to_end(
        &self,
        id: PendingId,
        actor: &Actor,
        action: ButtonAction,
        state: PendingState,
    ) -> Result<P, PendingError> {
        self.press(id, actor, action, |limits, entry, _| {
            entry.handled(actor, action);
            entry.end(state, limits.retention)
        })
    }

    fn emit(&self, event: Expired<P>) {
        info!(
            request_id = %event.request_id,
            command = %event.command,
            stage = event.stage.as_str(),
            "pending action expired"
        );
        if self.expired.send(event).is_err() {
            warn!("expiry event dropped: nothing receives the pending store's events");
        }
    }
}

impl<P> Entry<P> {
    /// Records the press that moves it on.
    fn handled(&mut self, actor: &Actor, action: ButtonAction) {
        self.view.handled = Some(Handled {
            by: ActorRef::from(actor),
            action,
            at: Utc::now(),
        });
    }

    /// Starts waiting in `state` for `ttl`; returns when the wait ends.
    fn wait(&mut self, state: PendingState, ttl: Duration) -> DateTime<Utc> {
        self.view.state = state;
        self.view.expires_at = wall_after(Utc::now(), ttl);
        self.deadline = instant_after(Instant::now(), ttl);
        self.view.expires_at
    }

    /// Ends the wait in `state`, keeping the entry for `retention`; hands out the plan.
    fn end(&mut self, state: PendingState, retention: Duration) -> Result<P, PendingError> {
        self.view.state = state;
        self.deadline = instant_after(Instant::now(), retention);
        // Every waiting entry holds its plan; only an ended one has none, and ended entries
        // never reach here (check_stage refuses them).
        self.plan
            .take()
            .map(|plan| *plan)
            .ok_or(PendingError::Unknown)
    }

    /// Whether `action` applies where the entry stands.
    fn check_stage(&self, action: ButtonAction) -> Result<(), PendingError> {
        let state = self.view.state;
        let applies: &[PendingState] = match action {
            ButtonAction::Confirm => &[PendingState::AwaitingConfirmation],
            ButtonAction::Cancel => &[
                PendingState::AwaitingConfirmation,
                PendingState::AwaitingApproval,
                PendingState::AwaitingPassword,
            ],
            ButtonAction::Approve | ButtonAction::Deny => &[PendingState::AwaitingApproval],
            ButtonAction::EnterPassword => &[PendingState::AwaitingPassword],
        };
        if applies.contains(&state) {
            return Ok(());
        }
        if let PendingState::Expired(stage) = state {
            return Err(PendingError::Expired {
                stage,
                at: self.view.expires_at,
            });
        }
        let latest = applies.iter().map(|s| s.rank()).max().unwrap_or(0);
        match &self.view.handled {
            Some(handled) if state.rank() > latest => Err(PendingError::AlreadyHandled {
                by: handled.by.clone(),
                action: handled.action,
                at: handled.at,
            }),
            _ => Err(PendingError::NotReady { action, state }),
        }
    }

    /// Expires the entry if it waits past its deadline: the state changes under the caller's
    /// guard, so this happens once, and the event (with the plan) is returned to be sent.
    fn expire_if_due(
        &mut self,
        id: PendingId,
        now: Instant,
        retention: Duration,
    ) -> Option<Expired<P>> {
        let stage = self.view.state.waiting_stage()?;
        if now < self.deadline {
            return None;
        }
        self.view.state = PendingState::Expired(stage);
        self.deadline = instant_after(now, retention);
        let plan = *self.plan.take()?;
        Some(Expired {
            id,
            request_id: self.view.request_id,
            requester: self.view.requester.clone(),
            command: self.view.command,
            channel: self.view.channel.clone(),
            stage,
            expired_at: self.view.expires_at,
            plan,
        })
    }
}

/// Starts a task that calls [`PendingStore::sweep`] every `interval` (at least 1 ms) until the
/// store is dropped or the handle aborted. It holds only a weak reference to the store.
pub fn spawn_sweeper<P>(store: &Arc<PendingStore<P>>, interval: Duration) -> JoinHandle<()>
where
    P: Send + Sync + 'static,
{
    let store: Weak<PendingStore<P>> = Arc::downgrade(store);
    let interval = interval.max(Duration::from_millis(1));
    let span = info_span!(
        "pending_sweeper",
        interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX)
    );
    tokio::spawn(
        async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(store) = store.upgrade() else {
                    debug!("pending store dropped; sweeper stops");
                    break;
                };
                store.sweep(Instant::now());
            }
        }
        .instrument(span),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Barrier;
    use tokio::sync::mpsc::error::TryRecvError;
    use tokio::time::{advance, sleep};

    use super::*;

    const CONFIRMATION_TTL: Duration = Duration::from_secs(120);
    const APPROVAL_TTL: Duration = Duration::from_secs(900);
    const RETENTION: Duration = Duration::from_secs(600);

    fn settings() -> PendingSettings {
        PendingSettings {
            confirmation_ttl: CONFIRMATION_TTL,
            approval_ttl: APPROVAL_TTL,
            retention: RETENTION,
        }
    }

    fn actor(id: &str, name: &str) -> Actor {
        Actor {
            platform: Platform::Slack,
            id: id.to_owned(),
            display_name: name.to_owned(),
            roles: vec!["S0HELPDESK".to_owned()],
        }
    }

    fn alice() -> Actor {
        actor("U0ALICE001", "Alice")
    }

    fn bob() -> Actor {
        actor("U0BOB00001", "Bob")
    }

    fn carol() -> Actor {
        actor("U0CAROL001", "Carol")
    }

    /// No cooldown, and far more runs an hour than a test makes.
    fn unlimited() -> Cooldowns {
        Cooldowns::new(Duration::ZERO, 10_000)
    }

    fn request(
        plan: &'static str,
        needs_approval: bool,
        needs_password: bool,
    ) -> NewPending<&'static str> {
        NewPending {
            requester: alice(),
            command: CommandName::Expire,
            channel: Some("C0HELPDESK".to_owned()),
            plan,
            needs_approval,
            needs_password,
        }
    }

    type Store = PendingStore<&'static str>;

    fn store() -> (Store, mpsc::UnboundedReceiver<Expired<&'static str>>) {
        PendingStore::new(settings())
    }

    #[track_caller]
    fn assert_already(err: PendingError, who: &Actor, action: ButtonAction) {
        match &err {
            PendingError::AlreadyHandled { by, action: a, .. } => {
                assert_eq!(by, &ActorRef::from(who));
                assert_eq!(*a, action);
            }
            other => panic!("expected already handled, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.starts_with("already handled: "), "{message}");
        assert!(
            message.contains(&format!("by {} ({}) at ", who.display_name, who.id)),
            "{message}"
        );
    }

    #[tokio::test]
    async fn confirm_runs_once_and_a_second_press_says_who_handled_it() {
        let (store, _rx) = store();
        let id = store.insert(request("expire jane", false, false));
        let view = store.get(id).unwrap();
        assert_eq!(view.state, PendingState::AwaitingConfirmation);
        assert_eq!(view.request_id, id.request_id());
        assert_eq!(view.requester, alice());
        assert_eq!(view.expires_at - view.created_at, TimeDelta::seconds(120));

        let Confirmed::Execute(plan) = store.confirm(id, &alice(), &unlimited()).unwrap() else {
            panic!("expected to run");
        };
        assert_eq!(plan, "expire jane");
        assert_eq!(store.get(id).unwrap().state, PendingState::Executing);

        let err = store.confirm(id, &alice(), &unlimited()).unwrap_err();
        assert_already(err, &alice(), ButtonAction::Confirm);
        let err = store.cancel(id, &alice()).unwrap_err();
        assert_already(err, &alice(), ButtonAction::Confirm);

        let done = store.finish(id).unwrap();
        assert_eq!(done.state, PendingState::Done);
        assert_eq!(
            store.finish(id).unwrap_err(),
            PendingError::NotExecuting {
                state: PendingState::Done
            }
        );
        let err = store.confirm(id, &alice(), &unlimited()).unwrap_err();
        assert_already(err, &alice(), ButtonAction::Confirm);
    }

    #[tokio::test]
    async fn unknown_ids_are_a_clear_error() {
        let (store, _rx) = store();
        let id = PendingId::random();
        assert_eq!(store.get(id), Err(PendingError::Unknown));
        let err = store.confirm(id, &alice(), &unlimited()).unwrap_err();
        assert_eq!(err, PendingError::Unknown);
        assert!(err.to_string().contains("run the command again"), "{err}");
        assert_eq!(
            store.approve(id, &bob()).unwrap_err(),
            PendingError::Unknown
        );
        assert_eq!(store.finish(id).unwrap_err(), PendingError::Unknown);
    }

    #[tokio::test]
    async fn only_the_requester_confirms_cancels_or_enters_the_password() {
        let (store, _rx) = store();
        let id = store.insert(request("notify", false, true));
        for err in [
            store
                .confirm(id, &bob(), &unlimited())
                .map(drop)
                .unwrap_err(),
            store.cancel(id, &bob()).map(drop).unwrap_err(),
        ] {
            assert!(
                matches!(err, PendingError::Refused(Denial::NotRequester { .. })),
                "{err:?}"
            );
            assert_eq!(err.to_string().split(" can ").next(), Some("only Alice"));
        }
        // The same id on another platform is another account.
        let mut elsewhere = alice();
        elsewhere.platform = Platform::Discord;
        assert!(store.confirm(id, &elsewhere, &unlimited()).is_err());
        assert_eq!(
            store.get(id).unwrap().state,
            PendingState::AwaitingConfirmation
        );

        let Confirmed::AwaitPassword { expires_at } =
            store.confirm(id, &alice(), &unlimited()).unwrap()
        else {
            panic!("expected the password prompt");
        };
        assert_eq!(store.get(id).unwrap().expires_at, expires_at);
        let err = store.password_prompt(id, &bob()).unwrap_err();
        assert!(matches!(
            err,
            PendingError::Refused(Denial::NotRequester { .. })
        ));
        let err = store.begin_execution(id, &bob()).unwrap_err();
        assert!(matches!(
            err,
            PendingError::Refused(Denial::NotRequester { .. })
        ));
        // The prompt can be opened again (a closed modal is not an answer).
        assert_eq!(
            store.password_prompt(id, &alice()).unwrap().state,
            PendingState::AwaitingPassword
        );
        assert_eq!(
            store.password_prompt(id, &alice()).unwrap().state,
            PendingState::AwaitingPassword
        );
        assert_eq!(store.begin_execution(id, &alice()).unwrap(), "notify");
        let err = store.begin_execution(id, &alice()).unwrap_err();
        assert_already(err, &alice(), ButtonAction::EnterPassword);
        let err = store.password_prompt(id, &alice()).unwrap_err();
        assert_already(err, &alice(), ButtonAction::EnterPassword);
    }

    #[tokio::test]
    async fn approval_by_someone_else_then_run_once() {
        let (store, _rx) = store();
        let id = store.insert(request("expire jane", true, false));
        // Approve before Confirm: not waiting for approval yet.
        let err = store.approve(id, &bob()).map(drop).unwrap_err();
        assert_eq!(
            err,
            PendingError::NotReady {
                action: ButtonAction::Approve,
                state: PendingState::AwaitingConfirmation
            }
        );
        assert_eq!(err.to_string(), "this request is not waiting for approval");

        assert!(matches!(
            store.confirm(id, &alice(), &unlimited()).unwrap(),
            Confirmed::AwaitApproval { .. }
        ));
        let err = store.confirm(id, &alice(), &unlimited()).unwrap_err();
        assert_already(err, &alice(), ButtonAction::Confirm);

        // The requester never approves or denies their own request.
        for err in [
            store.approve(id, &alice()).map(drop).unwrap_err(),
            store.deny(id, &alice()).map(drop).unwrap_err(),
        ] {
            assert_eq!(err, PendingError::Refused(Denial::SelfApproval));
        }
        assert_eq!(store.get(id).unwrap().state, PendingState::AwaitingApproval);

        let Approved::Execute(plan) = store.approve(id, &bob()).unwrap() else {
            panic!("expected to run");
        };
        assert_eq!(plan, "expire jane");
        assert_already(
            store.approve(id, &carol()).map(drop).unwrap_err(),
            &bob(),
            ButtonAction::Approve,
        );
        assert_already(
            store.deny(id, &carol()).map(drop).unwrap_err(),
            &bob(),
            ButtonAction::Approve,
        );
        assert_already(
            store.cancel(id, &alice()).map(drop).unwrap_err(),
            &bob(),
            ButtonAction::Approve,
        );
    }

    #[tokio::test]
    async fn deny_and_cancel_end_the_request_and_hand_back_the_plan() {
        let (store, _rx) = store();
        let denied = store.insert(request("denied plan", true, false));
        store.confirm(denied, &alice(), &unlimited()).unwrap();
        assert_eq!(store.deny(denied, &bob()).unwrap(), "denied plan");
        assert_eq!(store.get(denied).unwrap().state, PendingState::Denied);
        assert_already(
            store.approve(denied, &carol()).map(drop).unwrap_err(),
            &bob(),
            ButtonAction::Deny,
        );

        let cancelled = store.insert(request("cancelled plan", false, false));
        assert_eq!(store.cancel(cancelled, &alice()).unwrap(), "cancelled plan");
        assert_eq!(store.get(cancelled).unwrap().state, PendingState::Cancelled);
        assert_already(
            store
                .confirm(cancelled, &alice(), &unlimited())
                .map(drop)
                .unwrap_err(),
            &alice(),
            ButtonAction::Cancel,
        );

        // Withdrawn while waiting for approval: the approver is told.
        let withdrawn = store.insert(request("withdrawn plan", true, false));
        store.confirm(withdrawn, &alice(), &unlimited()).unwrap();
        assert_eq!(store.cancel(withdrawn, &alice()).unwrap(), "withdrawn plan");
        assert_already(
            store.approve(withdrawn, &bob()).map(drop).unwrap_err(),
            &alice(),
            ButtonAction::Cancel,
        );
    }

    #[tokio::test]
    async fn approval_then_password_then_run() {
        let (store, _rx) = store();
        let id = store.insert(request("notify", true, true));
        store.confirm(id, &alice(), &unlimited()).unwrap();
        let err = store.begin_execution(id, &alice()).unwrap_err();
        assert!(matches!(err, PendingError::NotReady { .. }), "{err:?}");
        assert!(matches!(
            store.approve(id, &bob()).unwrap(),
            Approved::AwaitPassword { .. }
        ));
        assert_eq!(store.begin_execution(id, &alice()).unwrap(), "notify");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_many_concurrent_confirms_exactly_one_runs_and_counts_once() {
        const PRESSES: usize = 128;
        let (store, _rx) = store();
        let store = Arc::new(store);
        // At most two runs an hour, no cooldown: the storm may count only one.
        let cooldowns = Arc::new(Cooldowns::new(Duration::ZERO, 2));
        let id = store.insert(request("expire jane", false, false));
        let barrier = Arc::new(Barrier::new(PRESSES));
        let executed = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..PRESSES {
            let (store, cooldowns, barrier, executed) = (
                store.clone(),
                cooldowns.clone(),
                barrier.clone(),
                executed.clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                match store.confirm(id, &alice(), &cooldowns) {
                    Ok(Confirmed::Execute(_)) => {
                        executed.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(err) => assert_already(err, &alice(), ButtonAction::Confirm),
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(executed.load(Ordering::SeqCst), 1);

        // One run was counted: one more fits in the hour, then the limit refuses.
        let second = store.insert(request("second", false, false));
        assert!(matches!(
            store.confirm(second, &alice(), &cooldowns).unwrap(),
            Confirmed::Execute("second")
        ));
        let third = store.insert(request("third", false, false));
        let err = store
            .confirm(third, &alice(), &cooldowns)
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(
                err,
                PendingError::Refused(Denial::HourlyLimit { max: 2, .. })
            ),
            "{err:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_concurrent_approvers_exactly_one_decides() {
        const APPROVERS: usize = 100;
        let (store, _rx) = store();
        let store = Arc::new(store);
        let id = store.insert(request("expire jane", true, false));
        store.confirm(id, &alice(), &unlimited()).unwrap();
        let barrier = Arc::new(Barrier::new(APPROVERS));
        let mut tasks = Vec::new();
        for n in 0..APPROVERS {
            let (store, barrier) = (store.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let approver = actor(&format!("U0APPR{n:04}"), &format!("Approver {n}"));
                barrier.wait().await;
                if n % 2 == 0 {
                    store
                        .approve(id, &approver)
                        .map(|a| matches!(a, Approved::Execute(_)))
                } else {
                    store.deny(id, &approver).map(|_| true)
                }
            }));
        }
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(true) => winners += 1,
                Ok(false) => panic!("approve did not run"),
                Err(err) => assert!(
                    matches!(err, PendingError::AlreadyHandled { .. }),
                    "{err:?}"
                ),
            }
        }
        assert_eq!(winners, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_confirm_leaves_the_request_waiting() {
        let (store, _rx) = store();
        let cooldowns = Cooldowns::new(Duration::from_secs(60), 100);
        let first = store.insert(request("first", false, false));
        store.confirm(first, &alice(), &cooldowns).unwrap();
        let second = store.insert(request("second", false, false));
        advance(Duration::from_secs(18)).await;
        let err = store
            .confirm(second, &alice(), &cooldowns)
            .map(drop)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "you can run another state-changing command in 42 s"
        );
        assert_eq!(
            store.get(second).unwrap().state,
            PendingState::AwaitingConfirmation
        );
        advance(Duration::from_secs(42)).await;
        assert!(matches!(
            store.confirm(second, &alice(), &cooldowns).unwrap(),
            Confirmed::Execute("second")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweeper_expires_an_unconfirmed_request_once() {
        let (store, mut rx) = store();
        let store = Arc::new(store);
        let sweeper = spawn_sweeper(&store, Duration::from_secs(1));
        let id = store.insert(request("expire jane", false, false));

        sleep(CONFIRMATION_TTL - Duration::from_secs(2)).await;
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
        assert_eq!(
            store.get(id).unwrap().state,
            PendingState::AwaitingConfirmation
        );

        let event = rx.recv().await.unwrap();
        assert_eq!(
            (event.id, event.request_id, event.stage, event.plan),
            (id, id.request_id(), Stage::Confirmation, "expire jane")
        );
        assert_eq!(event.requester, alice());
        assert_eq!(event.command, CommandName::Expire);
        assert_eq!(
            store.get(id).unwrap().state,
            PendingState::Expired(Stage::Confirmation)
        );

        let err = store
            .confirm(id, &alice(), &unlimited())
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(
                err,
                PendingError::Expired {
                    stage: Stage::Confirmation,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("expired at"), "{err}");
        assert!(err.to_string().contains("before it was confirmed"), "{err}");

        // Many more sweeps: the event is never emitted again; after retention the entry goes.
        sleep(RETENTION / 2).await;
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
        sleep(RETENTION).await;
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
        assert_eq!(store.get(id), Err(PendingError::Unknown));
        assert!(store.is_empty());

        // The sweeper holds the store weakly and stops with it.
        drop(store);
        sleep(Duration::from_secs(2)).await;
        assert!(sweeper.is_finished());
        assert_eq!(
            rx.recv().await.map(|e| e.id),
            None,
            "the sender went with the store"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_press_expires_the_request_and_the_sweeper_does_not_repeat_it() {
        let (store, mut rx) = store();
        let id = store.insert(request("expire jane", false, false));
        advance(CONFIRMATION_TTL).await;

        let err = store
            .confirm(id, &alice(), &unlimited())
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(
                err,
                PendingError::Expired {
                    stage: Stage::Confirmation,
                    ..
                }
            ),
            "{err:?}"
        );
        let event = rx.try_recv().unwrap();
        assert_eq!((event.id, event.stage), (id, Stage::Confirmation));

        assert_eq!(
            store.sweep(Instant::now()),
            SweepReport {
                expired: 0,
                removed: 0
            }
        );
        let err = store.cancel(id, &alice()).unwrap_err();
        assert!(matches!(err, PendingError::Expired { .. }), "{err:?}");
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);

        assert_eq!(
            store.sweep(Instant::now() + RETENTION),
            SweepReport {
                expired: 0,
                removed: 1
            }
        );
        assert_eq!(store.get(id), Err(PendingError::Unknown));
    }

    #[tokio::test(start_paused = true)]
    async fn a_get_past_the_deadline_expires_too() {
        let (store, mut rx) = store();
        let id = store.insert(request("expire jane", false, false));
        advance(CONFIRMATION_TTL + Duration::from_secs(1)).await;
        assert_eq!(
            store.get(id).unwrap().state,
            PendingState::Expired(Stage::Confirmation)
        );
        assert_eq!(rx.try_recv().unwrap().id, id);
        assert_eq!(
            store.get(id).unwrap().state,
            PendingState::Expired(Stage::Confirmation)
        );
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    }

    #[tokio::test(start_paused = true)]
    async fn approval_has_its_own_limit_from_the_confirm() {
        let (store, mut rx) = store();
        let store = Arc::new(store);
        let _sweeper = spawn_sweeper(&store, Duration::from_secs(1));

        // Confirmed late in its confirmation window, approved long after that window.
        let approved = store.insert(request("approved", true, false));
        let expired = store.insert(request("expired", true, false));
        sleep(CONFIRMATION_TTL - Duration::from_secs(10)).await;
        store.confirm(approved, &alice(), &unlimited()).unwrap();
        let Confirmed::AwaitApproval { expires_at } =
            store.confirm(expired, &alice(), &unlimited()).unwrap()
        else {
            panic!("expected approval");
        };
        let view = store.get(expired).unwrap();
        // The wall-clock limit is shown from the Confirm (paused tokio time does not move the
        // wall clock, so this only sees the approval TTL replace the confirmation TTL).
        assert_eq!(view.expires_at, expires_at);
        assert!(expires_at - view.created_at >= TimeDelta::seconds(900));

        sleep(APPROVAL_TTL - Duration::from_secs(5)).await;
        assert!(matches!(
            store.approve(approved, &bob()).unwrap(),
            Approved::Execute("approved")
        ));
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);

        let event = rx.recv().await.unwrap();
        assert_eq!(
            (event.id, event.stage, event.plan),
            (expired, Stage::Approval, "expired")
        );
        let err = store.approve(expired, &bob()).map(drop).unwrap_err();
        assert!(
            matches!(
                err,
                PendingError::Expired {
                    stage: Stage::Approval,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("before an approver approved it"),
            "{err}"
        );
        sleep(RETENTION * 2).await;
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_password_prompt_expires() {
        let (store, mut rx) = store();
        let id = store.insert(request("notify", false, true));
        advance(CONFIRMATION_TTL - Duration::from_secs(1)).await;
        // The password wait starts at the Confirm, with its own confirmation TTL.
        store.confirm(id, &alice(), &unlimited()).unwrap();
        advance(CONFIRMATION_TTL - Duration::from_secs(1)).await;
        assert_eq!(store.sweep(Instant::now()).expired, 0);
        assert!(store.password_prompt(id, &alice()).is_ok());
        advance(Duration::from_secs(1)).await;
        assert_eq!(store.sweep(Instant::now()).expired, 1);
        let event = rx.try_recv().unwrap();
        assert_eq!(
            (event.id, event.stage, event.plan),
            (id, Stage::Password, "notify")
        );
        let err = store.begin_execution(id, &alice()).unwrap_err();
        assert!(
            err.to_string().contains("before the password was entered"),
            "{err}"
        );
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    }

    #[tokio::test(start_paused = true)]
    async fn ended_requests_answer_late_presses_until_retention_ends() {
        let (store, _rx) = store();
        let id = store.insert(request("expire jane", false, false));
        store.cancel(id, &alice()).unwrap();
        advance(RETENTION - Duration::from_secs(1)).await;
        assert_eq!(store.sweep(Instant::now()).removed, 0);
        assert_already(
            store
                .confirm(id, &alice(), &unlimited())
                .map(drop)
                .unwrap_err(),
            &alice(),
            ButtonAction::Cancel,
        );
        advance(Duration::from_secs(1)).await;
        assert_eq!(store.sweep(Instant::now()).removed, 1);
        assert_eq!(
            store
                .confirm(id, &alice(), &unlimited())
                .map(drop)
                .unwrap_err(),
            PendingError::Unknown
        );
    }

    #[test]
    fn ids_are_fresh_and_requests_start_waiting_for_confirmation() {
        let (store, _rx) = store();
        let ids: std::collections::HashSet<_> = (0..1000)
            .map(|_| store.insert(request("x", false, false)))
            .collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(store.len(), 1000);
    }

    #[tokio::test]
    async fn a_chosen_id_is_never_overwritten_and_inspect_changes_nothing() {
        let (store, _rx) = store();
        let id = PendingId::random();
        assert_eq!(
            store.insert_with_id(id, request("first", true, false)).ok(),
            Some(id)
        );
        let back = store
            .insert_with_id(id, request("second", false, false))
            .unwrap_err();
        assert_eq!(back.plan, "second");
        assert_eq!(store.len(), 1);

        // Inspect shows the plan while it waits, and leaves it there.
        let seen = store
            .inspect(id, |view, plan| (view.state, plan.copied()))
            .unwrap();
        assert_eq!(seen, (PendingState::AwaitingConfirmation, Some("first")));
        let unlimited = unlimited();
        assert!(matches!(
            store.confirm(id, &alice(), &unlimited).unwrap(),
            Confirmed::AwaitApproval { .. }
        ));
        let seen = store.inspect(id, |_, plan| plan.copied()).unwrap();
        assert_eq!(seen, Some("first"));
        match store.approve(id, &bob()).unwrap() {
            Approved::Execute(plan) => assert_eq!(plan, "first"),
            other => panic!("{other:?}"),
        }
        // Handed out: nothing left to show.
        assert_eq!(store.inspect(id, |_, plan| plan.copied()).unwrap(), None);
        assert_eq!(
            store.inspect(PendingId::random(), |_, _| ()).unwrap_err(),
            PendingError::Unknown
        );
    }
}
