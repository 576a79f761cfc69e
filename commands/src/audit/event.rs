//! The audit event: what happened to a request, built only from values that cannot be secrets.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use passdesk_core::http::excerpt;

use crate::invocation::{Actor, Invocation, Platform};

mod sealed {
    /// Keeps [`super::Auditable`] closed: only this module decides what may be audited.
    pub trait Sealed {}
}

/// A value that may be written to the audit trail.
///
/// The trait is sealed: it is implemented here, for text and numbers, and nowhere else, so no
/// other crate can declare a secret type auditable. `secrecy::SecretString` (and every
/// `secrecy::SecretBox`) does not implement it, so a secret cannot be handed to
/// [`AuditText::new`] or to any builder method of [`AuditEvent`]; the only way to put a secret's
/// text into an audit event is to call `expose_secret()` first, which is explicit and reviewable.
/// A static assertion in this module fails the build if `SecretString` ever becomes auditable.
///
/// This compiles (a plain label):
///
/// ```
/// use passdesk_commands::audit::AuditText;
/// let label = AuditText::new("jc.one");
/// assert_eq!(label.as_str(), "jc.one");
/// ```
///
/// This does not (a secret):
///
/// ```compile_fail,E0277
/// use passdesk_commands::audit::AuditText;
/// use secrecy::SecretString;
/// let password = SecretString::from("hunter2");
/// let _ = AuditText::new(&password);
/// ```
///
/// Nor does declaring some other type auditable outside this crate:
///
/// ```compile_fail
/// use passdesk_commands::audit::Auditable;
/// use std::borrow::Cow;
/// struct Password(String);
/// impl Auditable for Password {
///     fn audit_text(&self) -> Cow<'_, str> {
///         Cow::Borrowed(&self.0)
///     }
/// }
/// ```
pub trait Auditable: sealed::Sealed {
    /// The text recorded for this value.
    fn audit_text(&self) -> Cow<'_, str>;
}

macro_rules! auditable_by_display {
    ($($ty:ty),* $(,)?) => {$(
        impl sealed::Sealed for $ty {}
        impl Auditable for $ty {
            fn audit_text(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}

auditable_by_display!(u16, u32, u64, usize, i64, Platform);

impl sealed::Sealed for str {}
impl Auditable for str {
    fn audit_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl sealed::Sealed for String {}
impl Auditable for String {
    fn audit_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl sealed::Sealed for AuditText {}
impl Auditable for AuditText {
    fn audit_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

impl<T: sealed::Sealed + ?Sized> sealed::Sealed for &T {}
impl<T: Auditable + ?Sized> Auditable for &T {
    fn audit_text(&self) -> Cow<'_, str> {
        (**self).audit_text()
    }
}

// Compile-time proof that secrets are not auditable: if `SecretString` (or a boxed secret
// string) implemented `Auditable`, both impls below would apply, `_` would be ambiguous and this
// crate would not build.
const _: fn() = || {
    trait AmbiguousIfAuditable<Marker> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfAuditable<()> for T {}
    struct IsAuditable;
    impl<T: ?Sized + Auditable> AmbiguousIfAuditable<IsAuditable> for T {}
    <secrecy::SecretString as AmbiguousIfAuditable<_>>::check();
    <&secrecy::SecretString as AmbiguousIfAuditable<_>>::check();
    <secrecy::SecretBox<String> as AmbiguousIfAuditable<_>>::check();
};

/// A bounded, single-line piece of audit text made from an [`Auditable`] value.
///
/// Control characters become spaces and the text is cut at
/// [`passdesk_core::http::EXCERPT_LIMIT`] characters (with `…`), so one label can neither forge
/// a line in a log or chat rendering nor grow an event without bound.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditText(String);

impl AuditText {
    /// Renders `value` as audit text.
    pub fn new<T: Auditable + ?Sized>(value: &T) -> Self {
        Self(excerpt(&value.audit_text()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Text read back from the log, where it was written from an [`Auditable`] value; bounded
    /// again in case the file was edited.
    pub(super) fn from_log(text: &str) -> Self {
        Self(excerpt(text))
    }
}

impl fmt::Debug for AuditText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for AuditText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who caused a transition, as recorded: platform, immutable id and display name (no roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub(super) platform: Platform,
    pub(super) id: AuditText,
    pub(super) display_name: AuditText,
}

impl AuditActor {
    /// The platform the actor is on.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The platform's immutable user id.
    pub fn id(&self) -> &AuditText {
        &self.id
    }

    /// The name people read.
    pub fn display_name(&self) -> &AuditText {
        &self.display_name
    }
}

impl From<&Actor> for AuditActor {
    fn from(actor: &Actor) -> Self {
        Self {
            platform: actor.platform,
            id: AuditText::new(&actor.id),
            display_name: AuditText::new(&actor.display_name),
        }
    }
}

/// How one target of an executed request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetStatus {
    /// The operation was carried out (mail sent, password expired).
    Done,
    /// Deliberately not acted on (suspended user, not found, no binding).
    Skipped,
    /// Refused or failed upstream; nothing happened.
    Failed,
    /// The upstream may have acted but did not confirm it (e.g. a timeout after a mail was sent).
    Unknown,
}

impl TargetStatus {
    /// The lowercase name used in the log and in chat.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Done => "done",
            TargetStatus::Skipped => "skipped",
            TargetStatus::Failed => "failed",
            TargetStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One target's outcome: its label, status and an optional short detail (e.g. `activation mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResult {
    pub(super) target: AuditText,
    pub(super) status: TargetStatus,
    pub(super) detail: Option<AuditText>,
}

impl TargetResult {
    /// A target's outcome without detail.
    pub fn new<T: Auditable + ?Sized>(target: &T, status: TargetStatus) -> Self {
        Self {
            target: AuditText::new(target),
            status,
            detail: None,
        }
    }

    /// Adds a short detail, e.g. `reset mail` or `suspended`.
    pub fn with_detail<T: Auditable + ?Sized>(mut self, detail: &T) -> Self {
        self.detail = Some(AuditText::new(detail));
        self
    }

    /// The target's label.
    pub fn target(&self) -> &AuditText {
        &self.target
    }

    /// How it ended.
    pub fn status(&self) -> TargetStatus {
        self.status
    }

    /// The detail, if any.
    pub fn detail(&self) -> Option<&AuditText> {
        self.detail.as_ref()
    }
}

/// How many targets ended in each [`TargetStatus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Targets acted on.
    pub done: u64,
    /// Targets skipped.
    pub skipped: u64,
    /// Targets that failed.
    pub failed: u64,
    /// Targets whose outcome is unknown.
    pub unknown: u64,
}

impl OutcomeCounts {
    /// All targets.
    pub fn total(&self) -> u64 {
        self.done + self.skipped + self.failed + self.unknown
    }

    fn add(&mut self, status: TargetStatus) {
        let slot = match status {
            TargetStatus::Done => &mut self.done,
            TargetStatus::Skipped => &mut self.skipped,
            TargetStatus::Failed => &mut self.failed,
            TargetStatus::Unknown => &mut self.unknown,
        };
        *slot = slot.saturating_add(1);
    }
}

/// The per-target summary of an executed request: counts by status over every target, and the
/// first [`ExecutionSummary::MAX_LISTED`] targets with their outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionSummary {
    pub(super) counts: OutcomeCounts,
    pub(super) listed: Vec<TargetResult>,
}

impl ExecutionSummary {
    /// The most targets listed by name; the rest are only counted.
    pub const MAX_LISTED: usize = 50;

    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one target's outcome, and lists it while fewer than [`Self::MAX_LISTED`] are.
    pub fn push(&mut self, result: TargetResult) {
        self.counts.add(result.status);
        if self.listed.len() < Self::MAX_LISTED {
            self.listed.push(result);
        }
    }

    /// Counts by status, over every target pushed.
    pub fn counts(&self) -> OutcomeCounts {
        self.counts
    }

    /// The listed targets, in the order pushed.
    pub fn listed(&self) -> &[TargetResult] {
        &self.listed
    }

    /// How many targets were counted but not listed.
    pub fn omitted(&self) -> u64 {
        self.counts.total().saturating_sub(self.listed.len() as u64)
    }
}

impl FromIterator<TargetResult> for ExecutionSummary {
    fn from_iter<I: IntoIterator<Item = TargetResult>>(iter: I) -> Self {
        let mut summary = Self::new();
        for result in iter {
            summary.push(result);
        }
        summary
    }
}

/// The step of a request's life an event records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// A command was received and parsed.
    Requested,
    /// Policy refused it.
    Denied {
        /// Why, for people to read (e.g. `missing role helpdesk`).
        reason: AuditText,
    },
    /// A dry run was planned and shown; nothing ran.
    DryRun,
    /// The requester confirmed.
    Confirmed,
    /// The requester cancelled.
    Cancelled,
    /// Approval was asked for in the approvals channel.
    ApprovalRequested,
    /// An approver approved.
    Approved,
    /// An approver rejected.
    Rejected,
    /// The pending request expired unconfirmed or unapproved.
    Expired,
    /// The request ran; one outcome per target.
    Executed(ExecutionSummary),
    /// The request could not run as a whole.
    Failed {
        /// Why, for people to read.
        reason: AuditText,
    },
}

impl Transition {
    /// The event name used in the log and in chat (`requested`, `dry_run`, `executed`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Transition::Requested => "requested",
            Transition::Denied { .. } => "denied",
            Transition::DryRun => "dry_run",
            Transition::Confirmed => "confirmed",
            Transition::Cancelled => "cancelled",
            Transition::ApprovalRequested => "approval_requested",
            Transition::Approved => "approved",
            Transition::Rejected => "rejected",
            Transition::Expired => "expired",
            Transition::Executed(_) => "executed",
            Transition::Failed { .. } => "failed",
        }
    }

    /// A denial with its reason.
    pub fn denied<T: Auditable + ?Sized>(reason: &T) -> Self {
        Transition::Denied {
            reason: AuditText::new(reason),
        }
    }

    /// A failure with its reason.
    pub fn failed<T: Auditable + ?Sized>(reason: &T) -> Self {
        Transition::Failed {
            reason: AuditText::new(reason),
        }
    }
}

/// The targets a request names: the first [`Targets::MAX_LISTED`] labels and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub(super) listed: Vec<AuditText>,
    pub(super) total: u64,
}

impl Targets {
    /// The most target labels listed on an event; the rest are only counted.
    pub const MAX_LISTED: usize = 25;

    /// The listed labels.
    pub fn listed(&self) -> &[AuditText] {
        &self.listed
    }

    /// How many targets in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    fn push(&mut self, label: AuditText) {
        self.total = self.total.saturating_add(1);
        if self.listed.len() < Self::MAX_LISTED {
            self.listed.push(label);
        }
    }
}

/// One audit event: a transition of one request, with who, where and on what.
///
/// Every text field is an [`AuditText`], which can only be made from an [`Auditable`] value, so
/// no field can hold a secret (see [`Auditable`]). Built with [`AuditEvent::builder`] or
/// [`AuditEvent::for_invocation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub(super) at: DateTime<Utc>,
    pub(super) transition: Transition,
    pub(super) actor: AuditActor,
    pub(super) platform: Platform,
    pub(super) channel: Option<AuditText>,
    pub(super) tenant: Option<AuditText>,
    pub(super) command: AuditText,
    pub(super) request_id: AuditText,
    pub(super) targets: Targets,
}

impl AuditEvent {
    /// Starts an event: `actor` caused `transition` of request `request_id` (the short id shown
    /// in chat) for `command`. The platform defaults to the actor's, the time to now.
    pub fn builder<C, R>(
        transition: Transition,
        actor: &Actor,
        command: &C,
        request_id: &R,
    ) -> AuditEventBuilder
    where
        C: Auditable + ?Sized,
        R: Auditable + ?Sized,
    {
        AuditEventBuilder {
            event: AuditEvent {
                at: Utc::now(),
                transition,
                actor: AuditActor::from(actor),
                platform: actor.platform,
                channel: None,
                tenant: None,
                command: AuditText::new(command),
                request_id: AuditText::new(request_id),
                targets: Targets::default(),
            },
        }
    }

    /// Starts an event from the invocation that created the request: its actor, platform,
    /// channel, tenant and command.
    pub fn for_invocation<R: Auditable + ?Sized>(
        transition: Transition,
        invocation: &Invocation,
        request_id: &R,
    ) -> AuditEventBuilder {
        Self::builder(
            transition,
            &invocation.actor,
            &invocation.command,
            request_id,
        )
        .channel(invocation.channel.as_deref())
        .tenant(invocation.tenant.as_deref())
    }

    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// What happened.
    pub fn transition(&self) -> &Transition {
        &self.transition
    }

    /// Who caused it (for `expired` and `executed`, the requester on whose behalf it happened).
    pub fn actor(&self) -> &AuditActor {
        &self.actor
    }

    /// The platform it happened on.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The platform channel id, if any.
    pub fn channel(&self) -> Option<&AuditText> {
        self.channel.as_ref()
    }

    /// The tenant (Discord guild, Slack team), if any.
    pub fn tenant(&self) -> Option<&AuditText> {
        self.tenant.as_ref()
    }

    /// The command name, e.g. `reset`.
    pub fn command(&self) -> &AuditText {
        &self.command
    }

    /// The short request id shown in chat.
    pub fn request_id(&self) -> &AuditText {
        &self.request_id
    }

    /// The targets the request names.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// A one-line, platform-neutral summary for chat, e.g.
    /// `executed · reset · request 7f3a9c · by Jane (discord 123) · targets jc.one · done 1`.
    /// Adapters escape it for their markup.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} · {} · request {} · by {} ({} {})",
            self.transition.name(),
            self.command,
            self.request_id,
            self.actor.display_name,
            self.actor.platform,
            self.actor.id,
        );
        if self.targets.total > 0 {
            let labels: Vec<&str> = self.targets.listed.iter().map(AuditText::as_str).collect();
            out.push_str(" · targets ");
            out.push_str(&labels.join(", "));
            let more = self.targets.total.saturating_sub(labels.len() as u64);
            if more > 0 {
                out.push_str(&format!(" (+{more} more)"));
            }
        }
        match &self.transition {
            Transition::Denied { reason } | Transition::Failed { reason } => {
                out.push_str(&format!(" · {reason}"));
            }
            Transition::Executed(summary) => {
                let c = summary.counts();
                out.push_str(&format!(
                    " · done {}, skipped {}, failed {}, unknown {}",
                    c.done, c.skipped, c.failed, c.unknown
                ));
            }
            _ => {}
        }
        out
    }
}

/// Finishes an [`AuditEvent`]; see [`AuditEvent::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AuditEventBuilder {
    event: AuditEvent,
}

impl AuditEventBuilder {
    /// Sets when it happened (default: when the builder was made).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.event.at = at;
        self
    }

    /// Sets who caused it, when not the one given to the builder (e.g. the approver).
    pub fn actor(mut self, actor: &Actor) -> Self {
        self.event.actor = AuditActor::from(actor);
        self
    }

    /// Sets the platform, when not the actor's.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.event.platform = platform;
        self
    }

    /// Sets the channel id (`None` for direct messages and the CLI).
    pub fn channel<T: Auditable + ?Sized>(mut self, channel: Option<&T>) -> Self {
        self.event.channel = channel.map(AuditText::new);
        self
    }

    /// Sets the tenant (Discord guild id, Slack team id).
    pub fn tenant<T: Auditable + ?Sized>(mut self, tenant: Option<&T>) -> Self {
        self.event.tenant = tenant.map(AuditText::new);
        self
    }

    /// Adds one target label (a username, user id, group name or filter description).
    pub fn target<T: Auditable + ?Sized>(mut self, label: &T) -> Self {
        self.event.targets.push(AuditText::new(label));
        self
    }

    /// Adds target labels in order.
    pub fn targets<I>(mut self, labels: I) -> Self
    where
        I: IntoIterator,
        I::Item: Auditable,
    {
        for label in labels {
            self.event.targets.push(AuditText::new(&label));
        }
        self
    }

    /// The event.
    pub fn build(self) -> AuditEvent {
        self.event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            platform: Platform::Slack,
            id: "U0REQUEST1".into(),
            display_name: "Jane Doe".into(),
            roles: vec!["S0HELPDESK".into()],
        }
    }

    #[test]
    fn audit_text_is_single_line_and_bounded() {
        let forged = AuditText::new("jc.one\n{\"seq\":99}");
        assert!(!forged.as_str().contains('\n'), "{forged:?}");
        let long = AuditText::new(&"x".repeat(10_000));
        assert!(long.as_str().chars().count() <= passdesk_core::http::EXCERPT_LIMIT + 1);
        assert!(long.as_str().ends_with('…'));
        assert_eq!(AuditText::new(&42u64).as_str(), "42");
        assert_eq!(AuditText::new(&Platform::Discord).as_str(), "discord");
    }

    #[test]
    fn for_invocation_takes_actor_channel_tenant_and_command() {
        let invocation = Invocation {
            actor: actor(),
            channel: Some("C0HELP".into()),
            tenant: Some("T0ACME".into()),
            interaction_id: "i-1".into(),
            command: "reset".into(),
            options: vec![("user".into(), "jc.one".into())],
        };
        let event = AuditEvent::for_invocation(Transition::Requested, &invocation, "7f3a9c")
            .target("jc.one")
            .build();
        assert_eq!(event.actor().id().as_str(), "U0REQUEST1");
        assert_eq!(event.actor().display_name().as_str(), "Jane Doe");
        assert_eq!(event.platform(), Platform::Slack);
        assert_eq!(event.channel().map(AuditText::as_str), Some("C0HELP"));
        assert_eq!(event.tenant().map(AuditText::as_str), Some("T0ACME"));
        assert_eq!(event.command().as_str(), "reset");
        assert_eq!(event.request_id().as_str(), "7f3a9c");
        assert_eq!(event.targets().total(), 1);
    }

    #[test]
    fn targets_and_summary_lists_are_bounded_but_counted() {
        let labels: Vec<String> = (0..100).map(|i| format!("user{i}")).collect();
        let event = AuditEvent::builder(Transition::Requested, &actor(), "reset", "id1")
            .targets(&labels)
            .build();
        assert_eq!(event.targets().listed().len(), Targets::MAX_LISTED);
        assert_eq!(event.targets().total(), 100);
        assert!(
            event.summary().contains("(+75 more)"),
            "{}",
            event.summary()
        );

        let summary: ExecutionSummary = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let status = if i % 10 == 0 {
                    TargetStatus::Skipped
                } else {
                    TargetStatus::Done
                };
                TargetResult::new(label, status)
            })
            .collect();
        assert_eq!(summary.counts().done, 90);
        assert_eq!(summary.counts().skipped, 10);
        assert_eq!(summary.listed().len(), ExecutionSummary::MAX_LISTED);
        assert_eq!(summary.omitted(), 50);
    }

    #[test]
    fn summary_line_names_transition_request_actor_and_outcome() {
        let mut summary = ExecutionSummary::new();
        summary.push(TargetResult::new("jc.one", TargetStatus::Done).with_detail("reset mail"));
        summary.push(TargetResult::new("jc.two", TargetStatus::Unknown));
        let event = AuditEvent::builder(Transition::Executed(summary), &actor(), "reset", "7f3a9c")
            .targets(["jc.one", "jc.two"])
            .build();
        assert_eq!(
            event.summary(),
            "executed · reset · request 7f3a9c · by Jane Doe (slack U0REQUEST1) · targets \
             jc.one, jc.two · done 1, skipped 0, failed 0, unknown 1"
        );
        let denied = AuditEvent::builder(
            Transition::denied("missing role helpdesk"),
            &actor(),
            "expire",
            "1",
        )
        .build();
        assert!(denied.summary().ends_with("· missing role helpdesk"));
    }
}
