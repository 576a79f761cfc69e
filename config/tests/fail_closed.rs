//! Deny by default: what a configuration leaves out is refused, and the defaults are the
//! documented ones.

use std::time::Duration;

use passdesk_config::{
    ApprovalRule, ChannelRule, CommandName, Config, MapEnv, Platform, Principal,
};

const MINIMAL: &str = r#"
[jumpcloud]
api_key = { env = "JC_KEY" }

[groups.helpdesk]
cli_users = ["alice"]
discord_roles = ["112233445566778899"]
slack_usergroups = ["S0123ABCD"]

[policy.expire]
groups = ["helpdesk"]
approval = "none"

[audit]
path = "/var/lib/passdesk/audit.jsonl"

[discord]
application_id = "123456789012345678"
bot_token = { env = "DISCORD_TOKEN" }

[discord.guilds]
"423456789012345678" = "default"
"#;

fn config() -> Config {
    let env = MapEnv::new().with("JC_KEY", "k").with("DISCORD_TOKEN", "t");
    Config::from_toml_str(MINIMAL, &env).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_command_without_a_policy_is_disabled() {
    let config = config();
    assert!(config.policy(CommandName::Reset).is_none());
    assert!(config.policy(CommandName::Notify).is_none());
    assert_eq!(config.enabled_commands(), [CommandName::Expire]);
}

#[test]
fn a_platform_left_out_of_channels_refuses_the_command_there() {
    let config = config();
    let expire = config.policy(CommandName::Expire).unwrap();
    assert_eq!(expire.channels.discord, ChannelRule::Disabled);
    assert!(!expire.allows_channel(Platform::Discord, "523456789012345678"));
    assert!(!expire.allows_channel(Platform::Slack, "C0HELPDESK"));
    // The command line has no channels; group membership alone decides there.
    assert!(expire.allows_channel(Platform::Cli, ""));
    assert!(!expire.allow_self);
    assert_eq!(expire.approval, ApprovalRule::None);
}

#[test]
fn membership_is_by_exact_ids_only() {
    let config = config();
    let alice = Principal::Cli { user: "alice" };
    assert_eq!(config.groups_of(&alice), ["helpdesk"]);
    assert!(
        config
            .groups_of(&Principal::Cli { user: "Alice" })
            .is_empty()
    );
    let role = vec!["112233445566778899".to_owned()];
    let member = Principal::Discord {
        user_id: "700000000000000001",
        role_ids: &role,
    };
    assert_eq!(config.groups_of(&member), ["helpdesk"]);
    let no_roles = Principal::Discord {
        user_id: "700000000000000001",
        role_ids: &[],
    };
    assert!(config.groups_of(&no_roles).is_empty());
    let names = vec!["helpdesk".to_owned(), "S0123abcd".to_owned()];
    let by_name = Principal::Slack {
        user_id: "U0123ABCD",
        usergroup_ids: &names,
    };
    assert!(config.groups_of(&by_name).is_empty());
}

#[test]
fn only_listed_guilds_are_served() {
    let config = config();
    let tenant = config.discord_tenant("423456789012345678").unwrap();
    assert_eq!(tenant.name, "default");
    assert_eq!(tenant.org_id, None);
    assert!(config.discord_tenant("523456789012345678").is_none());
    assert!(config.discord_tenant("not-a-guild").is_none());
    assert!(config.slack_tenant("T0ACME0001").is_none());
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = config();
    assert_eq!(config.limits.max_targets, 500);
    assert_eq!(config.limits.confirmation_ttl, Duration::from_secs(120));
    assert_eq!(config.limits.approval_ttl, Duration::from_secs(15 * 60));
    assert_eq!(config.limits.cooldown, Duration::from_secs(5));
    assert_eq!(config.limits.max_per_hour, 60);
    assert_eq!(config.bulk.concurrency, 8);
    assert!((config.bulk.rate_per_second - 10.0).abs() < f64::EPSILON);
    assert_eq!(config.bulk.progress_interval, Duration::from_millis(2000));
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert!(config.targets.protected_groups.is_empty());
    let jc = config.jumpcloud.as_ref().unwrap();
    assert_eq!(jc.base_url.as_str(), "https://console.jumpcloud.com/");
    assert_eq!(jc.timeout, Duration::from_secs(30));
    let discord = config.discord.as_ref().unwrap();
    assert_eq!(discord.mode, passdesk_config::DiscordMode::Gateway);
    assert_eq!(discord.approvals_channel, None);
}

#[test]
fn protected_targets_and_self_targeting() {
    let text = MINIMAL.replace(
        "approval = \"none\"",
        "approval = \"none\"\nallow_self = true",
    ) + r#"
[targets]
protected_groups = ["admins"]
protected_usernames = ["admin.*", "root"]
protected_override_groups = ["helpdesk"]
"#;
    let env = MapEnv::new().with("JC_KEY", "k").with("DISCORD_TOKEN", "t");
    let config = Config::from_toml_str(&text, &env).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.policy(CommandName::Expire).unwrap().allow_self);
    assert!(config.targets.is_protected_group("Admins"));
    assert!(!config.targets.is_protected_group("admins-old"));
    assert!(config.targets.is_protected_username("ADMIN.jane"));
    assert!(config.targets.is_protected_username("root"));
    assert!(!config.targets.is_protected_username("rooted"));
    assert_eq!(config.targets.protected_override_groups, ["helpdesk"]);
}
