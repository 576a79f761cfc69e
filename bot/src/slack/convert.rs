//! From Slack's requests to the engine's inputs: a slash command's `text` becomes an
//! [`Invocation`] (its first word the command, `help` included), a button press a [`Press`].
//!
//! The text is split by [`passdesk_commands::split_text`] (`reset user:jcuser.one dry-run:true`),
//! then two conveniences people type in Slack are read where they are unambiguous:
//!
//! - **flags**: `--dry-run` is `dry-run`, and `--name=value` is `name:value`;
//! - **positional values**: a bare word that is not an option or subcommand name fills the
//!   next value-taking option of the command or subcommand that was not given by name, in
//!   catalogue order: `expire jcuser.one` is `expire user:jcuser.one`, `reset user jcuser.one`
//!   is `reset user:jcuser.one`, `notify 1000 10` is `notify assigned-resource-type:1000
//!   resource-type-mapping:10`. `reset jcuser.one` stays as typed (user or group?), and the
//!   parser's refusal explains the forms.
//!
//! The actor is the Slack user id (never the deprecated `user_name`, used only for display),
//! with the configured user groups they are in as roles (looked up by [`super::roles`]); the
//! tenant is the workspace's `team_id`; the channel is the conversation's id.

use passdesk_commands::catalogue::{self, CommandBody, OptionKind, OptionSpec};
use passdesk_commands::ids::ButtonId;
use passdesk_commands::{Actor, Invocation, Platform, Press, UsageError};

/// A slash command's text as `(command, options)`, with flags and positional values read as
/// the [module docs](self) say.
///
/// # Errors
///
/// An unclosed double quote.
pub fn command_text(text: &str) -> Result<(String, Vec<(String, String)>), UsageError> {
    let (command, options) = passdesk_commands::split_text(text)?;
    let options = options.into_iter().map(flag).collect();
    Ok((command.clone(), positional(&command, options)))
}

/// `--name` → `(name, "")`, `--name=value` → `(name, value)`.
fn flag((name, value): (String, String)) -> (String, String) {
    match name.strip_prefix("--") {
        Some(rest) if value.is_empty() && !rest.is_empty() => match rest.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (rest.to_owned(), String::new()),
        },
        Some(rest) if !rest.is_empty() => (rest.to_owned(), value),
        _ => (name, value),
    }
}

/// The options that take a value (not booleans), in catalogue order.
fn value_slots(options: &'static [OptionSpec]) -> impl Iterator<Item = &'static OptionSpec> {
    options
        .iter()
        .filter(|o| !matches!(o.kind, OptionKind::Boolean))
}

/// Gives bare words that name nothing to the next value option not given by name.
fn positional(command: &str, options: Vec<(String, String)>) -> Vec<(String, String)> {
    let Some(spec) = catalogue::command(command) else {
        return options;
    };
    if spec.name == catalogue::HELP {
        // `help reset` is the parser's own shorthand.
        return options;
    }
    let (known, start): (&'static [OptionSpec], usize) = match spec.body {
        CommandBody::Options(known) => (known, 0),
        CommandBody::Subcommands(subs) => {
            let Some((first, _)) = options.first() else {
                return options;
            };
            match subs
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(first.trim()))
            {
                Some(sub) => (sub.options, 1),
                // Not a subcommand: ambiguous (`reset jcuser.one`), left to the parser.
                None => return options,
            }
        }
    };
    let named = |name: &str| {
        known
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(name.trim()))
    };
    let mut given: Vec<String> = options
        .iter()
        .filter(|(name, value)| !value.is_empty() && named(name))
        .map(|(name, _)| name.trim().to_ascii_lowercase())
        .collect();
    // A subcommand written as `user:jcuser.one` gives its primary option.
    if start == 1 {
        if let Some((sub, value)) = options.first() {
            if !value.is_empty() {
                given.push(sub.trim().to_ascii_lowercase());
            }
        }
    }
    let mut out = Vec::with_capacity(options.len());
    for (index, (name, value)) in options.into_iter().enumerate() {
        let bare = value.is_empty() && !name.trim().is_empty() && index >= start && !named(&name);
        if bare {
            let slot = value_slots(known).find(|o| !given.iter().any(|g| g == o.name));
            if let Some(slot) = slot {
                given.push(slot.name.to_owned());
                out.push((slot.name.to_owned(), name));
                continue;
            }
        }
        out.push((name, value));
    }
    out
}

/// The actor: the user id, a display name, and the role ids (user groups) looked up.
pub fn actor(user_id: &str, display_name: Option<&str>, roles: Vec<String>) -> Actor {
    Actor {
        platform: Platform::Slack,
        id: user_id.to_owned(),
        display_name: display_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(user_id)
            .to_owned(),
        roles,
    }
}

/// A slash command as an [`Invocation`]; `None` with the usage error when the text cannot be
/// split.
///
/// # Errors
///
/// An unclosed double quote in the text.
pub fn invocation(
    actor: Actor,
    team_id: &str,
    channel_id: &str,
    interaction_id: String,
    text: &str,
) -> Result<Invocation, UsageError> {
    let (command, options) = command_text(text)?;
    Ok(Invocation {
        actor,
        channel: Some(channel_id.to_owned()),
        tenant: Some(team_id.to_owned()),
        interaction_id,
        command,
        options,
    })
}

/// The button of a press: `action_id` `pd:<action>` and `value` the pending id, as
/// [`super::render`] writes them.
pub fn button(action_id: &str, value: Option<&str>) -> Option<ButtonId> {
    let value = value?;
    format!("{action_id}:{value}").parse().ok()
}

/// A press as the engine's [`Press`].
pub fn press(
    actor: Actor,
    team_id: Option<&str>,
    channel_id: Option<&str>,
    interaction_id: String,
    button: ButtonId,
) -> Press {
    Press {
        actor,
        channel: channel_id.map(str::to_owned),
        tenant: team_id.map(str::to_owned),
        interaction_id,
        button,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_commands::ids::{ButtonAction, PendingId};

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn text_forms_people_type_become_options_the_parser_accepts() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
        #[rustfmt::skip]
        let table: &[Case<'_>] = &[
            ("reset user:jcuser.one dry-run:true", "reset", &[("user", "jcuser.one"), ("dry-run", "true")]),
            ("reset user:jcuser.one --dry-run", "reset", &[("user", "jcuser.one"), ("dry-run", "")]),
            ("reset user --user=jcuser.one", "reset", &[("user", ""), ("user", "jcuser.one")]),
            ("reset user jcuser.one", "reset", &[("user", ""), ("user", "jcuser.one")]),
            ("reset group \"IT Support\" dry-run", "reset", &[("group", ""), ("group", "IT Support"), ("dry-run", "")]),
            ("reset inactive 7", "reset", &[("inactive", ""), ("created-within-days", "7")]),
            ("expire jcuser.one", "expire", &[("user", "jcuser.one")]),
            ("expire jcuser.one --dry-run", "expire", &[("user", "jcuser.one"), ("dry-run", "")]),
            ("notify 1000 10", "notify", &[("assigned-resource-type", "1000"), ("resource-type-mapping", "10")]),
            ("notify resource-type-mapping:10 1000", "notify", &[("resource-type-mapping", "10"), ("assigned-resource-type", "1000")]),
            ("help reset", "help", &[("reset", "")]),
            ("help", "help", &[]),
            // Ambiguous: left as typed, the parser refuses and explains.
            ("reset jcuser.one", "reset", &[("jcuser.one", "")]),
            // Nothing left to fill: left as typed.
            ("expire user:jcuser.one extra", "expire", &[("user", "jcuser.one"), ("extra", "")]),
        ];
        for (text, command, options) in table {
            let (name, got) = command_text(text).unwrap();
            assert_eq!(&name, command, "{text}");
            assert_eq!(got, pairs(options), "{text}");
        }
        for text in [
            "reset user:jcuser.one dry-run:true",
            "reset user:jcuser.one --dry-run",
            "reset user jcuser.one",
            "expire jcuser.one --dry-run",
            "notify 1000 10",
            "reset inactive 7",
            "help reset",
        ] {
            let (command, options) = command_text(text).unwrap();
            let parsed = passdesk_commands::parse::parse_command(&command, &options);
            assert!(
                parsed.is_ok() || text.starts_with("help"),
                "{text}: {parsed:?}"
            );
        }
        let ambiguous = command_text("reset jcuser.one").unwrap();
        assert!(passdesk_commands::parse::parse_command(&ambiguous.0, &ambiguous.1).is_err());
        assert!(command_text("reset group:\"IT").is_err());
    }

    #[test]
    fn a_button_is_its_action_id_and_the_pending_id_value() {
        let pending = PendingId::random();
        let id = button("pd:confirm", Some(&pending.to_string())).unwrap();
        assert_eq!(id.action, ButtonAction::Confirm);
        assert_eq!(id.pending, pending);
        assert!(button("pd:confirm", None).is_none());
        assert!(button("pd:confirm", Some("7f3a9c")).is_none());
        assert!(button("other:thing", Some(&pending.to_string())).is_none());
    }

    #[test]
    fn the_actor_is_the_user_id_and_its_name_only_for_display() {
        let actor = actor("U0REQUEST1", Some(""), vec!["S0HELPDESK".to_owned()]);
        assert_eq!(actor.platform, Platform::Slack);
        assert_eq!(actor.display_name, "U0REQUEST1");
        assert_eq!(actor.roles, ["S0HELPDESK"]);
    }
}
