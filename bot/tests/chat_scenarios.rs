//! The helpdesk's scenarios end to end, written once and run on every platform: Discord over
//! the gateway (`discord_gateway::…`), Discord over the HTTP interactions endpoint
//! (`discord_http::…`) and Slack (`slack::…`). Each scenario is one `async fn(Platform)`
//! against [`support::chat::Chat`], which starts the JumpCloud and Identity Manager
//! simulators, the fake chat service and the bot's real adapter on 127.0.0.1, with a
//! configuration read from TOML and its secrets from a map. People act as they would in the
//! chat client: the fake builds their commands, presses and modal submissions and shows what
//! they would see.

// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use passdesk_sim::jumpcloud::{MailKind, generated_users};
use support::chat::{Answer, Chat, Command, Person, Platform, Target};
use support::{PASSWORD, logged};

/// Generates, for each scenario `async fn name(platform: Platform)` in scope, the tests
/// `discord_gateway::name`, `discord_http::name` and `slack::name`.
macro_rules! on_every_platform {
    ($($scenario:ident),+ $(,)?) => {
        on_every_platform!(@platform discord_gateway, DiscordGateway, $($scenario),+);
        on_every_platform!(@platform discord_http, DiscordHttp, $($scenario),+);
        on_every_platform!(@platform slack, Slack, $($scenario),+);
    };
    (@platform $module:ident, $platform:ident, $($scenario:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Platform::$platform).await;
                }
            )+
        }
    };
}

on_every_platform!(
    a_confirmed_reset_runs_on_jumpcloud_updates_the_plan_and_reaches_the_audit_channel,
    an_expiry_needs_an_approver_other_than_the_requester_and_everyone_else_is_refused,
    a_dry_run_shows_the_plan_and_changes_nothing_and_outsiders_and_direct_messages_are_refused,
    the_notification_password_goes_from_the_modal_to_the_mail_and_nowhere_else,
    a_bulk_reset_is_deferred_and_shows_progress_at_a_bounded_rate,
    a_slow_directory_never_delays_the_acknowledgement,
    a_usage_error_is_answered_directly,
);

use Person::{Approver, Colleague, Outsider, Requester};

async fn a_confirmed_reset_runs_on_jumpcloud_updates_the_plan_and_reaches_the_audit_channel(
    platform: Platform,
) {
    let h = Chat::start(platform).await;
    let plan = h
        .command(
            Requester,
            Command::Reset {
                target: Target::User("jcuser.one"),
                dry_run: false,
            },
        )
        .await;
    assert_eq!(
        plan.answer,
        Some(Answer::DeferredMessage),
        "the look-up is not waited for: acknowledged, then the plan"
    );
    assert_eq!(
        plan.private_to,
        Some(h.id(Requester)),
        "only the requester sees the plan"
    );
    assert!(plan.text.contains("jcuser.one"), "{}", plan.text);
    assert_eq!(plan.labels(), ["Confirm", "Cancel"]);
    assert_eq!(plan.button("Confirm").action, "confirm");
    assert_eq!(plan.button("Cancel").action, "cancel");
    assert!(
        plan.button("Confirm").primary,
        "one user: a primary Confirm"
    );
    assert!(
        h.jumpcloud().record().mails().is_empty(),
        "nothing before Confirm"
    );

    let press = h.press(Requester, &plan, "Confirm").await;
    assert!(press.answer.updates_message(), "{:?}", press.answer);
    let done = h
        .updated(&press, "the report", |m| m.buttons.is_empty())
        .await;
    assert!(done.edits > 0, "{done:?}");
    assert_eq!(done.private_to, Some(h.id(Requester)), "still private");
    assert!(done.text.contains("jcuser.one"), "{}", done.text);
    let original = h.current(&plan, "the plan", |_| true).await;
    assert!(original.buttons.is_empty(), "Confirm is gone");
    let mails = h.jumpcloud().record().mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].username, "jcuser.one");
    assert_eq!(mails[0].kind, MailKind::Activation);

    let audit = h.audit_message("executed", "reset").await;
    assert!(audit.text.contains(&h.mention(Requester)), "{}", audit.text);
    assert!(audit.text.contains("jcuser.one"), "{}", audit.text);
    assert!(
        audit
            .text
            .contains("done 1, skipped 0, failed 0, unknown 0"),
        "{}",
        audit.text
    );
    assert_eq!(h.audit_events(), ["requested", "confirmed", "executed"]);
    h.check_api_credentials();
    h.stop().await;
}

async fn an_expiry_needs_an_approver_other_than_the_requester_and_everyone_else_is_refused(
    platform: Platform,
) {
    let h = Chat::start(platform).await;
    let plan = h
        .command(Requester, Command::Expire { user: "jane.doe" })
        .await;
    let confirm = plan.button("Confirm");
    assert!(confirm.danger, "expiring a password is a danger button");
    assert_eq!(confirm.asks_first, platform == Platform::Slack);

    let press = h.press(Requester, &plan, "Confirm").await;
    assert!(press.answer.updates_message(), "{:?}", press.answer);
    let waiting = h
        .updated(&press, "waiting for approval", |m| {
            m.text.contains("Waiting for approval")
        })
        .await;
    assert_eq!(waiting.labels(), ["Cancel"], "only Cancel is left");
    let request = h.approvals_message().await;
    assert!(request.text.contains("jane.doe"), "{}", request.text);
    assert_eq!(request.labels(), ["Approve", "Deny"]);
    assert_eq!(request.button("Approve").action, "approve");
    assert_eq!(request.button("Deny").action, "deny");

    // Someone outside both groups, a helpdesk member who is no approver, and the requester
    // herself (an approver too) are all refused, each privately; the request stays as it was.
    for who in [Outsider, Colleague, Requester] {
        let refused = h.press(who, &request, "Approve").await;
        let answer = h.refusal(who, &refused).await;
        assert!(!answer.text.is_empty());
    }
    let unchanged = h.approvals_message_now(&request);
    assert_eq!(unchanged.edits, 0);
    assert_eq!(unchanged.labels(), ["Approve", "Deny"]);
    assert!(h.jumpcloud().record().expirations().is_empty());

    let approved = h.press(Approver, &request, "Approve").await;
    assert!(approved.answer.updates_message(), "{:?}", approved.answer);
    let report = h
        .updated(&approved, "the report", |m| {
            m.buttons.is_empty() && !m.text.contains("Running")
        })
        .await;
    assert!(report.edits >= 1);
    assert!(
        report.text.contains(&h.shown_name(Approver)),
        "{}",
        report.text
    );
    let expirations = h.jumpcloud().record().expirations();
    assert_eq!(expirations.len(), 1);
    assert_eq!(expirations[0].username, "jane.doe");

    // The requester's own message follows: approved, then the report.
    let told = h
        .current(&plan, "the requester's report", |m| {
            m.buttons.is_empty() && m.text.contains("Done")
        })
        .await;
    assert!(told.edits >= 3, "{told:?}");
    assert!(told.text.contains(&h.shown_name(Approver)), "{}", told.text);
    h.audit_message("approved", "expire").await;
    assert_eq!(
        h.audit_events(),
        [
            "requested",
            "confirmed",
            "approval_requested",
            "denied",
            "denied",
            "denied",
            "approved",
            "executed"
        ]
    );
    h.stop().await;
}

async fn a_dry_run_shows_the_plan_and_changes_nothing_and_outsiders_and_direct_messages_are_refused(
    platform: Platform,
) {
    let h = Chat::start(platform).await;
    for (target, shown) in [
        (Target::Group("NewUsers"), "jcuser.one"),
        (Target::User("jcuser.one"), "jcuser.one"),
    ] {
        let plan = h
            .command(
                Requester,
                Command::Reset {
                    target,
                    dry_run: true,
                },
            )
            .await;
        assert_eq!(plan.private_to, Some(h.id(Requester)));
        assert!(plan.buttons.is_empty(), "a dry run has nothing to confirm");
        assert!(plan.text.contains(shown), "{}", plan.text);
        assert!(plan.text.contains("```"), "the plan table: {}", plan.text);
    }
    h.audit_message("dry_run", "reset").await;

    // Someone outside the helpdesk is refused.
    let refused = h
        .command(
            Outsider,
            Command::Reset {
                target: Target::User("jcuser.one"),
                dry_run: false,
            },
        )
        .await;
    assert!(refused.buttons.is_empty());
    assert_eq!(refused.private_to, Some(h.id(Outsider)));
    assert!(h.jumpcloud().record().mails().is_empty());
    let mut expected = vec!["requested", "dry_run", "requested", "dry_run", "denied"];

    // Where the platform has direct messages with the bot: they carry no server and no roles.
    if let Some(refused) = h
        .direct_message(Requester, Command::Expire { user: "jane.doe" })
        .await
    {
        assert_eq!(refused.private_to, Some(h.id(Requester)));
        assert!(refused.buttons.is_empty());
        assert!(refused.text.contains("direct messages"), "{}", refused.text);
        expected.push("denied");
    }
    assert!(h.jumpcloud().record().expirations().is_empty());
    assert_eq!(h.audit_events(), expected);
    h.stop().await;
}

async fn the_notification_password_goes_from_the_modal_to_the_mail_and_nowhere_else(
    platform: Platform,
) {
    let h = Chat::start(platform).await;
    let plan = h
        .command(
            Requester,
            Command::Notify {
                resource_type: "1000",
                mapping: "10",
            },
        )
        .await;
    assert!(
        plan.text.contains("grace.hopper@acme.example"),
        "{}",
        plan.text
    );
    let confirm = h.press(Requester, &plan, "Confirm").await;
    let ask = h
        .updated(&confirm, "the password button", |m| {
            m.buttons
                .iter()
                .any(|b| b.label == "Enter password and send")
        })
        .await;
    assert_eq!(ask.button("Enter password and send").action, "password");
    let open = h.press(Requester, &ask, "Enter password and send").await;
    assert_eq!(open.answer, Answer::Modal, "the password prompt is a modal");

    let submit = h.submit_password(Requester, &open, PASSWORD).await;
    assert!(submit.answer.updates_message(), "{:?}", submit.answer);
    let sent = h
        .updated(&submit, "the report", |m| m.buttons.is_empty())
        .await;
    assert!(!sent.text.contains(PASSWORD));
    assert_eq!(h.notifications_sent(), 1, "one notification mail");
    h.audit_message("executed", "notify").await;

    // The password went into the mail only: not into any request to the chat service or
    // answer to its deliveries, any message anyone sees, the audit log or a log line.
    let secrets = h.service_secrets();
    let transcript = h.stop().await;
    assert!(
        transcript.audit_log.contains("\"event\":\"executed\""),
        "{}",
        transcript.audit_log
    );
    assert!(
        !transcript.audit_log.contains(PASSWORD),
        "the audit log holds the password"
    );
    assert!(!transcript.recorded.is_empty());
    for body in &transcript.recorded {
        assert!(!body.contains(PASSWORD), "recorded: {body}");
    }
    let logs = logged();
    assert!(
        logs.contains("submit_password"),
        "the capture saw the submit"
    );
    assert!(!logs.contains(PASSWORD), "a log line holds the password");
    for secret in secrets {
        assert!(!logs.contains(&secret), "a log line holds a service secret");
    }
}

async fn a_bulk_reset_is_deferred_and_shows_progress_at_a_bounded_rate(platform: Platform) {
    const MEMBERS: usize = 150;
    let users: Vec<String> = (0..MEMBERS).map(|i| format!("bulk.{i:04}")).collect();
    let seed = passdesk_sim::demo::jumpcloud_seed()
        .users(generated_users("bulk", MEMBERS))
        .add_group_members("Bulk Starters", users);
    let h = Chat::start_with(platform, seed).await;
    let plan = h
        .command(
            Requester,
            Command::Reset {
                target: Target::Group("Bulk Starters"),
                dry_run: false,
            },
        )
        .await;
    assert_eq!(plan.labels(), ["Confirm", "Cancel"]);
    let confirm = plan.button("Confirm");
    assert!(confirm.danger, "a bulk request gets a danger Confirm");
    assert_eq!(
        confirm.asks_first,
        platform == Platform::Slack,
        "Slack asks in its confirm dialog first"
    );

    let press = h.press(Requester, &plan, "Confirm").await;
    assert_eq!(
        press.answer,
        Answer::DeferredUpdate,
        "150 mails take longer than the ack budget"
    );
    let done = h
        .updated(&press, "the report", |m| {
            m.buttons.is_empty() && !m.text.contains("Running")
        })
        .await;
    assert_eq!(
        done.private_to,
        Some(h.id(Requester)),
        "the report stays private"
    );
    assert_eq!(h.jumpcloud().record().mails().len(), MEMBERS);

    let progress = h.progress_updates(&press);
    assert!(!progress.is_empty(), "the message showed progress");
    assert!(
        progress[0].contains(&format!("/{MEMBERS} done")),
        "{}",
        progress[0]
    );
    h.stop().await;
}

/// JumpCloud answering slowly: the command is acknowledged long before the look-up ends, and
/// the confirmation it needs still reaches the requester (Discord: type 5 then an edit of the
/// original; Slack: "Working on it" then a `response_url` post), and can be confirmed.
async fn a_slow_directory_never_delays_the_acknowledgement(platform: Platform) {
    const LATENCY: Duration = Duration::from_millis(800);
    let h = Chat::start(platform).await;
    h.jumpcloud().set_latency(LATENCY);
    let plan = h
        .command(
            Requester,
            Command::Reset {
                target: Target::User("jcuser.one"),
                dry_run: false,
            },
        )
        .await;
    let acked_in = plan.acked_in.unwrap();
    assert!(
        acked_in < Duration::from_millis(300),
        "acknowledged after {acked_in:?}, though JumpCloud takes {LATENCY:?} per request"
    );
    assert_eq!(plan.answer, Some(Answer::DeferredMessage));
    assert!(
        !h.jumpcloud().record().requests().is_empty(),
        "the plan came from JumpCloud"
    );
    assert_eq!(plan.private_to, Some(h.id(Requester)));
    assert!(plan.text.contains("jcuser.one"), "{}", plan.text);
    assert_eq!(plan.labels(), ["Confirm", "Cancel"]);

    h.jumpcloud().set_latency(Duration::ZERO);
    let press = h.press(Requester, &plan, "Confirm").await;
    assert!(press.answer.updates_message(), "{:?}", press.answer);
    h.updated(&press, "the report", |m| m.buttons.is_empty())
        .await;
    let mails = h.jumpcloud().record().mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].username, "jcuser.one");
    h.stop().await;
}

/// A usage error needs nothing but the parser: it is the first answer itself, at once, with
/// nothing asked of JumpCloud and nothing audited.
async fn a_usage_error_is_answered_directly(platform: Platform) {
    let h = Chat::start(platform).await;
    let usage = h.command(Requester, Command::ResetNobody).await;
    assert_eq!(
        usage.answer,
        Some(Answer::Message),
        "answered in the first response"
    );
    assert_eq!(usage.private_to, Some(h.id(Requester)));
    assert!(usage.buttons.is_empty());
    assert!(usage.text.to_lowercase().contains("user"), "{}", usage.text);
    assert!(h.jumpcloud().record().requests().is_empty());
    assert!(h.audit_events().is_empty(), "{:?}", h.audit_events());
    h.stop().await;
}
