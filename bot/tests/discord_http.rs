//! The Discord HTTP interactions endpoint as Discord uses it: the bot's server on
//! `127.0.0.1:0`, the fake Discord signing and posting interactions to it (and serving the REST
//! API the bot edits messages through), the demo's JumpCloud simulator behind the engine.
//!
//! What a helpdesk and its security officer would check: a signed PING gets PONG; anything
//! unsigned, forged, stale or replayed is refused with `401` before it is acted on, never with
//! a `5xx`; a replayed delivery never acts twice; `passdesk run` serves the endpoint. The
//! scenarios both modes share (a confirmed reset, approvals, a dry run, the password modal, a
//! bulk run) run over this endpoint too, from `chat_scenarios.rs`.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use passdesk_bot::discord::Discord;
use passdesk_bot::discord::http::INTERACTIONS_PATH;
use passdesk_bot::server::{self, HEALTHZ_PATH};
use passdesk_config::{Config, MapEnv};
use passdesk_sim::demo::DemoEnvironment;
use passdesk_sim::discord::{
    CallbackOutcome, CommandOption, DiscordFake, FakeUser, InteractionHandle, MessageView,
    SignedRequest,
};
use passdesk_sim::jumpcloud::MailKind;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const GUILD: u64 = 1_300_000_000_000_000_100;
const CHANNEL: u64 = 1_300_000_000_000_000_200;
const APPROVALS: u64 = 1_300_000_000_000_000_201;
const HELPDESK_ROLE: u64 = 1_300_000_000_000_000_300;
const ALICE: u64 = 1_300_000_000_000_000_501;
/// How long any one step may take before the test fails (it never waits this long otherwise).
const STEP: Duration = Duration::from_secs(10);

/// The bot serving Discord over HTTP, the fake Discord, and the simulators.
struct Harness {
    fake: DiscordFake,
    env: DemoEnvironment,
    discord: Option<Discord>,
    url: String,
    base: String,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), server::ServerError>>>,
    client: reqwest::Client,
    _dir: TempDir,
}

impl Harness {
    async fn start() -> Harness {
        let env = DemoEnvironment::start().await.unwrap();
        let fake = DiscordFake::builder()
            .guild(GUILD, [CHANNEL, APPROVALS])
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(
            &env.jumpcloud_base_url(),
            &fake,
            &dir.path().join("audit.jsonl"),
        );
        let vars = MapEnv::new()
            .with("JC_KEY", env.jumpcloud_api_key())
            .with("DISCORD_TOKEN", fake.bot_token());
        let config = Config::from_toml_str(&text, &vars).unwrap();
        let listen = config.server.listen;
        let discord = Discord::start(config).await.unwrap();
        let server = server::bind_discord(&discord, listen).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Harness {
            fake,
            env,
            discord: Some(discord),
            url: format!("http://{addr}{INTERACTIONS_PATH}"),
            base: format!("http://{addr}"),
            stop: Some(stop),
            serving: Some(serving),
            client: reqwest::Client::builder().timeout(STEP).build().unwrap(),
            _dir: dir,
        }
    }

    /// Stops the server (gracefully) and the adapter.
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.serving.take().unwrap().await.unwrap().unwrap();
        self.discord.take().unwrap().shutdown().await;
    }

    /// `/reset user user:<username>`, by Alice of the helpdesk.
    fn reset(&self, username: &str, dry_run: bool) -> InteractionHandle {
        let mut options = vec![CommandOption::string("user", username)];
        if dry_run {
            options.push(CommandOption::boolean("dry-run", true));
        }
        self.fake.slash_command(
            &alice(),
            &[HELPDESK_ROLE],
            GUILD,
            CHANNEL,
            "reset",
            vec![CommandOption::sub_command("user", options)],
        )
    }

    /// POSTs a signed request as Discord would; returns the status and the body as JSON.
    async fn post(&self, interaction: &InteractionHandle, signed: &SignedRequest) -> (u16, Value) {
        let delivery = self
            .fake
            .post_signed(&self.url, interaction, signed)
            .await
            .unwrap();
        (delivery.status, delivery.json().unwrap_or(Value::Null))
    }

    /// POSTs arbitrary headers and body (for deliveries the fake would never build).
    async fn post_raw(&self, headers: &[(&str, &str)], body: Vec<u8>) -> u16 {
        let mut request = self.client.post(&self.url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// The mails the JumpCloud simulator sent.
    fn mails(&self) -> Vec<(MailKind, String)> {
        self.env
            .jumpcloud
            .record()
            .mails()
            .into_iter()
            .map(|mail| (mail.kind, mail.username))
            .collect()
    }

    /// The interaction's original response once it no longer shows "thinking".
    async fn settled_original(&self, interaction_id: u64) -> MessageView {
        self.fake
            .wait_until("the original response", STEP, |fake| {
                fake.original_response(interaction_id)
                    .filter(|message| !message.is_loading())
            })
            .await
            .unwrap()
    }
}

/// The configuration: JumpCloud at `jumpcloud`, Discord in HTTP mode against `fake`, the
/// helpdesk role allowed to reset (no approval, no cooldown), a listener on any free port.
/// Secrets come from `JC_KEY` and `DISCORD_TOKEN`.
fn config_text(jumpcloud: &str, fake: &DiscordFake, audit: &Path) -> String {
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "JC_KEY" }}

[discord]
application_id = "{application}"
mode = "http"
public_key = "{public_key}"
bot_token = {{ env = "DISCORD_TOKEN" }}
api_base_url = "{api}"
approvals_channel = "{APPROVALS}"

[discord.guilds]
"{GUILD}" = "default"

[groups.helpdesk]
discord_roles = ["{HELPDESK_ROLE}"]

[policy.reset]
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
        application = fake.application_id(),
        public_key = fake.public_key_hex(),
        api = fake.api_url(),
        audit = audit.display(),
    )
}

fn alice() -> FakeUser {
    FakeUser::new(ALICE, "alice")
}

/// Every way to spoil a good signed request, each with its name.
///
/// Timestamps are 30 s past the window, since the server reads its clock a moment later.
fn forgeries(
    fake: &DiscordFake,
    interaction: &InteractionHandle,
) -> Vec<(&'static str, SignedRequest)> {
    let now = chrono::Utc::now().timestamp();
    let good = fake.sign(interaction);
    let mut flipped = good.clone();
    let last = flipped.signature_hex.pop().unwrap();
    flipped
        .signature_hex
        .push(if last == '0' { '1' } else { '0' });
    let mut truncated = good.clone();
    truncated.body.truncate(good.body.len() - 1);
    // Impersonation where there is someone to impersonate, else any change.
    let text = String::from_utf8(good.body.clone()).unwrap();
    let mut altered = good.clone();
    altered.body = if text.contains("\"alice\"") {
        text.replacen("\"alice\"", "\"mallory\"", 1)
    } else {
        text.replacen("\"version\":1", "\"version\":2", 1)
    }
    .into_bytes();
    assert_ne!(altered.body, good.body);
    let mut other_timestamp = good.clone();
    other_timestamp.timestamp = (now + 1).to_string();
    let mut short = good.clone();
    short.signature_hex.truncate(100);
    let mut not_hex = good.clone();
    not_hex.signature_hex = "zz".repeat(64);
    let mut bad_timestamp = good.clone();
    bad_timestamp.timestamp = "yesterday".to_owned();
    vec![
        ("wrong key", fake.sign_with_wrong_key(interaction)),
        ("one signature digit changed", flipped),
        (
            "stale: 5½ minutes old",
            fake.sign_with_timestamp(interaction, &(now - 330).to_string()),
        ),
        (
            "stale: a day old",
            fake.sign_with_timestamp(interaction, &(now - 86_400).to_string()),
        ),
        (
            "from the future: 5½ minutes ahead",
            fake.sign_with_timestamp(interaction, &(now + 330).to_string()),
        ),
        ("truncated body", truncated),
        ("altered body", altered),
        ("timestamp changed after signing", other_timestamp),
        ("short signature", short),
        ("signature not hex", not_hex),
        ("timestamp not a number", bad_timestamp),
    ]
}

/// Deliveries without one or both signature headers, or with empty ones.
fn missing_headers(good: &SignedRequest) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let json = ("content-type", "application/json".to_owned());
    let signature = ("x-signature-ed25519", good.signature_hex.clone());
    let timestamp = ("x-signature-timestamp", good.timestamp.clone());
    vec![
        ("no signature headers", vec![json.clone()]),
        ("no signature", vec![json.clone(), timestamp.clone()]),
        ("no timestamp", vec![json.clone(), signature.clone()]),
        (
            "empty headers",
            vec![
                json,
                ("x-signature-ed25519", String::new()),
                ("x-signature-timestamp", String::new()),
            ],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_ping_gets_pong_and_healthz_answers() {
    let h = Harness::start().await;
    let ping = h.fake.ping();
    let delivery = h.fake.deliver_http(&h.url, &ping).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
    assert_eq!(delivery.json(), Some(serde_json::json!({"type": 1})));
    let callbacks = h.fake.callbacks(ping.id());
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].kind, 1);
    assert_eq!(callbacks[0].outcome, CallbackOutcome::Accepted);

    let health = h
        .client
        .get(format!("{}{HEALTHZ_PATH}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_forged_and_stale_deliveries_are_refused_before_anything_happens() {
    let h = Harness::start().await;
    let command = h.reset("jcuser.one", false);
    for (name, forged) in forgeries(&h.fake, &command) {
        let (status, _) = h.post(&command, &forged).await;
        assert_eq!(status, 401, "{name}");
    }
    let good = h.fake.sign(&command);
    for (name, headers) in missing_headers(&good) {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(h.post_raw(&headers, good.body.clone()).await, 401, "{name}");
    }
    let oversized = vec![b' '; 65 * 1024];
    let headers = [
        ("x-signature-ed25519", good.signature_hex.as_str()),
        ("x-signature-timestamp", good.timestamp.as_str()),
    ];
    assert_eq!(h.post_raw(&headers, oversized).await, 413, "oversized body");
    assert!(
        h.fake.callbacks(command.id()).is_empty(),
        "no refused delivery was answered as an interaction"
    );

    // None of them used up the interaction: the genuine delivery still works. The plan needs
    // JumpCloud, so the answer is "thinking…" (type 5, private) and the plan follows.
    let (status, callback) = h.post(&command, &good).await;
    assert_eq!(status, 200);
    assert_eq!(callback["type"], 5, "{callback}");
    assert_eq!(callback["data"]["flags"], 64, "ephemeral: {callback}");
    let prompt = h.settled_original(command.id()).await;
    assert!(
        prompt
            .buttons()
            .iter()
            .any(|b| b.label.as_deref() == Some("Confirm")),
        "{}",
        prompt.visible_text()
    );
    assert!(h.mails().is_empty(), "a confirmation sends nothing");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signed_delivery_never_acts_twice() {
    let h = Harness::start().await;
    let command = h.reset("jane.doe", false);
    let signed_command = h.fake.sign(&command);
    assert_eq!(h.post(&command, &signed_command).await.0, 200);
    assert_eq!(
        h.post(&command, &signed_command).await.0,
        401,
        "command replayed"
    );
    let prompt = h.settled_original(command.id()).await;
    let confirm = prompt
        .buttons()
        .into_iter()
        .find(|button| button.label.as_deref() == Some("Confirm"))
        .unwrap();
    let press = h
        .fake
        .press_button(
            &alice(),
            &[HELPDESK_ROLE],
            &prompt,
            confirm.custom_id.as_deref().unwrap(),
        )
        .unwrap();
    let signed_press = h.fake.sign(&press);

    // The same signed press, eight times at once, then once more later: one acts.
    let deliveries = futures::future::join_all((0..8).map(|_| h.post(&press, &signed_press))).await;
    let statuses: Vec<u16> = deliveries.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        7,
        "{statuses:?}"
    );
    // The press's answer (or, when deferred, its edit) comes once the run is over.
    h.fake
        .wait_until("the confirmation updated", STEP, |fake| {
            fake.original_response(command.id())
                .filter(|message| message.edits > 0 && !message.is_loading())
        })
        .await
        .unwrap();
    assert_eq!(
        h.post(&press, &signed_press).await.0,
        401,
        "press replayed later"
    );
    // Re-signed with a fresh timestamp, it is still the same interaction: refused.
    assert_eq!(
        h.post(&press, &h.fake.sign(&press)).await.0,
        401,
        "press re-signed"
    );
    assert_eq!(h.mails(), vec![(MailKind::Reset, "jane.doe".to_owned())]);
    h.stop().await;
}

/// What one request of the mixed run was, and what it must get.
enum Expect {
    Pong,
    /// A dry run of this interaction.
    DryRun(u64),
    Refused,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_mixed_requests_refuse_every_bad_one_and_never_fail() {
    let harness = Harness::start().await;
    let h = &harness;
    const REQUESTS: usize = 1_200;
    let results = futures::stream::iter(0..REQUESTS)
        .map(|i| async move {
            // Each request's interaction is made just before it is sent, as Discord does.
            match i % 6 {
                0 => {
                    let ping = h.fake.ping();
                    let (status, body) = h.post(&ping, &h.fake.sign(&ping)).await;
                    (i, Expect::Pong, status, body)
                }
                1 => {
                    let command = h.reset("jcuser.one", true);
                    let (status, body) = h.post(&command, &h.fake.sign(&command)).await;
                    (i, Expect::DryRun(command.id()), status, body)
                }
                2..=4 => {
                    let interaction = if i % 2 == 0 {
                        h.fake.ping()
                    } else {
                        h.reset("jane.doe", false)
                    };
                    let forgeries = forgeries(&h.fake, &interaction);
                    let (_, forged) = &forgeries[i % forgeries.len()];
                    let (status, body) = h.post(&interaction, forged).await;
                    (i, Expect::Refused, status, body)
                }
                _ => {
                    let command = h.reset("jane.doe", false);
                    let good = h.fake.sign(&command);
                    let cases = missing_headers(&good);
                    let (_, headers) = &cases[i % cases.len()];
                    let headers: Vec<(&str, &str)> =
                        headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    let status = h.post_raw(&headers, good.body.clone()).await;
                    (i, Expect::Refused, status, Value::Null)
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(results.len(), REQUESTS);
    let mut refused = 0;
    for (i, expect, status, body) in results {
        assert!(status < 500, "request {i}: {status}");
        match expect {
            Expect::Pong => {
                assert_eq!(
                    (status, body),
                    (200, serde_json::json!({"type": 1})),
                    "request {i}"
                );
            }
            Expect::DryRun(id) => {
                assert_eq!(status, 200, "request {i}");
                let callbacks = h.fake.callbacks(id);
                assert_eq!(callbacks.len(), 1, "request {i}");
                assert_eq!(
                    callbacks[0].outcome,
                    CallbackOutcome::Accepted,
                    "request {i}: answered within Discord's window, {:?}",
                    callbacks[0].after
                );
                // The plan needs JumpCloud: "thinking…" at once, the plan as an edit.
                assert_eq!(body["type"], 5, "request {i}: {body}");
                let plan = h.settled_original(id).await;
                assert!(
                    plan.visible_text().contains("jcuser.one"),
                    "request {i}: {}",
                    plan.visible_text()
                );
                assert!(
                    plan.buttons().is_empty(),
                    "a dry run offers no buttons: {}",
                    plan.visible_text()
                );
            }
            Expect::Refused => {
                assert_eq!(status, 401, "request {i}");
                refused += 1;
            }
        }
    }
    assert!(refused >= REQUESTS / 2, "{refused}");
    assert!(h.mails().is_empty(), "dry runs and forgeries send nothing");
    harness.stop().await;
}

/// `passdesk run` with `[discord] mode = "http"`: the binary serves the endpoint and
/// `/healthz` on `[server] listen`, answers Discord, and stops cleanly on SIGTERM.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passdesk_run_serves_the_endpoint_until_sigterm() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    let fake = DiscordFake::builder()
        .guild(GUILD, [CHANNEL, APPROVALS])
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("passdesk.toml");
    // Nothing here reaches JumpCloud: a closed loopback port will do.
    let text = config_text("http://127.0.0.1:9", &fake, &dir.path().join("audit.jsonl"));
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_passdesk"))
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env_clear()
        .env("JC_KEY", "not-used-by-this-test")
        .env("DISCORD_TOKEN", fake.bot_token())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (send_line, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send_line.send(line).is_err() {
                break;
            }
        }
    });
    let mut transcript = String::new();
    let next_line = |transcript: &mut String| {
        let line = lines.recv_timeout(STEP).ok()?;
        transcript.push_str(&line);
        transcript.push('\n');
        Some(line)
    };
    let url = loop {
        let Some(line) = next_line(&mut transcript) else {
            let _ = child.kill();
            panic!("passdesk run did not say where it listens:\n{transcript}");
        };
        if let Some(rest) = line.strip_prefix("discord (http): listening on ") {
            break rest.split(';').next().unwrap().to_owned();
        }
    };
    assert!(url.ends_with(INTERACTIONS_PATH), "{url}");
    let base = url.trim_end_matches(INTERACTIONS_PATH).to_owned();

    let client = reqwest::Client::builder().timeout(STEP).build().unwrap();
    let health = client.get(format!("{base}{HEALTHZ_PATH}")).send().await;
    let health = health.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ping = fake.ping();
    let pong = fake.deliver_http(&url, &ping).await.unwrap();
    assert_eq!(
        (pong.status, pong.json()),
        (200, Some(serde_json::json!({"type": 1})))
    );
    let probe = fake.ping();
    let forged = fake.sign_with_wrong_key(&probe);
    let refused = fake.post_signed(&url, &probe, &forged).await.unwrap();
    assert_eq!(refused.status, 401);

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let (send_exit, exit) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send_exit.send(child.wait());
    });
    let status = exit
        .recv_timeout(STEP)
        .unwrap_or_else(|_| panic!("passdesk run did not stop on SIGTERM:\n{transcript}"))
        .unwrap();
    while let Some(line) = next_line(&mut transcript) {
        if line == "stopped" {
            break;
        }
    }
    assert!(status.success(), "{status}:\n{transcript}");
    assert!(
        transcript.lines().any(|line| line == "stopped"),
        "{transcript}"
    );
    assert!(
        client
            .get(format!("{base}{HEALTHZ_PATH}"))
            .send()
            .await
            .is_err(),
        "the port is closed once stopped"
    );
}
