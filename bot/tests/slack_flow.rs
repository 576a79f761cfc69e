//! The Slack adapter end to end, as Slack users would drive it: the bot's real endpoints
//! (`passdesk_bot::server::router` with the Slack routes) on 127.0.0.1, the fake Slack signing
//! and POSTing slash commands and interactions to them and serving the Web API and the
//! `response_url`s the bot answers through, the demo's JumpCloud and Identity Manager
//! simulators behind the engine, and a configuration read from TOML with its secrets from a map.
//!
//! What a helpdesk would check: a plan comes back privately within 3 s with Confirm / Cancel;
//! Confirm acts on JumpCloud and replaces the plan with the outcome; the audit channel hears of
//! it; only an approver other than the requester can approve; a dry run changes nothing; the
//! notification password goes from the modal to the mail and nowhere else; a bulk job shows
//! its progress through the `response_url` without running out of Slack's five posts.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use passdesk_bot::server::{self, Server, ServerState};
use passdesk_bot::slack::http::{COMMANDS_PATH, INTERACTIONS_PATH};
use passdesk_bot::slack::{CoreSettings, Slack};
use passdesk_config::{Config, MapEnv};
use passdesk_sim::demo::DemoEnvironment;
use passdesk_sim::jumpcloud::MailKind;
use passdesk_sim::slack::{
    Endpoint, FakeChannel, FakeUser, MessageView, PostOutcome, SignedRequest, SlackFake,
};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TEAM: &str = "T0PASSDESK";
const HELPDESK: &str = "C0HELPDESK";
const APPROVALS: &str = "C0APPROVAL";
const AUDIT: &str = "C0AUDIT01";
const HELPDESK_GROUP: &str = "S0HELPDESK";
/// A notification password no recorded request, response post or audit line may contain.
const PASSWORD: &str = "Sl4ck-n0tify-S3cret-77!";
/// How long one step may take before the test gives up (never waited otherwise).
const WAIT: Duration = Duration::from_secs(20);

fn ana() -> FakeUser {
    FakeUser::new("U0REQUEST1", "ana")
}
fn bo() -> FakeUser {
    FakeUser::new("U0APPROVER", "bo")
}
fn carl() -> FakeUser {
    FakeUser::new("U0OUTSIDE1", "carl")
}

struct Harness {
    fake: SlackFake,
    env: DemoEnvironment,
    slack: Option<Slack>,
    commands: String,
    interactions: String,
    audit_path: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), server::ServerError>>>,
    _dir: TempDir,
}

fn config_text(env: &DemoEnvironment, fake: &SlackFake, dir: &Path) -> String {
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_TEST_JC_KEY" }}

[identity_manager]
application_uri = "{im}"
client_id = "{client}"
client_secret = {{ env = "PD_TEST_IM_SECRET" }}

[identity_manager.mail]
from_address = "passdesk@acme.example"
allowed_domains = ["acme.example", "acme.admin", "example.com"]
pickup_directory = "{pickup}"

[slack]
signing_secret = {{ env = "PD_TEST_SLACK_SECRET" }}
bot_token = {{ env = "PD_TEST_SLACK_TOKEN" }}
app_id = "{app}"
approvals_channel = "{APPROVALS}"
audit_channel = "{AUDIT}"
api_base_url = "{api}"

[slack.teams]
{TEAM} = "default"

[groups.helpdesk]
slack_usergroups = ["{HELPDESK_GROUP}"]

[groups.approver]
slack_users = ["U0APPROVER"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[policy.expire]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "always"
approver_groups = ["approver"]

[policy.notify]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[limits]
max_targets = 2500
confirmation_ttl_seconds = 120
approval_ttl_seconds = 900
cooldown_seconds = 0
max_per_hour = 10000

[bulk]
concurrency = 2
rate_per_second = 10
progress_interval_ms = 250

[audit]
path = "{audit}"

[server]
listen = "127.0.0.1:0"
"#,
        jumpcloud = env.jumpcloud_base_url(),
        im = env.identity_manager_uri(),
        client = env.im_client_id(),
        pickup = env.pickup_dir.display(),
        app = fake.app_id(),
        api = fake.api_url(),
        audit = dir.join("audit.jsonl").display(),
    )
}

impl Harness {
    async fn start() -> Harness {
        let env = DemoEnvironment::start().await.unwrap();
        let fake = SlackFake::builder()
            .user(ana())
            .user(bo())
            .user(carl())
            .user_group(HELPDESK_GROUP, [ana().id])
            .channel(FakeChannel::public(HELPDESK, "helpdesk"))
            .channel(FakeChannel::public(APPROVALS, "passdesk-approvals"))
            .channel(FakeChannel::public(AUDIT, "passdesk-audit"))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(&env, &fake, dir.path());
        let vars = MapEnv::new()
            .with("PD_TEST_JC_KEY", env.jumpcloud_api_key())
            .with("PD_TEST_IM_SECRET", env.im_client_secret())
            .with("PD_TEST_SLACK_SECRET", fake.signing_secret())
            .with("PD_TEST_SLACK_TOKEN", fake.bot_token());
        let config = Config::from_toml_str(&text, &vars).unwrap();
        let listen = config.server.listen;
        let settings = CoreSettings::from_config(config.slack.as_ref().unwrap())
            .with_progress(Duration::from_millis(300), 3);
        let slack = Slack::start_with(config, settings).await.unwrap();
        let state = server::slack_state(slack.config(), Arc::new(slack.core().clone()));
        let server = Server::bind(listen, server::router(ServerState::new().with_slack(state)))
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Harness {
            fake,
            env,
            slack: Some(slack),
            commands: format!("http://{addr}{COMMANDS_PATH}"),
            interactions: format!("http://{addr}{INTERACTIONS_PATH}"),
            audit_path: dir.path().join("audit.jsonl"),
            stop: Some(stop),
            serving: Some(serving),
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.serving.take().unwrap().await.unwrap().unwrap();
        self.slack.take().unwrap().shutdown().await;
    }

    /// `/passdesk <text>` in the helpdesk channel: the ephemeral message it leaves (the plan),
    /// after the "working on it" ack was replaced when the engine was slower than the budget.
    async fn slash(&self, user: &FakeUser, text: &str) -> (SignedRequest, MessageView) {
        let request = self
            .fake
            .slash_command(user, TEAM, HELPDESK, "/passdesk", text)
            .unwrap();
        let delivery = self.fake.deliver(&self.commands, &request).await.unwrap();
        assert_eq!(delivery.status, 200, "{}", delivery.text());
        assert!(delivery.elapsed < Duration::from_secs(3), "acked in time");
        assert_eq!(delivery.problem, None);
        let ack = delivery.message.expect("the ack shows a message");
        assert!(ack.is_ephemeral(), "only the requester sees it");
        let message = if ack.visible_text().contains("Working on it") {
            let url = request.response_url.clone().unwrap();
            self.fake
                .wait_for_response_posts(&url, 1, WAIT)
                .await
                .unwrap();
            self.fake.message(HELPDESK, &ack.ts).unwrap()
        } else {
            ack
        };
        (request, message)
    }

    /// `user` presses the button `action_id` on `message`; waits for `posts` posts to the
    /// press's `response_url`.
    async fn press(
        &self,
        user: &FakeUser,
        message: &MessageView,
        action_id: &str,
    ) -> SignedRequest {
        let press = self
            .fake
            .press_button(user, message, action_id, None)
            .unwrap();
        let delivery = self.fake.deliver(&self.interactions, &press).await.unwrap();
        assert_eq!(delivery.status, 200);
        assert!(delivery.body.is_empty(), "a block_actions ack has no body");
        press
    }

    async fn posts(&self, press: &SignedRequest, count: usize) -> Vec<serde_json::Value> {
        let url = press.response_url.as_deref().unwrap();
        self.fake
            .wait_for_response_posts(url, count, WAIT)
            .await
            .unwrap()
            .into_iter()
            .map(|post| {
                assert!(post.accepted(), "refused: {:?}", post.outcome);
                post.body
            })
            .collect()
    }

    /// Waits until the audit channel shows a message containing `text`.
    async fn audit_message(&self, text: &str) -> MessageView {
        self.fake
            .wait_until(&format!("an audit message with {text:?}"), WAIT, |fake| {
                fake.channel_messages(AUDIT)
                    .into_iter()
                    .find(|m| m.visible_text().contains(text))
            })
            .await
            .unwrap()
    }

    fn audit_log(&self) -> String {
        std::fs::read_to_string(&self.audit_path).unwrap_or_default()
    }

    fn audit_transitions(&self) -> Vec<String> {
        self.audit_log()
            .lines()
            .map(|line| {
                let json: serde_json::Value = serde_json::from_str(line).unwrap();
                json["event"].as_str().unwrap().to_owned()
            })
            .collect()
    }
}

fn action_ids(message: &MessageView) -> Vec<String> {
    message.buttons().into_iter().map(|b| b.action_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_reset_acts_on_jumpcloud_replaces_the_plan_and_reaches_the_audit_channel() {
    let h = Harness::start().await;
    let (_, plan) = h.slash(&ana(), "reset user:jcuser.one").await;
    assert!(
        plan.visible_text().contains("jcuser.one"),
        "{}",
        plan.visible_text()
    );
    assert_eq!(action_ids(&plan), ["pd:confirm", "pd:cancel"]);
    assert!(
        h.env.jumpcloud.record().mails().is_empty(),
        "nothing before Confirm"
    );

    let press = h.press(&ana(), &plan, "pd:confirm").await;
    let posts = h.posts(&press, 1).await;
    assert_eq!(posts[0]["replace_original"], true, "{}", posts[0]);
    let mails = h.env.jumpcloud.record().mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].username, "jcuser.one");
    assert!(matches!(
        mails[0].kind,
        MailKind::Reset | MailKind::Activation
    ));

    let now = h.fake.message(HELPDESK, &plan.ts).unwrap();
    assert!(now.is_ephemeral(), "still private");
    assert!(
        now.buttons().is_empty(),
        "the buttons are gone: {:?}",
        now.buttons()
    );
    assert!(
        now.visible_text().contains("jcuser.one"),
        "{}",
        now.visible_text()
    );

    let audit = h.audit_message("executed").await;
    assert!(
        audit.visible_text().contains("reset"),
        "{}",
        audit.visible_text()
    );
    assert!(
        audit.visible_text().contains("<@U0REQUEST1>"),
        "{}",
        audit.visible_text()
    );
    // Every Web API call carried the token in the header, never in the body.
    for request in h.fake.requests() {
        assert!(!request.token_in_body, "{}", request.path);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_needs_an_approver_other_than_the_requester_and_others_are_refused() {
    let h = Harness::start().await;
    let (_, plan) = h.slash(&ana(), "expire jcuser.one").await;
    let confirm = h.press(&ana(), &plan, "pd:confirm").await;
    let posts = h.posts(&confirm, 1).await;
    assert_eq!(posts[0]["replace_original"], true);
    let waiting = h.fake.message(HELPDESK, &plan.ts).unwrap();
    assert!(
        waiting
            .buttons()
            .iter()
            .all(|b| b.action_id != "pd:confirm")
    );

    let request = h
        .fake
        .wait_for_channel_messages(APPROVALS, 1, WAIT)
        .await
        .unwrap()
        .remove(0);
    assert!(
        request.visible_text().contains("jcuser.one"),
        "{}",
        request.visible_text()
    );
    assert_eq!(action_ids(&request), ["pd:approve", "pd:deny"]);

    // The requester may not approve their own request; someone outside the approvers neither.
    for user in [ana(), carl()] {
        let press = h.press(&user, &request, "pd:approve").await;
        let posts = h.posts(&press, 1).await;
        assert_eq!(posts[0]["replace_original"], false, "{}", posts[0]);
        assert_eq!(posts[0]["response_type"], "ephemeral");
        let refusal = h
            .fake
            .wait_for_ephemerals(APPROVALS, &user.id, 1, WAIT)
            .await
            .unwrap();
        assert!(refusal[0].buttons().is_empty());
    }
    assert!(
        h.env.jumpcloud.record().expirations().is_empty(),
        "refused: nothing ran"
    );
    let unchanged = h.fake.message(APPROVALS, &request.ts).unwrap();
    assert_eq!(action_ids(&unchanged), ["pd:approve", "pd:deny"]);

    // The approver approves: the expiry runs, the approvals message loses its buttons
    // (chat.update), and the requester's private message shows the outcome.
    h.press(&bo(), &request, "pd:approve").await;
    let done = h
        .fake
        .wait_until("the approvals message with the outcome", WAIT, |fake| {
            fake.message(APPROVALS, &request.ts)
                .filter(|m| m.buttons().is_empty() && !m.visible_text().contains("Running"))
        })
        .await
        .unwrap();
    assert!(done.edits >= 1);
    let expirations = h.env.jumpcloud.record().expirations();
    assert_eq!(expirations.len(), 1);
    assert_eq!(expirations[0].username, "jcuser.one");
    assert!(!h.fake.requests_to(Endpoint::ChatUpdate).is_empty());
    let url = confirm.response_url.as_deref().unwrap();
    let requester_posts = h.fake.wait_for_response_posts(url, 3, WAIT).await.unwrap();
    assert!(requester_posts.iter().all(|p| p.accepted()));
    assert!(requester_posts.len() <= 5);
    h.audit_message("approved").await;
    let transitions = h.audit_transitions();
    assert!(
        transitions.iter().any(|t| t == "approval_requested"),
        "{transitions:?}"
    );
    assert!(transitions.iter().any(|t| t == "denied"), "{transitions:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_plan_and_changes_nothing() {
    let h = Harness::start().await;
    for text in [
        "reset user:jcuser.one dry-run:true",
        "reset user jcuser.one --dry-run",
    ] {
        let (_, plan) = h.slash(&ana(), text).await;
        assert!(
            plan.visible_text().contains("jcuser.one"),
            "{}",
            plan.visible_text()
        );
        assert!(
            plan.buttons().is_empty(),
            "a dry run has nothing to confirm"
        );
    }
    // Someone outside the helpdesk group is refused.
    let (_, refused) = h.slash(&carl(), "reset user:jcuser.one").await;
    assert!(refused.buttons().is_empty());
    assert!(h.env.jumpcloud.record().mails().is_empty());
    h.audit_message("dry_run").await;
    let transitions = h.audit_transitions();
    assert_eq!(
        transitions.iter().filter(|t| *t == "dry_run").count(),
        2,
        "{transitions:?}"
    );
    assert!(transitions.iter().any(|t| t == "denied"), "{transitions:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notification_password_goes_from_the_modal_to_the_mail_and_nowhere_else() {
    let h = Harness::start().await;
    let (_, plan) = h.slash(&ana(), "notify 1000 10").await;
    assert!(
        plan.visible_text().contains("grace.hopper@acme.example"),
        "{}",
        plan.visible_text()
    );
    let confirm = h.press(&ana(), &plan, "pd:confirm").await;
    h.posts(&confirm, 1).await;
    let prompt = h.fake.message(HELPDESK, &plan.ts).unwrap();
    assert!(
        action_ids(&prompt).contains(&"pd:password".to_owned()),
        "{:?}",
        action_ids(&prompt)
    );

    let open = h.press(&ana(), &prompt, "pd:password").await;
    let view = h
        .fake
        .wait_until("the password modal", WAIT, |fake| {
            fake.views().into_iter().find(|v| v.open)
        })
        .await
        .unwrap();
    let metadata = view.private_metadata.clone().unwrap();
    assert!(!metadata.contains("hooks"), "no response_url in the modal");
    assert_eq!(view.inputs().len(), 1);

    let submit = h
        .fake
        .submit_view(&ana(), &view.id, &[("pd:pw", PASSWORD)])
        .unwrap();
    let delivery = h.fake.deliver(&h.interactions, &submit).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert_eq!(delivery.problem, None);
    assert!(!h.fake.view(&view.id).unwrap().open, "the modal closed");
    let posts = h.posts(&open, 1).await;
    assert_eq!(posts[0]["replace_original"], true);
    let done = h.fake.message(HELPDESK, &plan.ts).unwrap();
    assert!(done.buttons().is_empty(), "{}", done.visible_text());
    let sent = h.env.sent();
    assert_eq!(sent.notifications.len(), 1, "one notification mail");
    h.audit_message("executed").await;

    // The password is nowhere but the submission itself and the mail.
    let encoded: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    for request in h.fake.requests() {
        assert!(!request.body.contains(PASSWORD), "{}", request.path);
        assert!(!request.body.contains(&encoded), "{}", request.path);
    }
    for url in [&plan_url(&confirm), &plan_url(&open)] {
        for post in h.fake.response_posts(url) {
            assert!(!post.body.to_string().contains(PASSWORD));
        }
    }
    for message in h.fake.visible_to(&ana().id, HELPDESK) {
        assert!(!message.visible_text().contains(PASSWORD));
    }
    for message in h.fake.channel_messages(AUDIT) {
        assert!(!message.json().to_string().contains(PASSWORD));
    }
    assert!(
        !h.audit_log().contains(PASSWORD),
        "the audit log holds the password"
    );
    assert!(!h.audit_log().is_empty());
    h.stop().await;
}

fn plan_url(press: &SignedRequest) -> String {
    press.response_url.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_reset_shows_progress_through_the_response_url_within_its_five_posts() {
    let h = Harness::start().await;
    let (_, plan) = h.slash(&ana(), "reset group:NewUsers").await;
    assert_eq!(action_ids(&plan), ["pd:confirm", "pd:cancel"]);
    let confirm = plan.button("pd:confirm").unwrap();
    assert!(
        confirm.has_confirm,
        "a bulk Confirm asks Slack's confirm dialog first"
    );
    let press = h.press(&ana(), &plan, "pd:confirm").await;
    let url = press.response_url.clone().unwrap();
    // Wait for the report: a post without the progress bar.
    let posts = h
        .fake
        .wait_until("the report", WAIT, |fake| {
            let posts = fake.response_posts(&url);
            let done = posts
                .last()
                .is_some_and(|p| !p.body.to_string().contains("Running"));
            done.then_some(posts)
        })
        .await
        .unwrap();
    assert!(posts.len() <= 5, "{} posts", posts.len());
    assert!(posts.iter().all(|p| p.accepted()));
    assert!(
        posts
            .iter()
            .all(|p| matches!(p.outcome, PostOutcome::Replaced(_))),
        "every post edits the same private message"
    );
    let progress = posts
        .iter()
        .filter(|p| p.body.to_string().contains("Running"))
        .count();
    assert!((1..=3).contains(&progress), "{progress} progress posts");
    let report = h.fake.message(HELPDESK, &plan.ts).unwrap();
    assert!(report.buttons().is_empty());
    assert!(h.env.jumpcloud.record().mails().len() > 5);
    h.stop().await;
}
