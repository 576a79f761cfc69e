//! The engine's construction from configuration: one JumpCloud client per organisation, and no
//! secret in any `Debug` output. The flows are tested end to end in `tests/tests/engine.rs`.

use std::sync::Arc;

use passdesk_config::{Config, MapEnv};
use passdesk_core::jumpcloud::OrgId;

use super::*;

const JC_KEY: &str = "jc-unit-key-5e1f-DO-NOT-LOG";
const IM_SECRET: &str = "im-unit-secret-0a7b-DO-NOT-LOG";
const ACME: &str = "5f0c1a2b3c4d5e6f7a8b9c0d";
const GLOBEX: &str = "6a1b2c3d4e5f60718293a4b5";
const DIRECT: &str = "7b2c3d4e5f60718293a4b5c6";

fn config(pickup: &std::path::Path) -> Config {
    let text = format!(
        r#"
[jumpcloud]
base_url = "http://127.0.0.1:9"
api_key = {{ env = "JC_KEY" }}
org_id = "{ACME}"

[jumpcloud.tenants]
globex = "{GLOBEX}"

[identity_manager]
application_uri = "http://127.0.0.1:9"
client_id = "Job"
client_secret = {{ env = "IM_SECRET" }}

[identity_manager.mail]
from_address = "no-reply@acme.example"
pickup_directory = "{}"

[slack]
signing_secret = {{ env = "SLACK_SIGNING" }}
bot_token = {{ env = "SLACK_BOT" }}
approvals_channel = "C0APPROVAL1"

[slack.teams]
T0ACME0001 = "default"
T0GLOBEX01 = "globex"
T0DIRECT01 = "{DIRECT}"

[groups.helpdesk]
slack_users = ["U0HELP0001"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[audit]
path = "audit.jsonl"
"#,
        pickup.display()
    );
    let env = MapEnv::new()
        .with("JC_KEY", JC_KEY)
        .with("IM_SECRET", IM_SECRET)
        .with("SLACK_SIGNING", "unit-signing")
        .with("SLACK_BOT", "xoxb-unit");
    Config::from_toml_str(&text, &env).unwrap()
}

fn org(id: &str) -> OrgId {
    id.parse().unwrap()
}

#[tokio::test]
async fn parts_from_config_have_a_client_per_organisation_and_no_secret_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(config(dir.path()));
    let auditor = Auditor::builder(dir.path().join("audit.jsonl"))
        .open()
        .await
        .unwrap();
    let parts = EngineParts::from_config(Arc::clone(&config), auditor).unwrap();

    // The default tenant (jumpcloud.org_id), the named one, and the one a team names directly.
    for id in [ACME, GLOBEX, DIRECT] {
        let client = parts.jumpcloud.for_org(Some(&org(id))).unwrap();
        assert_eq!(client.org_id(), Some(&org(id)));
    }
    // Nothing else: an organisation no tenant names has no client.
    assert!(parts.jumpcloud.for_org(None).is_none());
    assert!(
        parts
            .jumpcloud
            .for_org(Some(&org("0123456789abcdef01234567")))
            .is_none()
    );
    // The workspaces resolve to their organisations; an unknown one is not served.
    let org_of = |team: &str| served_org(&config, Platform::Slack, Some(team));
    assert_eq!(org_of("T0ACME0001"), Some(Some(org(ACME))));
    assert_eq!(org_of("T0GLOBEX01"), Some(Some(org(GLOBEX))));
    assert_eq!(org_of("T0DIRECT01"), Some(Some(org(DIRECT))));
    assert_eq!(org_of("T0NOBODY01"), None);
    assert_eq!(served_org(&config, Platform::Slack, None), None);
    assert_eq!(served_org(&config, Platform::Discord, Some("1")), None);
    assert_eq!(
        served_org(&config, Platform::Console, None),
        Some(Some(org(ACME)))
    );
    assert!(parts.identity_manager.is_some());
    assert!(parts.mailer.is_some());
    assert_eq!(parts.pending, PendingSettings::from_limits(&config.limits));

    let debug = format!("{parts:?}");
    assert!(!debug.contains(JC_KEY), "{debug}");
    assert!(!debug.contains(IM_SECRET), "{debug}");
    let engine = Engine::start(parts);
    let debug = format!("{engine:?}");
    assert!(
        !debug.contains(JC_KEY) && !debug.contains(IM_SECRET),
        "{debug}"
    );
    engine.shutdown().await;
}

#[test]
fn a_single_client_serves_every_organisation_and_none_serves_nobody() {
    let client =
        passdesk_core::jumpcloud::JumpCloudClient::builder(secrecy::SecretString::from(JC_KEY))
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
    let single = JumpCloudClients::single(client);
    assert!(single.for_org(None).is_some());
    assert!(single.for_org(Some(&org(GLOBEX))).is_some());
    assert!(!single.is_empty());
    let none = JumpCloudClients::none();
    assert!(none.is_empty());
    assert!(none.for_org(None).is_none());
}

#[test]
fn the_command_line_names_its_organisation_and_gets_a_client_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    // Without --org-id: the default tenant; with it: that organisation, configured or not.
    assert_eq!(
        served_org(&config, Platform::Cli, None),
        Some(Some(org(ACME)))
    );
    let other = "0123456789abcdef01234567";
    assert_eq!(
        served_org(&config, Platform::Cli, Some(other)),
        Some(Some(org(other)))
    );
    assert_eq!(served_org(&config, Platform::Cli, Some("globex!")), None);
    // The console and chat do not take an organisation from the tenant.
    assert_eq!(
        served_org(&config, Platform::Console, Some(other)),
        Some(Some(org(ACME)))
    );
    assert_eq!(served_org(&config, Platform::Slack, Some(other)), None);

    let clients = JumpCloudClients::from_config(&config).unwrap();
    assert!(clients.for_org(Some(&org(other))).is_none());
    let built = clients.for_any_org(Some(&org(other))).unwrap().unwrap();
    assert_eq!(built.org_id(), Some(&org(other)));
    assert_eq!(built.base_url(), "http://127.0.0.1:9");
    let configured = clients.for_any_org(Some(&org(GLOBEX))).unwrap().unwrap();
    assert_eq!(configured.org_id(), Some(&org(GLOBEX)));
    assert!(!format!("{clients:?}").contains(JC_KEY));
    assert!(
        JumpCloudClients::none()
            .for_any_org(Some(&org(other)))
            .unwrap()
            .is_none()
    );
}
