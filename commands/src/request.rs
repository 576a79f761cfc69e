//! Typed requests: what a parsed command asks for, with every value validated.
//!
//! [`crate::parse::parse`] is the only producer of a [`Request`] from chat input; the values in
//! it are the typed values of `passdesk_core` ([`UserId`], [`Username`], [`GroupName`],
//! [`Email`], the Identity Manager ids), so nothing unvalidated can reach a JumpCloud filter, a
//! URL or a mail header. A request never holds a password: the notification's password is asked
//! for after confirmation, in a private prompt, and goes straight to the mailer.

use std::fmt;
use std::str::FromStr;

use passdesk_core::identity_manager::{AssignedResourceTypeId, ResourceTypeMappingId};
use passdesk_core::jumpcloud::{GroupName, UserId, Username};
use passdesk_core::mail::Email;

use crate::catalogue;

/// The most characters of a user's input repeated back in a message.
const SHOWN_CHARS: usize = 60;

/// A bounded, single-line copy of user input for messages: at most 60 characters, control
/// characters replaced by spaces and backticks by `'` (so the value cannot break out of the
/// inline code span it is shown in).
pub(crate) fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(SHOWN_CHARS)
        .map(|c| match c {
            c if c.is_control() => ' ',
            '`' => '\'',
            c => c,
        })
        .collect();
    if value.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The operation a request runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    /// JumpCloud activation / password reset mail.
    Reset,
    /// JumpCloud password expiry.
    Expire,
    /// Identity Manager password notification mail.
    Notify,
}

impl CommandName {
    /// Every operation, in catalogue order.
    pub const ALL: [CommandName; 3] =
        [CommandName::Reset, CommandName::Expire, CommandName::Notify];

    /// The command name as typed (`reset`), the same string as in the catalogue.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandName::Reset => catalogue::RESET,
            CommandName::Expire => catalogue::EXPIRE,
            CommandName::Notify => catalogue::NOTIFY,
        }
    }
}

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the operation commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command `{0}`")]
pub struct UnknownCommand(String);

impl FromStr for CommandName {
    type Err = UnknownCommand;

    /// ASCII case-insensitive, surrounding whitespace ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        CommandName::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownCommand(shown(name)))
    }
}

/// A JumpCloud user, named by id or by username.
///
/// Parsing: exactly 24 lowercase hex characters is a [`UserId`]; anything else must be a valid
/// [`Username`]. Two kinds of near-miss ids are refused rather than read as usernames, because
/// they are almost always a mistyped or mis-pasted id and must not address somebody else: 24 hex
/// characters with uppercase letters (JumpCloud ids are lowercase), and 20 to 28 characters that
/// are all hex digits (an id with characters missing or extra). A user whose username has that
/// shape can still be addressed by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// A JumpCloud user id.
    Id(UserId),
    /// A JumpCloud username.
    Username(Username),
}

/// Hex-only values of these lengths are taken for mistyped ids, not usernames.
const NEAR_ID_LEN: std::ops::RangeInclusive<usize> = 20..=28;
/// The length of a JumpCloud id.
const ID_LEN: usize = 24;

/// Why a value is not a [`UserRef`]; the message repeats a bounded copy of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidUserRef {
    message: String,
}

impl FromStr for UserRef {
    type Err = InvalidUserRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let len = s.chars().count();
        let all_hex = !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        if all_hex && len == ID_LEN && !s.bytes().any(|b| b.is_ascii_uppercase()) {
            return s
                .parse::<UserId>()
                .map(UserRef::Id)
                .map_err(|e| InvalidUserRef {
                    message: format!("`{}` is not a JumpCloud user id: {}", shown(s), e.reason()),
                });
        }
        if all_hex && len == ID_LEN {
            return Err(InvalidUserRef {
                message: format!(
                    "`{}` looks like a JumpCloud user id but has uppercase letters; user ids are \
                     24 lowercase hex characters, copy it from JumpCloud as it is",
                    shown(s)
                ),
            });
        }
        if all_hex && NEAR_ID_LEN.contains(&len) {
            return Err(InvalidUserRef {
                message: format!(
                    "`{}` looks like a JumpCloud user id but has {len} characters; user ids have \
                     exactly 24 hex characters",
                    shown(s)
                ),
            });
        }
        s.parse::<Username>()
            .map(UserRef::Username)
            .map_err(|e| InvalidUserRef {
                message: format!(
                    "`{}` is neither a JumpCloud user id (24 hex characters) nor a username \
                     (letters, digits, `.`, `-`, `_`): {}",
                    shown(s),
                    e.reason()
                ),
            })
    }
}

impl fmt::Display for UserRef {
    /// `jane.doe`, or `id 5f1a…` for an id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "id {id}"),
            UserRef::Username(name) => f.write_str(name.as_str()),
        }
    }
}

/// Whom a reset mail goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetTarget {
    /// One user.
    User(UserRef),
    /// Every member of a JumpCloud user group.
    Group(GroupName),
    /// Every user not activated yet, optionally only those created in the last N days.
    Inactive {
        /// Only users created in the last N days (1..=3650), when given.
        created_within_days: Option<u32>,
    },
}

/// A parsed, validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `reset`: JumpCloud activation / reset mail.
    Reset {
        /// Who gets the mail.
        target: ResetTarget,
        /// Only show what would happen.
        dry_run: bool,
    },
    /// `expire`: expire one JumpCloud user's password.
    Expire {
        /// Whose password.
        user: UserRef,
        /// Only show what would happen.
        dry_run: bool,
    },
    /// `notify`: Identity Manager password notification (the password is asked for later).
    Notify {
        /// The assigned resource type (the account whose password it is).
        assigned_resource_type: AssignedResourceTypeId,
        /// The resource type mapping whose password reset settings say who is told.
        mapping: ResourceTypeMappingId,
        /// An extra copy of the mail.
        cc: Option<Email>,
        /// Only show what would happen.
        dry_run: bool,
    },
}

impl Request {
    /// The operation.
    pub fn command_name(&self) -> CommandName {
        match self {
            Request::Reset { .. } => CommandName::Reset,
            Request::Expire { .. } => CommandName::Expire,
            Request::Notify { .. } => CommandName::Notify,
        }
    }

    /// Whether only a plan is wanted (`dry-run:true`).
    pub fn dry_run(&self) -> bool {
        match self {
            Request::Reset { dry_run, .. }
            | Request::Expire { dry_run, .. }
            | Request::Notify { dry_run, .. } => *dry_run,
        }
    }

    /// Whether it may address many users (a group or a filter) rather than exactly one.
    pub fn is_bulk(&self) -> bool {
        matches!(
            self,
            Request::Reset {
                target: ResetTarget::Group(_) | ResetTarget::Inactive { .. },
                ..
            }
        )
    }

    /// Whether running it changes anything upstream (sends mail, expires a password): every
    /// operation does, unless it is a dry run, which only reads.
    pub fn is_state_changing(&self) -> bool {
        !self.dry_run()
    }

    /// One line for people, used in replies and audit, e.g. `reset mail for user jcuser.one`;
    /// prefixed with `dry run: ` for dry runs. Never holds a secret (a request holds none).
    pub fn summary(&self) -> String {
        let what = match self {
            Request::Reset { target, .. } => match target {
                ResetTarget::User(user) => format!("reset mail for user {user}"),
                ResetTarget::Group(group) => {
                    format!("reset mail for every member of group \"{group}\"")
                }
                ResetTarget::Inactive {
                    created_within_days: None,
                } => "reset mail for every user not activated yet".to_owned(),
                ResetTarget::Inactive {
                    created_within_days: Some(1),
                } => "reset mail for every user not activated yet, created in the last day"
                    .to_owned(),
                ResetTarget::Inactive {
                    created_within_days: Some(days),
                } => format!(
                    "reset mail for every user not activated yet, created in the last {days} days"
                ),
            },
            Request::Expire { user, .. } => format!("expire the password of user {user}"),
            Request::Notify {
                assigned_resource_type,
                mapping,
                cc,
                ..
            } => {
                let mut line = format!(
                    "password notification for assigned resource type {assigned_resource_type} \
                     with resource type mapping {mapping}"
                );
                if let Some(cc) = cc {
                    line.push_str(&format!(", copy to {cc}"));
                }
                line
            }
        };
        if self.dry_run() {
            format!("dry run: {what}")
        } else {
            what
        }
    }
}

impl fmt::Display for Request {
    /// The [`Request::summary`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";

    fn user(s: &str) -> UserRef {
        s.parse().unwrap()
    }

    #[test]
    fn user_ref_reads_ids_and_usernames() {
        assert_eq!(user(ID), UserRef::Id(ID.parse().unwrap()));
        assert_eq!(
            user("jcuser.one"),
            UserRef::Username("jcuser.one".parse().unwrap())
        );
        // A lowercase 24-hex username is read as an id (documented ambiguity).
        assert!(matches!(user("deadbeefdeadbeefdeadbeef"), UserRef::Id(_)));
        // Short hex-only usernames stay usernames.
        assert!(matches!(user("cafe"), UserRef::Username(_)));
        assert!(matches!(user("J.Doe_2-x"), UserRef::Username(_)));
    }

    #[test]
    fn user_ref_refuses_near_miss_ids_and_bad_usernames_with_a_reason() {
        #[rustfmt::skip]
        let cases: &[(&str, &str)] = &[
            ("5F1A2B3C4D5E6F7A8B9C0D1E", "uppercase"),
            ("aF1a2b3c4d5e6f7a8b9c0d1e", "uppercase"),
            ("5f1a2b3c4d5e6f7a8b9c0d1e0", "has 25 characters"),
            ("af1a2b3c4d5e6f7a8b9c0d1e0", "has 25 characters"),
            ("5f1a2b3c4d5e6f7a8b9c0d1", "has 23 characters"),
            ("a b", "neither a JumpCloud user id"),
            ("jcuser.one\"}", "neither"),
            ("*", "neither"),
            (".*", "neither"),
            ("$regex", "neither"),
            ("x:y", "neither"),
            ("jäne", "neither"),
            ("5f1a", "must start with a letter"),
            ("", "it is empty"),
        ];
        for &(input, want) in cases {
            let err = input.parse::<UserRef>().unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn shown_input_is_bounded_and_cannot_break_out_of_code_spans() {
        let long = format!("{} b", "a".repeat(500));
        let err = long.parse::<UserRef>().unwrap_err().to_string();
        assert!(err.chars().count() < 250, "{err}");
        assert_eq!(shown("a`b\nc"), "a'b c");
        assert!(shown(&long).ends_with('…'));
    }

    #[test]
    fn command_names_round_trip() {
        for name in CommandName::ALL {
            assert_eq!(name.as_str().parse::<CommandName>(), Ok(name));
            assert_eq!(
                name.to_string().to_uppercase().parse::<CommandName>(),
                Ok(name)
            );
        }
        assert!("help".parse::<CommandName>().is_err());
    }

    #[test]
    fn flags_and_summaries_describe_the_request() {
        let cc: Email = "lead@acme.com".parse().unwrap();
        let group: GroupName = "IT Support".parse().unwrap();
        #[rustfmt::skip]
        let table: Vec<(Request, CommandName, bool, &str)> = vec![
            (Request::Reset { target: ResetTarget::User(user("jcuser.one")), dry_run: false },
             CommandName::Reset, false, "reset mail for user jcuser.one"),
            (Request::Reset { target: ResetTarget::User(user(ID)), dry_run: true },
             CommandName::Reset, false, "dry run: reset mail for user id 5f1a2b3c4d5e6f7a8b9c0d1e"),
            (Request::Reset { target: ResetTarget::Group(group), dry_run: false },
             CommandName::Reset, true, "reset mail for every member of group \"IT Support\""),
            (Request::Reset { target: ResetTarget::Inactive { created_within_days: None }, dry_run: false },
             CommandName::Reset, true, "reset mail for every user not activated yet"),
            (Request::Reset { target: ResetTarget::Inactive { created_within_days: Some(7) }, dry_run: false },
             CommandName::Reset, true, "reset mail for every user not activated yet, created in the last 7 days"),
            (Request::Reset { target: ResetTarget::Inactive { created_within_days: Some(1) }, dry_run: false },
             CommandName::Reset, true, "reset mail for every user not activated yet, created in the last day"),
            (Request::Expire { user: user("jcuser.one"), dry_run: false },
             CommandName::Expire, false, "expire the password of user jcuser.one"),
            (Request::Notify { assigned_resource_type: AssignedResourceTypeId::new(1000),
                               mapping: ResourceTypeMappingId::new(10), cc: Some(cc), dry_run: true },
             CommandName::Notify, false,
             "dry run: password notification for assigned resource type 1000 with resource type \
              mapping 10, copy to lead@acme.com"),
        ];
        for (request, name, bulk, summary) in table {
            assert_eq!(request.command_name(), name, "{summary}");
            assert_eq!(request.is_bulk(), bulk, "{summary}");
            assert_eq!(request.summary(), summary);
            assert_eq!(request.to_string(), summary);
            assert_eq!(request.dry_run(), summary.starts_with("dry run: "));
            assert_eq!(request.is_state_changing(), !request.dry_run(), "{summary}");
        }
    }
}
