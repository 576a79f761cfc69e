//! Plans and reports as [`Reply`]s.

use std::fmt::Write as _;

use passdesk_core::identity_manager::NotificationPlan;

use super::{Plan, PlannedAction, PlannedNotification, PlannedTarget, TargetOutcome};
use crate::executor::{OutcomeClass, OutcomeKind as _};
use crate::reply::{Progress, Reply, Table, Tone};
use crate::request::{CommandName, shown};

/// How many distinct failure messages a report spells out in full.
const MAX_LISTED_ERRORS: usize = 3;

/// The plan as a reply: for a dry run titled "Dry run — nothing was sent", otherwise the
/// confirmation prompt (the engine adds the buttons and the request id).
///
/// The body says what was asked, who was looked at (with the exact creation-date boundary for
/// inactive users), the counts and every warning. The table has one row per target (at most
/// [`Table::MAX_ROWS`], then "… and N more"): the user, their state, and what would happen or
/// why it is skipped, like the cmdlets' `-WhatIf`. A notification adds fields: the mapping, the
/// settings, who is mailed and for whom, the copies and where the mail would go.
pub fn render_plan(plan: &Plan, dry_run: bool) -> Reply {
    let actionable = plan.actionable();
    let (tone, title) = match (dry_run, actionable) {
        (true, _) => (Tone::Info, "Dry run — nothing was sent"),
        (false, 0) => (Tone::Info, "Nothing to do"),
        (false, _) => (Tone::Warning, "Please confirm"),
    };
    let what = plan.request.summary();
    let what = what.strip_prefix("dry run: ").unwrap_or(&what);
    let mut body = format!("{}\nTargets: {}\n", capitalised(what), plan.scope);
    let verb = if dry_run { "Would do" } else { "Will do" };
    let _ = writeln!(body, "{verb}: {}", plan.counts());
    if !dry_run && actionable == 0 {
        body.push_str("No target can be acted on, so there is nothing to confirm.\n");
    }
    for warning in &plan.warnings {
        let _ = writeln!(body, "⚠ {warning}");
    }
    let mut reply = Reply::new(tone, title, body.trim_end());
    for target in &plan.targets {
        if let PlannedAction::Notify(notification) = &target.action {
            reply = notification_fields(reply, notification);
        }
    }
    let header = if dry_run {
        "Would happen"
    } else {
        "Will happen"
    };
    let first = match plan.request.command_name() {
        CommandName::Notify => ["Recipient", "For"],
        CommandName::Reset | CommandName::Expire => ["User", "State"],
    };
    let rows = plan.targets.iter().map(|t| plan_row(plan, t));
    reply.with_table(Table::bounded([first[0], first[1], header], rows))
}

fn plan_row(plan: &Plan, target: &PlannedTarget) -> Vec<String> {
    let mut what = target.action.describe();
    if let (PlannedAction::Expire, Some(_)) = (&target.action, &target.user) {
        what = "expire password (user must set a new one at next login)".to_owned();
    }
    let mut notes = target.notes.iter();
    let second = match plan.request.command_name() {
        // The first note of a notification target is whom it is for.
        CommandName::Notify => notes
            .next()
            .map(|n| n.strip_prefix("for ").unwrap_or(n).to_owned())
            .unwrap_or_default(),
        CommandName::Reset | CommandName::Expire => target.state(),
    };
    for note in notes {
        let _ = write!(what, "; {note}");
    }
    vec![target.label.clone(), second, what]
}

fn notification_fields(reply: Reply, n: &PlannedNotification) -> Reply {
    let plan: &NotificationPlan = &n.plan;
    let mapping = match &plan.mapping_identifier {
        Some(identifier) => format!("{} ({})", plan.mapping, shown(identifier)),
        None => plan.mapping.to_string(),
    };
    let to = match &plan.recipient_name {
        Some(name) => format!("{} ({})", plan.recipient, shown(name)),
        None => plan.recipient.to_string(),
    };
    let cc = if plan.cc.is_empty() {
        "-".to_owned()
    } else {
        plan.cc
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let cultures: Vec<String> = plan.cultures.iter().map(ToString::to_string).collect();
    let mut reply = reply
        .field(
            "Assigned resource type",
            plan.assigned_resource_type.to_string(),
        )
        .field("Resource type mapping", mapping)
        .field("Password reset settings", shown(&plan.settings_identifier))
        .field("Notified", to)
        .field(
            "Beneficiary",
            plan.beneficiary_name
                .as_deref()
                .map_or_else(|| "(unknown)".to_owned(), shown),
        )
        .field("CC", cc)
        .field("Languages", cultures.join(", "));
    if let Some(preview) = &n.preview {
        reply = reply.field("Mail", preview.to_string());
    }
    reply.field(
        "Password",
        "asked for in a private prompt after confirmation; never stored or shown",
    )
}

/// The final report: one row per target, like the cmdlets' output — `Username`, `UserID` and
/// `ResetEmail` (`Sent (activation)` / `Sent (reset)`, or the error) for reset mails,
/// `PassThru` `true` for an expiry — and the counts.
///
/// `outcomes` are the executor's, one per target, in plan order (run the executor over
/// `plan.targets`: [`super::execute_target`] answers skipped targets without a request). The
/// tone is success when nothing failed or is uncertain, an error when nothing succeeded and
/// something failed, a warning otherwise.
pub fn render_report(plan: &Plan, outcomes: &[(PlannedTarget, TargetOutcome)]) -> Reply {
    let count = |class: OutcomeClass| outcomes.iter().filter(|(_, o)| o.class() == class).count();
    let (succeeded, skipped, failed, unknown) = (
        count(OutcomeClass::Succeeded),
        count(OutcomeClass::Skipped),
        count(OutcomeClass::Failed),
        count(OutcomeClass::Unknown),
    );
    let tone = if failed == 0 && unknown == 0 {
        Tone::Success
    } else if succeeded == 0 && unknown == 0 {
        Tone::Error
    } else {
        Tone::Warning
    };
    let done_word = match plan.request.command_name() {
        CommandName::Reset | CommandName::Notify => "sent",
        CommandName::Expire => "expired",
    };
    let mut tally = vec![format!("{succeeded} {done_word}")];
    for (n, word) in [
        (skipped, "skipped"),
        (failed, "failed"),
        (unknown, "unknown"),
    ] {
        if n > 0 {
            tally.push(format!("{n} {word}"));
        }
    }
    let title = format!("Done: {}", tally.join(", "));
    let what = plan.request.summary();
    let mut body = format!("{}\n", capitalised(&what));
    if unknown > 0 {
        let _ = writeln!(
            body,
            "⚠ {unknown} target{} may or may not have been acted on: check before trying again.",
            if unknown == 1 { "" } else { "s" }
        );
    }
    let mut listed: Vec<&str> = Vec::new();
    for (_, outcome) in outcomes {
        if let TargetOutcome::Failed { message } | TargetOutcome::Unknown { message } = outcome {
            if listed.len() < MAX_LISTED_ERRORS && !listed.contains(&message.as_str()) {
                listed.push(message);
            }
        }
    }
    for message in listed {
        let _ = writeln!(body, "• {message}");
    }
    let table = match plan.request.command_name() {
        CommandName::Reset => Table::bounded(
            ["Username", "UserID", "ResetEmail"],
            outcomes
                .iter()
                .map(|(t, o)| vec![t.label.clone(), user_id(t), reset_cell(o)]),
        ),
        CommandName::Expire => Table::bounded(
            ["Username", "UserID", "PassThru"],
            outcomes
                .iter()
                .map(|(t, o)| vec![t.label.clone(), user_id(t), expire_cell(o)]),
        ),
        CommandName::Notify => Table::bounded(
            ["Recipient", "Result"],
            outcomes
                .iter()
                .map(|(t, o)| vec![t.label.clone(), capitalised(&o.to_string())]),
        ),
    };
    Reply::new(tone, title, body.trim_end())
        .with_table(table)
        .with_progress(Progress {
            done: outcomes.len(),
            total: outcomes.len(),
            failed,
            unknown,
        })
}

fn user_id(target: &PlannedTarget) -> String {
    target
        .user
        .as_ref()
        .map_or_else(|| "-".to_owned(), |u| u.id.to_string())
}

fn reset_cell(outcome: &TargetOutcome) -> String {
    match outcome {
        TargetOutcome::SentActivation => "Sent (activation)".to_owned(),
        TargetOutcome::SentReset => "Sent (reset)".to_owned(),
        other => other_cell(other),
    }
}

fn expire_cell(outcome: &TargetOutcome) -> String {
    match outcome {
        TargetOutcome::Expired => "true".to_owned(),
        other => other_cell(other),
    }
}

fn other_cell(outcome: &TargetOutcome) -> String {
    match outcome {
        TargetOutcome::Skipped(reason) => format!("Skipped: {reason}"),
        TargetOutcome::Failed { message } => format!("Error: {message}"),
        TargetOutcome::Unknown { message } => format!("Unknown: {message}"),
        other => capitalised(&other.to_string()),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
