//! The catalogue as Discord application commands, and their registration by bulk overwrite.
//!
//! Every command, subcommand and option comes from `passdesk_commands::catalogue`, so Discord,
//! Slack, the console and the parser accept the same things. Types: integers and booleans are
//! Discord integer and boolean options; every other kind (usernames and ids, group names,
//! mail addresses, Identity Manager ids, which exceed Discord's ±2^53 integers) is a string
//! option with the catalogue's `max_length`; fixed choices become Discord choices, and options
//! the catalogue marks `autocomplete` (usernames, group names) ask Discord for autocomplete.
//!
//! # Who sees the commands
//!
//! The operation commands (`reset`, `expire`, `notify`) are registered with
//! `default_member_permissions` = [`OPERATION_PERMISSIONS`] (Manage Messages), so Discord hides
//! them from ordinary members, who could never run them, and shows them to moderators and
//! administrators. That is only a default: a server administrator grants them to the helpdesk
//! role (or restricts them further) in Server Settings → Integrations → Passdesk. `help` is
//! visible to everyone. Passdesk still authorises every interaction against `[groups]` and
//! `[policy]`, whatever Discord shows. Commands are offered in servers only (`contexts`:
//! guild), never in direct messages.

use std::fmt::Write as _;

use passdesk_commands::catalogue::HELP;
use passdesk_commands::{
    CommandBody, CommandSpec, OptionKind, OptionSpec, SubcommandSpec, catalogue,
};
use serenity::all::{
    Command, CommandOptionType, CommandType, CreateCommand, CreateCommandOption, GuildId,
    InteractionContext, Permissions,
};
use serenity::http::Http;

use super::DiscordError;

/// The permission a member needs by default to see the operation commands (see the module
/// docs): Manage Messages, which helpdesk moderators usually hold.
pub const OPERATION_PERMISSIONS: Permissions = Permissions::MANAGE_MESSAGES;

/// Discord's limit on a string option's `max_length`.
const STRING_MAX: usize = 6000;

/// Where commands are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every server the bot is in; Discord propagates changes lazily.
    Global,
    /// One server, updated at once (for trying changes).
    Guild(GuildId),
}

/// Every catalogue command as a Discord slash command, in catalogue order.
pub fn application_commands() -> Vec<CreateCommand> {
    catalogue().iter().map(command).collect()
}

fn command(spec: &CommandSpec) -> CreateCommand {
    let mut command = CreateCommand::new(spec.name)
        .kind(CommandType::ChatInput)
        .description(spec.description)
        .contexts(vec![InteractionContext::Guild]);
    if spec.name != HELP {
        command = command.default_member_permissions(OPERATION_PERMISSIONS);
    }
    let options = match spec.body {
        CommandBody::Subcommands(subs) => subs.iter().map(subcommand).collect(),
        CommandBody::Options(options) => options.iter().map(option).collect(),
    };
    command.set_options(options)
}

fn subcommand(spec: &SubcommandSpec) -> CreateCommandOption {
    spec.options.iter().fold(
        CreateCommandOption::new(CommandOptionType::SubCommand, spec.name, spec.description),
        |sub, o| sub.add_sub_option(option(o)),
    )
}

fn option(spec: &OptionSpec) -> CreateCommandOption {
    let kind = match spec.kind {
        OptionKind::Integer { .. } => CommandOptionType::Integer,
        OptionKind::Boolean => CommandOptionType::Boolean,
        _ => CommandOptionType::String,
    };
    let mut option =
        CreateCommandOption::new(kind, spec.name, spec.description).required(spec.required);
    if let OptionKind::Integer { min, max } = spec.kind {
        // serenity takes non-negative bounds only; the catalogue has no negative one (a
        // negative bound is left to the parser, which checks every value anyway).
        if let Ok(min) = u64::try_from(min) {
            option = option.min_int_value(min);
        }
        if let Ok(max) = u64::try_from(max) {
            option = option.max_int_value(max);
        }
    }
    if kind == CommandOptionType::String {
        if let Some(max) = spec.kind.max_len() {
            let max = u16::try_from(max.min(STRING_MAX)).unwrap_or(u16::MAX);
            option = option.max_length(max);
        }
    }
    for choice in spec.choices {
        option = option.add_string_choice(choice.name, choice.value);
    }
    if spec.autocomplete {
        // Discord then sends the typed text as autocomplete interactions, answered from the
        // directory by `DiscordCore` (usernames, group names).
        option = option.set_autocomplete(true);
    }
    option
}

/// Replaces the commands of `scope` with the catalogue (Discord's bulk overwrite: commands no
/// longer in the catalogue disappear) and returns them as Discord registered them.
///
/// # Errors
///
/// Discord refused the request (see [`DiscordError`]).
#[tracing::instrument(
    name = "discord.register_commands",
    skip_all,
    fields(method = "PUT", route = tracing::field::Empty, status = tracing::field::Empty)
)]
pub async fn register(http: &Http, scope: Scope) -> Result<Vec<Command>, DiscordError> {
    let commands = application_commands();
    let span = tracing::Span::current();
    let result = match scope {
        Scope::Global => {
            span.record("route", "/applications/{application_id}/commands");
            Command::set_global_commands(http, commands).await
        }
        Scope::Guild(guild) => {
            span.record(
                "route",
                "/applications/{application_id}/guilds/{guild_id}/commands",
            );
            guild.set_commands(http, commands).await
        }
    };
    match result {
        Ok(registered) => {
            span.record("status", 200);
            Ok(registered)
        }
        Err(error) => {
            let error = DiscordError::from_serenity(&error);
            if let DiscordError::Api { status, .. } = &error {
                span.record("status", status);
            }
            Err(error)
        }
    }
}

/// What was registered, for people: one line per command and subcommand with its options.
pub fn describe(scope: Scope, registered: &[Command]) -> String {
    let mut out = match scope {
        Scope::Global => format!(
            "registered {} global commands (Discord may take a while to show changes everywhere):\n",
            registered.len()
        ),
        Scope::Guild(guild) => format!(
            "registered {} commands in server {guild}:\n",
            registered.len()
        ),
    };
    for command in registered {
        let visible = match command.default_member_permissions {
            Some(p) if !p.is_empty() => format!(" [visible by default to: {}]", p),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  /{} — {}{visible}",
            command.name, command.description
        );
        for option in &command.options {
            if option.kind == CommandOptionType::SubCommand {
                let args: Vec<String> = option.options.iter().map(describe_option).collect();
                let _ = writeln!(
                    out,
                    "    /{} {} {}",
                    command.name,
                    option.name,
                    args.join(" ")
                );
            }
        }
        let args: Vec<String> = command
            .options
            .iter()
            .filter(|o| o.kind != CommandOptionType::SubCommand)
            .map(describe_option)
            .collect();
        if !args.is_empty() {
            let _ = writeln!(out, "    /{} {}", command.name, args.join(" "));
        }
    }
    out.trim_end().to_owned()
}

fn describe_option(option: &serenity::all::CommandOption) -> String {
    let kind = match option.kind {
        CommandOptionType::Integer => "integer",
        CommandOptionType::Boolean => "true|false",
        _ => "text",
    };
    if option.required {
        format!("{}:<{kind}>", option.name)
    } else {
        format!("[{}:<{kind}>]", option.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn registered() -> Vec<Value> {
        application_commands()
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect()
    }

    fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
        list.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn every_catalogue_command_is_registered_in_order_as_a_guild_only_slash_command() {
        let commands = registered();
        let names: Vec<&str> = commands.iter().filter_map(|c| c["name"].as_str()).collect();
        let catalogue_names: Vec<&str> = catalogue().iter().map(|c| c.name).collect();
        assert_eq!(names, catalogue_names);
        for (json, spec) in commands.iter().zip(catalogue()) {
            assert_eq!(json["type"], 1, "chat input");
            assert_eq!(json["description"], spec.description);
            assert_eq!(json["contexts"], serde_json::json!([0]), "servers only");
        }
    }

    #[test]
    fn operation_commands_are_hidden_by_default_from_members_without_manage_messages() {
        let commands = registered();
        for name in ["reset", "expire", "notify"] {
            assert_eq!(
                by_name(&commands, name)["default_member_permissions"],
                Permissions::MANAGE_MESSAGES.bits().to_string(),
                "{name}"
            );
        }
        assert!(
            by_name(&commands, "help")
                .get("default_member_permissions")
                .is_none(),
            "help is for everyone"
        );
    }

    #[test]
    fn subcommands_options_types_limits_and_choices_come_from_the_catalogue() {
        let commands = registered();
        let reset = by_name(&commands, "reset");
        let subs = reset["options"].as_array().unwrap();
        assert_eq!(subs.len(), 3);
        for sub in subs {
            assert_eq!(sub["type"], 1, "subcommand");
        }
        let user = &subs[0]["options"];
        assert_eq!(user[0]["name"], "user");
        assert_eq!(user[0]["type"], 3);
        assert_eq!(user[0]["required"], true);
        assert_eq!(
            user[0]["max_length"],
            OptionKind::UserRef.max_len().unwrap()
        );
        assert_eq!(user[1]["name"], "dry-run");
        assert_eq!(user[1]["type"], 5, "boolean");
        assert_eq!(user[1]["required"], false);
        let inactive = &subs[2]["options"][0];
        assert_eq!(inactive["name"], "created-within-days");
        assert_eq!(inactive["type"], 4, "integer");
        assert_eq!(inactive["min_value"], 1);
        assert_eq!(inactive["max_value"], 3650);

        let notify = by_name(&commands, "notify")["options"].as_array().unwrap();
        assert_eq!(notify[0]["name"], "assigned-resource-type");
        assert_eq!(notify[0]["type"], 3, "64-bit ids travel as text");
        assert_eq!(notify[0]["max_length"], 20);
        assert_eq!(notify[2]["name"], "cc");
        assert_eq!(notify[2]["required"], false);
        assert!(
            notify
                .iter()
                .all(|o| !o["name"].as_str().unwrap().contains("pass")),
            "no password option"
        );

        let help = by_name(&commands, "help")["options"].as_array().unwrap();
        let choices: Vec<&str> = help[0]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["value"].as_str())
            .collect();
        assert_eq!(choices, ["reset", "expire", "notify"]);
    }

    #[test]
    fn username_and_group_options_ask_for_autocomplete_and_no_other_does() {
        fn walk(path: &str, options: &[Value], out: &mut Vec<String>) {
            for option in options {
                let here = format!("{path}/{}", option["name"].as_str().unwrap());
                if option["autocomplete"] == true {
                    assert!(
                        option["choices"].as_array().is_none_or(Vec::is_empty),
                        "{here}: Discord refuses autocomplete with choices"
                    );
                    assert_eq!(option["type"], 3, "{here}: a string option");
                    out.push(here.clone());
                }
                if let Some(inner) = option["options"].as_array() {
                    walk(&here, inner, out);
                }
            }
        }
        let mut autocompleted = Vec::new();
        for command in registered() {
            let name = command["name"].as_str().unwrap().to_owned();
            walk(
                &name,
                command["options"].as_array().unwrap(),
                &mut autocompleted,
            );
        }
        assert_eq!(
            autocompleted,
            ["reset/user/user", "reset/group/group", "expire/user"]
        );
    }

    #[test]
    fn required_options_come_first_everywhere() {
        fn check(options: &[Value]) {
            let mut optional_seen = false;
            for option in options {
                let required = option["required"].as_bool().unwrap_or(false);
                assert!(!(required && optional_seen), "{option}");
                optional_seen |= !required;
                if let Some(inner) = option["options"].as_array() {
                    check(inner);
                }
            }
        }
        for command in registered() {
            check(command["options"].as_array().unwrap());
        }
    }
}
