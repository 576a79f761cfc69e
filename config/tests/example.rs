//! The annotated example at the repository root parses and validates, and says what it shows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use passdesk_config::{ApprovalRule, CommandName, Config, MapEnv, Platform, Principal};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("passdesk.example.toml")
}

/// The variables the example references, with made-up values.
fn example_env() -> MapEnv {
    MapEnv::new()
        .with("PASSDESK_JUMPCLOUD_API_KEY", "jc-example-key-0001")
        .with("PASSDESK_IM_CLIENT_SECRET", "im-example-secret-0002")
        .with("PASSDESK_SMTP_PASSWORD", "smtp-example-password-0003")
        .with("PASSDESK_DISCORD_BOT_TOKEN", "discord-example-token-0004")
        .with(
            "PASSDESK_SLACK_SIGNING_SECRET",
            "slack-example-signing-0005",
        )
        .with("PASSDESK_SLACK_BOT_TOKEN", "xoxb-example-token-0006")
}

#[test]
fn the_example_file_validates() {
    let config = passdesk_config::load(example_path(), &example_env())
        .unwrap_or_else(|e| panic!("passdesk.example.toml does not validate:\n{e}"));
    assert_eq!(
        config.enabled_commands(),
        [CommandName::Reset, CommandName::Expire, CommandName::Notify]
    );
    let reset = config.policy(CommandName::Reset).unwrap();
    assert_eq!(reset.approval, ApprovalRule::Bulk { threshold: 10 });
    assert!(reset.allows_channel(Platform::Discord, "700000000000000001"));
    assert!(reset.allows_channel(Platform::Slack, "C0HELPDESK"));
    assert!(!reset.allows_channel(Platform::Slack, "C0ELSEWHERE"));
    let notify = config.policy(CommandName::Notify).unwrap();
    assert!(!notify.allows_channel(Platform::Discord, "700000000000000001"));
    assert_eq!(config.limits.confirmation_ttl, Duration::from_secs(120));
    assert_eq!(config.bulk.concurrency, 8);
    assert_eq!(
        config.audit.path,
        Path::new("/var/lib/passdesk/audit.jsonl")
    );
    let acme = config.discord_tenant("423456789012345678").unwrap();
    assert_eq!(acme.name, "acme");
    assert_eq!(
        acme.org_id.as_ref().map(|o| o.as_str()),
        Some("5f0c1a2b3c4d5e6f7a8b9c0d")
    );
    assert!(config.discord_tenant("999999999999999999").is_none());
    let roles = vec!["112233445566778899".to_owned()];
    let helpdesk_member = Principal::Discord {
        user_id: "700000000000000002",
        role_ids: &roles,
    };
    assert_eq!(config.groups_of(&helpdesk_member), ["helpdesk"]);
    assert!(config.targets.is_protected_username("Admin.Jane"));
    assert!(config.targets.is_protected_group("domain admins"));
    // Requesters' own accounts are mapped, so nothing is left to warn about.
    let jane = Principal::Slack {
        user_id: "U0123ABCD",
        usergroup_ids: &[],
    };
    assert_eq!(
        config.account_of(&jane).map(|u| u.as_str()),
        Some("jane.doe")
    );
    assert!(config.is_own_account(&Principal::Cli { user: "alice" }, "alice.admin"));
    assert_eq!(config.warnings(), []);
    let mail = &config.identity_manager.as_ref().unwrap().mail;
    assert_eq!(mail.transport.kind(), "smtp");
    assert_eq!(mail.cultures.len(), 2);
}

#[test]
fn the_example_without_its_variables_names_every_missing_one() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let errors = Config::from_toml_str(&text, &MapEnv::new()).unwrap_err();
    let shown = errors.to_string();
    for var in [
        "PASSDESK_JUMPCLOUD_API_KEY",
        "PASSDESK_IM_CLIENT_SECRET",
        "PASSDESK_SMTP_PASSWORD",
        "PASSDESK_DISCORD_BOT_TOKEN",
        "PASSDESK_SLACK_SIGNING_SECRET",
        "PASSDESK_SLACK_BOT_TOKEN",
    ] {
        assert!(shown.contains(var), "{var} not named in:\n{shown}");
    }
    assert_eq!(errors.len(), 6, "{shown}");
}
