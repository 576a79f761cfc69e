//! [`ConfigWarning`]: what a valid configuration leaves weaker than it may look. Warnings never
//! stop Passdesk; `passdesk check-config` shows them and the bot logs them at start-up.

use std::collections::BTreeSet;
use std::fmt;

use crate::model::{ChannelRule, CommandName, CommandPolicy, Config, Group, Platform, Principal};

/// What a [`ConfigWarning`] is about, for callers and tests that act on the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// Requesters of a platform (or of every platform) have no `[accounts]` mapping, so the
    /// own-account protection cannot recognise them.
    NoAccountMapping,
    /// Users named one by one in a requester group have no `[accounts]` entry.
    UnmappedRequesters,
}

/// One non-fatal finding: where (`key`, a dotted path such as `accounts.slack`), what is weaker
/// than it looks, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// The kind of finding.
    pub kind: WarningKind,
    /// The dotted key path the fix belongs under.
    pub key: String,
    /// What is weaker than it looks.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; fix: {}", self.key, self.problem, self.fix)
    }
}

/// The most ids listed in one warning.
const LISTED: usize = 5;

impl Config {
    /// Non-fatal findings, most general first: requesters whom the own-account protection cannot
    /// recognise because `[accounts]` does not map them. Empty when every policy sets
    /// `allow_self` (the rule then never applies) or when nothing is missing.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let guarded: Vec<&CommandPolicy> = CommandName::ALL
            .into_iter()
            .filter_map(|c| self.policy(c))
            .filter(|p| !p.allow_self)
            .collect();
        // The platforms requests can come from under a policy with the own-account rule, each
        // with the groups that may send them there.
        let in_use: Vec<(Platform, Vec<&Group>)> =
            [Platform::Discord, Platform::Slack, Platform::Cli]
                .into_iter()
                .filter_map(|platform| {
                    let names: BTreeSet<&str> = guarded
                        .iter()
                        .filter(|p| self.serves(p, platform))
                        .flat_map(|p| p.groups.iter().map(String::as_str))
                        .collect();
                    let groups: Vec<&Group> = names
                        .into_iter()
                        .filter_map(|n| self.group(n))
                        .filter(|g| !members(g, platform).is_empty() || has_roles(g, platform))
                        .collect();
                    (!groups.is_empty()).then_some((platform, groups))
                })
                .collect();
        if in_use.is_empty() {
            return Vec::new();
        }
        let fallback = if self.targets.protected_groups.is_empty()
            && self.targets.protected_usernames.is_empty()
        {
            "; [targets] lists no protected group or username either, so requesters may act on \
             their own accounts"
        } else {
            ", so it relies on [targets] protected_groups and protected_usernames alone"
        };
        if self.accounts.is_empty() {
            let on = in_use
                .iter()
                .map(|(p, _)| platform_name(*p))
                .collect::<Vec<_>>()
                .join(", ");
            return vec![ConfigWarning {
                kind: WarningKind::NoAccountMapping,
                key: "accounts".to_owned(),
                problem: format!(
                    "no [accounts] mapping: the own-account protection cannot recognise \
                     requesters ({on}){fallback}"
                ),
                fix: "map each requester's id to their JumpCloud username under \
                      [accounts.discord], [accounts.slack] or [accounts.cli] (see \
                      passdesk.example.toml)"
                    .to_owned(),
            }];
        }
        let mut warnings = Vec::new();
        for (platform, groups) in in_use {
            let key = format!("accounts.{}", platform_key(platform));
            if self.accounts.count(platform) == 0 {
                warnings.push(ConfigWarning {
                    kind: WarningKind::NoAccountMapping,
                    key: key.clone(),
                    problem: format!(
                        "no requester on {} is mapped: the own-account protection cannot \
                         recognise them{fallback}",
                        platform_name(platform)
                    ),
                    fix: format!(
                        "add [{key}] with {} = \"<JumpCloud username>\" for each requester",
                        id_placeholder(platform)
                    ),
                });
                continue;
            }
            let unmapped: BTreeSet<String> = groups
                .iter()
                .flat_map(|g| members(g, platform))
                .filter(|id| self.accounts.of(&principal(platform, id)).is_none())
                .collect();
            if unmapped.is_empty() {
                continue;
            }
            let mut listed = unmapped
                .iter()
                .take(LISTED)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if unmapped.len() > LISTED {
                listed.push_str(&format!(" and {} more", unmapped.len() - LISTED));
            }
            warnings.push(ConfigWarning {
                kind: WarningKind::UnmappedRequesters,
                key: key.clone(),
                problem: format!(
                    "requesters named in [groups] have no entry, so the own-account protection \
                     cannot recognise them: {listed}"
                ),
                fix: format!(
                    "add {} = \"<JumpCloud username>\" for each to [{key}]",
                    id_placeholder(platform)
                ),
            });
        }
        warnings
    }

    /// Whether requests may reach `policy` from `platform`.
    fn serves(&self, policy: &CommandPolicy, platform: Platform) -> bool {
        match platform {
            Platform::Discord => {
                self.discord.is_some() && policy.channels.discord != ChannelRule::Disabled
            }
            Platform::Slack => {
                self.slack.is_some() && policy.channels.slack != ChannelRule::Disabled
            }
            Platform::Cli => true,
        }
    }
}

/// The users a group names one by one on `platform`.
fn members(group: &Group, platform: Platform) -> Vec<String> {
    match platform {
        Platform::Discord => group
            .discord_users
            .iter()
            .map(ToString::to_string)
            .collect(),
        Platform::Slack => group.slack_users.iter().map(ToString::to_string).collect(),
        Platform::Cli => group.cli_users.iter().map(ToString::to_string).collect(),
    }
}

/// Whether a group admits members of `platform` through a role or user group.
fn has_roles(group: &Group, platform: Platform) -> bool {
    match platform {
        Platform::Discord => !group.discord_roles.is_empty(),
        Platform::Slack => !group.slack_usergroups.is_empty(),
        Platform::Cli => false,
    }
}

/// A principal with no roles, to look `id` up in `[accounts]`.
fn principal(platform: Platform, id: &str) -> Principal<'_> {
    match platform {
        Platform::Discord => Principal::Discord {
            user_id: id,
            role_ids: &[],
        },
        Platform::Slack => Principal::Slack {
            user_id: id,
            usergroup_ids: &[],
        },
        Platform::Cli => Principal::Cli { user: id },
    }
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Discord => "Discord",
        Platform::Slack => "Slack",
        Platform::Cli => "the command line",
    }
}

fn platform_key(platform: Platform) -> &'static str {
    match platform {
        Platform::Discord => "discord",
        Platform::Slack => "slack",
        Platform::Cli => "cli",
    }
}

fn id_placeholder(platform: Platform) -> &'static str {
    match platform {
        Platform::Discord => "\"<user id>\"",
        Platform::Slack => "\"<member id>\"",
        Platform::Cli => "<login name>",
    }
}
