//! Running one planned target: the only state-changing calls of the command layer.

use std::fmt;

use passdesk_core::identity_manager::send_notification;
use passdesk_core::jumpcloud::{self, JumpCloudClient, ResetEmailKind, UserState};
use passdesk_core::mail::{Delivery, Mailer, Password};
use tracing::{Span, field, instrument};

use super::{PlannedAction, PlannedNotification, PlannedTarget, SkipReason};
use crate::error::CommandError;
use crate::executor::{OutcomeClass, OutcomeKind};

/// What [`execute_target`] needs: owned and cheap to clone, so each target's task of the bulk
/// executor can hold its own copy.
#[derive(Debug, Clone)]
pub struct ExecuteContext {
    /// The JumpCloud client of the request's tenant.
    pub jumpcloud: JumpCloudClient,
}

impl ExecuteContext {
    /// A context for this tenant's client.
    pub fn new(jumpcloud: JumpCloudClient) -> Self {
        Self { jumpcloud }
    }
}

/// What happened to one target. Messages are for chat users: short, without upstream body
/// text or secrets (see [`CommandError::user_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetOutcome {
    /// JumpCloud accepted the request for an activation mail (the user was pending).
    SentActivation,
    /// JumpCloud accepted the request for a password reset mail (the user was active).
    SentReset,
    /// The password was expired (the cmdlet's `-PassThru` prints `true`).
    Expired,
    /// The password notification was delivered (or written to the pickup directory, or not
    /// sent because mail is disabled: the delivery says which).
    Notified {
        /// How it was delivered; never holds the password.
        delivery: Delivery,
    },
    /// Nothing was done, on purpose.
    Skipped(SkipReason),
    /// The call failed; nothing was done.
    Failed {
        /// Why, for chat.
        message: String,
    },
    /// The request may or may not have been acted on: check before trying again.
    Unknown {
        /// What is known, for chat.
        message: String,
    },
}

impl TargetOutcome {
    fn from_error(error: CommandError) -> Self {
        let message = error.user_message();
        if error.outcome_unknown() {
            TargetOutcome::Unknown { message }
        } else {
            TargetOutcome::Failed { message }
        }
    }

    /// Whether the action was done.
    pub fn succeeded(&self) -> bool {
        self.class() == OutcomeClass::Succeeded
    }
}

impl fmt::Display for TargetOutcome {
    /// Short: `activation mail sent`, `password expired`, `skipped: suspended`, `failed: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetOutcome::SentActivation => f.write_str("activation mail sent"),
            TargetOutcome::SentReset => f.write_str("password reset mail sent"),
            TargetOutcome::Expired => f.write_str("password expired"),
            TargetOutcome::Notified { delivery } => write!(f, "{delivery}"),
            TargetOutcome::Skipped(reason) => write!(f, "skipped: {reason}"),
            TargetOutcome::Failed { message } => write!(f, "failed: {message}"),
            TargetOutcome::Unknown { message } => write!(f, "unknown: {message}"),
        }
    }
}

impl OutcomeKind for TargetOutcome {
    fn class(&self) -> OutcomeClass {
        match self {
            TargetOutcome::SentActivation
            | TargetOutcome::SentReset
            | TargetOutcome::Expired
            | TargetOutcome::Notified { .. } => OutcomeClass::Succeeded,
            TargetOutcome::Skipped(_) => OutcomeClass::Skipped,
            TargetOutcome::Failed { .. } => OutcomeClass::Failed,
            TargetOutcome::Unknown { .. } => OutcomeClass::Unknown,
        }
    }

    fn not_started() -> Self {
        TargetOutcome::Skipped(SkipReason::NotStarted)
    }

    fn crashed() -> Self {
        TargetOutcome::Unknown {
            message: "the task stopped unexpectedly: the action may have been done, check before \
                      trying again"
                .to_owned(),
        }
    }
}

/// Performs the planned action for one JumpCloud target; answers a skipped target at once,
/// without a request.
///
/// - **Reset mails**: the user is read again first (reference trap 3: the state may have
///   changed since the plan). A user who is now gone, suspended or staged is skipped; the mail
///   kind comes from the fresh read. The mail request is never resent when its answer is lost:
///   that is [`TargetOutcome::Unknown`].
/// - **Expiry**: `POST /systemusers/{id}/expire` (idempotent, so the client may retry it).
/// - **Notifications** need the password, which only the engine holds: they run through
///   [`execute_notification`], and here they fail without sending anything.
#[instrument(
    name = "commands.execute_target",
    skip_all,
    fields(action = target.action.as_str(), outcome = field::Empty)
)]
pub async fn execute_target(target: &PlannedTarget, cx: &ExecuteContext) -> TargetOutcome {
    let outcome = match (&target.action, &target.user) {
        (PlannedAction::Skip(reason), _) => TargetOutcome::Skipped(reason.clone()),
        (PlannedAction::ActivationMail | PlannedAction::ResetMail, Some(user)) => {
            send_reset_mail(&cx.jumpcloud, &user.id).await
        }
        (PlannedAction::Expire, Some(user)) => match cx.jumpcloud.expire_password(&user.id).await {
            Ok(_) => TargetOutcome::Expired,
            Err(jumpcloud::Error::NotFound { .. }) => TargetOutcome::Skipped(SkipReason::NotFound),
            Err(e) => TargetOutcome::from_error(e.into()),
        },
        (PlannedAction::Notify(_), _) => TargetOutcome::Failed {
            message: "a password notification is sent from the password prompt; nothing was sent"
                .to_owned(),
        },
        (
            PlannedAction::ActivationMail | PlannedAction::ResetMail | PlannedAction::Expire,
            None,
        ) => TargetOutcome::Failed {
            message: "the plan has no JumpCloud user for this target; nothing was sent".to_owned(),
        },
    };
    Span::current().record("outcome", outcome.class().as_str());
    outcome
}

async fn send_reset_mail(client: &JumpCloudClient, id: &jumpcloud::UserId) -> TargetOutcome {
    let user = match client.user_by_id(id).await {
        Ok(user) => user,
        Err(jumpcloud::Error::NotFound { .. }) => {
            return TargetOutcome::Skipped(SkipReason::NotFound);
        }
        Err(e) => return TargetOutcome::from_error(e.into()),
    };
    if user.suspended || user.state == UserState::Suspended {
        return TargetOutcome::Skipped(SkipReason::Suspended);
    }
    if user.state == UserState::Staged {
        return TargetOutcome::Skipped(SkipReason::Staged);
    }
    match client.send_reset_email(&user).await {
        Ok(sent) => match sent.kind {
            ResetEmailKind::Activation => TargetOutcome::SentActivation,
            ResetEmailKind::Reset => TargetOutcome::SentReset,
        },
        Err(jumpcloud::Error::NotFound { .. }) => TargetOutcome::Skipped(SkipReason::NotFound),
        Err(e) => TargetOutcome::from_error(e.into()),
    }
}

/// Sends a planned password notification with the password from the prompt; the password is
/// moved into the mailer and dropped when this returns. Nothing is retried once the mail may
/// have left ([`TargetOutcome::Unknown`]).
#[instrument(name = "commands.execute_notification", skip_all, fields(outcome = field::Empty))]
pub async fn execute_notification(
    notification: &PlannedNotification,
    mailer: &Mailer,
    password: Password,
) -> TargetOutcome {
    let outcome = match send_notification(mailer, &notification.plan, password).await {
        Ok(delivery) => TargetOutcome::Notified { delivery },
        Err(e) => TargetOutcome::from_error(e.into()),
    };
    Span::current().record("outcome", outcome.class().as_str());
    outcome
}
