//! What the Discord end-to-end tests share: the fake Discord, the JumpCloud and Identity
//! Manager simulators, a configuration read from TOML with its secrets from a map, and the
//! bot's real [`Discord`] adapter serving either mode through real sockets on 127.0.0.1.
//!
//! [`chat`] wraps a [`Driver`] (and the same stack for Slack) behind one platform-neutral
//! driver for the scenario suite in `chat_scenarios.rs`. The [`Driver`] hides the one thing
//! that differs between the Discord modes: how Discord delivers an interaction — an
//! `INTERACTION_CREATE` dispatch on the gateway, or a signed POST to the bot's interactions
//! endpoint whose response body is the callback.

// Each test binary uses part of this module.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod chat;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use passdesk_bot::discord::http::INTERACTIONS_PATH;
use passdesk_bot::discord::{CoreSettings, Discord};
use passdesk_bot::server;
use passdesk_config::{Config, MapEnv};
use passdesk_sim::discord::{
    CallbackOutcome, CallbackVia, CallbackView, CommandOption, DiscordFake, FakeUser,
    InteractionHandle, MessageView,
};
use passdesk_sim::identity_manager::{IdentityManagerSim, seed as im_seed};
use passdesk_sim::jumpcloud::{DEFAULT_API_KEY, JumpCloudSim, JumpCloudSimBuilder};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "discord-test-bot-token-7f3a";
pub const GUILD: u64 = 1_310_000_000_000_000_100;
pub const HELPDESK: u64 = 1_310_000_000_000_000_200;
pub const APPROVALS: u64 = 1_310_000_000_000_000_201;
pub const AUDIT: u64 = 1_310_000_000_000_000_202;
pub const HELPDESK_ROLE: u64 = 1_310_000_000_000_000_300;
pub const APPROVER_ROLE: u64 = 1_310_000_000_000_000_301;
/// A notification password no recorded request, log line or audit line may contain.
pub const PASSWORD: &str = "Gw-n0tify-S3cret-42!";
/// How long one step may take before the test gives up.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn alice() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_501, "alice").global_name("Alice Helpdesk")
}
pub fn bob() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_502, "bob")
}
pub fn carol() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_503, "carol").global_name("Carol Approver")
}
pub fn dave() -> FakeUser {
    FakeUser::new(1_310_000_000_000_000_504, "dave")
}

/// How Discord reaches the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `[discord] mode = "gateway"`: serenity's client, interactions as gateway dispatches.
    Gateway,
    /// `[discord] mode = "http"`: the bot's interactions endpoint, signed POSTs.
    Http,
}

impl Mode {
    /// `[discord] mode`.
    fn name(self) -> &'static str {
        match self {
            Mode::Gateway => "gateway",
            Mode::Http => "http",
        }
    }

    /// How the bot's first response reaches Discord in this mode.
    fn callback_via(self) -> CallbackVia {
        match self {
            Mode::Gateway => CallbackVia::Rest,
            Mode::Http => CallbackVia::HttpResponse,
        }
    }
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

/// The configuration in `mode`, pointing at the simulators and the fake; secrets by
/// reference. HTTP mode adds the fake's public key and a listener on any free port.
pub fn config_text(
    mode: Mode,
    fake: &DiscordFake,
    jumpcloud: &str,
    im: &str,
    dir: &Path,
) -> String {
    let pickup = dir.join("pickup");
    let audit = dir.join("audit.jsonl");
    let (public_key, server) = match mode {
        Mode::Gateway => (String::new(), ""),
        Mode::Http => (
            format!("public_key = \"{}\"", fake.public_key_hex()),
            "[server]\nlisten = \"127.0.0.1:0\"",
        ),
    };
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_TEST_JC_KEY" }}
timeout_seconds = 10
connect_timeout_seconds = 2

[identity_manager]
application_uri = "{im}"
client_id = "{client}"
client_secret = {{ env = "PD_TEST_IM_SECRET" }}

[identity_manager.mail]
from_address = "passdesk@acme.example"
allowed_domains = ["acme.example", "acme.admin", "example.com"]
pickup_directory = "{pickup}"

[discord]
application_id = "{app}"
bot_token = {{ env = "PD_TEST_DISCORD_TOKEN" }}
mode = "{mode}"
{public_key}
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

{server}
"#,
        mode = mode.name(),
        client = im_seed::CLIENT_ID,
        app = fake.application_id(),
        api = fake.api_url(),
        pickup = pickup.display(),
        audit = audit.display(),
    )
}

/// The secrets the configuration references.
pub fn secrets() -> [(&'static str, &'static str); 3] {
    [
        ("PD_TEST_JC_KEY", DEFAULT_API_KEY),
        ("PD_TEST_IM_SECRET", im_seed::CLIENT_SECRET),
        ("PD_TEST_DISCORD_TOKEN", TOKEN),
    ]
}

/// Every log line of this test binary, at trace level for Passdesk and serenity, to scan for
/// secrets. One subscriber for the whole binary (tests run in parallel threads).
pub fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
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

/// What this test binary has logged so far.
pub fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

/// The fake Discord with the test guild (helpdesk, approvals and audit channels), logging on.
pub async fn start_fake() -> DiscordFake {
    logs();
    DiscordFake::builder()
        .bot_token(TOKEN)
        .guild(GUILD, [HELPDESK, APPROVALS, AUDIT])
        .heartbeat_interval(Duration::from_secs(2))
        .start()
        .await
        .unwrap()
}

/// How the running adapter is reached, and how it is stopped.
enum Serving {
    Gateway {
        task: JoinHandle<Result<(), passdesk_bot::discord::DiscordError>>,
    },
    Http {
        url: String,
        task: JoinHandle<Result<(), server::ServerError>>,
    },
}

/// The simulators, the fake and the adapter, connected in one [`Mode`]; people click as
/// Discord users would, the fake builds their interactions and shows what they would see.
pub struct Driver {
    pub mode: Mode,
    pub fake: DiscordFake,
    pub jumpcloud: JumpCloudSim,
    _im: IdentityManagerSim,
    dir: TempDir,
    discord: Arc<Discord>,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<Serving>,
    /// HTTP mode: the body of every answer the endpoint gave.
    answers: Mutex<Vec<Vec<u8>>>,
}

impl Driver {
    /// The demo's JumpCloud directory.
    pub async fn start(mode: Mode) -> Driver {
        Self::start_with(mode, passdesk_sim::demo::jumpcloud_seed()).await
    }

    /// A JumpCloud simulator from `jumpcloud`.
    pub async fn start_with(mode: Mode, jumpcloud: JumpCloudSimBuilder) -> Driver {
        let fake = start_fake().await;
        let jumpcloud = jumpcloud.start().await.unwrap();
        let im = IdentityManagerSim::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pickup")).unwrap();
        let text = config_text(
            mode,
            &fake,
            &jumpcloud.base_url(),
            &im.base_url(),
            dir.path(),
        );
        let env: MapEnv = secrets().into_iter().collect();
        let config = Config::from_toml_str(&text, &env).unwrap();
        let listen = config.server.listen;
        let settings = CoreSettings::from_config(config.discord.as_ref().unwrap());
        let discord = Arc::new(Discord::start_with(config, settings).await.unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let serving = match mode {
            Mode::Gateway => {
                let running = Arc::clone(&discord);
                let task = tokio::spawn(async move { running.run_gateway(stopped).await });
                let session = fake.wait_for_ready(WAIT).await.unwrap();
                assert_eq!(session.intents, 0, "interactions need no intents");
                Serving::Gateway { task }
            }
            Mode::Http => {
                let server = server::bind_discord(&discord, listen).await.unwrap();
                let addr = server.local_addr().unwrap();
                let task = tokio::spawn(server.serve(stopped));
                Serving::Http {
                    url: format!("http://{addr}{INTERACTIONS_PATH}"),
                    task,
                }
            }
        };
        Driver {
            mode,
            fake,
            jumpcloud,
            _im: im,
            dir,
            discord,
            stop: Some(stop),
            serving: Some(serving),
            answers: Mutex::new(Vec::new()),
        }
    }

    pub fn audit_log(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    pub fn pickup(&self) -> PathBuf {
        self.dir.path().join("pickup")
    }

    /// Discord delivers the interaction: a gateway dispatch, or a signed POST to the endpoint
    /// (which must answer `200`).
    pub async fn deliver(&self, interaction: &InteractionHandle) {
        match self.serving.as_ref().unwrap() {
            Serving::Gateway { .. } => {
                self.fake.dispatch(interaction).unwrap();
            }
            Serving::Http { url, .. } => {
                let delivery = self.fake.deliver_http(url, interaction).await.unwrap();
                assert_eq!(delivery.status, 200, "{interaction:?}");
                self.answers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(delivery.body);
            }
        }
    }

    /// HTTP mode: the body of every answer the endpoint gave (none in gateway mode).
    pub fn http_answers(&self) -> Vec<String> {
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|body| String::from_utf8_lossy(body).into_owned())
            .collect()
    }

    /// A member of the helpdesk runs a slash command in the helpdesk channel.
    pub async fn slash(
        &self,
        user: &FakeUser,
        roles: &[u64],
        name: &str,
        options: Vec<CommandOption>,
    ) -> (InteractionHandle, CallbackView, MessageView) {
        let command = self
            .fake
            .slash_command(user, roles, GUILD, HELPDESK, name, options);
        self.deliver(&command).await;
        let callback = self.accepted(&command).await;
        let shown = self.settled(command.id()).await;
        (command, callback, shown)
    }

    /// Waits for the interaction's callback and checks Discord accepted it in time, by the
    /// mode's way.
    pub async fn accepted(&self, interaction: &InteractionHandle) -> CallbackView {
        let callback = self
            .fake
            .wait_for_callback(interaction.id(), WAIT)
            .await
            .unwrap();
        assert_eq!(callback.outcome, CallbackOutcome::Accepted, "{callback:?}");
        assert!(callback.after < Duration::from_secs(3), "{callback:?}");
        assert_eq!(callback.via, self.mode.callback_via(), "{callback:?}");
        callback
    }

    /// Presses a button and waits for the accepted callback.
    pub async fn press(
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
        self.deliver(&press).await;
        let callback = self.accepted(&press).await;
        (press, callback)
    }

    /// The interaction's original message once it is no longer "thinking".
    pub async fn settled(&self, interaction_id: u64) -> MessageView {
        self.message_where(interaction_id, "its message", |_| true)
            .await
    }

    /// Waits until the interaction's original message satisfies `check`.
    pub async fn message_where(
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
    pub async fn channel_embed(&self, channel: u64, title: &str) -> MessageView {
        self.fake
            .wait_until(&format!("\"{title}\" in channel {channel}"), WAIT, |fake| {
                fake.channel_messages(channel)
                    .into_iter()
                    .find(|m| embed_title(m) == title)
            })
            .await
            .unwrap()
    }

    /// Stops the gateway or the endpoint, then the adapter (pending requests expire); returns
    /// the fake and the audit log's text. In HTTP mode, checks the bot never opened a gateway
    /// connection.
    pub async fn stop(mut self) -> (DiscordFake, String) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.serving.take().unwrap() {
            Serving::Gateway { task } => task.await.unwrap().unwrap(),
            Serving::Http { task, .. } => {
                task.await.unwrap().unwrap();
                assert_eq!(
                    self.fake.gateway_stats().connections,
                    0,
                    "http mode needs no gateway"
                );
            }
        }
        let discord = Arc::try_unwrap(self.discord).expect("the serving task has ended");
        discord.shutdown().await;
        let audit = audit_text(&self.dir.path().join("audit.jsonl"));
        (self.fake, audit)
    }
}

pub fn embed(message: &MessageView) -> &Value {
    message.embeds.first().unwrap_or(&Value::Null)
}

pub fn embed_title(message: &MessageView) -> &str {
    embed(message)["title"].as_str().unwrap_or_default()
}

/// The custom id of the button labelled `label`.
pub fn button_id(message: &MessageView, label: &str) -> String {
    message
        .buttons()
        .into_iter()
        .find(|b| b.label.as_deref() == Some(label))
        .and_then(|b| b.custom_id)
        .unwrap_or_else(|| panic!("no {label:?} button on {}", message.visible_text()))
}

pub fn audit_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The audit log's events, in order.
pub fn audit_events(path: &Path) -> Vec<String> {
    audit_text(path)
        .lines()
        .map(|line| {
            let json: Value = serde_json::from_str(line).unwrap();
            json["event"].as_str().unwrap().to_owned()
        })
        .collect()
}
