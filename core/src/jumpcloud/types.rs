//! Typed values at the JumpCloud edge: ids, names, users and groups.
//!
//! Ids and names are parsed with [`FromStr`] and keep their fields private, so nothing
//! unvalidated reaches a filter or a URL. Users and groups are plain data decoded leniently from
//! the wire types in `wire.rs` (no serde here: wire and domain types stay separate).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

/// Why a string was refused as one of the typed values of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidValue {
    what: &'static str,
    reason: String,
}

impl InvalidValue {
    pub(crate) fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self {
            what,
            reason: reason.into(),
        }
    }

    /// What was being parsed (`"user id"`, `"username"`, …).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Why it was refused, in words a helpdesk user can act on.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Length of a JumpCloud object id (a MongoDB ObjectId in hex).
const OBJECT_ID_LEN: usize = 24;

fn object_id(what: &'static str, s: &str) -> Result<String, InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue::new(what, "it is empty"));
    }
    if s.chars().count() != OBJECT_ID_LEN {
        return Err(InvalidValue::new(
            what,
            format!(
                "expected {OBJECT_ID_LEN} hexadecimal characters, got {}",
                s.chars().count()
            ),
        ));
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(InvalidValue::new(
            what,
            "JumpCloud ids are lowercase hexadecimal; uppercase letters are not accepted",
        ));
    }
    if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(InvalidValue::new(
            what,
            "only the characters 0-9 and a-f are allowed",
        ));
    }
    Ok(s.to_owned())
}

macro_rules! object_id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as sent to JumpCloud.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                object_id($what, s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

object_id_type!(
    /// A JumpCloud system user id (v1 `_id`, v2 graph `to.id`): exactly 24 lowercase hex digits.
    ///
    /// JumpCloud emits ids in lowercase only, so uppercase input is refused with a clear error
    /// rather than silently folded: a mistyped id must not look like a different user.
    UserId,
    "user id"
);

object_id_type!(
    /// A JumpCloud organisation id, sent as `x-org-id`: exactly 24 lowercase hex digits.
    OrgId,
    "organisation id"
);

object_id_type!(
    /// A JumpCloud user group id (v2 `id`): exactly 24 lowercase hex digits.
    GroupId,
    "group id"
);

/// A JumpCloud username, validated before it may reach a search filter.
///
/// The rule, strict on purpose, follows JumpCloud's "Naming Conventions for Users" article:
/// a username starts with an ASCII letter and contains only ASCII letters, digits, `.`, `-` and
/// `_` (no spaces, no `@`, nothing outside ASCII), and is at most [`Username::MAX_LEN`]
/// characters long, the `maxLength` of `username` in JumpCloud's v1 spec (`systemuserput`).
/// The per-OS limits (20 for Windows, 30 for macOS/Linux) are not enforced here: they constrain
/// which accounts can be bound to devices, not which users exist. A user whose name does not fit
/// this rule can still be addressed by [`UserId`].
///
/// Case is kept as typed; look-ups compare case-insensitively (see
/// `JumpCloudClient::user_by_username`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// The longest username accepted, in characters.
    pub const MAX_LEN: usize = 1024;

    /// The username as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Username {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "username";
        let Some(first) = s.chars().next() else {
            return Err(InvalidValue::new(WHAT, "it is empty"));
        };
        if s.chars().count() > Self::MAX_LEN {
            return Err(InvalidValue::new(
                WHAT,
                format!("it is longer than {} characters", Self::MAX_LEN),
            ));
        }
        if !first.is_ascii_alphabetic() {
            return Err(InvalidValue::new(WHAT, "it must start with a letter (a-z)"));
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        {
            let shown = if bad.is_whitespace() || bad.is_control() {
                "spaces and control characters are".to_owned()
            } else {
                format!("the character {bad:?} is")
            };
            return Err(InvalidValue::new(
                WHAT,
                format!("{shown} not allowed; use letters, digits, '.', '-' or '_'"),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JumpCloud user group name: non-empty, at most [`GroupName::MAX_LEN`] characters, no control
/// characters and no leading or trailing whitespace (trim chat input before parsing).
///
/// Any other character is allowed, since group names are free text in JumpCloud; the route table
/// percent-encodes the name and the client re-checks every match, so wildcards or filter syntax
/// in a name cannot widen a look-up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupName(String);

impl GroupName {
    /// The longest group name accepted, in characters (a bound of ours; JumpCloud documents none).
    pub const MAX_LEN: usize = 255;

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for GroupName {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "group name";
        if s.trim().is_empty() {
            return Err(InvalidValue::new(WHAT, "it is empty"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(InvalidValue::new(
                WHAT,
                format!("it is longer than {} characters", Self::MAX_LEN),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                WHAT,
                "control characters are not allowed",
            ));
        }
        if s.trim() != s {
            return Err(InvalidValue::new(WHAT, "it starts or ends with whitespace"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's lifecycle state (`state` in the v1 user object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserState {
    /// Created but not yet activated by an administrator.
    Staged,
    /// Active.
    Activated,
    /// Suspended.
    Suspended,
    /// Missing, or a value this client does not know.
    Unknown,
}

impl UserState {
    pub(crate) fn from_wire(value: Option<&str>) -> Self {
        match value {
            Some("STAGED") => Self::Staged,
            Some("ACTIVATED") => Self::Activated,
            Some("SUSPENDED") => Self::Suspended,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Staged => "STAGED",
            Self::Activated => "ACTIVATED",
            Self::Suspended => "SUSPENDED",
            Self::Unknown => "unknown",
        })
    }
}

/// A JumpCloud system user, as far as Passdesk needs one.
///
/// Decoded leniently: unknown fields are ignored, missing booleans are `false`, missing strings
/// are `None`, and `created` is `None` when absent or not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemUser {
    /// The user's id (`_id`).
    pub id: UserId,
    /// The username as stored by JumpCloud (not re-validated: existing users are shown as they are).
    pub username: String,
    /// The company email address.
    pub email: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Display name.
    pub displayname: Option<String>,
    /// Whether the user has set a password (`false` = "pending": an activation mail is due).
    pub activated: bool,
    /// Lifecycle state.
    pub state: UserState,
    /// Whether the user is suspended.
    pub suspended: bool,
    /// Whether the account is locked after failed logins.
    pub account_locked: bool,
    /// Whether the password has expired.
    pub password_expired: bool,
    /// When the user was created.
    pub created: Option<DateTime<Utc>>,
}

impl SystemUser {
    /// A user with the given id and username and every other field empty or `false`; for
    /// fixtures and for callers that build a user from their own records.
    pub fn new(id: UserId, username: impl Into<String>) -> Self {
        Self {
            id,
            username: username.into(),
            email: None,
            firstname: None,
            lastname: None,
            displayname: None,
            activated: false,
            state: UserState::Unknown,
            suspended: false,
            account_locked: false,
            password_expired: false,
            created: None,
        }
    }
}

/// A JumpCloud user group (v2 `UserGroup`), reduced to what Passdesk needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserGroup {
    /// The group's id.
    pub id: GroupId,
    /// The group's display name, as stored.
    pub name: String,
}

/// Criteria for listing users (`POST /api/search/systemusers`); every set criterion must match.
///
/// `created_after`/`created_before` are strict (`$gt`/`$lt`), as in `Get-JCUser -dateFilter`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only users whose `activated` flag has this value.
    pub activated: Option<bool>,
    /// Only users created strictly after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Only users created strictly before this instant.
    pub created_before: Option<DateTime<Utc>>,
}

/// Which mail JumpCloud is expected to send for a reset request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetEmailKind {
    /// The user has not set a password yet (pending): an activation mail.
    Activation,
    /// The user is active: a password reset mail.
    Reset,
}

impl fmt::Display for ResetEmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Activation => "activation",
            Self::Reset => "reset",
        })
    }
}

/// JumpCloud accepted a reset/activation mail request for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetEmailSent {
    /// The user the request named.
    pub user_id: UserId,
    /// The mail expected, from the user's state as the caller saw it.
    pub kind: ResetEmailKind,
}

/// A user's password was expired. Displays as `true`, like the SDK cmdlet's `-PassThru` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpireOutcome {
    /// The user whose password was expired.
    pub user_id: UserId,
}

impl ExpireOutcome {
    /// What `Invoke-JcSdkExpireUserPassword -PassThru` writes on success: always `true`.
    pub fn pass_thru(&self) -> bool {
        true
    }
}

impl fmt::Display for ExpireOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pass_thru())
    }
}

/// A group's members resolved to users, with the member ids that no longer name a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupMemberUsers {
    /// Members that resolved to a user, in membership order.
    pub users: Vec<SystemUser>,
    /// Member ids for which JumpCloud answered "not found".
    pub missing: Vec<UserId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids() {
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("5f0c1a2b3c4d5e6f7a8b9c0d", true),
            ("000000000000000000000000", true),
            ("5F0C1A2B3C4D5E6F7A8B9C0D", false), // uppercase
            ("5f0c1a2b3c4d5e6f7a8b9c0", false),  // 23
            ("5f0c1a2b3c4d5e6f7a8b9c0d0", false), // 25
            ("5f0c1a2b3c4d5e6f7a8b9c0g", false), // not hex
            ("", false),
            (" 5f0c1a2b3c4d5e6f7a8b9c0d", false),
            ("5f0c1a2b3c4d5e6f7a8b9c/d", false),
            ("5f0c1a2b3c4d5e6f7a8b9c0é", false),
            ("../../systemusers/reacti", false),
        ];
        for &(input, ok) in table {
            assert_eq!(input.parse::<UserId>().is_ok(), ok, "user id {input:?}");
            assert_eq!(input.parse::<OrgId>().is_ok(), ok, "org id {input:?}");
            assert_eq!(input.parse::<GroupId>().is_ok(), ok, "group id {input:?}");
        }
    }

    #[test]
    fn uppercase_id_error_says_why() {
        let err = "5F0C1A2B3C4D5E6F7A8B9C0D".parse::<UserId>().unwrap_err();
        assert_eq!(err.what(), "user id");
        assert!(err.to_string().contains("lowercase"), "{err}");
        let err = "abc".parse::<OrgId>().unwrap_err();
        assert!(err.to_string().contains("24"), "{err}");
    }

    #[test]
    fn usernames() {
        let long_ok = format!("a{}", "b".repeat(Username::MAX_LEN - 1));
        let too_long = format!("a{}", "b".repeat(Username::MAX_LEN));
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("jane.doe", true),
            ("Jane.Doe", true),
            ("j_doe-2", true),
            ("a", true),
            (&long_ok, true),
            (&too_long, false),
            ("", false),
            ("a\"b", false),
            ("x$regex", false),
            (".*", false),
            ("a b", false),
            ("(?i)", false),
            ("jäne", false),
            ("j\u{0430}ne", false), // Cyrillic a
            ("jane@example.com", false),
            ("1jane", false),
            (".jane", false),
            ("-jane", false),
            ("jane\n", false),
            ("jane\\", false),
            ("jane^", false),
            ("ja|ne", false),
            ("ja{2}ne", false),
            ("ja:ne", false),
        ];
        for &(input, ok) in table {
            assert_eq!(input.parse::<Username>().is_ok(), ok, "username {input:?}");
        }
    }

    #[test]
    fn username_errors_name_the_problem() {
        let err = "a b".parse::<Username>().unwrap_err();
        assert!(err.to_string().contains("spaces"), "{err}");
        let err = "x$regex".parse::<Username>().unwrap_err();
        assert!(err.to_string().contains("'$'"), "{err}");
        let err = "".parse::<Username>().unwrap_err();
        assert_eq!(err.to_string(), "invalid username: it is empty");
    }

    #[test]
    fn group_names() {
        let long_ok = "g".repeat(GroupName::MAX_LEN);
        let too_long = "g".repeat(GroupName::MAX_LEN + 1);
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("New Hires", true),
            ("IT & Ops: EMEA, #1 + 50%", true),
            ("Équipe*", true),
            (&long_ok, true),
            (&too_long, false),
            ("", false),
            ("   ", false),
            (" New Hires", false),
            ("New Hires ", false),
            ("New\nHires", false),
            ("New\u{7}Hires", false),
        ];
        for &(input, ok) in table {
            assert_eq!(
                input.parse::<GroupName>().is_ok(),
                ok,
                "group name {input:?}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        let id: UserId = "5f0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap();
        assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        let name: Username = "Jane.Doe".parse().unwrap();
        assert_eq!(name.to_string(), "Jane.Doe");
        let group: GroupName = "New Hires".parse().unwrap();
        assert_eq!(group.to_string(), "New Hires");
    }

    #[test]
    fn expire_outcome_renders_like_pass_thru() {
        let outcome = ExpireOutcome {
            user_id: "5f0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap(),
        };
        assert_eq!(outcome.to_string(), "true");
    }

    #[test]
    fn user_state_from_wire() {
        assert_eq!(UserState::from_wire(Some("STAGED")), UserState::Staged);
        assert_eq!(
            UserState::from_wire(Some("ACTIVATED")),
            UserState::Activated
        );
        assert_eq!(
            UserState::from_wire(Some("SUSPENDED")),
            UserState::Suspended
        );
        assert_eq!(UserState::from_wire(Some("activated")), UserState::Unknown);
        assert_eq!(UserState::from_wire(None), UserState::Unknown);
    }
}
