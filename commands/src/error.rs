//! The command layer's errors, and the one function that turns any of them into a [`Reply`].
//!
//! [`CommandError`]'s `Display` is for logs and the audit trail: it keeps the upstream clients'
//! messages, which may carry a bounded excerpt of an upstream body. Chat users never see that
//! text: [`error_reply`] (through [`CommandError::user_message`]) writes a short explanation per
//! variant instead, repeating only values Passdesk itself typed or validated (ids, names,
//! statuses, addresses) and never an upstream body or a secret.

use chrono::{DateTime, Utc};
use passdesk_core::{identity_manager, jumpcloud, mail};

use crate::audit::AuditError;
use crate::parse::{UsageError, UsageProblem};
use crate::reply::{Reply, Tone};

/// The most characters of an explanation shown to a chat user.
const MAX_MESSAGE_CHARS: usize = 600;

/// Everything that can stop a command, from parsing to execution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command was mistyped (or `help` was asked for).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Policy refused the request or the button press.
    #[error("denied: {reason}")]
    Denied {
        /// Why, in words for the person refused (written by the policy, never upstream text).
        reason: String,
    },
    /// A JumpCloud call failed.
    #[error("jumpcloud: {0}")]
    JumpCloud(#[from] jumpcloud::Error),
    /// An Identity Manager call failed.
    #[error("identity manager: {0}")]
    IdentityManager(#[from] identity_manager::Error),
    /// The password-notification mail could not be prepared or sent.
    #[error("mail: {0}")]
    Mail(#[from] mail::Error),
    /// The request would act on more targets than the configured ceiling; nothing was planned.
    #[error("the request would act on {n} targets, more than the limit of {max}")]
    TooManyTargets {
        /// How many targets would be acted on (skipped ones not counted).
        n: usize,
        /// The configured ceiling (`[limits] max_targets`).
        max: u32,
    },
    /// The operation needs a part of Passdesk this deployment has not configured.
    #[error("{what} is not configured")]
    NotConfigured {
        /// What is missing, e.g. `identity manager`.
        what: &'static str,
    },
    /// A button or prompt names a pending action Passdesk does not know (never created, or
    /// lost in a restart).
    #[error("unknown pending action")]
    NotFound,
    /// The pending action waited too long and was dropped; nothing ran.
    #[error("the pending action expired")]
    Expired,
    /// The pending action was already confirmed, cancelled, approved or denied.
    #[error("the pending action was already handled by {by} at {at}")]
    AlreadyHandled {
        /// Who handled it (display name).
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The audit log could not record a step, so the step did not go ahead.
    #[error("audit: {0}")]
    Audit(#[from] AuditError),
}

impl CommandError {
    /// A short title for the reply.
    pub fn title(&self) -> &'static str {
        match self {
            CommandError::Usage(e) if e.problem() == UsageProblem::HelpRequested => "Help",
            CommandError::Usage(_) => "Invalid command",
            CommandError::Denied { .. } => "Not allowed",
            CommandError::JumpCloud(_) => "JumpCloud error",
            CommandError::IdentityManager(_) => "Identity Manager error",
            CommandError::Mail(_) => "Mail error",
            CommandError::TooManyTargets { .. } => "Too many targets",
            CommandError::NotConfigured { .. } => "Not configured",
            CommandError::NotFound => "Unknown request",
            CommandError::Expired => "Request expired",
            CommandError::AlreadyHandled { .. } => "Already handled",
            CommandError::Audit(_) => "Audit log unavailable",
        }
    }

    /// What a chat user is told: what happened and what to do, in one or two sentences, with
    /// no upstream body text and no secret. Bounded to a few hundred characters.
    pub fn user_message(&self) -> String {
        let text = match self {
            CommandError::Usage(e) => e.render(),
            CommandError::Denied { reason } => reason.clone(),
            CommandError::JumpCloud(e) => jumpcloud_message(e),
            CommandError::IdentityManager(e) => identity_manager_message(e),
            CommandError::Mail(e) => mail_message(e),
            CommandError::TooManyTargets { n, max } => format!(
                "This request would act on {n} users; the limit is {max} per request, so nothing \
                 was planned or sent. Narrow it down (a smaller group, or `created-within-days` \
                 for inactive users) or ask an administrator about `[limits] max_targets`."
            ),
            CommandError::NotConfigured { what } => format!(
                "{} is not configured on this Passdesk server; ask an administrator.",
                capitalised(what)
            ),
            CommandError::NotFound => "Passdesk does not know this request (it may have been \
                                       lost in a restart). Nothing was done; run the command \
                                       again."
                .to_owned(),
            CommandError::Expired => "This request waited too long and expired. Nothing was \
                                      done; run the command again."
                .to_owned(),
            CommandError::AlreadyHandled { by, at } => format!(
                "This request was already handled by {} at {}; a button acts only once.",
                crate::request::shown(by),
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            CommandError::Audit(_) => "The audit log could not record this step, so it did not \
                                       go ahead. Ask an administrator to check the audit log \
                                       (`passdesk audit verify`)."
                .to_owned(),
        };
        bounded(&text)
    }

    /// Whether an upstream action may have happened despite the error (the answer was lost):
    /// the user must check before trying again.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            CommandError::JumpCloud(jumpcloud::Error::SentButUnknown { .. })
                | CommandError::Mail(
                    mail::Error::SentButUnknown { .. } | mail::Error::Timeout { .. }
                )
                | CommandError::IdentityManager(identity_manager::Error::Mail(
                    mail::Error::SentButUnknown { .. } | mail::Error::Timeout { .. }
                ))
        )
    }
}

/// Turns any error into the reply a chat user sees: ephemeral (only the requester sees it),
/// titled per kind of error, with [`CommandError::user_message`] as its body. This is the only
/// place errors become replies.
pub fn error_reply(error: &CommandError) -> Reply {
    let tone = match error {
        CommandError::Usage(e) if e.problem() == UsageProblem::HelpRequested => Tone::Info,
        CommandError::Usage(_) | CommandError::TooManyTargets { .. } => Tone::Warning,
        CommandError::Expired | CommandError::AlreadyHandled { .. } => Tone::Warning,
        _ if error.outcome_unknown() => Tone::Warning,
        _ => Tone::Error,
    };
    Reply::new(tone, error.title(), error.user_message())
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn bounded(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    if text.chars().nth(MAX_MESSAGE_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// JumpCloud errors for chat. Variants whose message holds an upstream excerpt (`Forbidden`,
/// `OrgMalformed`, `UnknownOrg`, `Upstream`, `Decode`, `Transport`) get a fixed explanation;
/// the others' messages are built by the client from validated values only.
fn jumpcloud_message(e: &jumpcloud::Error) -> String {
    use jumpcloud::Error as E;
    match e {
        E::NotFound { .. }
        | E::Ambiguous { .. }
        | E::OrgRequired
        | E::RateLimited { .. }
        | E::SentButUnknown { .. }
        | E::InvalidInput(_)
        | E::Pagination { .. } => sentence(&format!("JumpCloud: {e}")),
        E::Unauthorized => "JumpCloud refused Passdesk's API key (401). Ask an administrator to \
                            check the key in the configuration."
            .to_owned(),
        E::Forbidden { .. } => "JumpCloud refused the request (403): the API key's administrator \
                                lacks the right, or this server's address is blocked. Ask an \
                                administrator to check the server log."
            .to_owned(),
        E::OrgMalformed { .. } | E::UnknownOrg { .. } => {
            "JumpCloud does not accept the configured organisation id. Ask an administrator to \
             check the tenant's `org_id` in the configuration."
                .to_owned()
        }
        E::Upstream { status, .. } => format!(
            "JumpCloud answered with an unexpected error (HTTP {status}). Try again later; if it \
             persists, ask an administrator to check the server log."
        ),
        E::Timeout => "JumpCloud did not answer in time. Try again later.".to_owned(),
        E::Transport { .. } => "Passdesk could not connect to JumpCloud. Try again later; if it \
                                persists, ask an administrator."
            .to_owned(),
        E::Decode { .. } => "JumpCloud sent an answer Passdesk did not understand. Ask an \
                             administrator to check the server log."
            .to_owned(),
        _ => "JumpCloud could not complete the request. Ask an administrator to check the server \
              log."
            .to_owned(),
    }
}

/// Identity Manager errors for chat. The descriptive variants name only ids, settings
/// identifiers and binding paths; the ones carrying an upstream excerpt, a URL or a client id
/// get a fixed explanation.
fn identity_manager_message(e: &identity_manager::Error) -> String {
    use identity_manager::Error as E;
    match e {
        E::MappingNotFound { .. }
        | E::NoPasswordResetSettings { .. }
        | E::NotificationsDisabled { .. }
        | E::NoNotifiedEmailBinding { .. }
        | E::InvalidBinding { .. }
        | E::ConflictingBindings { .. }
        | E::AssignedResourceTypeNotFound { .. }
        | E::ResourceTypeMismatch { .. }
        | E::NoRecipientEmail { .. }
        | E::InvalidRecipientEmail { .. }
        | E::MissingBeneficiaryName { .. } => sentence(&format!("Identity Manager: {e}")),
        E::Mail(mail) => mail_message(mail),
        E::Config(_) => "The Identity Manager client settings are invalid. Ask an administrator \
                         to run `passdesk check-config`."
            .to_owned(),
        E::Unreachable { .. } => "The Identity Manager server is unreachable. Try again later; if \
                                  it persists, ask an administrator to check that it is running."
            .to_owned(),
        E::Timeout { .. } => {
            "The Identity Manager server did not answer in time. Try again later.".to_owned()
        }
        E::AuthenticationRefused { .. } | E::Unauthorized { .. } => {
            "The Identity Manager server refused Passdesk's client credentials. Ask an \
             administrator to check the client id and secret."
                .to_owned()
        }
        E::Forbidden { route } => format!(
            "Passdesk's Identity Manager client may not read {route} (403). Ask an administrator \
             to check its profile."
        ),
        E::BindingsRefused {
            assigned_resource_type,
            mapping,
            ..
        } => format!(
            "Identity Manager refused the bindings of the password reset settings of resource \
             type mapping {mapping} for assigned resource type {assigned_resource_type}. Ask an \
             administrator to check those settings."
        ),
        E::RateLimited { .. } => {
            "Identity Manager is limiting requests. Try again later.".to_owned()
        }
        E::BadRequest { status, .. } | E::Upstream { status, .. } => format!(
            "Identity Manager answered with an unexpected error (HTTP {status}). Ask an \
             administrator to check the server log."
        ),
        E::NotFound { .. } => "Identity Manager found nothing for this request.".to_owned(),
        E::Decode { .. } => "Identity Manager sent an answer Passdesk did not understand. Ask an \
                             administrator to check the server log."
            .to_owned(),
        _ => "Identity Manager could not complete the request. Ask an administrator to check the \
              server log."
            .to_owned(),
    }
}

/// Mail errors for chat: never the SMTP server's reply text.
fn mail_message(e: &mail::Error) -> String {
    use mail::Error as E;
    match e {
        E::DomainNotAllowed { .. } | E::InvalidAddress(_) => sentence(&format!("Mail: {e}")),
        E::Settings { key, .. } => format!(
            "The mail settings are invalid ({key}). Ask an administrator to run `passdesk \
             check-config`."
        ),
        E::Template { part, .. } => format!(
            "The notification mail template ({part}) is invalid. Ask an administrator to check it."
        ),
        E::Connect { .. } => "Passdesk could not connect to the mail server; no mail was sent. \
                              Try again later."
            .to_owned(),
        E::Smtp { code, .. } => format!(
            "The mail server refused the mail{}; no mail was sent. Ask an administrator to check \
             the server log.",
            code.map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        E::Timeout { .. } | E::SentButUnknown { .. } => {
            "The mail server stopped answering: the mail may or may not have been sent. Check \
             with the recipient before sending it again."
                .to_owned()
        }
        E::Io { .. } => "Passdesk could not write the mail into the pickup directory; no mail was \
                         sent. Ask an administrator."
            .to_owned(),
        _ => "The mail could not be prepared; no mail was sent. Ask an administrator to check the \
              server log."
            .to_owned(),
    }
}

/// `text` with a final full stop (its first letter is left alone: it may start an address).
fn sentence(text: &str) -> String {
    let mut out = text.to_owned();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
