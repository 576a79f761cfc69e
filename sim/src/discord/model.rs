//! Users, ids, and messages as Discord renders them.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds, the base of snowflake ids.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// Message flag `EPHEMERAL` (1 << 6): shown to the interaction's user only.
pub const EPHEMERAL: u64 = 1 << 6;
/// Message flag `LOADING` (1 << 7): a deferred response still "thinking".
pub const LOADING: u64 = 1 << 7;
/// Message flag `SUPPRESS_EMBEDS` (1 << 2).
pub const SUPPRESS_EMBEDS: u64 = 1 << 2;
/// Message flag `SUPPRESS_NOTIFICATIONS` (1 << 12).
pub const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;

/// Permission bits a member has by default in the fake: `VIEW_CHANNEL`, `SEND_MESSAGES`,
/// `EMBED_LINKS`, `READ_MESSAGE_HISTORY`, `USE_APPLICATION_COMMANDS`.
pub const DEFAULT_MEMBER_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31);
/// Permission bit `ADMINISTRATOR`.
pub const ADMINISTRATOR: u64 = 1 << 3;

/// A Discord user (an invoker, or the bot itself).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeUser {
    /// The user id (snowflake).
    pub id: u64,
    /// The unique username.
    pub username: String,
    /// The display name, if set.
    pub global_name: Option<String>,
    /// Whether this is a bot account.
    pub bot: bool,
    /// The member's effective permissions in the channel of an interaction (sent as
    /// `member.permissions`).
    pub permissions: u64,
}

impl FakeUser {
    /// A human user with [`DEFAULT_MEMBER_PERMISSIONS`].
    pub fn new(id: u64, username: impl Into<String>) -> Self {
        Self {
            id,
            username: username.into(),
            global_name: None,
            bot: false,
            permissions: DEFAULT_MEMBER_PERMISSIONS,
        }
    }

    /// A bot account.
    pub fn bot(id: u64, username: impl Into<String>) -> Self {
        Self {
            bot: true,
            ..Self::new(id, username)
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn global_name(mut self, name: impl Into<String>) -> Self {
        self.global_name = Some(name.into());
        self
    }

    /// Sets the member's permission bits.
    #[must_use]
    pub fn permissions(mut self, bits: u64) -> Self {
        self.permissions = bits;
        self
    }

    /// The user object as Discord sends it.
    pub fn json(&self) -> Value {
        let mut user = json!({
            "id": self.id.to_string(),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": null,
            "public_flags": 0,
            "flags": 0,
            "banner": null,
            "accent_color": null,
            "avatar_decoration_data": null,
        });
        if self.bot {
            user["bot"] = Value::Bool(true);
        }
        user
    }

    /// The current-user object (`GET /users/@me`, READY's `user`).
    pub(crate) fn current_user_json(&self) -> Value {
        let mut user = self.json();
        user["verified"] = Value::Bool(true);
        user["mfa_enabled"] = Value::Bool(false);
        user["email"] = Value::Null;
        user["locale"] = json!("en-US");
        user["premium_type"] = json!(0);
        user
    }

    /// The guild member object sent in interactions.
    pub(crate) fn member_json(&self, roles: &[u64]) -> Value {
        json!({
            "user": self.json(),
            "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "permissions": self.permissions.to_string(),
            "nick": null,
            "avatar": null,
            "banner": null,
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
            "unusual_dm_activity_until": null,
        })
    }
}

/// Strictly increasing snowflakes: Discord's layout (milliseconds since its epoch, shifted
/// left 22 bits), bumped by one when two are made in the same millisecond.
#[derive(Debug, Default)]
pub(crate) struct Snowflakes {
    last: u64,
}

impl Snowflakes {
    pub(crate) fn next(&mut self) -> u64 {
        let millis = Utc::now().timestamp_millis() - DISCORD_EPOCH_MS;
        let base = u64::try_from(millis).unwrap_or(0) << 22;
        self.last = base.max(self.last + 1);
        self.last
    }
}

/// Discord's timestamp format, e.g. `2024-01-01T00:00:00.000000+00:00`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// A message as the fake stores it.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub(crate) id: u64,
    pub(crate) channel_id: u64,
    pub(crate) guild_id: Option<u64>,
    pub(crate) content: String,
    pub(crate) embeds: Vec<Value>,
    pub(crate) components: Vec<Value>,
    pub(crate) flags: u64,
    pub(crate) created: DateTime<Utc>,
    pub(crate) edited: Option<DateTime<Utc>>,
    pub(crate) edits: u32,
    /// The interaction whose token created it (original response or follow-up).
    pub(crate) interaction_id: Option<u64>,
    /// For ephemeral messages, the only user who sees it.
    pub(crate) visible_to: Option<u64>,
    /// Discord's message type (0 default, 20 chat input command).
    pub(crate) kind: u8,
    /// `interaction_metadata`, for messages created by an interaction.
    pub(crate) interaction_metadata: Option<Value>,
}

impl StoredMessage {
    /// The message object as Discord renders it, authored by the bot.
    pub(crate) fn json(&self, bot: &FakeUser, application_id: u64) -> Value {
        let mut message = json!({
            "id": self.id.to_string(),
            "channel_id": self.channel_id.to_string(),
            "author": bot.json(),
            "content": self.content,
            "timestamp": timestamp(self.created),
            "edited_timestamp": self.edited.map(timestamp),
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": false,
            "type": self.kind,
            "flags": self.flags,
        });
        if let Some(guild_id) = self.guild_id {
            message["guild_id"] = json!(guild_id.to_string());
        }
        if self.interaction_id.is_some() {
            message["webhook_id"] = json!(application_id.to_string());
            message["application_id"] = json!(application_id.to_string());
        }
        if let Some(metadata) = &self.interaction_metadata {
            message["interaction_metadata"] = metadata.clone();
        }
        message
    }

    pub(crate) fn view(&self, bot: &FakeUser, application_id: u64) -> MessageView {
        MessageView {
            id: self.id,
            channel_id: self.channel_id,
            guild_id: self.guild_id,
            content: self.content.clone(),
            embeds: self.embeds.clone(),
            components: self.components.clone(),
            flags: self.flags,
            interaction_id: self.interaction_id,
            visible_to: self.visible_to,
            edits: self.edits,
            json: self.json(bot, application_id),
        }
    }

    /// Whether the message shows anything (content, an embed or a component).
    pub(crate) fn has_body(&self) -> bool {
        !self.content.is_empty() || !self.embeds.is_empty() || !self.components.is_empty()
    }
}

/// A message as a Discord user would see it, at the time it was read from the fake.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessageView {
    /// The message id.
    pub id: u64,
    /// The channel it is in.
    pub channel_id: u64,
    /// The guild of that channel, if any.
    pub guild_id: Option<u64>,
    /// The text content.
    pub content: String,
    /// The embeds, as JSON objects.
    pub embeds: Vec<Value>,
    /// The component rows, as JSON objects.
    pub components: Vec<Value>,
    /// The message flags ([`EPHEMERAL`], [`LOADING`], …).
    pub flags: u64,
    /// The interaction whose token created it, for original responses and follow-ups.
    pub interaction_id: Option<u64>,
    /// For an ephemeral message, the only user who sees it.
    pub visible_to: Option<u64>,
    /// How many times it was edited.
    pub edits: u32,
    json: Value,
}

impl MessageView {
    /// Whether only the interaction's user sees it.
    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }

    /// Whether it is a deferred response still showing "… is thinking".
    pub fn is_loading(&self) -> bool {
        self.flags & LOADING != 0
    }

    /// The full message object as Discord's API returns it.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Every button in the component rows, in order.
    pub fn buttons(&self) -> Vec<ButtonView> {
        self.components
            .iter()
            .filter_map(|row| row.get("components").and_then(Value::as_array))
            .flatten()
            .filter(|component| component.get("type").and_then(Value::as_u64) == Some(2))
            .map(ButtonView::from_json)
            .collect()
    }

    /// The button with this `custom_id`.
    pub fn button(&self, custom_id: &str) -> Option<ButtonView> {
        self.buttons()
            .into_iter()
            .find(|button| button.custom_id.as_deref() == Some(custom_id))
    }

    /// Every piece of text a user would read: content, embed titles, descriptions, field names
    /// and values, footers, authors, and component labels and placeholders, one per line.
    pub fn visible_text(&self) -> String {
        let mut lines = vec![self.content.clone()];
        for embed in &self.embeds {
            for pointer in ["/title", "/description", "/footer/text", "/author/name"] {
                if let Some(text) = embed.pointer(pointer).and_then(Value::as_str) {
                    lines.push(text.to_owned());
                }
            }
            for field in embed
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for key in ["name", "value"] {
                    if let Some(text) = field.get(key).and_then(Value::as_str) {
                        lines.push(text.to_owned());
                    }
                }
            }
        }
        for component in self
            .components
            .iter()
            .filter_map(|row| row.get("components").and_then(Value::as_array))
            .flatten()
        {
            for key in ["label", "placeholder"] {
                if let Some(text) = component.get(key).and_then(Value::as_str) {
                    lines.push(text.to_owned());
                }
            }
        }
        lines.retain(|line| !line.is_empty());
        lines.join("\n")
    }
}

/// One button of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ButtonView {
    /// The `custom_id` (absent for link buttons).
    pub custom_id: Option<String>,
    /// The label.
    pub label: Option<String>,
    /// The style: 1 primary, 2 secondary, 3 success, 4 danger, 5 link, 6 premium.
    pub style: u8,
    /// Whether it is greyed out.
    pub disabled: bool,
}

impl ButtonView {
    fn from_json(button: &Value) -> Self {
        let text = |key: &str| button.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            custom_id: text("custom_id"),
            label: text("label"),
            style: button
                .get("style")
                .and_then(Value::as_u64)
                .and_then(|style| u8::try_from(style).ok())
                .unwrap_or(0),
            disabled: button
                .get("disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_increase_strictly_and_carry_the_time() {
        let mut ids = Snowflakes::default();
        let first = ids.next();
        let second = ids.next();
        assert!(second > first);
        let millis = i64::try_from(first >> 22).unwrap() + DISCORD_EPOCH_MS;
        assert!((Utc::now().timestamp_millis() - millis).abs() < 60_000);
    }

    #[test]
    fn visible_text_collects_what_a_reader_sees() {
        let message = StoredMessage {
            id: 1,
            channel_id: 2,
            guild_id: None,
            content: "hello".into(),
            embeds: vec![json!({
                "title": "Title",
                "fields": [{"name": "Who", "value": "jdoe"}],
                "footer": {"text": "foot"}
            })],
            components: vec![json!({
                "type": 1,
                "components": [{"type": 2, "style": 4, "label": "Confirm", "custom_id": "c"}]
            })],
            flags: EPHEMERAL,
            created: Utc::now(),
            edited: None,
            edits: 0,
            interaction_id: None,
            visible_to: Some(9),
            kind: 0,
            interaction_metadata: None,
        };
        let view = message.view(&FakeUser::bot(3, "bot"), 4);
        assert_eq!(
            view.visible_text(),
            "hello\nTitle\nfoot\nWho\njdoe\nConfirm"
        );
        assert!(view.is_ephemeral());
        let button = view.button("c").unwrap();
        assert_eq!(button.style, 4);
        assert!(!button.disabled);
    }
}
