//! The validated configuration: typed sections with public fields, for read-only use.
//!
//! Every struct here is `#[non_exhaustive]`: only [`crate::load`] and
//! [`Config::from_toml_str`] build them, so holding a [`Config`] means it passed validation.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use passdesk_core::jumpcloud::{GroupName, OrgId, Username};
use passdesk_core::mail::MailSettings;
use secrecy::SecretString;
use url::Url;

use crate::ids::{
    CliUser, DiscordPublicKey, SlackAppId, SlackChannelId, SlackTeamId, SlackUserGroupId,
    SlackUserId, Snowflake, UsernamePattern,
};

/// A validated Passdesk configuration.
///
/// `Debug` never shows a secret (they are [`SecretString`]s).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `[jumpcloud]`: needed by `reset` and `expire`.
    pub jumpcloud: Option<JumpCloudConfig>,
    /// `[identity_manager]`: needed by `notify`.
    pub identity_manager: Option<IdentityManagerConfig>,
    /// `[discord]`, when Passdesk serves Discord.
    pub discord: Option<DiscordConfig>,
    /// `[slack]`, when Passdesk serves Slack.
    pub slack: Option<SlackConfig>,
    /// `[groups.<name>]`: who is who, by immutable platform ids.
    pub groups: BTreeMap<String, Group>,
    /// `[policy.<command>]`: which commands are enabled and under which rules.
    pub policies: Policies,
    /// `[targets]`: accounts no one may touch without an override group.
    pub targets: TargetRules,
    /// `[accounts]`: each requester's own JumpCloud account, by platform id.
    pub accounts: Accounts,
    /// `[limits]`: hard ceilings and time limits.
    pub limits: Limits,
    /// `[bulk]`: the bulk executor's pace.
    pub bulk: BulkConfig,
    /// `[audit]`: where the audit log goes.
    pub audit: AuditConfig,
    /// `[server]`: the HTTP listener (Discord HTTP interactions, Slack, `/healthz`).
    pub server: ServerConfig,
}

impl Config {
    /// The policy of `command`, or `None` when the command is disabled (it has no
    /// `[policy.<command>]`): deny by default.
    pub fn policy(&self, command: CommandName) -> Option<&CommandPolicy> {
        self.policies.get(command)
    }

    /// The commands that have a policy, in catalogue order.
    pub fn enabled_commands(&self) -> Vec<CommandName> {
        CommandName::ALL
            .into_iter()
            .filter(|c| self.policy(*c).is_some())
            .collect()
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// The names of the groups `principal` belongs to, in name order.
    pub fn groups_of(&self, principal: &Principal<'_>) -> Vec<&str> {
        self.groups
            .values()
            .filter(|g| g.admits(principal))
            .map(|g| g.name.as_str())
            .collect()
    }

    /// The JumpCloud username of `principal` (from `[accounts]`), or `None` when the requester
    /// is not mapped: then the own-account protection cannot recognise them (see
    /// [`Config::warnings`]).
    pub fn account_of(&self, principal: &Principal<'_>) -> Option<&Username> {
        self.accounts.of(principal)
    }

    /// Whether `username` is `principal`'s own JumpCloud account, ignoring ASCII case as
    /// JumpCloud's username look-ups do. `false` when the requester is not mapped, so callers
    /// that must fail closed check [`Config::account_of`] first.
    pub fn is_own_account(&self, principal: &Principal<'_>, username: &str) -> bool {
        self.account_of(principal)
            .is_some_and(|own| own.as_str().eq_ignore_ascii_case(username))
    }

    /// The JumpCloud tenant of a Discord guild, or `None` when the guild is not served.
    pub fn discord_tenant(&self, guild_id: &str) -> Option<&Tenant> {
        let guild = guild_id.parse::<Snowflake>().ok()?;
        self.discord.as_ref()?.guilds.get(&guild)
    }

    /// The JumpCloud tenant of a Slack workspace, or `None` when the workspace is not served.
    pub fn slack_tenant(&self, team_id: &str) -> Option<&Tenant> {
        let team = team_id.parse::<SlackTeamId>().ok()?;
        self.slack.as_ref()?.teams.get(&team)
    }
}

/// `[jumpcloud]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JumpCloudConfig {
    /// The console base URL (from `region` or `base_url`).
    pub base_url: Url,
    /// The API key.
    pub api_key: SecretString,
    /// The organisation used for a guild or team mapped to `"default"` (`x-org-id`); `None`
    /// sends no `x-org-id` (a key of a single organisation).
    pub org_id: Option<OrgId>,
    /// Named tenants (`[jumpcloud.tenants]`), for multi-tenant keys.
    pub tenants: BTreeMap<String, OrgId>,
    /// Whole-request timeout per attempt.
    pub timeout: Duration,
    /// Connection timeout per attempt.
    pub connect_timeout: Duration,
}

/// Which JumpCloud organisation a guild or workspace works on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tenant {
    /// The tenant's name in `[jumpcloud.tenants]`, `default`, or the org id when the mapping
    /// gave one directly.
    pub name: String,
    /// The organisation sent as `x-org-id`; `None` for the key's own organisation.
    pub org_id: Option<OrgId>,
}

/// `[identity_manager]`: the server API and the notification mail.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdentityManagerConfig {
    /// The server's `ApplicationUri`.
    pub application_uri: Url,
    /// The OpenIdClient identifier (`Job`, …).
    pub client_id: String,
    /// The OpenIdClient secret.
    pub client_secret: SecretString,
    /// The domain appended to the client id (`<id>@<domain>`); `None` = the URI's host.
    pub client_domain: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// The agent's `MailSettings`, ready for `passdesk_core::mail::Mailer::new`.
    pub mail: MailSettings,
}

/// How the Discord adapter receives interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DiscordMode {
    /// A gateway (websocket) connection.
    #[default]
    Gateway,
    /// An HTTP interactions endpoint (needs `public_key`).
    Http,
}

/// `[discord]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DiscordConfig {
    /// The application id.
    pub application_id: Snowflake,
    /// The application's public key; always present in [`DiscordMode::Http`].
    pub public_key: Option<DiscordPublicKey>,
    /// The bot token.
    pub bot_token: SecretString,
    /// Gateway or HTTP interactions.
    pub mode: DiscordMode,
    /// The guilds served, each with its JumpCloud tenant; interactions from any other guild (or
    /// a DM) are refused.
    pub guilds: BTreeMap<Snowflake, Tenant>,
    /// Where approval requests are posted; present whenever a policy asks for approval.
    pub approvals_channel: Option<Snowflake>,
    /// Where audit events are mirrored (best effort; the audit file is the record).
    pub audit_channel: Option<Snowflake>,
    /// Another REST API base (the simulator); `None` = Discord's own.
    pub api_base_url: Option<Url>,
}

/// `[slack]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SlackConfig {
    /// The signing secret that authenticates Slack's requests.
    pub signing_secret: SecretString,
    /// The bot token (`xoxb-…`).
    pub bot_token: SecretString,
    /// The app id, when given (requests from another app are refused).
    pub app_id: Option<SlackAppId>,
    /// The workspaces served, each with its JumpCloud tenant.
    pub teams: BTreeMap<SlackTeamId, Tenant>,
    /// Where approval requests are posted; present whenever a policy asks for approval.
    pub approvals_channel: Option<SlackChannelId>,
    /// Where audit events are mirrored (best effort).
    pub audit_channel: Option<SlackChannelId>,
    /// Another Web API base (the simulator); `None` = Slack's own.
    pub api_base_url: Option<Url>,
}

/// Where a request comes from, as the adapters see it: immutable platform ids only.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    /// A Discord member: their user id and the role ids the interaction carries.
    Discord {
        /// The user id.
        user_id: &'a str,
        /// The member's role ids in the guild.
        role_ids: &'a [String],
    },
    /// A Slack user: their user id and the ids of the user groups they are in.
    Slack {
        /// The user id.
        user_id: &'a str,
        /// The user group ids (as looked up).
        usergroup_ids: &'a [String],
    },
    /// A local command-line user.
    Cli {
        /// The login name.
        user: &'a str,
    },
}

impl Principal<'_> {
    /// The platform the request comes from.
    pub fn platform(&self) -> Platform {
        match self {
            Self::Discord { .. } => Platform::Discord,
            Self::Slack { .. } => Platform::Slack,
            Self::Cli { .. } => Platform::Cli,
        }
    }
}

/// Which platform a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// Discord.
    Discord,
    /// Slack.
    Slack,
    /// The local command line.
    Cli,
}

/// `[groups.<name>]`: the members of a named group, by immutable platform ids. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Group {
    /// The group's name (`helpdesk`, `approver`, …).
    pub name: String,
    /// Discord roles whose members belong.
    pub discord_roles: Vec<Snowflake>,
    /// Discord users who belong.
    pub discord_users: Vec<Snowflake>,
    /// Slack user groups whose members belong.
    pub slack_usergroups: Vec<SlackUserGroupId>,
    /// Slack users who belong.
    pub slack_users: Vec<SlackUserId>,
    /// Local command-line users who belong.
    pub cli_users: Vec<CliUser>,
}

impl Group {
    /// Whether `principal` is a member. Ids that do not parse never match.
    pub fn admits(&self, principal: &Principal<'_>) -> bool {
        match *principal {
            Principal::Discord { user_id, role_ids } => {
                let is = |ids: &[Snowflake], s: &str| {
                    s.parse::<Snowflake>().is_ok_and(|id| ids.contains(&id))
                };
                is(&self.discord_users, user_id)
                    || role_ids.iter().any(|r| is(&self.discord_roles, r))
            }
            Principal::Slack {
                user_id,
                usergroup_ids,
            } => {
                self.slack_users.iter().any(|u| u.as_str() == user_id)
                    || usergroup_ids
                        .iter()
                        .any(|g| self.slack_usergroups.iter().any(|s| s.as_str() == g))
            }
            Principal::Cli { user } => self.cli_users.iter().any(|u| u.as_str() == user),
        }
    }
}

/// A command of the catalogue that a policy governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CommandName {
    /// Send a JumpCloud activation or password-reset mail.
    Reset,
    /// Expire a JumpCloud user's password.
    Expire,
    /// Send an Identity Manager password notification.
    Notify,
}

impl CommandName {
    /// Every command, in catalogue order.
    pub const ALL: [CommandName; 3] = [Self::Reset, Self::Expire, Self::Notify];

    /// The name as written in the configuration and in chat: `reset`, `expire`, `notify`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Expire => "expire",
            Self::Notify => "notify",
        }
    }
}

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command {0:?}: the commands are reset, expire and notify")]
pub struct UnknownCommand(String);

impl FromStr for CommandName {
    type Err = UnknownCommand;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCommand(crate::ids::shown(s)))
    }
}

/// The policies of the three commands; `None` = disabled.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Policies {
    /// `[policy.reset]`.
    pub reset: Option<CommandPolicy>,
    /// `[policy.expire]`.
    pub expire: Option<CommandPolicy>,
    /// `[policy.notify]`.
    pub notify: Option<CommandPolicy>,
}

impl Policies {
    /// The policy of `command`; `None` = disabled.
    pub fn get(&self, command: CommandName) -> Option<&CommandPolicy> {
        match command {
            CommandName::Reset => self.reset.as_ref(),
            CommandName::Expire => self.expire.as_ref(),
            CommandName::Notify => self.notify.as_ref(),
        }
    }
}

/// `[policy.<command>]`: who may run a command, where, and with whose approval.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommandPolicy {
    /// The command.
    pub command: CommandName,
    /// Groups whose members may run it (never empty; every name is defined).
    pub groups: Vec<String>,
    /// Channels it may be used in, per platform.
    pub channels: ChannelPolicy,
    /// When a second person must approve.
    pub approval: ApprovalRule,
    /// Groups whose members may approve (non-empty unless `approval` is `None`). The requester
    /// never approves their own request.
    pub approver_groups: Vec<String>,
    /// Whether a requester may target their own account.
    pub allow_self: bool,
}

impl CommandPolicy {
    /// Whether the command may be used in `channel_id` on `platform` (always on the command
    /// line, which has no channels).
    pub fn allows_channel(&self, platform: Platform, channel_id: &str) -> bool {
        match platform {
            Platform::Discord => self.channels.discord.allows(channel_id),
            Platform::Slack => self.channels.slack.allows(channel_id),
            Platform::Cli => true,
        }
    }
}

/// Where a command may be used on each chat platform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelPolicy {
    /// Discord channels.
    pub discord: ChannelRule<Snowflake>,
    /// Slack channels.
    pub slack: ChannelRule<SlackChannelId>,
}

/// A channel allow-list on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRule<T> {
    /// Not allowed anywhere on this platform (the key was omitted).
    Disabled,
    /// Allowed in every channel (`["*"]`).
    Any,
    /// Allowed only in these channels.
    Only(Vec<T>),
}

impl<T: fmt::Display> ChannelRule<T> {
    /// Whether `channel_id` is allowed.
    pub fn allows(&self, channel_id: &str) -> bool {
        match self {
            Self::Disabled => false,
            Self::Any => true,
            Self::Only(ids) => ids.iter().any(|id| id.to_string() == channel_id),
        }
    }
}

/// When a command needs a second person's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApprovalRule {
    /// Never.
    None,
    /// When a request names more than `threshold` targets.
    Bulk {
        /// The most targets a request may name without approval.
        threshold: u32,
    },
    /// Always.
    Always,
}

impl ApprovalRule {
    /// Whether a request naming `targets` targets needs approval.
    pub fn requires_approval(self, targets: usize) -> bool {
        match self {
            Self::None => false,
            Self::Bulk { threshold } => targets > threshold as usize,
            Self::Always => true,
        }
    }
}

/// `[targets]`: protected accounts.
///
/// A target is protected when it is in one of `protected_groups`, when its username matches one
/// of `protected_usernames`, or when it is the requester's own account and the command's policy
/// does not set `allow_self`. Protected targets are refused unless the requester is in one of
/// `protected_override_groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetRules {
    /// JumpCloud groups whose members are protected.
    pub protected_groups: Vec<GroupName>,
    /// Username patterns of protected accounts.
    pub protected_usernames: Vec<UsernamePattern>,
    /// Groups (of `[groups]`) whose members may act on protected targets.
    pub protected_override_groups: Vec<String>,
}

impl TargetRules {
    /// Whether `group` (a JumpCloud group name) is protected; compared ignoring case.
    pub fn is_protected_group(&self, group: &str) -> bool {
        self.protected_groups
            .iter()
            .any(|g| g.as_str().eq_ignore_ascii_case(group))
    }

    /// Whether `username` matches a protected pattern (ignoring ASCII case).
    pub fn is_protected_username(&self, username: &str) -> bool {
        self.protected_usernames.iter().any(|p| p.matches(username))
    }
}

/// `[accounts]`: which JumpCloud account is each requester's own, keyed by immutable platform
/// ids, so that the own-account rule of [`TargetRules`] can recognise the requester. Any part may
/// be empty; a requester without an entry has no known account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accounts {
    /// `[accounts.discord]`: Discord user id → JumpCloud username.
    pub discord: BTreeMap<Snowflake, Username>,
    /// `[accounts.slack]`: Slack user id → JumpCloud username.
    pub slack: BTreeMap<SlackUserId, Username>,
    /// `[accounts.cli]`: local login name → JumpCloud username.
    pub cli: BTreeMap<CliUser, Username>,
}

impl Accounts {
    /// The JumpCloud username of `principal`, or `None` when it has no entry (ids that do not
    /// parse never match).
    pub fn of(&self, principal: &Principal<'_>) -> Option<&Username> {
        match *principal {
            Principal::Discord { user_id, .. } => {
                self.discord.get(&user_id.parse::<Snowflake>().ok()?)
            }
            Principal::Slack { user_id, .. } => {
                self.slack.get(&user_id.parse::<SlackUserId>().ok()?)
            }
            Principal::Cli { user } => self.cli.get(&user.parse::<CliUser>().ok()?),
        }
    }

    /// How many requesters of `platform` are mapped.
    pub fn count(&self, platform: Platform) -> usize {
        match platform {
            Platform::Discord => self.discord.len(),
            Platform::Slack => self.slack.len(),
            Platform::Cli => self.cli.len(),
        }
    }

    /// Whether no requester is mapped on any platform.
    pub fn is_empty(&self) -> bool {
        self.discord.is_empty() && self.slack.is_empty() && self.cli.is_empty()
    }
}

/// `[limits]`: hard ceilings and time limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most targets one bulk request may name.
    pub max_targets: u32,
    /// How long a pending action waits for Confirm.
    pub confirmation_ttl: Duration,
    /// How long a request waits for approval.
    pub approval_ttl: Duration,
    /// The least time between two state-changing commands of one user (zero = none).
    pub cooldown: Duration,
    /// The most state-changing commands one user may run per hour.
    pub max_per_hour: u32,
}

/// `[bulk]`: the bulk executor's pace.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BulkConfig {
    /// How many targets are worked on at once.
    pub concurrency: usize,
    /// The most upstream operations started per second.
    pub rate_per_second: f64,
    /// How often progress is reported.
    pub progress_interval: Duration,
}

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditConfig {
    /// The JSON Lines audit log (relative paths are resolved against the configuration file's
    /// directory by [`crate::load`]).
    pub path: PathBuf,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The address the HTTP listener binds.
    pub listen: SocketAddr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_rules() {
        assert!(!ApprovalRule::None.requires_approval(10_000));
        assert!(ApprovalRule::Always.requires_approval(1));
        let bulk = ApprovalRule::Bulk { threshold: 10 };
        assert!(!bulk.requires_approval(10));
        assert!(bulk.requires_approval(11));
    }

    #[test]
    fn command_names_parse_exactly() {
        assert_eq!("expire".parse(), Ok(CommandName::Expire));
        assert!("Expire".parse::<CommandName>().is_err());
        assert!("resett".parse::<CommandName>().is_err());
        assert_eq!(CommandName::Notify.to_string(), "notify");
    }

    #[test]
    fn channel_rules() {
        let id: Snowflake = "112233445566778899".parse().unwrap();
        assert!(!ChannelRule::<Snowflake>::Disabled.allows("112233445566778899"));
        assert!(ChannelRule::<Snowflake>::Any.allows("112233445566778899"));
        let only = ChannelRule::Only(vec![id]);
        assert!(only.allows("112233445566778899"));
        assert!(!only.allows("112233445566778898"));
    }
}
