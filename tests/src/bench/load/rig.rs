//! The JumpCloud simulator, the fake chat platform and `passdesk run` wired together for the
//! load and memory scenarios, and the requests the platform sends: signed slash commands
//! (`/reset user user:<username>`, a fresh interaction each) and presses of Confirm or Cancel
//! on confirmations the bot delivered earlier to the same requester.
//!
//! # What the fakes are told
//!
//! The load generator sends with its own pooled client (the fakes' delivery helpers build a
//! client per request, which would cost a connection per request). So, once a response is
//! measured, it plays the platform's part off the measured path:
//! - Discord: the response body is the interaction's callback; it is handed to the fake
//!   (`POST …/interactions/{id}/{token}/callback`), so the bot's later edits of the original
//!   response (the deferred confirmation) land as they would on Discord. The fake's callback
//!   window is widened to 60 s, since a step's commands are built before the step.
//! - Slack: a command's `200` body that already holds the confirmation is shown as Slack would
//!   (posted to the command's `response_url`); a deferred one arrives through that
//!   `response_url` from the bot itself.
//!
//! # Where presses come from
//!
//! Every acknowledged command is queued; [`Driver::feed`] (run every few milliseconds by a
//! feeder task) reads the oldest queued commands' confirmations from the fake and turns them
//! into signed presses, ready in a pool, alternately Confirm and Cancel, by the requester. The
//! generator takes presses from the pool at their due time, so building one is never on the
//! measured path.
//!
//! The fake Slack finds a `response_url` by a scan of every URL it minted, so a long run would
//! make each look-up slower; the Slack side therefore spreads requesters over several fakes
//! ("shards", same signing secret, team and app) and starts a fresh set per step
//! ([`Driver::new_generation`]); older ones stay up for the bot's late posts.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use passdesk_bot::discord::http::INTERACTIONS_PATH as DISCORD_INTERACTIONS;
use passdesk_bot::slack::http::{COMMANDS_PATH, INTERACTIONS_PATH as SLACK_INTERACTIONS};
use passdesk_sim::discord::{CommandOption, DiscordFake, FakeUser as DiscordUser};
use passdesk_sim::jumpcloud::{DEFAULT_ORG_ID, JumpCloudSim, OrgSeed, generated_users};
use passdesk_sim::slack::{DEFAULT_CHANNEL_ID, FakeUser as SlackUser, PostOutcome, SlackFake};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::process::Passdesk;
use crate::bench::BenchError;

/// The directory's usernames: `bench.0000`, `bench.0001`, …
const DIRECTORY_PREFIX: &str = "bench";
const GUILD: u64 = 1_400_000_000_000_000_100;
const CHANNEL: u64 = 1_400_000_000_000_000_200;
const HELPDESK_ROLE: u64 = 1_400_000_000_000_000_300;
/// The first requester's Discord user id; the others follow.
const FIRST_REQUESTER: u64 = 1_400_000_000_000_010_000;
/// The JumpCloud API key of the configuration (a test value for the simulator).
const JC_KEY: &str = "bench-load-jumpcloud-key";
/// How long a command's confirmation is waited for before it is given up.
const GIVE_UP: Duration = Duration::from_secs(10);
/// The most acknowledged commands kept waiting for their confirmation (the oldest go first).
const AWAITING_MAX: usize = 50_000;
/// The fake Discord's callback window: a step's commands are built before the step.
const CALLBACK_WINDOW: Duration = Duration::from_secs(60);

/// Which chat platform a rig serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    /// Discord's HTTP interactions endpoint.
    Discord,
    /// Slack's command and interactivity endpoints.
    Slack,
}

impl Platform {
    /// `Discord` or `Slack`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Platform::Discord => "Discord",
            Platform::Slack => "Slack",
        }
    }
}

/// How a rig is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    /// The platform.
    pub platform: Platform,
    /// Distinct requesters, all in the helpdesk group.
    pub requesters: usize,
    /// Active JumpCloud users the commands name, in turn.
    pub directory: usize,
    /// Latency the JumpCloud simulator adds to every request.
    pub jumpcloud_latency: Duration,
    /// Slack only: fakes per generation.
    pub slack_shards: usize,
    /// Whether acknowledged commands are queued for the press pool.
    pub feed_presses: bool,
}

/// The simulators, the fake platform, `passdesk run`, and a client for the load.
pub(crate) struct Rig {
    /// `passdesk run`.
    pub process: Passdesk,
    /// The fake platform's side.
    pub driver: Arc<Driver>,
    /// The load's client: one pool, many connections.
    pub client: reqwest::Client,
    _jumpcloud: JumpCloudSim,
}

impl Rig {
    /// Starts the JumpCloud simulator, the fake platform and `passdesk run` (with its
    /// configuration in `dir`).
    ///
    /// # Errors
    ///
    /// Something could not start; the message says what.
    pub(crate) async fn start(
        scenario: &'static str,
        binary: &Path,
        dir: &Path,
        setup: Setup,
    ) -> Result<Self, BenchError> {
        let err = |what: &str, e: &dyn std::fmt::Display| {
            BenchError::new(scenario, format!("{what}: {e}"))
        };
        let jumpcloud = JumpCloudSim::builder()
            .org(OrgSeed::new(DEFAULT_ORG_ID, "Acme"))
            .api_key(JC_KEY, [DEFAULT_ORG_ID])
            .users(generated_users(DIRECTORY_PREFIX, setup.directory))
            .latency(setup.jumpcloud_latency)
            .start()
            .await
            .map_err(|e| err("starting the jumpcloud simulator", &e))?;
        let audit = dir.join("audit.jsonl");
        let relay = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| err("building the relay client", &e))?;
        let (chat, config, env) = match setup.platform {
            Platform::Discord => {
                let fake = DiscordFake::builder()
                    .guild(GUILD, [CHANNEL])
                    .callback_window(CALLBACK_WINDOW)
                    .start()
                    .await
                    .map_err(|e| err("starting the fake discord", &e))?;
                let config = discord_config(&jumpcloud.base_url(), &fake, &audit);
                let env = vec![
                    ("PD_BENCH_JC_KEY", JC_KEY.to_owned()),
                    ("PD_BENCH_DISCORD_TOKEN", fake.bot_token().to_owned()),
                ];
                let users = (0..setup.requesters)
                    .map(|i| DiscordUser::new(FIRST_REQUESTER + i as u64, format!("helpdesk{i}")))
                    .collect();
                (Chat::Discord { fake, users }, config, env)
            }
            Platform::Slack => {
                let api = SlackFake::builder()
                    .start()
                    .await
                    .map_err(|e| err("starting the fake slack", &e))?;
                let users: Vec<SlackUser> = (0..setup.requesters)
                    .map(|i| SlackUser::new(format!("U0BENCH{i:05}"), format!("helpdesk{i}")))
                    .collect();
                let config = slack_config(&jumpcloud.base_url(), &api, &users, &audit);
                let env = vec![
                    ("PD_BENCH_JC_KEY", JC_KEY.to_owned()),
                    ("PD_BENCH_SLACK_SECRET", api.signing_secret().to_owned()),
                    ("PD_BENCH_SLACK_TOKEN", api.bot_token().to_owned()),
                ];
                let chat = Chat::Slack {
                    _api: api,
                    users,
                    shards: Mutex::new(Arc::new(Vec::new())),
                    retired: Mutex::new(Vec::new()),
                    per_generation: setup.slack_shards.max(1),
                };
                (chat, config, env)
            }
        };
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let process = Passdesk::start(scenario, binary, dir, &config, &env).await?;
        let base = process.base_url();
        let driver = Driver {
            scenario,
            chat,
            directory: setup.directory.max(1),
            feed_presses: setup.feed_presses,
            commands_url: Arc::from(match setup.platform {
                Platform::Discord => format!("{base}{DISCORD_INTERACTIONS}"),
                Platform::Slack => format!("{base}{COMMANDS_PATH}"),
            }),
            presses_url: Arc::from(match setup.platform {
                Platform::Discord => format!("{base}{DISCORD_INTERACTIONS}"),
                Platform::Slack => format!("{base}{SLACK_INTERACTIONS}"),
            }),
            relay,
            awaiting: Mutex::new(VecDeque::new()),
            pool: Mutex::new(VecDeque::new()),
            next_user: AtomicUsize::new(0),
            next_target: AtomicUsize::new(0),
            next_press: AtomicUsize::new(0),
            counters: Counters::default(),
        };
        driver.new_generation().await?;
        let client = reqwest::Client::builder()
            .timeout(super::generator::REQUEST_TIMEOUT)
            .pool_max_idle_per_host(4096)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| err("building the load client", &e))?;
        Ok(Self {
            process,
            driver: Arc::new(driver),
            client,
            _jumpcloud: jumpcloud,
        })
    }
}

/// The configuration for Discord's HTTP endpoint: the helpdesk role may reset without
/// approval, no cooldown, a confirmation waits an hour.
fn discord_config(jumpcloud: &str, fake: &DiscordFake, audit: &Path) -> String {
    format!(
        r#"[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_BENCH_JC_KEY" }}

[discord]
application_id = "{application}"
mode = "http"
public_key = "{public_key}"
bot_token = {{ env = "PD_BENCH_DISCORD_TOKEN" }}
api_base_url = "{api}"

[discord.guilds]
"{GUILD}" = "default"

[groups.helpdesk]
discord_roles = ["{HELPDESK_ROLE}"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ discord = ["*"] }}
approval = "none"

{LIMITS}

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

/// The configuration for Slack: every requester listed in the helpdesk group.
fn slack_config(jumpcloud: &str, api: &SlackFake, users: &[SlackUser], audit: &Path) -> String {
    let ids: Vec<String> = users.iter().map(|u| format!("\"{}\"", u.id)).collect();
    format!(
        r#"[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_BENCH_JC_KEY" }}

[slack]
signing_secret = {{ env = "PD_BENCH_SLACK_SECRET" }}
bot_token = {{ env = "PD_BENCH_SLACK_TOKEN" }}
app_id = "{app}"
api_base_url = "{api_url}"

[slack.teams]
{team} = "default"

[groups.helpdesk]
slack_users = [{ids}]

[policy.reset]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

{LIMITS}

[audit]
path = "{audit}"

[server]
listen = "127.0.0.1:0"
"#,
        app = api.app_id(),
        api_url = api.api_url(),
        team = api.team_id(),
        ids = ids.join(", "),
        audit = audit.display(),
    )
}

/// No cooldown, the most commands per hour the configuration allows, and an hour to confirm.
const LIMITS: &str = "[limits]
cooldown_seconds = 0
max_per_hour = 10000
confirmation_ttl_seconds = 3600";

/// What the platform knows and has.
enum Chat {
    Discord {
        fake: DiscordFake,
        users: Vec<DiscordUser>,
    },
    Slack {
        /// The Web API the bot calls (`api_base_url`); kept up while the rig lives.
        _api: SlackFake,
        users: Vec<SlackUser>,
        /// The current generation: requester `i` uses shard `i % len`.
        shards: Mutex<Arc<Vec<Arc<SlackFake>>>>,
        /// Earlier generations, kept up for the bot's late posts.
        retired: Mutex<Vec<Arc<SlackFake>>>,
        per_generation: usize,
    },
}

/// A request ready to send: where, its headers and signed body, and what to do once answered.
pub(crate) struct Prepared {
    /// The endpoint.
    pub url: Arc<str>,
    /// Content type and signature headers.
    pub headers: HeaderMap,
    /// The signed body.
    pub body: Vec<u8>,
    settle: Settle,
}

/// What follows a `200`.
enum Settle {
    DiscordCommand {
        id: u64,
        token: String,
        user: usize,
    },
    DiscordPress {
        id: u64,
        token: String,
    },
    SlackCommand {
        user: usize,
        shard: Arc<SlackFake>,
        response_url: String,
    },
    SlackPress,
}

/// A command acknowledged, its confirmation not yet read.
enum Awaiting {
    Discord {
        id: u64,
        user: usize,
        since: Instant,
    },
    Slack {
        user: usize,
        shard: Arc<SlackFake>,
        response_url: String,
        since: Instant,
    },
}

impl Awaiting {
    fn since(&self) -> Instant {
        match self {
            Awaiting::Discord { since, .. } | Awaiting::Slack { since, .. } => *since,
        }
    }
}

/// What reading a confirmation found.
enum Checked {
    /// A press on it, ready to send.
    Ready(Box<Prepared>),
    /// Nothing yet.
    NotYet,
    /// A final answer without buttons (a refusal or an error).
    NoPrompt,
}

/// Counts of what the driver saw, for the notes.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Confirmations read and turned into presses.
    pub presses_built: AtomicU64,
    /// Commands whose final answer had no buttons.
    pub no_prompt: AtomicU64,
    /// Commands whose confirmation did not come within the give-up time.
    pub unconfirmed: AtomicU64,
    /// Hand-overs to the fake that failed (Discord callbacks refused, Slack posts refused).
    pub relay_failed: AtomicU64,
    /// Presses the fake would not build.
    pub press_build_failed: AtomicU64,
    /// The last refused hand-over: its status and the start of the fake's answer.
    pub last_refusal: Mutex<Option<String>>,
}

impl Counters {
    /// Counts a refused hand-over and remembers why.
    async fn refused(&self, answer: Result<reqwest::Response, reqwest::Error>) {
        self.relay_failed.fetch_add(1, Ordering::Relaxed);
        let why = match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                format!("{status} {}", passdesk_core::http::excerpt(&body))
            }
            Err(e) => e.without_url().to_string(),
        };
        *lock(&self.last_refusal) = Some(why);
    }
}

/// The fake platform's side of the load: builds and signs requests, settles answers, keeps
/// the press pool.
pub(crate) struct Driver {
    scenario: &'static str,
    chat: Chat,
    directory: usize,
    feed_presses: bool,
    commands_url: Arc<str>,
    presses_url: Arc<str>,
    relay: reqwest::Client,
    awaiting: Mutex<VecDeque<Awaiting>>,
    pool: Mutex<VecDeque<Prepared>>,
    next_user: AtomicUsize,
    next_target: AtomicUsize,
    next_press: AtomicUsize,
    /// What it saw.
    pub counters: Counters,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `(name, value)` pairs as a header map.
fn header_map(
    scenario: &'static str,
    headers: impl IntoIterator<Item = (&'static str, String)>,
) -> Result<HeaderMap, BenchError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let value = HeaderValue::from_str(&value)
            .map_err(|e| BenchError::new(scenario, format!("header {name}: {e}")))?;
        map.insert(HeaderName::from_static(name), value);
    }
    Ok(map)
}

/// Whether `body` contains `needle`.
fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|window| window == needle)
}

impl Driver {
    fn err(&self, message: impl std::fmt::Display) -> BenchError {
        BenchError::new(self.scenario, message)
    }

    /// Slack: starts a fresh set of fakes for the next commands (Discord: nothing).
    ///
    /// # Errors
    ///
    /// A fake could not start.
    pub(crate) async fn new_generation(&self) -> Result<(), BenchError> {
        let Chat::Slack {
            shards,
            retired,
            per_generation,
            ..
        } = &self.chat
        else {
            return Ok(());
        };
        let mut fresh = Vec::with_capacity(*per_generation);
        for _ in 0..*per_generation {
            let fake = SlackFake::builder()
                .start()
                .await
                .map_err(|e| self.err(format!("starting a fake slack: {e}")))?;
            fresh.push(Arc::new(fake));
        }
        let old = std::mem::replace(&mut *lock(shards), Arc::new(fresh));
        lock(retired).extend(old.iter().cloned());
        Ok(())
    }

    /// The next slash command, `/reset user user:<username>`: the next requester, the next
    /// directory user, a fresh interaction, signed now.
    ///
    /// # Errors
    ///
    /// The fake would not build it.
    pub(crate) fn command(&self) -> Result<Prepared, BenchError> {
        let target = format!(
            "{DIRECTORY_PREFIX}.{:04}",
            self.next_target.fetch_add(1, Ordering::Relaxed) % self.directory
        );
        match &self.chat {
            Chat::Discord { fake, users } => {
                let user = self.next_user.fetch_add(1, Ordering::Relaxed) % users.len().max(1);
                let requester = users.get(user).ok_or_else(|| self.err("no requesters"))?;
                let command = fake.slash_command(
                    requester,
                    &[HELPDESK_ROLE],
                    GUILD,
                    CHANNEL,
                    "reset",
                    vec![CommandOption::sub_command(
                        "user",
                        vec![CommandOption::string("user", target)],
                    )],
                );
                let signed = fake.sign(&command);
                Ok(Prepared {
                    url: Arc::clone(&self.commands_url),
                    headers: header_map(self.scenario, signed.headers())?,
                    body: signed.body,
                    settle: Settle::DiscordCommand {
                        id: command.id(),
                        token: command.token().to_owned(),
                        user,
                    },
                })
            }
            Chat::Slack { users, shards, .. } => {
                let user = self.next_user.fetch_add(1, Ordering::Relaxed) % users.len().max(1);
                let requester = users.get(user).ok_or_else(|| self.err("no requesters"))?;
                let generation = Arc::clone(&*lock(shards));
                let shard = generation
                    .get(user % generation.len().max(1))
                    .cloned()
                    .ok_or_else(|| self.err("no fake slack"))?;
                let signed = shard
                    .slash_command(
                        requester,
                        shard.team_id(),
                        DEFAULT_CHANNEL_ID,
                        "/passdesk",
                        &format!("reset user:{target}"),
                    )
                    .map_err(|e| self.err(format!("building a slack command: {e}")))?;
                let response_url = signed
                    .response_url
                    .clone()
                    .ok_or_else(|| self.err("a slack command without a response_url"))?;
                Ok(Prepared {
                    url: Arc::clone(&self.commands_url),
                    headers: header_map(self.scenario, signed.headers())?,
                    body: signed.body,
                    settle: Settle::SlackCommand {
                        user,
                        shard,
                        response_url,
                    },
                })
            }
        }
    }

    /// `n` commands, built and signed now.
    ///
    /// # Errors
    ///
    /// As [`command`](Self::command).
    pub(crate) fn commands(&self, n: usize) -> Result<Vec<Prepared>, BenchError> {
        (0..n).map(|_| self.command()).collect()
    }

    /// A ready press from the pool, if any.
    pub(crate) fn take_press(&self) -> Option<Prepared> {
        lock(&self.pool).pop_front()
    }

    /// Presses ready in the pool.
    pub(crate) fn pool_len(&self) -> usize {
        lock(&self.pool).len()
    }

    /// Plays the platform's part once a request was answered `200` with `body` (see the
    /// module docs); returns the Discord interaction id of a command.
    async fn settle(&self, prepared: Settle, body: &[u8]) -> Option<u64> {
        match prepared {
            Settle::DiscordCommand { id, token, user } => {
                self.discord_callback(id, &token, body).await;
                if self.feed_presses {
                    self.wait_for(Awaiting::Discord {
                        id,
                        user,
                        since: Instant::now(),
                    });
                }
                Some(id)
            }
            Settle::DiscordPress { id, token } => {
                self.discord_callback(id, &token, body).await;
                None
            }
            Settle::SlackCommand {
                user,
                shard,
                response_url,
            } => {
                if contains(body, b"pd:confirm") {
                    // Slack shows a command's answer; this one already is the confirmation.
                    let shown = self
                        .relay
                        .post(&response_url)
                        .header("content-type", "application/json")
                        .body(body.to_vec())
                        .send()
                        .await;
                    if !shown.as_ref().is_ok_and(|r| r.status().is_success()) {
                        self.counters.refused(shown).await;
                    }
                }
                if self.feed_presses {
                    self.wait_for(Awaiting::Slack {
                        user,
                        shard,
                        response_url,
                        since: Instant::now(),
                    });
                }
                None
            }
            Settle::SlackPress => None,
        }
    }

    /// Hands a Discord interaction's response body to the fake as its callback.
    async fn discord_callback(&self, id: u64, token: &str, body: &[u8]) {
        let Chat::Discord { fake, .. } = &self.chat else {
            return;
        };
        let url = format!("{}/interactions/{id}/{token}/callback", fake.api_url());
        let handed = self
            .relay
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        if !handed.as_ref().is_ok_and(|r| r.status().is_success()) {
            self.counters.refused(handed).await;
        }
    }

    fn wait_for(&self, awaiting: Awaiting) {
        let mut queue = lock(&self.awaiting);
        if queue.len() >= AWAITING_MAX {
            queue.pop_front();
        }
        queue.push_back(awaiting);
    }

    /// Reads queued commands' confirmations until the pool holds `target` presses or
    /// `max_checks` confirmations were looked at.
    pub(crate) fn feed(&self, target: usize, max_checks: usize) {
        let mut checks = 0;
        let mut later = Vec::new();
        while checks < max_checks && self.pool_len() < target {
            let Some(entry) = lock(&self.awaiting).pop_front() else {
                break;
            };
            checks += 1;
            match self.check(&entry) {
                Ok(Checked::Ready(press)) => lock(&self.pool).push_back(*press),
                Ok(Checked::NotYet) if entry.since().elapsed() < GIVE_UP => later.push(entry),
                Ok(Checked::NotYet) => {
                    self.counters.unconfirmed.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Checked::NoPrompt) => {
                    self.counters.no_prompt.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    self.counters
                        .press_build_failed
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if !later.is_empty() {
            lock(&self.awaiting).extend(later);
        }
    }

    /// Confirm or Cancel, in turn.
    fn next_is_confirm(&self) -> bool {
        self.next_press.fetch_add(1, Ordering::Relaxed) % 2 == 0
    }

    fn check(&self, entry: &Awaiting) -> Result<Checked, BenchError> {
        match (entry, &self.chat) {
            (Awaiting::Discord { id, user, .. }, Chat::Discord { fake, users }) => {
                let Some(message) = fake.original_response(*id) else {
                    return Ok(Checked::NotYet);
                };
                if message.is_loading() {
                    return Ok(Checked::NotYet);
                }
                let prefix = if self.next_is_confirm() {
                    "pd:confirm:"
                } else {
                    "pd:cancel:"
                };
                let Some(custom_id) = message
                    .buttons()
                    .into_iter()
                    .filter_map(|b| b.custom_id)
                    .find(|id| id.starts_with(prefix))
                else {
                    return Ok(Checked::NoPrompt);
                };
                let requester = users
                    .get(*user)
                    .ok_or_else(|| self.err("no such requester"))?;
                let press = fake
                    .press_button(requester, &[HELPDESK_ROLE], &message, &custom_id)
                    .map_err(|e| self.err(e))?;
                let signed = fake.sign(&press);
                self.counters.presses_built.fetch_add(1, Ordering::Relaxed);
                Ok(Checked::Ready(Box::new(Prepared {
                    url: Arc::clone(&self.presses_url),
                    headers: header_map(self.scenario, signed.headers())?,
                    body: signed.body,
                    settle: Settle::DiscordPress {
                        id: press.id(),
                        token: press.token().to_owned(),
                    },
                })))
            }
            (
                Awaiting::Slack {
                    user,
                    shard,
                    response_url,
                    ..
                },
                Chat::Slack { users, .. },
            ) => {
                let posts = shard.response_posts(response_url);
                let mut answered = false;
                let mut prompt = None;
                for post in posts.iter().rev() {
                    let (PostOutcome::Created(ts) | PostOutcome::Replaced(ts)) = &post.outcome
                    else {
                        continue;
                    };
                    answered = true;
                    if let Some(message) = shard
                        .message(DEFAULT_CHANNEL_ID, ts)
                        .filter(|m| m.button("pd:confirm").is_some())
                    {
                        prompt = Some(message);
                        break;
                    }
                }
                let Some(message) = prompt else {
                    return Ok(if answered && !posts.is_empty() {
                        Checked::NoPrompt
                    } else {
                        Checked::NotYet
                    });
                };
                let action = if self.next_is_confirm() {
                    "pd:confirm"
                } else {
                    "pd:cancel"
                };
                let requester = users
                    .get(*user)
                    .ok_or_else(|| self.err("no such requester"))?;
                let signed = shard
                    .press_button(requester, &message, action, None)
                    .map_err(|e| self.err(e))?;
                self.counters.presses_built.fetch_add(1, Ordering::Relaxed);
                Ok(Checked::Ready(Box::new(Prepared {
                    url: Arc::clone(&self.presses_url),
                    headers: header_map(self.scenario, signed.headers())?,
                    body: signed.body,
                    settle: Settle::SlackPress,
                })))
            }
            _ => Err(self.err("a confirmation of another platform")),
        }
    }

    /// Discord: whether this interaction's original response shows a confirmation (a
    /// Confirm button), read from the fake.
    pub(crate) fn shows_confirmation(&self, interaction_id: u64) -> bool {
        let Chat::Discord { fake, .. } = &self.chat else {
            return false;
        };
        fake.original_response(interaction_id).is_some_and(|m| {
            !m.is_loading()
                && m.buttons().iter().any(|b| {
                    b.custom_id
                        .as_deref()
                        .is_some_and(|c| c.starts_with("pd:confirm:"))
                })
        })
    }
}

/// Sends one prepared request with `client`; returns the status and body (or the transport
/// error), leaving the settling to [`finish`].
pub(crate) async fn send(
    client: &reqwest::Client,
    prepared: &mut Prepared,
) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let body = std::mem::take(&mut prepared.body);
    let response = client
        .post(&*prepared.url)
        .headers(std::mem::take(&mut prepared.headers))
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok((status, body))
}

/// After a `200`: plays the platform's part (see [`Driver::settle`]).
pub(crate) async fn finish(driver: &Driver, prepared: Prepared, body: &[u8]) -> Option<u64> {
    driver.settle(prepared.settle, body).await
}
