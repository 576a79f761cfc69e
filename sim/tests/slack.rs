//! The fake Slack from both sides: a small signature-checking bot (axum, in this file) receives
//! the driver's signed commands and interactions and answers through `response_url`s and the
//! Web API, as the real adapter will; the Web API's rules, Block Kit checks, user groups and
//! fault knobs are exercised over HTTP.

// clippy.toml allows unwrap/expect in #[test] functions only; the helpers below (the test
// bot, the Web API caller) are test code too, where a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use passdesk_sim::slack::{
    Auth, Endpoint, FakeChannel, FakeUser, Fault, Origin, PostOutcome, RequestKind, SignedRequest,
    SlackFake, sign,
};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{Mutex, mpsc};

const TEAM: &str = "T0PASSDESK";
const HELPDESK: &str = "C0HELPDESK";
const AUDIT: &str = "C0AUDIT01";
const PRIVATE: &str = "G0NOBOT01";
const WAIT: Duration = Duration::from_secs(10);

fn ana() -> FakeUser {
    FakeUser::new("U0REQUEST1", "ana").email("ana@acme.example")
}

fn bo() -> FakeUser {
    FakeUser::new("U0APPROVER", "bo")
}

async fn start_fake() -> SlackFake {
    SlackFake::builder()
        .user(ana())
        .user(bo())
        .user(FakeUser::new("U0GUEST001", "gus").guest())
        .channel(FakeChannel::public(HELPDESK, "helpdesk"))
        .channel(FakeChannel::private(AUDIT, "passdesk-audit").members(["U0APPROVER"]))
        .channel(FakeChannel::private(PRIVATE, "secret-room").without_bot())
        .user_group("S0HELPDESK", ["U0REQUEST1", "U0APPROVER"])
        .user_group("S0APPROVE", ["U0APPROVER"])
        .other_team("T0OTHER01", "other-co", "xoxb-other-team-token")
        .start()
        .await
        .unwrap()
}

// ---- A small bot that checks signatures as the adapter must (independently of the fake) ----

/// `v0=` + lowercase hex HMAC-SHA256 of `v0:{ts}:{body}`, timestamp within 300 s either way.
fn verified(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (Some(timestamp), Some(signature)) = (
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
    ) else {
        return false;
    };
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(sent) = timestamp.parse::<i64>() else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - sent).abs() > 300 {
        return false;
    }
    let Some(hex_part) = signature.strip_prefix("v0=") else {
        return false;
    };
    if hex_part.len() != 64 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// What the test bot received (after its signature check).
#[derive(Debug)]
enum Seen {
    Refused,
    Command {
        user_id: String,
        text: String,
    },
    Action {
        action_id: String,
        value: String,
    },
    Submission {
        private_metadata: String,
        password: String,
    },
    Closed {
        view_id: String,
    },
}

struct Bot {
    secret: String,
    api_url: String,
    token: String,
    client: reqwest::Client,
    seen: mpsc::UnboundedSender<Seen>,
    /// The `views.open` answer of the last `pd:notify` press.
    opened: Mutex<Option<Value>>,
}

fn plan_blocks(text: &str) -> Value {
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Plan* · {text}")}},
        {"type": "actions", "block_id": "pd:act:7f3a9c", "elements": [
            {"type": "button", "action_id": "pd:confirm", "value": "7f3a9c", "style": "danger",
             "text": {"type": "plain_text", "text": "Send reset mail"},
             "confirm": {"title": {"type": "plain_text", "text": "Send the mail?"},
                         "text": {"type": "plain_text", "text": "jc.one gets a reset e-mail."},
                         "confirm": {"type": "plain_text", "text": "Send"},
                         "deny": {"type": "plain_text", "text": "Back"}}},
            {"type": "button", "action_id": "pd:cancel", "value": "7f3a9c",
             "text": {"type": "plain_text", "text": "Cancel"}},
            {"type": "button", "action_id": "pd:notify", "value": "7f3a9c",
             "text": {"type": "plain_text", "text": "Set password"}}
        ]}
    ])
}

fn password_modal() -> Value {
    json!({
        "type": "modal",
        "callback_id": "pd:notify",
        "private_metadata": "7f3a9c",
        "title": {"type": "plain_text", "text": "Password notice"},
        "submit": {"type": "plain_text", "text": "Continue"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "notify_on_close": true,
        "blocks": [
            {"type": "input", "block_id": "pd:pw",
             "label": {"type": "plain_text", "text": "New password for jc.one"},
             "element": {"type": "plain_text_input", "action_id": "value",
                         "min_length": 12, "max_length": 128}}
        ]
    })
}

impl Bot {
    async fn respond(&self, url: &str, body: Value) {
        let answer = self.client.post(url).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 200, "response_url refused the bot's post");
    }

    async fn call(&self, method: &str, body: Value) -> Value {
        self.client
            .post(format!("{}{method}", self.api_url))
            .bearer_auth(&self.token)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn commands(State(bot): State<Arc<Bot>>, headers: HeaderMap, body: Bytes) -> Response {
    if !verified(&bot.secret, &headers, &body) {
        let _ = bot.seen.send(Seen::Refused);
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let text = field("text");
    let _ = bot.seen.send(Seen::Command {
        user_id: field("user_id"),
        text: text.clone(),
    });
    if text == "ack" {
        // The plan in the acknowledgement itself.
        return axum::Json(json!({
            "response_type": "ephemeral",
            "text": "Plan in the ack",
            "blocks": plan_blocks("in the ack"),
        }))
        .into_response();
    }
    if text == "slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
        return StatusCode::OK.into_response();
    }
    let response_type = if text == "announce" {
        "in_channel"
    } else {
        "ephemeral"
    };
    bot.respond(
        &field("response_url"),
        json!({
            "response_type": response_type,
            "replace_original": false,
            "text": format!("Plan: {text}"),
            "blocks": plan_blocks(&text),
        }),
    )
    .await;
    StatusCode::OK.into_response()
}

async fn interactions(State(bot): State<Arc<Bot>>, headers: HeaderMap, body: Bytes) -> Response {
    if !verified(&bot.secret, &headers, &body) {
        let _ = bot.seen.send(Seen::Refused);
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let payload: Value = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "payload")
        .and_then(|(_, value)| serde_json::from_str(&value).ok())
        .unwrap();
    match payload["type"].as_str() {
        Some("block_actions") => {
            let action = &payload["actions"][0];
            let action_id = action["action_id"].as_str().unwrap_or_default().to_owned();
            let url = payload["response_url"].as_str().unwrap_or_default();
            match action_id.as_str() {
                "pd:confirm" => {
                    bot.respond(
                        url,
                        json!({"replace_original": true, "delete_original": false,
                               "text": "Done: reset mail sent to jc.one",
                               "blocks": [{"type": "section",
                                           "text": {"type": "mrkdwn", "text": "*Done* · jc.one"}}]}),
                    )
                    .await;
                }
                "pd:cancel" => {
                    bot.respond(url, json!({"delete_original": true})).await;
                }
                "pd:notify" => {
                    let opened = bot
                        .call(
                            "views.open",
                            json!({"trigger_id": payload["trigger_id"], "view": password_modal()}),
                        )
                        .await;
                    *bot.opened.lock().await = Some(opened);
                }
                _ => {}
            }
            let _ = bot.seen.send(Seen::Action {
                action_id,
                value: action["value"].as_str().unwrap_or_default().to_owned(),
            });
            StatusCode::OK.into_response()
        }
        Some("view_submission") => {
            let view = &payload["view"];
            let password = view["state"]["values"]["pd:pw"]["value"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let weak = password.contains("weak");
            let _ = bot.seen.send(Seen::Submission {
                private_metadata: view["private_metadata"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                password,
            });
            if weak {
                return axum::Json(json!({"response_action": "errors",
                                         "errors": {"pd:pw": "Too weak"}}))
                .into_response();
            }
            StatusCode::OK.into_response()
        }
        Some("view_closed") => {
            let _ = bot.seen.send(Seen::Closed {
                view_id: payload["view"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            });
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

struct TestBot {
    base: String,
    seen: mpsc::UnboundedReceiver<Seen>,
    bot: Arc<Bot>,
}

impl TestBot {
    fn commands_url(&self) -> String {
        format!("{}/slack/commands", self.base)
    }

    fn interactions_url(&self) -> String {
        format!("{}/slack/interactions", self.base)
    }

    async fn next(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("the bot saw nothing")
            .expect("the bot stopped")
    }
}

async fn start_bot(fake: &SlackFake) -> TestBot {
    let (sender, seen) = mpsc::unbounded_channel();
    let bot = Arc::new(Bot {
        secret: fake.signing_secret().to_owned(),
        api_url: fake.api_url(),
        token: fake.bot_token().to_owned(),
        client: reqwest::Client::builder()
            .timeout(WAIT)
            .no_proxy()
            .build()
            .unwrap(),
        seen: sender,
        opened: Mutex::new(None),
    });
    let app = Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .with_state(Arc::clone(&bot));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestBot { base, seen, bot }
}

// ---- Calling the Web API as a client would ----

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn call_with(fake: &SlackFake, method: &str, token: Option<&str>, body: &Value) -> Answer {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client
        .post(format!("{}{method}", fake.api_url()))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    Answer {
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

async fn call(fake: &SlackFake, method: &str, body: Value) -> Answer {
    call_with(fake, method, Some(fake.bot_token()), &body).await
}

async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A command whose plan the bot posts through the `response_url`; returns the request and the
/// ephemeral plan.
async fn command_with_plan(
    fake: &SlackFake,
    bot: &mut TestBot,
    text: &str,
) -> (SignedRequest, passdesk_sim::slack::MessageView) {
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", text)
        .unwrap();
    let ack = fake.deliver(&bot.commands_url(), &command).await.unwrap();
    assert_eq!(ack.status, 200);
    assert!(matches!(bot.next().await, Seen::Command { .. }));
    let url = command.response_url.clone().unwrap();
    let posts = fake.wait_for_response_posts(&url, 1, WAIT).await.unwrap();
    let PostOutcome::Created(ts) = &posts[0].outcome else {
        panic!("unexpected {:?}", posts[0].outcome);
    };
    let plan = fake.message(HELPDESK, ts).unwrap();
    (command, plan)
}

// ---- Signing ----

#[test]
fn signatures_match_the_reference_known_answer_vectors() {
    let slack_example = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let vectors = [
        (
            "8f742231b10e8888abcd99yyyzzz85a5",
            "1531420618",
            slack_example,
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ),
        (
            "fa2c05deeef5a4077494e89f54394de0",
            "1531420618",
            "test-body",
            "v0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666",
        ),
        (
            "passdesk-test-signing-secret",
            "1700000000",
            "payload=%7B%22type%22%3A%22block_actions%22%7D",
            "v0=3b19a8024eb62441d9bbe1da62f44b29971ca7e4a4bd7dba348eb29414e9a091",
        ),
        (
            "passdesk-test-signing-secret",
            "1700000000",
            "command=%2Fpasswd&text=reset+user%3Ajc.one",
            "v0=916af62e5a7eb22f144f4f40a568705f1c09ddc3061c9bb888c351224a6bd9a4",
        ),
        (
            "passdesk-test-signing-secret",
            "1700000000",
            "command=%2Fpasswd&text=reset%20user%3Ajc.one",
            "v0=4277afa13ec77a9342241f29932c8fb3d03179c37296c19875f938f0b0931639",
        ),
    ];
    for (secret, timestamp, body, expected) in vectors {
        assert_eq!(sign(secret, timestamp, body.as_bytes()), expected, "{body}");
    }
}

#[tokio::test]
async fn the_driver_signs_with_the_app_secret_and_its_variants_do_not_verify() {
    let fake = SlackFake::builder()
        .signing_secret("8f742231b10e8888abcd99yyyzzz85a5")
        .start()
        .await
        .unwrap();
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "reset user:jc.one")
        .unwrap();
    let headers = |request: &SignedRequest| {
        let mut map = HeaderMap::new();
        for (name, value) in request.headers() {
            map.insert(name, value.parse().unwrap());
        }
        map
    };
    assert!(verified(
        fake.signing_secret(),
        &headers(&command),
        &command.body
    ));

    // Slack's worked example, signed by the driver at the example's timestamp.
    let mut example = command.clone();
    example.body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".to_vec();
    let example = fake.sign_with_timestamp(&example, "1531420618");
    assert_eq!(
        example.signature.as_deref(),
        Some("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
    );

    let stale_ts = (chrono::Utc::now().timestamp() - 301).to_string();
    let stale = fake.sign_with_timestamp(&command, &stale_ts);
    assert!(!verified(
        fake.signing_secret(),
        &headers(&stale),
        &stale.body
    ));
    let forged = fake.sign_with_wrong_secret(&command);
    assert!(forged.signature.is_some());
    assert!(!verified(
        fake.signing_secret(),
        &headers(&forged),
        &forged.body
    ));
    let unsigned = fake.unsigned(&command);
    assert!(!headers(&unsigned).contains_key("x-slack-signature"));
    assert!(!verified(
        fake.signing_secret(),
        &headers(&unsigned),
        &unsigned.body
    ));
}

#[tokio::test]
async fn a_slash_command_carries_every_field_slack_sends() {
    let fake = start_fake().await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "reset user:jc.one")
        .unwrap();
    assert_eq!(command.kind, RequestKind::SlashCommand);
    let body = String::from_utf8(command.body.clone()).unwrap();
    assert!(
        body.contains("&command=%2Fpassdesk&text=reset+user%3Ajc.one&"),
        "{body}"
    );
    let fields: Vec<String> = command.form().into_iter().map(|(key, _)| key).collect();
    assert_eq!(
        fields,
        [
            "token",
            "team_id",
            "team_domain",
            "channel_id",
            "channel_name",
            "user_id",
            "user_name",
            "command",
            "text",
            "api_app_id",
            "is_enterprise_install",
            "response_url",
            "trigger_id"
        ]
    );
    assert_eq!(
        command.field("token").as_deref(),
        Some(fake.verification_token())
    );
    assert_eq!(command.field("team_domain").as_deref(), Some("acme-it"));
    assert_eq!(command.field("channel_name").as_deref(), Some("helpdesk"));
    assert_eq!(command.field("user_name").as_deref(), Some("ana"));
    assert_eq!(command.field("api_app_id").as_deref(), Some(fake.app_id()));
    assert_eq!(
        command.field("is_enterprise_install").as_deref(),
        Some("false")
    );
    let url = command.field("response_url").unwrap();
    assert_eq!(command.response_url.as_deref(), Some(url.as_str()));
    assert!(url.starts_with(&format!("{}/hooks/commands/{TEAM}/", fake.base_url())));
    assert_eq!(command.field("trigger_id"), command.trigger_id);

    // Each command gets its own response_url and trigger_id.
    let again = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "")
        .unwrap();
    assert_ne!(again.response_url, command.response_url);
    assert_ne!(again.trigger_id, command.trigger_id);
    assert_eq!(again.field("text").as_deref(), Some(""));

    assert!(
        fake.slash_command(&ana(), "T0NOPE", HELPDESK, "/passdesk", "")
            .is_err()
    );
    assert!(
        fake.slash_command(&ana(), TEAM, "C0NOPE", "/passdesk", "")
            .is_err()
    );
}

// ---- The command flow through a verifying bot ----

#[tokio::test]
async fn a_verified_command_answered_through_its_response_url_shows_an_ephemeral_plan() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "reset user:jc.one")
        .unwrap();
    let ack = fake.deliver(&bot.commands_url(), &command).await.unwrap();
    assert_eq!(ack.status, 200);
    assert!(ack.message.is_none(), "an empty ack shows nothing");
    match bot.next().await {
        Seen::Command { user_id, text } => {
            assert_eq!(user_id, "U0REQUEST1");
            assert_eq!(text, "reset user:jc.one");
        }
        other => panic!("unexpected {other:?}"),
    }
    let shown = fake
        .wait_for_ephemerals(HELPDESK, "U0REQUEST1", 1, WAIT)
        .await
        .unwrap();
    assert_eq!(shown.len(), 1);
    let plan = &shown[0];
    assert_eq!(plan.origin, Origin::ResponseUrl);
    assert_eq!(plan.user_id, fake.bot_user_id());
    assert!(plan.visible_text().contains("*Plan* · reset user:jc.one"));
    assert_eq!(
        plan.buttons()
            .iter()
            .map(|button| button.text.as_str())
            .collect::<Vec<_>>(),
        ["Send reset mail", "Cancel", "Set password"]
    );
    // Nobody else sees it, and the channel shows nothing.
    assert!(fake.channel_messages(HELPDESK).is_empty());
    assert!(fake.visible_to("U0APPROVER", HELPDESK).is_empty());
    assert_eq!(fake.visible_to("U0REQUEST1", HELPDESK).len(), 1);
    // The post itself: accepted, answered without a ts.
    let posts = fake.response_posts(command.response_url.as_deref().unwrap());
    assert_eq!(posts.len(), 1);
    assert!(posts[0].accepted());
    assert_eq!(posts[0].status, 200);
    let record = &fake.requests_to(Endpoint::ResponseUrl)[0];
    assert_eq!(record.auth, Auth::Missing);
    // The driver's own record of what it sent.
    let deliveries = fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    assert!(deliveries[0].signed);
}

#[tokio::test]
async fn badly_signed_requests_are_refused_by_a_verifying_bot_and_change_nothing() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "reset user:jc.one")
        .unwrap();
    let stale_ts = (chrono::Utc::now().timestamp() - 301).to_string();
    let future_ts = (chrono::Utc::now().timestamp() + 301).to_string();
    let mut tampered = command.clone();
    let at = tampered.body.iter().position(|b| *b == b'+').unwrap();
    tampered.body.splice(at..=at, b"%20".iter().copied());
    let variants = [
        fake.unsigned(&command),
        fake.sign_with_wrong_secret(&command),
        fake.sign_with_timestamp(&command, &stale_ts),
        fake.sign_with_timestamp(&command, &future_ts),
        fake.sign_with_timestamp(&command, "+123"),
        tampered,
    ];
    for variant in &variants {
        let answer = fake.deliver(&bot.commands_url(), variant).await.unwrap();
        assert_eq!(answer.status, 401, "{variant:?}");
        assert!(answer.problem.is_some());
        assert!(matches!(bot.next().await, Seen::Refused));
    }
    assert!(
        fake.response_posts(command.response_url.as_deref().unwrap())
            .is_empty()
    );
    assert!(fake.visible_to("U0REQUEST1", HELPDESK).is_empty());
    // The original, correctly signed, still works.
    let answer = fake.deliver(&bot.commands_url(), &command).await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(matches!(bot.next().await, Seen::Command { .. }));
}

#[tokio::test]
async fn a_json_ack_is_shown_at_once_and_its_buttons_can_be_pressed() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "ack")
        .unwrap();
    let ack = fake.deliver(&bot.commands_url(), &command).await.unwrap();
    let shown = ack.message.expect("the ack body is shown");
    assert_eq!(shown.origin, Origin::CommandAck);
    assert_eq!(shown.ephemeral_to.as_deref(), Some("U0REQUEST1"));
    assert_eq!(shown.text, "Plan in the ack");
    assert!(matches!(bot.next().await, Seen::Command { .. }));

    // The command's response_url replaces the ack's message.
    let url = command.response_url.clone().unwrap();
    let (status, _) = post_json(
        &url,
        &json!({"replace_original": true, "text": "Expired, run it again"}),
    )
    .await;
    assert_eq!(status, 200);
    let now = fake.message(HELPDESK, &shown.ts).unwrap();
    assert_eq!(now.text, "Expired, run it again");
    assert!(now.blocks.is_empty(), "a replacement is a whole new body");
    assert_eq!(now.history[0].text, "Plan in the ack");
}

#[tokio::test]
async fn a_slow_bot_misses_the_ack_window() {
    let fake = SlackFake::builder()
        .ack_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let mut bot = start_bot(&fake).await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "slow")
        .unwrap();
    let error = fake
        .deliver(&bot.commands_url(), &command)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("delivering"), "{error}");
    assert!(matches!(bot.next().await, Seen::Command { .. }));
    assert_eq!(fake.deliveries()[0].status, None);
    // Only this machine is ever a target.
    assert!(
        fake.deliver("https://example.com/slack/commands", &command)
            .await
            .is_err()
    );
}

// ---- response_url semantics ----

#[tokio::test]
async fn replace_original_edits_the_pressed_ephemeral_and_delete_original_removes_it() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let (_, plan) = command_with_plan(&fake, &mut bot, "reset user:jc.one").await;

    let press = fake
        .press_button(&ana(), &plan, "pd:confirm", None)
        .unwrap();
    assert_eq!(press.kind, RequestKind::BlockActions);
    let payload = press.payload().unwrap();
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["user"]["id"], "U0REQUEST1");
    assert_eq!(payload["team"]["id"], TEAM);
    assert_eq!(payload["api_app_id"], fake.app_id());
    assert_eq!(payload["container"]["message_ts"], plan.ts.as_str());
    assert_eq!(payload["container"]["is_ephemeral"], true);
    assert_eq!(payload["channel"]["id"], HELPDESK);
    assert_eq!(payload["actions"][0]["block_id"], "pd:act:7f3a9c");
    assert_eq!(payload["actions"][0]["value"], "7f3a9c");
    assert!(
        payload.get("message").is_none(),
        "no message for an ephemeral source"
    );
    assert!(
        press
            .response_url
            .as_deref()
            .unwrap()
            .contains("/hooks/actions/")
    );

    let answer = fake.deliver(&bot.interactions_url(), &press).await.unwrap();
    assert_eq!(answer.status, 200);
    match bot.next().await {
        Seen::Action { action_id, value } => {
            assert_eq!(
                (action_id.as_str(), value.as_str()),
                ("pd:confirm", "7f3a9c")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let posts = fake
        .wait_for_response_posts(press.response_url.as_deref().unwrap(), 1, WAIT)
        .await
        .unwrap();
    assert_eq!(posts[0].outcome, PostOutcome::Replaced(plan.ts.clone()));
    let edited = fake.message(HELPDESK, &plan.ts).unwrap();
    assert_eq!(edited.visible_text(), "*Done* · jc.one");
    assert!(edited.buttons().is_empty(), "the buttons are gone");
    assert!(edited.is_ephemeral());
    assert_eq!(edited.edits, 1);
    assert_eq!(fake.ephemerals(HELPDESK, "U0REQUEST1").len(), 1);

    // Another plan, cancelled: the bot deletes it.
    let (_, second) = command_with_plan(&fake, &mut bot, "reset user:jc.two").await;
    let cancel = fake
        .press_button(&ana(), &second, "pd:cancel", None)
        .unwrap();
    fake.deliver(&bot.interactions_url(), &cancel)
        .await
        .unwrap();
    assert!(matches!(bot.next().await, Seen::Action { .. }));
    let posts = fake
        .wait_for_response_posts(cancel.response_url.as_deref().unwrap(), 1, WAIT)
        .await
        .unwrap();
    assert_eq!(posts[0].outcome, PostOutcome::Deleted(second.ts.clone()));
    assert!(fake.message(HELPDESK, &second.ts).is_none());
    assert_eq!(fake.ephemerals(HELPDESK, "U0REQUEST1").len(), 1);
    // A press on the deleted message is refused by the client.
    assert!(
        fake.press_button(&ana(), &second, "pd:confirm", None)
            .is_err()
    );
}

#[tokio::test]
async fn a_response_url_takes_five_posts_then_answers_as_an_expired_url() {
    let fake = start_fake().await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "bulk")
        .unwrap();
    let url = command.response_url.clone().unwrap();
    for i in 1..=5 {
        let (status, body) = post_json(
            &url,
            &json!({"response_type": "ephemeral", "text": format!("progress {i}/5")}),
        )
        .await;
        assert_eq!((status, body), (200, json!({"ok": true})), "post {i}");
    }
    let (status, body) = post_json(&url, &json!({"text": "the result"})).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"ok": false, "error": "expired_url"}));
    let posts = fake.response_posts(&url);
    assert_eq!(posts.len(), 6);
    assert_eq!(posts[5].outcome, PostOutcome::Exhausted);
    let seen: Vec<String> = fake
        .ephemerals(HELPDESK, "U0REQUEST1")
        .into_iter()
        .map(|message| message.text)
        .collect();
    assert_eq!(seen.len(), 5);
    assert!(!seen.contains(&"the result".to_owned()));
}

#[tokio::test]
async fn a_response_url_expires_after_thirty_minutes_on_the_fake_clock() {
    let fake = start_fake().await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "approve")
        .unwrap();
    let url = command.response_url.clone().unwrap();
    fake.advance(Duration::from_secs(29 * 60));
    assert_eq!(post_json(&url, &json!({"text": "still here"})).await.0, 200);
    fake.advance(Duration::from_secs(2 * 60));
    let (status, body) = post_json(&url, &json!({"text": "too late"})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("expired_url")));
    assert_eq!(fake.response_posts(&url)[1].outcome, PostOutcome::Expired);
    assert!(fake.response_posts(&url)[1].after >= Duration::from_secs(31 * 60));
}

#[tokio::test]
async fn in_channel_posts_are_seen_by_everyone_and_bad_posts_are_refused() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let (command, announced) = command_with_plan(&fake, &mut bot, "announce").await;
    assert!(!announced.is_ephemeral());
    assert_eq!(fake.channel_messages(HELPDESK).len(), 1);
    assert_eq!(fake.visible_to("U0APPROVER", HELPDESK).len(), 1);
    // A press on a channel message carries the message itself.
    let press = fake
        .press_button(&bo(), &announced, "pd:cancel", None)
        .unwrap();
    let payload = press.payload().unwrap();
    assert_eq!(payload["message"]["ts"], announced.ts.as_str());
    assert_eq!(payload["container"]["is_ephemeral"], false);

    let url = command.response_url.unwrap();
    let (status, body) = post_json(&url, &json!({"response_type": "ephemeral"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("no_text")));
    let too_many = Value::Array(vec![json!({"type": "divider"}); 51]);
    let (status, body) = post_json(&url, &json!({"text": "x", "blocks": too_many})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_blocks"))
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let not_json = client.post(&url).body("text=hi").send().await.unwrap();
    assert_eq!(not_json.status(), 400);
    let unknown = url.replace("/hooks/commands/", "/hooks/actions/");
    assert_eq!(post_json(&unknown, &json!({"text": "x"})).await.0, 404);
    // Refused posts do not use up the budget.
    assert_eq!(fake.response_posts(&url).len(), 4);
    assert_eq!(post_json(&url, &json!({"text": "fine"})).await.0, 200);
}

#[tokio::test]
async fn presses_are_limited_to_what_the_user_sees() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let (_, plan) = command_with_plan(&fake, &mut bot, "reset user:jc.one").await;
    assert!(matches!(
        fake.press_button(&bo(), &plan, "pd:confirm", None),
        Err(passdesk_sim::slack::FakeError::NotVisible { .. })
    ));
    assert!(matches!(
        fake.press_button(&ana(), &plan, "pd:nope", None),
        Err(passdesk_sim::slack::FakeError::NoSuchButton { .. })
    ));
    assert!(
        fake.press_button(&ana(), &plan, "pd:confirm", Some("other"))
            .is_err()
    );
    let by_label = fake.press_button_labelled(&ana(), &plan, "Cancel").unwrap();
    assert_eq!(
        by_label.payload().unwrap()["actions"][0]["action_id"],
        "pd:cancel"
    );
}

// ---- Modals ----

#[tokio::test]
async fn views_open_takes_a_fresh_trigger_once_and_refuses_stale_or_unknown_ones() {
    let fake = start_fake().await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "notify")
        .unwrap();
    let trigger = command.trigger_id.clone().unwrap();
    let opened = call(
        &fake,
        "views.open",
        json!({"trigger_id": trigger, "view": password_modal()}),
    )
    .await;
    assert_eq!(opened.body["ok"], true, "{}", opened.body);
    let view_id = opened.body["view"]["id"].as_str().unwrap().to_owned();
    assert_eq!(opened.body["view"]["private_metadata"], "7f3a9c");
    let view = fake.wait_for_view(&command, WAIT).await.unwrap();
    assert_eq!(view.id, view_id);
    assert_eq!(view.user_id, "U0REQUEST1");
    assert!(view.open);
    assert_eq!(view.title(), "Password notice");

    let reused = call(
        &fake,
        "views.open",
        json!({"trigger_id": trigger, "view": password_modal()}),
    )
    .await;
    assert_eq!(reused.body["error"], "exchanged_trigger_id");

    let late = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "notify")
        .unwrap();
    fake.advance(Duration::from_secs(4));
    let stale = call(
        &fake,
        "views.open",
        json!({"trigger_id": late.trigger_id, "view": password_modal()}),
    )
    .await;
    assert_eq!(stale.body["error"], "expired_trigger_id");

    let unknown = call(
        &fake,
        "views.open",
        json!({"trigger_id": "1.2.3", "view": password_modal()}),
    )
    .await;
    assert_eq!(unknown.body["error"], "invalid_trigger_id");

    // Another workspace's token cannot exchange this workspace's trigger.
    let fresh = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "notify")
        .unwrap();
    let other = call_with(
        &fake,
        "views.open",
        Some("xoxb-other-team-token"),
        &json!({"trigger_id": fresh.trigger_id, "view": password_modal()}),
    )
    .await;
    assert_eq!(other.body["error"], "invalid_trigger_id");

    // A view Slack would refuse: the error names the field, and the trigger is still good.
    let mut long_title = password_modal();
    long_title["title"]["text"] = json!("A title far longer than twenty-four");
    let refused = call(
        &fake,
        "views.open",
        json!({"trigger_id": fresh.trigger_id, "view": long_title}),
    )
    .await;
    assert_eq!(refused.body["error"], "invalid_arguments");
    assert!(
        refused.body["response_metadata"]["messages"][0]
            .as_str()
            .unwrap()
            .contains("/view/title/text")
    );
    let form = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}views.open", fake.api_url()))
        .bearer_auth(fake.bot_token())
        .form(&[
            ("trigger_id", fresh.trigger_id.clone().unwrap()),
            ("view", password_modal().to_string()),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        form["ok"], true,
        "a form-encoded view is a JSON string: {form}"
    );
}

#[tokio::test]
async fn a_submitted_view_carries_private_metadata_and_the_typed_value() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let (_, plan) = command_with_plan(&fake, &mut bot, "notify").await;
    let press = fake.press_button(&ana(), &plan, "pd:notify", None).unwrap();
    fake.deliver(&bot.interactions_url(), &press).await.unwrap();
    assert!(matches!(bot.next().await, Seen::Action { .. }));
    let view = fake.wait_for_view(&press, WAIT).await.unwrap();
    let opened = bot.bot.opened.lock().await.clone().unwrap();
    assert_eq!(opened["view"]["id"], view.id.as_str());
    assert_eq!(view.private_metadata.as_deref(), Some("7f3a9c"));
    assert_eq!(view.callback_id.as_deref(), Some("pd:notify"));
    let inputs = view.inputs();
    assert_eq!(inputs[0].block_id, "pd:pw");
    assert_eq!(inputs[0].min_length, Some(12));

    // What Slack's client would not submit.
    assert!(fake.submit_view(&ana(), &view.id, &[]).is_err());
    assert!(
        fake.submit_view(&ana(), &view.id, &[("pd:pw", "short")])
            .is_err()
    );
    assert!(
        fake.submit_view(&ana(), &view.id, &[("pd:other", "x")])
            .is_err()
    );
    assert!(
        fake.submit_view(&bo(), &view.id, &[("pd:pw", "correct-horse-battery")])
            .is_err()
    );

    // A weak password: the bot answers with errors, the modal stays open.
    let weak = fake
        .submit_view(&ana(), &view.id, &[("pd:pw", "weak-but-long-enough")])
        .unwrap();
    let answer = fake.deliver(&bot.interactions_url(), &weak).await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(matches!(bot.next().await, Seen::Submission { .. }));
    let still = fake.view(&view.id).unwrap();
    assert!(still.open);
    assert_eq!(still.errors, Some(json!({"pd:pw": "Too weak"})));

    let submit = fake
        .submit_view(&ana(), &view.id, &[("pd:pw", "correct-horse-battery")])
        .unwrap();
    assert_eq!(submit.kind, RequestKind::ViewSubmission);
    assert!(submit.response_url.is_none());
    assert!(!format!("{submit:?}").contains("correct-horse"));
    let payload = submit.payload().unwrap();
    assert_eq!(payload["type"], "view_submission");
    assert_eq!(payload["view"]["id"], view.id.as_str());
    assert_eq!(payload["view"]["hash"], view.hash.as_str());
    assert_eq!(payload["response_urls"], json!([]));
    fake.deliver(&bot.interactions_url(), &submit)
        .await
        .unwrap();
    match bot.next().await {
        Seen::Submission {
            private_metadata,
            password,
        } => {
            assert_eq!(private_metadata, "7f3a9c");
            assert_eq!(password, "correct-horse-battery");
        }
        other => panic!("unexpected {other:?}"),
    }
    let closed = fake.view(&view.id).unwrap();
    assert!(!closed.open, "an empty 200 closes the modal");
    assert_eq!(closed.submissions, 2);
}

#[tokio::test]
async fn closing_a_view_that_asked_for_it_sends_view_closed() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "notify")
        .unwrap();
    call(
        &fake,
        "views.open",
        json!({"trigger_id": command.trigger_id, "view": password_modal()}),
    )
    .await;
    let view = fake.wait_for_view(&command, WAIT).await.unwrap();
    let closed = fake.close_view(&ana(), &view.id).unwrap().unwrap();
    assert_eq!(closed.kind, RequestKind::ViewClosed);
    fake.deliver(&bot.interactions_url(), &closed)
        .await
        .unwrap();
    match bot.next().await {
        Seen::Closed { view_id } => assert_eq!(view_id, view.id),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!fake.view(&view.id).unwrap().open);
    assert!(fake.close_view(&ana(), &view.id).is_err());
}

// ---- The Web API ----

#[tokio::test]
async fn chat_post_message_checks_the_token_the_channel_and_the_blocks() {
    let fake = start_fake().await;
    let message = json!({"channel": AUDIT, "text": "passdesk: reset mail sent to jc.one"});

    let wrong = call_with(&fake, "chat.postMessage", Some("xoxb-wrong"), &message).await;
    assert_eq!(wrong.status, 200);
    assert_eq!(wrong.body, json!({"ok": false, "error": "invalid_auth"}));
    let missing = call_with(&fake, "chat.postMessage", None, &message).await;
    assert_eq!(missing.body, json!({"ok": false, "error": "not_authed"}));

    let blocks = Value::Array(vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": "x"}});
        51
    ]);
    let too_many = call(
        &fake,
        "chat.postMessage",
        json!({"channel": AUDIT, "text": "x", "blocks": blocks}),
    )
    .await;
    assert_eq!(too_many.body["error"], "invalid_blocks");
    assert_eq!(
        too_many.body["errors"][0],
        "must be less than 51 items [json-pointer:/blocks]"
    );
    let long_label = call(
        &fake,
        "chat.postMessage",
        json!({"channel": AUDIT, "text": "x", "blocks": [{"type": "actions", "elements": [
            {"type": "button", "action_id": "a",
             "text": {"type": "plain_text", "text": "x".repeat(76)}}]}]}),
    )
    .await;
    assert_eq!(long_label.body["error"], "invalid_blocks");

    let not_in = call(
        &fake,
        "chat.postMessage",
        json!({"channel": PRIVATE, "text": "x"}),
    )
    .await;
    assert_eq!(not_in.body["error"], "not_in_channel");
    let unknown = call(
        &fake,
        "chat.postMessage",
        json!({"channel": "C0NOPE", "text": "x"}),
    )
    .await;
    assert_eq!(unknown.body["error"], "channel_not_found");
    let empty = call(&fake, "chat.postMessage", json!({"channel": AUDIT})).await;
    assert_eq!(empty.body["error"], "no_text");
    assert!(fake.channel_messages(AUDIT).is_empty());

    let posted = call(&fake, "chat.postMessage", message.clone()).await;
    assert_eq!(posted.body["ok"], true);
    assert_eq!(posted.body["channel"], AUDIT);
    let ts = posted.body["ts"].as_str().unwrap().to_owned();
    assert_eq!(posted.body["message"]["bot_id"], "B0PASSDESK");
    let second = call(&fake, "chat.postMessage", message).await;
    assert!(
        second.body["ts"].as_str().unwrap() > ts.as_str(),
        "ts increases"
    );
    let shown = fake.channel_messages(AUDIT);
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0].ts, ts);
    assert_eq!(shown[0].text, "passdesk: reset mail sent to jc.one");
    assert_eq!(shown[0].origin, Origin::PostMessage);

    // The bot invited later can post; a user id as channel opens the DM.
    assert!(fake.set_bot_member(PRIVATE, true));
    let now_in = call(
        &fake,
        "chat.postMessage",
        json!({"channel": PRIVATE, "text": "x"}),
    )
    .await;
    assert_eq!(now_in.body["ok"], true);
    let dm = call(
        &fake,
        "chat.postMessage",
        json!({"channel": "U0REQUEST1", "text": "hi"}),
    )
    .await;
    let dm_channel = dm.body["channel"].as_str().unwrap().to_owned();
    assert!(dm_channel.starts_with('D'), "{dm_channel}");
    assert_eq!(fake.channel_messages(&dm_channel)[0].text, "hi");
}

#[tokio::test]
async fn form_bodies_and_missing_charsets_are_read_as_slack_reads_them() {
    let fake = start_fake().await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*form*"}}]);
    let form: Value = client
        .post(format!("{}chat.postMessage", fake.api_url()))
        .bearer_auth(fake.bot_token())
        .form(&[
            ("channel", HELPDESK.to_owned()),
            ("text", "from a form".to_owned()),
            ("blocks", blocks.to_string()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["ok"], true, "{form}");
    assert_eq!(fake.channel_messages(HELPDESK)[0].visible_text(), "*form*");

    let no_charset: Value = client
        .post(format!("{}auth.test", fake.api_url()))
        .bearer_auth(fake.bot_token())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(no_charset["ok"], true);
    assert_eq!(no_charset["warning"], "missing_charset");

    let unknown = call(&fake, "chat.nope", json!({})).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"], "unknown_method");
    // A token in the body is not a token.
    let in_body = call_with(
        &fake,
        "auth.test",
        None,
        &json!({"token": fake.bot_token()}),
    )
    .await;
    assert_eq!(in_body.body["error"], "not_authed");
    assert!(fake.requests_to(Endpoint::AuthTest)[1].token_in_body);
}

#[tokio::test]
async fn chat_update_edits_only_the_bots_own_channel_messages() {
    let fake = start_fake().await;
    let mut bot = start_bot(&fake).await;
    let posted = call(
        &fake,
        "chat.postMessage",
        json!({"channel": AUDIT, "text": "approval needed", "blocks": plan_blocks("approve")}),
    )
    .await;
    let ts = posted.body["ts"].as_str().unwrap().to_owned();
    let updated = call(
        &fake,
        "chat.update",
        json!({"channel": AUDIT, "ts": ts, "text": "approved by <@U0APPROVER>", "blocks": []}),
    )
    .await;
    assert_eq!(updated.body["ok"], true, "{}", updated.body);
    let now = fake.message(AUDIT, &ts).unwrap();
    assert_eq!(now.text, "approved by <@U0APPROVER>");
    assert!(now.buttons().is_empty());
    assert_eq!(now.edits, 1);
    assert!(now.json()["edited"]["ts"].is_string());
    let text_only = call(
        &fake,
        "chat.update",
        json!({"channel": AUDIT, "ts": ts, "text": "again"}),
    )
    .await;
    assert_eq!(text_only.body["ok"], true);

    let missing = call(
        &fake,
        "chat.update",
        json!({"channel": AUDIT, "ts": "1.000001", "text": "x"}),
    )
    .await;
    assert_eq!(missing.body["error"], "message_not_found");
    // An ephemeral message cannot be updated.
    let (_, plan) = command_with_plan(&fake, &mut bot, "reset").await;
    let ephemeral = call(
        &fake,
        "chat.update",
        json!({"channel": HELPDESK, "ts": plan.ts, "text": "x"}),
    )
    .await;
    assert_eq!(ephemeral.body["error"], "message_not_found");

    let deleted = call(&fake, "chat.delete", json!({"channel": AUDIT, "ts": ts})).await;
    assert_eq!(deleted.body["ok"], true);
    assert!(fake.channel_messages(AUDIT).is_empty());
}

#[tokio::test]
async fn chat_post_ephemeral_needs_the_user_in_the_channel() {
    let fake = start_fake().await;
    let shown = call(
        &fake,
        "chat.postEphemeral",
        json!({"channel": AUDIT, "user": "U0APPROVER", "text": "only for bo"}),
    )
    .await;
    assert_eq!(shown.body["ok"], true, "{}", shown.body);
    assert!(shown.body["message_ts"].is_string());
    assert_eq!(fake.ephemerals(AUDIT, "U0APPROVER")[0].text, "only for bo");
    assert!(fake.channel_messages(AUDIT).is_empty());
    let outsider = call(
        &fake,
        "chat.postEphemeral",
        json!({"channel": AUDIT, "user": "U0REQUEST1", "text": "x"}),
    )
    .await;
    assert_eq!(outsider.body["error"], "user_not_in_channel");
}

#[tokio::test]
async fn usergroups_users_list_returns_the_seeded_members() {
    let fake = start_fake().await;
    let helpdesk = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0HELPDESK"}),
    )
    .await;
    assert_eq!(
        helpdesk.body,
        json!({"ok": true, "users": ["U0REQUEST1", "U0APPROVER"]})
    );
    let unknown = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0NOPE"}),
    )
    .await;
    assert_eq!(unknown.body["error"], "no_such_subteam");

    fake.set_user_group("S0APPROVE", ["U0APPROVER", "U0GUEST001"]);
    let changed = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0APPROVE"}),
    )
    .await;
    assert_eq!(changed.body["users"], json!(["U0APPROVER", "U0GUEST001"]));

    assert!(fake.set_user_group_disabled("S0APPROVE", true));
    let disabled = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0APPROVE"}),
    )
    .await;
    assert_eq!(disabled.body["error"], "no_such_subteam");
    let included = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0APPROVE", "include_disabled": true}),
    )
    .await;
    assert_eq!(included.body["ok"], true);

    // Another workspace's token does not see this workspace's groups.
    let other = call_with(
        &fake,
        "usergroups.users.list",
        Some("xoxb-other-team-token"),
        &json!({"usergroup": "S0HELPDESK"}),
    )
    .await;
    assert_eq!(other.body["error"], "no_such_subteam");

    fake.set_free_plan(true);
    let free = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0HELPDESK"}),
    )
    .await;
    assert_eq!(free.body["error"], "plan_upgrade_required");

    // A GET with the arguments in the query works too.
    fake.set_free_plan(false);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get: Value = client
        .get(format!(
            "{}usergroups.users.list?usergroup=S0HELPDESK",
            fake.api_url()
        ))
        .bearer_auth(fake.bot_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["users"], json!(["U0REQUEST1", "U0APPROVER"]));
}

#[tokio::test]
async fn auth_test_and_users_info_describe_the_bot_and_the_people() {
    let fake = start_fake().await;
    let me = call(&fake, "auth.test", json!({})).await;
    assert_eq!(me.body["team_id"], TEAM);
    assert_eq!(me.body["user_id"], fake.bot_user_id());
    assert_eq!(me.body["bot_id"], "B0PASSDESK");
    let other = call_with(
        &fake,
        "auth.test",
        Some("xoxb-other-team-token"),
        &json!({}),
    )
    .await;
    assert_eq!(other.body["team_id"], "T0OTHER01");

    let gus = call(&fake, "users.info", json!({"user": "U0GUEST001"})).await;
    assert_eq!(gus.body["user"]["is_restricted"], true);
    assert_eq!(gus.body["user"]["deleted"], false);
    let ana = call(&fake, "users.info", json!({"user": "U0REQUEST1"})).await;
    assert_eq!(ana.body["user"]["profile"]["email"], "ana@acme.example");
    let nobody = call(&fake, "users.info", json!({"user": "U0NOBODY1"})).await;
    assert_eq!(nobody.body["error"], "user_not_found");
    fake.add_user(FakeUser::new("U0GONE0001", "gone").deleted());
    let gone = call(&fake, "users.info", json!({"user": "U0GONE0001"})).await;
    assert_eq!(gone.body["user"]["deleted"], true);
}

// ---- Records ----

#[tokio::test]
async fn every_request_is_recorded_without_the_token() {
    let fake = start_fake().await;
    call(
        &fake,
        "chat.postMessage",
        json!({"channel": AUDIT, "text": "audit line"}),
    )
    .await;
    call_with(
        &fake,
        "chat.postMessage",
        Some("xoxb-guess"),
        &json!({"channel": AUDIT, "text": "x"}),
    )
    .await;
    let records = fake.requests_to(Endpoint::ChatPostMessage);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].auth, Auth::Valid);
    assert_eq!(records[0].path, "/api/chat.postMessage");
    assert_eq!(records[0].status, Some(200));
    assert_eq!(records[0].ok, Some(true));
    assert!(records[0].body.contains("audit line"));
    assert_eq!(records[0].args.as_ref().unwrap()["channel"], AUDIT);
    assert_eq!(records[1].auth, Auth::Invalid);
    assert_eq!(records[1].error.as_deref(), Some("invalid_auth"));
    for record in fake.requests() {
        let dump = format!("{record:?}");
        assert!(!dump.contains(fake.bot_token()), "{dump}");
        assert!(!dump.contains("xoxb-guess"), "{dump}");
        assert!(
            record
                .headers
                .iter()
                .all(|(name, _)| name != "authorization")
        );
    }
}

// ---- Faults and knobs ----

#[tokio::test]
async fn every_fault_knob_answers_as_configured() {
    let fake = start_fake().await;
    let post = json!({"channel": HELPDESK, "text": "x"});

    fake.inject(Fault::error(Endpoint::ChatPostMessage, "internal_error").times(2));
    for _ in 0..2 {
        let failed = call(&fake, "chat.postMessage", post.clone()).await;
        assert_eq!(failed.status, 200);
        assert_eq!(failed.body, json!({"ok": false, "error": "internal_error"}));
    }
    assert_eq!(
        call(&fake, "chat.postMessage", post.clone()).await.body["ok"],
        true
    );

    fake.inject(Fault::status(Endpoint::ChatUpdate, 503));
    let unavailable = call(&fake, "chat.update", json!({})).await;
    assert_eq!(unavailable.status, 503);

    fake.inject(Fault::rate_limited(
        Endpoint::UsergroupsUsersList,
        Duration::from_millis(6500),
    ));
    let limited = call(
        &fake,
        "usergroups.users.list",
        json!({"usergroup": "S0HELPDESK"}),
    )
    .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.retry_after.as_deref(), Some("7"));
    assert_eq!(limited.body["error"], "ratelimited");

    fake.inject(Fault::delay(Endpoint::AuthTest, Duration::from_millis(400)));
    let started = std::time::Instant::now();
    assert_eq!(call(&fake, "auth.test", json!({})).await.body["ok"], true);
    assert!(started.elapsed() >= Duration::from_millis(400));

    fake.inject(Fault::disconnect(Endpoint::ChatPostMessage));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let dropped = async {
        let response = client
            .post(format!("{}chat.postMessage", fake.api_url()))
            .bearer_auth(fake.bot_token())
            .json(&post)
            .send()
            .await?;
        response.bytes().await
    }
    .await;
    assert!(dropped.is_err(), "the connection was dropped: {dropped:?}");
    assert_eq!(
        fake.channel_messages(HELPDESK).len(),
        1,
        "nothing was posted"
    );
    let last = fake.requests_to(Endpoint::ChatPostMessage).pop().unwrap();
    assert_eq!(last.status, None);

    fake.inject(
        Fault::status(Endpoint::ResponseUrl, 500)
            .everywhere()
            .times(2),
    );
    assert_eq!(call(&fake, "auth.test", json!({})).await.status, 500);
    let command = fake
        .slash_command(&ana(), TEAM, HELPDESK, "/passdesk", "x")
        .unwrap();
    let url = command.response_url.unwrap();
    assert_eq!(post_json(&url, &json!({"text": "x"})).await.0, 500);
    assert_eq!(post_json(&url, &json!({"text": "x"})).await.0, 200);

    fake.inject(Fault::error(Endpoint::UsersInfo, "fatal_error"));
    fake.clear_faults();
    assert_eq!(
        call(&fake, "users.info", json!({"user": "U0REQUEST1"}))
            .await
            .body["ok"],
        true
    );

    fake.set_latency(Duration::from_millis(300));
    let started = std::time::Instant::now();
    call(&fake, "auth.test", json!({})).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn faults_set_on_the_builder_are_pending_from_the_start() {
    let fake = SlackFake::builder()
        .fault(Fault::error(Endpoint::AuthTest, "account_inactive"))
        .latency(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let first = call(&fake, "auth.test", json!({})).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(first.body["error"], "account_inactive");
    assert_eq!(call(&fake, "auth.test", json!({})).await.body["ok"], true);
}

#[tokio::test]
async fn tier_rate_limits_answer_429_until_the_window_passes() {
    let fake = SlackFake::builder()
        .user_group("S0HELPDESK", ["U0REQUEST1"])
        .rate_limits(true)
        .start()
        .await
        .unwrap();
    let list = json!({"usergroup": "S0HELPDESK"});
    for _ in 0..20 {
        assert_eq!(
            call(&fake, "usergroups.users.list", list.clone())
                .await
                .status,
            200
        );
    }
    let limited = call(&fake, "usergroups.users.list", list.clone()).await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.retry_after.unwrap().parse().unwrap();
    assert!((55..=60).contains(&retry), "{retry}");
    // Other methods have their own budget.
    assert_eq!(call(&fake, "auth.test", json!({})).await.status, 200);
    fake.advance(Duration::from_secs(61));
    assert_eq!(
        call(&fake, "usergroups.users.list", list.clone())
            .await
            .status,
        200
    );

    // Posting: about one a second per channel.
    let post = json!({"channel": HELPDESK, "text": "progress"});
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(call(&fake, "chat.postMessage", post.clone()).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    fake.set_rate_limits(false);
    assert_eq!(call(&fake, "chat.postMessage", post).await.status, 200);
}

#[tokio::test]
async fn the_api_prefix_is_configurable() {
    let fake = SlackFake::builder()
        .api_prefix("/slack-api")
        .start()
        .await
        .unwrap();
    assert_eq!(fake.api_url(), format!("{}/slack-api/", fake.base_url()));
    assert_eq!(call(&fake, "auth.test", json!({})).await.body["ok"], true);
}
