//! The bodies of Passdesk's fuzz targets, one public function per target (the files in
//! `fuzz_targets/` only hand libFuzzer's input to them).
//!
//! Every function runs the bot's real code — the signature verifiers, the axum routers with
//! their extractors, the wire parsers, the convert step and the command parser — and asserts
//! the invariants a security officer cares about, so that a broken invariant is a crash
//! libFuzzer keeps. Nothing here reaches beyond the process: the routers are driven with
//! `tower::ServiceExt::oneshot`, and the handlers behind them are stand-ins.
//!
//! Input layout of the two request targets: the first byte picks a mode, the rest is the
//! material.
//!
//! | mode (`byte % 4`) | what happens |
//! |---|---|
//! | 0 | the rest is a body, signed here with the fixed key: verify, parse, convert, parse the command |
//! | 1 | the same body, signed, sent through the real router: never a `5xx` |
//! | 2 | `[n][signature: n bytes][m][timestamp: m bytes][body]`: attacker-chosen headers; anything accepted must carry the true signature |
//! | 3 | `[k][body]`: a signed body then altered (a bit of the body, the timestamp, one more byte): always refused |
//!
//! So most inputs are "validly signed garbage" that reach the parsers, and the rest probe the
//! verification itself.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use ed25519_dalek::{Signer as _, SigningKey};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac as _};
use passdesk_bot::discord;
use passdesk_bot::signed::Clock;
use passdesk_bot::slack;
use passdesk_commands::catalogue::{self, OptionKind};
use passdesk_commands::parse::{parse_command, split_text};
use passdesk_commands::{Request as Command, ResetTarget, UserRef};
use passdesk_config::{Config, ErrorKind, MapEnv};
use secrecy::{ExposeSecret as _, SecretString};
use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};
use serenity::model::application::Interaction;
use sha2::Sha256;
use tower::ServiceExt as _;

/// The fixed "now" of every verifier here.
pub const NOW: i64 = 1_700_000_000;
/// The Slack signing secret the Slack target signs with.
pub const SLACK_SECRET: &str = "slack-signing-SECRET-fuzz-5a6b7c";
/// The Slack workspace the Slack router serves.
pub const TEAM: &str = "T0PASSDESK";
/// The Discord key's seed.
const DISCORD_SEED: [u8; 32] = [42; 32];

/// A clock stopped at [`NOW`].
pub struct FixedClock;

impl Clock for FixedClock {
    fn unix_now(&self) -> i64 {
        NOW
    }
}

/// One runtime for every input (building one per input would dominate the run).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("no tokio runtime: {error}"))
    })
}

/// Sends one request through a router and returns the status.
fn send(app: Router, request: Request<Body>) -> StatusCode {
    runtime().block_on(async move {
        let response = app
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        // Drain the body, as hyper would: the follow-up work starts when it is dropped.
        let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
        status
    })
}

/// A header map with the two signature headers, each left out when it is not a valid value.
fn headers(names: (&'static str, &'static str), signature: &[u8], timestamp: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(signature) {
        headers.insert(names.0, value);
    }
    if let Ok(value) = HeaderValue::from_bytes(timestamp) {
        headers.insert(names.1, value);
    }
    headers
}

/// A request with these headers and body.
fn request(path: &str, headers: &HeaderMap, body: &[u8]) -> Request<Body> {
    let mut request = Request::post(path)
        .body(Body::from(body.to_vec()))
        .unwrap_or_else(|error| panic!("a request could not be built: {error}"));
    request.headers_mut().extend(headers.clone());
    request
}

/// `[n][n bytes][m][m bytes][rest]` → the two header values and the body.
fn split_headers(data: &[u8]) -> (&[u8], &[u8], &[u8]) {
    fn take(data: &[u8]) -> (&[u8], &[u8]) {
        match data.split_first() {
            Some((&n, rest)) => rest.split_at(usize::from(n).min(rest.len())),
            None => (&[], &[]),
        }
    }
    let (signature, rest) = take(data);
    let (timestamp, body) = take(rest);
    (signature, timestamp, body)
}

// ---------------------------------------------------------------------------------------------
// What the engine does with a converted command: parse it. Checked here for every target.

/// Parses a command as the engine does, and checks what a request may hold.
fn parse_and_check(command: &str, options: &[(String, String)]) {
    if let Ok(request) = parse_command(command, options) {
        assert!(!request.summary().is_empty());
        let user = match &request {
            Command::Reset {
                target: ResetTarget::User(user),
                ..
            }
            | Command::Expire { user, .. } => Some(user),
            _ => None,
        };
        match user {
            Some(UserRef::Username(name)) => assert!(
                name.as_str().starts_with(|c: char| c.is_ascii_alphabetic())
                    && name
                        .as_str()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
                "filter syntax in an accepted username: {name:?}"
            ),
            Some(UserRef::Id(id)) => assert!(
                id.as_str().len() == 24
                    && id
                        .as_str()
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "a malformed id accepted: {id:?}"
            ),
            None => {}
        }
        if let Command::Reset {
            target: ResetTarget::Group(group),
            ..
        } = &request
        {
            assert!(!group.as_str().chars().any(char::is_control));
            assert_eq!(group.as_str(), group.as_str().trim());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Discord.

struct Discord {
    key: SigningKey,
    verifier: discord::signature::SignatureVerifier,
}

fn discord_setup() -> &'static Discord {
    static DISCORD: OnceLock<Discord> = OnceLock::new();
    DISCORD.get_or_init(|| {
        let key = SigningKey::from_bytes(&DISCORD_SEED);
        let public: passdesk_config::DiscordPublicKey = hex::encode(key.verifying_key().to_bytes())
            .parse()
            .unwrap_or_else(|error| panic!("the fixed key is not a key: {error}"));
        let verifier = discord::signature::SignatureVerifier::new(public)
            .unwrap_or_else(|error| panic!("the fixed key is not a point: {error}"))
            .with_clock(Arc::new(FixedClock));
        Discord { key, verifier }
    })
}

fn discord_sign(timestamp: &[u8], body: &[u8]) -> String {
    let signature = discord_setup().key.sign(&[timestamp, body].concat());
    hex::encode(signature.to_bytes())
}

const DISCORD_NAMES: (&str, &str) = (
    discord::signature::SIGNATURE_HEADER,
    discord::signature::TIMESTAMP_HEADER,
);

/// The convert step of the shared core, then the command parser.
fn discord_convert(interaction: Interaction) {
    match interaction {
        Interaction::Command(command) => {
            let invocation = discord::convert::invocation(&command);
            assert_eq!(invocation.command, command.data.name);
            parse_and_check(&invocation.command, &invocation.options);
        }
        Interaction::Autocomplete(command) => {
            let _ = discord::convert::typing(&command);
        }
        Interaction::Component(component) => {
            let press = discord::convert::press(&component);
            assert!(press.is_err() || component.data.custom_id.starts_with("pd:"));
        }
        Interaction::Modal(mut modal) => {
            if let Ok((press, password)) = discord::convert::password_submit(&mut modal) {
                assert!(modal.data.custom_id.starts_with("pd:password:"));
                assert!(!password.expose_secret().is_empty());
                let _ = press;
            }
        }
        _ => {}
    }
}

/// Counts what reached the handler, after running the convert step on it.
#[derive(Default)]
struct DiscordHandler(Mutex<usize>);

impl discord::http::InteractionHandler for DiscordHandler {
    fn handle(&self, interaction: Interaction) -> BoxFuture<'_, discord::http::Initial> {
        if let Ok(mut count) = self.0.lock() {
            *count += 1;
        }
        discord_convert(interaction);
        Box::pin(async {
            discord::http::Initial::new(CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content("ok")
                    .ephemeral(true),
            ))
        })
    }
}

fn discord_router(handler: &Arc<DiscordHandler>) -> Router {
    discord::http::routes(discord::http::DiscordHttpState::new(
        discord_setup().verifier.clone(),
        Arc::new(discord::replay::ReplayGuard::new(
            Duration::from_secs(600),
            1024,
        )),
        Arc::clone(handler) as Arc<dyn discord::http::InteractionHandler>,
    ))
}

/// The `discord_interaction` target.
pub fn discord_interaction(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let setup = discord_setup();
    let ts = NOW.to_string();
    match mode % 4 {
        0 => {
            let body = rest;
            let signed = headers(
                DISCORD_NAMES,
                discord_sign(ts.as_bytes(), body).as_bytes(),
                ts.as_bytes(),
            );
            let verified = setup.verifier.verify(&signed, body);
            if body.len() > setup.verifier.max_body() {
                assert_eq!(
                    verified,
                    Err(discord::signature::SignatureRejection::TooLarge)
                );
                return;
            }
            assert_eq!(verified, Ok(NOW), "a correctly signed body was refused");
            if let Ok(interaction) = serde_json::from_slice::<Interaction>(body) {
                discord_convert(interaction);
            }
        }
        1 => {
            let body = rest;
            let signed = headers(
                DISCORD_NAMES,
                discord_sign(ts.as_bytes(), body).as_bytes(),
                ts.as_bytes(),
            );
            let handler = Arc::new(DiscordHandler::default());
            let parsed = serde_json::from_slice::<Interaction>(body);
            let status = send(
                discord_router(&handler),
                request(discord::http::INTERACTIONS_PATH, &signed, body),
            );
            let handled = handler.0.lock().map(|count| *count).unwrap_or(0);
            match parsed {
                _ if body.len() > setup.verifier.max_body() => {
                    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
                }
                Ok(Interaction::Ping(_)) => assert_eq!((status, handled), (StatusCode::OK, 0)),
                Ok(_) => assert_eq!((status, handled), (StatusCode::OK, 1)),
                Err(_) => assert_eq!((status, handled), (StatusCode::BAD_REQUEST, 0)),
            }
        }
        2 => {
            let (signature, timestamp, body) = split_headers(rest);
            let given = headers(DISCORD_NAMES, signature, timestamp);
            let genuine = discord_sign(timestamp, body);
            let forged = !signature.eq_ignore_ascii_case(genuine.as_bytes());
            if let Ok(at) = setup.verifier.verify(&given, body) {
                assert!(!forged, "a forged signature was accepted");
                assert!((NOW - 300..=NOW + 300).contains(&at));
            }
            let handler = Arc::new(DiscordHandler::default());
            let status = send(
                discord_router(&handler),
                request(discord::http::INTERACTIONS_PATH, &given, body),
            );
            assert!(!status.is_server_error(), "{status}");
            if forged {
                assert!(
                    status == StatusCode::UNAUTHORIZED || status == StatusCode::PAYLOAD_TOO_LARGE,
                    "a forged delivery was answered {status}"
                );
                assert_eq!(handler.0.lock().map(|count| *count).unwrap_or(0), 0);
            }
        }
        _ => {
            let Some((&how, body)) = rest.split_first() else {
                return;
            };
            let signature = discord_sign(ts.as_bytes(), body);
            let (timestamp, body) = match how % 3 {
                0 if !body.is_empty() => {
                    let mut altered = body.to_vec();
                    let at = usize::from(how) % altered.len();
                    altered[at] ^= 1 << (how % 8);
                    (ts.clone(), altered)
                }
                1 => ((NOW + 1).to_string(), body.to_vec()),
                _ => (ts.clone(), [body, &[how]].concat()),
            };
            let given = headers(DISCORD_NAMES, signature.as_bytes(), timestamp.as_bytes());
            let verified = setup.verifier.verify(&given, &body);
            assert!(
                matches!(
                    verified,
                    Err(discord::signature::SignatureRejection::Forged
                        | discord::signature::SignatureRejection::TooLarge)
                ),
                "an altered delivery was not refused as forged: {verified:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Slack.

fn slack_verifier() -> &'static slack::signature::SignatureVerifier {
    static VERIFIER: OnceLock<slack::signature::SignatureVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        slack::signature::SignatureVerifier::new(SecretString::from(SLACK_SECRET))
            .with_clock(Arc::new(FixedClock))
    })
}

fn slack_sign(timestamp: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SLACK_SECRET.as_bytes()) else {
        unreachable!("hmac takes keys of any length");
    };
    mac.update(b"v0:");
    mac.update(timestamp);
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

const SLACK_NAMES: (&str, &str) = (
    slack::signature::SIGNATURE_HEADER,
    slack::signature::TIMESTAMP_HEADER,
);

/// The convert step of the Slack core on a command's text, then the command parser.
fn slack_command_convert(command: &slack::wire::SlashCommand) {
    assert!(!command.team_id.is_empty() && !command.user_id.is_empty());
    assert!(!command.channel_id.is_empty());
    if let Ok((name, options)) = slack::convert::command_text(&command.text) {
        parse_and_check(&name, &options);
    }
}

/// The convert step of the Slack core on an interaction.
fn slack_interaction_convert(interaction: slack::wire::Interaction) {
    match interaction {
        slack::wire::Interaction::BlockActions(press) => {
            for action in &press.actions {
                if let Some(button) =
                    slack::convert::button(&action.action_id, action.value.as_deref())
                {
                    // `pd:<action>` + the pending id, as `render` writes them (the split
                    // between the two fields is not checked: `pd` + `confirm:<id>` is read too).
                    let written = format!("pd:{}:{}", button.action.as_str(), button.pending);
                    let value = action.value.as_deref().unwrap_or_default();
                    assert_eq!(format!("{}:{value}", action.action_id), written);
                }
            }
        }
        slack::wire::Interaction::ViewSubmission(mut view)
        | slack::wire::Interaction::ViewClosed(mut view) => {
            let first = view.view.take_value("pd:pw", "value");
            if first.is_some() {
                assert!(
                    view.view.take_value("pd:pw", "value").is_none(),
                    "a password taken twice"
                );
            }
        }
        _ => {}
    }
}

/// Counts what reached the handler, after running the convert step on it.
#[derive(Default)]
struct SlackHandler(Mutex<usize>);

impl SlackHandler {
    fn count(&self) {
        if let Ok(mut count) = self.0.lock() {
            *count += 1;
        }
    }
}

impl slack::http::SlackHandler for SlackHandler {
    fn command(&self, command: slack::wire::SlashCommand) -> BoxFuture<'_, slack::http::Initial> {
        self.count();
        slack_command_convert(&command);
        Box::pin(async { slack::http::Initial::json(serde_json::json!({"text": "ok"})) })
    }

    fn interaction(
        &self,
        interaction: slack::wire::Interaction,
    ) -> BoxFuture<'_, slack::http::Initial> {
        self.count();
        slack_interaction_convert(interaction);
        Box::pin(async { slack::http::Initial::empty() })
    }
}

fn slack_router(handler: &Arc<SlackHandler>) -> Router {
    slack::http::routes(slack::http::SlackHttpState::new(
        slack_verifier().clone(),
        Arc::new(slack::replay::SignatureReplayGuard::new(
            Duration::from_secs(600),
            1024,
        )),
        Arc::clone(handler) as Arc<dyn slack::http::SlackHandler>,
        slack::http::Served::new(None, [TEAM.to_owned()]),
    ))
}

/// The `slack_request` target.
pub fn slack_request(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let verifier = slack_verifier();
    let ts = NOW.to_string();
    // Bit 2 of the mode byte picks the endpoint.
    let path = if mode & 4 == 0 {
        slack::http::COMMANDS_PATH
    } else {
        slack::http::INTERACTIONS_PATH
    };
    match mode % 4 {
        0 => {
            let body = rest;
            let signed = headers(
                SLACK_NAMES,
                slack_sign(ts.as_bytes(), body).as_bytes(),
                ts.as_bytes(),
            );
            let verified = verifier.verify(&signed, body);
            if body.len() > verifier.max_body() {
                assert_eq!(
                    verified,
                    Err(slack::signature::SignatureRejection::TooLarge)
                );
                return;
            }
            assert_eq!(
                verified.map(|v| v.timestamp),
                Ok(NOW),
                "a correctly signed body was refused"
            );
            let _ = slack::signature::is_ssl_check(body);
            if let Ok(command) = slack::wire::SlashCommand::from_form(body) {
                slack_command_convert(&command);
            }
            if let Ok(interaction) = slack::wire::Interaction::from_form(body) {
                slack_interaction_convert(interaction);
            }
        }
        1 => {
            let body = rest;
            let signed = headers(
                SLACK_NAMES,
                slack_sign(ts.as_bytes(), body).as_bytes(),
                ts.as_bytes(),
            );
            let handler = Arc::new(SlackHandler::default());
            let status = send(slack_router(&handler), request(path, &signed, body));
            assert!(
                status == StatusCode::OK
                    || status == StatusCode::BAD_REQUEST
                    || (status == StatusCode::PAYLOAD_TOO_LARGE
                        && body.len() > verifier.max_body()),
                "a signed request was answered {status}"
            );
        }
        2 => {
            let (signature, timestamp, body) = split_headers(rest);
            let given = headers(SLACK_NAMES, signature, timestamp);
            let genuine = slack_sign(timestamp, body);
            let forged = signature != genuine.as_bytes();
            if let Ok(verified) = verifier.verify(&given, body) {
                assert!(!forged, "a forged signature was accepted");
                assert!((NOW - 300..=NOW + 300).contains(&verified.timestamp));
            }
            let handler = Arc::new(SlackHandler::default());
            let status = send(slack_router(&handler), request(path, &given, body));
            assert!(!status.is_server_error(), "{status}");
            if forged {
                let unsigned = given.is_empty();
                let ssl_check = unsigned && slack::signature::is_ssl_check(body);
                assert!(
                    status == StatusCode::UNAUTHORIZED
                        || status == StatusCode::PAYLOAD_TOO_LARGE
                        || (ssl_check && status == StatusCode::OK),
                    "a forged request was answered {status}"
                );
                assert_eq!(handler.0.lock().map(|count| *count).unwrap_or(0), 0);
            }
        }
        _ => {
            let Some((&how, body)) = rest.split_first() else {
                return;
            };
            let signature = slack_sign(ts.as_bytes(), body);
            let (timestamp, body) = match how % 3 {
                0 if !body.is_empty() => {
                    let mut altered = body.to_vec();
                    let at = usize::from(how) % altered.len();
                    altered[at] ^= 1 << (how % 8);
                    (ts.clone(), altered)
                }
                1 => ((NOW - 1).to_string(), body.to_vec()),
                _ => (ts.clone(), [body, &[how]].concat()),
            };
            let given = headers(SLACK_NAMES, signature.as_bytes(), timestamp.as_bytes());
            let verified = verifier.verify(&given, &body);
            assert!(
                matches!(
                    verified,
                    Err(slack::signature::SignatureRejection::Forged
                        | slack::signature::SignatureRejection::TooLarge)
                ),
                "an altered request was not refused as forged: {verified:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Slack command text.

/// A line of words as [`split_text`] reads them back: the command after a `/`, each option as
/// `name:value` (or `name` alone), quoted when it holds whitespace or is empty.
pub fn render_split(command: &str, options: &[(String, String)]) -> String {
    fn word(text: &str) -> String {
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            format!("\"{text}\"")
        } else {
            text.to_owned()
        }
    }
    let mut line = word(&format!("/{command}"));
    for (name, value) in options {
        line.push(' ');
        if value.is_empty() {
            line.push_str(&word(name));
        } else {
            line.push_str(&word(&format!("{name}:{value}")));
        }
    }
    line
}

/// The `slack_command_text` target.
pub fn slack_command_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let split = split_text(&text);
    let converted = slack::convert::command_text(&text);
    assert_eq!(split.is_ok(), converted.is_ok());
    let (Ok((command, options)), Ok((name, converted))) = (split, converted) else {
        return;
    };
    // Round trip: what the splitter read, written back as text, reads the same, and so
    // converts the same.
    let again = render_split(&command, &options);
    assert_eq!(
        split_text(&again).ok(),
        Some((command.clone(), options.clone())),
        "{again:?}"
    );
    assert_eq!(
        slack::convert::command_text(&again).ok(),
        Some((name.clone(), converted.clone()))
    );
    // Nothing invented: every value was typed, and every name was typed or is the slot of a
    // positional value.
    let plain: String = text
        .chars()
        .filter(|c| !matches!(c, '"' | '\u{201c}' | '\u{201d}'))
        .collect();
    let spec = catalogue::command(&name);
    for (option, value) in &converted {
        assert!(plain.contains(value.as_str()), "value {value:?} not typed");
        if plain.contains(option.as_str()) {
            continue;
        }
        let slot = spec.and_then(|spec| {
            spec.options()
                .iter()
                .chain(spec.subcommands().iter().flat_map(|s| s.options.iter()))
                .find(|o| o.name == option.as_str())
        });
        assert!(
            slot.is_some_and(|o| !matches!(o.kind, OptionKind::Boolean)) && !value.is_empty(),
            "option {option:?} invented"
        );
    }
    parse_and_check(&name, &converted);
}

// ---------------------------------------------------------------------------------------------
// The configuration.

/// Distinctive secret values, for the names the example and the tests use.
const SECRETS: &[(&str, &str)] = &[
    ("PASSDESK_JUMPCLOUD_API_KEY", "jc-SECRET-fuzz-11aa22bb"),
    ("PASSDESK_IM_CLIENT_SECRET", "im-SECRET-fuzz-33cc44dd"),
    ("PASSDESK_SMTP_PASSWORD", "smtp-SECRET-fuzz-55ee66ff"),
    ("PASSDESK_DISCORD_BOT_TOKEN", "discord-SECRET-fuzz-77aa88bb"),
    (
        "PASSDESK_SLACK_SIGNING_SECRET",
        "slack-SECRET-fuzz-99cc00dd",
    ),
    ("PASSDESK_SLACK_BOT_TOKEN", "xoxb-SECRET-fuzz-12ef34ab"),
    ("JC_KEY", "jc-SECRET-fuzz-56cd78ef"),
    ("K", "k-SECRET-fuzz-90ab12cd"),
];

fn config_env() -> &'static MapEnv {
    static ENV: OnceLock<MapEnv> = OnceLock::new();
    ENV.get_or_init(|| SECRETS.iter().copied().collect())
}

/// The `config` target.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Secret and template files are read at load: keep the fuzzer away from devices and
    // kernel files (a read of one is I/O, not parsing, and may block).
    if ["/dev", "/proc", "/sys", "\\\\"]
        .iter()
        .any(|device| text.contains(device))
    {
        return;
    }
    match Config::from_toml_str(text, config_env()) {
        Ok(config) => {
            let shown = format!("{config:?}");
            for (_, secret) in SECRETS {
                assert!(
                    !shown.contains(secret),
                    "a secret in the configuration's Debug"
                );
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for error in &errors {
                assert!(
                    !error.key.is_empty()
                        || (error.kind == ErrorKind::Syntax && error.line.is_some()),
                    "an error that names neither a key nor a line: {error:?}"
                );
                assert!(!error.problem.is_empty() && !error.fix.is_empty());
                let shown = error.to_string();
                assert!(
                    !shown.contains(['\n', '\r']),
                    "an error over several lines: {shown:?}"
                );
                for (_, secret) in SECRETS {
                    if !text.contains(secret) {
                        assert!(!shown.contains(secret), "a secret in an error: {shown:?}");
                    }
                }
            }
        }
    }
}
