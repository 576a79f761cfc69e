//! The command catalogue: every command, subcommand and option Passdesk understands, as plain
//! data.
//!
//! One definition feeds Discord registration (slash commands with subcommands, options, limits
//! and choices), Slack text parsing, the demo console, [`help_text`] and the parser in
//! [`crate::parse`](mod@crate::parse), which derives the options it accepts from here so the two cannot drift.
//! Nothing in this module names a chat platform.
//!
//! Names follow Discord's rules for slash commands (lowercase, 1–32 characters of letters,
//! digits, `-` and `_`) and descriptions fit in 100 characters; a test checks both.
//!
//! # Subcommands and their value
//!
//! A command has either subcommands or options, never both (as Discord requires). A subcommand
//! may have a *primary option* named like the subcommand itself, always its first option and
//! required: `reset user` has the option `user`, so `reset user:jane.doe` both picks the
//! subcommand and gives its value (see [`crate::parse`](mod@crate::parse) for every accepted form).

use std::fmt::Write as _;

use passdesk_core::identity_manager::AssignedResourceTypeId;
use passdesk_core::jumpcloud::{GroupName, Username};

/// The name of the `help` command.
pub const HELP: &str = "help";
/// The `reset` command.
pub const RESET: &str = "reset";
/// The `expire` command.
pub const EXPIRE: &str = "expire";
/// The `notify` command.
pub const NOTIFY: &str = "notify";

/// `reset user` / option `user` (also `expire user:`).
pub const OPT_USER: &str = "user";
/// `reset group` / option `group`.
pub const OPT_GROUP: &str = "group";
/// `reset inactive` (a subcommand without a primary option).
pub const SUB_INACTIVE: &str = "inactive";
/// `created-within-days` of `reset inactive`.
pub const OPT_CREATED_WITHIN_DAYS: &str = "created-within-days";
/// `assigned-resource-type` of `notify`.
pub const OPT_ASSIGNED_RESOURCE_TYPE: &str = "assigned-resource-type";
/// `resource-type-mapping` of `notify`.
pub const OPT_RESOURCE_TYPE_MAPPING: &str = "resource-type-mapping";
/// `cc` of `notify`.
pub const OPT_CC: &str = "cc";
/// `dry-run`, taken by every operation command.
pub const OPT_DRY_RUN: &str = "dry-run";
/// `command` of `help`.
pub const OPT_COMMAND: &str = "command";

/// The longest mail address accepted (RFC 5321), as `passdesk_core::mail::Email` enforces.
const EMAIL_MAX_LEN: usize = 254;
/// The longest Identity Manager id in characters (`-9223372036854775808`).
const ID64_MAX_LEN: usize = 20;

/// One top-level command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command name as typed, without a slash (`reset`).
    pub name: &'static str,
    /// One line, at most 100 characters (Discord's limit).
    pub description: &'static str,
    /// A longer explanation for [`help_text`].
    pub help: &'static str,
    /// Subcommands or options.
    pub body: CommandBody,
}

/// What follows a command name: a choice of subcommands, or options directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandBody {
    /// The command needs exactly one of these subcommands (`reset user|group|inactive`).
    Subcommands(&'static [SubcommandSpec]),
    /// The command takes these options directly (`expire user:…`).
    Options(&'static [OptionSpec]),
}

/// One subcommand of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubcommandSpec {
    /// The subcommand name (`user`).
    pub name: &'static str,
    /// One line, at most 100 characters.
    pub description: &'static str,
    /// Its options; the first one may be its primary option (same name, required).
    pub options: &'static [OptionSpec],
}

/// One option of a command or subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The option name (`created-within-days`); matched case-insensitively.
    pub name: &'static str,
    /// What values it takes.
    pub kind: OptionKind,
    /// Whether it must be given.
    pub required: bool,
    /// One line, at most 100 characters.
    pub description: &'static str,
    /// When non-empty, the only values accepted (matched case-insensitively).
    pub choices: &'static [Choice],
    /// Whether platforms offer suggestions from the directory while it is typed (JumpCloud
    /// usernames for [`OptionKind::UserRef`], group names for [`OptionKind::GroupName`]; see
    /// `Engine::autocomplete`). Never set together with `choices`.
    pub autocomplete: bool,
}

/// An allowed value of an option with fixed choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// What people see.
    pub name: &'static str,
    /// What the parser receives.
    pub value: &'static str,
}

/// The type of an option's value, and its limits.
///
/// Platforms map these to their own types: on Discord every kind but `Integer` and `Boolean` is
/// a string option (an Identity Manager id is a 64-bit integer, beyond Discord's ±2^53 integer
/// options), with [`OptionKind::max_len`] as its `max_length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text without control characters, at most `max_len` characters.
    String {
        /// The longest value accepted, in characters.
        max_len: usize,
    },
    /// A whole number between `min` and `max` inclusive.
    Integer {
        /// The smallest value accepted.
        min: i64,
        /// The largest value accepted.
        max: i64,
    },
    /// `true`/`false`, `yes`/`no` or `1`/`0`, case-insensitive; a bare option name means `true`.
    Boolean,
    /// A JumpCloud username or user id ([`crate::request::UserRef`]).
    UserRef,
    /// A JumpCloud user group name ([`GroupName`]).
    GroupName,
    /// A mail address (`passdesk_core::mail::Email`).
    Email,
    /// An Identity Manager id: a 64-bit signed integer.
    Id64,
}

impl OptionKind {
    /// The longest value accepted, in characters, for kinds sent as text.
    pub fn max_len(self) -> Option<usize> {
        match self {
            OptionKind::String { max_len } => Some(max_len),
            OptionKind::UserRef => Some(Username::MAX_LEN),
            OptionKind::GroupName => Some(GroupName::MAX_LEN),
            OptionKind::Email => Some(EMAIL_MAX_LEN),
            OptionKind::Id64 => Some(ID64_MAX_LEN),
            OptionKind::Integer { .. } | OptionKind::Boolean => None,
        }
    }

    /// What to write in a usage line, e.g. `<username or user id>`.
    pub fn placeholder(self) -> String {
        match self {
            OptionKind::String { .. } => "<text>".to_owned(),
            OptionKind::Integer { min, max } => format!("<{min}..{max}>"),
            OptionKind::Boolean => "<true|false>".to_owned(),
            OptionKind::UserRef => "<username or user id>".to_owned(),
            OptionKind::GroupName => "<group name>".to_owned(),
            OptionKind::Email => "<email>".to_owned(),
            OptionKind::Id64 => "<id>".to_owned(),
        }
    }

    /// A valid example value, for help text and error messages.
    pub fn example(self) -> String {
        match self {
            OptionKind::String { .. } => "text".to_owned(),
            OptionKind::Integer { min, max } => {
                // A round number inside the range when there is one.
                let preferred = 7_i64.clamp(min, max);
                preferred.to_string()
            }
            OptionKind::Boolean => "true".to_owned(),
            OptionKind::UserRef => "jane.doe".to_owned(),
            OptionKind::GroupName => "IT Support".to_owned(),
            OptionKind::Email => "jane.doe@acme.com".to_owned(),
            OptionKind::Id64 => AssignedResourceTypeId::new(1000).to_string(),
        }
    }

    /// What is accepted, in words, for error messages.
    pub fn accepted(self) -> String {
        match self {
            OptionKind::String { max_len } => {
                format!("text of at most {max_len} characters, without control characters")
            }
            OptionKind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            OptionKind::Boolean => "true or false (also yes/no, 1/0)".to_owned(),
            OptionKind::UserRef => "a JumpCloud user id (24 lowercase hex characters) or a \
                                    username (letters, digits, `.`, `-`, `_`)"
                .to_owned(),
            OptionKind::GroupName => format!(
                "a JumpCloud user group name of at most {} characters",
                GroupName::MAX_LEN
            ),
            OptionKind::Email => "one mail address such as jane.doe@acme.com".to_owned(),
            OptionKind::Id64 => "an Identity Manager id: a whole number such as 1000".to_owned(),
        }
    }
}

impl OptionSpec {
    /// The option as it appears in a usage line: `name:<placeholder>`, in brackets when optional.
    pub fn usage(&self) -> String {
        let placeholder = if self.choices.is_empty() {
            self.kind.placeholder()
        } else {
            let values: Vec<&str> = self.choices.iter().map(|c| c.value).collect();
            format!("<{}>", values.join("|"))
        };
        if self.required {
            format!("{}:{placeholder}", self.name)
        } else {
            format!("[{}:{placeholder}]", self.name)
        }
    }
}

impl SubcommandSpec {
    /// The primary option: the first option when it has the subcommand's name.
    pub fn primary_option(&self) -> Option<&'static OptionSpec> {
        self.options.first().filter(|o| o.name == self.name)
    }

    /// The option with this (lowercase) name.
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }

    /// The usage line after the command name: `user:<username or user id> [dry-run:<true|false>]`.
    pub fn usage(&self) -> String {
        let mut line = String::new();
        let rest = match self.primary_option() {
            Some(primary) => {
                line.push_str(&primary.usage());
                self.options.get(1..).unwrap_or_default()
            }
            None => {
                line.push_str(self.name);
                self.options
            }
        };
        for option in rest {
            line.push(' ');
            line.push_str(&option.usage());
        }
        line
    }
}

impl CommandSpec {
    /// Its subcommands (empty when it takes options directly).
    pub fn subcommands(&self) -> &'static [SubcommandSpec] {
        match self.body {
            CommandBody::Subcommands(subs) => subs,
            CommandBody::Options(_) => &[],
        }
    }

    /// Its direct options (empty when it has subcommands).
    pub fn options(&self) -> &'static [OptionSpec] {
        match self.body {
            CommandBody::Subcommands(_) => &[],
            CommandBody::Options(options) => options,
        }
    }

    /// The subcommand with this (lowercase) name.
    pub fn subcommand(&self, name: &str) -> Option<&'static SubcommandSpec> {
        self.subcommands().iter().find(|s| s.name == name)
    }

    /// The option named `name` (ASCII case-insensitive) that offers directory suggestions, in
    /// the command's own options or any subcommand's; `None` when no such option autocompletes.
    pub fn autocomplete_option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options()
            .iter()
            .chain(self.subcommands().iter().flat_map(|s| s.options.iter()))
            .find(|o| o.autocomplete && o.name.eq_ignore_ascii_case(name))
    }

    /// One usage line per form, e.g. `reset user:<username or user id> [dry-run:<true|false>]`.
    pub fn usage_lines(&self) -> Vec<String> {
        match self.body {
            CommandBody::Subcommands(subs) => subs
                .iter()
                .map(|s| format!("{} {}", self.name, s.usage()))
                .collect(),
            CommandBody::Options(options) => {
                let mut line = self.name.to_owned();
                for option in options {
                    line.push(' ');
                    line.push_str(&option.usage());
                }
                vec![line]
            }
        }
    }
}

const DRY_RUN: OptionSpec = OptionSpec {
    name: OPT_DRY_RUN,
    kind: OptionKind::Boolean,
    required: false,
    description: "Only show what would happen; change nothing",
    choices: &[],
    autocomplete: false,
};

const USER: OptionSpec = OptionSpec {
    name: OPT_USER,
    kind: OptionKind::UserRef,
    required: true,
    description: "JumpCloud username, or user id (24 hex characters)",
    choices: &[],
    autocomplete: true,
};

const RESET_SPEC: CommandSpec = CommandSpec {
    name: RESET,
    description: "Send a JumpCloud activation or password reset mail",
    help: "Sends the mail JumpCloud's Send-JCPasswordReset sends: an activation mail to users who \
           have not set a password yet, a reset mail to active users; suspended users are \
           skipped. Nothing is sent before you confirm.",
    body: CommandBody::Subcommands(&[
        SubcommandSpec {
            name: OPT_USER,
            description: "One user, by username or user id",
            options: &[USER, DRY_RUN],
        },
        SubcommandSpec {
            name: OPT_GROUP,
            description: "Every member of a JumpCloud user group",
            options: &[
                OptionSpec {
                    name: OPT_GROUP,
                    kind: OptionKind::GroupName,
                    required: true,
                    description: "The user group's name, as shown in JumpCloud",
                    choices: &[],
                    autocomplete: true,
                },
                DRY_RUN,
            ],
        },
        SubcommandSpec {
            name: SUB_INACTIVE,
            description: "Every user who has not activated their account yet",
            options: &[
                OptionSpec {
                    name: OPT_CREATED_WITHIN_DAYS,
                    kind: OptionKind::Integer { min: 1, max: 3650 },
                    required: false,
                    description: "Only users created in the last N days",
                    choices: &[],
                    autocomplete: false,
                },
                DRY_RUN,
            ],
        },
    ]),
};

const EXPIRE_SPEC: CommandSpec = CommandSpec {
    name: EXPIRE,
    description: "Expire a JumpCloud user's password so they must choose a new one",
    help: "Expires the password as Invoke-JcSdkExpireUserPassword does; the user must set a new \
           password at their next login. Nothing changes before you confirm.",
    body: CommandBody::Options(&[USER, DRY_RUN]),
};

const NOTIFY_SPEC: CommandSpec = CommandSpec {
    name: NOTIFY,
    description: "Mail an Identity Manager password notification",
    help: "Sends the mail Usercube-Send-PasswordNotification sends, to the person the resource \
           type mapping's password reset settings name. The password is not a command option: \
           after you confirm, Passdesk asks for it in a private prompt and mails it; it is never \
           stored, logged or shown.",
    body: CommandBody::Options(&[
        OptionSpec {
            name: OPT_ASSIGNED_RESOURCE_TYPE,
            kind: OptionKind::Id64,
            required: true,
            description: "Id of the assigned resource type (the user's account in the system)",
            choices: &[],
            autocomplete: false,
        },
        OptionSpec {
            name: OPT_RESOURCE_TYPE_MAPPING,
            kind: OptionKind::Id64,
            required: true,
            description: "Id of the resource type mapping (equals its resource type's id)",
            choices: &[],
            autocomplete: false,
        },
        OptionSpec {
            name: OPT_CC,
            kind: OptionKind::Email,
            required: false,
            description: "Also send a copy to this address",
            choices: &[],
            autocomplete: false,
        },
        DRY_RUN,
    ]),
};

const HELP_SPEC: CommandSpec = CommandSpec {
    name: HELP,
    description: "Show the commands Passdesk understands",
    help: "Lists every command, or explains one.",
    body: CommandBody::Options(&[OptionSpec {
        name: OPT_COMMAND,
        kind: OptionKind::String { max_len: 32 },
        required: false,
        description: "Explain only this command",
        choices: &[
            Choice {
                name: RESET,
                value: RESET,
            },
            Choice {
                name: EXPIRE,
                value: EXPIRE,
            },
            Choice {
                name: NOTIFY,
                value: NOTIFY,
            },
        ],
        autocomplete: false,
    }]),
};

static CATALOGUE: [CommandSpec; 4] = [RESET_SPEC, EXPIRE_SPEC, NOTIFY_SPEC, HELP_SPEC];

/// Every command, in the order help lists them: `reset`, `expire`, `notify`, `help`.
pub fn catalogue() -> &'static [CommandSpec] {
    &CATALOGUE
}

/// The command with this name (ASCII case-insensitive, surrounding whitespace ignored).
pub fn command(name: &str) -> Option<&'static CommandSpec> {
    let name = name.trim();
    catalogue()
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The full help: every command with its usage lines, options and explanation.
pub fn help_text() -> String {
    let mut out = String::from(
        "Passdesk commands. Options are written name:value; every change is shown to you for \
         confirmation first, and dry-run:true only shows what would happen.\n",
    );
    for spec in catalogue() {
        out.push('\n');
        out.push_str(&command_help(spec));
    }
    out
}

/// The help of one command: its description, usage lines, options and explanation.
pub fn command_help(spec: &CommandSpec) -> String {
    let mut out = format!("{} — {}\n", spec.name, spec.description);
    for line in spec.usage_lines() {
        let _ = writeln!(out, "  {line}");
    }
    let mut seen: Vec<&str> = Vec::new();
    let all_options = spec
        .options()
        .iter()
        .chain(spec.subcommands().iter().flat_map(|s| s.options.iter()));
    for option in all_options {
        if seen.contains(&option.name) {
            continue;
        }
        seen.push(option.name);
        let _ = writeln!(out, "    {}: {}", option.name, option.description);
    }
    let _ = writeln!(out, "  {}", spec.help);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discord_name_ok(name: &str) -> bool {
        (1..=32).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
    }

    fn description_ok(d: &str) -> bool {
        (1..=100).contains(&d.chars().count())
    }

    fn check_options(owner: &str, options: &[OptionSpec]) {
        assert!(options.len() <= 25, "{owner}: more than 25 options");
        let mut seen_optional = false;
        let mut names = Vec::new();
        for o in options {
            assert!(discord_name_ok(o.name), "{owner}: option name {:?}", o.name);
            assert!(description_ok(o.description), "{owner}/{}", o.name);
            assert!(
                !names.contains(&o.name),
                "{owner}: duplicate option {}",
                o.name
            );
            names.push(o.name);
            assert!(
                !(o.required && seen_optional),
                "{owner}: required option {} after an optional one",
                o.name
            );
            seen_optional |= !o.required;
            assert!(o.choices.len() <= 25, "{owner}/{}", o.name);
            for c in o.choices {
                assert!((1..=100).contains(&c.name.len()) && c.value.len() <= 100);
            }
            if let OptionKind::Integer { min, max } = o.kind {
                assert!(min <= max, "{owner}/{}", o.name);
                // Discord integer options are limited to ±2^53.
                assert!(min.abs() <= 1 << 53 && max.abs() <= 1 << 53);
            }
            if let Some(max) = o.kind.max_len() {
                assert!((1..=6000).contains(&max), "{owner}/{}", o.name);
            }
        }
    }

    #[test]
    fn every_name_and_description_fits_discord_rules() {
        let mut names = Vec::new();
        for c in catalogue() {
            assert!(discord_name_ok(c.name), "{}", c.name);
            assert!(description_ok(c.description), "{}", c.name);
            assert!(!c.help.is_empty(), "{}", c.name);
            assert!(!names.contains(&c.name), "duplicate command {}", c.name);
            names.push(c.name);
            check_options(c.name, c.options());
            let mut subs = Vec::new();
            for s in c.subcommands() {
                assert!(discord_name_ok(s.name), "{}/{}", c.name, s.name);
                assert!(description_ok(s.description), "{}/{}", c.name, s.name);
                assert!(!subs.contains(&s.name), "duplicate subcommand {}", s.name);
                subs.push(s.name);
                check_options(&format!("{} {}", c.name, s.name), s.options);
            }
            assert!(c.subcommands().len() <= 25);
        }
    }

    #[test]
    fn a_subcommand_named_like_an_option_has_it_first_and_required() {
        for c in catalogue() {
            for s in c.subcommands() {
                if let Some(option) = s.option(s.name) {
                    assert_eq!(s.primary_option(), Some(option), "{} {}", c.name, s.name);
                    assert!(option.required, "{} {}", c.name, s.name);
                }
            }
        }
    }

    #[test]
    fn every_operation_command_and_subcommand_takes_dry_run() {
        for c in catalogue().iter().filter(|c| c.name != HELP) {
            let option_sets: Vec<&[OptionSpec]> = match c.body {
                CommandBody::Options(o) => vec![o],
                CommandBody::Subcommands(subs) => subs.iter().map(|s| s.options).collect(),
            };
            for options in option_sets {
                let dry_run = options.iter().find(|o| o.name == OPT_DRY_RUN);
                assert_eq!(dry_run, Some(&DRY_RUN), "{}", c.name);
            }
        }
    }

    #[test]
    fn user_and_group_options_autocomplete_and_nothing_else_does() {
        let mut offered = Vec::new();
        for c in catalogue() {
            let forms = c.options().iter().map(|o| (c.name.to_owned(), o)).chain(
                c.subcommands().iter().flat_map(|s| {
                    s.options
                        .iter()
                        .map(move |o| (format!("{} {}", c.name, s.name), o))
                }),
            );
            for (owner, o) in forms {
                let directory = matches!(o.kind, OptionKind::UserRef | OptionKind::GroupName);
                assert_eq!(o.autocomplete, directory, "{owner}/{}", o.name);
                assert!(
                    !o.autocomplete || o.choices.is_empty(),
                    "{owner}/{}: Discord refuses autocomplete with choices",
                    o.name
                );
                if o.autocomplete {
                    offered.push(format!("{owner}/{}", o.name));
                }
            }
        }
        assert_eq!(
            offered,
            ["reset user/user", "reset group/group", "expire/user"]
        );
    }

    #[test]
    fn autocomplete_options_are_found_by_command_and_option_name() {
        let reset = command("reset").unwrap();
        assert_eq!(
            reset.autocomplete_option("group").map(|o| o.kind),
            Some(OptionKind::GroupName)
        );
        assert_eq!(
            reset.autocomplete_option("USER").map(|o| o.kind),
            Some(OptionKind::UserRef)
        );
        assert_eq!(reset.autocomplete_option("dry-run"), None);
        assert_eq!(reset.autocomplete_option("created-within-days"), None);
        let expire = command("expire").unwrap();
        assert!(expire.autocomplete_option("user").is_some());
        assert_eq!(expire.autocomplete_option("group"), None);
        assert_eq!(
            command("help").unwrap().autocomplete_option("command"),
            None
        );
        assert_eq!(command("notify").unwrap().autocomplete_option("cc"), None);
    }

    #[test]
    fn no_command_takes_a_password_option() {
        for c in catalogue() {
            let names = c
                .options()
                .iter()
                .chain(c.subcommands().iter().flat_map(|s| s.options.iter()))
                .map(|o| o.name);
            for name in names {
                assert!(!name.contains("pass") && !name.contains("pwd"), "{name}");
            }
        }
    }

    #[test]
    fn usage_lines_show_each_form() {
        let reset = command("reset").unwrap();
        assert_eq!(
            reset.usage_lines(),
            [
                "reset user:<username or user id> [dry-run:<true|false>]",
                "reset group:<group name> [dry-run:<true|false>]",
                "reset inactive [created-within-days:<1..3650>] [dry-run:<true|false>]",
            ]
        );
        assert_eq!(
            command("NOTIFY ").unwrap().usage_lines(),
            [
                "notify assigned-resource-type:<id> resource-type-mapping:<id> [cc:<email>] \
              [dry-run:<true|false>]"
            ]
        );
        assert_eq!(
            command("help").unwrap().usage_lines(),
            ["help [command:<reset|expire|notify>]"]
        );
        assert_eq!(command("nope"), None);
    }

    #[test]
    fn help_text_lists_every_command_form_and_option() {
        let help = help_text();
        for c in catalogue() {
            assert!(help.contains(&format!("{} — {}", c.name, c.description)));
            for line in c.usage_lines() {
                assert!(help.contains(&line), "{line}");
            }
            for o in c
                .options()
                .iter()
                .chain(c.subcommands().iter().flat_map(|s| s.options.iter()))
            {
                assert!(help.contains(&format!("{}: {}", o.name, o.description)));
            }
        }
        assert!(
            help.contains("private prompt"),
            "notify help explains the password"
        );
    }

    #[test]
    fn examples_and_limits_agree_with_the_core_types() {
        assert!(OptionKind::UserRef.example().parse::<Username>().is_ok());
        assert!(OptionKind::GroupName.example().parse::<GroupName>().is_ok());
        assert!(
            OptionKind::Email
                .example()
                .parse::<passdesk_core::mail::Email>()
                .is_ok()
        );
        assert!(
            OptionKind::Id64
                .example()
                .parse::<AssignedResourceTypeId>()
                .is_ok()
        );
        assert_eq!(
            i64::MIN.to_string().len(),
            OptionKind::Id64.max_len().unwrap()
        );
        let long_email = format!("{}@acme.com", "a".repeat(EMAIL_MAX_LEN));
        assert!(long_email.parse::<passdesk_core::mail::Email>().is_err());
        assert_eq!(OptionKind::Integer { min: 1, max: 3650 }.example(), "7");
        assert_eq!(OptionKind::Integer { min: 10, max: 20 }.example(), "10");
    }
}
