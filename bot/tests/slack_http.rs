//! The Slack endpoints as Slack uses them: the bot's server on `127.0.0.1:0`, the fake Slack
//! signing and posting slash commands and interactions to it.
//!
//! What a helpdesk and its security officer would check: a signed command reaches the core and
//! is acknowledged within Slack's 3 s; anything unsigned, forged, stale or replayed is refused
//! with `401` before it is acted on, never with a `5xx`, also among a thousand mixed
//! requests; a workspace that is not served is told so; Slack's `ssl_check` is answered;
//! `passdesk run` with a `[slack]` section serves the endpoints and stops on SIGTERM.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use passdesk_bot::server::{self, HEALTHZ_PATH, Server, ServerState};
use passdesk_bot::slack::http::{
    COMMANDS_PATH, INTERACTIONS_PATH, Initial, NOT_SERVED, Served, SlackHandler, SlackHttpState,
};
use passdesk_bot::slack::replay::SignatureReplayGuard;
use passdesk_bot::slack::signature::SignatureVerifier;
use passdesk_bot::slack::wire::{Interaction, SlashCommand};
use passdesk_sim::slack::{FakeChannel, FakeUser, SignedRequest, SlackFake};
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const HELPDESK: &str = "C0HELPDESK";
const STRANGER_TEAM: &str = "T0STRANGER";
const STRANGER_CHANNEL: &str = "C0STRANGE1";
/// How long any one step may take before the test fails (it never waits this long otherwise).
const STEP: Duration = Duration::from_secs(10);

/// A stand-in for the Slack core: acknowledges a command with an ephemeral message naming its
/// text, and records what reached it.
#[derive(Default)]
struct Core {
    commands: Mutex<Vec<(String, String)>>,
    interactions: Mutex<Vec<String>>,
}

impl SlackHandler for Core {
    fn command(&self, command: SlashCommand) -> BoxFuture<'_, Initial> {
        self.commands
            .lock()
            .unwrap()
            .push((command.user_id.clone(), command.text.clone()));
        Box::pin(async move {
            Initial::json(json!({
                "response_type": "ephemeral",
                "text": format!("plan for {}", command.text),
            }))
        })
    }

    fn interaction(&self, interaction: Interaction) -> BoxFuture<'_, Initial> {
        self.interactions
            .lock()
            .unwrap()
            .push(interaction.kind().to_owned());
        Box::pin(async { Initial::empty() })
    }
}

/// The bot's server with the Slack routes, and the fake Slack.
struct Harness {
    fake: SlackFake,
    core: Arc<Core>,
    base: String,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), server::ServerError>>>,
}

fn ana() -> FakeUser {
    FakeUser::new("U0REQUEST1", "ana")
}

fn stranger() -> FakeUser {
    FakeUser::new("U0STRANGE1", "eve").team(STRANGER_TEAM)
}

impl Harness {
    async fn start() -> Harness {
        let fake = SlackFake::builder()
            .user(ana())
            .other_team(STRANGER_TEAM, "elsewhere", "xoxb-stranger")
            .user(stranger())
            .channel(FakeChannel::public(HELPDESK, "helpdesk"))
            .channel(FakeChannel::public(STRANGER_CHANNEL, "elsewhere").team(STRANGER_TEAM))
            .start()
            .await
            .unwrap();
        let core = Arc::new(Core::default());
        let verifier = SignatureVerifier::new(SecretString::from(fake.signing_secret().to_owned()));
        let state = SlackHttpState::new(
            verifier,
            Arc::new(SignatureReplayGuard::default()),
            Arc::clone(&core) as Arc<dyn SlackHandler>,
            Served::new(Some(fake.app_id().to_owned()), [fake.team_id().to_owned()]),
        );
        let server = Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            server::router(ServerState::new().with_slack(state)),
        )
        .await
        .unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Harness {
            fake,
            core,
            base,
            stop: Some(stop),
            serving: Some(serving),
        }
    }

    fn commands_url(&self) -> String {
        format!("{}{COMMANDS_PATH}", self.base)
    }

    fn interactions_url(&self) -> String {
        format!("{}{INTERACTIONS_PATH}", self.base)
    }

    fn command(&self, text: &str) -> SignedRequest {
        self.fake
            .slash_command(&ana(), self.fake.team_id(), HELPDESK, "/passdesk", text)
            .unwrap()
    }

    async fn send(&self, request: &SignedRequest) -> u16 {
        tokio::time::timeout(STEP, self.fake.deliver(&self.commands_url(), request))
            .await
            .unwrap()
            .unwrap()
            .status
    }

    fn commands_reached(&self) -> usize {
        self.core.commands.lock().unwrap().len()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap().unwrap();
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Every way to spoil a good signed request, each with its name. Timestamps are 30 s past
/// the window, since the server reads its clock a moment later.
fn forgeries(fake: &SlackFake, good: &SignedRequest) -> Vec<(&'static str, SignedRequest)> {
    let signature = good.signature.clone().unwrap();
    let with_signature = |text: String| {
        let mut request = good.clone();
        request.signature = Some(text);
        request
    };
    let with_body = |body: Vec<u8>| {
        let mut request = good.clone();
        request.body = body;
        request
    };
    let mut no_signature = good.clone();
    no_signature.signature = None;
    let mut no_timestamp = good.clone();
    no_timestamp.timestamp = None;
    let mut flipped_byte = good.body.clone();
    let last = flipped_byte.len() - 1;
    flipped_byte[last] ^= 0x01;
    // The same form, encoded otherwise: `+` as `%20`, or (without a space) `%2F` as `/`.
    let text = String::from_utf8(good.body.clone()).unwrap();
    let reencoded = if text.contains('+') {
        text.replacen('+', "%20", 1)
    } else {
        text.replacen("%2F", "/", 1)
    }
    .into_bytes();
    assert_ne!(reencoded, good.body);
    vec![
        ("unsigned", fake.unsigned(good)),
        (
            "signed with another secret",
            fake.sign_with_wrong_secret(good),
        ),
        (
            "stale",
            fake.sign_with_timestamp(good, &(now() - 330).to_string()),
        ),
        (
            "from the future",
            fake.sign_with_timestamp(good, &(now() + 330).to_string()),
        ),
        (
            "timestamp not digits",
            fake.sign_with_timestamp(good, "17e8"),
        ),
        ("body changed by one byte", with_body(flipped_byte)),
        ("the same form re-encoded", with_body(reencoded)),
        (
            "upper-case hex",
            with_signature(signature.to_uppercase().replacen("V0", "v0", 1)),
        ),
        (
            "v1 scheme",
            with_signature(signature.replacen("v0=", "v1=", 1)),
        ),
        (
            "truncated",
            with_signature(signature[..signature.len() - 2].to_owned()),
        ),
        ("no signature", no_signature),
        ("no timestamp", no_timestamp),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_command_reaches_the_core_and_is_acked_within_three_seconds() {
    let h = Harness::start().await;
    let command = h.command("reset user:jc.one dry-run:true");
    let delivery = h.fake.deliver(&h.commands_url(), &command).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert!(
        delivery.elapsed < Duration::from_secs(3),
        "{:?}",
        delivery.elapsed
    );
    assert_eq!(delivery.problem, None);
    let shown = delivery.message.expect("the ack is shown to the user");
    assert_eq!(shown.text, "plan for reset user:jc.one dry-run:true");
    assert_eq!(
        h.fake.ephemerals(HELPDESK, "U0REQUEST1").len(),
        1,
        "only the invoker sees it"
    );
    assert_eq!(
        *h.core.commands.lock().unwrap(),
        vec![(
            "U0REQUEST1".to_owned(),
            "reset user:jc.one dry-run:true".to_owned()
        )]
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_stale_and_replayed_requests_are_refused_before_the_core() {
    let h = Harness::start().await;
    let good = h.command("reset user:jc.one dry-run:true");
    for (name, forged) in forgeries(&h.fake, &good) {
        let delivery = h.fake.deliver(&h.commands_url(), &forged).await.unwrap();
        assert_eq!(delivery.status, 401, "{name}");
        assert_eq!(delivery.text(), "invalid request signature", "{name}");
    }
    assert_eq!(h.commands_reached(), 0, "nothing forged reached the core");

    // The refusals burnt nothing: the genuine request still works, once.
    assert_eq!(h.send(&good).await, 200);
    assert_eq!(h.send(&good).await, 401, "a replay inside the window");
    assert_eq!(h.commands_reached(), 1);

    // Interactions go through the same gate.
    let press_like = h.fake.unsigned(&good);
    let refused = h
        .fake
        .deliver(&h.interactions_url(), &press_like)
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    assert!(h.core.interactions.lock().unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_checks_are_answered_and_dispatch_nothing() {
    let h = Harness::start().await;
    let template = h.fake.unsigned(&h.command("help"));
    let with_body = |body: &str| {
        let mut request = template.clone();
        request.body = body.as_bytes().to_vec();
        request
    };
    let check = with_body("ssl_check=1&token=legacyNotUsed");
    let answered = h.fake.deliver(&h.commands_url(), &check).await.unwrap();
    assert_eq!((answered.status, answered.text()), (200, String::new()));
    // The bolt-js bypass: an unsigned ssl_check carrying a command or payload is unsigned.
    for body in [
        "ssl_check=1&command=%2Fpassdesk&text=help&team_id=T0PASSDESK&user_id=U0REQUEST1&channel_id=C0HELPDESK",
        "ssl_check=true&command=%2Fpassdesk",
        "ssl_check=1&payload=%7B%22type%22%3A%22block_actions%22%7D",
    ] {
        let refused = h
            .fake
            .deliver(&h.commands_url(), &with_body(body))
            .await
            .unwrap();
        assert_eq!(refused.status, 401, "{body}");
        let refused = h
            .fake
            .deliver(&h.interactions_url(), &with_body(body))
            .await
            .unwrap();
        assert_eq!(refused.status, 401, "{body}");
    }
    assert_eq!(h.commands_reached(), 0);
    assert!(h.core.interactions.lock().unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_that_is_not_served_is_told_so() {
    let h = Harness::start().await;
    let command = h
        .fake
        .slash_command(
            &stranger(),
            STRANGER_TEAM,
            STRANGER_CHANNEL,
            "/passdesk",
            "help",
        )
        .unwrap();
    let delivery = h.fake.deliver(&h.commands_url(), &command).await.unwrap();
    assert_eq!(
        delivery.status, 200,
        "Slack shows any other status as an error"
    );
    let shown = delivery.message.expect("the refusal is shown");
    assert_eq!(shown.text, NOT_SERVED);
    assert_eq!(
        h.fake.ephemerals(STRANGER_CHANNEL, "U0STRANGE1").len(),
        1,
        "only to the invoker"
    );
    assert_eq!(h.commands_reached(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused_without_a_server_error() {
    let h = Harness::start().await;
    let good = h.command("help");
    let mut big = good.body.clone();
    big.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    let mut oversized = good.clone();
    oversized.body = big;
    let big = h.fake.sign_with_timestamp(&oversized, &now().to_string());
    let status = h.send(&big).await;
    assert_eq!(status, 413);
    assert_eq!(h.commands_reached(), 0);
    h.stop().await;
}

/// What a request of the mix should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Acknowledged with the core's plan.
    Served,
    /// Refused with 401, never reaching the core.
    Refused,
    /// An `ssl_check`: 200, empty.
    SslCheck,
}

/// A thousand and more mixed requests, sixteen at a time: every genuine one (dry-run commands
/// and `help`) is acknowledged once, every forgery, stale or replayed one refused with 401,
/// nothing answered 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_mixed_requests_refuse_every_bad_one_and_never_fail() {
    const REQUESTS: usize = 1_200;
    let h = Harness::start().await;
    let h = &h;
    let results = futures::stream::iter(0..REQUESTS)
        .map(|i| async move {
            let text = if i % 2 == 0 {
                "help".to_owned()
            } else {
                format!("reset user:jc.user{i} dry-run:true")
            };
            let good = h.command(&text);
            let (expect, request) = match i % 4 {
                0 | 1 => (Expect::Served, good),
                2 => {
                    let cases = forgeries(&h.fake, &good);
                    let (_, forged) = cases[(i / 4) % cases.len()].clone();
                    (Expect::Refused, forged)
                }
                _ => match (i / 4) % 3 {
                    0 => {
                        // Sent once (served), then replayed: the replay is refused.
                        assert_eq!(h.send(&good).await, 200, "request {i}");
                        (Expect::Refused, good)
                    }
                    1 => {
                        let mut check = h.fake.unsigned(&good);
                        check.body = b"ssl_check=1&token=legacyNotUsed".to_vec();
                        (Expect::SslCheck, check)
                    }
                    _ => {
                        let mut check = h.fake.unsigned(&good);
                        check.body.extend_from_slice(b"&ssl_check=1");
                        (Expect::Refused, check)
                    }
                },
            };
            let delivery = tokio::time::timeout(STEP, h.fake.deliver(&h.commands_url(), &request))
                .await
                .unwrap()
                .unwrap();
            (i, text, expect, delivery)
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(results.len(), REQUESTS);
    let mut served = 0;
    let mut refused = 0;
    for (i, text, expect, delivery) in results {
        assert!(delivery.status < 500, "request {i}: {}", delivery.status);
        match expect {
            Expect::Served => {
                assert_eq!(delivery.status, 200, "request {i}");
                let shown = delivery.message.expect("the ack is shown");
                assert_eq!(shown.text, format!("plan for {text}"), "request {i}");
                served += 1;
            }
            Expect::Refused => {
                assert_eq!(delivery.status, 401, "request {i}");
                refused += 1;
            }
            Expect::SslCheck => {
                assert_eq!((delivery.status, delivery.text()), (200, String::new()));
            }
        }
    }
    assert!(refused >= REQUESTS / 3, "{refused}");
    // Served in the mix, plus each replayed request's first (genuine) sending.
    let replayed_first_sends = (0..REQUESTS)
        .filter(|i| i % 4 == 3 && (i / 4) % 3 == 0)
        .count();
    assert_eq!(h.commands_reached(), served + replayed_first_sends);
}

/// `passdesk run` with a `[slack]` section (and no Discord): the binary serves the endpoints
/// and `/healthz` on `[server] listen`, refuses an unsigned request, and stops on SIGTERM.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passdesk_run_serves_slack_until_sigterm() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    let fake = SlackFake::builder().user(ana()).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("passdesk.toml");
    let text = format!(
        r#"
[jumpcloud]
# Nothing here reaches JumpCloud: a closed loopback port will do.
base_url = "http://127.0.0.1:9"
api_key = {{ env = "JC_KEY" }}

[slack]
signing_secret = {{ env = "SLACK_SIGNING_SECRET" }}
bot_token = {{ env = "SLACK_BOT_TOKEN" }}
app_id = "{app}"
api_base_url = "{api}"

[slack.teams]
{team} = "default"

[groups.helpdesk]
slack_users = ["U0REQUEST1"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[audit]
path = "{audit}"

[server]
listen = "127.0.0.1:0"
"#,
        app = fake.app_id(),
        api = fake.api_url(),
        team = fake.team_id(),
        audit = dir.path().join("audit.jsonl").display(),
    );
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_passdesk"))
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env_clear()
        .env("JC_KEY", "not-used-by-this-test")
        .env("SLACK_SIGNING_SECRET", fake.signing_secret())
        .env("SLACK_BOT_TOKEN", fake.bot_token())
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
        if let Some(rest) = line.strip_prefix("slack: listening on ") {
            break rest.split([' ', ';']).next().unwrap().to_owned();
        }
    };
    assert!(url.ends_with(COMMANDS_PATH), "{url}");
    let base = url.trim_end_matches(COMMANDS_PATH).to_owned();

    let client = reqwest::Client::builder().timeout(STEP).build().unwrap();
    let health = client
        .get(format!("{base}{HEALTHZ_PATH}"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let command = fake
        .slash_command(&ana(), fake.team_id(), HELPDESK, "/passdesk", "help")
        .unwrap();
    let refused = fake.deliver(&url, &fake.unsigned(&command)).await.unwrap();
    assert_eq!(refused.status, 401);
    // The genuine request reaches the real Slack core, which answers within Slack's 3 s.
    let answered = fake.deliver(&url, &command).await.unwrap();
    assert_eq!(answered.status, 200, "{}", answered.text());
    assert!(
        answered.elapsed < Duration::from_secs(3),
        "{:?}",
        answered.elapsed
    );
    assert_eq!(answered.problem, None);
    let help = answered.message.expect("the core's answer is shown");
    assert!(!help.text.is_empty() || !help.blocks.is_empty(), "{help:?}");
    let forged = fake
        .deliver(&url, &fake.sign_with_wrong_secret(&command))
        .await
        .unwrap();
    assert_eq!(forged.status, 401);

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
