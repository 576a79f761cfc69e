//! Autocomplete of the username and group options, end to end through real sockets on
//! 127.0.0.1: the fake Discord builds the interactions a member's keystrokes send, the real
//! serenity client receives them over the gateway (or the HTTP interactions endpoint gets them
//! signed), and the demo's JumpCloud simulator is the directory. What a helpdesk member and a
//! security officer would notice: members see matching names within Discord's 3 seconds,
//! people outside the helpdesk see nothing and the directory is not even asked.

// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use passdesk_bot::discord::http::INTERACTIONS_PATH;
use passdesk_bot::discord::{CoreSettings, Discord};
use passdesk_bot::server;
use passdesk_config::{Config, MapEnv};
use passdesk_sim::discord::{
    CallbackOutcome, CallbackView, CommandOption, DiscordFake, FakeUser, InteractionHandle,
};
use passdesk_sim::jumpcloud::{DEFAULT_API_KEY, JumpCloudSim, Route};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "autocomplete-test-bot-token-4d1e";
const GUILD: u64 = 1_320_000_000_000_000_100;
const HELPDESK: u64 = 1_320_000_000_000_000_200;
const HELPDESK_ROLE: u64 = 1_320_000_000_000_000_300;
const OTHER_ROLE: u64 = 1_320_000_000_000_000_301;
/// How long one step may take before the test gives up (a bound, not a pace).
const WAIT: Duration = Duration::from_secs(20);

fn alice() -> FakeUser {
    FakeUser::new(1_320_000_000_000_000_501, "alice").global_name("Alice Helpdesk")
}

fn mallory() -> FakeUser {
    FakeUser::new(1_320_000_000_000_000_502, "mallory")
}

/// JumpCloud at `jumpcloud`, Discord in `mode` against `fake`, the helpdesk role allowed to
/// reset and expire.
fn config_text(fake: &DiscordFake, jumpcloud: &str, mode: &str, audit: &Path) -> String {
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_AC_JC_KEY" }}

[discord]
application_id = "{app}"
bot_token = {{ env = "PD_AC_DISCORD_TOKEN" }}
mode = "{mode}"
public_key = "{public_key}"
api_base_url = "{api}"

[discord.guilds]
"{GUILD}" = "default"

[groups.helpdesk]
discord_roles = ["{HELPDESK_ROLE}"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ discord = ["*"] }}
approval = "none"

[policy.expire]
groups = ["helpdesk"]
channels = {{ discord = ["*"] }}
approval = "none"

[limits]
cooldown_seconds = 0
max_per_hour = 10000

[audit]
path = "{audit}"

[server]
listen = "127.0.0.1:0"
"#,
        app = fake.application_id(),
        public_key = fake.public_key_hex(),
        api = fake.api_url(),
        audit = audit.display(),
    )
}

fn config(fake: &DiscordFake, jumpcloud: &JumpCloudSim, mode: &str, dir: &Path) -> Config {
    let text = config_text(fake, &jumpcloud.base_url(), mode, &dir.join("audit.jsonl"));
    let env = MapEnv::new()
        .with("PD_AC_JC_KEY", DEFAULT_API_KEY)
        .with("PD_AC_DISCORD_TOKEN", TOKEN);
    Config::from_toml_str(&text, &env).unwrap()
}

async fn start_fake() -> DiscordFake {
    DiscordFake::builder()
        .bot_token(TOKEN)
        .guild(GUILD, [HELPDESK])
        .heartbeat_interval(Duration::from_secs(2))
        .start()
        .await
        .unwrap()
}

/// The demo directory, the fake Discord and the adapter connected over the gateway.
struct Gateway {
    fake: DiscordFake,
    jumpcloud: JumpCloudSim,
    discord: Arc<Discord>,
    stop: Option<oneshot::Sender<()>>,
    gateway: Option<JoinHandle<Result<(), passdesk_bot::discord::DiscordError>>>,
    _dir: TempDir,
}

impl Gateway {
    async fn start() -> Gateway {
        let fake = start_fake().await;
        let jumpcloud = passdesk_sim::demo::jumpcloud_seed().start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = config(&fake, &jumpcloud, "gateway", dir.path());
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
        fake.wait_for_ready(WAIT).await.unwrap();
        Gateway {
            fake,
            jumpcloud,
            discord,
            stop: Some(stop),
            gateway: Some(gateway),
            _dir: dir,
        }
    }

    /// `user` with `roles` types `partial` into `option` (under `sub`, if any) of `/command`
    /// in the helpdesk channel; returns the interaction and its accepted, in-time callback.
    async fn typing(
        &self,
        user: &FakeUser,
        roles: &[u64],
        command: &str,
        sub: Option<&str>,
        option: &str,
        partial: &str,
    ) -> (InteractionHandle, CallbackView) {
        let focused = CommandOption::focused(option, partial);
        let options = match sub {
            Some(sub) => vec![CommandOption::sub_command(sub, vec![focused])],
            None => vec![focused],
        };
        let typing = self
            .fake
            .autocomplete(user, roles, GUILD, HELPDESK, command, options);
        self.fake.dispatch(&typing).unwrap();
        let callback = self
            .fake
            .wait_for_callback(typing.id(), WAIT)
            .await
            .unwrap();
        assert_in_time(&callback);
        (typing, callback)
    }

    /// How many look-ups the directory has served.
    fn lookups(&self) -> usize {
        let record = self.jumpcloud.record();
        record.requests_to(Route::SearchUsers).len()
            + record.requests_to(Route::ListUserGroups).len()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(gateway) = self.gateway.take() {
            gateway.await.unwrap().unwrap();
        }
        let discord = Arc::try_unwrap(self.discord).expect("the gateway task has ended");
        discord.shutdown().await;
    }
}

/// An autocomplete result Discord accepted within its 3-second window.
#[track_caller]
fn assert_in_time(callback: &CallbackView) {
    assert_eq!(callback.outcome, CallbackOutcome::Accepted, "{callback:?}");
    assert_eq!(callback.kind, 8, "an autocomplete result: {callback:?}");
    assert!(callback.after < Duration::from_secs(3), "{callback:?}");
}

/// The names offered, checking each value is the name itself.
fn offered(callback: &CallbackView) -> Vec<String> {
    let choices = callback.choices();
    assert!(choices.len() <= 25, "{choices:?}");
    choices
        .into_iter()
        .map(|(name, value)| {
            assert_eq!(value, Value::String(name.clone()));
            name
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helpdesk_member_typing_sees_matching_usernames_and_group_names() {
    let h = Gateway::start().await;
    let helpdesk = [OTHER_ROLE, HELPDESK_ROLE];

    let (typing, callback) = h
        .typing(&alice(), &helpdesk, "reset", Some("user"), "user", "jcu")
        .await;
    assert_eq!(offered(&callback), ["jcuser.one"]);
    assert!(
        h.fake.original_response(typing.id()).is_none(),
        "suggestions are not a message"
    );

    let (_, callback) = h
        .typing(&alice(), &helpdesk, "expire", None, "user", "J")
        .await;
    assert_eq!(
        offered(&callback),
        ["jane.doe", "jcuser.one", "john.smith", "julia.weber"]
    );

    let (_, callback) = h
        .typing(&alice(), &helpdesk, "reset", Some("group"), "group", "New")
        .await;
    assert_eq!(offered(&callback), ["NewUsers"]);

    // Nothing typed yet: Discord's 25 at most, from the 43 users of the directory.
    let (_, callback) = h
        .typing(&alice(), &helpdesk, "reset", Some("user"), "user", "")
        .await;
    assert_eq!(offered(&callback).len(), 25);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_outside_the_helpdesk_gets_no_suggestions_and_the_directory_is_not_asked() {
    let h = Gateway::start().await;
    for (command, sub, option, partial) in [
        ("reset", Some("user"), "user", "jcu"),
        ("reset", Some("group"), "group", "New"),
        ("expire", None, "user", ""),
    ] {
        let (_, callback) = h
            .typing(&mallory(), &[OTHER_ROLE], command, sub, option, partial)
            .await;
        assert!(
            callback.choices().is_empty(),
            "{command} {option}: {callback:?}"
        );
    }
    assert_eq!(h.lookups(), 0, "the directory was read for an outsider");

    // Filter syntax typed by a member is not the start of a username: nothing is asked either.
    let (_, callback) = h
        .typing(
            &alice(),
            &[HELPDESK_ROLE],
            "reset",
            Some("user"),
            "user",
            "j.*",
        )
        .await;
    assert!(callback.choices().is_empty(), "{callback:?}");
    assert_eq!(h.lookups(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_endpoint_answers_autocomplete_in_its_response_body() {
    let fake = start_fake().await;
    let jumpcloud = passdesk_sim::demo::jumpcloud_seed().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&fake, &jumpcloud, "http", dir.path());
    let listen = config.server.listen;
    let discord = Discord::start(config).await.unwrap();
    let server = server::bind_discord(&discord, listen).await.unwrap();
    let url = format!("http://{}{INTERACTIONS_PATH}", server.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let typing = fake.autocomplete(
        &alice(),
        &[HELPDESK_ROLE],
        GUILD,
        HELPDESK,
        "reset",
        vec![CommandOption::sub_command(
            "group",
            vec![CommandOption::focused("group", "it")],
        )],
    );
    let delivery = fake.deliver_http(&url, &typing).await.unwrap();
    assert_eq!(delivery.status, 200);
    let callback = fake.callbacks(typing.id()).into_iter().next().unwrap();
    assert_in_time(&callback);
    assert_eq!(offered(&callback), ["IT"]);

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    discord.shutdown().await;
}
