//! From Discord interactions to the engine's inputs: a slash command becomes an
//! [`Invocation`], an option being typed a [`Typing`] (for `Engine::autocomplete`), a button
//! press a [`Press`], a modal submit a [`Press`] and the password as a [`SecretString`].
//!
//! The actor is the member's user id, display name and role ids; the tenant is the guild id;
//! the channel is the interaction's channel. A direct message has no guild and no member roles:
//! it is handed over with no channel, no tenant and no roles, so the policy refuses it (and the
//! refusal is audited); [`dm_note`] adds a sentence saying why, for the person who tried.

use passdesk_commands::ids::{ButtonAction, ButtonId};
use passdesk_commands::{Actor, Invocation, Platform, Press, Reply, Tone};
use secrecy::SecretString;
use serenity::all::{
    ActionRowComponent, ChannelId, CommandDataOption, CommandDataOptionValue, CommandInteraction,
    ComponentInteraction, GuildId, Member, ModalInteraction, User,
};

use super::render::PASSWORD_INPUT_ID;

/// Why an interaction is not something Passdesk acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A button or modal whose custom id is not a Passdesk id.
    #[error("this button is not one of Passdesk's")]
    UnknownButton,
    /// A modal submit that is not a password prompt of Passdesk.
    #[error("this form is not a Passdesk password prompt")]
    NotAPasswordPrompt,
    /// The password prompt came back without its password field.
    #[error("the password field was missing")]
    MissingPassword,
}

impl ConvertError {
    /// What the person who pressed or submitted is told.
    pub fn reply(&self) -> Reply {
        match self {
            ConvertError::UnknownButton | ConvertError::NotAPasswordPrompt => Reply::error(
                "Not a Passdesk button",
                "Passdesk does not know this button or form; run the command again.",
            ),
            ConvertError::MissingPassword => Reply::error(
                "No password",
                "The password field was empty; nothing was sent. Press the button to try again.",
            ),
        }
    }
}

/// The actor of an interaction: in a guild the member (user id, display name, role ids); in a
/// direct message the user, with no roles.
pub fn actor(member: Option<&Member>, user: &User) -> Actor {
    let (display_name, roles) = match member {
        Some(member) => (
            member.display_name().to_owned(),
            member.roles.iter().map(ToString::to_string).collect(),
        ),
        None => (user.display_name().to_owned(), Vec::new()),
    };
    Actor {
        platform: Platform::Discord,
        id: user.id.to_string(),
        display_name,
        roles,
    }
}

/// `(channel, tenant)`: the channel and guild ids in a guild, nothing in a direct message.
fn place(guild: Option<GuildId>, channel: ChannelId) -> (Option<String>, Option<String>) {
    match guild {
        Some(guild) => (Some(channel.to_string()), Some(guild.to_string())),
        None => (None, None),
    }
}

/// A slash command as an [`Invocation`]: options flattened in order, a subcommand as the marker
/// `(sub, "")` followed by its own options, values as text.
pub fn invocation(command: &CommandInteraction) -> Invocation {
    let (channel, tenant) = place(command.guild_id, command.channel_id);
    let mut options = Vec::new();
    flatten(&command.data.options, &mut options);
    Invocation {
        actor: actor(command.member.as_deref(), &command.user),
        channel,
        tenant,
        interaction_id: command.id.to_string(),
        command: command.data.name.clone(),
        options,
    }
}

fn flatten(options: &[CommandDataOption], out: &mut Vec<(String, String)>) {
    for option in options {
        match &option.value {
            CommandDataOptionValue::SubCommand(inner)
            | CommandDataOptionValue::SubCommandGroup(inner) => {
                out.push((option.name.clone(), String::new()));
                flatten(inner, out);
            }
            value => out.push((option.name.clone(), value_text(value))),
        }
    }
}

fn value_text(value: &CommandDataOptionValue) -> String {
    match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(i) => i.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(id) => id.to_string(),
        CommandDataOptionValue::Role(id) => id.to_string(),
        CommandDataOptionValue::Channel(id) => id.to_string(),
        CommandDataOptionValue::Mentionable(id) => id.to_string(),
        CommandDataOptionValue::Attachment(id) => id.to_string(),
        CommandDataOptionValue::Autocomplete { value, .. } => value.clone(),
        // Subcommands are flattened by the caller; an unknown type carries no value.
        _ => String::new(),
    }
}

/// An option being typed (an autocomplete interaction): who, where, and what so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typing {
    /// Who is typing.
    pub actor: Actor,
    /// The channel (`None` in a direct message).
    pub channel: Option<String>,
    /// The guild (`None` in a direct message).
    pub tenant: Option<String>,
    /// The command name (`reset`).
    pub command: String,
    /// The option being typed (`user`, `group`).
    pub option: String,
    /// Its text so far.
    pub partial: String,
}

/// An autocomplete interaction as a [`Typing`]: the focused option (inside a subcommand or
/// not) and its partial value; `None` when no option is focused.
pub fn typing(interaction: &CommandInteraction) -> Option<Typing> {
    let focused = interaction.data.autocomplete()?;
    let (channel, tenant) = place(interaction.guild_id, interaction.channel_id);
    Some(Typing {
        actor: actor(interaction.member.as_deref(), &interaction.user),
        channel,
        tenant,
        command: interaction.data.name.clone(),
        option: focused.name.to_owned(),
        partial: focused.value.to_owned(),
    })
}

/// A button press as a [`Press`].
///
/// # Errors
///
/// [`ConvertError::UnknownButton`] when the custom id is not `pd:<action>:<pending>`.
pub fn press(component: &ComponentInteraction) -> Result<Press, ConvertError> {
    let button: ButtonId = component
        .data
        .custom_id
        .parse()
        .map_err(|_| ConvertError::UnknownButton)?;
    let (channel, tenant) = place(component.guild_id, component.channel_id);
    Ok(Press {
        actor: actor(component.member.as_ref(), &component.user),
        channel,
        tenant,
        interaction_id: component.id.to_string(),
        button,
    })
}

/// A submitted password prompt as the [`Press`] of its button and the password.
///
/// The password is moved out of the interaction into a [`SecretString`] (not copied), so once
/// the caller drops the interaction no plain copy made by Passdesk remains.
///
/// # Errors
///
/// [`ConvertError::NotAPasswordPrompt`] when the modal's custom id is not
/// `pd:password:<pending>`; [`ConvertError::MissingPassword`] when its password field is absent
/// or empty.
pub fn password_submit(
    modal: &mut ModalInteraction,
) -> Result<(Press, SecretString), ConvertError> {
    let button: ButtonId = modal
        .data
        .custom_id
        .parse()
        .map_err(|_| ConvertError::NotAPasswordPrompt)?;
    if button.action != ButtonAction::EnterPassword {
        return Err(ConvertError::NotAPasswordPrompt);
    }
    let mut password = None;
    for row in &mut modal.data.components {
        for component in &mut row.components {
            if let ActionRowComponent::InputText(input) = component {
                if input.custom_id == PASSWORD_INPUT_ID {
                    password = input.value.take();
                }
            }
        }
    }
    let password = password
        .filter(|p| !p.is_empty())
        .map(SecretString::from)
        .ok_or(ConvertError::MissingPassword)?;
    let (channel, tenant) = place(modal.guild_id, modal.channel_id);
    let press = Press {
        actor: actor(modal.member.as_ref(), &modal.user),
        channel,
        tenant,
        interaction_id: modal.id.to_string(),
        button,
    };
    Ok((press, password))
}

/// For an interaction from a direct message: a refusal says that Passdesk works in the
/// servers it serves, where the member's roles are known.
pub fn dm_note(mut reply: Reply) -> Reply {
    if reply.tone == Tone::Error {
        if !reply.body.is_empty() {
            reply.body.push('\n');
        }
        reply.body.push_str(
            "Passdesk does not work in direct messages: they carry no server and no roles. Run \
             the command in a channel of a server Passdesk serves.",
        );
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_commands::ids::PendingId;
    use serde_json::{Value, json};

    fn user(id: &str, name: &str) -> Value {
        json!({"id": id, "username": name, "global_name": null, "avatar": null})
    }

    fn member(id: &str, name: &str, nick: Option<&str>, roles: &[&str]) -> Value {
        json!({"user": user(id, name), "nick": nick, "roles": roles, "permissions": "2048",
               "deaf": false, "mute": false, "flags": 0, "joined_at": null})
    }

    fn command(guild: Option<&str>, data: Value) -> CommandInteraction {
        let mut body = json!({
            "id": "1100000000000000001", "application_id": "1100000000000000002", "type": 2,
            "token": "tok", "version": 1, "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 8388608, "channel_id": "1100000000000000004",
            "data": data,
        });
        match guild {
            Some(guild) => {
                body["guild_id"] = json!(guild);
                body["member"] = member(
                    "1100000000000000005",
                    "alice",
                    Some("Alice H."),
                    &["1100000000000000006", "1100000000000000007"],
                );
            }
            None => body["user"] = user("1100000000000000005", "alice"),
        }
        serde_json::from_value(body).unwrap()
    }

    fn component(custom_id: &str) -> ComponentInteraction {
        let message = json!({"id": "10", "channel_id": "1100000000000000004",
            "author": user("30", "bot"), "content": "", "timestamp": "2024-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0});
        serde_json::from_value(json!({
            "id": "1100000000000000011", "application_id": "1100000000000000002", "type": 3,
            "token": "tok", "version": 1, "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 8388608, "channel_id": "1100000000000000004",
            "guild_id": "1100000000000000003",
            "member": member("1100000000000000005", "alice", None, &["1100000000000000006"]),
            "message": message,
            "data": {"custom_id": custom_id, "component_type": 2},
        }))
        .unwrap()
    }

    fn modal(custom_id: &str, inputs: Value) -> ModalInteraction {
        serde_json::from_value(json!({
            "id": "1100000000000000021", "application_id": "1100000000000000002", "type": 5,
            "token": "tok", "version": 1, "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 8388608, "channel_id": "1100000000000000004",
            "guild_id": "1100000000000000003",
            "member": member("1100000000000000005", "alice", None, &[]),
            "data": {"custom_id": custom_id, "components": [{"type": 1, "components": inputs}]},
        }))
        .unwrap()
    }

    #[test]
    fn a_guild_command_carries_member_roles_guild_channel_and_flattened_subcommand_options() {
        let data = json!({"id": "9", "name": "reset", "type": 1, "options": [
            {"name": "user", "type": 1, "options": [
                {"name": "user", "type": 3, "value": "jane.doe"},
                {"name": "dry-run", "type": 5, "value": true}
            ]}
        ]});
        let invocation = invocation(&command(Some("1100000000000000003"), data));
        assert_eq!(invocation.command, "reset");
        assert_eq!(
            invocation.options,
            [
                ("user".to_owned(), String::new()),
                ("user".to_owned(), "jane.doe".to_owned()),
                ("dry-run".to_owned(), "true".to_owned()),
            ]
        );
        assert_eq!(invocation.tenant.as_deref(), Some("1100000000000000003"));
        assert_eq!(invocation.channel.as_deref(), Some("1100000000000000004"));
        assert_eq!(invocation.interaction_id, "1100000000000000001");
        // The engine's parser accepts the flattened form.
        let parsed = passdesk_commands::parse(&invocation);
        assert!(parsed.is_ok(), "{parsed:?}");
        let actor = invocation.actor;
        assert_eq!(actor.platform, Platform::Discord);
        assert_eq!(actor.id, "1100000000000000005");
        assert_eq!(actor.display_name, "Alice H.", "the server nickname");
        assert_eq!(actor.roles, ["1100000000000000006", "1100000000000000007"]);
    }

    fn invocation_from_parts() -> Invocation {
        let data = json!({"id": "9", "name": "reset", "type": 1, "options": [
            {"name": "inactive", "type": 1, "options": [
                {"name": "created-within-days", "type": 4, "value": 7}
            ]}
        ]});
        invocation(&command(Some("1100000000000000003"), data))
    }

    #[test]
    fn integers_and_plain_options_become_text() {
        let invocation = invocation_from_parts();
        assert!(passdesk_commands::parse(&invocation).is_ok());
        assert_eq!(
            invocation.options,
            [
                ("inactive".to_owned(), String::new()),
                ("created-within-days".to_owned(), "7".to_owned()),
            ]
        );
        let data = json!({"id": "9", "name": "notify", "type": 1, "options": [
            {"name": "assigned-resource-type", "type": 3, "value": "1000"},
            {"name": "resource-type-mapping", "type": 3, "value": "10"}
        ]});
        let notify = super::invocation(&command(Some("1100000000000000003"), data));
        assert_eq!(notify.options.len(), 2);
        assert_eq!(notify.options[0].1, "1000");
    }

    #[test]
    fn a_direct_message_has_no_guild_channel_or_roles_and_its_refusal_says_why() {
        let data = json!({"id": "9", "name": "expire", "type": 1,
                          "options": [{"name": "user", "type": 3, "value": "jane.doe"}]});
        let invocation = invocation(&command(None, data));
        assert_eq!(invocation.tenant, None);
        assert_eq!(invocation.channel, None);
        assert!(invocation.actor.roles.is_empty());
        assert_eq!(invocation.actor.id, "1100000000000000005");

        let refused = dm_note(Reply::error("Not allowed", "you are not in a group"));
        assert!(refused.body.contains("direct messages"), "{refused:?}");
        assert!(refused.body.starts_with("you are not in a group"));
        let fine = dm_note(Reply::info("Help", "commands"));
        assert_eq!(fine.body, "commands", "only refusals get the note");
    }

    #[test]
    fn an_option_being_typed_is_found_inside_its_subcommand() {
        let data = json!({"id": "9", "name": "reset", "type": 1, "options": [
            {"name": "group", "type": 1, "options": [
                {"name": "dry-run", "type": 5, "value": true},
                {"name": "group", "type": 3, "value": "New", "focused": true}
            ]}
        ]});
        let typing = typing(&command(Some("1100000000000000003"), data)).unwrap();
        assert_eq!(typing.command, "reset");
        assert_eq!(typing.option, "group");
        assert_eq!(typing.partial, "New");
        assert_eq!(typing.tenant.as_deref(), Some("1100000000000000003"));
        assert_eq!(typing.channel.as_deref(), Some("1100000000000000004"));
        assert_eq!(typing.actor.roles.len(), 2);

        let data = json!({"id": "9", "name": "expire", "type": 1,
                          "options": [{"name": "user", "type": 3, "value": "", "focused": true}]});
        let typing = super::typing(&command(None, data)).unwrap();
        assert_eq!(
            (typing.option.as_str(), typing.partial.as_str()),
            ("user", "")
        );
        assert_eq!(typing.tenant, None, "a direct message");

        let data = json!({"id": "9", "name": "expire", "type": 1,
                          "options": [{"name": "user", "type": 3, "value": "jane"}]});
        assert_eq!(super::typing(&command(None, data)), None, "nothing focused");
    }

    #[test]
    fn a_press_carries_the_button_id_and_the_presser() {
        let pending = PendingId::random();
        let press = press(&component(&format!("pd:confirm:{pending}"))).unwrap();
        assert_eq!(press.button.action, ButtonAction::Confirm);
        assert_eq!(press.button.pending, pending);
        assert_eq!(press.actor.id, "1100000000000000005");
        assert_eq!(press.actor.roles, ["1100000000000000006"]);
        assert_eq!(press.tenant.as_deref(), Some("1100000000000000003"));
        assert_eq!(press.interaction_id, "1100000000000000011");
        for foreign in ["grant:confirm:abc", "pd:confirm:short", ""] {
            assert_eq!(
                super::press(&component(foreign)).map(|_| ()),
                Err(ConvertError::UnknownButton),
                "{foreign}"
            );
        }
    }

    #[test]
    fn a_password_submit_moves_the_password_into_a_secret() {
        use secrecy::ExposeSecret as _;
        let pending = PendingId::random();
        let input = json!([{"type": 4, "custom_id": "password", "value": "S3cret-pw!"}]);
        let mut submitted = modal(&format!("pd:password:{pending}"), input);
        let (press, password) = password_submit(&mut submitted).unwrap();
        assert_eq!(password.expose_secret(), "S3cret-pw!");
        assert_eq!(press.button.action, ButtonAction::EnterPassword);
        assert_eq!(press.button.pending, pending);
        assert!(
            !format!("{submitted:?}").contains("S3cret-pw!"),
            "the interaction no longer holds the password"
        );
        assert!(!format!("{password:?}").contains("S3cret-pw!"));

        let empty = json!([{"type": 4, "custom_id": "password", "value": ""}]);
        let mut blank = modal(&format!("pd:password:{pending}"), empty);
        assert_eq!(
            password_submit(&mut blank).map(|_| ()),
            Err(ConvertError::MissingPassword)
        );
        let input = json!([{"type": 4, "custom_id": "password", "value": "x"}]);
        let mut confirm = modal(&format!("pd:confirm:{pending}"), input.clone());
        assert_eq!(
            password_submit(&mut confirm).map(|_| ()),
            Err(ConvertError::NotAPasswordPrompt)
        );
        let mut foreign = modal("feedback", input);
        assert_eq!(
            password_submit(&mut foreign).map(|_| ()),
            Err(ConvertError::NotAPasswordPrompt)
        );
    }
}
