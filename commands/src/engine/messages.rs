//! The engine's own replies: the confirmation prompt's buttons, the approvals-channel request,
//! and the short messages of each step. Plans and reports come from [`crate::plan`]; errors
//! from [`crate::error_reply`].

use chrono::{DateTime, Utc};

use crate::ids::{ButtonAction, ButtonId, PendingId, RequestId};
use crate::invocation::Actor;
use crate::pending::{ActorRef, Stage};
use crate::plan::{Plan, render_plan};
use crate::reply::{ButtonStyle, Reply, Tone};
use crate::request::CommandName;

/// A wall-clock time for people.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn button(action: ButtonAction, pending: PendingId) -> ButtonId {
    ButtonId { action, pending }
}

/// The label of the requester's password button.
const ENTER_PASSWORD: &str = "Enter password and send";

/// The plan with \[Confirm\] \[Cancel\]: Confirm is a danger button for expiry and bulk requests.
pub(super) fn confirmation_prompt(
    plan: &Plan,
    id: PendingId,
    needs_approval: bool,
    needs_password: bool,
    expires_at: DateTime<Utc>,
) -> Reply {
    let mut reply = render_plan(plan, false);
    let mut next = Vec::new();
    if needs_approval {
        next.push("an approver must approve it after you confirm".to_owned());
    }
    if needs_password {
        next.push(
            "you will then be asked for the password in a private prompt; it is never stored or \
             shown"
                .to_owned(),
        );
    }
    let mut tail = format!("Confirm before {}.", time(expires_at));
    if !next.is_empty() {
        tail = format!("{tail} Then {}.", next.join("; "));
    }
    reply.body = format!("{}\n{tail}", reply.body);
    let danger = plan.request.command_name() == CommandName::Expire || plan.request.is_bulk();
    let style = if danger {
        ButtonStyle::Danger
    } else {
        ButtonStyle::Primary
    };
    reply
        .button("Confirm", style, button(ButtonAction::Confirm, id))
        .button(
            "Cancel",
            ButtonStyle::Secondary,
            button(ButtonAction::Cancel, id),
        )
        .with_request_id(id.request_id())
}

/// The message for the approvals channel: who asks for what, the plan, \[Approve\] \[Deny\].
pub(super) fn approval_request(
    plan: &Plan,
    requester: &Actor,
    id: PendingId,
    expires_at: DateTime<Utc>,
) -> Reply {
    let mut reply = render_plan(plan, false);
    reply.title = "Approval needed".to_owned();
    reply.tone = Tone::Warning;
    reply.body = format!(
        "{} asks: {}\n{}\nApprove or deny before {}; you cannot approve your own request.",
        ActorRef::from(requester),
        plan.summary(),
        reply
            .body
            .lines()
            .filter(|line| !line.starts_with("Will do:"))
            .collect::<Vec<_>>()
            .join("\n"),
        time(expires_at)
    );
    reply
        .in_channel()
        .field("Requested by", ActorRef::from(requester).to_string())
        .button(
            "Approve",
            ButtonStyle::Primary,
            button(ButtonAction::Approve, id),
        )
        .button("Deny", ButtonStyle::Danger, button(ButtonAction::Deny, id))
        .with_request_id(id.request_id())
}

/// To the requester after their Confirm, when an approver must decide.
pub(super) fn awaiting_approval(summary: &str, id: PendingId, expires_at: DateTime<Utc>) -> Reply {
    Reply::info(
        "Waiting for approval",
        format!(
            "Confirmed: {summary}.\nAn approver has been asked; nothing runs until one approves \
             (before {}). You can still cancel.",
            time(expires_at)
        ),
    )
    .button(
        "Cancel",
        ButtonStyle::Secondary,
        button(ButtonAction::Cancel, id),
    )
    .with_request_id(id.request_id())
}

/// To the requester when the password is due (after Confirm, or after approval).
pub(super) fn password_needed(
    id: PendingId,
    expires_at: DateTime<Utc>,
    approved_by: Option<&ActorRef>,
) -> Reply {
    let first = match approved_by {
        Some(approver) => format!("Approved by {approver}. "),
        None => String::new(),
    };
    Reply::info(
        "Enter the password",
        format!(
            "{first}Press \"{ENTER_PASSWORD}\" before {} to type the password in a private \
             prompt; it goes straight into the mail and is never stored or shown.",
            time(expires_at)
        ),
    )
    .button(
        ENTER_PASSWORD,
        ButtonStyle::Primary,
        button(ButtonAction::EnterPassword, id),
    )
    .button(
        "Cancel",
        ButtonStyle::Secondary,
        button(ButtonAction::Cancel, id),
    )
    .with_request_id(id.request_id())
}

/// To the requester after pressing the password button: the adapter opens the prompt.
pub(super) fn password_prompt_opened(request_id: RequestId) -> Reply {
    Reply::info(
        "Enter the password",
        "Type the password in the private prompt; it is sent in the mail and never stored.",
    )
    .with_request_id(request_id)
}

/// To the requester when the password typed cannot be mailed; the request still waits.
pub(super) fn password_refused(problem: &str, id: PendingId) -> Reply {
    Reply::warning(
        "Password not accepted",
        format!("{problem}. Nothing was sent; press the button to try again."),
    )
    .button(
        ENTER_PASSWORD,
        ButtonStyle::Primary,
        button(ButtonAction::EnterPassword, id),
    )
    .with_request_id(id.request_id())
}

/// To the requester after Cancel.
pub(super) fn cancelled(request_id: RequestId) -> Reply {
    Reply::info("Cancelled", "You cancelled this request; nothing was done.")
        .with_request_id(request_id)
}

/// To the requester when an approver approved and the run starts.
pub(super) fn approved_running(approver: &ActorRef, request_id: RequestId) -> Reply {
    Reply::info(
        "Approved",
        format!("Approved by {approver}; it is running now."),
    )
    .with_request_id(request_id)
}

/// To the approver when the requester still has to enter the password.
pub(super) fn approved_awaiting_password(requester: &Actor, request_id: RequestId) -> Reply {
    Reply::success(
        "Approved",
        format!(
            "You approved it; {} now enters the password and the mail is sent.",
            ActorRef::from(requester)
        ),
    )
    .with_request_id(request_id)
}

/// To the requester when an approver denied the request.
pub(super) fn denied_for_requester(approver: &ActorRef, request_id: RequestId) -> Reply {
    Reply::error(
        "Denied",
        format!("{approver} denied this request; nothing was done."),
    )
    .with_request_id(request_id)
}

/// To the approver after Deny.
pub(super) fn denied_for_approver(requester: &Actor, request_id: RequestId) -> Reply {
    Reply::info(
        "Denied",
        format!(
            "You denied the request of {}; nothing was done.",
            ActorRef::from(requester)
        ),
    )
    .with_request_id(request_id)
}

/// For the requester and the original message when a request expired.
pub(super) fn expired(
    summary: &str,
    stage: Stage,
    expired_at: DateTime<Utc>,
    request_id: RequestId,
) -> Reply {
    let why = match stage {
        Stage::Confirmation => "it was not confirmed in time",
        Stage::Approval => "no approver decided in time",
        Stage::Password => "the password was not entered in time",
    };
    Reply::warning(
        "Request expired",
        format!(
            "{summary}: {why} (at {}). Nothing was done; run the command again if it is still \
             needed.",
            time(expired_at)
        ),
    )
    .with_request_id(request_id)
}
