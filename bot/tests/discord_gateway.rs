//! The Discord adapter in gateway mode, end to end through real sockets on 127.0.0.1: the
//! fake Discord (`passdesk_sim::discord`, REST and gateway), the JumpCloud and Identity Manager
//! simulators, a configuration read from TOML with its secrets from a map, and the real
//! serenity client started by `Discord::run_gateway`. People click as Discord users would:
//! the fake builds their interactions and shows what they would see.

// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use passdesk_bot::discord::{CoreSettings, Discord};
use passdesk_commands::catalogue;
use passdesk_config::{Config, MapEnv};
use passdesk_sim::discord::{
    CallbackOutcome, CallbackView, CommandOption, DiscordFake, FakeUser, InteractionHandle,
    MessageView, Route,
};
use passdesk_sim::identity_manager::{IdentityManagerSim, seed as im_seed};
use passdesk_sim::jumpcloud::{
    DEFAULT_API_KEY, JumpCloudSim, JumpCloudSimBuilder, MailKind, generated_users,
};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "gateway-test-bot-token-7f3a";
const GUILD: u64 = 1_310_000_000_000_000_100;
const HELPDESK: u64 = 1_310_000_000_000_000_200;
const APPROVALS: u64 = 1_310_000_000_000_000_201;
const AUDIT: u64 = 1_310_000_000_000_000_202;
const HELPDESK_ROLE: u64 = 1_310_000_000_000_000_300;
const APPROVER_ROLE: u64 = 1_310_000_000_000_000_301;
/// A notification password no recorded request, log line or audit line may contain.
const PASSWORD: &str = "Gw-n0tify-S3cret-42!";
/// How long one step may take before the test gives up.
const WAIT: Duration = Duration::from_secs(20);

fn alice() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_501, "alice").global_name("Alice Helpdesk")
}
fn bob() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_502, "bob")
}
fn carol() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_503, "carol").global_name("Carol Approver")
}
fn dave() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_504, "dave")
}

/// `reset` and `notify` without approval, `expire` always approved by an approver.
const POLICIES: &str = r#"
[policy.reset]
groups = ["helpdesk"]
channels = { discord = ["*"] }
approval = "none"

[policy.expire]
groups = ["helpdesk"]
channels = { discord = ["*"] }
approval = "always"
approver_groups = ["approver"]

[policy.notify]
groups = ["helpdesk"]
channels = { discord = ["*"] }
approval = "none"
"#;

/// The configuration, pointing at the simulators and the fake; secrets by reference.
fn config_text(fake: &DiscordFake, jumpcloud: &str, im: &str, dir: &Path) -> String {
    let pickup = dir.join("pickup");
    let audit = dir.join("audit.jsonl");
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_GW_JC_KEY" }}
timeout_seconds = 10
connect_timeout_seconds = 2

[identity_manager]
application_uri = "{im}"
client_id = "{client}"
client_secret = {{ env = "PD_GW_IM_SECRET" }}

[identity_manager.mail]
from_address = "passdesk@acme.example"
allowed_domains = ["acme.example", "acme.admin", "example.com"]
pickup_directory = "{pickup}"

[discord]
application_id = "{app}"
bot_token = {{ env = "PD_GW_DISCORD_TOKEN" }}
mode = "gateway"
approvals_channel = "{APPROVALS}"
audit_channel = "{AUDIT}"
api_base_url = "{api}"

[discord.guilds]
"{GUILD}" = "default"

[groups.helpdesk]
discord_roles = ["{HELPDESK_ROLE}"]

[groups.approver]
discord_roles = ["{APPROVER_ROLE}"]

{POLICIES}

[limits]
max_targets = 2500
confirmation_ttl_seconds = 120
approval_ttl_seconds = 900
cooldown_seconds = 0
max_per_hour = 10000

[bulk]
concurrency = 4
rate_per_second = 40
progress_interval_ms = 250

[audit]
path = "{audit}"
"#,
        client = im_seed::CLIENT_ID,
        app = fake.application_id(),
        api = fake.api_url(),
        pickup = pickup.display(),
        audit = audit.display(),
    )
}

/// The secrets the configuration references.
fn secrets() -> [(&'static str, &'static str); 3] {
    [
        ("PD_GW_JC_KEY", DEFAULT_API_KEY),
        ("PD_GW_IM_SECRET", im_seed::CLIENT_SECRET),
        ("PD_GW_DISCORD_TOKEN", TOKEN),
    ]
}

/// Every log line of this test binary, at trace level for Passdesk and serenity, to scan for
/// secrets. One subscriber for the whole binary (tests run in parallel threads).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,hyper=info,hyper_util=info,h2=info,rustls=info,tungstenite=info,\
                 tokio_tungstenite=info,axum=info,tower=info",
            ))
            .with_ansi(false)
            .with_writer(move || LogSink(Arc::clone(&sink)))
            .try_init();
        buffer
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

async fn start_fake() -> DiscordFake {
    logs();
    DiscordFake::builder()
        .bot_token(TOKEN)
        .guild(GUILD, [HELPDESK, APPROVALS, AUDIT])
        .heartbeat_interval(Duration::from_secs(2))
        .start()
        .await
        .unwrap()
}

/// The simulators, the fake and the adapter connected over the gateway.
struct Harness {
    fake: DiscordFake,
    jumpcloud: JumpCloudSim,
    _im: IdentityManagerSim,
    dir: TempDir,
    discord: Arc<Discord>,
    stop: Option<oneshot::Sender<()>>,
    gateway: Option<JoinHandle<Result<(), passdesk_bot::discord::DiscordError>>>,
}

impl Harness {
    async fn start() -> Harness {
        Self::start_with(passdesk_sim::demo::jumpcloud_seed()).await
    }

    async fn start_with(jumpcloud: JumpCloudSimBuilder) -> Harness {
        let fake = start_fake().await;
        let jumpcloud = jumpcloud.start().await.unwrap();
        let im = IdentityManagerSim::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pickup")).unwrap();
        let text = config_text(&fake, &jumpcloud.base_url(), &im.base_url(), dir.path());
        let env: MapEnv = secrets().into_iter().collect();
        let config = Config::from_toml_str(&text, &env).unwrap();
        let settings = CoreSettings::from_config(config.discord.as_ref().unwrap());
        let discord = Arc::new(Discord::start_with(config, settings).await.unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let running = Arc::clone(&discord);
        let gateway = tokio::spawn(async move {
            running
                .run_gateway(async {
                    let _ = stopped.await;
                })
                .await
        });
        let session = fake.wait_for_ready(WAIT).await.unwrap();
        assert_eq!(session.intents, 0, "interactions need no intents");
        Harness {
            fake,
            jumpcloud,
            _im: im,
            dir,
            discord,
            stop: Some(stop),
            gateway: Some(gateway),
        }
    }

    fn audit_log(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn pickup(&self) -> PathBuf {
        self.dir.path().join("pickup")
    }

    /// A member of the helpdesk runs a slash command in the helpdesk channel.
    async fn slash(
        &self,
        user: &FakeUser,
        roles: &[u64],
        name: &str,
        options: Vec<CommandOption>,
    ) -> (InteractionHandle, CallbackView, MessageView) {
        let command = self
            .fake
            .slash_command(user, roles, GUILD, HELPDESK, name, options);
        self.fake.dispatch(&command).unwrap();
        let callback = self.accepted(&command).await;
        let shown = self.settled(command.id()).await;
        (command, callback, shown)
    }

    /// Waits for the interaction's callback and checks Discord accepted it in time.
    async fn accepted(&self, interaction: &InteractionHandle) -> CallbackView {
        let callback = self
            .fake
            .wait_for_callback(interaction.id(), WAIT)
            .await
            .unwrap();
        assert_eq!(callback.outcome, CallbackOutcome::Accepted, "{callback:?}");
        assert!(callback.after < Duration::from_secs(3), "{callback:?}");
        callback
    }

    /// Presses a button and waits for the accepted callback.
    async fn press(
        &self,
        user: &FakeUser,
        roles: &[u64],
        message: &MessageView,
        custom_id: &str,
    ) -> (InteractionHandle, CallbackView) {
        let press = self
            .fake
            .press_button(user, roles, message, custom_id)
            .unwrap();
        self.fake.dispatch(&press).unwrap();
        let callback = self.accepted(&press).await;
        (press, callback)
    }

    /// The interaction's original message once it is no longer "thinking".
    async fn settled(&self, interaction_id: u64) -> MessageView {
        self.message_where(interaction_id, "its message", |_| true)
            .await
    }

    /// Waits until the interaction's original message satisfies `check`.
    async fn message_where(
        &self,
        interaction_id: u64,
        what: &str,
        check: impl Fn(&MessageView) -> bool,
    ) -> MessageView {
        self.fake
            .wait_until(what, WAIT, |fake| {
                fake.original_response(interaction_id)
                    .filter(|m| !m.is_loading() && check(m))
            })
            .await
            .unwrap()
    }

    /// Waits until the channel shows a message whose embed title is `title`.
    async fn channel_embed(&self, channel: u64, title: &str) -> MessageView {
        self.fake
            .wait_until(&format!("\"{title}\" in channel {channel}"), WAIT, |fake| {
                fake.channel_messages(channel)
                    .into_iter()
                    .find(|m| embed_title(m) == title)
            })
            .await
            .unwrap()
    }

    /// Stops the gateway and the adapter (pending requests expire); returns the fake and the
    /// audit log's text.
    async fn stop(mut self) -> (DiscordFake, String) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(gateway) = self.gateway.take() {
            gateway.await.unwrap().unwrap();
        }
        let discord = Arc::try_unwrap(self.discord).expect("the gateway task has ended");
        discord.shutdown().await;
        let audit = audit_text(&self.dir.path().join("audit.jsonl"));
        (self.fake, audit)
    }
}

fn embed(message: &MessageView) -> &Value {
    message.embeds.first().unwrap_or(&Value::Null)
}

fn embed_title(message: &MessageView) -> &str {
    embed(message)["title"].as_str().unwrap_or_default()
}

/// The custom id of the button labelled `label`.
fn button_id(message: &MessageView, label: &str) -> String {
    message
        .buttons()
        .into_iter()
        .find(|b| b.label.as_deref() == Some(label))
        .and_then(|b| b.custom_id)
        .unwrap_or_else(|| panic!("no {label:?} button on {}", message.visible_text()))
}

fn audit_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The audit log's events, in order.
fn audit_events(path: &Path) -> Vec<String> {
    audit_text(path)
        .lines()
        .map(|line| {
            let json: Value = serde_json::from_str(line).unwrap();
            json["event"].as_str().unwrap().to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_reset_runs_on_jumpcloud_updates_the_prompt_and_reaches_the_audit_channel() {
    let h = Harness::start().await;
    let roles = [HELPDESK_ROLE];
    let (_, callback, prompt) = h
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
    assert!(matches!(callback.kind, 4 | 5), "{callback:?}");
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
    assert!(matches!(callback.kind, 6 | 7), "{callback:?}");
    let done = h
        .message_where(press.id(), "the report", |m| m.buttons().is_empty())
        .await;
    assert_eq!(done.id, prompt.id, "the prompt itself is updated");
    assert!(done.is_ephemeral());
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
    for post in h.fake.requests_to(Route::CreateMessage) {
        assert_eq!(post.auth, passdesk_sim::discord::Auth::Valid);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_needs_an_approver_other_than_the_requester_and_everyone_else_is_refused() {
    let h = Harness::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_plan_and_changes_nothing_and_a_direct_message_is_refused_clearly() {
    let h = Harness::start().await;
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
    h.fake.dispatch(&dm).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notification_password_goes_from_the_modal_to_the_mail_and_nowhere_else() {
    let h = Harness::start().await;
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
    h.fake.dispatch(&submit).unwrap();
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

    // The password went into the mail only: not into any request to Discord, the audit log, or
    // any message anyone sees.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_reset_is_deferred_and_shows_progress_at_a_bounded_rate() {
    const MEMBERS: usize = 150;
    let users: Vec<String> = (0..MEMBERS).map(|i| format!("bulk.{i:04}")).collect();
    let seed = passdesk_sim::demo::jumpcloud_seed()
        .users(generated_users("bulk", MEMBERS))
        .add_group_members("Bulk Starters", users.clone());
    let h = Harness::start_with(seed).await;
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

    // Progress edits of this press's message: at least one, at most one per second.
    let progress: Vec<_> = h
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
    let started = mails.first().unwrap().at;
    let ended = mails.last().unwrap().at;
    let seconds = (ended - started).num_milliseconds().max(0) as f64 / 1000.0;
    assert!(!progress.is_empty(), "the message showed progress");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_left_waiting_expires_at_shutdown_and_its_buttons_go_away() {
    let h = Harness::start().await;
    let (command, _, prompt) = h
        .slash(
            &alice(),
            &[HELPDESK_ROLE],
            "reset",
            vec![CommandOption::sub_command(
                "user",
                vec![CommandOption::string("user", "jcuser.one")],
            )],
        )
        .await;
    assert_eq!(prompt.buttons().len(), 2);
    let id = command.id();
    let (fake, audit) = h.stop().await;
    assert!(audit.contains("\"event\":\"expired\""), "{audit}");
    let expired = fake.original_response(id).unwrap();
    assert!(expired.buttons().is_empty(), "{}", expired.visible_text());
    assert_eq!(embed_title(&expired), "Request expired");
}

// ---------------------------------------------------------------------------------------------
// The binary

/// Runs `passdesk args…` with exactly the configuration's secrets as its environment.
async fn passdesk(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passdesk"));
        command.args(&args).env_clear();
        for (name, value) in secrets() {
            command.env(name, value);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_commands_registers_the_catalogue_in_a_server_or_globally() {
    let fake = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pickup")).unwrap();
    let file = dir.path().join("passdesk.toml");
    std::fs::write(
        &file,
        config_text(
            &fake,
            "http://127.0.0.1:9",
            "http://127.0.0.1:9",
            dir.path(),
        ),
    )
    .unwrap();
    let config = file.display().to_string();

    let ran = passdesk(vec![
        "register-commands".into(),
        "--config".into(),
        config.clone(),
        "--guild".into(),
        GUILD.to_string(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert!(ran.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));

    let registered = fake.commands(Some(GUILD));
    let names: Vec<&str> = registered
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let catalogue_names: Vec<&str> = catalogue().iter().map(|c| c.name).collect();
    assert_eq!(names, catalogue_names);
    for spec in catalogue() {
        assert!(
            stdout.contains(&format!("/{} — {}", spec.name, spec.description)),
            "{} missing from:\n{stdout}",
            spec.name
        );
        for sub in spec.subcommands() {
            assert!(
                stdout.contains(&format!("/{} {}", spec.name, sub.name)),
                "{} {} missing from:\n{stdout}",
                spec.name,
                sub.name
            );
        }
    }
    assert!(stdout.contains(&format!("in server {GUILD}")), "{stdout}");
    assert!(fake.commands(None).is_empty(), "one scope only");
    let puts = fake.requests_to(Route::PutGuildCommands);
    assert_eq!(puts.len(), 1, "one bulk overwrite");

    let ran = passdesk(vec!["register-commands".into(), "--config".into(), config]).await;
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(fake.commands(None).len(), catalogue().len());
    assert!(String::from_utf8_lossy(&ran.stdout).contains("global commands"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passdesk_run_serves_the_gateway_until_sigterm_and_stops_cleanly() {
    let fake = start_fake().await;
    let jumpcloud = passdesk_sim::demo::jumpcloud_seed().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pickup")).unwrap();
    let file = dir.path().join("passdesk.toml");
    std::fs::write(
        &file,
        config_text(
            &fake,
            &jumpcloud.base_url(),
            "http://127.0.0.1:9",
            dir.path(),
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_passdesk"));
    command
        .args(["run", "--config"])
        .arg(&file)
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (name, value) in secrets() {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let pid = child.id();
    let waited = tokio::task::spawn_blocking(move || child.wait_with_output());

    fake.wait_for_ready(WAIT).await.unwrap();
    let help = fake.slash_command(&alice(), &[HELPDESK_ROLE], GUILD, HELPDESK, "help", vec![]);
    fake.dispatch(&help).unwrap();
    let callback = fake.wait_for_callback(help.id(), WAIT).await.unwrap();
    assert_eq!(callback.outcome, CallbackOutcome::Accepted);
    let shown = fake.original_response(help.id()).unwrap();
    assert!(
        shown.visible_text().contains("reset"),
        "{}",
        shown.visible_text()
    );

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(WAIT, waited)
        .await
        .expect("passdesk stops after SIGTERM")
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
}
