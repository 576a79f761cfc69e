//! What the fake remembers (messages, interactions, commands) and the rules Discord applies
//! to callbacks, webhook edits and channel messages. No I/O here: handlers and the test API
//! call these with the time of the request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::error::{ApiError, FakeError, FormProblem};
use super::interaction::{
    CallbackOutcome, CallbackVia, CallbackView, CommandOption, InteractionHandle, InteractionKind,
    Invocation, ping_json,
};
use super::model::{
    EPHEMERAL, FakeUser, LOADING, MessageView, SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, Snowflakes,
    StoredMessage,
};
use super::validate::{self, MessagePatch};

/// The fixed settings of one fake.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) token: String,
    pub(crate) application_id: u64,
    pub(crate) bot: FakeUser,
    /// Guild → the channels the bot can see there.
    pub(crate) guilds: BTreeMap<u64, BTreeSet<u64>>,
    pub(crate) callback_window: Duration,
    pub(crate) token_lifetime: Duration,
    pub(crate) bot_permissions: u64,
}

impl Config {
    pub(crate) fn guild_of(&self, channel_id: u64) -> Option<u64> {
        self.guilds
            .iter()
            .find(|(_, channels)| channels.contains(&channel_id))
            .map(|(guild, _)| *guild)
    }
}

/// An interaction and everything done with it.
#[derive(Debug, Clone)]
pub(crate) struct Interaction {
    pub(crate) id: u64,
    pub(crate) token: String,
    pub(crate) kind: InteractionKind,
    pub(crate) created: Instant,
    pub(crate) user: FakeUser,
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: u64,
    pub(crate) name: Option<String>,
    /// The message a component sits on (for a modal submit: the opener's).
    pub(crate) source_message: Option<u64>,
    pub(crate) acknowledged: Option<u8>,
    pub(crate) original: Option<u64>,
    pub(crate) followups: Vec<u64>,
    pub(crate) callbacks: Vec<CallbackView>,
    /// The modal (callback type 9 `data`) this interaction opened.
    pub(crate) modal: Option<Value>,
}

/// Which message a webhook route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Original,
    Id(u64),
}

/// Everything mutable except the gateway and the request record.
#[derive(Debug, Default)]
pub(crate) struct State {
    ids: Snowflakes,
    pub(crate) messages: BTreeMap<u64, StoredMessage>,
    pub(crate) interactions: HashMap<u64, Interaction>,
    by_token: HashMap<String, u64>,
    /// Scope (`None` global, `Some(guild)`) → the registered command objects.
    pub(crate) commands: BTreeMap<Option<u64>, Vec<Value>>,
    command_ids: HashMap<(Option<u64>, u64, String), u64>,
}

fn new_token() -> String {
    let random: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    format!("aW50ZXJhY3Rpb24{random}")
}

fn invalid_type(kind: u8, interaction: InteractionKind) -> ApiError {
    ApiError::invalid_form_body(&[FormProblem::new(
        "type",
        "INTERACTION_RESPONSE_TYPE_INVALID",
        format!(
            "Interaction response type {kind} is not valid for a {} interaction",
            interaction.name()
        ),
    )])
}

impl State {
    fn register(
        &mut self,
        kind: InteractionKind,
        user: &FakeUser,
        guild_id: Option<u64>,
        channel_id: u64,
        now: Instant,
    ) -> Interaction {
        let id = self.ids.next();
        let token = new_token();
        Interaction {
            id,
            token,
            kind,
            created: now,
            user: user.clone(),
            guild_id,
            channel_id,
            name: None,
            source_message: None,
            acknowledged: None,
            original: None,
            followups: Vec::new(),
            callbacks: Vec::new(),
            modal: None,
        }
    }

    fn store(&mut self, interaction: Interaction, body: &Value) -> InteractionHandle {
        let handle = InteractionHandle {
            id: interaction.id,
            token: interaction.token.clone(),
            kind: interaction.kind,
            guild_id: interaction.guild_id,
            body: serde_json::to_vec(body).unwrap_or_default(),
        };
        self.by_token
            .insert(interaction.token.clone(), interaction.id);
        self.interactions.insert(interaction.id, interaction);
        handle
    }

    fn invocation<'a>(
        &self,
        config: &Config,
        interaction: &'a Interaction,
        roles: &'a [u64],
    ) -> Invocation<'a> {
        Invocation {
            id: interaction.id,
            token: &interaction.token,
            application_id: config.application_id,
            user: &interaction.user,
            roles,
            guild_id: interaction.guild_id,
            channel_id: interaction.channel_id,
            app_permissions: config.bot_permissions,
        }
    }

    /// A chat-input command invocation (`APPLICATION_COMMAND`).
    #[allow(clippy::too_many_arguments)] // mirrors the test API's (who, where, what)
    pub(crate) fn slash_command(
        &mut self,
        config: &Config,
        user: &FakeUser,
        roles: &[u64],
        guild_id: Option<u64>,
        channel_id: u64,
        name: &str,
        options: &[CommandOption],
        now: Instant,
    ) -> InteractionHandle {
        let place = (guild_id, channel_id);
        self.command_like(
            InteractionKind::Command,
            config,
            (user, roles),
            place,
            name,
            options,
            now,
        )
    }

    /// An option being typed (`APPLICATION_COMMAND_AUTOCOMPLETE`): the command's data with the
    /// focused option's partial value.
    #[allow(clippy::too_many_arguments)] // mirrors the test API's (who, where, what)
    pub(crate) fn autocomplete(
        &mut self,
        config: &Config,
        user: &FakeUser,
        roles: &[u64],
        guild_id: Option<u64>,
        channel_id: u64,
        name: &str,
        options: &[CommandOption],
        now: Instant,
    ) -> InteractionHandle {
        let place = (guild_id, channel_id);
        self.command_like(
            InteractionKind::Autocomplete,
            config,
            (user, roles),
            place,
            name,
            options,
            now,
        )
    }

    #[allow(clippy::too_many_arguments)] // (kind, who, where, what, when)
    fn command_like(
        &mut self,
        kind: InteractionKind,
        config: &Config,
        (user, roles): (&FakeUser, &[u64]),
        (guild_id, channel_id): (Option<u64>, u64),
        name: &str,
        options: &[CommandOption],
        now: Instant,
    ) -> InteractionHandle {
        let mut interaction = self.register(kind, user, guild_id, channel_id, now);
        interaction.name = Some(name.to_owned());
        let registered = self.registered_command_id(guild_id, name);
        let (command_id, command_guild) = match registered {
            Some(found) => found,
            None => (self.ids.next(), None),
        };
        let invocation = self.invocation(config, &interaction, roles);
        let mut body = invocation.base(kind);
        body.insert(
            "data".into(),
            invocation.command_data(command_id, command_guild, name, options),
        );
        self.store(interaction, &Value::Object(body))
    }

    fn registered_command_id(
        &self,
        guild_id: Option<u64>,
        name: &str,
    ) -> Option<(u64, Option<u64>)> {
        if let Some(guild) = guild_id {
            if let Some(id) = self.command_ids.get(&(Some(guild), 1, name.to_owned())) {
                return Some((*id, Some(guild)));
            }
        }
        self.command_ids
            .get(&(None, 1, name.to_owned()))
            .map(|id| (*id, None))
    }

    /// A button press on a message as the user saw it (`seen`), which must still exist.
    pub(crate) fn press_button(
        &mut self,
        config: &Config,
        user: &FakeUser,
        roles: &[u64],
        seen: &MessageView,
        custom_id: &str,
        now: Instant,
    ) -> Result<InteractionHandle, FakeError> {
        let Some(current) = self.messages.get(&seen.id) else {
            return Err(FakeError::UnknownMessage {
                message_id: seen.id,
            });
        };
        if current.visible_to.is_some_and(|owner| owner != user.id) {
            return Err(FakeError::NotVisible {
                user_id: user.id,
                message_id: seen.id,
            });
        }
        let pressable = seen
            .button(custom_id)
            .is_some_and(|button| !button.disabled && button.style != 5 && button.style != 6);
        if !pressable {
            return Err(FakeError::NoSuchButton {
                custom_id: custom_id.to_owned(),
            });
        }
        let message_json = current.json(&config.bot, config.application_id);
        let (guild_id, channel_id) = (current.guild_id, current.channel_id);
        let mut interaction =
            self.register(InteractionKind::Component, user, guild_id, channel_id, now);
        interaction.source_message = Some(seen.id);
        let mut body = self
            .invocation(config, &interaction, roles)
            .base(InteractionKind::Component);
        body.insert("message".into(), message_json);
        body.insert(
            "data".into(),
            json!({ "custom_id": custom_id, "component_type": 2 }),
        );
        Ok(self.store(interaction, &Value::Object(body)))
    }

    /// A modal submit for the latest modal with this `custom_id` opened for this user.
    pub(crate) fn submit_modal(
        &mut self,
        config: &Config,
        user: &FakeUser,
        roles: &[u64],
        custom_id: &str,
        fields: &[(&str, &str)],
        now: Instant,
    ) -> Result<InteractionHandle, FakeError> {
        let opener = self
            .interactions
            .values()
            .filter(|interaction| interaction.user.id == user.id)
            .filter_map(|interaction| {
                let modal = interaction.modal.as_ref()?;
                (modal.get("custom_id").and_then(Value::as_str) == Some(custom_id))
                    .then(|| (interaction.id, interaction.clone(), modal.clone()))
            })
            .max_by_key(|(id, _, _)| *id);
        let Some((_, opener, modal)) = opener else {
            return Err(FakeError::NoModal {
                custom_id: custom_id.to_owned(),
                user_id: user.id,
            });
        };
        let rows = modal_rows(&modal, fields)?;
        let mut interaction = self.register(
            InteractionKind::ModalSubmit,
            user,
            opener.guild_id,
            opener.channel_id,
            now,
        );
        interaction.source_message = opener.source_message;
        let mut body = self
            .invocation(config, &interaction, roles)
            .base(InteractionKind::ModalSubmit);
        if let Some(message) = opener.source_message.and_then(|id| self.messages.get(&id)) {
            body.insert(
                "message".into(),
                message.json(&config.bot, config.application_id),
            );
        }
        body.insert(
            "data".into(),
            json!({ "custom_id": custom_id, "components": rows }),
        );
        Ok(self.store(interaction, &Value::Object(body)))
    }

    /// A `PING`.
    pub(crate) fn ping(&mut self, config: &Config, now: Instant) -> InteractionHandle {
        let interaction = self.register(InteractionKind::Ping, &config.bot, None, 0, now);
        let body = ping_json(interaction.id, &interaction.token, config.application_id);
        self.store(interaction, &body)
    }

    /// Handles `POST /interactions/{id}/{token}/callback` (or a callback returned as an HTTP
    /// delivery's answer): one per interaction, within the callback window.
    pub(crate) fn callback(
        &mut self,
        config: &Config,
        interaction_id: u64,
        token: &str,
        body: &Value,
        via: CallbackVia,
        now: Instant,
    ) -> Result<(), ApiError> {
        let Some(interaction) = self.interactions.get(&interaction_id) else {
            return Err(ApiError::unknown_interaction());
        };
        let kind = body
            .get("type")
            .and_then(Value::as_u64)
            .and_then(|kind| u8::try_from(kind).ok())
            .unwrap_or(0);
        let data = body.get("data").filter(|data| !data.is_null()).cloned();
        let after = now.saturating_duration_since(interaction.created);
        let result = if interaction.token != token {
            Err((
                CallbackOutcome::UnknownInteraction,
                ApiError::unknown_interaction(),
            ))
        } else if after > config.callback_window {
            Err((CallbackOutcome::Expired, ApiError::unknown_interaction()))
        } else if interaction.acknowledged.is_some() {
            Err((
                CallbackOutcome::AlreadyAcknowledged,
                ApiError::already_acknowledged(),
            ))
        } else {
            self.apply_callback(interaction_id, kind, data.as_ref())
                .map_err(|error| {
                    let code = error.body.get("code").and_then(Value::as_u64).unwrap_or(0);
                    (
                        CallbackOutcome::Refused {
                            status: error.status.as_u16(),
                            code,
                        },
                        error,
                    )
                })
        };
        let (outcome, answer) = match result {
            Ok(()) => (CallbackOutcome::Accepted, Ok(())),
            Err((outcome, error)) => (outcome, Err(error)),
        };
        if let Some(interaction) = self.interactions.get_mut(&interaction_id) {
            if outcome == CallbackOutcome::Accepted {
                interaction.acknowledged = Some(kind);
            }
            interaction.callbacks.push(CallbackView {
                interaction_id,
                kind,
                data,
                outcome,
                via,
                after,
            });
        }
        answer
    }

    fn apply_callback(
        &mut self,
        interaction_id: u64,
        kind: u8,
        data: Option<&Value>,
    ) -> Result<(), ApiError> {
        let Some(interaction) = self.interactions.get(&interaction_id).cloned() else {
            return Err(ApiError::unknown_interaction());
        };
        let empty = json!({});
        let data_or_empty = data.unwrap_or(&empty);
        let allowed = match interaction.kind {
            InteractionKind::Ping => kind == 1,
            InteractionKind::Command => matches!(kind, 4 | 5 | 9),
            InteractionKind::Component => matches!(kind, 4..=7 | 9),
            InteractionKind::Autocomplete => kind == 8,
            InteractionKind::ModalSubmit => {
                matches!(kind, 4 | 5)
                    || (matches!(kind, 6 | 7) && interaction.source_message.is_some())
            }
        };
        if !allowed {
            return Err(invalid_type(kind, interaction.kind));
        }
        let original = match kind {
            1 => None,
            4 => {
                let patch = validate::message_patch(data_or_empty)?;
                if !patch.has_body() {
                    return Err(ApiError::empty_message());
                }
                let flags = patch.settable_flags();
                Some(self.create_interaction_message(&interaction, patch, flags, true))
            }
            5 => {
                let patch = validate::message_patch(data_or_empty)?;
                let flags = (patch.settable_flags() & EPHEMERAL) | LOADING;
                Some(self.create_interaction_message(
                    &interaction,
                    MessagePatch::default(),
                    flags,
                    true,
                ))
            }
            6 => interaction.source_message,
            7 => {
                let patch = validate::message_patch(data_or_empty)?;
                let source = interaction.source_message.unwrap_or_default();
                self.edit_message(source, &patch)?;
                Some(source)
            }
            8 => {
                validate::autocomplete_result(data_or_empty)?;
                None
            }
            9 => {
                validate::modal(data_or_empty)?;
                if let Some(stored) = self.interactions.get_mut(&interaction_id) {
                    stored.modal = Some(data_or_empty.clone());
                }
                None
            }
            _ => return Err(invalid_type(kind, interaction.kind)),
        };
        if let Some(stored) = self.interactions.get_mut(&interaction_id) {
            if original.is_some() {
                stored.original = original;
            }
        }
        Ok(())
    }

    /// Creates a message through an interaction (original response or follow-up).
    fn create_interaction_message(
        &mut self,
        interaction: &Interaction,
        patch: MessagePatch,
        flags: u64,
        original: bool,
    ) -> u64 {
        let id = self.ids.next();
        let user = interaction.user.json();
        let owners = json!({ "0": interaction.guild_id.unwrap_or(0).to_string() });
        let original_id = if original {
            Some(id)
        } else {
            interaction.original
        };
        let metadata = match interaction.kind {
            InteractionKind::Command => Some(json!({
                "id": interaction.id.to_string(),
                "type": 2,
                "user": user,
                "authorizing_integration_owners": owners,
                "original_response_message_id": original_id.map(|id| id.to_string()),
                "name": interaction.name,
            })),
            InteractionKind::Component => Some(json!({
                "id": interaction.id.to_string(),
                "type": 3,
                "user": user,
                "authorizing_integration_owners": owners,
                "original_response_message_id": original_id.map(|id| id.to_string()),
                "interacted_message_id": interaction.source_message.unwrap_or_default().to_string(),
            })),
            InteractionKind::ModalSubmit
            | InteractionKind::Autocomplete
            | InteractionKind::Ping => None,
        };
        let message = StoredMessage {
            id,
            channel_id: interaction.channel_id,
            guild_id: interaction.guild_id,
            content: patch.content.unwrap_or_default(),
            embeds: patch.embeds.unwrap_or_default(),
            components: patch.components.unwrap_or_default(),
            flags,
            created: Utc::now(),
            edited: None,
            edits: 0,
            interaction_id: Some(interaction.id),
            visible_to: (flags & EPHEMERAL != 0).then_some(interaction.user.id),
            kind: if interaction.kind == InteractionKind::Command {
                20
            } else {
                0
            },
            interaction_metadata: metadata,
        };
        self.messages.insert(id, message);
        id
    }

    /// Applies an edit: present fields replace, `SUPPRESS_EMBEDS` may toggle, the ephemeral
    /// state never changes, a "thinking" message stops loading; the result must show something.
    fn edit_message(&mut self, id: u64, patch: &MessagePatch) -> Result<(), ApiError> {
        let Some(message) = self.messages.get_mut(&id) else {
            return Err(ApiError::unknown_message());
        };
        let mut edited = message.clone();
        if let Some(content) = &patch.content {
            edited.content.clone_from(content);
        }
        if let Some(embeds) = &patch.embeds {
            edited.embeds.clone_from(embeds);
        }
        if let Some(components) = &patch.components {
            edited.components.clone_from(components);
        }
        if let Some(flags) = patch.flags {
            edited.flags = (edited.flags & !SUPPRESS_EMBEDS) | (flags & SUPPRESS_EMBEDS);
        }
        edited.flags &= !LOADING;
        if !edited.has_body() {
            return Err(ApiError::empty_message());
        }
        edited.edits += 1;
        edited.edited = Some(Utc::now());
        *message = edited;
        Ok(())
    }

    /// The interaction behind a webhook route: the application must be ours, the token known
    /// and under 15 minutes old, and the interaction acknowledged.
    fn webhook(
        &self,
        config: &Config,
        application_id: u64,
        token: &str,
        now: Instant,
    ) -> Result<&Interaction, ApiError> {
        if application_id != config.application_id {
            return Err(ApiError::unknown_webhook());
        }
        let interaction = self
            .by_token
            .get(token)
            .and_then(|id| self.interactions.get(id))
            // An autocomplete result is final: there is no message to edit or follow up.
            .filter(|interaction| {
                !matches!(
                    interaction.kind,
                    InteractionKind::Ping | InteractionKind::Autocomplete
                )
            })
            .ok_or_else(ApiError::unknown_webhook)?;
        if now.saturating_duration_since(interaction.created) > config.token_lifetime {
            return Err(ApiError::invalid_webhook_token());
        }
        if interaction.acknowledged.is_none() {
            return Err(ApiError::unknown_webhook());
        }
        Ok(interaction)
    }

    fn webhook_target(&self, interaction: &Interaction, target: Target) -> Result<u64, ApiError> {
        let id = match target {
            Target::Original => interaction.original.ok_or_else(ApiError::unknown_message)?,
            Target::Id(id) => {
                if interaction.original != Some(id) && !interaction.followups.contains(&id) {
                    return Err(ApiError::unknown_message());
                }
                id
            }
        };
        if self.messages.contains_key(&id) {
            Ok(id)
        } else {
            Err(ApiError::unknown_message())
        }
    }

    /// `GET /webhooks/{app}/{token}/messages/{@original|id}`.
    pub(crate) fn webhook_get(
        &self,
        config: &Config,
        application_id: u64,
        token: &str,
        target: Target,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let interaction = self.webhook(config, application_id, token, now)?;
        let id = self.webhook_target(interaction, target)?;
        self.message_json(config, id)
    }

    /// `PATCH /webhooks/{app}/{token}/messages/{@original|id}`.
    pub(crate) fn webhook_edit(
        &mut self,
        config: &Config,
        application_id: u64,
        token: &str,
        target: Target,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let interaction = self.webhook(config, application_id, token, now)?;
        let id = self.webhook_target(interaction, target)?;
        let patch = validate::message_patch(body)?;
        self.edit_message(id, &patch)?;
        self.message_json(config, id)
    }

    /// `DELETE /webhooks/{app}/{token}/messages/{@original|id}`.
    pub(crate) fn webhook_delete(
        &mut self,
        config: &Config,
        application_id: u64,
        token: &str,
        target: Target,
        now: Instant,
    ) -> Result<(), ApiError> {
        let interaction = self.webhook(config, application_id, token, now)?;
        let id = self.webhook_target(interaction, target)?;
        self.messages.remove(&id);
        Ok(())
    }

    /// `POST /webhooks/{app}/{token}`: a follow-up. The first one after a deferred ("thinking")
    /// response replaces that response instead, keeping its ephemeral state, as Discord does.
    pub(crate) fn create_followup(
        &mut self,
        config: &Config,
        application_id: u64,
        token: &str,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let interaction = self.webhook(config, application_id, token, now)?.clone();
        let patch = validate::message_patch(body)?;
        if !patch.has_body() {
            return Err(ApiError::empty_message());
        }
        let loading_original = interaction
            .original
            .filter(|id| {
                self.messages
                    .get(id)
                    .is_some_and(|message| message.flags & LOADING != 0)
            })
            .filter(|_| interaction.followups.is_empty());
        if let Some(original) = loading_original {
            self.edit_message(original, &patch)?;
            return self.message_json(config, original);
        }
        let flags = patch.settable_flags();
        let id = self.create_interaction_message(&interaction, patch, flags, false);
        if let Some(stored) = self.interactions.get_mut(&interaction.id) {
            stored.followups.push(id);
        }
        self.message_json(config, id)
    }

    fn message_json(&self, config: &Config, id: u64) -> Result<Value, ApiError> {
        self.messages
            .get(&id)
            .map(|message| message.json(&config.bot, config.application_id))
            .ok_or_else(ApiError::unknown_message)
    }

    fn channel_guild(config: &Config, channel_id: u64) -> Result<u64, ApiError> {
        config
            .guild_of(channel_id)
            .ok_or_else(ApiError::missing_access)
    }

    /// A public (non-ephemeral) message in a channel the bot can see.
    fn channel_message(&self, config: &Config, channel_id: u64, id: u64) -> Result<u64, ApiError> {
        Self::channel_guild(config, channel_id)?;
        self.messages
            .get(&id)
            .filter(|message| message.channel_id == channel_id && message.visible_to.is_none())
            .map(|message| message.id)
            .ok_or_else(ApiError::unknown_message)
    }

    /// `POST /channels/{channel}/messages`.
    pub(crate) fn channel_create(
        &mut self,
        config: &Config,
        channel_id: u64,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let guild_id = Self::channel_guild(config, channel_id)?;
        let patch = validate::message_patch(body)?;
        if !patch.has_body() {
            return Err(ApiError::empty_message());
        }
        let id = self.ids.next();
        let message = StoredMessage {
            id,
            channel_id,
            guild_id: Some(guild_id),
            flags: patch.settable_flags() & (SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS),
            content: patch.content.unwrap_or_default(),
            embeds: patch.embeds.unwrap_or_default(),
            components: patch.components.unwrap_or_default(),
            created: Utc::now(),
            edited: None,
            edits: 0,
            interaction_id: None,
            visible_to: None,
            kind: 0,
            interaction_metadata: None,
        };
        self.messages.insert(id, message);
        self.message_json(config, id)
    }

    /// `GET /channels/{channel}/messages/{id}`.
    pub(crate) fn channel_get(
        &self,
        config: &Config,
        channel_id: u64,
        id: u64,
    ) -> Result<Value, ApiError> {
        let id = self.channel_message(config, channel_id, id)?;
        self.message_json(config, id)
    }

    /// `PATCH /channels/{channel}/messages/{id}` (never reaches an ephemeral message).
    pub(crate) fn channel_edit(
        &mut self,
        config: &Config,
        channel_id: u64,
        id: u64,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let id = self.channel_message(config, channel_id, id)?;
        let patch = validate::message_patch(body)?;
        self.edit_message(id, &patch)?;
        self.message_json(config, id)
    }

    /// `DELETE /channels/{channel}/messages/{id}`.
    pub(crate) fn channel_delete(
        &mut self,
        config: &Config,
        channel_id: u64,
        id: u64,
    ) -> Result<(), ApiError> {
        let id = self.channel_message(config, channel_id, id)?;
        self.messages.remove(&id);
        Ok(())
    }

    /// `PUT /applications/{app}/commands` and `…/guilds/{guild}/commands`: replaces the
    /// scope's commands. A command keeps its id across overwrites (same scope, type and name);
    /// every overwrite gives it a new `version`.
    pub(crate) fn put_commands(
        &mut self,
        config: &Config,
        application_id: u64,
        guild_id: Option<u64>,
        body: &Value,
    ) -> Result<Value, ApiError> {
        if application_id != config.application_id {
            return Err(ApiError::not_your_application());
        }
        if guild_id.is_some_and(|guild| !config.guilds.contains_key(&guild)) {
            return Err(ApiError::missing_access());
        }
        let commands = validate::commands(body)?;
        let mut stored = Vec::with_capacity(commands.len());
        for mut command in commands {
            let kind = command.get("type").and_then(Value::as_u64).unwrap_or(1);
            let name = command
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let key = (guild_id, kind, name);
            let id = match self.command_ids.get(&key) {
                Some(id) => *id,
                None => {
                    let id = self.ids.next();
                    self.command_ids.insert(key, id);
                    id
                }
            };
            let version = self.ids.next();
            command.insert("id".into(), json!(id.to_string()));
            command.insert(
                "application_id".into(),
                json!(config.application_id.to_string()),
            );
            command.insert("version".into(), json!(version.to_string()));
            command.insert("type".into(), json!(kind));
            command.entry("description").or_insert_with(|| json!(""));
            command.entry("options").or_insert_with(|| json!([]));
            command
                .entry("default_member_permissions")
                .or_insert(Value::Null);
            command.entry("nsfw").or_insert(Value::Bool(false));
            command.entry("name_localizations").or_insert(Value::Null);
            command
                .entry("description_localizations")
                .or_insert(Value::Null);
            command
                .entry("integration_types")
                .or_insert_with(|| json!([0]));
            match guild_id {
                Some(guild) => {
                    command.insert("guild_id".into(), json!(guild.to_string()));
                }
                None => {
                    command.entry("contexts").or_insert(Value::Null);
                    command.entry("dm_permission").or_insert(Value::Bool(true));
                }
            }
            stored.push(Value::Object(command));
        }
        let names: Vec<(u64, String)> = stored
            .iter()
            .map(|command| {
                (
                    command.get("type").and_then(Value::as_u64).unwrap_or(1),
                    command
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        self.command_ids.retain(|(scope, kind, name), _| {
            *scope != guild_id || names.iter().any(|(k, n)| k == kind && n == name)
        });
        self.commands.insert(guild_id, stored.clone());
        Ok(Value::Array(stored))
    }

    /// `GET` of a scope's commands.
    pub(crate) fn get_commands(
        &self,
        config: &Config,
        application_id: u64,
        guild_id: Option<u64>,
    ) -> Result<Value, ApiError> {
        if application_id != config.application_id {
            return Err(ApiError::not_your_application());
        }
        if guild_id.is_some_and(|guild| !config.guilds.contains_key(&guild)) {
            return Err(ApiError::missing_access());
        }
        Ok(Value::Array(
            self.commands.get(&guild_id).cloned().unwrap_or_default(),
        ))
    }

    /// The current view of a message.
    pub(crate) fn view(&self, config: &Config, id: u64) -> Option<MessageView> {
        self.messages
            .get(&id)
            .map(|message| message.view(&config.bot, config.application_id))
    }

    /// Pushes an interaction's clock back (as if it had been created `by` earlier).
    pub(crate) fn age(&mut self, interaction_id: u64, by: Duration) -> bool {
        match self.interactions.get_mut(&interaction_id) {
            Some(interaction) => {
                interaction.created = interaction
                    .created
                    .checked_sub(by)
                    .unwrap_or(interaction.created);
                true
            }
            None => false,
        }
    }
}

/// The rows Discord sends back for a modal: every text input in the modal's order, with the
/// user's value (empty when left blank). Refuses what Discord's client refuses: an unknown
/// field, a required field left empty, a value outside `min_length`/`max_length`.
fn modal_rows(modal: &Value, fields: &[(&str, &str)]) -> Result<Vec<Value>, FakeError> {
    let inputs: Vec<&Value> = modal
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|row| row.get("components").and_then(Value::as_array))
        .flatten()
        .collect();
    let input_id = |input: &Value| {
        input
            .get("custom_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    for (field, _) in fields {
        if !inputs.iter().any(|input| input_id(input) == *field) {
            return Err(FakeError::ModalInput {
                problem: format!("the modal has no text input {field:?}"),
            });
        }
    }
    let mut rows = Vec::with_capacity(inputs.len());
    for input in inputs {
        let id = input_id(input);
        let value = fields
            .iter()
            .find(|(field, _)| *field == id)
            .map(|(_, value)| *value)
            .unwrap_or_default();
        let length = u64::try_from(value.chars().count()).unwrap_or(u64::MAX);
        let required = input
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if required && value.is_empty() {
            return Err(FakeError::ModalInput {
                problem: format!("the required text input {id:?} is empty"),
            });
        }
        let min = input.get("min_length").and_then(Value::as_u64).unwrap_or(0);
        let max = input
            .get("max_length")
            .and_then(Value::as_u64)
            .unwrap_or(4000);
        if !value.is_empty() && (length < min || length > max) {
            return Err(FakeError::ModalInput {
                problem: format!("text input {id:?} must hold {min} to {max} characters"),
            });
        }
        rows.push(json!({
            "type": 1,
            "components": [{ "type": 4, "custom_id": id, "value": value }],
        }));
    }
    Ok(rows)
}
