//! The planner: what a request would do, worked out with read-only upstream calls.
//!
//! [`plan`] resolves a [`Request`] into one [`PlannedTarget`] per user (or, for a notification,
//! per recipient), each with the action that confirmation would run or the reason it is
//! skipped. Nothing state-changing is called here: the look-ups are JumpCloud `GET`s and user
//! searches, Identity Manager `GET`s, and the mailer's offline preview. A dry run renders the
//! plan ([`render_plan`]) and stops; otherwise the engine keeps it in the pending store, and
//! after confirmation runs [`execute_target`] per target through the bulk executor.
//!
//! # Rules, in the order they apply to a JumpCloud user
//!
//! 1. **Not found** — a user id or username that resolves to nobody, or a group member id that
//!    no longer names a user, is a *skipped target* ("not found"), not an error: the plan still
//!    shows what was asked and the rest of a group goes ahead. An ambiguous username and any
//!    other look-up failure (unauthorised, rate limited, unreachable…) *is* an error: no plan.
//! 2. **State** (reset mail only) — suspended and staged users are skipped: the simulator
//!    refuses them with `409` and what JumpCloud does is unverified (reference §3, §10), so no
//!    request is sent. Locked users still get their mail. Expiry applies to every state; the
//!    plan shows the state and notes a password that is already expired.
//! 3. **Own account** — the requester's own JumpCloud account (`requester_account`, compared
//!    ignoring ASCII case) is skipped unless the command's policy sets `allow_self`. The
//!    protected-target override does **not** lift this rule: acting on one's own account is a
//!    separate permission.
//! 4. **Protected** — members of `[targets] protected_groups` (each group's members fetched
//!    once per plan; a protected group that does not exist is a warning) and usernames matching
//!    `protected_usernames` are skipped unless the requester may touch protected targets; when
//!    they may, the target is planned and the plan says it is protected. A protected group
//!    whose members cannot be read fails the plan (never act when protection is unknown).
//! 5. **Ceiling** — more than `max_targets` actionable targets (skipped ones not counted) is
//!    [`CommandError::TooManyTargets`]: no partial plan.
//!
//! Password notifications name Identity Manager people, not JumpCloud users, so rules 3 and 4
//! do not apply to them; a recipient outside the mailer's allowed domains is skipped
//! ([`SkipReason::MailRefused`]) before any password is asked.

mod execute;
mod render;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use passdesk_config::TargetRules;
use passdesk_core::identity_manager::{self, NotificationPlan};
use passdesk_core::jumpcloud::{self, JumpCloudClient, SystemUser, UserId, UserState, Username};
use passdesk_core::mail::{self, Email, MailPreview, Mailer};
use tracing::{Span, field, instrument};

use crate::error::CommandError;
use crate::request::{Request, ResetTarget, UserRef, shown};

pub use execute::{ExecuteContext, TargetOutcome, execute_notification, execute_target};
pub use render::{render_plan, render_report};

/// What the planner needs: the clients (used read-only), the target rules and the requester's
/// standing. Built by the engine per request.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    /// The JumpCloud client of the request's tenant; `None` when JumpCloud is not configured
    /// (a deployment that only sends password notifications), which refuses `reset` and
    /// `expire` with [`CommandError::NotConfigured`].
    pub jumpcloud: Option<&'a JumpCloudClient>,
    /// The Identity Manager client, when configured (needed by `notify`).
    pub identity_manager: Option<&'a identity_manager::Client>,
    /// The notification mailer, when configured; its preview shows where the mail would go.
    pub mailer: Option<&'a Mailer>,
    /// `[targets]` from the configuration.
    pub targets: &'a TargetRules,
    /// `[limits] max_targets`: the most actionable targets one request may have.
    pub max_targets: u32,
    /// Whether the requester is in one of `protected_override_groups`.
    pub may_touch_protected: bool,
    /// The requester's own JumpCloud username, when known.
    pub requester_account: Option<&'a Username>,
    /// Whether the command's policy lets requesters act on their own account.
    pub allow_self: bool,
    /// Refuse a notification whose mail would not name the beneficiary.
    pub require_beneficiary_name: bool,
    /// "Now", for `created-within-days` (the engine passes `Utc::now()`).
    pub now: DateTime<Utc>,
}

impl<'a> PlanContext<'a> {
    /// A context with no Identity Manager client, no mailer, no requester account, no
    /// override, `allow_self` and `require_beneficiary_name` off, and `now` = the current time.
    pub fn new(jumpcloud: &'a JumpCloudClient, targets: &'a TargetRules, max_targets: u32) -> Self {
        Self {
            jumpcloud: Some(jumpcloud),
            identity_manager: None,
            mailer: None,
            targets,
            max_targets,
            may_touch_protected: false,
            requester_account: None,
            allow_self: false,
            require_beneficiary_name: false,
            now: Utc::now(),
        }
    }

    /// The JumpCloud client, or [`CommandError::NotConfigured`].
    fn jumpcloud(&self) -> Result<&'a JumpCloudClient, CommandError> {
        self.jumpcloud
            .ok_or(CommandError::NotConfigured { what: "jumpcloud" })
    }
}

/// Why a target is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// No such user (or a group member that no longer exists).
    NotFound,
    /// The user is suspended.
    Suspended,
    /// The user is staged (not yet activated by an administrator).
    Staged,
    /// The target is protected and the requester may not override that.
    Protected {
        /// Which rule protects it, e.g. `member of protected group "Admins"`.
        why: String,
    },
    /// The requester's own account, and the command does not allow that.
    OwnAccount,
    /// The mail would go to an address the mail settings refuse.
    MailRefused {
        /// The mailer's explanation (names the address, never upstream text).
        why: String,
    },
    /// The job was stopped before this target started.
    NotStarted,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotFound => f.write_str("not found"),
            SkipReason::Suspended => f.write_str("suspended"),
            SkipReason::Staged => f.write_str("staged (not yet activated by an administrator)"),
            SkipReason::Protected { why } => write!(f, "protected: {why}"),
            SkipReason::OwnAccount => f.write_str("your own account"),
            SkipReason::MailRefused { why } => write!(f, "mail refused: {why}"),
            SkipReason::NotStarted => f.write_str("not started (the job was stopped)"),
        }
    }
}

/// A password notification, resolved: the Identity Manager plan and, when a mailer is
/// configured, where the mail would really go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotification {
    /// What Identity Manager says: recipient, names, CC, warnings.
    pub plan: NotificationPlan,
    /// The mailer's preview (after catch-all and allowed domains); `None` without a mailer.
    pub preview: Option<MailPreview>,
}

/// What confirmation would do to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedAction {
    /// JumpCloud activation mail (the user is pending: no password yet).
    ActivationMail,
    /// JumpCloud password reset mail (the user is active).
    ResetMail,
    /// Expire the JumpCloud password.
    Expire,
    /// Identity Manager password notification (the password is asked for after confirmation).
    Notify(Box<PlannedNotification>),
    /// Nothing, and why.
    Skip(SkipReason),
}

impl PlannedAction {
    /// What it does, in a few words: `activation mail`, `skipped: suspended`, …
    pub fn describe(&self) -> String {
        match self {
            PlannedAction::ActivationMail => "activation mail".to_owned(),
            PlannedAction::ResetMail => "password reset mail".to_owned(),
            PlannedAction::Expire => "expire password".to_owned(),
            PlannedAction::Notify(_) => "password notification mail".to_owned(),
            PlannedAction::Skip(reason) => format!("skipped: {reason}"),
        }
    }

    /// A short stable name for logs and spans.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlannedAction::ActivationMail => "activation_mail",
            PlannedAction::ResetMail => "reset_mail",
            PlannedAction::Expire => "expire",
            PlannedAction::Notify(_) => "notify",
            PlannedAction::Skip(_) => "skip",
        }
    }
}

/// One target of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTarget {
    /// How people know it: the username (or the id or name asked for, when not found; the
    /// recipient's address for a notification). Bounded, single line.
    pub label: String,
    /// The JumpCloud user as read while planning.
    pub user: Option<SystemUser>,
    /// What would happen.
    pub action: PlannedAction,
    /// Things worth knowing, e.g. `account locked: the mail is still sent`.
    pub notes: Vec<String>,
}

impl PlannedTarget {
    fn new(label: &str, user: Option<SystemUser>, action: PlannedAction) -> Self {
        Self {
            label: shown(label),
            user,
            action,
            notes: Vec::new(),
        }
    }

    /// Whether confirmation would act on it.
    pub fn is_actionable(&self) -> bool {
        !matches!(self.action, PlannedAction::Skip(_))
    }

    /// The user's state in words: `pending`, `active, locked, password expired`, `suspended`,
    /// `staged`; `-` when there is no user.
    pub fn state(&self) -> String {
        let Some(user) = &self.user else {
            return "-".to_owned();
        };
        let mut parts = vec![match (user.state, user.suspended) {
            (UserState::Suspended, _) | (_, true) => "suspended",
            (UserState::Staged, _) => "staged",
            (UserState::Activated, _) if !user.activated => "pending",
            (UserState::Activated, _) => "active",
            _ if !user.activated => "pending (state unknown)",
            _ => "state unknown",
        }];
        if user.account_locked {
            parts.push("locked");
        }
        if user.password_expired {
            parts.push("password expired");
        }
        parts.join(", ")
    }
}

/// What a request would do, target by target. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The request planned.
    pub request: Request,
    /// Who was looked at, e.g. `members of JumpCloud group "NewUsers" (5)` or `users not
    /// activated yet, created after 2026-11-16 17:40 UTC`.
    pub scope: String,
    /// One entry per target, in the order found.
    pub targets: Vec<PlannedTarget>,
    /// Things a reviewer should read before confirming.
    pub warnings: Vec<String>,
    /// When the plan was made.
    pub planned_at: DateTime<Utc>,
}

impl Plan {
    /// How many targets confirmation would act on.
    pub fn actionable(&self) -> usize {
        self.targets.iter().filter(|t| t.is_actionable()).count()
    }

    /// How many targets are skipped.
    pub fn skipped(&self) -> usize {
        self.targets.len() - self.actionable()
    }

    /// The targets confirmation would act on, in order.
    pub fn actionable_targets(&self) -> impl Iterator<Item = &PlannedTarget> {
        self.targets.iter().filter(|t| t.is_actionable())
    }

    /// One line: what, then how many of each action and how many skipped, e.g.
    /// `reset mail for every member of group "NewUsers": 4 activation mails, 1 skipped`.
    pub fn summary(&self) -> String {
        let what = self.request.summary();
        let what = what.strip_prefix("dry run: ").unwrap_or(&what);
        format!("{what}: {}", self.counts())
    }

    /// `4 activation mails, 1 reset mail, 1 skipped`; `no target` for an empty plan.
    pub fn counts(&self) -> String {
        let count =
            |f: fn(&PlannedAction) -> bool| self.targets.iter().filter(|t| f(&t.action)).count();
        let parts = [
            (
                count(|a| matches!(a, PlannedAction::ActivationMail)),
                "activation mail",
            ),
            (
                count(|a| matches!(a, PlannedAction::ResetMail)),
                "password reset mail",
            ),
            (
                count(|a| matches!(a, PlannedAction::Expire)),
                "password expiry",
            ),
            (
                count(|a| matches!(a, PlannedAction::Notify(_))),
                "password notification",
            ),
            (count(|a| matches!(a, PlannedAction::Skip(_))), "skipped"),
        ];
        let words: Vec<String> = parts
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| match (n, what) {
                (n, "skipped") => format!("{n} skipped"),
                (1, what) => format!("1 {what}"),
                (n, "password expiry") => format!("{n} password expiries"),
                (n, what) => format!("{n} {what}s"),
            })
            .collect();
        if words.is_empty() {
            "no target".to_owned()
        } else {
            words.join(", ")
        }
    }
}

/// Plans `request` with read-only calls (see the [module docs](self) for the rules).
///
/// # Errors
///
/// Look-up failures other than "not found" ([`CommandError::JumpCloud`],
/// [`CommandError::IdentityManager`]), a mail setting that cannot render the preview
/// ([`CommandError::Mail`]), too many targets ([`CommandError::TooManyTargets`]), and a
/// notification without an Identity Manager client (or, unless a dry run, without a mailer)
/// ([`CommandError::NotConfigured`]).
#[instrument(
    name = "commands.plan",
    skip_all,
    fields(command = %request.command_name(), dry_run = request.dry_run(), targets = field::Empty, actionable = field::Empty)
)]
pub async fn plan(request: &Request, cx: &PlanContext<'_>) -> Result<Plan, CommandError> {
    let mut plan = match request {
        Request::Reset { target, .. } => plan_reset(request, target, cx).await?,
        Request::Expire { user, .. } => plan_expire(request, user, cx).await?,
        Request::Notify {
            assigned_resource_type,
            mapping,
            cc,
            ..
        } => {
            let cc: Vec<Email> = cc.iter().cloned().collect();
            plan_notify(request, *assigned_resource_type, *mapping, &cc, cx).await?
        }
    };
    let actionable = plan.actionable();
    Span::current().record("targets", plan.targets.len());
    Span::current().record("actionable", actionable);
    if actionable > usize::try_from(cx.max_targets).unwrap_or(usize::MAX) {
        return Err(CommandError::TooManyTargets {
            n: actionable,
            max: cx.max_targets,
        });
    }
    plan.warnings.dedup();
    Ok(plan)
}

/// A user found, or what was asked for when nobody was.
enum Candidate {
    Found(SystemUser),
    Missing(String),
}

/// The JumpCloud operation a candidate is planned for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    ResetMail,
    Expire,
}

async fn plan_reset(
    request: &Request,
    target: &ResetTarget,
    cx: &PlanContext<'_>,
) -> Result<Plan, CommandError> {
    let (scope, candidates) = match target {
        ResetTarget::User(user) => (format!("user {user}"), vec![resolve(user, cx).await?]),
        ResetTarget::Group(name) => {
            let group = cx.jumpcloud()?.group_by_name(name).await?;
            let members = cx.jumpcloud()?.group_member_users(&group).await?;
            let total = members.users.len() + members.missing.len();
            let scope = format!(
                "members of JumpCloud group \"{}\" ({total} member{})",
                shown(&group.name),
                if total == 1 { "" } else { "s" }
            );
            let candidates = members
                .users
                .into_iter()
                .map(Candidate::Found)
                .chain(
                    members
                        .missing
                        .into_iter()
                        .map(|id| Candidate::Missing(id.to_string())),
                )
                .collect();
            (scope, candidates)
        }
        ResetTarget::Inactive {
            created_within_days,
        } => {
            let after = created_within_days.map(|days| created_after(cx.now, days));
            let users = cx.jumpcloud()?.users_not_activated(after).await?;
            let scope = match (after, created_within_days) {
                (Some(after), Some(days)) => format!(
                    "users not activated yet, created after {} (strictly after: the last {days} \
                     day{}, to the minute)",
                    after.format("%Y-%m-%d %H:%M UTC"),
                    if *days == 1 { "" } else { "s" }
                ),
                _ => "users not activated yet (any creation date)".to_owned(),
            };
            (scope, users.into_iter().map(Candidate::Found).collect())
        }
    };
    finish(request, scope, candidates, Operation::ResetMail, cx).await
}

async fn plan_expire(
    request: &Request,
    user: &UserRef,
    cx: &PlanContext<'_>,
) -> Result<Plan, CommandError> {
    let candidate = resolve(user, cx).await?;
    finish(
        request,
        format!("user {user}"),
        vec![candidate],
        Operation::Expire,
        cx,
    )
    .await
}

/// The boundary of `created-within-days`: `days` before `now`, rounded down to the minute so
/// that the instant sent to JumpCloud (`$gt`) is exactly the one the plan shows.
fn created_after(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let at = now - TimeDelta::days(i64::from(days));
    at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at)
}

/// One user by id or username; "not found" is a [`Candidate::Missing`], anything else an error.
async fn resolve(user: &UserRef, cx: &PlanContext<'_>) -> Result<Candidate, CommandError> {
    let found = match user {
        UserRef::Id(id) => cx.jumpcloud()?.user_by_id(id).await,
        UserRef::Username(name) => cx.jumpcloud()?.user_by_username(name).await,
    };
    match found {
        Ok(user) => Ok(Candidate::Found(user)),
        Err(jumpcloud::Error::NotFound { .. }) => Ok(Candidate::Missing(match user {
            UserRef::Id(id) => id.to_string(),
            UserRef::Username(name) => name.to_string(),
        })),
        Err(e) => Err(e.into()),
    }
}

/// The protected-group membership of this plan: user id → the first protected group holding it.
struct Protection {
    by_group: HashMap<UserId, String>,
}

impl Protection {
    /// Reads every protected group's members once. A group that does not exist is a warning;
    /// any other failure fails the plan.
    async fn load(cx: &PlanContext<'_>, warnings: &mut Vec<String>) -> Result<Self, CommandError> {
        let mut by_group = HashMap::new();
        for name in &cx.targets.protected_groups {
            let group = match cx.jumpcloud()?.group_by_name(name).await {
                Ok(group) => group,
                Err(jumpcloud::Error::NotFound { .. }) => {
                    warnings.push(format!(
                        "protected group \"{}\" does not exist in JumpCloud: it protects nobody \
                         (check [targets] protected_groups)",
                        shown(name.as_str())
                    ));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            for id in cx.jumpcloud()?.group_members(&group).await? {
                by_group.entry(id).or_insert_with(|| shown(&group.name));
            }
        }
        Ok(Self { by_group })
    }

    /// Why `user` is protected, if it is.
    fn why(&self, user: &SystemUser, rules: &TargetRules) -> Option<String> {
        if let Some(group) = self.by_group.get(&user.id) {
            return Some(format!("member of protected group \"{group}\""));
        }
        rules
            .protected_usernames
            .iter()
            .find(|p| p.matches(&user.username))
            .map(|p| format!("username matches protected pattern `{}`", shown(p.as_str())))
    }
}

/// Applies the rules to every candidate and builds the plan.
async fn finish(
    request: &Request,
    scope: String,
    candidates: Vec<Candidate>,
    operation: Operation,
    cx: &PlanContext<'_>,
) -> Result<Plan, CommandError> {
    let mut warnings = Vec::new();
    let any_found = candidates.iter().any(|c| matches!(c, Candidate::Found(_)));
    let protection = if any_found {
        Protection::load(cx, &mut warnings).await?
    } else {
        Protection {
            by_group: HashMap::new(),
        }
    };
    let targets = candidates
        .into_iter()
        .map(|candidate| match candidate {
            Candidate::Missing(label) => {
                PlannedTarget::new(&label, None, PlannedAction::Skip(SkipReason::NotFound))
            }
            Candidate::Found(user) => classify(user, operation, &protection, cx),
        })
        .collect();
    Ok(Plan {
        request: request.clone(),
        scope,
        targets,
        warnings,
        planned_at: cx.now,
    })
}

/// Rules 2 to 4 for one user who exists.
fn classify(
    user: SystemUser,
    operation: Operation,
    protection: &Protection,
    cx: &PlanContext<'_>,
) -> PlannedTarget {
    let label = user.username.clone();
    let suspended = user.suspended || user.state == UserState::Suspended;
    let staged = user.state == UserState::Staged;
    let own = cx
        .requester_account
        .is_some_and(|me| me.as_str().eq_ignore_ascii_case(&user.username));
    let protected = protection.why(&user, cx.targets);
    let mut notes = Vec::new();

    let skip = if operation == Operation::ResetMail && suspended {
        Some(SkipReason::Suspended)
    } else if operation == Operation::ResetMail && staged {
        Some(SkipReason::Staged)
    } else if own && !cx.allow_self {
        Some(SkipReason::OwnAccount)
    } else {
        match protected {
            Some(why) if !cx.may_touch_protected => Some(SkipReason::Protected { why }),
            Some(why) => {
                notes.push(format!("protected ({why}): planned under your override"));
                None
            }
            None => None,
        }
    };
    let action = match skip {
        Some(reason) => PlannedAction::Skip(reason),
        None => match operation {
            Operation::ResetMail if user.activated => PlannedAction::ResetMail,
            Operation::ResetMail => PlannedAction::ActivationMail,
            Operation::Expire => PlannedAction::Expire,
        },
    };
    if !matches!(action, PlannedAction::Skip(_)) {
        if own {
            notes.push("your own account".to_owned());
        }
        match operation {
            Operation::ResetMail => {
                if user.account_locked {
                    notes.push("account locked: the mail is still sent".to_owned());
                }
                if user.state == UserState::Unknown {
                    notes.push("JumpCloud reports no known state".to_owned());
                }
            }
            Operation::Expire => {
                if user.password_expired {
                    notes.push(
                        "password already expired: expiring it again changes nothing".to_owned(),
                    );
                }
                if suspended || staged {
                    notes.push(format!(
                        "the account is {}: the password is expired all the same",
                        if suspended { "suspended" } else { "staged" }
                    ));
                }
            }
        }
    }
    let mut target = PlannedTarget::new(&label, Some(user), action);
    target.notes = notes;
    target
}

async fn plan_notify(
    request: &Request,
    assigned_resource_type: identity_manager::AssignedResourceTypeId,
    mapping: identity_manager::ResourceTypeMappingId,
    cc: &[Email],
    cx: &PlanContext<'_>,
) -> Result<Plan, CommandError> {
    let client = cx.identity_manager.ok_or(CommandError::NotConfigured {
        what: "identity manager",
    })?;
    if cx.mailer.is_none() && !request.dry_run() {
        return Err(CommandError::NotConfigured {
            what: "password notification mail",
        });
    }
    let notification = client
        .plan_notification(assigned_resource_type, mapping, cc)
        .await?;
    if cx.require_beneficiary_name && notification.beneficiary_name.is_none() {
        return Err(identity_manager::Error::MissingBeneficiaryName {
            assigned_resource_type,
            mapping,
            settings: notification.settings_identifier.clone(),
        }
        .into());
    }
    let mut warnings: Vec<String> = notification
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    let label = notification.recipient.to_string();
    let mut notes = vec![format!(
        "for {}",
        notification
            .beneficiary_name
            .as_deref()
            .map_or_else(|| "(beneficiary unknown)".to_owned(), shown)
    )];
    let preview = match cx.mailer.map(|m| m.preview(&notification.notification())) {
        None => {
            warnings.push(
                "mail sending is not configured on this server: the notification could not be \
                 sent"
                    .to_owned(),
            );
            Ok(None)
        }
        Some(Ok(preview)) => {
            if !preview.enabled {
                warnings.push(
                    "mail sending is disabled (Enabled = false): nothing would be sent".to_owned(),
                );
            }
            if preview.redirected {
                notes.push(format!(
                    "redirected by the catch-all address to {}",
                    preview.to
                ));
            }
            Ok(Some(preview))
        }
        Some(Err(e @ mail::Error::DomainNotAllowed { .. })) => Err(e.to_string()),
        Some(Err(e)) => return Err(e.into()),
    };
    let action = match preview {
        Ok(preview) => PlannedAction::Notify(Box::new(PlannedNotification {
            plan: notification,
            preview,
        })),
        Err(why) => PlannedAction::Skip(SkipReason::MailRefused { why }),
    };
    let mut target = PlannedTarget::new(&label, None, action);
    target.notes = notes;
    Ok(Plan {
        request: request.clone(),
        scope: format!(
            "assigned resource type {assigned_resource_type} with resource type mapping {mapping}"
        ),
        targets: vec![target],
        warnings,
        planned_at: cx.now,
    })
}
