//! Typed platform ids and names: Discord snowflakes, Slack ids, local CLI user names, Discord
//! public keys and username patterns. Each parses with [`FromStr`] and refuses display names and
//! e-mail addresses: access rules name immutable ids only.

use std::fmt;
use std::str::FromStr;

/// Why a string was refused as one of the ids of this module. Shows at most a short excerpt of
/// the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {what}: {reason}")]
pub struct InvalidId {
    what: &'static str,
    input: String,
    reason: String,
}

impl InvalidId {
    fn new(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Self {
            what,
            input: shown(input),
            reason: reason.into(),
        }
    }

    /// What was being parsed (`"Discord id"`, `"Slack user id"`, …).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Why it was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The most characters of a refused input shown in an error.
const SHOWN: usize = 40;

/// A bounded, single-line excerpt of a (non-secret) value for error messages.
pub(crate) fn shown(input: &str) -> String {
    let mut out: String = input
        .chars()
        .take(SHOWN)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if input.chars().nth(SHOWN).is_some() {
        out.push('…');
    }
    out
}

/// The common mistakes of writing a name where an id belongs.
fn name_instead_of_id(what: &'static str, s: &str) -> Option<InvalidId> {
    if s.contains('@') && s.contains('.') && !s.starts_with('@') {
        return Some(InvalidId::new(
            what,
            s,
            "it looks like an e-mail address; access rules use immutable ids only",
        ));
    }
    if s.starts_with('@') || s.starts_with('#') || s.chars().any(char::is_whitespace) {
        return Some(InvalidId::new(
            what,
            s,
            "it looks like a display or channel name, which can change; use the id",
        ));
    }
    None
}

/// A Discord id ("snowflake") of a guild, role, user, channel or application: 17 to 20 digits
/// that fit in 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Snowflake(u64);

impl Snowflake {
    /// The fewest digits of a real Discord id (ids from Discord's first days have 17).
    pub const MIN_DIGITS: usize = 17;
    /// The most digits of a 64-bit id.
    pub const MAX_DIGITS: usize = 20;

    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl FromStr for Snowflake {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "Discord id";
        if let Some(err) = name_instead_of_id(WHAT, s) {
            return Err(err);
        }
        if s.is_empty() {
            return Err(InvalidId::new(WHAT, s, "it is empty"));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidId::new(WHAT, s, "Discord ids are digits only"));
        }
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&s.len()) {
            return Err(InvalidId::new(
                WHAT,
                s,
                format!(
                    "Discord ids have {} to {} digits, this has {}",
                    Self::MIN_DIGITS,
                    Self::MAX_DIGITS,
                    s.len()
                ),
            ));
        }
        s.parse::<u64>()
            .map(Self)
            .map_err(|_| InvalidId::new(WHAT, s, "it does not fit in 64 bits"))
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The fewest characters of a Slack id (`U0123ABCD` has 9; the oldest ids have 9, newer 11).
const SLACK_MIN: usize = 8;
/// The most characters of a Slack id accepted.
const SLACK_MAX: usize = 24;

fn slack_id(
    what: &'static str,
    prefixes: &[char],
    hint: &str,
    s: &str,
) -> Result<String, InvalidId> {
    if let Some(err) = name_instead_of_id(what, s) {
        return Err(err);
    }
    let Some(first) = s.chars().next() else {
        return Err(InvalidId::new(what, s, "it is empty"));
    };
    let expected = prefixes
        .iter()
        .map(|p| format!("{p}\u{2026}"))
        .collect::<Vec<_>>()
        .join(" or ");
    if s.bytes().any(|b| b.is_ascii_lowercase()) && s.is_ascii() {
        return Err(InvalidId::new(
            what,
            s,
            format!("Slack ids are uppercase letters and digits, starting with {expected}"),
        ));
    }
    if !prefixes.contains(&first) {
        return Err(InvalidId::new(
            what,
            s,
            format!("a {what} starts with {expected}{hint}"),
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(InvalidId::new(
            what,
            s,
            "Slack ids are uppercase letters and digits only",
        ));
    }
    if !(SLACK_MIN..=SLACK_MAX).contains(&s.len()) {
        return Err(InvalidId::new(
            what,
            s,
            format!("Slack ids have {SLACK_MIN} to {SLACK_MAX} characters"),
        ));
    }
    Ok(s.to_owned())
}

macro_rules! slack_id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, [$($prefix:literal),+], $hint:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as Slack writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                slack_id($what, &[$($prefix),+], $hint, s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slack_id_type!(
    /// A Slack user id: `U…`, or `W…` on Enterprise Grid.
    SlackUserId,
    "Slack user id",
    ['U', 'W'],
    " (an S\u{2026} id is a user group: list it under slack_usergroups)"
);

slack_id_type!(
    /// A Slack user group id: `S…`.
    SlackUserGroupId,
    "Slack user group id",
    ['S'],
    " (a U\u{2026} or W\u{2026} id is a user: list it under slack_users)"
);

slack_id_type!(
    /// A Slack conversation id: `C…` (channel), `G…` (private channel, older workspaces) or `D…`
    /// (direct message).
    SlackChannelId,
    "Slack channel id",
    ['C', 'G', 'D'],
    ""
);

slack_id_type!(
    /// A Slack workspace (team) id: `T…`.
    SlackTeamId,
    "Slack team id",
    ['T'],
    ""
);

slack_id_type!(
    /// A Slack app id: `A…`.
    SlackAppId,
    "Slack app id",
    ['A'],
    ""
);

/// A local user name for the command line (issue 6): what the operating system calls the person
/// running `passdesk`. A letter or `_` first, then letters, digits, `.`, `-` or `_`, at most 64
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CliUser(String);

impl CliUser {
    /// The longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CliUser {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "command-line user name";
        if let Some(err) = name_instead_of_id(WHAT, s) {
            return Err(err);
        }
        let Some(first) = s.chars().next() else {
            return Err(InvalidId::new(WHAT, s, "it is empty"));
        };
        if s.chars().count() > Self::MAX_LEN {
            return Err(InvalidId::new(
                WHAT,
                s,
                format!("it is longer than {} characters", Self::MAX_LEN),
            ));
        }
        if !(first.is_ascii_alphabetic() || first == '_')
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(InvalidId::new(
                WHAT,
                s,
                "use letters, digits, '.', '-' or '_', starting with a letter",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for CliUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Discord application's public key (Ed25519, 32 bytes), written as 64 hexadecimal digits;
/// kept in lowercase. Not a secret: Discord shows it on the application's General Information
/// page, and it verifies interaction signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiscordPublicKey([u8; 32]);

impl DiscordPublicKey {
    /// The key's bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl FromStr for DiscordPublicKey {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "Discord public key";
        let reason = "expected the 64 hexadecimal digits shown as Public Key on the application's \
                      General Information page (not the bot token or client secret)";
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidId::new(WHAT, s, reason));
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = s.get(2 * i..2 * i + 2).unwrap_or_default();
            *byte = u8::from_str_radix(pair, 16).map_err(|_| InvalidId::new(WHAT, s, reason))?;
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for DiscordPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A username glob for protected targets: the characters of a JumpCloud username plus `*` (any
/// run of characters, possibly none) and `?` (exactly one character). Matching ignores ASCII
/// case, as JumpCloud's username look-ups do: `admin.*` protects `Admin.Jane`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsernamePattern(String);

impl UsernamePattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `username` matches the whole pattern, ignoring ASCII case.
    pub fn matches(&self, username: &str) -> bool {
        glob_match(self.0.as_bytes(), username.as_bytes())
    }
}

/// `*`/`?` matching over ASCII-case-folded bytes, linear in practice: on a mismatch, the last
/// `*` absorbs one more byte.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

impl FromStr for UsernamePattern {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "username pattern";
        if s.is_empty() {
            return Err(InvalidId::new(WHAT, s, "it is empty"));
        }
        if s.len() > passdesk_core::jumpcloud::Username::MAX_LEN {
            return Err(InvalidId::new(WHAT, s, "it is too long"));
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | '?')))
        {
            return Err(InvalidId::new(
                WHAT,
                s,
                format!(
                    "the character {bad:?} cannot appear in a JumpCloud username; use letters, \
                     digits, '.', '-', '_' and the wildcards '*' and '?'"
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for UsernamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes() {
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("112233445566778899", true),
            ("81384788765712384", true),      // 17 digits
            ("18446744073709551615", true),   // u64::MAX
            ("18446744073709551616", false),  // u64::MAX + 1
            ("1234", false),
            ("", false),
            ("1122334455667788a9", false),
            ("-112233445566778899", false),
            (" 112233445566778899", false),
            ("helpdesk", false),
            ("@helpdesk", false),
            ("jane@acme.com", false),
            ("Help Desk", false),
        ];
        for &(input, ok) in table {
            assert_eq!(input.parse::<Snowflake>().is_ok(), ok, "{input:?}");
        }
        let id: Snowflake = "112233445566778899".parse().unwrap();
        assert_eq!(id.to_string(), "112233445566778899");
        let err = "jane@acme.com".parse::<Snowflake>().unwrap_err();
        assert!(err.to_string().contains("e-mail"), "{err}");
    }

    #[test]
    fn slack_ids() {
        #[rustfmt::skip]
        let users: &[(&str, bool)] = &[
            ("U0123ABCD", true),
            ("W0123ABCD", true),
            ("U0REQUEST1", true),
            ("S0123ABCD", false),
            ("u0123abcd", false),
            ("U01", false),
            ("U0123-ABCD", false),
            ("@ana", false),
            ("ana@acme.com", false),
            ("", false),
        ];
        for &(input, ok) in users {
            assert_eq!(input.parse::<SlackUserId>().is_ok(), ok, "{input:?}");
        }
        assert!("S0123ABCD".parse::<SlackUserGroupId>().is_ok());
        assert!("C0AUDIT01".parse::<SlackChannelId>().is_ok());
        assert!("G0PRIVATE1".parse::<SlackChannelId>().is_ok());
        assert!("#helpdesk".parse::<SlackChannelId>().is_err());
        assert!("T0PASSDESK".parse::<SlackTeamId>().is_ok());
        assert!("A0PASSDESK".parse::<SlackAppId>().is_ok());
        let err = "U0123ABCD".parse::<SlackUserGroupId>().unwrap_err();
        assert!(err.to_string().contains("slack_users"), "{err}");
        let err = "s0123abcd".parse::<SlackUserGroupId>().unwrap_err();
        assert!(err.to_string().contains("uppercase"), "{err}");
    }

    #[test]
    fn cli_users() {
        for ok in ["alice", "a.b-c_d", "_svc"] {
            assert!(ok.parse::<CliUser>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "alice@acme.com",
            "Alice Smith",
            "1alice",
            "ACME\\alice",
            "al:ice",
        ] {
            assert!(bad.parse::<CliUser>().is_err(), "{bad}");
        }
    }

    #[test]
    fn public_keys_round_trip_in_lowercase() {
        let hex = "A1".repeat(32);
        let key: DiscordPublicKey = hex.parse().unwrap();
        assert_eq!(key.to_bytes(), [0xa1; 32]);
        assert_eq!(key.to_string(), "a1".repeat(32));
        assert!("a1".repeat(31).parse::<DiscordPublicKey>().is_err());
        assert!("zz".repeat(32).parse::<DiscordPublicKey>().is_err());
    }

    #[test]
    fn username_patterns() {
        #[rustfmt::skip]
        let table: &[(&str, &str, bool)] = &[
            ("admin.*", "admin.jane", true),
            ("admin.*", "Admin.Jane", true),
            ("admin.*", "admin.", true),
            ("admin.*", "admin", false),
            ("admin.*", "xadmin.jane", false),
            ("root", "root", true),
            ("root", "ROOT", true),
            ("root", "root2", false),
            ("*", "anyone", true),
            ("svc-?", "svc-a", true),
            ("svc-?", "svc-ab", false),
            ("*-admin", "it-ops-admin", true),
            ("*-admin", "it-ops-admins", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("**x", "x", true),
        ];
        for &(pattern, name, matches) in table {
            let p: UsernamePattern = pattern.parse().unwrap();
            assert_eq!(p.matches(name), matches, "{pattern} vs {name}");
        }
        assert!("admin[0-9]".parse::<UsernamePattern>().is_err());
        assert!("".parse::<UsernamePattern>().is_err());
    }
}
