//! The Discord adapter end to end, in BOTH modes from one set of scenarios: each runs once over
//! the gateway (`gateway::…`: serenity's client, interactions dispatched on the fake's gateway)
//! and once over the HTTP interactions endpoint (`http::…`: the bot's server on 127.0.0.1, the
//! fake signing and POSTing interactions to it). Everything else is the same real sockets: the
//! fake Discord's REST API, the JumpCloud and Identity Manager simulators, a configuration read
//! from TOML with its secrets from a map. People click as Discord users would: the fake builds
//! their interactions and shows what they would see.

// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use passdesk_sim::discord::{Auth, CommandOption, Route};
use passdesk_sim::jumpcloud::{MailKind, generated_users};
use support::{
    APPROVALS, APPROVER_ROLE, AUDIT, Driver, HELPDESK_ROLE, Mode, PASSWORD, TOKEN, alice,
    audit_events, bob, button_id, carol, dave, embed, embed_title, in_both_modes, logged,
};

in_both_modes!(
    a_confirmed_reset_runs_on_jumpcloud_updates_the_prompt_and_reaches_the_audit_channel,
    an_expiry_needs_an_approver_other_than_the_requester_and_everyone_else_is_refused,
    a_dry_run_shows_the_plan_and_changes_nothing_and_a_direct_message_is_refused_clearly,
    the_notification_password_goes_from_the_modal_to_the_mail_and_nowhere_else,
    a_bulk_reset_is_deferred_and_shows_progress_at_a_bounded_rate,
);

async fn a_confirmed_reset_runs_on_jumpcloud_updates_the_prompt_and_reaches_the_audit_channel(
    mode: Mode,
) {
    let h = Driver::start(mode).await;
    let roles = [HELPDESK_ROLE];
    let (command, callback, prompt) = h
        .slash(
            &alice(),
            &roles,
            "reset",
            vec![CommandOption::sub_command(
                "user",
                vec![CommandOption::string("user", "jcuser.one")],
            )],
        )
        .await;
    assert_eq!(
        callback.kind, 4,
        "one lookup is answered at once: {callback:?}"
    );
    assert!(callback.is_ephemeral(), "the confirmation is ephemeral");
    assert!(prompt.is_ephemeral(), "only the requester sees the plan");
    assert_eq!(prompt.visible_to, Some(alice().id));
    assert!(
        prompt.visible_text().contains("jcuser.one"),
        "{}",
        prompt.visible_text()
    );
    let buttons = prompt.buttons();
    assert_eq!(buttons.len(), 2, "{buttons:?}");
    assert_eq!(buttons[0].label.as_deref(), Some("Confirm"));
    assert_eq!(buttons[0].style, 1, "one user: a primary Confirm");
    assert_eq!(buttons[1].label.as_deref(), Some("Cancel"));
    let confirm = button_id(&prompt, "Confirm");
    assert!(
        confirm.starts_with("pd:confirm:") && confirm.len() == 43,
        "{confirm}"
    );
    assert!(
        h.jumpcloud.record().mails().is_empty(),
        "nothing before Confirm"
    );

    let (press, callback) = h.press(&alice(), &roles, &prompt, &confirm).await;
    assert!(
        matches!(callback.kind, 6 | 7),
        "the press updates the message: {callback:?}"
    );
    let done = h
        .message_where(press.id(), "the report", |m| m.buttons().is_empty())
        .await;
    assert_eq!(done.id, prompt.id, "the prompt itself is updated");
    assert!(done.edits > 0, "{done:?}");
    assert!(done.is_ephemeral());
    let original = h.fake.original_response(command.id()).unwrap();
    assert_eq!(
        original.id, prompt.id,
        "the command's own message is updated"
    );
    assert!(original.buttons().is_empty(), "Confirm is gone");
    let text = done.visible_text();
    assert!(text.contains("jcuser.one"), "{text}");
    let mails = h.jumpcloud.record().mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].username, "jcuser.one");
    assert_eq!(mails[0].kind, MailKind::Activation);

    let audit = h.channel_embed(AUDIT, "executed · reset").await;
    let audit_text_shown = audit.visible_text();
    assert!(
        audit_text_shown.contains(&format!("<@{}>", alice().id)),
        "{audit_text_shown}"
    );
    assert!(
        audit_text_shown.contains("jcuser.one"),
        "{audit_text_shown}"
    );
    assert!(
        audit_text_shown.contains("done 1, skipped 0, failed 0, unknown 0"),
        "{audit_text_shown}"
    );
    assert!(
        embed(&audit)["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with("seq "),
        "{audit:?}"
    );
    assert_eq!(
        audit_events(&h.audit_log()),
        ["requested", "confirmed", "executed"]
    );
    // Every audit post used the bot token on the channel route.
    let posts = h.fake.requests_to(Route::CreateMessage);
    assert!(!posts.is_empty());
    for post in posts {
        assert_eq!(post.auth, Auth::Valid);
    }
    h.stop().await;
}

async fn an_expiry_needs_an_approver_other_than_the_requester_and_everyone_else_is_refused(
    mode: Mode,
) {
    let h = Driver::start(mode).await;
    let helpdesk = [HELPDESK_ROLE];
    let (command, _, prompt) = h
        .slash(
            &alice(),
            &helpdesk,
            "expire",
            vec![CommandOption::string("user", "jane.doe")],
        )
        .await;
    let confirm = prompt.button(&button_id(&prompt, "Confirm")).unwrap();
    assert_eq!(confirm.style, 4, "expiring a password is a danger button");

    let (press, _) = h
        .press(
            &alice(),
            &helpdesk,
            &prompt,
            confirm.custom_id.as_deref().unwrap(),
        )
        .await;
    let waiting = h
        .message_where(press.id(), "waiting for approval", |m| {
            embed_title(m) == "Waiting for approval"
        })
        .await;
    assert_eq!(waiting.buttons().len(), 1, "only Cancel is left");
    let request = h.channel_embed(APPROVALS, "Approval needed").await;
    assert!(!request.is_ephemeral(), "approvers see it in their channel");
    assert!(request.visible_text().contains("jane.doe"));
    let approve = button_id(&request, "Approve");
    assert!(button_id(&request, "Deny").starts_with("pd:deny:"));

    // Someone without a role, a helpdesk member who is no approver, and the requester herself
    // are all refused, each privately; the request stays as it was.
    for (who, roles) in [
        (dave(), vec![]),
        (bob(), vec![HELPDESK_ROLE]),
        (alice(), vec![HELPDESK_ROLE, APPROVER_ROLE]),
    ] {
        let (refused, callback) = h.press(&who, &roles, &request, &approve).await;
        assert_eq!(
            callback.kind, 4,
            "a new message, not an update: {callback:?}"
        );
        assert!(callback.is_ephemeral(), "{callback:?}");
        let answer = h.settled(refused.id()).await;
        assert_eq!(answer.visible_to, Some(who.id));
        assert_eq!(
            embed(&answer)["color"],
            0xED4245,
            "{}",
            answer.visible_text()
        );
    }
    let unchanged = h.fake.message(APPROVALS, request.id).unwrap();
    assert_eq!(unchanged.edits, 0);
    assert!(h.jumpcloud.record().expirations().is_empty());

    let (approved, callback) = h
        .press(&carol(), &[APPROVER_ROLE], &request, &approve)
        .await;
    assert!(matches!(callback.kind, 6 | 7), "{callback:?}");
    let report = h
        .message_where(approved.id(), "the report", |m| m.buttons().is_empty())
        .await;
    assert_eq!(
        report.id, request.id,
        "the approvals message shows the outcome"
    );
    assert!(
        report.visible_text().contains("Carol Approver"),
        "{}",
        report.visible_text()
    );
    let expirations = h.jumpcloud.record().expirations();
    assert_eq!(expirations.len(), 1);
    assert_eq!(expirations[0].username, "jane.doe");

    // The requester's own message follows: approved, then the report.
    let told = h
        .message_where(command.id(), "the requester's report", |m| {
            m.buttons().is_empty() && embed_title(m).starts_with("Done")
        })
        .await;
    assert_eq!(told.id, prompt.id);
    assert!(
        told.visible_text().contains("Carol Approver"),
        "{}",
        told.visible_text()
    );
    assert_eq!(
        audit_events(&h.audit_log()),
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

async fn a_dry_run_shows_the_plan_and_changes_nothing_and_a_direct_message_is_refused_clearly(
    mode: Mode,
) {
    let h = Driver::start(mode).await;
    let (_, callback, plan) = h
        .slash(
            &alice(),
            &[HELPDESK_ROLE],
            "reset",
            vec![CommandOption::sub_command(
                "group",
                vec![
                    CommandOption::string("group", "NewUsers"),
                    CommandOption::boolean("dry-run", true),
                ],
            )],
        )
        .await;
    assert!(matches!(callback.kind, 4 | 5), "{callback:?}");
    assert!(plan.is_ephemeral());
    assert!(
        plan.buttons().is_empty(),
        "a dry run has nothing to confirm"
    );
    let description = embed(&plan)["description"].as_str().unwrap();
    assert!(description.contains("```"), "the plan table: {description}");
    assert!(description.contains("jcuser.one"), "{description}");
    h.channel_embed(AUDIT, "dry_run · reset").await;
    assert!(h.jumpcloud.record().mails().is_empty());

    // A direct message carries no server and no roles.
    let dm = h.fake.dm_slash_command(
        &alice(),
        1_310_000_000_000_000_900,
        "expire",
        vec![CommandOption::string("user", "jane.doe")],
    );
    h.deliver(&dm).await;
    h.accepted(&dm).await;
    let refused = h.settled(dm.id()).await;
    assert!(refused.is_ephemeral());
    assert!(refused.buttons().is_empty());
    assert!(
        refused.visible_text().contains("direct messages"),
        "{}",
        refused.visible_text()
    );
    assert!(h.jumpcloud.record().expirations().is_empty());
    assert_eq!(
        audit_events(&h.audit_log()),
        ["requested", "dry_run", "denied"]
    );
    h.stop().await;
}

async fn the_notification_password_goes_from_the_modal_to_the_mail_and_nowhere_else(mode: Mode) {
    let h = Driver::start(mode).await;
    let roles = [HELPDESK_ROLE];
    let (_, _, prompt) = h
        .slash(
            &alice(),
            &roles,
            "notify",
            vec![
                CommandOption::string("assigned-resource-type", "1000"),
                CommandOption::string("resource-type-mapping", "10"),
            ],
        )
        .await;
    assert!(
        prompt.visible_text().contains("grace.hopper@acme.example"),
        "{}",
        prompt.visible_text()
    );
    let (press, _) = h
        .press(&alice(), &roles, &prompt, &button_id(&prompt, "Confirm"))
        .await;
    let ask = h
        .message_where(press.id(), "the password button", |m| {
            m.buttons()
                .iter()
                .any(|b| b.label.as_deref() == Some("Enter password and send"))
        })
        .await;
    let enter = button_id(&ask, "Enter password and send");
    let (open, callback) = h.press(&alice(), &roles, &ask, &enter).await;
    assert_eq!(
        callback.kind, 9,
        "the password prompt is a modal: {callback:?}"
    );
    let modal = h.fake.modal(open.id()).unwrap();
    let modal_id = modal["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(
        modal_id, enter,
        "the modal carries only the pending action id"
    );
    assert!(
        modal_id.starts_with("pd:password:") && modal_id.len() == 44,
        "{modal_id}"
    );
    let input = &modal["components"][0]["components"][0];
    assert_eq!(input["label"], "Password");
    assert_eq!(input["required"], true);
    assert_eq!(input["max_length"], 256);

    let submit = h
        .fake
        .submit_modal(&alice(), &roles, &modal_id, &[("password", PASSWORD)])
        .unwrap();
    h.deliver(&submit).await;
    let callback = h.accepted(&submit).await;
    assert!(matches!(callback.kind, 6 | 7), "{callback:?}");
    let sent = h
        .message_where(submit.id(), "the report", |m| m.buttons().is_empty())
        .await;
    assert_eq!(sent.id, prompt.id);
    let mails: Vec<_> = std::fs::read_dir(h.pickup())
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(mails.len(), 1, "one notification mail");
    h.channel_embed(AUDIT, "executed · notify").await;

    // The password went into the mail only: not into any request to Discord or answer to its
    // deliveries, the audit log, or any message anyone sees.
    let answers = h.http_answers();
    assert_eq!(
        answers.len(),
        if mode == Mode::Http { 4 } else { 0 },
        "one answer per delivery over http"
    );
    for answer in answers {
        assert!(!answer.contains(PASSWORD), "an answer carried the password");
    }
    let (fake, audit) = h.stop().await;
    assert!(audit.contains("\"event\":\"executed\""), "{audit}");
    assert!(
        !audit.contains(PASSWORD),
        "the audit log holds the password"
    );
    for request in fake.requests() {
        assert!(
            !request.body.contains(PASSWORD),
            "{} {} carried the password",
            request.method,
            request.path
        );
    }
    for callback in fake.callbacks(submit.id()) {
        assert!(!format!("{:?}", callback.data).contains(PASSWORD));
    }
    for message in fake.channel_messages(AUDIT) {
        assert!(!message.visible_text().contains(PASSWORD));
    }
    let logs = logged();
    assert!(
        logs.contains("submit_password"),
        "the capture saw the submit"
    );
    assert!(!logs.contains(PASSWORD), "a log line holds the password");
    assert!(!logs.contains(TOKEN), "a log line holds the bot token");
}

async fn a_bulk_reset_is_deferred_and_shows_progress_at_a_bounded_rate(mode: Mode) {
    const MEMBERS: usize = 150;
    let users: Vec<String> = (0..MEMBERS).map(|i| format!("bulk.{i:04}")).collect();
    let seed = passdesk_sim::demo::jumpcloud_seed()
        .users(generated_users("bulk", MEMBERS))
        .add_group_members("Bulk Starters", users.clone());
    let h = Driver::start_with(mode, seed).await;
    let roles = [HELPDESK_ROLE];
    let (_, _, prompt) = h
        .slash(
            &alice(),
            &roles,
            "reset",
            vec![CommandOption::sub_command(
                "group",
                vec![CommandOption::string("group", "Bulk Starters")],
            )],
        )
        .await;
    let confirm = prompt.button(&button_id(&prompt, "Confirm")).unwrap();
    assert_eq!(confirm.style, 4, "a bulk request gets a danger Confirm");

    let (press, callback) = h
        .press(
            &alice(),
            &roles,
            &prompt,
            confirm.custom_id.as_deref().unwrap(),
        )
        .await;
    assert_eq!(
        callback.kind, 6,
        "150 mails take longer than the ack budget"
    );
    let done = h
        .message_where(press.id(), "the report", |m| {
            m.buttons().is_empty() && embed_title(m) != "Running"
        })
        .await;
    assert_eq!(done.id, prompt.id);
    let mails = h.jumpcloud.record().mails();
    assert_eq!(mails.len(), MEMBERS);

    // Progress edits of this press's message: at least one, at most one per second. Over HTTP
    // the first one can race Discord's taking in the deferral in the endpoint's answer
    // (`404 Unknown Webhook`); the bot then retries it: an attempt right after a refused one
    // is the same edit, and the pace counts from each edit's first attempt.
    let attempts: Vec<_> = h
        .fake
        .requests_to(Route::EditOriginalResponse)
        .into_iter()
        .filter(|r| r.path.contains(press.token()))
        .filter(|r| {
            r.json
                .as_ref()
                .and_then(|j| j["embeds"][0]["title"].as_str())
                == Some("Running")
        })
        .collect();
    let refused: Vec<_> = attempts
        .iter()
        .filter(|r| r.status != Some(200))
        .map(|r| r.status)
        .collect();
    match mode {
        Mode::Gateway => assert!(refused.is_empty(), "{refused:?}"),
        Mode::Http => assert!(refused.iter().all(|s| *s == Some(404)), "{refused:?}"),
    }
    assert!(
        attempts.last().is_some_and(|r| r.status == Some(200)),
        "the message showed progress"
    );
    let progress: Vec<_> = attempts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || attempts[i - 1].status == Some(200))
        .map(|(_, r)| r)
        .collect();
    let started = mails.first().unwrap().at;
    let ended = mails.last().unwrap().at;
    let seconds = (ended - started).num_milliseconds().max(0) as f64 / 1000.0;
    assert!(
        progress.len() as f64 <= seconds + 1.0,
        "{} progress edits for a {seconds} s job",
        progress.len()
    );
    for pair in progress.windows(2) {
        let gap = (pair[1].at - pair[0].at).num_milliseconds();
        assert!(gap >= 900, "two progress edits {gap} ms apart");
    }
    let bar = progress[0].json.as_ref().unwrap()["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(bar.contains(&format!("/{MEMBERS} done")), "{bar}");
    h.stop().await;
}
