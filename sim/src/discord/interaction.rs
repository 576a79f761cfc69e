//! Interactions as Discord sends them, their callbacks, and Ed25519-signed deliveries.

use std::collections::BTreeMap;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value, json};

use super::model::FakeUser;

/// The interaction types the fake builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InteractionKind {
    /// `PING` (1): HTTP endpoint only.
    Ping,
    /// `APPLICATION_COMMAND` (2).
    Command,
    /// `MESSAGE_COMPONENT` (3).
    Component,
    /// `APPLICATION_COMMAND_AUTOCOMPLETE` (4): an option with `autocomplete` being typed.
    Autocomplete,
    /// `MODAL_SUBMIT` (5).
    ModalSubmit,
}

impl InteractionKind {
    /// Discord's numeric `type`.
    pub fn code(self) -> u8 {
        match self {
            InteractionKind::Ping => 1,
            InteractionKind::Command => 2,
            InteractionKind::Component => 3,
            InteractionKind::Autocomplete => 4,
            InteractionKind::ModalSubmit => 5,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            InteractionKind::Ping => "PING",
            InteractionKind::Command => "APPLICATION_COMMAND",
            InteractionKind::Component => "MESSAGE_COMPONENT",
            InteractionKind::Autocomplete => "APPLICATION_COMMAND_AUTOCOMPLETE",
            InteractionKind::ModalSubmit => "MODAL_SUBMIT",
        }
    }
}

/// An interaction the fake created ("a user just clicked"), ready to deliver over the gateway
/// ([`DiscordFake::dispatch`](super::DiscordFake::dispatch)) or to an HTTP endpoint
/// ([`DiscordFake::sign`](super::DiscordFake::sign),
/// [`DiscordFake::deliver_http`](super::DiscordFake::deliver_http)). Its 3-second answer
/// window and 15-minute token lifetime count from its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionHandle {
    pub(crate) id: u64,
    pub(crate) token: String,
    pub(crate) kind: InteractionKind,
    pub(crate) guild_id: Option<u64>,
    pub(crate) body: Vec<u8>,
}

impl InteractionHandle {
    /// The interaction id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The interaction token (for callback and webhook routes).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The interaction type.
    pub fn kind(&self) -> InteractionKind {
        self.kind
    }

    /// The exact JSON bytes Discord would send (what a signature covers).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The interaction object as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One option of a slash command invocation, with Discord's option types.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOption {
    name: String,
    value: OptionValue,
}

#[derive(Debug, Clone, PartialEq)]
enum OptionValue {
    SubCommand(Vec<CommandOption>),
    SubCommandGroup(Vec<CommandOption>),
    String(String),
    /// The option being typed in an autocomplete interaction: a partial value, `focused`.
    Focused(String),
    Integer(i64),
    Boolean(bool),
    User(FakeUser),
    Channel(u64),
    Role(u64),
    Number(f64),
}

impl CommandOption {
    /// A `SUB_COMMAND` (type 1) wrapping its own options.
    pub fn sub_command(name: impl Into<String>, options: Vec<CommandOption>) -> Self {
        Self::new(name, OptionValue::SubCommand(options))
    }

    /// A `SUB_COMMAND_GROUP` (type 2) wrapping one subcommand.
    pub fn sub_command_group(name: impl Into<String>, sub_command: CommandOption) -> Self {
        Self::new(name, OptionValue::SubCommandGroup(vec![sub_command]))
    }

    /// A `STRING` (type 3).
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, OptionValue::String(value.into()))
    }

    /// The `STRING` option (type 3) being typed, for
    /// [`DiscordFake::autocomplete`](super::DiscordFake::autocomplete): its partial value with
    /// `"focused": true`.
    pub fn focused(name: impl Into<String>, partial: impl Into<String>) -> Self {
        Self::new(name, OptionValue::Focused(partial.into()))
    }

    /// An `INTEGER` (type 4).
    pub fn integer(name: impl Into<String>, value: i64) -> Self {
        Self::new(name, OptionValue::Integer(value))
    }

    /// A `BOOLEAN` (type 5).
    pub fn boolean(name: impl Into<String>, value: bool) -> Self {
        Self::new(name, OptionValue::Boolean(value))
    }

    /// A `USER` (type 6); the user (and, in a guild, a member) appears in `data.resolved`.
    pub fn user(name: impl Into<String>, user: &FakeUser) -> Self {
        Self::new(name, OptionValue::User(user.clone()))
    }

    /// A `CHANNEL` (type 7), resolved as a text channel.
    pub fn channel(name: impl Into<String>, channel_id: u64) -> Self {
        Self::new(name, OptionValue::Channel(channel_id))
    }

    /// A `ROLE` (type 8), resolved as a role named `role-<id>`.
    pub fn role(name: impl Into<String>, role_id: u64) -> Self {
        Self::new(name, OptionValue::Role(role_id))
    }

    /// A `NUMBER` (type 10).
    pub fn number(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, OptionValue::Number(value))
    }

    fn new(name: impl Into<String>, value: OptionValue) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }

    fn json(&self, resolved: &mut Resolved) -> Value {
        let (kind, value) = match &self.value {
            OptionValue::SubCommand(options) | OptionValue::SubCommandGroup(options) => {
                let kind = if matches!(self.value, OptionValue::SubCommand(_)) {
                    1
                } else {
                    2
                };
                let options: Vec<Value> = options.iter().map(|o| o.json(resolved)).collect();
                return json!({ "name": self.name, "type": kind, "options": options });
            }
            OptionValue::String(value) => (3, json!(value)),
            OptionValue::Focused(value) => {
                return json!({ "name": self.name, "type": 3, "value": value, "focused": true });
            }
            OptionValue::Integer(value) => (4, json!(value)),
            OptionValue::Boolean(value) => (5, json!(value)),
            OptionValue::User(user) => {
                resolved.users.insert(user.id, user.clone());
                (6, json!(user.id.to_string()))
            }
            OptionValue::Channel(id) => {
                resolved.channels.push(*id);
                (7, json!(id.to_string()))
            }
            OptionValue::Role(id) => {
                resolved.roles.push(*id);
                (8, json!(id.to_string()))
            }
            OptionValue::Number(value) => (10, json!(value)),
        };
        json!({ "name": self.name, "type": kind, "value": value })
    }
}

#[derive(Default)]
struct Resolved {
    users: BTreeMap<u64, FakeUser>,
    channels: Vec<u64>,
    roles: Vec<u64>,
}

impl Resolved {
    fn json(&self, guild_id: Option<u64>) -> Option<Value> {
        if self.users.is_empty() && self.channels.is_empty() && self.roles.is_empty() {
            return None;
        }
        let mut resolved = Map::new();
        if !self.users.is_empty() {
            let users: Map<String, Value> = self
                .users
                .values()
                .map(|user| (user.id.to_string(), user.json()))
                .collect();
            resolved.insert("users".into(), Value::Object(users));
            if guild_id.is_some() {
                let members: Map<String, Value> = self
                    .users
                    .values()
                    .map(|user| {
                        let mut member = user.member_json(&[]);
                        if let Some(map) = member.as_object_mut() {
                            map.remove("user");
                        }
                        (user.id.to_string(), member)
                    })
                    .collect();
                resolved.insert("members".into(), Value::Object(members));
            }
        }
        if !self.channels.is_empty() {
            let channels: Map<String, Value> = self
                .channels
                .iter()
                .map(|id| (id.to_string(), channel_json(*id, guild_id, None)))
                .collect();
            resolved.insert("channels".into(), Value::Object(channels));
        }
        if !self.roles.is_empty() {
            let roles: Map<String, Value> = self
                .roles
                .iter()
                .map(|id| (id.to_string(), role_json(*id)))
                .collect();
            resolved.insert("roles".into(), Value::Object(roles));
        }
        Some(Value::Object(resolved))
    }
}

fn role_json(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "name": format!("role-{id}"),
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": 1,
        "permissions": "0",
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// A partial channel: a guild text channel (type 0) or a DM (type 1).
fn channel_json(id: u64, guild_id: Option<u64>, permissions: Option<u64>) -> Value {
    let mut channel = json!({
        "id": id.to_string(),
        "type": if guild_id.is_some() { 0 } else { 1 },
        "name": format!("channel-{id}"),
        "parent_id": null,
        "flags": 0,
    });
    if let Some(guild_id) = guild_id {
        channel["guild_id"] = json!(guild_id.to_string());
    }
    if let Some(permissions) = permissions {
        channel["permissions"] = json!(permissions.to_string());
    }
    channel
}

/// Who, where: the parts every non-PING interaction shares.
pub(crate) struct Invocation<'a> {
    pub(crate) id: u64,
    pub(crate) token: &'a str,
    pub(crate) application_id: u64,
    pub(crate) user: &'a FakeUser,
    pub(crate) roles: &'a [u64],
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: u64,
    pub(crate) app_permissions: u64,
}

impl Invocation<'_> {
    /// The interaction object without `data` (and `message`).
    pub(crate) fn base(&self, kind: InteractionKind) -> Map<String, Value> {
        let mut base = json!({
            "id": self.id.to_string(),
            "application_id": self.application_id.to_string(),
            "type": kind.code(),
            "token": self.token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
            "app_permissions": self.app_permissions.to_string(),
            "channel_id": self.channel_id.to_string(),
            "channel": channel_json(self.channel_id, self.guild_id, Some(self.user.permissions)),
            "authorizing_integration_owners": {
                "0": self.guild_id.unwrap_or(0).to_string()
            },
        });
        match self.guild_id {
            Some(guild_id) => {
                base["guild_id"] = json!(guild_id.to_string());
                base["guild_locale"] = json!("en-US");
                base["guild"] =
                    json!({"id": guild_id.to_string(), "locale": "en-US", "features": []});
                base["member"] = self.user.member_json(self.roles);
                base["context"] = json!(0);
            }
            None => {
                base["user"] = self.user.json();
                base["context"] = json!(1);
            }
        }
        match base {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// `data` of a chat-input command: `id`, `name`, `type` 1, `options`, `resolved`, and
    /// `guild_id` for a guild-registered command.
    pub(crate) fn command_data(
        &self,
        command_id: u64,
        command_guild: Option<u64>,
        name: &str,
        options: &[CommandOption],
    ) -> Value {
        let mut resolved = Resolved::default();
        let options: Vec<Value> = options.iter().map(|o| o.json(&mut resolved)).collect();
        let mut data = json!({
            "id": command_id.to_string(),
            "name": name,
            "type": 1,
            "options": options,
        });
        if let Some(resolved) = resolved.json(self.guild_id) {
            data["resolved"] = resolved;
        }
        if let Some(guild_id) = command_guild {
            data["guild_id"] = json!(guild_id.to_string());
        }
        data
    }
}

/// The PING interaction object.
pub(crate) fn ping_json(id: u64, token: &str, application_id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": application_id.to_string(),
        "type": 1,
        "token": token,
        "version": 1,
    })
}

/// How a callback reached the fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackVia {
    /// `POST /interactions/{id}/{token}/callback`.
    Rest,
    /// The JSON body of a `200` answer to an HTTP interactions delivery.
    HttpResponse,
}

/// What the fake did with a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackOutcome {
    /// Accepted: the user sees its effect.
    Accepted,
    /// Refused with `10062 Unknown interaction`: the token did not match.
    UnknownInteraction,
    /// Refused with `10062 Unknown interaction`: it came after the 3-second window.
    Expired,
    /// Refused with `40060`: the interaction was already acknowledged.
    AlreadyAcknowledged,
    /// Refused with another error (status and Discord code), e.g. `50035` for a callback type
    /// the interaction does not allow or a payload over Discord's limits.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Discord's JSON error code.
        code: u64,
    },
}

/// One callback the bot made for an interaction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CallbackView {
    /// The interaction it answers.
    pub interaction_id: u64,
    /// The callback type: 1 pong, 4 message, 5 deferred message, 6 deferred update, 7 update
    /// message, 8 autocomplete result, 9 modal (0 if the body had none).
    pub kind: u8,
    /// The callback's `data`, if any.
    pub data: Option<Value>,
    /// Accepted or why not.
    pub outcome: CallbackOutcome,
    /// How it arrived.
    pub via: CallbackVia,
    /// Time since the interaction was created.
    pub after: Duration,
}

impl CallbackView {
    /// The `(name, value)` of each choice of an autocomplete result (type 8), in order; empty
    /// for other callbacks.
    pub fn choices(&self) -> Vec<(String, Value)> {
        self.data
            .as_ref()
            .and_then(|data| data.get("choices"))
            .and_then(Value::as_array)
            .map(|choices| {
                choices
                    .iter()
                    .map(|choice| {
                        let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
                        let value = choice.get("value").cloned().unwrap_or(Value::Null);
                        (name.to_owned(), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the callback's message data has the `EPHEMERAL` flag.
    pub fn is_ephemeral(&self) -> bool {
        self.data
            .as_ref()
            .and_then(|data| data.get("flags"))
            .and_then(Value::as_u64)
            .is_some_and(|flags| flags & super::model::EPHEMERAL != 0)
    }
}

/// An interaction as Discord's HTTP delivery sends it: the raw body, and the
/// `X-Signature-Ed25519` / `X-Signature-Timestamp` header values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedRequest {
    /// The raw JSON body.
    pub body: Vec<u8>,
    /// `X-Signature-Ed25519`: the hex Ed25519 signature of `timestamp ++ body`.
    pub signature_hex: String,
    /// `X-Signature-Timestamp`: Unix seconds, as a string.
    pub timestamp: String,
}

impl SignedRequest {
    /// The headers Discord sends with it (content type and both signature headers).
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("content-type", "application/json".to_owned()),
            ("x-signature-ed25519", self.signature_hex.clone()),
            ("x-signature-timestamp", self.timestamp.clone()),
        ]
    }
}

/// Signs `timestamp ++ body` as Discord does.
pub(crate) fn sign(key: &SigningKey, timestamp: String, body: Vec<u8>) -> SignedRequest {
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(&body);
    let signature = key.sign(&message);
    SignedRequest {
        body,
        signature_hex: hex::encode(signature.to_bytes()),
        timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_nest_under_subcommands_and_fill_resolved() {
        let bob = FakeUser::new(8, "bob");
        let invocation = Invocation {
            id: 1,
            token: "t",
            application_id: 2,
            user: &FakeUser::new(5, "alice"),
            roles: &[6],
            guild_id: Some(3),
            channel_id: 4,
            app_permissions: 0,
        };
        let data = invocation.command_data(
            7,
            Some(3),
            "reset-email",
            &[CommandOption::sub_command(
                "user",
                vec![
                    CommandOption::user("target", &bob),
                    CommandOption::integer("days", 3),
                    CommandOption::role("role", 11),
                ],
            )],
        );
        assert_eq!(data["options"][0]["type"], 1);
        assert_eq!(data["options"][0]["options"][0]["value"], "8");
        assert_eq!(data["options"][0]["options"][1]["value"], 3);
        assert_eq!(data["resolved"]["users"]["8"]["username"], "bob");
        assert!(data["resolved"]["members"]["8"].get("user").is_none());
        assert_eq!(data["resolved"]["roles"]["11"]["name"], "role-11");
        assert_eq!(data["guild_id"], "3");
    }

    #[test]
    fn a_focused_option_carries_its_partial_value_and_the_flag() {
        let invocation = Invocation {
            id: 1,
            token: "t",
            application_id: 2,
            user: &FakeUser::new(5, "alice"),
            roles: &[6],
            guild_id: Some(3),
            channel_id: 4,
            app_permissions: 0,
        };
        let data = invocation.command_data(
            7,
            None,
            "reset",
            &[CommandOption::sub_command(
                "user",
                vec![CommandOption::focused("user", "jcu")],
            )],
        );
        let typed = &data["options"][0]["options"][0];
        assert_eq!(typed["type"], 3);
        assert_eq!(typed["value"], "jcu");
        assert_eq!(typed["focused"], true);
        assert!(data.get("resolved").is_none());
    }

    #[test]
    fn a_signature_covers_timestamp_then_body() {
        use ed25519_dalek::{Signature, Verifier};
        let key = SigningKey::from_bytes(&[7; 32]);
        let signed = sign(&key, "1700000000".into(), br#"{"type":1}"#.to_vec());
        let bytes: [u8; 64] = hex::decode(&signed.signature_hex)
            .unwrap()
            .try_into()
            .unwrap();
        let signature = Signature::from_bytes(&bytes);
        let verifying = key.verifying_key();
        assert!(
            verifying
                .verify(b"1700000000{\"type\":1}", &signature)
                .is_ok()
        );
        assert!(
            verifying
                .verify(b"1700000001{\"type\":1}", &signature)
                .is_err()
        );
    }
}
