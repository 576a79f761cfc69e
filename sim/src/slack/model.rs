//! The people, places and messages of the fake workspace, and how tests see them.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// A Slack user as the fake knows them (`users.info`, payloads, user groups).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeUser {
    /// `U…` (or `W…` on Enterprise Grid).
    pub id: String,
    /// The (deprecated, renamable) handle: `user_name` in commands, `username` in payloads.
    pub name: String,
    /// The display name shown in `users.info`'s profile.
    pub real_name: String,
    /// The workspace; `None` means the fake's primary team.
    pub team_id: Option<String>,
    /// The profile e-mail, if any.
    pub email: Option<String>,
    /// A deactivated account.
    pub deleted: bool,
    /// A bot user.
    pub is_bot: bool,
    /// A workspace admin.
    pub is_admin: bool,
    /// A workspace owner.
    pub is_owner: bool,
    /// A multi-channel guest.
    pub is_restricted: bool,
    /// A single-channel guest.
    pub is_ultra_restricted: bool,
}

impl FakeUser {
    /// A regular, active member of the primary team.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            id: id.into(),
            real_name: name.clone(),
            name,
            team_id: None,
            email: None,
            deleted: false,
            is_bot: false,
            is_admin: false,
            is_owner: false,
            is_restricted: false,
            is_ultra_restricted: false,
        }
    }

    /// In another workspace of the app.
    #[must_use]
    pub fn team(mut self, team_id: impl Into<String>) -> Self {
        self.team_id = Some(team_id.into());
        self
    }

    /// With a display name.
    #[must_use]
    pub fn real_name(mut self, real_name: impl Into<String>) -> Self {
        self.real_name = real_name.into();
        self
    }

    /// With a profile e-mail.
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Deactivated.
    #[must_use]
    pub fn deleted(mut self) -> Self {
        self.deleted = true;
        self
    }

    /// A bot user.
    #[must_use]
    pub fn bot(mut self) -> Self {
        self.is_bot = true;
        self
    }

    /// A workspace admin.
    #[must_use]
    pub fn admin(mut self) -> Self {
        self.is_admin = true;
        self
    }

    /// A multi-channel guest (`is_restricted`).
    #[must_use]
    pub fn guest(mut self) -> Self {
        self.is_restricted = true;
        self
    }

    /// A single-channel guest (`is_ultra_restricted`).
    #[must_use]
    pub fn single_channel_guest(mut self) -> Self {
        self.is_ultra_restricted = true;
        self
    }

    pub(crate) fn team_or<'a>(&'a self, primary: &'a str) -> &'a str {
        self.team_id.as_deref().unwrap_or(primary)
    }

    /// The `user` object of `users.info`.
    pub(crate) fn info_json(&self, team_id: &str) -> Value {
        let mut profile = json!({
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "team": team_id,
        });
        if let Some(email) = &self.email {
            profile["email"] = json!(email);
        }
        json!({
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": false,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "is_bot": self.is_bot,
            "is_app_user": false,
            "tz": "Europe/Paris",
            "profile": profile,
        })
    }

    /// The `user` object of interaction payloads.
    pub(crate) fn payload_json(&self, team_id: &str) -> Value {
        json!({
            "id": self.id,
            "username": self.name,
            "name": self.name,
            "team_id": team_id,
        })
    }
}

/// A conversation: a public or private channel, or a DM with the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeChannel {
    /// `C…` (public), `C…`/`G…` (private), `D…` (DM).
    pub id: String,
    /// The name without `#` (`directmessage` for a DM, as in payloads).
    pub name: String,
    /// A private channel.
    pub private: bool,
    /// A direct message between the bot and one user.
    pub im: bool,
    /// Archived: posting answers `is_archived`.
    pub archived: bool,
    /// The workspace; `None` means the primary team.
    pub team_id: Option<String>,
    /// Whether the bot is a member (else posting answers `not_in_channel`).
    pub bot_member: bool,
    /// The human members; `None` means every user of the workspace.
    pub members: Option<BTreeSet<String>>,
}

impl FakeChannel {
    /// A public channel every user is in, with the bot invited.
    pub fn public(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            private: false,
            im: false,
            archived: false,
            team_id: None,
            bot_member: true,
            members: None,
        }
    }

    /// A private channel with the bot invited; set its members with [`members`](Self::members).
    pub fn private(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            private: true,
            members: Some(BTreeSet::new()),
            ..Self::public(id, name)
        }
    }

    /// The DM between the bot and `user_id`.
    pub fn dm(id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            im: true,
            private: true,
            members: Some(BTreeSet::from([user_id.into()])),
            ..Self::public(id, "directmessage")
        }
    }

    /// Exactly these human members.
    #[must_use]
    pub fn members<I, S>(mut self, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.members = Some(members.into_iter().map(Into::into).collect());
        self
    }

    /// The bot was never invited.
    #[must_use]
    pub fn without_bot(mut self) -> Self {
        self.bot_member = false;
        self
    }

    /// Archived.
    #[must_use]
    pub fn archived(mut self) -> Self {
        self.archived = true;
        self
    }

    /// In another workspace of the app.
    #[must_use]
    pub fn team(mut self, team_id: impl Into<String>) -> Self {
        self.team_id = Some(team_id.into());
        self
    }

    pub(crate) fn has_member(&self, user_id: &str) -> bool {
        self.members
            .as_ref()
            .is_none_or(|members| members.contains(user_id))
    }
}

/// How a message came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// `chat.postMessage`.
    PostMessage,
    /// `chat.postEphemeral`.
    PostEphemeral,
    /// A `response_url` post.
    ResponseUrl,
    /// The JSON body of the bot's answer to a slash command.
    CommandAck,
}

/// One earlier state of an edited message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessageVersion {
    /// The text then.
    pub text: String,
    /// The blocks then.
    pub blocks: Vec<Value>,
}

/// A message as a Slack user would see it, at the time it was read from the fake.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessageView {
    /// The conversation.
    pub channel_id: String,
    /// The message's `ts` (ephemeral messages have one too, as in `container.message_ts`).
    pub ts: String,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// The author (the bot user for anything the bot posted).
    pub user_id: String,
    /// The bot id for bot messages.
    pub bot_id: Option<String>,
    /// The `text` (the notification fallback when blocks are present).
    pub text: String,
    /// The blocks, with the `block_id`s and `action_id`s Slack fills in when missing.
    pub blocks: Vec<Value>,
    /// For an ephemeral message, the only user who sees it.
    pub ephemeral_to: Option<String>,
    /// How it was made.
    pub origin: Origin,
    /// How many times it was replaced or updated.
    pub edits: u32,
    /// Its earlier versions, oldest first.
    pub history: Vec<MessageVersion>,
    pub(crate) json: Value,
}

impl MessageView {
    /// Whether only one user sees it.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral_to.is_some()
    }

    /// The message object as Slack's API returns it (`chat.postMessage`'s `message`).
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Every button (in `actions` blocks and as section accessories), in order.
    pub fn buttons(&self) -> Vec<ButtonView> {
        buttons_in(&self.blocks)
    }

    /// The first button with this `action_id`.
    pub fn button(&self, action_id: &str) -> Option<ButtonView> {
        self.buttons()
            .into_iter()
            .find(|button| button.action_id == action_id)
    }

    /// What a reader sees: the block texts (section text and fields, headers, context,
    /// button labels, …) one per line, or `text` when there are no blocks.
    pub fn visible_text(&self) -> String {
        if self.blocks.is_empty() {
            return self.text.clone();
        }
        let mut lines = Vec::new();
        for block in &self.blocks {
            collect_texts(block, &mut lines);
        }
        lines.retain(|line| !line.is_empty());
        lines.join("\n")
    }
}

/// Every `text` of the text objects under `value`, skipping confirmation dialogs (only shown
/// after a press).
fn collect_texts(value: &Value, lines: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str);
            if matches!(kind, Some("plain_text" | "mrkdwn" | "text")) {
                if let Some(text) = map.get("text").and_then(Value::as_str) {
                    lines.push(text.to_owned());
                }
                return;
            }
            if kind == Some("markdown") {
                if let Some(text) = map.get("text").and_then(Value::as_str) {
                    lines.push(text.to_owned());
                }
                return;
            }
            for (key, inner) in map {
                if key != "confirm" {
                    collect_texts(inner, lines);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_texts(item, lines);
            }
        }
        _ => {}
    }
}

/// One button of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ButtonView {
    /// The `action_id`.
    pub action_id: String,
    /// The enclosing block's `block_id`.
    pub block_id: String,
    /// The label.
    pub text: String,
    /// The `value`, if any.
    pub value: Option<String>,
    /// `primary`, `danger`, or `None` for the default.
    pub style: Option<String>,
    /// A link button's URL.
    pub url: Option<String>,
    /// Whether pressing asks for confirmation first.
    pub has_confirm: bool,
    pub(crate) json: Value,
}

pub(crate) fn buttons_in(blocks: &[Value]) -> Vec<ButtonView> {
    let mut buttons = Vec::new();
    for block in blocks {
        let block_id = block
            .get("block_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let elements: Vec<&Value> = match block.get("type").and_then(Value::as_str) {
            Some("actions") => block
                .get("elements")
                .and_then(Value::as_array)
                .map(|elements| elements.iter().collect())
                .unwrap_or_default(),
            Some("section") => block.get("accessory").into_iter().collect(),
            _ => Vec::new(),
        };
        for element in elements {
            if element.get("type").and_then(Value::as_str) != Some("button") {
                continue;
            }
            let text = |key: &str| element.get(key).and_then(Value::as_str).map(str::to_owned);
            buttons.push(ButtonView {
                action_id: text("action_id").unwrap_or_default(),
                block_id: block_id.to_owned(),
                text: element
                    .pointer("/text/text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                value: text("value"),
                style: text("style"),
                url: text("url"),
                has_confirm: element.get("confirm").is_some(),
                json: element.clone(),
            });
        }
    }
    buttons
}

/// One input of an opened modal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputView {
    /// The input block's `block_id` (the key [`SlackFake::submit_view`](super::SlackFake::submit_view) takes).
    pub block_id: String,
    /// The element's `action_id`.
    pub action_id: String,
    /// The element type, e.g. `plain_text_input`.
    pub element_type: String,
    /// The label.
    pub label: String,
    /// Whether the client lets the user leave it empty.
    pub optional: bool,
    /// `min_length`, if set.
    pub min_length: Option<u64>,
    /// `max_length`, if set.
    pub max_length: Option<u64>,
}

pub(crate) fn inputs_in(blocks: &[Value]) -> Vec<InputView> {
    blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("input"))
        .map(|block| {
            let element = block.get("element").cloned().unwrap_or(Value::Null);
            let text = |value: &Value, pointer: &str| {
                value
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            InputView {
                block_id: text(block, "/block_id"),
                action_id: text(&element, "/action_id"),
                element_type: text(&element, "/type"),
                label: text(block, "/label/text"),
                optional: block
                    .get("optional")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                min_length: element.get("min_length").and_then(Value::as_u64),
                max_length: element.get("max_length").and_then(Value::as_u64),
            }
        })
        .collect()
}

/// A modal the bot opened, as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ViewInfo {
    /// `V…`.
    pub id: String,
    /// The workspace.
    pub team_id: String,
    /// The user it was opened for (the trigger's user).
    pub user_id: String,
    /// The `trigger_id` exchanged for it (`None` for a view pushed by a `response_action`).
    pub trigger_id: Option<String>,
    /// `callback_id`.
    pub callback_id: Option<String>,
    /// `private_metadata`.
    pub private_metadata: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// The current `hash` (changes with every update).
    pub hash: String,
    /// Whether the user still sees it.
    pub open: bool,
    /// The `errors` of the last `response_action: errors`, shown under the inputs.
    pub errors: Option<Value>,
    /// The view it was pushed on, if any.
    pub previous_view_id: Option<String>,
    /// How many times it was submitted.
    pub submissions: u32,
    pub(crate) json: Value,
}

impl ViewInfo {
    /// The view object as `views.open` returned it (updated by later changes).
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The title text.
    pub fn title(&self) -> String {
        self.json
            .pointer("/title/text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// Its input blocks.
    pub fn inputs(&self) -> Vec<InputView> {
        let blocks = self
            .json
            .get("blocks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        inputs_in(&blocks)
    }
}

/// What a `response_url` post did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PostOutcome {
    /// A new message (`ts`), ephemeral or in channel as `response_type` asked.
    Created(String),
    /// `replace_original`: the original message (`ts`) now shows the post.
    Replaced(String),
    /// `delete_original`: the original message (`ts`) is gone.
    Deleted(String),
    /// Refused: the URL is older than its lifetime (30 minutes).
    Expired,
    /// Refused: the URL was already used its 5 times.
    Exhausted,
    /// Refused with this error code (`no_text`, `invalid_blocks`, `invalid_payload`, …).
    Refused(String),
}

/// One POST the bot made to a `response_url`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResponseUrlPost {
    /// The `response_url`.
    pub url: String,
    /// The JSON body (`Null` if it was not JSON).
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// What it did.
    pub outcome: PostOutcome,
    /// Time since the URL was minted, on the fake's clock.
    pub after: std::time::Duration,
}

impl ResponseUrlPost {
    /// Whether Slack accepted it.
    pub fn accepted(&self) -> bool {
        matches!(
            self.outcome,
            PostOutcome::Created(_) | PostOutcome::Replaced(_) | PostOutcome::Deleted(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_reads_blocks_but_not_confirm_dialogs() {
        let blocks = vec![
            json!({"type": "section", "block_id": "a",
                   "text": {"type": "mrkdwn", "text": "*Plan*"}}),
            json!({"type": "actions", "block_id": "b", "elements": [
                {"type": "button", "action_id": "go", "value": "7",
                 "text": {"type": "plain_text", "text": "Send"},
                 "confirm": {"title": {"type": "plain_text", "text": "Sure?"}}}]}),
        ];
        let view = MessageView {
            channel_id: "C1".into(),
            ts: "1.000001".into(),
            thread_ts: None,
            user_id: "U1".into(),
            bot_id: None,
            text: "fallback".into(),
            blocks,
            ephemeral_to: None,
            origin: Origin::PostMessage,
            edits: 0,
            history: Vec::new(),
            json: Value::Null,
        };
        assert_eq!(view.visible_text(), "*Plan*\nSend");
        let button = view.button("go").unwrap();
        assert_eq!(button.block_id, "b");
        assert_eq!(button.value.as_deref(), Some("7"));
        assert!(button.has_confirm);
    }

    #[test]
    fn a_channel_without_a_member_list_has_everyone() {
        assert!(FakeChannel::public("C1", "x").has_member("U9"));
        assert!(!FakeChannel::private("G1", "x").has_member("U9"));
        assert!(FakeChannel::dm("D1", "U9").has_member("U9"));
    }
}
