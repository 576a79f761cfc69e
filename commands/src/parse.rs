//! From an [`Invocation`] to a typed [`Request`], or a [`UsageError`] that says what is wrong
//! and what is accepted.
//!
//! The options accepted are exactly those of the [catalogue](mod@crate::catalogue): names, kinds,
//! required flags, choices and limits all come from there.
//!
//! # How an invocation is read
//!
//! - **Names.** Command, subcommand and option names are matched ASCII case-insensitively after
//!   trimming surrounding whitespace (`Reset USER:jane` is `reset user:jane`); Discord only sends
//!   lowercase names, and people typing in Slack or the console should not be refused for a
//!   capital letter.
//! - **Values** are trimmed of surrounding whitespace, then validated by their kind: usernames
//!   and ids by [`UserRef`], group names by `GroupName`, addresses by `Email`, Identity Manager
//!   ids as 64-bit integers, numbers against their range, booleans as `true`/`false`, `yes`/`no`
//!   or `1`/`0` (case-insensitive). A boolean option given without a value (`dry-run` alone)
//!   means `true`. Any other option needs a value.
//! - **Subcommands** (`reset user|group|inactive`) are always the **first option**, in one of two
//!   forms, which adapters may use interchangeably:
//!   1. *Shorthand* `(sub, value)` with a non-empty value: names the subcommand and gives its
//!      primary option, the option named like the subcommand (`[("user", "jane.doe")]` is
//!      `reset user` with `user = jane.doe`). A subcommand without a primary option refuses a
//!      value (`inactive:7`).
//!   2. *Marker* `(sub, "")`: names the subcommand only; its options follow, the primary one
//!      included (`[("user", ""), ("user", "jane.doe")]`, which is how a Discord subcommand
//!      flattens, and `[("inactive", ""), ("created-within-days", "7")]`).
//!
//!   The remaining options may come in any order.
//! - **Refused:** an unknown command or subcommand; a missing subcommand or required option; an
//!   option the command or subcommand does not have; an option given twice (a primary option
//!   given both in the shorthand and again counts as twice); a second subcommand; an invalid
//!   value. An option whose name looks like a password (`password`, `pwd`, `secret`, …) is
//!   refused with an explanation, and its value is never repeated: the notification's password
//!   is asked for after confirmation, in a private prompt. Messages never repeat the value of an
//!   unknown option, and repeat other values only as a bounded excerpt.
//! - **`help`** answers with [`UsageProblem::HelpRequested`], whose rendering is the help text
//!   (of one command with `help command:reset` or `help reset`), so `help` never reaches policy.
//!
//! [`split_text`] turns a line of text (Slack's `text`, the console) into the command and
//! options of an [`Invocation`]: words separated by whitespace, `name:value` split at the first
//! `:`, a bare word being `(word, "")`, and double quotes (straight or curly, as Slack clients
//! may send) grouping words: `reset group:"IT Support"`.

use std::fmt;

use passdesk_core::identity_manager::{AssignedResourceTypeId, ResourceTypeMappingId};
use passdesk_core::jumpcloud::GroupName;
use passdesk_core::mail::Email;

use crate::catalogue::{
    self, CommandBody, CommandSpec, OPT_ASSIGNED_RESOURCE_TYPE, OPT_CC, OPT_COMMAND,
    OPT_CREATED_WITHIN_DAYS, OPT_DRY_RUN, OPT_GROUP, OPT_RESOURCE_TYPE_MAPPING, OPT_USER,
    OptionKind, OptionSpec, SUB_INACTIVE, SubcommandSpec,
};
use crate::invocation::Invocation;
use crate::request::{Request, ResetTarget, UserRef, shown};

/// What kind of mistake a [`UsageError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UsageProblem {
    /// No command at all (empty text).
    NoCommand,
    /// A command name the catalogue does not have.
    UnknownCommand,
    /// A command with subcommands was given none first.
    MissingSubcommand,
    /// A subcommand the command does not have.
    UnknownSubcommand,
    /// A value given to a subcommand that takes none (`inactive:7`).
    SubcommandTakesNoValue,
    /// A second subcommand after the first (`reset user:a group:b`).
    SecondSubcommand,
    /// An option the command or subcommand does not have.
    UnknownOption,
    /// An option that looks like a password: passwords are never command options.
    PasswordOption,
    /// The same option twice.
    DuplicateOption,
    /// A required option is missing.
    MissingOption,
    /// An option that needs a value was given none.
    MissingValue,
    /// A value that its option does not accept.
    InvalidValue,
    /// A double quote opened in the text and never closed.
    UnclosedQuote,
    /// `help` was asked for: the message is the help text.
    HelpRequested,
}

/// Why an invocation is not a request, in words a helpdesk user can act on.
///
/// [`UsageError::message`] says what is wrong and what is accepted; the [`fmt::Display`]
/// rendering ([`UsageError::render`]) adds the usage lines of the command (or subcommand) from
/// the catalogue. For [`UsageProblem::HelpRequested`] the message is the help text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct UsageError {
    problem: UsageProblem,
    command: Option<&'static CommandSpec>,
    subcommand: Option<&'static SubcommandSpec>,
    option: Option<String>,
    message: String,
}

impl UsageError {
    fn new(problem: UsageProblem, at: At, message: String) -> Self {
        Self {
            problem,
            command: at.command,
            subcommand: at.subcommand,
            option: None,
            message,
        }
    }

    fn for_option(problem: UsageProblem, at: At, option: &str, message: String) -> Self {
        Self {
            option: Some(shown(option)),
            ..Self::new(problem, at, message)
        }
    }

    /// What kind of mistake it is.
    pub fn problem(&self) -> UsageProblem {
        self.problem
    }

    /// The command it concerns, when the command name was recognised.
    pub fn command(&self) -> Option<&'static str> {
        self.command.map(|c| c.name)
    }

    /// The subcommand it concerns, when one was recognised.
    pub fn subcommand(&self) -> Option<&'static str> {
        self.subcommand.map(|s| s.name)
    }

    /// The option it concerns (lowercased, bounded), if any.
    pub fn option(&self) -> Option<&str> {
        self.option.as_deref()
    }

    /// What is wrong and what is accepted, in one or two sentences.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The usage lines that apply: the subcommand's, else the command's, else none.
    pub fn usage(&self) -> Vec<String> {
        match (self.command, self.subcommand) {
            (Some(command), Some(sub)) => vec![format!("{} {}", command.name, sub.usage())],
            (Some(command), None) => command.usage_lines(),
            (None, _) => Vec::new(),
        }
    }

    /// The message followed by the usage lines (or, for `help`, the help text alone).
    pub fn render(&self) -> String {
        if self.problem == UsageProblem::HelpRequested {
            return self.message.clone();
        }
        let usage = self.usage();
        match usage.as_slice() {
            [] => self.message.clone(),
            [line] => format!("{}\nusage: {line}", self.message),
            lines => format!("{}\nusage:\n  {}", self.message, lines.join("\n  ")),
        }
    }
}

/// Where in the catalogue an error was found.
#[derive(Clone, Copy, Default)]
struct At {
    command: Option<&'static CommandSpec>,
    subcommand: Option<&'static SubcommandSpec>,
}

impl At {
    fn command(command: &'static CommandSpec) -> Self {
        Self {
            command: Some(command),
            subcommand: None,
        }
    }

    fn with(self, subcommand: &'static SubcommandSpec) -> Self {
        Self {
            subcommand: Some(subcommand),
            ..self
        }
    }

    /// `reset user`, `expire`, for messages.
    fn label(self) -> String {
        match (self.command, self.subcommand) {
            (Some(c), Some(s)) => format!("{} {}", c.name, s.name),
            (Some(c), None) => c.name.to_owned(),
            (None, _) => String::new(),
        }
    }
}

/// Parses an invocation's command and options; see the [module docs](self) for the rules.
pub fn parse(invocation: &Invocation) -> Result<Request, UsageError> {
    parse_command(&invocation.command, &invocation.options)
}

/// Parses a command name and its raw options, as [`parse`] does for an [`Invocation`].
pub fn parse_command(command: &str, options: &[(String, String)]) -> Result<Request, UsageError> {
    let name = command.trim();
    if name.is_empty() {
        return Err(UsageError::new(
            UsageProblem::NoCommand,
            At::default(),
            format!("no command given; commands: {}", command_list()),
        ));
    }
    let Some(spec) = catalogue::command(name) else {
        return Err(UsageError::new(
            UsageProblem::UnknownCommand,
            At::default(),
            format!(
                "unknown command `{}`; commands: {}",
                shown(name),
                command_list()
            ),
        ));
    };
    let at = At::command(spec);
    let raw: Vec<Raw<'_>> = options
        .iter()
        .map(|(name, value)| Raw {
            name: name.trim().to_ascii_lowercase(),
            value: value.trim(),
        })
        .collect();
    match spec.body {
        CommandBody::Subcommands(_) => {
            let (sub, given) = pick_subcommand(at, &raw)?;
            let at = at.with(sub);
            let values = read_options(at, sub.options, &given)?;
            build(at, values)
        }
        CommandBody::Options(options) => {
            let given = if spec.name == catalogue::HELP {
                help_shorthand(raw)
            } else {
                raw
            };
            let values = read_options(at, options, &given)?;
            build(at, values)
        }
    }
}

/// Splits a line of text into a command name and `(name, value)` options; see the
/// [module docs](self). A leading `/` on the command is dropped.
pub fn split_text(text: &str) -> Result<(String, Vec<(String, String)>), UsageError> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' | '\u{201c}' | '\u{201d}' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(UsageError::new(
            UsageProblem::UnclosedQuote,
            At::default(),
            "a double quote is not closed; quote a value with spaces like group:\"IT Support\""
                .to_owned(),
        ));
    }
    if in_word {
        words.push(word);
    }
    let mut words = words.into_iter();
    let command = words.next().unwrap_or_default();
    let command = command.strip_prefix('/').unwrap_or(&command).to_owned();
    let options = words
        .map(|w| match w.split_once(':') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (w, String::new()),
        })
        .collect();
    Ok((command, options))
}

/// One option as given: name lowercased, both trimmed.
#[derive(Clone)]
struct Raw<'a> {
    name: String,
    value: &'a str,
}

/// A validated option value.
enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
    User(UserRef),
    Group(GroupName),
    Email(Email),
    Id(i64),
}

/// The validated options of one command or subcommand, by catalogue option.
struct Values {
    at: At,
    values: Vec<(&'static OptionSpec, Value)>,
}

impl Values {
    fn take(&mut self, name: &str) -> Option<Value> {
        let index = self.values.iter().position(|(o, _)| o.name == name)?;
        Some(self.values.swap_remove(index).1)
    }

    /// The error for a value the catalogue says is there but is not: a catalogue/builder
    /// mismatch, which the consistency tests rule out; reported as a missing option anyway.
    fn missing(&self, name: &str) -> UsageError {
        UsageError::for_option(
            UsageProblem::MissingOption,
            self.at,
            name,
            format!("option `{name}` is required"),
        )
    }

    fn bool(&mut self, name: &str) -> bool {
        matches!(self.take(name), Some(Value::Bool(true)))
    }

    fn int(&mut self, name: &str) -> Option<i64> {
        match self.take(name) {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        }
    }

    fn text(&mut self, name: &str) -> Option<String> {
        match self.take(name) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    fn user(&mut self, name: &str) -> Result<UserRef, UsageError> {
        match self.take(name) {
            Some(Value::User(u)) => Ok(u),
            _ => Err(self.missing(name)),
        }
    }

    fn group(&mut self, name: &str) -> Result<GroupName, UsageError> {
        match self.take(name) {
            Some(Value::Group(g)) => Ok(g),
            _ => Err(self.missing(name)),
        }
    }

    fn email(&mut self, name: &str) -> Option<Email> {
        match self.take(name) {
            Some(Value::Email(e)) => Some(e),
            _ => None,
        }
    }

    fn id(&mut self, name: &str) -> Result<i64, UsageError> {
        match self.take(name) {
            Some(Value::Id(id)) => Ok(id),
            _ => Err(self.missing(name)),
        }
    }
}

fn command_list() -> String {
    let names: Vec<&str> = catalogue::catalogue().iter().map(|c| c.name).collect();
    names.join(", ")
}

fn names_of<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// Whether an option name looks like it is meant to carry a password.
fn password_like(name: &str) -> bool {
    name.contains("pass") || name.contains("pwd") || name.contains("secret") || name == "pw"
}

const PASSWORD_PROMPT: &str = concat!(
    "the password is never a command option; ",
    "after you confirm, Passdesk asks for it in a private prompt"
);

fn password_option(at: At, name: &str) -> UsageError {
    let why = if at.command.is_some_and(|c| c.name == catalogue::NOTIFY) {
        PASSWORD_PROMPT.to_owned()
    } else {
        format!(
            "`{}` takes no password and Passdesk never asks for one in a command",
            at.label()
        )
    };
    UsageError::for_option(
        UsageProblem::PasswordOption,
        at,
        name,
        format!("option `{}` is not accepted: {why}", shown(name)),
    )
}

/// The subcommand named by the first option, and the options it was given.
fn pick_subcommand<'a>(
    at: At,
    raw: &[Raw<'a>],
) -> Result<(&'static SubcommandSpec, Vec<Raw<'a>>), UsageError> {
    let Some(spec) = at.command else {
        return Err(UsageError::new(
            UsageProblem::UnknownCommand,
            at,
            "unknown command".to_owned(),
        ));
    };
    let subs = names_of(spec.subcommands().iter().map(|s| s.name));
    let example = spec
        .subcommands()
        .iter()
        .find_map(|s| s.primary_option())
        .map_or_else(
            || spec.name.to_owned(),
            |o| format!("{} {}:{}", spec.name, o.name, o.kind.example()),
        );
    let Some((first, rest)) = raw.split_first() else {
        return Err(UsageError::new(
            UsageProblem::MissingSubcommand,
            at,
            format!("`{}` needs a subcommand: {subs}", spec.name),
        ));
    };
    let Some(sub) = spec.subcommand(&first.name) else {
        if password_like(&first.name) {
            return Err(password_option(at, &first.name));
        }
        let is_option = spec
            .subcommands()
            .iter()
            .any(|s| s.option(&first.name).is_some());
        return Err(if is_option {
            UsageError::new(
                UsageProblem::MissingSubcommand,
                at,
                format!(
                    "`{}` needs its subcommand first ({subs}), e.g. `{example}`",
                    spec.name
                ),
            )
        } else {
            UsageError::for_option(
                UsageProblem::UnknownSubcommand,
                at,
                &first.name,
                format!(
                    "`{}` has no subcommand `{}`; use one of: {subs}",
                    spec.name,
                    shown(&first.name)
                ),
            )
        });
    };
    let mut given = Vec::with_capacity(raw.len());
    if !first.value.is_empty() {
        let Some(primary) = sub.primary_option() else {
            return Err(UsageError::new(
                UsageProblem::SubcommandTakesNoValue,
                at.with(sub),
                format!(
                    "`{} {}` takes no value after `{}:`; write its options after it",
                    spec.name, sub.name, sub.name
                ),
            ));
        };
        given.push(Raw {
            name: primary.name.to_owned(),
            value: first.value,
        });
    }
    given.extend(rest.iter().cloned());
    Ok((sub, given))
}

/// `help reset` is `help command:reset`.
fn help_shorthand(raw: Vec<Raw<'_>>) -> Vec<Raw<'_>> {
    match raw.as_slice() {
        [only] if only.value.is_empty() && catalogue::command(&only.name).is_some() => vec![Raw {
            name: OPT_COMMAND.to_owned(),
            value: catalogue::command(&only.name).map_or("", |c| c.name),
        }],
        _ => raw,
    }
}

/// Checks every given option against the catalogue options and validates its value.
fn read_options(
    at: At,
    options: &'static [OptionSpec],
    given: &[Raw<'_>],
) -> Result<Values, UsageError> {
    let mut values: Vec<(&'static OptionSpec, Value)> = Vec::with_capacity(given.len());
    for raw in given {
        let Some(spec) = options.iter().find(|o| o.name == raw.name) else {
            return Err(unknown_option(at, options, &raw.name));
        };
        if values.iter().any(|(o, _)| o.name == spec.name) {
            return Err(UsageError::for_option(
                UsageProblem::DuplicateOption,
                at,
                spec.name,
                format!("option `{}` is given twice; give it once", spec.name),
            ));
        }
        values.push((spec, read_value(at, spec, raw.value)?));
    }
    if let Some(missing) = options
        .iter()
        .find(|o| o.required && !values.iter().any(|(v, _)| v.name == o.name))
    {
        return Err(UsageError::for_option(
            UsageProblem::MissingOption,
            at,
            missing.name,
            format!(
                "option `{}` is required: {}, e.g. `{}:{}`",
                missing.name,
                missing.kind.accepted(),
                missing.name,
                missing.kind.example()
            ),
        ));
    }
    Ok(Values { at, values })
}

fn unknown_option(at: At, options: &[OptionSpec], name: &str) -> UsageError {
    if password_like(name) {
        return password_option(at, name);
    }
    if let (Some(command), Some(sub)) = (at.command, at.subcommand) {
        if command.subcommand(name).is_some() {
            return UsageError::for_option(
                UsageProblem::SecondSubcommand,
                at,
                name,
                format!(
                    "`{}` takes one subcommand, and `{name}` came after `{}`; run one command \
                     per target",
                    command.name, sub.name
                ),
            );
        }
    }
    let label = at.label();
    let known = names_of(options.iter().map(|o| o.name));
    let mut message = if name.is_empty() {
        format!("an option has no name before its `:`; `{label}` takes: {known}")
    } else {
        format!(
            "unknown option `{}` for `{label}`; it takes: {known}",
            shown(name)
        )
    };
    if at.command.is_some_and(|c| c.name == catalogue::NOTIFY) {
        message.push_str("; ");
        message.push_str(PASSWORD_PROMPT);
    }
    UsageError::for_option(UsageProblem::UnknownOption, at, name, message)
}

fn read_value(at: At, spec: &'static OptionSpec, value: &str) -> Result<Value, UsageError> {
    let invalid = |message: String| {
        UsageError::for_option(
            UsageProblem::InvalidValue,
            at,
            spec.name,
            format!("option `{}`: {message}", spec.name),
        )
    };
    if !spec.choices.is_empty() {
        return spec
            .choices
            .iter()
            .find(|c| c.value.eq_ignore_ascii_case(value))
            .map(|c| Value::Text(c.value.to_owned()))
            .ok_or_else(|| {
                invalid(format!(
                    "`{}` is not one of: {}",
                    shown(value),
                    names_of(spec.choices.iter().map(|c| c.value))
                ))
            });
    }
    if value.is_empty() && spec.kind != OptionKind::Boolean {
        return Err(UsageError::for_option(
            UsageProblem::MissingValue,
            at,
            spec.name,
            format!(
                "option `{}` needs a value: {}, e.g. `{}:{}`",
                spec.name,
                spec.kind.accepted(),
                spec.name,
                spec.kind.example()
            ),
        ));
    }
    match spec.kind {
        OptionKind::Boolean => match value.to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(invalid(format!(
                "`{}` is not {}",
                shown(value),
                spec.kind.accepted()
            ))),
        },
        OptionKind::String { max_len } => {
            if value.chars().any(char::is_control) || value.chars().count() > max_len {
                Err(invalid(format!(
                    "`{}` is not {}",
                    shown(value),
                    spec.kind.accepted()
                )))
            } else {
                Ok(Value::Text(value.to_owned()))
            }
        }
        OptionKind::Integer { min, max } => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "`{}` is not a whole number; give {}",
                    shown(value),
                    spec.kind.accepted()
                )));
            }
            match value.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Value::Int(n)),
                _ => Err(invalid(format!(
                    "`{}` is out of range; give {}",
                    shown(value),
                    spec.kind.accepted()
                ))),
            }
        }
        OptionKind::UserRef => value
            .parse::<UserRef>()
            .map(Value::User)
            .map_err(|e| invalid(e.to_string())),
        OptionKind::GroupName => value.parse::<GroupName>().map(Value::Group).map_err(|e| {
            invalid(format!(
                "`{}` is not a usable group name: {}",
                shown(value),
                e.reason()
            ))
        }),
        OptionKind::Email => value.parse::<Email>().map(Value::Email).map_err(|e| {
            invalid(format!(
                "`{}` is not a mail address: {}",
                shown(value),
                e.problem
            ))
        }),
        OptionKind::Id64 => value
            .parse::<AssignedResourceTypeId>()
            .map(|id| Value::Id(id.get()))
            .map_err(|_| {
                invalid(format!(
                    "`{}` is not {}",
                    shown(value),
                    spec.kind.accepted()
                ))
            }),
    }
}

/// Turns validated values into the request for the command (and subcommand) at `at`.
fn build(at: At, mut values: Values) -> Result<Request, UsageError> {
    let command = at.command.map_or("", |c| c.name);
    let sub = at.subcommand.map_or("", |s| s.name);
    let dry_run = values.bool(OPT_DRY_RUN);
    match (command, sub) {
        (catalogue::RESET, OPT_USER) => Ok(Request::Reset {
            target: ResetTarget::User(values.user(OPT_USER)?),
            dry_run,
        }),
        (catalogue::RESET, OPT_GROUP) => Ok(Request::Reset {
            target: ResetTarget::Group(values.group(OPT_GROUP)?),
            dry_run,
        }),
        (catalogue::RESET, SUB_INACTIVE) => {
            let created_within_days = match values.int(OPT_CREATED_WITHIN_DAYS) {
                None => None,
                Some(days) => Some(u32::try_from(days).map_err(|_| {
                    UsageError::for_option(
                        UsageProblem::InvalidValue,
                        at,
                        OPT_CREATED_WITHIN_DAYS,
                        format!("option `{OPT_CREATED_WITHIN_DAYS}`: `{days}` is out of range"),
                    )
                })?),
            };
            Ok(Request::Reset {
                target: ResetTarget::Inactive {
                    created_within_days,
                },
                dry_run,
            })
        }
        (catalogue::EXPIRE, _) => Ok(Request::Expire {
            user: values.user(OPT_USER)?,
            dry_run,
        }),
        (catalogue::NOTIFY, _) => Ok(Request::Notify {
            assigned_resource_type: AssignedResourceTypeId::new(
                values.id(OPT_ASSIGNED_RESOURCE_TYPE)?,
            ),
            mapping: ResourceTypeMappingId::new(values.id(OPT_RESOURCE_TYPE_MAPPING)?),
            cc: values.email(OPT_CC),
            dry_run,
        }),
        (catalogue::HELP, _) => {
            let message = match values
                .text(OPT_COMMAND)
                .and_then(|c| catalogue::command(&c))
            {
                Some(spec) => catalogue::command_help(spec),
                None => catalogue::help_text(),
            };
            Err(UsageError::new(UsageProblem::HelpRequested, at, message))
        }
        _ => Err(UsageError::new(
            UsageProblem::UnknownCommand,
            at,
            format!("unknown command; commands: {}", command_list()),
        )),
    }
}

impl fmt::Display for UsageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UsageProblem::NoCommand => "no command",
            UsageProblem::UnknownCommand => "unknown command",
            UsageProblem::MissingSubcommand => "missing subcommand",
            UsageProblem::UnknownSubcommand => "unknown subcommand",
            UsageProblem::SubcommandTakesNoValue => "subcommand takes no value",
            UsageProblem::SecondSubcommand => "second subcommand",
            UsageProblem::UnknownOption => "unknown option",
            UsageProblem::PasswordOption => "password option",
            UsageProblem::DuplicateOption => "duplicate option",
            UsageProblem::MissingOption => "missing option",
            UsageProblem::MissingValue => "missing value",
            UsageProblem::InvalidValue => "invalid value",
            UsageProblem::UnclosedQuote => "unclosed quote",
            UsageProblem::HelpRequested => "help requested",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::request::CommandName;
    use proptest::prelude::*;

    const ID: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";

    type Pairs = Vec<(&'static str, &'static str)>;
    /// A catalogue form: command, options with example values, the options it has.
    type Form = (&'static str, Vec<(String, String)>, &'static [OptionSpec]);

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn run(command: &str, pairs: &[(&str, &str)]) -> Result<Request, UsageError> {
        parse_command(command, &opts(pairs))
    }

    fn user(s: &str) -> UserRef {
        s.parse().unwrap()
    }

    fn reset(target: ResetTarget, dry_run: bool) -> Request {
        Request::Reset { target, dry_run }
    }

    fn notify(art: i64, mapping: i64, cc: Option<&str>, dry_run: bool) -> Request {
        Request::Notify {
            assigned_resource_type: AssignedResourceTypeId::new(art),
            mapping: ResourceTypeMappingId::new(mapping),
            cc: cc.map(|c| c.parse().unwrap()),
            dry_run,
        }
    }

    #[test]
    fn valid_forms_parse_to_typed_requests() {
        let group = |g: &str| ResetTarget::Group(g.parse().unwrap());
        let inactive = |d| ResetTarget::Inactive {
            created_within_days: d,
        };
        #[rustfmt::skip]
        let table: Vec<(&str, Pairs, Request)> = vec![
            // reset user: shorthand, Discord marker form, case, whitespace, id.
            ("reset", vec![("user", "jcuser.one")], reset(ResetTarget::User(user("jcuser.one")), false)),
            ("reset", vec![("user", ""), ("user", "jcuser.one"), ("dry-run", "true")],
             reset(ResetTarget::User(user("jcuser.one")), true)),
            (" RESET ", vec![("USER ", "  jcuser.one\t")], reset(ResetTarget::User(user("jcuser.one")), false)),
            ("reset", vec![("user", ID), ("Dry-Run", "NO")], reset(ResetTarget::User(user(ID)), false)),
            ("reset", vec![("user", "J.Doe_2-x"), ("dry-run", "")], reset(ResetTarget::User(user("J.Doe_2-x")), true)),
            // reset group: free text, kept literally (the client re-checks every match).
            ("reset", vec![("group", "IT Support")], reset(group("IT Support"), false)),
            ("reset", vec![("group", ""), ("group", "  IT Support "), ("dry-run", "Yes")], reset(group("IT Support"), true)),
            ("reset", vec![("group", "*")], reset(group("*"), false)),
            ("reset", vec![("group", "ops:night")], reset(group("ops:night"), false)),
            // reset inactive: bare word, optional days in any order.
            ("reset", vec![("inactive", "")], reset(inactive(None), false)),
            ("reset", vec![("inactive", ""), ("created-within-days", "7")], reset(inactive(Some(7)), false)),
            ("reset", vec![("inactive", " "), ("dry-run", "1"), ("created-within-days", "1")], reset(inactive(Some(1)), true)),
            ("reset", vec![("inactive", ""), ("created-within-days", "3650"), ("dry-run", "0")], reset(inactive(Some(3650)), false)),
            // expire
            ("expire", vec![("user", "jcuser.one")], Request::Expire { user: user("jcuser.one"), dry_run: false }),
            ("expire", vec![("dry-run", "TRUE"), ("user", ID)], Request::Expire { user: user(ID), dry_run: true }),
            ("Expire", vec![("User", "Jane.Doe")], Request::Expire { user: user("Jane.Doe"), dry_run: false }),
            // notify
            ("notify", vec![("assigned-resource-type", "1000"), ("resource-type-mapping", "10")],
             notify(1000, 10, None, false)),
            ("notify", vec![("resource-type-mapping", "-41"), ("cc", " Lead@ACME.com "),
                            ("assigned-resource-type", "2147483653"), ("dry-run", "yes")],
             notify(2_147_483_653, -41, Some("Lead@acme.com"), true)),
            ("notify", vec![("Assigned-Resource-Type", "9223372036854775807"), ("RESOURCE-TYPE-MAPPING", "0"), ("dry-run", "false")],
             notify(i64::MAX, 0, None, false)),
        ];
        for (command, pairs, want) in table {
            let got = run(command, &pairs);
            assert_eq!(got, Ok(want), "{command} {pairs:?}");
        }
    }

    /// (command, options, problem, option named by the error, text the message contains).
    type Bad = (
        &'static str,
        Pairs,
        UsageProblem,
        Option<&'static str>,
        &'static str,
    );

    #[test]
    fn invalid_forms_are_refused_with_what_is_wrong_and_what_is_accepted() {
        use UsageProblem as P;
        let long_group = "g".repeat(256);
        let long_group: &'static str = Box::leak(long_group.into_boxed_str());
        #[rustfmt::skip]
        let table: Vec<Bad> = vec![
            // commands
            ("", vec![], P::NoCommand, None, "no command given; commands: reset, expire, notify, help"),
            ("   ", vec![("user", "x")], P::NoCommand, None, "no command"),
            ("resets", vec![], P::UnknownCommand, None, "unknown command `resets`"),
            ("passwd", vec![("user", "x")], P::UnknownCommand, None, "commands: reset, expire, notify, help"),
            ("reset user", vec![], P::UnknownCommand, None, "unknown command `reset user`"),
            ("rm -rf `x`", vec![], P::UnknownCommand, None, "`rm -rf 'x'`"),
            // reset: subcommand placement
            ("reset", vec![], P::MissingSubcommand, None, "`reset` needs a subcommand: user, group, inactive"),
            ("reset", vec![("dry-run", "true"), ("user", "jane")], P::MissingSubcommand, None,
             "needs its subcommand first (user, group, inactive), e.g. `reset user:jane.doe`"),
            ("reset", vec![("users", "jane")], P::UnknownSubcommand, Some("users"), "`reset` has no subcommand `users`"),
            ("reset", vec![("jane.doe", "")], P::UnknownSubcommand, Some("jane.doe"), "use one of: user, group, inactive"),
            ("reset", vec![("inactive", "7")], P::SubcommandTakesNoValue, None, "`reset inactive` takes no value"),
            ("reset", vec![("user", "jane"), ("group", "it")], P::SecondSubcommand, Some("group"), "takes one subcommand"),
            ("reset", vec![("inactive", ""), ("user", "jane")], P::SecondSubcommand, Some("user"), "`user` came after `inactive`"),
            // reset user: values
            ("reset", vec![("user", "a b")], P::InvalidValue, Some("user"),
             "option `user`: `a b` is neither a JumpCloud user id (24 hex characters) nor a username (letters, digits, `.`, `-`, `_`)"),
            ("reset", vec![("user", "jcuser.one\"}")], P::InvalidValue, Some("user"), "`jcuser.one\"}` is neither"),
            ("reset", vec![("user", "*")], P::InvalidValue, Some("user"), "neither"),
            ("reset", vec![("user", ".*")], P::InvalidValue, Some("user"), "neither"),
            ("reset", vec![("user", "$regex")], P::InvalidValue, Some("user"), "neither"),
            ("reset", vec![("user", "x:y")], P::InvalidValue, Some("user"), "the character ':' is not allowed"),
            ("reset", vec![("user", "jäne")], P::InvalidValue, Some("user"), "neither"),
            ("reset", vec![("user", "{\"$ne\":null}")], P::InvalidValue, Some("user"), "neither"),
            ("reset", vec![("user", "5f1a2b3c4d5e6f7a8b9c0d1e0")], P::InvalidValue, Some("user"), "has 25 characters"),
            ("reset", vec![("user", "5F1A2B3C4D5E6F7A8B9C0D1E")], P::InvalidValue, Some("user"), "uppercase"),
            ("reset", vec![("user", "")], P::MissingOption, Some("user"), "option `user` is required"),
            ("reset", vec![("user", ""), ("user", " ")], P::MissingValue, Some("user"), "option `user` needs a value"),
            ("reset", vec![("user", "jane"), ("user", "john")], P::DuplicateOption, Some("user"), "given twice"),
            ("reset", vec![("user", ""), ("user", "jane"), ("USER", "jane")], P::DuplicateOption, Some("user"), "given twice"),
            ("reset", vec![("user", "jane"), ("dry-run", "maybe")], P::InvalidValue, Some("dry-run"),
             "option `dry-run`: `maybe` is not true or false (also yes/no, 1/0)"),
            ("reset", vec![("user", "jane"), ("dry-run", "1"), ("dry-run", "0")], P::DuplicateOption, Some("dry-run"), "given twice"),
            ("reset", vec![("user", "jane"), ("force", "")], P::UnknownOption, Some("force"),
             "unknown option `force` for `reset user`; it takes: user, dry-run"),
            ("reset", vec![("user", "jane"), ("", "zq9")], P::UnknownOption, Some(""), "an option has no name"),
            ("reset", vec![("user", "jane"), ("password", "S3cret!")], P::PasswordOption, Some("password"), "takes no password"),
            ("reset", vec![("password", "S3cret!")], P::PasswordOption, Some("password"), "never asks for one"),
            // reset group
            ("reset", vec![("group", "")], P::MissingOption, Some("group"), "option `group` is required"),
            ("reset", vec![("group", "a\u{7}b")], P::InvalidValue, Some("group"), "control characters are not allowed"),
            ("reset", vec![("group", long_group)], P::InvalidValue, Some("group"), "longer than 255"),
            ("reset", vec![("group", "it"), ("created-within-days", "7")], P::UnknownOption, Some("created-within-days"),
             "it takes: group, dry-run"),
            // reset inactive
            ("reset", vec![("inactive", ""), ("created-within-days", "0")], P::InvalidValue, Some("created-within-days"),
             "`0` is out of range; give a whole number from 1 to 3650"),
            ("reset", vec![("inactive", ""), ("created-within-days", "3651")], P::InvalidValue, Some("created-within-days"), "out of range"),
            ("reset", vec![("inactive", ""), ("created-within-days", "-1")], P::InvalidValue, Some("created-within-days"), "out of range"),
            ("reset", vec![("inactive", ""), ("created-within-days", "99999999999999999999")], P::InvalidValue, Some("created-within-days"), "out of range"),
            ("reset", vec![("inactive", ""), ("created-within-days", "7.5")], P::InvalidValue, Some("created-within-days"), "not a whole number"),
            ("reset", vec![("inactive", ""), ("created-within-days", "+7")], P::InvalidValue, Some("created-within-days"), "not a whole number"),
            ("reset", vec![("inactive", ""), ("created-within-days", "seven")], P::InvalidValue, Some("created-within-days"), "not a whole number"),
            ("reset", vec![("inactive", ""), ("created-within-days", "")], P::MissingValue, Some("created-within-days"), "needs a value"),
            // expire
            ("expire", vec![], P::MissingOption, Some("user"), "option `user` is required: a JumpCloud user id"),
            ("expire", vec![("user", "a b")], P::InvalidValue, Some("user"), "neither"),
            ("expire", vec![("user", "5F1A2B3C4D5E6F7A8B9C0D1E")], P::InvalidValue, Some("user"), "uppercase"),
            ("expire", vec![("user", "af1a2b3c4d5e6f7a8b9c0d1e0")], P::InvalidValue, Some("user"), "has 25 characters"),
            ("expire", vec![("user", "$regex")], P::InvalidValue, Some("user"), "neither"),
            ("expire", vec![("user", "jane*")], P::InvalidValue, Some("user"), "'*' is not allowed"),
            ("expire", vec![("user", "jane"), ("user", "jane")], P::DuplicateOption, Some("user"), "given twice"),
            ("expire", vec![("group", "ops-team")], P::UnknownOption, Some("group"), "unknown option `group` for `expire`"),
            ("expire", vec![("inactive", "")], P::UnknownOption, Some("inactive"), "it takes: user, dry-run"),
            ("expire", vec![("user", "jane"), ("new-password", "Zq-9!")], P::PasswordOption, Some("new-password"), "not accepted"),
            ("expire", vec![("user", "jane"), ("dry-run", "nope")], P::InvalidValue, Some("dry-run"), "not true or false"),
            // notify
            ("notify", vec![], P::MissingOption, Some("assigned-resource-type"), "option `assigned-resource-type` is required"),
            ("notify", vec![("assigned-resource-type", "1000")], P::MissingOption, Some("resource-type-mapping"),
             "e.g. `resource-type-mapping:1000`"),
            ("notify", vec![("assigned-resource-type", "abc"), ("resource-type-mapping", "10")], P::InvalidValue,
             Some("assigned-resource-type"), "`abc` is not an Identity Manager id: a whole number such as 1000"),
            ("notify", vec![("assigned-resource-type", "1 000"), ("resource-type-mapping", "10")], P::InvalidValue, Some("assigned-resource-type"), "not an Identity Manager id"),
            ("notify", vec![("assigned-resource-type", "1000"), ("resource-type-mapping", "0x10")], P::InvalidValue, Some("resource-type-mapping"), "not an Identity Manager id"),
            ("notify", vec![("assigned-resource-type", "1000"), ("resource-type-mapping", "+5")], P::InvalidValue, Some("resource-type-mapping"), "not an Identity Manager id"),
            ("notify", vec![("assigned-resource-type", "9223372036854775808"), ("resource-type-mapping", "5")], P::InvalidValue, Some("assigned-resource-type"), "not an Identity Manager id"),
            ("notify", vec![("assigned-resource-type", "1"), ("resource-type-mapping", "1"), ("cc", "not-an-email")], P::InvalidValue, Some("cc"),
             "option `cc`: `not-an-email` is not a mail address: it has no @"),
            ("notify", vec![("assigned-resource-type", "1"), ("resource-type-mapping", "1"), ("cc", "a@acme.com,eve@evil.com")], P::InvalidValue, Some("cc"), "not a mail address"),
            ("notify", vec![("assigned-resource-type", "1"), ("resource-type-mapping", "1"), ("cc", "Jane <jane@acme.com>")], P::InvalidValue, Some("cc"), "not a mail address"),
            ("notify", vec![("assigned-resource-type", "1"), ("resource-type-mapping", "1"), ("cc", "")], P::MissingValue, Some("cc"), "needs a value"),
            ("notify", vec![("assigned-resource-type", "1"), ("resource-type-mapping", "1"), ("cc", "a@acme.com"), ("cc", "b@acme.com")],
             P::DuplicateOption, Some("cc"), "given twice"),
            ("notify", vec![("assigned-resource-type", "1"), ("resource-type-mapping", "1"), ("password", "Hunter2!")], P::PasswordOption, Some("password"),
             "option `password` is not accepted: the password is never a command option; after you confirm, Passdesk asks for it in a private prompt"),
            ("notify", vec![("Password", "Hunter2!"), ("assigned-resource-type", "1"), ("resource-type-mapping", "1")], P::PasswordOption, Some("password"), "private prompt"),
            ("notify", vec![("pwd", "Hunter2!")], P::PasswordOption, Some("pwd"), "private prompt"),
            ("notify", vec![("to", "Hunter2!")], P::UnknownOption, Some("to"),
             "unknown option `to` for `notify`; it takes: assigned-resource-type, resource-type-mapping, cc, dry-run; the password is never a command option"),
            // help
            ("help", vec![("command", "nope")], P::InvalidValue, Some("command"), "`nope` is not one of: reset, expire, notify"),
            ("help", vec![("nope", "")], P::UnknownOption, Some("nope"), "unknown option `nope` for `help`"),
        ];
        for (command, pairs, problem, option, text) in table {
            let err = run(command, &pairs).unwrap_err();
            let case = format!("{command:?} {pairs:?}: {err}");
            assert_eq!(err.problem(), problem, "{case}");
            assert_eq!(err.option(), option, "{case}");
            assert!(err.message().contains(text), "{case}\nwanted: {text}");
            // Never a value typed for a password-like or unknown option.
            for (name, value) in &pairs {
                let name = name.to_ascii_lowercase();
                if (password_like(&name) || err.option() == Some(name.as_str()))
                    && matches!(problem, P::PasswordOption | P::UnknownOption)
                    && !value.is_empty()
                {
                    assert!(!err.to_string().contains(value), "{case}");
                }
            }
            // Messages are bounded and start in lowercase.
            assert!(err.message().chars().count() < 400, "{case}");
            assert!(!err.message().starts_with(char::is_uppercase), "{case}");
        }
    }

    #[test]
    fn a_usage_error_renders_with_the_usage_line_from_the_catalogue() {
        let err = run("reset", &[("user", "a b")]).unwrap_err();
        assert_eq!(err.command(), Some("reset"));
        assert_eq!(err.subcommand(), Some("user"));
        assert_eq!(
            err.to_string(),
            format!(
                "{}\nusage: reset user:<username or user id> [dry-run:<true|false>]",
                err.message()
            )
        );
        let err = run("reset", &[]).unwrap_err();
        let shown = err.to_string();
        for line in catalogue::command("reset").unwrap().usage_lines() {
            assert!(shown.contains(&format!("\n  {line}")), "{shown}");
        }
        let err = run("expire", &[]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("\nusage: expire user:<username or user id> [dry-run:<true|false>]")
        );
        let err = run("nope", &[]).unwrap_err();
        assert_eq!(err.to_string(), err.message());
    }

    #[test]
    fn help_answers_with_the_help_text() {
        let err = run("help", &[]).unwrap_err();
        assert_eq!(err.problem(), UsageProblem::HelpRequested);
        assert_eq!(err.to_string(), catalogue::help_text());
        let notify = catalogue::command("notify").unwrap();
        for pairs in [vec![("reset", "")], vec![("command", "RESET")]] {
            let err = run("HELP", &pairs).unwrap_err();
            assert_eq!(err.problem(), UsageProblem::HelpRequested);
            assert_eq!(
                err.to_string(),
                catalogue::command_help(catalogue::command("reset").unwrap())
            );
        }
        let err = run("help", &[("command", "notify")]).unwrap_err();
        assert_eq!(err.to_string(), catalogue::command_help(notify));
        assert!(err.to_string().contains("private prompt"));
    }

    /// Every catalogue form with every option set to a valid example.
    fn full_forms() -> Vec<Form> {
        let mut forms = Vec::new();
        for spec in catalogue().iter().filter(|c| c.name != catalogue::HELP) {
            let with_examples = |options: &[OptionSpec]| -> Vec<(String, String)> {
                options
                    .iter()
                    .map(|o| (o.name.to_owned(), o.kind.example()))
                    .collect()
            };
            match spec.body {
                CommandBody::Options(options) => {
                    forms.push((spec.name, with_examples(options), options));
                }
                CommandBody::Subcommands(subs) => {
                    for sub in subs {
                        let mut given = vec![(sub.name.to_owned(), String::new())];
                        given.extend(with_examples(sub.options));
                        forms.push((spec.name, given, sub.options));
                    }
                }
            }
        }
        forms
    }

    #[test]
    fn the_parser_reads_every_catalogue_option_and_requires_the_required_ones() {
        let forms = full_forms();
        assert_eq!(forms.len(), 5, "reset user/group/inactive, expire, notify");
        for (command, given, options) in forms {
            let full = parse_command(command, &given)
                .unwrap_or_else(|e| panic!("{command} {given:?}: {e}"));
            assert!(full.dry_run(), "{command}: dry-run example is true");
            for option in options {
                let without: Vec<(String, String)> = given
                    .iter()
                    .filter(|(n, v)| n != option.name || v.is_empty())
                    .cloned()
                    .collect();
                let result = parse_command(command, &without);
                if option.required {
                    let err = result.unwrap_err();
                    assert_eq!(err.problem(), UsageProblem::MissingOption, "{err}");
                    assert_eq!(err.option(), Some(option.name));
                } else {
                    let parsed = result.unwrap_or_else(|e| panic!("{command} {without:?}: {e}"));
                    assert_ne!(parsed, full, "{command}: option {} is ignored", option.name);
                }
            }
        }
    }

    #[test]
    fn every_operation_command_is_in_the_catalogue_and_parses_to_its_name() {
        for name in CommandName::ALL {
            assert!(catalogue::command(name.as_str()).is_some(), "{name}");
        }
        for (command, given, _) in full_forms() {
            let request = parse_command(command, &given).unwrap();
            assert_eq!(request.command_name().as_str(), command);
        }
    }

    #[test]
    fn dry_run_accepts_the_usual_spellings() {
        #[rustfmt::skip]
        let table = [
            ("true", Some(true)), ("TRUE", Some(true)), ("yes", Some(true)), ("Yes", Some(true)),
            ("1", Some(true)), ("", Some(true)), (" no ", Some(false)), ("false", Some(false)),
            ("False", Some(false)), ("NO", Some(false)), ("0", Some(false)), ("y", None),
            ("on", None), ("2", None), ("truee", None), ("-1", None),
        ];
        for (value, want) in table {
            let got = run("expire", &[("user", "jane"), ("dry-run", value)]).map(|r| r.dry_run());
            assert_eq!(got.ok(), want, "{value:?}");
        }
        assert!(!run("expire", &[("user", "jane")]).unwrap().dry_run());
    }

    #[test]
    fn split_text_reads_slack_and_console_lines() {
        #[rustfmt::skip]
        let table: Vec<(&str, &str, Pairs)> = vec![
            ("reset user:jc.one dry-run:true", "reset", vec![("user", "jc.one"), ("dry-run", "true")]),
            ("/reset inactive created-within-days:7", "reset", vec![("inactive", ""), ("created-within-days", "7")]),
            ("  reset   group:\"IT Support\"  ", "reset", vec![("group", "IT Support")]),
            ("reset \"group:IT Support\"", "reset", vec![("group", "IT Support")]),
            ("reset group:\u{201c}IT Support\u{201d} dry-run", "reset", vec![("group", "IT Support"), ("dry-run", "")]),
            ("reset user:x:y", "reset", vec![("user", "x:y")]),
            ("notify cc:\"\"", "notify", vec![("cc", "")]),
            ("help reset", "help", vec![("reset", "")]),
            ("", "", vec![]),
        ];
        for (text, command, pairs) in table {
            assert_eq!(
                split_text(text),
                Ok((command.to_owned(), opts(&pairs))),
                "{text:?}"
            );
        }
        let err = split_text("reset group:\"IT Support").unwrap_err();
        assert_eq!(err.problem(), UsageProblem::UnclosedQuote);
        assert!(err.to_string().contains("group:\"IT Support\""));
    }

    #[test]
    fn text_lines_parse_end_to_end() {
        let parse_text = |text: &str| {
            let (command, options) = split_text(text)?;
            parse_command(&command, &options)
        };
        assert_eq!(
            parse_text("reset group:\"IT Support\" dry-run"),
            Ok(reset(
                ResetTarget::Group("IT Support".parse().unwrap()),
                true
            ))
        );
        assert_eq!(
            parse_text("expire user:jcuser.one"),
            Ok(Request::Expire {
                user: user("jcuser.one"),
                dry_run: false
            })
        );
        let err = parse_text("reset user jane").unwrap_err();
        assert_eq!(err.problem(), UsageProblem::UnknownOption);
        assert_eq!(
            err.problem(),
            parse_text("reset user jane").unwrap_err().problem()
        );
        assert_eq!(
            parse_text("").unwrap_err().problem(),
            UsageProblem::NoCommand
        );
        let err =
            parse_text("notify assigned-resource-type:1 resource-type-mapping:2 password:Hunter2")
                .unwrap_err();
        assert_eq!(err.problem(), UsageProblem::PasswordOption);
        assert!(!err.to_string().contains("Hunter2"));
    }

    #[test]
    fn parse_reads_the_invocation_command_and_options() {
        use crate::invocation::{Actor, Platform};
        let invocation = Invocation {
            actor: Actor {
                platform: Platform::Console,
                id: "u1".into(),
                display_name: "Ana".into(),
                roles: vec![],
            },
            channel: None,
            tenant: None,
            interaction_id: "i1".into(),
            command: "reset".into(),
            options: opts(&[("inactive", ""), ("created-within-days", "7")]),
        };
        assert_eq!(
            parse(&invocation),
            Ok(reset(
                ResetTarget::Inactive {
                    created_within_days: Some(7)
                },
                false
            ))
        );
    }

    fn catalogue_names(command: &str) -> Vec<&'static str> {
        let Some(spec) = catalogue::command(command) else {
            return vec![];
        };
        spec.options()
            .iter()
            .map(|o| o.name)
            .chain(spec.subcommands().iter().map(|s| s.name))
            .chain(
                spec.subcommands()
                    .iter()
                    .flat_map(|s| s.options.iter().map(|o| o.name)),
            )
            .collect()
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        let known: Vec<String> = catalogue()
            .iter()
            .flat_map(|c| catalogue_names(c.name))
            .chain(["password", "USER", " dry-run "])
            .map(str::to_owned)
            .collect();
        prop_oneof![
            proptest::sample::select(known),
            any::<String>(),
            "[a-z:-]{0,12}"
        ]
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~]{0,30}",
            "[a-zA-Z][a-zA-Z0-9._-]{0,20}",
            "[0-9a-fA-F]{22,26}",
            "-?[0-9]{1,22}",
            proptest::sample::select(vec![
                String::new(),
                "true".to_owned(),
                "no".to_owned(),
                "jane@acme.com".to_owned(),
                ID.to_owned(),
            ]),
        ]
    }

    proptest! {
        #[test]
        fn parser_never_panics_and_accepts_only_catalogue_options_and_clean_usernames(
            command in prop_oneof![
                proptest::sample::select(vec!["reset", "expire", "notify", "help", "Reset"]),
                any::<String>().prop_map(|s| Box::leak(s.into_boxed_str()) as &str),
            ],
            options in proptest::collection::vec((name_strategy(), value_strategy()), 0..6),
        ) {
            let result = parse_command(command, &options);
            match result {
                Ok(request) => {
                    let known = catalogue_names(command.trim());
                    for (name, _) in &options {
                        let name = name.trim().to_ascii_lowercase();
                        prop_assert!(known.contains(&name.as_str()), "accepted unknown option {name:?}");
                    }
                    let user = match &request {
                        Request::Reset { target: ResetTarget::User(u), .. } | Request::Expire { user: u, .. } => Some(u),
                        _ => None,
                    };
                    if let Some(UserRef::Username(name)) = user {
                        prop_assert!(name.as_str().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')));
                        prop_assert!(name.as_str().starts_with(|c: char| c.is_ascii_alphabetic()));
                    }
                    if let Some(UserRef::Id(id)) = user {
                        prop_assert!(id.as_str().len() == 24 && id.as_str().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
                    }
                    prop_assert!(!request.summary().is_empty());
                }
                Err(err) => {
                    prop_assert!(!err.message().is_empty());
                    prop_assert!(err.to_string().chars().count() < 4_000);
                }
            }
        }

        #[test]
        fn split_text_never_panics_and_its_output_parses_without_panicking(text in any::<String>()) {
            if let Ok((command, options)) = split_text(&text) {
                let _ = parse_command(&command, &options);
            }
        }

        #[test]
        fn valid_usernames_round_trip(name in "[a-zA-Z][a-zA-Z0-9._-]{0,18}") {
            let got = run("reset", &[("user", &name)]);
            prop_assert_eq!(got, Ok(reset(ResetTarget::User(UserRef::Username(name.parse().unwrap())), false)));
        }
    }
}
