//! Who may do what, where: the role policy of commands and of button presses, and the per-user
//! cooldown on state-changing commands.
//!
//! Everything here is a plain function of the configuration and the actor, checked in a fixed
//! order and denying by default:
//!
//! 1. the command is enabled (it has a `[policy.<command>]`);
//! 2. the actor is in one of the command's groups;
//! 3. the channel is allowed (chat platforms refuse direct messages, which have no channel);
//! 4. for a state-changing request, the actor's cooldown and hourly limit ([`Cooldowns`]).
//!
//! [`authorize`] runs checks 1–3, [`authorize_request`] all four. Button presses go through
//! [`authorize_press`]: authorisation is checked on the command and again on every press.
//!
//! Actors map onto the configuration's [`Principal`]s by platform: Discord role ids, Slack
//! user-group ids, and the local login name on the command line. The demo console is treated as
//! the command line: its actors are demo identities matched against `cli_users`, and it has no
//! channels.
//!
//! Denials say what a user can act on — the command, the group names allowed — and never name
//! other configuration (channel ids, role ids, other users).

use std::collections::VecDeque;
use std::time::Duration;

use dashmap::DashMap;
use passdesk_config::{ApprovalRule, ChannelPolicy, ChannelRule, Config, Principal};
use tokio::time::Instant;

use crate::ids::ButtonAction;
use crate::invocation::{Actor, Platform};
use crate::pending::PendingView;
use crate::request::{CommandName, Request};

/// The window of [`Cooldowns`]' hourly limit.
const HOUR: Duration = Duration::from_secs(3600);

/// What an authorised actor may do with a command: the result of [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The command granted.
    pub command: CommandName,
    /// The command's groups the actor is in, in the policy's order (never empty).
    pub groups: Vec<String>,
    /// Whether the actor is in a `protected_override_groups` group, so may act on protected
    /// targets.
    pub may_touch_protected: bool,
    /// Whether the actor may target their own account (the policy's `allow_self`).
    pub allow_self: bool,
    /// When the request needs a second person's approval.
    pub approval: ApprovalRule,
    /// The groups whose members may approve (empty when `approval` is `None`).
    pub approver_groups: Vec<String>,
}

/// What an authorised button press may do: the result of [`authorize_press`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PressGrant {
    /// The action allowed.
    pub action: ButtonAction,
    /// The groups that allowed it: the command's groups the requester is in for
    /// Confirm/EnterPassword, the approver groups the approver is in for Approve/Deny, empty for
    /// Cancel (a requester may always withdraw their own request).
    pub groups: Vec<String>,
}

/// Why a command or a button press is refused. The message is written for the person refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The command has no policy, so it is disabled.
    #[error("`{command}` is not enabled here; ask a Passdesk administrator if you need it")]
    CommandDisabled {
        /// The command.
        command: CommandName,
    },
    /// The actor is in none of the command's groups.
    #[error(
        "you are not in a group allowed to run `{command}` (allowed: {})",
        names(allowed)
    )]
    NotInGroup {
        /// The command.
        command: CommandName,
        /// The groups that may run it.
        allowed: Vec<String>,
    },
    /// A chat platform request without a channel (a direct message).
    #[error(
        "`{command}` cannot be used in direct messages; run it in a channel where it is allowed"
    )]
    DirectMessage {
        /// The command.
        command: CommandName,
    },
    /// The command is not enabled on this chat platform at all.
    #[error("`{command}` is not enabled on {platform}")]
    PlatformDisabled {
        /// The command.
        command: CommandName,
        /// The platform.
        platform: Platform,
    },
    /// The command is not allowed in this channel.
    #[error("`{command}` is not allowed in this channel")]
    ChannelNotAllowed {
        /// The command.
        command: CommandName,
    },
    /// The actor ran a state-changing command less than the cooldown ago.
    #[error("you can run another state-changing command in {}", wait(*retry_after))]
    Cooldown {
        /// How long until the next one is allowed.
        retry_after: Duration,
    },
    /// The actor reached the hourly limit of state-changing commands.
    #[error(
        "you have run {max} state-changing commands in the last hour, the most allowed; you can \
         run another in {}",
        wait(*retry_after)
    )]
    HourlyLimit {
        /// The limit.
        max: u32,
        /// How long until the next one is allowed.
        retry_after: Duration,
    },
    /// A requester's button pressed by someone else.
    #[error("only {requester} can {} this request", verb(*action))]
    NotRequester {
        /// The button.
        action: ButtonAction,
        /// The requester's display name.
        requester: String,
    },
    /// The requester pressed Approve or Deny on their own request.
    #[error("you cannot approve or deny your own request; another approver has to")]
    SelfApproval,
    /// The actor is in none of the command's approver groups.
    #[error(
        "you are not in a group allowed to approve `{command}` (allowed: {})",
        names(allowed)
    )]
    NotApprover {
        /// The command.
        command: CommandName,
        /// The groups that may approve it.
        allowed: Vec<String>,
    },
}

impl Denial {
    /// A stable snake_case code for audit events and metrics (`not_in_group`, `cooldown`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Denial::CommandDisabled { .. } => "command_disabled",
            Denial::NotInGroup { .. } => "not_in_group",
            Denial::DirectMessage { .. } => "direct_message",
            Denial::PlatformDisabled { .. } => "platform_disabled",
            Denial::ChannelNotAllowed { .. } => "channel_not_allowed",
            Denial::Cooldown { .. } => "cooldown",
            Denial::HourlyLimit { .. } => "hourly_limit",
            Denial::NotRequester { .. } => "not_requester",
            Denial::SelfApproval => "self_approval",
            Denial::NotApprover { .. } => "not_approver",
        }
    }
}

/// `a, b` or `none`.
fn names(groups: &[String]) -> String {
    if groups.is_empty() {
        "none".to_owned()
    } else {
        groups.join(", ")
    }
}

/// A wait for people: whole seconds rounded up, `42 s` or `3 min 5 s`.
fn wait(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// What pressing `action` does, as a verb: "only Alice can `confirm` this request".
fn verb(action: ButtonAction) -> &'static str {
    match action {
        ButtonAction::Confirm => "confirm",
        ButtonAction::Cancel => "cancel",
        ButtonAction::Approve => "approve",
        ButtonAction::Deny => "deny",
        ButtonAction::EnterPassword => "enter the password of",
    }
}

/// The configuration's name of a command.
fn config_command(command: CommandName) -> passdesk_config::CommandName {
    match command {
        CommandName::Reset => passdesk_config::CommandName::Reset,
        CommandName::Expire => passdesk_config::CommandName::Expire,
        CommandName::Notify => passdesk_config::CommandName::Notify,
    }
}

/// The configuration's view of an actor. The demo console is the command line (demo identities
/// in `cli_users`).
pub(crate) fn principal(actor: &Actor) -> Principal<'_> {
    match actor.platform {
        Platform::Discord => Principal::Discord {
            user_id: &actor.id,
            role_ids: &actor.roles,
        },
        Platform::Slack => Principal::Slack {
            user_id: &actor.id,
            usergroup_ids: &actor.roles,
        },
        Platform::Console | Platform::Cli => Principal::Cli { user: &actor.id },
    }
}

/// The groups of `wanted` that `actor` is in, in `wanted`'s order.
fn matching(config: &Config, actor: &Actor, wanted: &[String]) -> Vec<String> {
    let principal = principal(actor);
    let mine = config.groups_of(&principal);
    wanted
        .iter()
        .filter(|g| mine.contains(&g.as_str()))
        .cloned()
        .collect()
}

/// Checks 1–3: may `actor` run `command` in `channel` (`None` for a direct message or the
/// command line)? Deny by default: a disabled command, an actor in no allowed group (including
/// one with no roles at all) and a direct message on a chat platform are all refused.
pub fn authorize(
    config: &Config,
    actor: &Actor,
    channel: Option<&str>,
    command: CommandName,
) -> Result<Grant, Denial> {
    let Some(policy) = config.policy(config_command(command)) else {
        return Err(Denial::CommandDisabled { command });
    };
    let groups = matching(config, actor, &policy.groups);
    if groups.is_empty() {
        return Err(Denial::NotInGroup {
            command,
            allowed: policy.groups.clone(),
        });
    }
    check_channel(&policy.channels, actor.platform, channel, command)?;
    let may_touch_protected =
        !matching(config, actor, &config.targets.protected_override_groups).is_empty();
    Ok(Grant {
        command,
        groups,
        may_touch_protected,
        allow_self: policy.allow_self,
        approval: policy.approval,
        approver_groups: policy.approver_groups.clone(),
    })
}

/// Check 3: the channel. The command line and the demo console have no channels; chat
/// platforms need a channel the policy allows, so direct messages are refused.
fn check_channel(
    channels: &ChannelPolicy,
    platform: Platform,
    channel: Option<&str>,
    command: CommandName,
) -> Result<(), Denial> {
    let (disabled, allowed) = match platform {
        Platform::Cli | Platform::Console => return Ok(()),
        Platform::Discord => (
            matches!(channels.discord, ChannelRule::Disabled),
            channel.is_some_and(|c| channels.discord.allows(c)),
        ),
        Platform::Slack => (
            matches!(channels.slack, ChannelRule::Disabled),
            channel.is_some_and(|c| channels.slack.allows(c)),
        ),
    };
    if disabled {
        Err(Denial::PlatformDisabled { command, platform })
    } else if channel.is_none() {
        Err(Denial::DirectMessage { command })
    } else if allowed {
        Ok(())
    } else {
        Err(Denial::ChannelNotAllowed { command })
    }
}

/// All four checks for a parsed request: [`authorize`], then, when the request changes anything
/// (not a dry run), the actor's cooldown and hourly limit as of `now` — checked, not counted:
/// a run is counted when it is confirmed (see [`Cooldowns`]).
pub fn authorize_request(
    config: &Config,
    cooldowns: &Cooldowns,
    actor: &Actor,
    channel: Option<&str>,
    request: &Request,
    now: Instant,
) -> Result<Grant, Denial> {
    let grant = authorize(config, actor, channel, request.command_name())?;
    if request.is_state_changing() {
        cooldowns.check(actor, now)?;
    }
    Ok(grant)
}

/// The identity rule of a press, the one part the pending store enforces too: the requester's
/// buttons (Confirm, Cancel, EnterPassword) only by the requester's own platform account, the
/// approver's buttons (Approve, Deny) never by the requester.
pub(crate) fn check_identity(
    actor: &Actor,
    requester: &Actor,
    action: ButtonAction,
) -> Result<(), Denial> {
    let own = actor.same_account(requester);
    match action {
        ButtonAction::Confirm | ButtonAction::Cancel | ButtonAction::EnterPassword if !own => {
            Err(Denial::NotRequester {
                action,
                requester: requester.display_name.clone(),
            })
        }
        ButtonAction::Approve | ButtonAction::Deny if own => Err(Denial::SelfApproval),
        _ => Ok(()),
    }
}

/// May `actor` press `action` on `pending`?
///
/// - Confirm, Cancel, EnterPassword: only the requester (same platform account). Confirm and
///   EnterPassword (which leads to the run) re-check that the requester is still authorised for
///   the command in the request's channel, with the roles the press carries; Cancel does not (a
///   requester may always withdraw their own request).
/// - Approve, Deny: only a member of the command's approver groups who is not the requester,
///   even when the requester is an approver too.
///
/// The cooldown is not checked here: it is counted when the pending store accepts the Confirm.
pub fn authorize_press(
    config: &Config,
    actor: &Actor,
    pending: &PendingView,
    action: ButtonAction,
) -> Result<PressGrant, Denial> {
    check_identity(actor, &pending.requester, action)?;
    let command = pending.command;
    let groups = match action {
        ButtonAction::Cancel => Vec::new(),
        ButtonAction::Confirm | ButtonAction::EnterPassword => {
            authorize(config, actor, pending.channel.as_deref(), command)?.groups
        }
        ButtonAction::Approve | ButtonAction::Deny => {
            let Some(policy) = config.policy(config_command(command)) else {
                return Err(Denial::CommandDisabled { command });
            };
            let groups = matching(config, actor, &policy.approver_groups);
            if groups.is_empty() {
                return Err(Denial::NotApprover {
                    command,
                    allowed: policy.approver_groups.clone(),
                });
            }
            groups
        }
    };
    Ok(PressGrant { action, groups })
}

/// Per-user cooldown and hourly limit on state-changing commands (`[limits] cooldown_seconds`,
/// `max_per_hour`), keyed by platform and user id.
///
/// A run is counted when its Confirm is accepted — the moment the requester commits to it —
/// not when the command is typed (a plan that is cancelled or left to expire costs nothing) and
/// not when it finishes (a run that is then denied by an approver still counts, so approvers
/// cannot be flooded). [`PendingStore::confirm`](crate::pending::PendingStore::confirm) calls
/// [`Cooldowns::acquire`] while it holds the pending entry, so a refused Confirm leaves the
/// request waiting and a double-pressed Confirm counts once. Dry runs never count.
///
/// The clock is a parameter (`now`), so tests are deterministic; the engine passes
/// `tokio::time::Instant::now()`.
#[derive(Debug)]
pub struct Cooldowns {
    cooldown: Duration,
    max_per_hour: u32,
    runs: DashMap<(Platform, String), VecDeque<Instant>>,
}

impl Cooldowns {
    /// At least `cooldown` between two runs of one user (zero = no cooldown) and at most
    /// `max_per_hour` runs in any hour (zero refuses every run).
    pub fn new(cooldown: Duration, max_per_hour: u32) -> Self {
        Self {
            cooldown,
            max_per_hour,
            runs: DashMap::new(),
        }
    }

    /// The limits of `[limits]`.
    pub fn from_limits(limits: &passdesk_config::Limits) -> Self {
        Self::new(limits.cooldown, limits.max_per_hour)
    }

    /// Whether `actor` may run a state-changing command at `now`, without counting one.
    pub fn check(&self, actor: &Actor, now: Instant) -> Result<(), Denial> {
        match self.runs.get(&key(actor)) {
            Some(runs) => self.verdict(&runs, now),
            None => self.verdict(&VecDeque::new(), now),
        }
    }

    /// Counts a run of `actor` at `now` if one is allowed (atomically with the check), or says
    /// how long to wait.
    pub fn acquire(&self, actor: &Actor, now: Instant) -> Result<(), Denial> {
        let mut runs = self.runs.entry(key(actor)).or_default();
        while runs
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
        {
            runs.pop_front();
        }
        self.verdict(&runs, now)?;
        runs.push_back(now);
        Ok(())
    }

    /// Forgets users with no run in the hour before `now` (memory hygiene; the limits only look
    /// back an hour).
    pub fn purge(&self, now: Instant) {
        self.runs.retain(|_, runs| {
            runs.back()
                .is_some_and(|t| now.saturating_duration_since(*t) < HOUR)
        });
    }

    fn verdict(&self, runs: &VecDeque<Instant>, now: Instant) -> Result<(), Denial> {
        let within_hour: Vec<Instant> = runs
            .iter()
            .copied()
            .filter(|t| now.saturating_duration_since(*t) < HOUR)
            .collect();
        let cooldown_wait = within_hour
            .last()
            .map(|last| {
                self.cooldown
                    .saturating_sub(now.saturating_duration_since(*last))
            })
            .unwrap_or_default();
        let max = usize::try_from(self.max_per_hour).unwrap_or(usize::MAX);
        let hourly_wait = if within_hour.len() >= max {
            // The run that must leave the window before another fits.
            let index = within_hour.len() - max;
            within_hour
                .get(index)
                .map(|t| HOUR.saturating_sub(now.saturating_duration_since(*t)))
                // With a limit of zero, nothing ever fits.
                .unwrap_or(HOUR)
        } else {
            Duration::ZERO
        };
        if hourly_wait > Duration::ZERO && hourly_wait >= cooldown_wait {
            Err(Denial::HourlyLimit {
                max: self.max_per_hour,
                retry_after: hourly_wait,
            })
        } else if cooldown_wait > Duration::ZERO {
            Err(Denial::Cooldown {
                retry_after: cooldown_wait,
            })
        } else {
            Ok(())
        }
    }
}

fn key(actor: &Actor) -> (Platform, String) {
    (actor.platform, actor.id.clone())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use passdesk_config::MapEnv;

    use super::*;
    use crate::ids::PendingId;
    use crate::pending::PendingState;

    const HELPDESK_ROLE: &str = "111111111111111111";
    const APPROVER_ROLE: &str = "222222222222222222";
    const SECURITY_USER: &str = "333333333333333333";
    const EXPIRE_CHANNEL: &str = "444444444444444444";
    const OTHER_CHANNEL: &str = "555555555555555555";

    /// Every command enabled: reset (approval above 10 targets) and expire (always approved) on
    /// Discord and in one Slack channel, notify (no approval) in every Slack channel only.
    const CONFIG: &str = r#"
[jumpcloud]
api_key = { env = "JC_KEY" }

[identity_manager]
application_uri = "https://usercube.acme.example"
client_id = "Job"
client_secret = { env = "IM_SECRET" }

[identity_manager.mail]
from_address = "no-reply@acme.example"
pickup_directory = "/var/spool/passdesk/pickup"

[discord]
application_id = "123456789012345678"
bot_token = { env = "DISCORD_TOKEN" }
approvals_channel = "666666666666666666"

[discord.guilds]
"423456789012345678" = "default"

[slack]
signing_secret = { env = "SLACK_SECRET" }
bot_token = { env = "SLACK_TOKEN" }
approvals_channel = "C0APPROVAL1"

[slack.teams]
T0ACME0001 = "default"

[groups.helpdesk]
discord_roles = ["111111111111111111"]
slack_usergroups = ["S0HELPDESK"]
cli_users = ["alice", "carol"]

[groups.approver]
discord_roles = ["222222222222222222"]
slack_users = ["U0APPROVE1"]
cli_users = ["bob"]

[groups.security]
discord_users = ["333333333333333333"]
cli_users = ["sec"]

[policy.reset]
groups = ["helpdesk"]
channels = { discord = ["*"], slack = ["C0HELPDESK"] }
approval = "bulk"
bulk_threshold = 10
approver_groups = ["approver"]

[policy.expire]
groups = ["helpdesk", "security"]
channels = { discord = ["444444444444444444"], slack = ["C0HELPDESK"] }
approval = "always"
approver_groups = ["approver"]
allow_self = true

[policy.notify]
groups = ["helpdesk"]
channels = { slack = ["*"] }
approval = "none"

[targets]
protected_override_groups = ["security"]

[audit]
path = "/var/lib/passdesk/audit.jsonl"
"#;

    fn env() -> MapEnv {
        MapEnv::new()
            .with("JC_KEY", "jc-key")
            .with("IM_SECRET", "im-secret")
            .with("DISCORD_TOKEN", "discord-token")
            .with("SLACK_SECRET", "slack-secret")
            .with("SLACK_TOKEN", "xoxb-slack-token")
    }

    fn config() -> Config {
        Config::from_toml_str(CONFIG, &env()).unwrap()
    }

    /// The configuration without `[policy.<command>]`.
    fn config_without(command: &str) -> Config {
        let start = CONFIG.find(&format!("[policy.{command}]")).unwrap();
        let end = CONFIG[start + 1..].find("\n[").unwrap() + start + 2;
        let text = format!("{}{}", &CONFIG[..start], &CONFIG[end..]);
        Config::from_toml_str(&text, &env()).unwrap()
    }

    fn actor(platform: Platform, id: &str, roles: &[&str]) -> Actor {
        Actor {
            platform,
            id: id.to_owned(),
            display_name: format!("user {id}"),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn discord(id: &str, roles: &[&str]) -> Actor {
        actor(Platform::Discord, id, roles)
    }

    fn slack(id: &str, groups: &[&str]) -> Actor {
        actor(Platform::Slack, id, groups)
    }

    fn pending(requester: &Actor, command: CommandName, channel: Option<&str>) -> PendingView {
        let id = PendingId::random();
        PendingView {
            id,
            request_id: id.request_id(),
            requester: requester.clone(),
            command,
            channel: channel.map(str::to_owned),
            needs_approval: true,
            needs_password: false,
            state: PendingState::AwaitingConfirmation,
            created_at: Utc::now(),
            expires_at: Utc::now(),
            handled: None,
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Who {
        Requester,
        OtherHelpdesk,
        Approver,
        Outsider,
    }

    /// What to expect: allowed, or the denial's code.
    fn outcome(result: Result<PressGrant, Denial>) -> Result<(), &'static str> {
        result.map(drop).map_err(|d| d.code())
    }

    #[test]
    fn the_role_matrix_of_commands_and_buttons() {
        let config = config();
        let people = [
            (Who::Requester, slack("U0REQUEST1", &["S0HELPDESK"])),
            (Who::OtherHelpdesk, slack("U0HELPER02", &["S0HELPDESK"])),
            (Who::Approver, slack("U0APPROVE1", &[])),
            (Who::Outsider, slack("U0OUTSIDE1", &["S0OTHERS01"])),
        ];
        let requester = &people[0].1;
        for command in CommandName::ALL {
            let has_approvers = command != CommandName::Notify;
            for (who, person) in &people {
                // The command itself.
                let may_run = matches!(who, Who::Requester | Who::OtherHelpdesk);
                let result = authorize(&config, person, Some("C0HELPDESK"), command);
                assert_eq!(
                    result.as_ref().map(drop).map_err(Denial::code),
                    if may_run { Ok(()) } else { Err("not_in_group") },
                    "{command} by {who:?}"
                );

                // Buttons on the requester's pending action.
                let view = pending(requester, command, Some("C0HELPDESK"));
                #[rustfmt::skip]
                let expected: [(ButtonAction, Result<(), &str>); 5] = match who {
                    Who::Requester => [
                        (ButtonAction::Confirm, Ok(())),
                        (ButtonAction::Cancel, Ok(())),
                        (ButtonAction::EnterPassword, Ok(())),
                        (ButtonAction::Approve, Err("self_approval")),
                        (ButtonAction::Deny, Err("self_approval")),
                    ],
                    Who::OtherHelpdesk | Who::Outsider => [
                        (ButtonAction::Confirm, Err("not_requester")),
                        (ButtonAction::Cancel, Err("not_requester")),
                        (ButtonAction::EnterPassword, Err("not_requester")),
                        (ButtonAction::Approve, Err("not_approver")),
                        (ButtonAction::Deny, Err("not_approver")),
                    ],
                    Who::Approver => {
                        let approve = if has_approvers { Ok(()) } else { Err("not_approver") };
                        [
                            (ButtonAction::Confirm, Err("not_requester")),
                            (ButtonAction::Cancel, Err("not_requester")),
                            (ButtonAction::EnterPassword, Err("not_requester")),
                            (ButtonAction::Approve, approve),
                            (ButtonAction::Deny, approve),
                        ]
                    }
                };
                for (action, want) in expected {
                    let got = outcome(authorize_press(&config, person, &view, action));
                    assert_eq!(got, want, "{command}: {action:?} by {who:?}");
                }
            }
        }
    }

    #[test]
    fn press_grants_name_the_groups_that_allowed_them() {
        let config = config();
        let requester = slack("U0REQUEST1", &["S0HELPDESK"]);
        let view = pending(&requester, CommandName::Expire, Some("C0HELPDESK"));
        let grant = authorize_press(&config, &requester, &view, ButtonAction::Confirm).unwrap();
        assert_eq!(grant.groups, ["helpdesk"]);
        let approver = slack("U0APPROVE1", &[]);
        let grant = authorize_press(&config, &approver, &view, ButtonAction::Approve).unwrap();
        assert_eq!(grant.groups, ["approver"]);
    }

    #[test]
    fn confirm_rechecks_the_requesters_roles_but_cancel_does_not() {
        let config = config();
        let requester = discord("700000000000000001", &[HELPDESK_ROLE]);
        let view = pending(&requester, CommandName::Expire, Some(EXPIRE_CHANNEL));
        assert!(authorize_press(&config, &requester, &view, ButtonAction::Confirm).is_ok());

        // The role was taken away between the command and the press.
        let demoted = discord("700000000000000001", &[]);
        for action in [ButtonAction::Confirm, ButtonAction::EnterPassword] {
            let denial = authorize_press(&config, &demoted, &view, action).unwrap_err();
            assert_eq!(
                denial.to_string(),
                "you are not in a group allowed to run `expire` (allowed: helpdesk, security)"
            );
        }
        assert!(authorize_press(&config, &demoted, &view, ButtonAction::Cancel).is_ok());

        // The command was disabled since: nobody may confirm or approve it any more.
        let disabled = config_without("expire");
        let approver = discord("700000000000000009", &[APPROVER_ROLE]);
        for (who, action) in [
            (&requester, ButtonAction::Confirm),
            (&approver, ButtonAction::Approve),
        ] {
            assert_eq!(
                authorize_press(&disabled, who, &view, action).unwrap_err(),
                Denial::CommandDisabled {
                    command: CommandName::Expire
                }
            );
        }
    }

    #[test]
    fn self_approval_is_refused_even_for_an_approver() {
        let config = config();
        // In the helpdesk (may run) and an approver.
        let both = discord("700000000000000002", &[HELPDESK_ROLE, APPROVER_ROLE]);
        assert!(authorize(&config, &both, Some(EXPIRE_CHANNEL), CommandName::Expire).is_ok());
        let view = pending(&both, CommandName::Expire, Some(EXPIRE_CHANNEL));
        for action in [ButtonAction::Approve, ButtonAction::Deny] {
            let denial = authorize_press(&config, &both, &view, action).unwrap_err();
            assert_eq!(denial, Denial::SelfApproval);
            assert!(denial.to_string().contains("your own request"), "{denial}");
        }
        // Another approver may.
        let other = discord("700000000000000003", &[APPROVER_ROLE]);
        assert!(authorize_press(&config, &other, &view, ButtonAction::Approve).is_ok());
        // The same id on another platform is another account: a Slack approver is not the
        // Discord requester.
        let mut slack_twin = both.clone();
        slack_twin.platform = Platform::Slack;
        slack_twin.id = "U0APPROVE1".to_owned();
        assert!(authorize_press(&config, &slack_twin, &view, ButtonAction::Approve).is_ok());
    }

    #[test]
    fn channel_allow_lists() {
        let config = config();
        let helpdesk = discord("700000000000000004", &[HELPDESK_ROLE]);
        let helpdesk_slack = slack("U0REQUEST1", &["S0HELPDESK"]);
        /// Who, in which channel, which command, and the denial code expected (`Ok` = allowed).
        type Case<'a> = (&'a Actor, Option<&'a str>, CommandName, Result<(), &'a str>);
        #[rustfmt::skip]
        let cases: &[Case<'_>] = &[
            // expire: one Discord channel.
            (&helpdesk, Some(EXPIRE_CHANNEL), CommandName::Expire, Ok(())),
            (&helpdesk, Some(OTHER_CHANNEL), CommandName::Expire, Err("channel_not_allowed")),
            (&helpdesk, None, CommandName::Expire, Err("direct_message")),
            // reset: every Discord channel, but never a DM.
            (&helpdesk, Some(OTHER_CHANNEL), CommandName::Reset, Ok(())),
            (&helpdesk, None, CommandName::Reset, Err("direct_message")),
            // notify: not on Discord at all; every Slack channel.
            (&helpdesk, Some(EXPIRE_CHANNEL), CommandName::Notify, Err("platform_disabled")),
            (&helpdesk_slack, Some("C0ANYWHERE"), CommandName::Notify, Ok(())),
            (&helpdesk_slack, None, CommandName::Notify, Err("direct_message")),
            // Slack allow-list.
            (&helpdesk_slack, Some("C0HELPDESK"), CommandName::Expire, Ok(())),
            (&helpdesk_slack, Some("C0RANDOM01"), CommandName::Expire, Err("channel_not_allowed")),
        ];
        for (who, channel, command, want) in cases {
            let got = authorize(&config, who, *channel, *command).map(drop);
            assert_eq!(
                got.as_ref().map_err(Denial::code),
                want.as_ref().map_err(|w| *w),
                "{command} in {channel:?} on {}",
                who.platform
            );
            if let Err(denial) = got {
                // Channel ids never appear in what the user is told.
                let text = denial.to_string();
                assert!(
                    !text.contains(EXPIRE_CHANNEL) && !text.contains("C0HELPDESK"),
                    "{text}"
                );
            }
        }
        assert_eq!(
            authorize(&config, &helpdesk, Some(OTHER_CHANNEL), CommandName::Expire)
                .unwrap_err()
                .to_string(),
            "`expire` is not allowed in this channel"
        );
        assert_eq!(
            authorize(&config, &helpdesk, None, CommandName::Expire)
                .unwrap_err()
                .to_string(),
            "`expire` cannot be used in direct messages; run it in a channel where it is allowed"
        );
    }

    #[test]
    fn the_command_line_and_the_console_use_cli_users_and_have_no_channels() {
        let config = config();
        for platform in [Platform::Cli, Platform::Console] {
            let alice = actor(platform, "alice", &[]);
            let grant = authorize(&config, &alice, None, CommandName::Notify).unwrap();
            assert_eq!(grant.groups, ["helpdesk"]);
            let mallory = actor(platform, "mallory", &[HELPDESK_ROLE, "S0HELPDESK"]);
            assert_eq!(
                authorize(&config, &mallory, None, CommandName::Expire)
                    .unwrap_err()
                    .code(),
                "not_in_group",
                "roles are not read on {platform}"
            );
        }
    }

    #[test]
    fn deny_by_default() {
        let config = config();
        // A command without a policy is refused, whoever asks.
        let disabled = config_without("reset");
        let helpdesk = discord("700000000000000005", &[HELPDESK_ROLE]);
        let denial = authorize(
            &disabled,
            &helpdesk,
            Some(OTHER_CHANNEL),
            CommandName::Reset,
        )
        .unwrap_err();
        assert_eq!(
            denial,
            Denial::CommandDisabled {
                command: CommandName::Reset
            }
        );
        assert!(!denial.to_string().contains("policy"), "{denial}");
        assert!(
            authorize(
                &disabled,
                &helpdesk,
                Some(EXPIRE_CHANNEL),
                CommandName::Expire
            )
            .is_ok()
        );

        // No roles, unknown roles, malformed ids: refused, naming only the allowed groups.
        for nobody in [
            discord("700000000000000006", &[]),
            discord("700000000000000006", &["999999999999999999"]),
            discord("not-a-snowflake", &["also not"]),
            slack("U0NOBODY01", &[]),
            actor(Platform::Cli, "", &[]),
        ] {
            let denial =
                authorize(&config, &nobody, Some(EXPIRE_CHANNEL), CommandName::Expire).unwrap_err();
            assert_eq!(
                denial.to_string(),
                "you are not in a group allowed to run `expire` (allowed: helpdesk, security)"
            );
        }
        // A Discord role id given as a Slack user group (or the reverse) matches nothing.
        assert!(
            authorize(
                &config,
                &slack("U0CROSS001", &[HELPDESK_ROLE]),
                Some("C0HELPDESK"),
                CommandName::Reset
            )
            .is_err()
        );
        assert!(
            authorize(
                &config,
                &discord("700000000000000007", &["S0HELPDESK"]),
                Some(OTHER_CHANNEL),
                CommandName::Reset
            )
            .is_err()
        );
    }

    #[test]
    fn grants_carry_groups_protection_override_self_and_approval() {
        let config = config();
        let helpdesk = discord("700000000000000008", &[HELPDESK_ROLE]);
        let grant = authorize(&config, &helpdesk, Some(OTHER_CHANNEL), CommandName::Reset).unwrap();
        assert_eq!(
            grant,
            Grant {
                command: CommandName::Reset,
                groups: vec!["helpdesk".to_owned()],
                may_touch_protected: false,
                allow_self: false,
                approval: ApprovalRule::Bulk { threshold: 10 },
                approver_groups: vec!["approver".to_owned()],
            }
        );
        // A security officer (by user id) with the helpdesk role.
        let officer = discord(SECURITY_USER, &[HELPDESK_ROLE]);
        let grant =
            authorize(&config, &officer, Some(EXPIRE_CHANNEL), CommandName::Expire).unwrap();
        assert_eq!(grant.groups, ["helpdesk", "security"]);
        assert!(grant.may_touch_protected);
        assert!(grant.allow_self);
        assert_eq!(grant.approval, ApprovalRule::Always);
    }

    #[test]
    fn cooldown_between_state_changing_commands() {
        let cooldowns = Cooldowns::new(Duration::from_secs(60), 100);
        let alice = slack("U0REQUEST1", &[]);
        let t0 = Instant::now();
        assert_eq!(cooldowns.check(&alice, t0), Ok(()));
        // A check does not count.
        assert_eq!(cooldowns.check(&alice, t0), Ok(()));
        assert_eq!(cooldowns.acquire(&alice, t0), Ok(()));
        let denial = cooldowns
            .acquire(&alice, t0 + Duration::from_secs(18))
            .unwrap_err();
        assert_eq!(
            denial,
            Denial::Cooldown {
                retry_after: Duration::from_secs(42)
            }
        );
        assert_eq!(
            denial.to_string(),
            "you can run another state-changing command in 42 s"
        );
        // Rounded up, never "0 s".
        let denial = cooldowns
            .check(&alice, t0 + Duration::from_millis(59_500))
            .unwrap_err();
        assert_eq!(
            denial.to_string(),
            "you can run another state-changing command in 1 s"
        );
        assert_eq!(
            cooldowns.acquire(&alice, t0 + Duration::from_secs(60)),
            Ok(())
        );

        // Per platform account: the same id elsewhere, and other users, are not held back.
        let mut elsewhere = alice.clone();
        elsewhere.platform = Platform::Discord;
        assert_eq!(
            cooldowns.acquire(&elsewhere, t0 + Duration::from_secs(61)),
            Ok(())
        );
        assert_eq!(
            cooldowns.acquire(&slack("U0HELPER02", &[]), t0 + Duration::from_secs(61)),
            Ok(())
        );

        // Zero cooldown: back to back.
        let none = Cooldowns::new(Duration::ZERO, 100);
        assert_eq!(none.acquire(&alice, t0), Ok(()));
        assert_eq!(none.acquire(&alice, t0), Ok(()));
    }

    #[test]
    fn at_most_max_per_hour() {
        let cooldowns = Cooldowns::new(Duration::from_secs(5), 3);
        let alice = slack("U0REQUEST1", &[]);
        let t0 = Instant::now();
        for minute in [0, 10, 20] {
            assert_eq!(
                cooldowns.acquire(&alice, t0 + Duration::from_secs(minute * 60)),
                Ok(())
            );
        }
        let at = t0 + Duration::from_secs(30 * 60);
        let denial = cooldowns.acquire(&alice, at).unwrap_err();
        assert_eq!(
            denial,
            Denial::HourlyLimit {
                max: 3,
                retry_after: Duration::from_secs(30 * 60)
            }
        );
        assert_eq!(
            denial.to_string(),
            "you have run 3 state-changing commands in the last hour, the most allowed; you can \
             run another in 30 min"
        );
        assert!(cooldowns.check(&alice, at).is_err());
        // An hour after the first, one more fits; then the limit holds again, until the run at
        // minute 10 leaves the window.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(cooldowns.acquire(&alice, later), Ok(()));
        let denial = cooldowns
            .check(&alice, later + Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(
            denial,
            Denial::HourlyLimit {
                max: 3,
                retry_after: Duration::from_secs(10 * 60 - 5)
            }
        );
        assert_eq!(denial.to_string().rsplit(" in ").next(), Some("9 min 55 s"));

        // Purging forgets only those idle for an hour.
        cooldowns.purge(later + Duration::from_secs(3599));
        assert!(
            cooldowns
                .check(&alice, later + Duration::from_secs(3599))
                .is_ok()
        );
        assert!(
            cooldowns
                .acquire(&alice, later + Duration::from_secs(3599))
                .is_ok()
        );
        cooldowns.purge(later + Duration::from_secs(2 * 3600));
        assert!(cooldowns.runs.is_empty());
    }

    #[test]
    fn authorize_request_checks_the_cooldown_of_state_changing_requests_only() {
        let config = config();
        let cooldowns = Cooldowns::from_limits(&config.limits);
        let alice = slack("U0REQUEST1", &["S0HELPDESK"]);
        let now = Instant::now();
        cooldowns.acquire(&alice, now).unwrap();
        let user = "jcuser.one".parse().unwrap();
        let run = Request::Expire {
            user,
            dry_run: false,
        };
        let denial = authorize_request(&config, &cooldowns, &alice, Some("C0HELPDESK"), &run, now)
            .unwrap_err();
        assert_eq!(denial.code(), "cooldown");
        let Request::Expire { user, .. } = run else {
            unreachable!()
        };
        let dry = Request::Expire {
            user,
            dry_run: true,
        };
        assert!(
            authorize_request(&config, &cooldowns, &alice, Some("C0HELPDESK"), &dry, now).is_ok()
        );
        // The fixed order: a refused channel is reported before the cooldown.
        let denial = authorize_request(&config, &cooldowns, &alice, Some("C0RANDOM01"), &dry, now)
            .unwrap_err();
        assert_eq!(denial.code(), "channel_not_allowed");
    }
}
