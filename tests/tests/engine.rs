//! The command engine end to end, through real sockets: the JumpCloud and Identity Manager
//! simulators, an SMTP sink, a configuration read from TOML (secrets by environment reference)
//! and a hash-chained audit log. Every scenario checks what a helpdesk member, an approver or a
//! security officer would notice: the replies, the mails and expirations the simulators
//! recorded, and the audit trail (which must verify after each one).
// clippy.toml allows unwrap/expect in #[test] functions only; the helpers below are test code
// too, where a panic is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use passdesk_commands::audit::{Transition, verify};
use passdesk_commands::ids::ButtonAction;
use passdesk_commands::pending::Stage;
use passdesk_commands::{ButtonStyle, EngineEvent, Response, Tone, Visibility};
use passdesk_sim::jumpcloud::{GroupSeed, MailKind, Route, generated_users};
use passdesk_tests::engine::{
    APPROVALS, HELPDESK, Harness, IM_SECRET, LIMITS, OTHER_CHANNEL, OTHER_TEAM, POLICIES, approver,
    both, button, group_member, helper, jumpcloud_seed, next_event, outsider, request_id,
    requester, second_approver,
};
use passdesk_tests::jumpcloud::{KEY, OTHER_ORG};
use passdesk_tests::trace::{Capture, contains_any_form};
use tokio::task::JoinSet;
use tokio::time::Instant;

const RESET: &str = "reset user:jcuser.one";
const EXPIRE: &str = "expire user:jane.doe";
const NOTIFY: &str = "notify assigned-resource-type:1000 resource-type-mapping:10";
/// The notification password: distinctive, so the scan finds it in any form.
const PASSWORD: &str = "Pw-e2e-Heron-7731-Tulip";

/// The reply's text as a person reads it.
fn text(response: &Response) -> String {
    response.reply.to_plain_text()
}

#[track_caller]
fn assert_refused(response: &Response, title: &str, says: &str) {
    assert_eq!(response.reply.title, title, "{}", text(response));
    assert!(
        response.reply.body.contains(says),
        "{says:?} missing in\n{}",
        text(response)
    );
    assert!(response.reply.buttons.is_empty(), "{}", text(response));
    assert!(!response.update_original);
    assert!(response.approval_request.is_none());
}

/// The reasons of the `denied` events of one request, in order.
fn denials(h: &Harness, request: &str) -> Vec<String> {
    h.audit()
        .iter()
        .filter(|r| r.event().request_id().as_str() == request)
        .filter_map(|r| match r.event().transition() {
            Transition::Denied { reason } => Some(reason.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn dry_runs_of_every_command_change_nothing_upstream() {
    let h = Harness::start(jumpcloud_seed()).await;
    for command in [
        "reset user:jcuser.one dry-run:true",
        "reset group:NewUsers dry-run:true",
        "reset inactive created-within-days:7 dry-run:true",
        "expire user:jane.doe dry-run:true",
        "notify assigned-resource-type:1000 resource-type-mapping:10 cc:admin@acme.admin dry-run:true",
    ] {
        let response = h.invoke(&requester(), Some(HELPDESK), command).await;
        assert_eq!(
            response.reply.title,
            "Dry run — nothing was sent",
            "{command}:\n{}",
            text(&response)
        );
        assert!(response.reply.buttons.is_empty(), "{command}");
        let id = request_id(&response.reply);
        assert_eq!(h.transitions(&id), ["requested", "dry_run"], "{command}");
    }
    // The plans show what would happen…
    let response = h
        .invoke(
            &requester(),
            Some(HELPDESK),
            "reset group:NewUsers dry-run:true",
        )
        .await;
    let plan = text(&response);
    assert!(plan.contains("activation mail"), "{plan}");
    assert!(plan.contains("skipped: suspended"), "{plan}");
    // …and nothing state-changing reached JumpCloud or the mail server.
    let record = h.jumpcloud.record();
    assert!(record.mails().is_empty());
    assert!(record.expirations().is_empty());
    assert!(record.requests_to(Route::ReactivateUsers).is_empty());
    assert!(record.requests_to(Route::ExpirePassword).is_empty());
    assert!(
        !record.requests().is_empty(),
        "the plans did read JumpCloud"
    );
    assert!(h.smtp.mails().is_empty());
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn who_may_run_each_command_and_where() {
    let h = Harness::start(jumpcloud_seed()).await;
    /// (who, channel, command, expected title, what the reply says, audit denial code)
    type Case<'a> = (
        passdesk_commands::Actor,
        Option<&'a str>,
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
    );
    let not_in_group = "you are not in a group allowed to run";
    #[rustfmt::skip]
    let cases: Vec<Case<'_>> = vec![
        // The helpdesk, in the helpdesk channel: every command is planned.
        (requester(), Some(HELPDESK), RESET, "Please confirm", "Reset mail for user jcuser.one", None),
        (requester(), Some(HELPDESK), EXPIRE, "Please confirm", "Expire the password of user jane.doe", None),
        (requester(), Some(HELPDESK), NOTIFY, "Please confirm", "Password notification", None),
        (helper(), Some(HELPDESK), RESET, "Please confirm", "jcuser.one", None),
        // Another channel: only notify is allowed everywhere.
        (requester(), Some(OTHER_CHANNEL), RESET, "Not allowed", "`reset` is not allowed in this channel", Some("channel_not_allowed")),
        (requester(), Some(OTHER_CHANNEL), EXPIRE, "Not allowed", "`expire` is not allowed in this channel", Some("channel_not_allowed")),
        (requester(), Some(OTHER_CHANNEL), NOTIFY, "Please confirm", "Password notification", None),
        // Direct messages: never.
        (requester(), None, RESET, "Not allowed", "cannot be used in direct messages", Some("direct_message")),
        (requester(), None, EXPIRE, "Not allowed", "cannot be used in direct messages", Some("direct_message")),
        (requester(), None, NOTIFY, "Not allowed", "cannot be used in direct messages", Some("direct_message")),
        // Approvers and outsiders are not the helpdesk.
        (approver(), Some(HELPDESK), RESET, "Not allowed", not_in_group, Some("not_in_group")),
        (approver(), Some(HELPDESK), EXPIRE, "Not allowed", not_in_group, Some("not_in_group")),
        (approver(), Some(HELPDESK), NOTIFY, "Not allowed", not_in_group, Some("not_in_group")),
        (outsider(), Some(HELPDESK), RESET, "Not allowed", not_in_group, Some("not_in_group")),
        (outsider(), Some(HELPDESK), EXPIRE, "Not allowed", not_in_group, Some("not_in_group")),
        (outsider(), Some(HELPDESK), NOTIFY, "Not allowed", not_in_group, Some("not_in_group")),
    ];
    for (who, channel, command, title, says, code) in &cases {
        let response = h.invoke(who, *channel, command).await;
        let label = format!("{} in {channel:?}: {command}", who.display_name);
        assert_eq!(response.reply.title, *title, "{label}\n{}", text(&response));
        assert!(
            text(&response).contains(says),
            "{label}: {says:?} missing in\n{}",
            text(&response)
        );
        let id = request_id_or_denial(&h, &response);
        match code {
            None => {
                assert_eq!(
                    button(&response.reply, ButtonAction::Cancel).action,
                    ButtonAction::Cancel
                );
                assert_eq!(h.transitions(&id), ["requested"], "{label}");
            }
            Some(code) => {
                assert!(response.reply.buttons.is_empty(), "{label}");
                assert_eq!(h.transitions(&id), ["denied"], "{label}");
                let reasons = denials(&h, &id);
                assert!(reasons[0].starts_with(code), "{label}: {reasons:?}");
            }
        }
    }

    // A workspace Passdesk does not serve is refused, whoever asks.
    let response = h
        .invoke_in(&requester(), Some(HELPDESK), Some("T0OTHER001"), RESET)
        .await;
    assert_refused(&response, "Not allowed", "does not serve this workspace");
    let audit = h.audit();
    match audit.last().unwrap().event().transition() {
        Transition::Denied { reason } => assert!(reason.as_str().starts_with("unknown_tenant")),
        other => panic!("{other:?}"),
    }
    // Help and mistyped commands are answered without reaching policy or the audit trail.
    let before = h.audit().len();
    let help = h.invoke(&outsider(), None, "help").await;
    assert_eq!(help.reply.title, "Help");
    assert!(text(&help).contains("reset"));
    let typo = h.invoke(&requester(), Some(HELPDESK), "reset user:").await;
    assert_eq!(typo.reply.title, "Invalid command");
    assert_eq!(h.audit().len(), before);
    // Nothing was run.
    assert!(h.jumpcloud.record().mails().is_empty());
    verify(&h.audit_path).unwrap();
}

/// The request id of a planned request, or of the last `denied` event for a refused one.
fn request_id_or_denial(h: &Harness, response: &Response) -> String {
    match response.reply.request_id {
        Some(id) => id.to_string(),
        None => {
            let audit = h.audit();
            let last = audit.last().expect("the denial is audited");
            assert_eq!(last.event().transition().name(), "denied");
            last.event().request_id().as_str().to_owned()
        }
    }
}

#[tokio::test]
async fn who_may_press_each_button() {
    let h = Harness::start(jumpcloud_seed()).await;
    let mut events = h.engine.events();
    for command in [RESET, EXPIRE, NOTIFY] {
        let prompt = h.invoke(&requester(), Some(HELPDESK), command).await;
        let id = request_id(&prompt.reply);
        let confirm = button(&prompt.reply, ButtonAction::Confirm);
        let cancel = button(&prompt.reply, ButtonAction::Cancel);
        let mut refused = 0;

        // The requester's buttons are the requester's alone.
        for intruder in [helper(), approver(), outsider()] {
            let response = h.press(&intruder, Some(HELPDESK), confirm).await;
            assert_refused(&response, "Not allowed", "only Helen Desk can confirm");
            refused += 1;
        }
        let response = h.press(&helper(), Some(HELPDESK), cancel).await;
        assert_refused(&response, "Not allowed", "only Helen Desk can cancel");
        refused += 1;
        // Approving before the requester confirmed does nothing.
        let early = passdesk_commands::ids::ButtonId {
            action: ButtonAction::Approve,
            pending: confirm.pending,
        };
        let response = h.press(&approver(), Some(APPROVALS), early).await;
        assert_refused(&response, "Not allowed", "not waiting for approval");

        let confirmed = h.press(&requester(), Some(HELPDESK), confirm).await;
        assert!(confirmed.update_original);
        if command == RESET {
            // One target, under the bulk threshold: it runs on Confirm.
            assert_eq!(
                confirmed.reply.title,
                "Done: 1 sent",
                "{}",
                text(&confirmed)
            );
            assert!(text(&confirmed).contains("Sent (activation)"));
            assert!(text(&confirmed).contains("Confirmed by: Helen Desk (U0HELP0001)"));
            assert_eq!(h.jumpcloud.record().mails().len(), 1);
            let mut want = vec!["requested"];
            want.extend(std::iter::repeat_n("denied", refused));
            want.extend(["confirmed", "executed"]);
            assert_eq!(h.transitions(&id), want, "{command}");
            continue;
        }

        // Approval always: the approvers' message names the requester and the plan.
        assert_eq!(confirmed.reply.title, "Waiting for approval");
        let approval = confirmed
            .approval_request
            .clone()
            .expect("an approval request");
        assert_eq!(approval.visibility, Visibility::Channel);
        assert!(
            approval.body.contains("Helen Desk (U0HELP0001) asks:"),
            "{approval}"
        );
        let approve = button(&approval, ButtonAction::Approve);
        let deny = button(&approval, ButtonAction::Deny);
        for which in [approve, deny] {
            let response = h.press(&requester(), Some(APPROVALS), which).await;
            assert_refused(
                &response,
                "Not allowed",
                "cannot approve or deny your own request",
            );
        }
        for who in [helper(), outsider()] {
            for which in [approve, deny] {
                let response = h.press(&who, Some(APPROVALS), which).await;
                assert_refused(
                    &response,
                    "Not allowed",
                    "not in a group allowed to approve",
                );
            }
        }
        let approved = h.press(&approver(), Some(APPROVALS), approve).await;
        assert!(approved.update_original);
        let mut want = vec!["requested"];
        want.extend(std::iter::repeat_n("denied", refused));
        want.extend(["confirmed", "approval_requested"]);
        want.extend(std::iter::repeat_n("denied", 6));
        want.push("approved");

        if command == EXPIRE {
            assert_eq!(
                approved.reply.title,
                "Done: 1 expired",
                "{}",
                text(&approved)
            );
            assert!(text(&approved).contains("Approved by: Ada Approver (U0APPR0001)"));
            let expired: Vec<String> = h
                .jumpcloud
                .record()
                .expirations()
                .into_iter()
                .map(|e| e.username)
                .collect();
            assert_eq!(expired, ["jane.doe"]);
            want.push("executed");
            assert_eq!(h.transitions(&id), want, "{command}");
            continue;
        }

        // A notification: approved, the requester is asked for the password.
        assert_eq!(approved.reply.title, "Approved");
        let password_button = next_event(&mut events, |e| match e {
            EngineEvent::ApprovalDecided {
                reply_for_requester,
                approved: true,
                ..
            } if reply_for_requester.request_id.map(|r| r.to_string()) == Some(id.clone()) => {
                Some(button(reply_for_requester, ButtonAction::EnterPassword))
            }
            _ => None,
        })
        .await;
        let response = h.press(&helper(), Some(HELPDESK), password_button).await;
        assert_refused(
            &response,
            "Not allowed",
            "only Helen Desk can enter the password",
        );
        let response = h
            .submit_password(&helper(), password_button, PASSWORD)
            .await;
        assert_refused(
            &response,
            "Not allowed",
            "only Helen Desk can enter the password",
        );
        // The requester may still withdraw it.
        let cancelled = h.press(&requester(), Some(HELPDESK), cancel).await;
        assert_eq!(cancelled.reply.title, "Cancelled");
        let late = h
            .submit_password(&requester(), password_button, PASSWORD)
            .await;
        assert_eq!(late.reply.title, "Already handled");
        assert!(h.smtp.mails().is_empty());
        want.extend(["denied", "denied", "cancelled"]);
        assert_eq!(h.transitions(&id), want, "{command}");
    }
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn a_denied_request_never_runs_and_a_late_approval_is_told_who_denied_it() {
    let h = Harness::start(jumpcloud_seed()).await;
    let mut events = h.engine.events();
    let prompt = h
        .invoke(&requester(), Some(HELPDESK), "expire user:john.smith")
        .await;
    let id = request_id(&prompt.reply);
    let confirm = button(&prompt.reply, ButtonAction::Confirm);
    assert_eq!(
        prompt.reply.buttons[0].style,
        ButtonStyle::Danger,
        "expiry is confirmed with a danger button"
    );
    let confirmed = h.press(&requester(), Some(HELPDESK), confirm).await;
    let approval = confirmed.approval_request.unwrap();
    let denied = h
        .press(
            &approver(),
            Some(APPROVALS),
            button(&approval, ButtonAction::Deny),
        )
        .await;
    assert_eq!(denied.reply.title, "Denied");
    assert!(denied.update_original);
    let told = next_event(&mut events, |e| match e {
        EngineEvent::ApprovalDecided {
            approved: false,
            reply_for_requester,
            requester,
            ..
        } => Some((requester.id.clone(), reply_for_requester.clone())),
        _ => None,
    })
    .await;
    assert_eq!(told.0, "U0HELP0001");
    assert!(told.1.body.contains("Ada Approver (U0APPR0001) denied"));

    let late = h
        .press(
            &second_approver(),
            Some(APPROVALS),
            button(&approval, ButtonAction::Approve),
        )
        .await;
    assert_refused(
        &late,
        "Already handled",
        "already handled by Ada Approver (U0APPR0001) at",
    );
    let again = h.press(&requester(), Some(HELPDESK), confirm).await;
    assert_refused(&again, "Already handled", "already handled by Ada Approver");
    assert!(h.jumpcloud.record().expirations().is_empty());
    assert_eq!(
        h.transitions(&id),
        ["requested", "confirmed", "approval_requested", "rejected"]
    );
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn a_second_press_is_told_who_handled_it_and_when() {
    let h = Harness::start(jumpcloud_seed()).await;
    let prompt = h.invoke(&requester(), Some(HELPDESK), RESET).await;
    let confirm = button(&prompt.reply, ButtonAction::Confirm);
    let first = h.press(&requester(), Some(HELPDESK), confirm).await;
    assert_eq!(first.reply.title, "Done: 1 sent");
    let second = h.press(&requester(), Some(HELPDESK), confirm).await;
    assert_refused(
        &second,
        "Already handled",
        "already handled by Helen Desk (U0HELP0001) at",
    );
    assert!(second.reply.body.contains("UTC"), "{}", text(&second));
    let cancel = h
        .press(
            &requester(),
            Some(HELPDESK),
            button(&prompt.reply, ButtonAction::Cancel),
        )
        .await;
    assert_eq!(cancel.reply.title, "Already handled");
    assert_eq!(h.jumpcloud.record().mails().len(), 1);
    // An id Passdesk never issued is a clear answer too.
    let unknown = passdesk_commands::ids::ButtonId {
        action: ButtonAction::Confirm,
        pending: passdesk_commands::ids::PendingId::random(),
    };
    let response = h.press(&requester(), Some(HELPDESK), unknown).await;
    assert_refused(&response, "Unknown request", "does not know this request");
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn confirm_rechecks_that_the_requester_is_still_allowed() {
    let h = Harness::start(jumpcloud_seed()).await;
    let member = group_member();
    let prompt = h.invoke(&member, Some(HELPDESK), RESET).await;
    let id = request_id(&prompt.reply);
    let confirm = button(&prompt.reply, ButtonAction::Confirm);
    // Taken out of the helpdesk user group since: the press carries no role any more.
    let mut removed = member.clone();
    removed.roles.clear();
    let response = h.press(&removed, Some(HELPDESK), confirm).await;
    assert_refused(
        &response,
        "Not allowed",
        "you are not in a group allowed to run `reset`",
    );
    assert!(h.jumpcloud.record().mails().is_empty());
    // Back in the group, the same button works: the refusal did not use it up.
    let response = h.press(&member, Some(HELPDESK), confirm).await;
    assert_eq!(response.reply.title, "Done: 1 sent");
    assert_eq!(
        h.transitions(&id),
        ["requested", "denied", "confirmed", "executed"]
    );
    assert!(denials(&h, &id)[0].starts_with("not_in_group"));
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn nothing_is_planned_or_run_when_the_audit_log_cannot_record_it() {
    let h = Harness::with_audit_log(jumpcloud_seed(), Path::new("/dev/full")).await;
    for (who, command) in [
        (requester(), RESET),
        (requester(), "reset group:NewUsers dry-run:true"),
        (requester(), NOTIFY),
        (outsider(), EXPIRE),
    ] {
        let response = h.invoke(&who, Some(HELPDESK), command).await;
        assert_refused(
            &response,
            "Audit log unavailable",
            "could not record this step, so it did not go ahead",
        );
    }
    // Not even a read: the plan comes after the `requested` line.
    assert!(h.jumpcloud.record().requests().is_empty());
    assert!(h.identity_manager.requests().is_empty());
    assert!(h.smtp.mails().is_empty());
}

#[tokio::test]
async fn each_workspace_works_on_its_own_jumpcloud_organisation() {
    let h = Harness::start(jumpcloud_seed()).await;
    // The default tenant: the key's own organisation, no x-org-id.
    let response = h
        .invoke(
            &requester(),
            Some(HELPDESK),
            "reset user:jcuser.one dry-run:true",
        )
        .await;
    assert_eq!(response.reply.title, "Dry run — nothing was sent");
    assert!(
        h.jumpcloud
            .record()
            .requests()
            .iter()
            .all(|r| !r.org_id_sent())
    );
    h.jumpcloud.record().clear();

    // The other workspace's organisation goes out as x-org-id; JumpCloud refuses it for this
    // key, and the requester is told what to check without JumpCloud's own text.
    let response = h
        .invoke_in(
            &requester(),
            Some(HELPDESK),
            Some(OTHER_TEAM),
            "reset user:jcuser.one dry-run:true",
        )
        .await;
    assert_eq!(
        response.reply.title,
        "JumpCloud error",
        "{}",
        text(&response)
    );
    assert!(
        text(&response).contains("organisation id"),
        "{}",
        text(&response)
    );
    assert!(!text(&response).contains("organization not found"));
    let requests = h.jumpcloud.record().requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.org_id.as_deref() == Some(OTHER_ORG))
    );
    let id = request_id(&response.reply);
    assert_eq!(h.transitions(&id), ["requested", "failed"]);

    // The demo console works on the default tenant, with command-line identities.
    let alice = passdesk_commands::Actor {
        platform: passdesk_commands::Platform::Console,
        id: "alice".to_owned(),
        display_name: "alice".to_owned(),
        roles: Vec::new(),
    };
    let response = h
        .invoke_in(&alice, None, None, "expire user:jane.doe dry-run:true")
        .await;
    assert_eq!(
        response.reply.title,
        "Dry run — nothing was sent",
        "{}",
        text(&response)
    );
    assert!(h.jumpcloud.record().expirations().is_empty());
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn a_confirmed_run_starts_the_requesters_cooldown() {
    let limits = LIMITS.replace("cooldown_seconds = 0", "cooldown_seconds = 60");
    let h = Harness::with_limits(jumpcloud_seed(), &limits).await;
    // Planning costs nothing: two prompts in a row.
    let first = h.invoke(&requester(), Some(HELPDESK), RESET).await;
    let second = h
        .invoke(&requester(), Some(HELPDESK), "reset user:maria.garcia")
        .await;
    assert_eq!(second.reply.title, "Please confirm");
    let done = h
        .press(
            &requester(),
            Some(HELPDESK),
            button(&first.reply, ButtonAction::Confirm),
        )
        .await;
    assert_eq!(done.reply.title, "Done: 1 sent");
    // The Confirm counted: the other prompt's Confirm and new commands wait, dry runs do not.
    let refused = h
        .press(
            &requester(),
            Some(HELPDESK),
            button(&second.reply, ButtonAction::Confirm),
        )
        .await;
    assert_refused(
        &refused,
        "Not allowed",
        "you can run another state-changing command in",
    );
    let refused = h.invoke(&requester(), Some(HELPDESK), EXPIRE).await;
    assert_refused(
        &refused,
        "Not allowed",
        "you can run another state-changing command in",
    );
    let dry = h
        .invoke(
            &requester(),
            Some(HELPDESK),
            "expire user:jane.doe dry-run:true",
        )
        .await;
    assert_eq!(dry.reply.title, "Dry run — nothing was sent");
    // Others are not held back.
    let other = h.invoke(&helper(), Some(HELPDESK), EXPIRE).await;
    assert_eq!(other.reply.title, "Please confirm");
    assert_eq!(h.jumpcloud.record().mails().len(), 1);
    let waiting = request_id(&second.reply);
    assert_eq!(h.transitions(&waiting), ["requested", "denied"]);
    assert!(denials(&h, &waiting)[0].starts_with("cooldown"));
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn a_command_without_a_policy_is_refused() {
    let reset_only = &POLICIES[..POLICIES.find("[policy.expire]").unwrap()];
    let h = Harness::with_policies(jumpcloud_seed(), reset_only).await;
    for command in [EXPIRE, "expire user:jane.doe dry-run:true", NOTIFY] {
        let response = h.invoke(&requester(), Some(HELPDESK), command).await;
        assert_refused(&response, "Not allowed", "is not enabled here");
        let audit = h.audit();
        let last = audit.last().unwrap().event();
        match last.transition() {
            Transition::Denied { reason } => {
                assert!(reason.as_str().starts_with("command_disabled"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The command that has a policy still works.
    let response = h.invoke(&requester(), Some(HELPDESK), RESET).await;
    assert_eq!(response.reply.title, "Please confirm");
    assert!(h.jumpcloud.record().expirations().is_empty());
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn nobody_approves_their_own_request() {
    let h = Harness::start(jumpcloud_seed()).await;
    // In the helpdesk and an approver: may ask, may not approve their own request.
    let prompt = h.invoke(&both(), Some(HELPDESK), EXPIRE).await;
    let id = request_id(&prompt.reply);
    let confirmed = h
        .press(
            &both(),
            Some(HELPDESK),
            button(&prompt.reply, ButtonAction::Confirm),
        )
        .await;
    let approval = confirmed.approval_request.unwrap();
    for action in [ButtonAction::Approve, ButtonAction::Deny] {
        let response = h
            .press(&both(), Some(APPROVALS), button(&approval, action))
            .await;
        assert_refused(
            &response,
            "Not allowed",
            "cannot approve or deny your own request",
        );
    }
    assert!(h.jumpcloud.record().expirations().is_empty());
    // Another approver may.
    let approved = h
        .press(
            &approver(),
            Some(APPROVALS),
            button(&approval, ButtonAction::Approve),
        )
        .await;
    assert_eq!(approved.reply.title, "Done: 1 expired");
    assert_eq!(h.jumpcloud.record().expirations().len(), 1);
    assert_eq!(
        h.transitions(&id),
        [
            "requested",
            "confirmed",
            "approval_requested",
            "denied",
            "denied",
            "approved",
            "executed"
        ]
    );
    assert!(
        denials(&h, &id)
            .iter()
            .all(|r| r.starts_with("self_approval"))
    );
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn an_unconfirmed_request_expires_audited_and_announced() {
    let h = Harness::start(jumpcloud_seed()).await;
    let mut events = h.engine.events();
    let prompt = h
        .invoke(&requester(), Some(HELPDESK), "reset user:maria.garcia")
        .await;
    let id = request_id(&prompt.reply);
    // Not yet due: nothing expires.
    assert_eq!(h.engine.sweep(Instant::now()).expired, 0);
    // Past the confirmation time limit (120 s).
    let report = h.engine.sweep(Instant::now() + Duration::from_secs(121));
    assert_eq!(report.expired, 1);
    let (stage, requester_id, reply) = next_event(&mut events, |e| match e {
        EngineEvent::Expired {
            stage,
            requester,
            reply,
            ..
        } => Some((*stage, requester.id.clone(), reply.clone())),
        _ => None,
    })
    .await;
    assert_eq!(stage, Stage::Confirmation);
    assert_eq!(requester_id, "U0HELP0001");
    assert_eq!(reply.title, "Request expired");
    assert!(reply.body.contains("not confirmed in time"), "{reply}");
    assert_eq!(reply.request_id.map(|r| r.to_string()), Some(id.clone()));
    // The event follows the audit line.
    assert_eq!(h.transitions(&id), ["requested", "expired"]);
    let late = h
        .press(
            &requester(),
            Some(HELPDESK),
            button(&prompt.reply, ButtonAction::Confirm),
        )
        .await;
    assert_refused(&late, "Request expired", "expired");
    assert!(h.jumpcloud.record().mails().is_empty());
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn an_unapproved_request_expires_audited_and_announced() {
    let h = Harness::start(jumpcloud_seed()).await;
    let mut events = h.engine.events();
    let prompt = h.invoke(&requester(), Some(HELPDESK), EXPIRE).await;
    let id = request_id(&prompt.reply);
    let confirmed = h
        .press(
            &requester(),
            Some(HELPDESK),
            button(&prompt.reply, ButtonAction::Confirm),
        )
        .await;
    let approval = confirmed.approval_request.unwrap();
    // The confirmation limit has passed, the approval limit (900 s from the Confirm) has not.
    assert_eq!(
        h.engine
            .sweep(Instant::now() + Duration::from_secs(600))
            .expired,
        0
    );
    assert_eq!(
        h.engine
            .sweep(Instant::now() + Duration::from_secs(901))
            .expired,
        1
    );
    let (stage, reply) = next_event(&mut events, |e| match e {
        EngineEvent::Expired { stage, reply, .. } => Some((*stage, reply.clone())),
        _ => None,
    })
    .await;
    assert_eq!(stage, Stage::Approval);
    assert!(
        reply.body.contains("no approver decided in time"),
        "{reply}"
    );
    assert_eq!(
        h.transitions(&id),
        ["requested", "confirmed", "approval_requested", "expired"]
    );
    let late = h
        .press(
            &approver(),
            Some(APPROVALS),
            button(&approval, ButtonAction::Approve),
        )
        .await;
    assert_refused(&late, "Request expired", "expired");
    assert!(h.jumpcloud.record().expirations().is_empty());
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn shutdown_expires_what_still_waits() {
    let h = Harness::start(jumpcloud_seed()).await;
    let mut events = h.engine.events();
    let prompt = h
        .invoke(&requester(), Some(HELPDESK), "reset user:li.wei")
        .await;
    let id = request_id(&prompt.reply);
    h.engine.shutdown().await;
    let stage = next_event(&mut events, |e| match e {
        EngineEvent::Expired { stage, .. } => Some(*stage),
        _ => None,
    })
    .await;
    assert_eq!(stage, Stage::Confirmation);
    assert_eq!(h.transitions(&id), ["requested", "expired"]);
    let late = h
        .press(
            &requester(),
            Some(HELPDESK),
            button(&prompt.reply, ButtonAction::Confirm),
        )
        .await;
    assert_eq!(late.reply.title, "Request expired");
    assert!(h.jumpcloud.record().mails().is_empty());
    // A second shutdown is harmless.
    h.engine.shutdown().await;
    verify(&h.audit_path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_128_concurrent_confirms_exactly_one_runs() {
    let h = Harness::start(jumpcloud_seed()).await;
    let prompt = h
        .invoke(&requester(), Some(HELPDESK), "reset user:new.hire1")
        .await;
    let id = request_id(&prompt.reply);
    let confirm = button(&prompt.reply, ButtonAction::Confirm);
    let mut presses = JoinSet::new();
    for _ in 0..128 {
        let engine = h.engine.clone();
        let press = h.press_of(&requester(), Some(HELPDESK), confirm);
        presses.spawn(async move { engine.press(press).await });
    }
    let mut titles = Vec::new();
    while let Some(response) = presses.join_next().await {
        titles.push(response.unwrap().reply.title);
    }
    assert_eq!(titles.len(), 128);
    assert_eq!(titles.iter().filter(|t| *t == "Done: 1 sent").count(), 1);
    assert_eq!(
        titles.iter().filter(|t| *t == "Already handled").count(),
        127,
        "{titles:?}"
    );
    let mails = h.jumpcloud.record().mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].username, "new.hire1");
    assert_eq!(mails[0].kind, MailKind::Activation);
    assert_eq!(h.transitions(&id), ["requested", "confirmed", "executed"]);
    verify(&h.audit_path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_reset_of_2000_users_needs_a_second_person_and_mails_each_once() {
    const USERS: usize = 2000;
    let names: Vec<String> = (0..USERS).map(|i| format!("bulk.{i:04}")).collect();
    let seed = jumpcloud_seed()
        .users(generated_users("bulk", USERS))
        .group(GroupSeed::new("Bulk").members(names.clone()));
    let h = Harness::start(seed).await;
    let mut events = h.engine.events();

    let prompt = h
        .invoke(&requester(), Some(HELPDESK), "reset group:Bulk")
        .await;
    assert_eq!(prompt.reply.title, "Please confirm", "{}", text(&prompt));
    assert!(
        text(&prompt).contains("2000 password reset mails"),
        "{}",
        text(&prompt)
    );
    assert!(text(&prompt).contains("an approver must approve it"));
    let confirm = button(&prompt.reply, ButtonAction::Confirm);
    assert_eq!(prompt.reply.buttons[0].style, ButtonStyle::Danger);
    let id = request_id(&prompt.reply);

    let confirmed = h.press(&requester(), Some(HELPDESK), confirm).await;
    assert_eq!(confirmed.reply.title, "Waiting for approval");
    assert!(
        h.jumpcloud.record().mails().is_empty(),
        "nothing before approval"
    );
    let approval = confirmed.approval_request.unwrap();
    let approved = h
        .press(
            &approver(),
            Some(APPROVALS),
            button(&approval, ButtonAction::Approve),
        )
        .await;

    // The report counts every target, and JumpCloud mailed each user exactly once.
    let report = &approved.reply;
    assert_eq!(report.title, "Done: 2000 sent", "{report}");
    assert_eq!(report.tone, Tone::Success);
    let progress = report.progress.unwrap();
    assert_eq!(
        (progress.done, progress.total, progress.failed),
        (USERS, USERS, 0)
    );
    let mails = h.jumpcloud.record().mails();
    assert_eq!(mails.len(), USERS);
    let mailed: HashSet<&str> = mails.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(mailed.len(), USERS, "no user mailed twice");
    assert!(names.iter().all(|n| mailed.contains(n.as_str())));
    assert!(mails.iter().all(|m| m.kind == MailKind::Reset));

    // Progress reached the adapters, ending complete; the requester got the report too.
    let last = next_event(&mut events, |e| match e {
        EngineEvent::Progress { progress, .. } if progress.done == progress.total => {
            Some(*progress)
        }
        _ => None,
    })
    .await;
    assert_eq!(last.total, USERS);
    let finished = next_event(&mut events, |e| match e {
        EngineEvent::Finished { reply, .. } => Some(reply.title.clone()),
        _ => None,
    })
    .await;
    assert_eq!(finished, "Done: 2000 sent");

    // Two people in the audit trail, and the per-target summary.
    let audit = h.audit();
    let mine: Vec<_> = audit
        .iter()
        .map(|r| r.event())
        .filter(|e| e.request_id().as_str() == id)
        .collect();
    let steps: Vec<(&str, &str)> = mine
        .iter()
        .map(|e| (e.transition().name(), e.actor().id().as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("requested", "U0HELP0001"),
            ("confirmed", "U0HELP0001"),
            ("approval_requested", "U0HELP0001"),
            ("approved", "U0APPR0001"),
            ("executed", "U0HELP0001"),
        ]
    );
    match mine[4].transition() {
        Transition::Executed(summary) => {
            let counts = summary.counts();
            assert_eq!((counts.done, counts.skipped, counts.failed), (2000, 0, 0));
        }
        other => panic!("{other:?}"),
    }
    verify(&h.audit_path).unwrap();
}

#[tokio::test]
async fn a_full_notification_run_mails_the_password_and_leaks_no_secret() {
    let capture = Capture::global();
    let h = Harness::start(jumpcloud_seed()).await;
    let mut events = h.engine.events();
    let mut responses: Vec<Response> = Vec::new();

    let prompt = h
        .invoke(
            &requester(),
            Some(HELPDESK),
            "notify assigned-resource-type:1000 resource-type-mapping:10 cc:admin@acme.admin",
        )
        .await;
    assert_eq!(prompt.reply.title, "Please confirm", "{}", text(&prompt));
    assert!(text(&prompt).contains("grace.hopper@acme.example"));
    assert!(text(&prompt).contains("asked for in a private prompt"));
    let id = request_id(&prompt.reply);
    let confirm = button(&prompt.reply, ButtonAction::Confirm);
    responses.push(prompt);

    let confirmed = h.press(&requester(), Some(HELPDESK), confirm).await;
    let approval = confirmed.approval_request.clone().unwrap();
    responses.push(confirmed);
    let approved = h
        .press(
            &approver(),
            Some(APPROVALS),
            button(&approval, ButtonAction::Approve),
        )
        .await;
    assert_eq!(approved.reply.title, "Approved");
    responses.push(approved);
    let password_button = next_event(&mut events, |e| match e {
        EngineEvent::ApprovalDecided {
            reply_for_requester,
            ..
        } => Some(button(reply_for_requester, ButtonAction::EnterPassword)),
        _ => None,
    })
    .await;

    // The button opens the private prompt; nothing is sent yet.
    let opened = h.press(&requester(), Some(HELPDESK), password_button).await;
    assert_eq!(opened.open_password_prompt, Some(password_button.pending));
    assert!(h.smtp.mails().is_empty());
    responses.push(opened);
    // A password the mail cannot carry is refused and the request keeps waiting.
    let bad = "two\nlines";
    let refused = h.submit_password(&requester(), password_button, bad).await;
    assert_eq!(refused.reply.title, "Password not accepted");
    assert_eq!(
        button(&refused.reply, ButtonAction::EnterPassword),
        password_button
    );
    responses.push(refused);
    assert!(h.smtp.mails().is_empty());

    let sent = h
        .submit_password(&requester(), password_button, PASSWORD)
        .await;
    assert_eq!(sent.reply.title, "Done: 1 sent", "{}", text(&sent));
    assert!(text(&sent).contains("Approved by: Ada Approver (U0APPR0001)"));
    responses.push(sent);
    let again = h
        .submit_password(&requester(), password_button, PASSWORD)
        .await;
    assert_eq!(again.reply.title, "Already handled");
    responses.push(again);

    // Delivered once, to the notified person, with the password in the body.
    let mails = h.smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]
            .rcpt_to
            .iter()
            .any(|r| r == "grace.hopper@acme.example"),
        "{:?}",
        mails[0]
    );
    assert!(mails[0].rcpt_to.iter().any(|r| r == "admin@acme.admin"));
    assert!(mails[0].text_body().unwrap().contains(PASSWORD));
    assert_eq!(
        h.transitions(&id),
        [
            "requested",
            "confirmed",
            "approval_requested",
            "approved",
            "executed"
        ]
    );
    verify(&h.audit_path).unwrap();

    // No secret anywhere but in the mail: replies, events, the audit log, the tracing output.
    let mut seen: Vec<String> = Vec::new();
    for response in &responses {
        seen.push(format!("{response:?}"));
        seen.push(response.reply.to_plain_text());
        if let Some(approval) = &response.approval_request {
            seen.push(approval.to_plain_text());
        }
    }
    while let Ok(event) = events.try_recv() {
        seen.push(format!("{event:?}"));
    }
    seen.push(std::fs::read_to_string(&h.audit_path).unwrap());
    let seen = seen.join("\n");
    for (secret, what) in [
        (PASSWORD, "notification password"),
        (bad, "refused password"),
        (KEY, "JumpCloud API key"),
        (IM_SECRET, "Identity Manager client secret"),
    ] {
        assert!(
            !contains_any_form(&seen, secret),
            "the {what} appears in a reply, an event or the audit log"
        );
        capture.assert_absent(secret, what);
    }
    // The capture did record this run (so its silence means something).
    assert!(capture.contains("engine.submit_password"));
}
