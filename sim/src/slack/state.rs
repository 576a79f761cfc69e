//! What the fake remembers (users, channels, groups, messages, response URLs, trigger ids,
//! views) and the rules Slack applies to each Web API call and `response_url` post. No I/O:
//! the handlers and the test API call these with the fake's clock.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::StatusCode;
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::blocks::{self, MAX_TEXT_CHARS, MAX_VIEW_BYTES};
use super::error::{Answer, FakeError};
use super::model::{
    FakeChannel, FakeUser, MessageVersion, MessageView, Origin, PostOutcome, ResponseUrlPost,
    ViewInfo, buttons_in, inputs_in,
};
use super::payload::{self, Context, Pressed};
use super::routes::Endpoint;
use super::sign::RequestKind;

/// One workspace the app is installed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Team {
    pub(crate) id: String,
    pub(crate) domain: String,
    pub(crate) name: String,
    pub(crate) bot_token: String,
}

/// The fixed settings of one fake.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) app_id: String,
    pub(crate) signing_secret: String,
    pub(crate) verification_token: String,
    pub(crate) bot_user_id: String,
    pub(crate) bot_id: String,
    pub(crate) bot_name: String,
    /// The first is the primary team.
    pub(crate) teams: Vec<Team>,
    pub(crate) trigger_window: Duration,
    pub(crate) response_url_lifetime: Duration,
    pub(crate) response_url_uses: u32,
    pub(crate) ack_timeout: Duration,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base_url: String,
    /// The Web API path prefix, e.g. `/api`.
    pub(crate) api_prefix: String,
}

impl Config {
    pub(crate) fn primary(&self) -> &str {
        self.teams.first().map_or("", |team| team.id.as_str())
    }

    pub(crate) fn team(&self, team_id: &str) -> Option<&Team> {
        self.teams.iter().find(|team| team.id == team_id)
    }

    pub(crate) fn team_by_token(&self, token: &str) -> Option<&Team> {
        self.teams
            .iter()
            .find(|team| team.bot_token.as_bytes() == token.as_bytes())
    }

    fn context<'a>(&'a self, team: &'a Team, user: &'a FakeUser) -> Context<'a> {
        Context {
            app_id: &self.app_id,
            verification_token: &self.verification_token,
            team,
            user,
        }
    }
}

/// A user group (`S…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserGroup {
    pub(crate) id: String,
    pub(crate) team_id: Option<String>,
    pub(crate) members: Vec<String>,
    pub(crate) disabled: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    key: u64,
    channel: String,
    thread_ts: Option<String>,
    user: String,
    bot_id: Option<String>,
    text: String,
    blocks: Vec<Value>,
    ephemeral_to: Option<String>,
    origin: Origin,
    history: Vec<MessageVersion>,
    edited: Option<String>,
    deleted: bool,
}

/// `1700000300.000400`: seconds and six digits of microseconds.
pub(crate) fn format_ts(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// The inverse of [`format_ts`]; `None` for anything else.
pub(crate) fn parse_ts(ts: &str) -> Option<u64> {
    let (secs, micros) = ts.split_once('.')?;
    if micros.len() != 6 || !micros.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = micros.parse().ok()?;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

impl StoredMessage {
    fn ts(&self) -> String {
        format_ts(self.key)
    }

    fn json(&self, team_id: &str, app_id: &str) -> Value {
        let mut message = json!({
            "type": "message",
            "text": self.text,
            "user": self.user,
            "ts": self.ts(),
            "team": team_id,
            "blocks": self.blocks,
        });
        if let Some(bot_id) = &self.bot_id {
            message["bot_id"] = json!(bot_id);
            message["app_id"] = json!(app_id);
        }
        if let Some(thread_ts) = &self.thread_ts {
            message["thread_ts"] = json!(thread_ts);
        }
        if let Some(edited) = &self.edited {
            message["edited"] = json!({ "user": self.user, "ts": edited });
        }
        message
    }

    fn view(&self, team_id: &str, app_id: &str) -> MessageView {
        MessageView {
            channel_id: self.channel.clone(),
            ts: self.ts(),
            thread_ts: self.thread_ts.clone(),
            user_id: self.user.clone(),
            bot_id: self.bot_id.clone(),
            text: self.text.clone(),
            blocks: self.blocks.clone(),
            ephemeral_to: self.ephemeral_to.clone(),
            origin: self.origin,
            edits: u32::try_from(self.history.len()).unwrap_or(u32::MAX),
            history: self.history.clone(),
            json: self.json(team_id, app_id),
        }
    }

    fn replace(&mut self, content: Content, keep_missing: bool, edited: String) {
        self.history.push(MessageVersion {
            text: self.text.clone(),
            blocks: self.blocks.clone(),
        });
        match content.text {
            Some(text) => self.text = text,
            None if !keep_missing => self.text.clear(),
            None => {}
        }
        match content.blocks {
            Some(blocks) => self.blocks = blocks,
            None if !keep_missing => self.blocks.clear(),
            None => {}
        }
        self.edited = Some(edited);
    }
}

/// Whether a `response_url` came with a command or an interaction (its path says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookKind {
    Commands,
    Actions,
}

impl HookKind {
    fn segment(self) -> &'static str {
        match self {
            HookKind::Commands => "commands",
            HookKind::Actions => "actions",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub(crate) url: String,
    token: String,
    kind: HookKind,
    team: String,
    user: String,
    channel: String,
    created: Instant,
    accepted: u32,
    /// The message `replace_original`/`delete_original` act on.
    original: Option<u64>,
    pub(crate) posts: Vec<ResponseUrlPost>,
}

#[derive(Debug, Clone)]
struct Trigger {
    team: String,
    user: String,
    created: Instant,
    used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredView {
    id: String,
    team: String,
    user: String,
    trigger_id: Option<String>,
    json: Value,
    open: bool,
    previous: Option<String>,
    errors: Option<Value>,
    submissions: u32,
}

impl StoredView {
    fn hash(&self) -> String {
        self.json
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn external_id(&self) -> Option<&str> {
        self.json
            .get("external_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
    }

    pub(crate) fn info(&self) -> ViewInfo {
        let text = |key: &str| {
            self.json
                .get(key)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        ViewInfo {
            id: self.id.clone(),
            team_id: self.team.clone(),
            user_id: self.user.clone(),
            trigger_id: self.trigger_id.clone(),
            callback_id: text("callback_id"),
            private_metadata: text("private_metadata"),
            external_id: text("external_id"),
            hash: self.hash(),
            open: self.open,
            errors: self.errors.clone(),
            previous_view_id: self.previous.clone(),
            submissions: self.submissions,
            json: self.json.clone(),
        }
    }
}

/// Where a `response_url` posts: team, user and channel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    team: &'a str,
    user: &'a str,
    channel: &'a str,
}

/// A request the driver built, before signing.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) kind: RequestKind,
    pub(crate) body: Vec<u8>,
    pub(crate) response_url: Option<String>,
    pub(crate) trigger_id: Option<String>,
    pub(crate) user_id: String,
    pub(crate) channel_id: Option<String>,
    pub(crate) view_id: Option<String>,
}

/// What a message post carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct Content {
    text: Option<String>,
    blocks: Option<Vec<Value>>,
}

/// Why a message post was refused.
enum ContentError {
    NoText,
    TooLong,
    BlocksFormat,
    Blocks(Vec<String>),
}

impl ContentError {
    fn code(&self) -> &'static str {
        match self {
            ContentError::NoText => "no_text",
            ContentError::TooLong => "msg_too_long",
            ContentError::BlocksFormat => "invalid_blocks_format",
            ContentError::Blocks(_) => "invalid_blocks",
        }
    }

    fn answer(&self, status: StatusCode) -> Answer {
        match self {
            ContentError::Blocks(lines) => Answer::problems(status, "invalid_blocks", lines),
            other => Answer::error_status(status, other.code()),
        }
    }
}

/// A Web API argument as a string (JSON strings, numbers and booleans; form values).
fn arg(args: &Map<String, Value>, key: &str) -> Option<String> {
    match args.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        Some(Value::Bool(flag)) => Some(flag.to_string()),
        _ => None,
    }
}

fn flag(args: &Map<String, Value>, key: &str) -> bool {
    match args.get(key) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => matches!(text.as_str(), "true" | "1"),
        Some(Value::Number(number)) => number.as_u64() == Some(1),
        _ => false,
    }
}

/// `text`, `blocks` (an array, or a JSON string of one as form bodies carry it) and whether
/// `attachments` came, checked against Slack's limits.
fn content(args: &Map<String, Value>, required: bool) -> Result<Content, ContentError> {
    let text = arg(args, "text");
    let blocks = match args.get("blocks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(blocks)) => Some(blocks.clone()),
        Some(Value::String(raw)) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(blocks)) => Some(blocks),
            _ => return Err(ContentError::BlocksFormat),
        },
        Some(_) => return Err(ContentError::BlocksFormat),
    };
    let attachments = args
        .get("attachments")
        .is_some_and(|value| !value.is_null());
    let has_text = text.as_deref().is_some_and(|text| !text.is_empty());
    let has_blocks = blocks.as_ref().is_some_and(|blocks| !blocks.is_empty());
    if required && !has_text && !has_blocks && !attachments {
        return Err(ContentError::NoText);
    }
    if text
        .as_deref()
        .is_some_and(|text| text.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(ContentError::TooLong);
    }
    let mut blocks = blocks;
    if let Some(blocks) = &mut blocks {
        let problems = blocks::message_problems(blocks);
        if !problems.is_empty() {
            return Err(ContentError::Blocks(problems));
        }
        blocks::fill_ids(blocks);
    }
    Ok(Content { text, blocks })
}

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn invalid_arguments(lines: &[String]) -> Answer {
    Answer::problems(StatusCode::OK, "invalid_arguments", lines)
}

/// Everything mutable except the request records and knobs.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) users: BTreeMap<String, FakeUser>,
    pub(crate) channels: BTreeMap<String, FakeChannel>,
    pub(crate) groups: BTreeMap<String, UserGroup>,
    pub(crate) free_plan: bool,
    messages: BTreeMap<u64, StoredMessage>,
    last_ts: u64,
    sequence: u64,
    triggers: HashMap<String, Trigger>,
    pub(crate) hooks: HashMap<String, Hook>,
    pub(crate) views: BTreeMap<String, StoredView>,
}

impl State {
    // ---- Seeds and lookups ----

    pub(crate) fn add_user(&mut self, user: FakeUser) {
        self.users.insert(user.id.clone(), user);
    }

    pub(crate) fn add_channel(&mut self, channel: FakeChannel) {
        self.channels.insert(channel.id.clone(), channel);
    }

    fn channel_team<'a>(&self, config: &'a Config, channel: &FakeChannel) -> &'a str {
        let primary = config.primary();
        match &channel.team_id {
            Some(team) => config.team(team).map_or(primary, |found| found.id.as_str()),
            None => primary,
        }
    }

    fn user_in_team(&self, config: &Config, user_id: &str, team_id: &str) -> Option<&FakeUser> {
        self.users
            .get(user_id)
            .filter(|user| user.team_or(config.primary()) == team_id)
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn next_ts(&mut self, wall: DateTime<Utc>) -> u64 {
        let now = u64::try_from(wall.timestamp_micros()).unwrap_or_default();
        let key = now.max(self.last_ts + 1);
        self.last_ts = key;
        key
    }

    fn team_of_message(&self, config: &Config, message: &StoredMessage) -> String {
        self.channels.get(&message.channel).map_or_else(
            || config.primary().to_owned(),
            |channel| self.channel_team(config, channel).to_owned(),
        )
    }

    pub(crate) fn message_view(&self, config: &Config, key: u64) -> Option<MessageView> {
        let message = self.messages.get(&key).filter(|message| !message.deleted)?;
        let team = self.team_of_message(config, message);
        Some(message.view(&team, &config.app_id))
    }

    /// Messages of a channel that are not deleted and pass `keep`, oldest first.
    pub(crate) fn messages_where(
        &self,
        config: &Config,
        channel_id: &str,
        keep: impl Fn(&MessageView) -> bool,
    ) -> Vec<MessageView> {
        self.messages
            .values()
            .filter(|message| message.channel == channel_id && !message.deleted)
            .filter_map(|message| self.message_view(config, message.key))
            .filter(|view| keep(view))
            .collect()
    }

    pub(crate) fn message_by_ts(
        &self,
        config: &Config,
        channel_id: &str,
        ts: &str,
    ) -> Option<MessageView> {
        let key = parse_ts(ts)?;
        self.message_view(config, key)
            .filter(|message| message.channel_id == channel_id)
    }

    pub(crate) fn hook_by_url(&self, url: &str) -> Option<&Hook> {
        self.hooks.values().find(|hook| hook.url == url)
    }

    fn hook_id_by_url(&self, url: &str) -> Option<String> {
        self.hooks
            .iter()
            .find(|(_, hook)| hook.url == url)
            .map(|(id, _)| id.clone())
    }

    #[allow(clippy::too_many_arguments)] // one message's who, where, what and how
    fn store_message(
        &mut self,
        channel: &str,
        user: &str,
        bot_id: Option<&str>,
        content: Content,
        ephemeral_to: Option<&str>,
        thread_ts: Option<String>,
        origin: Origin,
        wall: DateTime<Utc>,
    ) -> u64 {
        let key = self.next_ts(wall);
        self.messages.insert(
            key,
            StoredMessage {
                key,
                channel: channel.to_owned(),
                thread_ts,
                user: user.to_owned(),
                bot_id: bot_id.map(str::to_owned),
                text: content.text.unwrap_or_default(),
                blocks: content.blocks.unwrap_or_default(),
                ephemeral_to: ephemeral_to.map(str::to_owned),
                origin,
                history: Vec::new(),
                edited: None,
                deleted: false,
            },
        );
        key
    }

    fn mint_hook(
        &mut self,
        config: &Config,
        kind: HookKind,
        place: Place<'_>,
        original: Option<u64>,
        now: Instant,
    ) -> String {
        let Place {
            team,
            user,
            channel,
        } = place;
        let id = format!(
            "{}{}",
            1_000_000 + self.next_sequence(),
            rand::rng().random_range(100..1000)
        );
        let token = random_alnum(24);
        let url = format!(
            "{}/hooks/{}/{team}/{id}/{token}",
            config.base_url,
            kind.segment()
        );
        self.hooks.insert(
            id,
            Hook {
                url: url.clone(),
                token,
                kind,
                team: team.to_owned(),
                user: user.to_owned(),
                channel: channel.to_owned(),
                created: now,
                accepted: 0,
                original,
                posts: Vec::new(),
            },
        );
        url
    }

    fn mint_trigger(&mut self, team: &str, user: &str, now: Instant) -> String {
        let id = format!(
            "{}.{}.{}",
            1_000_000_000 + self.next_sequence(),
            rand::rng().random_range(10_000_000_000_u64..100_000_000_000),
            hex::encode(rand::random::<[u8; 16]>())
        );
        self.triggers.insert(
            id.clone(),
            Trigger {
                team: team.to_owned(),
                user: user.to_owned(),
                created: now,
                used: false,
            },
        );
        id
    }

    /// A user who acts becomes known (for `users.info`).
    fn remember(&mut self, config: &Config, user: &FakeUser, team_id: &str) {
        if !self.users.contains_key(&user.id) {
            let mut user = user.clone();
            if team_id != config.primary() {
                user.team_id = Some(team_id.to_owned());
            }
            self.add_user(user);
        }
    }

    // ---- The driver: what users do ----

    #[allow(clippy::too_many_arguments)] // mirrors the test API's (who, where, what) plus the clock
    pub(crate) fn slash_command(
        &mut self,
        config: &Config,
        user: &FakeUser,
        team_id: &str,
        channel_id: &str,
        command: &str,
        text: &str,
        now: Instant,
    ) -> Result<Built, FakeError> {
        let team = config.team(team_id).ok_or_else(|| FakeError::UnknownTeam {
            team_id: team_id.to_owned(),
        })?;
        let channel = self
            .channels
            .get(channel_id)
            .filter(|channel| self.channel_team(config, channel) == team.id)
            .cloned()
            .ok_or_else(|| FakeError::UnknownChannel {
                channel_id: channel_id.to_owned(),
            })?;
        self.remember(config, user, &team.id);
        let place = Place {
            team: &team.id,
            user: &user.id,
            channel: &channel.id,
        };
        let response_url = self.mint_hook(config, HookKind::Commands, place, None, now);
        let trigger_id = self.mint_trigger(&team.id, &user.id, now);
        let body = payload::slash_command(
            &config.context(team, user),
            &channel,
            command,
            text,
            &response_url,
            &trigger_id,
        );
        Ok(Built {
            kind: RequestKind::SlashCommand,
            body,
            response_url: Some(response_url),
            trigger_id: Some(trigger_id),
            user_id: user.id.clone(),
            channel_id: Some(channel.id),
            view_id: None,
        })
    }

    /// A press of the first button in `seen` (the message as the user saw it) that `wanted`
    /// accepts.
    #[allow(clippy::too_many_arguments)] // mirrors the test API's (who, what, which) plus the clock
    pub(crate) fn press(
        &mut self,
        config: &Config,
        user: &FakeUser,
        seen: &MessageView,
        wanted: &dyn Fn(&super::model::ButtonView) -> bool,
        describe: &str,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Result<Built, FakeError> {
        let unknown = || FakeError::UnknownMessage {
            ts: seen.ts.clone(),
        };
        let key = parse_ts(&seen.ts).ok_or_else(unknown)?;
        let stored = self
            .messages
            .get(&key)
            .filter(|message| !message.deleted && message.channel == seen.channel_id)
            .cloned()
            .ok_or_else(unknown)?;
        if stored
            .ephemeral_to
            .as_deref()
            .is_some_and(|owner| owner != user.id)
        {
            return Err(FakeError::NotVisible {
                user_id: user.id.clone(),
                ts: seen.ts.clone(),
            });
        }
        let button = buttons_in(&seen.blocks)
            .into_iter()
            .find(|button| wanted(button))
            .ok_or_else(|| FakeError::NoSuchButton {
                wanted: describe.to_owned(),
            })?;
        let channel = self.channels.get(&stored.channel).cloned().ok_or_else(|| {
            FakeError::UnknownChannel {
                channel_id: stored.channel.clone(),
            }
        })?;
        let team_id = self.channel_team(config, &channel).to_owned();
        let team = config
            .team(&team_id)
            .ok_or_else(|| FakeError::UnknownTeam {
                team_id: team_id.clone(),
            })?;
        self.remember(config, user, &team.id);
        let place = Place {
            team: &team.id,
            user: &user.id,
            channel: &channel.id,
        };
        let response_url = self.mint_hook(config, HookKind::Actions, place, Some(key), now);
        let trigger_id = self.mint_trigger(&team.id, &user.id, now);
        let ephemeral = stored.ephemeral_to.is_some();
        let message = (!ephemeral).then(|| {
            let mut message = seen.json.clone();
            message["blocks"] = json!(seen.blocks);
            message
        });
        let action_ts = format_ts(u64::try_from(wall.timestamp_micros()).unwrap_or_default());
        let payload = payload::block_actions(
            &config.context(team, user),
            &Pressed {
                channel: &channel,
                ts: &seen.ts,
                ephemeral,
                message,
                button: &button.json,
                block_id: &button.block_id,
            },
            &response_url,
            &trigger_id,
            &action_ts,
        );
        Ok(Built {
            kind: RequestKind::BlockActions,
            body: payload::interaction_body(&payload),
            response_url: Some(response_url),
            trigger_id: Some(trigger_id),
            user_id: user.id.clone(),
            channel_id: Some(channel.id),
            view_id: None,
        })
    }

    fn open_view_of(&self, user: &FakeUser, view_id: &str) -> Result<StoredView, FakeError> {
        self.views
            .get(view_id)
            .filter(|view| view.open && view.user == user.id)
            .cloned()
            .ok_or_else(|| FakeError::NoSuchView {
                view_id: view_id.to_owned(),
                user_id: user.id.clone(),
            })
    }

    pub(crate) fn submit_view(
        &mut self,
        config: &Config,
        user: &FakeUser,
        view_id: &str,
        values: &[(&str, &str)],
        now: Instant,
    ) -> Result<Built, FakeError> {
        let view = self.open_view_of(user, view_id)?;
        let blocks = view
            .json
            .get("blocks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let inputs = inputs_in(&blocks);
        for (block_id, _) in values {
            if !inputs.iter().any(|input| input.block_id == *block_id) {
                return Err(FakeError::ViewInput {
                    problem: format!("the view has no input block {block_id:?}"),
                });
            }
        }
        let mut state = Map::new();
        for input in &inputs {
            let value = values
                .iter()
                .rev()
                .find(|(block_id, _)| *block_id == input.block_id)
                .map(|(_, value)| *value)
                .filter(|value| !value.is_empty());
            let length = value.map_or(0, |value| value.chars().count() as u64);
            if value.is_none() && !input.optional {
                return Err(FakeError::ViewInput {
                    problem: format!("{:?} is required", input.block_id),
                });
            }
            if value.is_some() {
                if let Some(min) = input.min_length.filter(|min| length < *min) {
                    return Err(FakeError::ViewInput {
                        problem: format!("{:?} needs at least {min} characters", input.block_id),
                    });
                }
                if let Some(max) = input.max_length.filter(|max| length > *max) {
                    return Err(FakeError::ViewInput {
                        problem: format!("{:?} takes at most {max} characters", input.block_id),
                    });
                }
            }
            let mut entry = Map::new();
            entry.insert(
                input.action_id.clone(),
                json!({ "type": input.element_type, "value": value }),
            );
            state.insert(input.block_id.clone(), Value::Object(entry));
        }
        let team = config
            .team(&view.team)
            .ok_or_else(|| FakeError::UnknownTeam {
                team_id: view.team.clone(),
            })?;
        let trigger_id = self.mint_trigger(&team.id, &user.id, now);
        let mut json = view.json.clone();
        json["state"] = json!({ "values": state });
        if let Some(stored) = self.views.get_mut(view_id) {
            stored.submissions += 1;
            stored.json["state"] = json["state"].clone();
        }
        let payload = payload::view_submission(&config.context(team, user), &json, &trigger_id);
        Ok(Built {
            kind: RequestKind::ViewSubmission,
            body: payload::interaction_body(&payload),
            response_url: None,
            trigger_id: Some(trigger_id),
            user_id: user.id.clone(),
            channel_id: None,
            view_id: Some(view.id),
        })
    }

    pub(crate) fn close_view(
        &mut self,
        config: &Config,
        user: &FakeUser,
        view_id: &str,
    ) -> Result<Option<Built>, FakeError> {
        let view = self.open_view_of(user, view_id)?;
        if let Some(stored) = self.views.get_mut(view_id) {
            stored.open = false;
        }
        let notify = view
            .json
            .get("notify_on_close")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !notify {
            return Ok(None);
        }
        let team = config
            .team(&view.team)
            .ok_or_else(|| FakeError::UnknownTeam {
                team_id: view.team.clone(),
            })?;
        let payload = payload::view_closed(&config.context(team, user), &view.json);
        Ok(Some(Built {
            kind: RequestKind::ViewClosed,
            body: payload::interaction_body(&payload),
            response_url: None,
            trigger_id: None,
            user_id: user.id.clone(),
            channel_id: None,
            view_id: Some(view.id),
        }))
    }

    // ---- What the bot's answers to deliveries do ----

    /// The JSON (or plain text) body of a `200` to a slash command: shown at once, ephemeral
    /// unless `response_type` is `in_channel`. Returns the message's key or why it was not
    /// shown.
    pub(crate) fn command_ack(
        &mut self,
        config: &Config,
        response_url: &str,
        content_type: Option<&str>,
        body: &[u8],
        wall: DateTime<Utc>,
    ) -> Result<Option<u64>, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let hook_id = self
            .hook_id_by_url(response_url)
            .ok_or_else(|| "unknown command".to_owned())?;
        let json_body = content_type.is_some_and(|kind| kind.contains("json"));
        let args = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            _ if json_body => return Err("the answer is not a JSON object".to_owned()),
            _ => {
                let mut map = Map::new();
                map.insert(
                    "text".into(),
                    Value::String(String::from_utf8_lossy(body).into_owned()),
                );
                map
            }
        };
        let content = content(&args, true).map_err(|error| match error {
            ContentError::Blocks(lines) => format!("invalid_blocks: {}", lines.join("; ")),
            other => other.code().to_owned(),
        })?;
        let Some(hook) = self.hooks.get(&hook_id).cloned() else {
            return Err("unknown command".to_owned());
        };
        let in_channel = arg(&args, "response_type").as_deref() == Some("in_channel");
        let key = self.store_message(
            &hook.channel,
            &config.bot_user_id,
            Some(&config.bot_id),
            content,
            (!in_channel).then_some(hook.user.as_str()),
            None,
            Origin::CommandAck,
            wall,
        );
        if let Some(hook) = self.hooks.get_mut(&hook_id) {
            hook.original = Some(key);
        }
        Ok(Some(key))
    }

    /// The answer to a `view_submission`: close, show errors, update, push or clear.
    pub(crate) fn view_ack(
        &mut self,
        config: &Config,
        view_id: &str,
        status: u16,
        body: &[u8],
        wall: DateTime<Utc>,
    ) -> Result<(), String> {
        if status != 200 {
            return Err(format!("the bot answered {status}; the modal stays open"));
        }
        let Some(view) = self.views.get(view_id).cloned() else {
            return Err("unknown view".to_owned());
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            self.set_open(view_id, false);
            return Ok(());
        }
        let answer: Value = serde_json::from_slice(body)
            .map_err(|_| "the answer is not JSON; the modal stays open".to_owned())?;
        match answer.get("response_action").and_then(Value::as_str) {
            Some("errors") => {
                if let Some(stored) = self.views.get_mut(view_id) {
                    stored.errors = answer.get("errors").cloned();
                }
                Ok(())
            }
            Some("update") => {
                let new = answer.get("view").cloned().unwrap_or(Value::Null);
                let problems = blocks::view_problems(&new);
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
                let json = self.view_json(
                    config,
                    &view.team,
                    &view.id,
                    new,
                    view.previous.as_deref(),
                    wall,
                );
                if let Some(stored) = self.views.get_mut(view_id) {
                    stored.json = json;
                    stored.errors = None;
                }
                Ok(())
            }
            Some("push") => {
                let new = answer.get("view").cloned().unwrap_or(Value::Null);
                let problems = blocks::view_problems(&new);
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
                if let Some(stored) = self.views.get_mut(view_id) {
                    stored.errors = None;
                }
                self.store_view(
                    config,
                    &view.team,
                    &view.user,
                    None,
                    new,
                    Some(view.id.clone()),
                    wall,
                );
                Ok(())
            }
            Some("clear") => {
                let mut next = Some(view.id.clone());
                while let Some(id) = next {
                    next = self.views.get(&id).and_then(|view| view.previous.clone());
                    self.set_open(&id, false);
                }
                Ok(())
            }
            None => {
                self.set_open(view_id, false);
                Ok(())
            }
            Some(other) => Err(format!("unknown response_action {other:?}")),
        }
    }

    fn set_open(&mut self, view_id: &str, open: bool) {
        if let Some(view) = self.views.get_mut(view_id) {
            view.open = open;
            view.errors = None;
        }
    }

    // ---- Views ----

    fn view_json(
        &self,
        config: &Config,
        team: &str,
        id: &str,
        mut view: Value,
        previous: Option<&str>,
        wall: DateTime<Utc>,
    ) -> Value {
        if let Some(Value::Array(blocks)) = view.get_mut("blocks") {
            blocks::fill_ids(blocks);
        }
        let root = match previous {
            Some(previous) => self
                .views
                .get(previous)
                .and_then(|view| view.json.get("root_view_id").cloned())
                .unwrap_or_else(|| json!(previous)),
            None => json!(id),
        };
        let defaults = [
            ("private_metadata", json!("")),
            ("callback_id", json!("")),
            ("external_id", json!("")),
            ("clear_on_close", json!(false)),
            ("notify_on_close", json!(false)),
            ("state", json!({ "values": {} })),
        ];
        if let Value::Object(map) = &mut view {
            for (key, value) in defaults {
                map.entry(key).or_insert(value);
            }
            map.insert("id".into(), json!(id));
            map.insert("team_id".into(), json!(team));
            map.insert(
                "hash".into(),
                json!(format!("{}.{}", wall.timestamp(), random_alnum(8))),
            );
            map.insert("previous_view_id".into(), json!(previous));
            map.insert("root_view_id".into(), root);
            map.insert("app_id".into(), json!(config.app_id));
            map.insert("app_installed_team_id".into(), json!(team));
            map.insert("bot_id".into(), json!(config.bot_id));
        }
        view
    }

    #[allow(clippy::too_many_arguments)] // a view's owner, origin and content
    fn store_view(
        &mut self,
        config: &Config,
        team: &str,
        user: &str,
        trigger_id: Option<String>,
        view: Value,
        previous: Option<String>,
        wall: DateTime<Utc>,
    ) -> Value {
        let id = format!("V{:010}", self.next_sequence());
        let json = self.view_json(config, team, &id, view, previous.as_deref(), wall);
        self.views.insert(
            id.clone(),
            StoredView {
                id,
                team: team.to_owned(),
                user: user.to_owned(),
                trigger_id,
                json: json.clone(),
                open: true,
                previous,
                errors: None,
                submissions: 0,
            },
        );
        json
    }

    // ---- The Web API ----

    /// Handles one authenticated Web API call.
    pub(crate) fn call(
        &mut self,
        config: &Config,
        endpoint: Endpoint,
        team: &Team,
        args: &Map<String, Value>,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Answer {
        match endpoint {
            Endpoint::AuthTest => Answer::ok(json!({
                "url": format!("https://{}.slack.com/", team.domain),
                "team": team.name,
                "user": config.bot_name,
                "team_id": team.id,
                "user_id": config.bot_user_id,
                "bot_id": config.bot_id,
                "is_enterprise_install": false,
            })),
            Endpoint::ChatPostMessage => self.post_message(config, team, args, wall),
            Endpoint::ChatPostEphemeral => self.post_ephemeral(config, team, args, wall),
            Endpoint::ChatUpdate => self.update(config, team, args, wall),
            Endpoint::ChatDelete => self.delete(config, team, args),
            Endpoint::ViewsOpen => self.views_open(config, team, args, now, wall),
            Endpoint::ViewsUpdate => self.views_update(config, team, args, wall),
            Endpoint::UsersInfo => match arg(args, "user")
                .and_then(|user| self.user_in_team(config, &user, &team.id))
            {
                Some(user) => Answer::ok(json!({ "user": user.info_json(&team.id) })),
                None => Answer::error("user_not_found"),
            },
            Endpoint::UsergroupsUsersList => self.usergroup_members(config, team, args),
            Endpoint::ResponseUrl => Answer::error_status(StatusCode::NOT_FOUND, "unknown_method"),
        }
    }

    /// The channel a post goes to: a conversation of this team, or a user id (their DM with
    /// the bot, opened on first use).
    fn conversation(
        &mut self,
        config: &Config,
        team: &Team,
        channel: &str,
    ) -> Result<FakeChannel, Answer> {
        if let Some(found) = self
            .channels
            .get(channel)
            .filter(|found| self.channel_team(config, found) == team.id)
        {
            return Ok(found.clone());
        }
        if self.user_in_team(config, channel, &team.id).is_some() {
            if let Some(dm) = self.channels.values().find(|dm| {
                dm.im
                    && dm
                        .members
                        .as_ref()
                        .is_some_and(|members| members.contains(channel))
            }) {
                return Ok(dm.clone());
            }
            let mut dm = FakeChannel::dm(
                format!("D{}", channel.trim_start_matches(['U', 'W'])),
                channel,
            );
            if team.id != config.primary() {
                dm = dm.team(team.id.clone());
            }
            self.add_channel(dm.clone());
            return Ok(dm);
        }
        Err(Answer::error("channel_not_found"))
    }

    fn postable(
        &mut self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
    ) -> Result<FakeChannel, Answer> {
        let channel = arg(args, "channel").unwrap_or_default();
        let channel = self.conversation(config, team, &channel)?;
        if channel.archived {
            return Err(Answer::error("is_archived"));
        }
        if !channel.bot_member {
            return Err(Answer::error("not_in_channel"));
        }
        Ok(channel)
    }

    fn post_message(
        &mut self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
        wall: DateTime<Utc>,
    ) -> Answer {
        let channel = match self.postable(config, team, args) {
            Ok(channel) => channel,
            Err(answer) => return answer,
        };
        let content = match content(args, true) {
            Ok(content) => content,
            Err(error) => return error.answer(StatusCode::OK),
        };
        let key = self.store_message(
            &channel.id,
            &config.bot_user_id,
            Some(&config.bot_id),
            content,
            None,
            arg(args, "thread_ts"),
            Origin::PostMessage,
            wall,
        );
        let message = self
            .message_view(config, key)
            .map_or(Value::Null, |view| view.json);
        Answer::ok(json!({ "channel": channel.id, "ts": format_ts(key), "message": message }))
    }

    fn post_ephemeral(
        &mut self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
        wall: DateTime<Utc>,
    ) -> Answer {
        let channel = match self.postable(config, team, args) {
            Ok(channel) => channel,
            Err(answer) => return answer,
        };
        let user = arg(args, "user").unwrap_or_default();
        if self.user_in_team(config, &user, &team.id).is_none() {
            return Answer::error("user_not_found");
        }
        if !channel.has_member(&user) {
            return Answer::error("user_not_in_channel");
        }
        let content = match content(args, true) {
            Ok(content) => content,
            Err(error) => return error.answer(StatusCode::OK),
        };
        let key = self.store_message(
            &channel.id,
            &config.bot_user_id,
            Some(&config.bot_id),
            content,
            Some(&user),
            arg(args, "thread_ts"),
            Origin::PostEphemeral,
            wall,
        );
        Answer::ok(json!({ "message_ts": format_ts(key) }))
    }

    /// The bot's own, non-ephemeral message `ts` in `channel`, for `chat.update`/`chat.delete`.
    fn own_message(
        &self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
        not_own: &str,
    ) -> Result<u64, Answer> {
        let channel = arg(args, "channel").unwrap_or_default();
        let found = self
            .channels
            .get(&channel)
            .filter(|found| self.channel_team(config, found) == team.id);
        if found.is_none() {
            return Err(Answer::error("channel_not_found"));
        }
        let key = arg(args, "ts")
            .and_then(|ts| parse_ts(&ts))
            .ok_or_else(|| Answer::error("message_not_found"))?;
        let message = self
            .messages
            .get(&key)
            .filter(|message| {
                message.channel == channel && !message.deleted && message.ephemeral_to.is_none()
            })
            .ok_or_else(|| Answer::error("message_not_found"))?;
        if message.user != config.bot_user_id {
            return Err(Answer::error(not_own));
        }
        Ok(key)
    }

    fn update(
        &mut self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
        wall: DateTime<Utc>,
    ) -> Answer {
        let key = match self.own_message(config, team, args, "cant_update_message") {
            Ok(key) => key,
            Err(answer) => return answer,
        };
        let content = match content(args, true) {
            Ok(content) => content,
            Err(error) => return error.answer(StatusCode::OK),
        };
        let edited = format_ts(self.next_ts(wall));
        if let Some(message) = self.messages.get_mut(&key) {
            // chat.update keeps what it is not given (an empty `blocks` removes them).
            message.replace(content, true, edited);
        }
        let Some(view) = self.message_view(config, key) else {
            return Answer::error("message_not_found");
        };
        Answer::ok(json!({
            "channel": view.channel_id,
            "ts": view.ts,
            "text": view.text,
            "message": view.json,
        }))
    }

    fn delete(&mut self, config: &Config, team: &Team, args: &Map<String, Value>) -> Answer {
        let key = match self.own_message(config, team, args, "cant_delete_message") {
            Ok(key) => key,
            Err(answer) => return answer,
        };
        let mut channel = String::new();
        if let Some(message) = self.messages.get_mut(&key) {
            message.deleted = true;
            channel.clone_from(&message.channel);
        }
        Answer::ok(json!({ "channel": channel, "ts": format_ts(key) }))
    }

    fn usergroup_members(&self, config: &Config, team: &Team, args: &Map<String, Value>) -> Answer {
        if self.free_plan {
            return Answer::error("plan_upgrade_required");
        }
        let id = arg(args, "usergroup").unwrap_or_default();
        let Some(group) = self
            .groups
            .get(&id)
            .filter(|group| group.team_id.as_deref().unwrap_or(config.primary()) == team.id)
        else {
            return Answer::error("no_such_subteam");
        };
        if group.disabled && !flag(args, "include_disabled") {
            return Answer::error("no_such_subteam");
        }
        Answer::ok(json!({ "users": group.members }))
    }

    fn view_arg(args: &Map<String, Value>) -> Result<Value, Answer> {
        match args.get("view") {
            Some(Value::Object(view)) => Ok(Value::Object(view.clone())),
            Some(Value::String(raw)) => serde_json::from_str::<Value>(raw)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| {
                    invalid_arguments(&["invalid json in view [json-pointer:/view]".to_owned()])
                }),
            _ => Err(invalid_arguments(&[
                "missing required field: view".to_owned()
            ])),
        }
    }

    fn check_view(view: &Value) -> Result<(), Answer> {
        if view.to_string().len() > MAX_VIEW_BYTES {
            return Err(Answer::error("view_too_large"));
        }
        let problems = blocks::view_problems(view);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(invalid_arguments(&problems))
        }
    }

    fn views_open(
        &mut self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Answer {
        let Some(trigger_id) = arg(args, "trigger_id") else {
            return invalid_arguments(&["missing required field: trigger_id".to_owned()]);
        };
        let Some(trigger) = self
            .triggers
            .get(&trigger_id)
            .filter(|trigger| trigger.team == team.id)
            .cloned()
        else {
            return Answer::error("invalid_trigger_id");
        };
        if trigger.used {
            return Answer::error("exchanged_trigger_id");
        }
        if now.saturating_duration_since(trigger.created) > config.trigger_window {
            return Answer::error("expired_trigger_id");
        }
        let view =
            match Self::view_arg(args).and_then(|view| Self::check_view(&view).map(|()| view)) {
                Ok(view) => view,
                Err(answer) => return answer,
            };
        if let Some(external) = view
            .get("external_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        {
            if self
                .views
                .values()
                .any(|other| other.team == team.id && other.external_id() == Some(external))
            {
                return Answer::error("duplicate_external_id");
            }
        }
        if let Some(trigger) = self.triggers.get_mut(&trigger_id) {
            trigger.used = true;
        }
        let json = self.store_view(
            config,
            &team.id,
            &trigger.user,
            Some(trigger_id),
            view,
            None,
            wall,
        );
        Answer::ok(json!({ "view": json }))
    }

    fn views_update(
        &mut self,
        config: &Config,
        team: &Team,
        args: &Map<String, Value>,
        wall: DateTime<Utc>,
    ) -> Answer {
        let id = match (arg(args, "view_id"), arg(args, "external_id")) {
            (Some(id), _) => Some(id),
            (None, Some(external)) => self
                .views
                .values()
                .find(|view| view.team == team.id && view.external_id() == Some(external.as_str()))
                .map(|view| view.id.clone()),
            (None, None) => {
                return invalid_arguments(&[
                    "missing required field: view_id or external_id".to_owned()
                ]);
            }
        };
        let Some(existing) = id
            .and_then(|id| self.views.get(&id))
            .filter(|view| view.team == team.id)
            .cloned()
        else {
            return Answer::error("not_found");
        };
        if arg(args, "hash").is_some_and(|hash| hash != existing.hash()) {
            return Answer::error("hash_conflict");
        }
        let view =
            match Self::view_arg(args).and_then(|view| Self::check_view(&view).map(|()| view)) {
                Ok(view) => view,
                Err(answer) => return answer,
            };
        let mut json = self.view_json(
            config,
            &team.id,
            &existing.id,
            view,
            existing.previous.as_deref(),
            wall,
        );
        json["state"] = existing
            .json
            .get("state")
            .cloned()
            .unwrap_or(json!({ "values": {} }));
        if let Some(stored) = self.views.get_mut(&existing.id) {
            stored.json = json.clone();
            stored.errors = None;
        }
        Answer::ok(json!({ "view": json }))
    }

    // ---- response_url ----

    /// One POST to a `response_url` (`/hooks/{kind}/{team}/{id}/{token}`).
    #[allow(clippy::too_many_arguments)] // the URL's parts, the body and the clock
    pub(crate) fn response_url_post(
        &mut self,
        config: &Config,
        kind: &str,
        team: &str,
        hook_id: &str,
        token: &str,
        body: &[u8],
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Answer {
        let Some(hook) = self
            .hooks
            .get(hook_id)
            .filter(|hook| {
                hook.token.as_bytes() == token.as_bytes()
                    && hook.team == team
                    && hook.kind.segment() == kind
            })
            .cloned()
        else {
            return Answer::error_status(StatusCode::NOT_FOUND, "no_service");
        };
        let after = now.saturating_duration_since(hook.created);
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let (answer, outcome) = match parsed.as_ref().and_then(Value::as_object) {
            None => (
                Answer::error_status(StatusCode::BAD_REQUEST, "invalid_payload"),
                PostOutcome::Refused("invalid_payload".into()),
            ),
            Some(_) if after > config.response_url_lifetime => (
                Answer::error_status(StatusCode::NOT_FOUND, "expired_url"),
                PostOutcome::Expired,
            ),
            Some(_) if hook.accepted >= config.response_url_uses => (
                Answer::error_status(StatusCode::NOT_FOUND, "expired_url"),
                PostOutcome::Exhausted,
            ),
            Some(args) => self.apply_post(config, &hook, hook_id, args, wall),
        };
        if let Some(hook) = self.hooks.get_mut(hook_id) {
            hook.posts.push(ResponseUrlPost {
                url: hook.url.clone(),
                body: parsed.unwrap_or(Value::Null),
                status: answer.status.as_u16(),
                outcome: outcome.clone(),
                after,
            });
            if matches!(
                outcome,
                PostOutcome::Created(_) | PostOutcome::Replaced(_) | PostOutcome::Deleted(_)
            ) {
                hook.accepted += 1;
            }
        }
        answer
    }

    fn apply_post(
        &mut self,
        config: &Config,
        hook: &Hook,
        hook_id: &str,
        args: &Map<String, Value>,
        wall: DateTime<Utc>,
    ) -> (Answer, PostOutcome) {
        let original = hook.original.and_then(|key| {
            self.messages
                .get(&key)
                .map(|message| (key, message.deleted))
        });
        let gone = || {
            (
                Answer::error_status(StatusCode::NOT_FOUND, "message_not_found"),
                PostOutcome::Refused("message_not_found".into()),
            )
        };
        if flag(args, "delete_original") {
            return match original {
                Some((key, false)) => {
                    if let Some(message) = self.messages.get_mut(&key) {
                        message.deleted = true;
                    }
                    (Answer::ok(json!({})), PostOutcome::Deleted(format_ts(key)))
                }
                _ => gone(),
            };
        }
        let content = match content(args, true) {
            Ok(content) => content,
            Err(error) => {
                let code = error.code().to_owned();
                return (
                    error.answer(StatusCode::BAD_REQUEST),
                    PostOutcome::Refused(code),
                );
            }
        };
        if flag(args, "replace_original") {
            match original {
                Some((key, false)) => {
                    let edited = format_ts(self.next_ts(wall));
                    if let Some(message) = self.messages.get_mut(&key) {
                        // A replacement is a whole new message body.
                        message.replace(content, false, edited);
                    }
                    return (Answer::ok(json!({})), PostOutcome::Replaced(format_ts(key)));
                }
                Some((_, true)) => return gone(),
                // Nothing to replace yet (a command answered with an empty ack): post anew.
                None => {}
            }
        }
        let in_channel = arg(args, "response_type").as_deref() == Some("in_channel");
        let key = self.store_message(
            &hook.channel,
            &config.bot_user_id,
            Some(&config.bot_id),
            content,
            (!in_channel).then_some(hook.user.as_str()),
            arg(args, "thread_ts"),
            Origin::ResponseUrl,
            wall,
        );
        if hook.kind == HookKind::Commands {
            if let Some(hook) = self.hooks.get_mut(hook_id) {
                hook.original = Some(key);
            }
        }
        (Answer::ok(json!({})), PostOutcome::Created(format_ts(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_round_trips_and_refuses_other_shapes() {
        assert_eq!(format_ts(1_700_000_300_000_400), "1700000300.000400");
        assert_eq!(parse_ts("1700000300.000400"), Some(1_700_000_300_000_400));
        for bad in [
            "1700000300",
            "1700000300.4",
            "x.000400",
            ".000400",
            "1.0000001",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_increase_even_within_one_microsecond() {
        let mut state = State::default();
        let now = Utc::now();
        let first = state.next_ts(now);
        let second = state.next_ts(now);
        assert!(second > first);
    }

    #[test]
    fn content_needs_text_or_blocks_and_reads_form_encoded_blocks() {
        let empty = Map::new();
        assert!(matches!(content(&empty, true), Err(ContentError::NoText)));
        let mut form = Map::new();
        form.insert(
            "blocks".into(),
            json!(r#"[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]"#),
        );
        let read = content(&form, true).ok().unwrap();
        assert_eq!(read.blocks.unwrap()[0]["text"]["text"], "hi");
        form.insert("blocks".into(), json!("not json"));
        assert!(matches!(
            content(&form, true),
            Err(ContentError::BlocksFormat)
        ));
        let mut long = Map::new();
        long.insert("text".into(), json!("x".repeat(MAX_TEXT_CHARS + 1)));
        assert!(matches!(content(&long, true), Err(ContentError::TooLong)));
    }
}
