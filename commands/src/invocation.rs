//! Who asked for what, where: the platform-neutral input every adapter produces.

use std::fmt;

/// The surface a request came from. Adapters set it; rules never branch on it except to pick
/// which kind of platform id a role rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Discord (gateway or HTTP interactions).
    Discord,
    /// Slack (slash command and interactivity endpoints).
    Slack,
    /// The demo console.
    Console,
    /// The command line (`passdesk jumpcloud …`).
    Cli,
}

impl Platform {
    /// The lowercase name used in audit events and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Discord => "discord",
            Platform::Slack => "slack",
            Platform::Console => "console",
            Platform::Cli => "cli",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The person behind a request or a button press, as the platform identifies them.
///
/// `id` and `roles` are immutable platform ids (Discord user and role snowflakes, Slack user and
/// user-group ids); `display_name` is for people to read and is never used for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Where the actor is.
    pub platform: Platform,
    /// The platform's immutable user id.
    pub id: String,
    /// A name for people to read (never used for authorisation).
    pub display_name: String,
    /// The platform role / user-group ids the actor holds, as the platform reported them.
    pub roles: Vec<String>,
}

impl Actor {
    /// True when both name the same platform account.
    pub fn same_account(&self, other: &Actor) -> bool {
        self.platform == other.platform && self.id == other.id
    }
}

/// One slash command as typed, before parsing: the command name and raw option values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Who typed it.
    pub actor: Actor,
    /// The channel it was typed in (platform channel id); `None` for direct messages and the CLI.
    pub channel: Option<String>,
    /// The workspace it came from (Discord guild id, Slack team id); selects the JumpCloud org.
    pub tenant: Option<String>,
    /// The platform's id of this interaction, for tracing and audit correlation.
    pub interaction_id: String,
    /// The command name without the slash, e.g. `reset`.
    pub command: String,
    /// Raw option values in the order given, e.g. `("user", "jcuser.one")`.
    pub options: Vec<(String, String)>,
}
