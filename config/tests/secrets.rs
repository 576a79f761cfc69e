//! Secret references, resolved at load from the environment and from files; `Debug` never shows
//! a secret; files and paths relative to the configuration file.

// The fixture below unwraps too: clippy.toml only covers test bodies, and a panic in a fixture is
// a failed test with a clear location.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use passdesk_config::{CONFIG_ENV_VAR, Config, ErrorKind, MapEnv};
use secrecy::ExposeSecret;

const JC_KEY: &str = "jc-key-1111-aaaa";
const IM_SECRET: &str = "im-secret-2222-bbbb";
const SMTP_PASSWORD: &str = "smtp-password-3333-cccc";
const DISCORD_TOKEN: &str = "discord-token-4444-dddd";
const SLACK_SIGNING: &str = "slack-signing-5555-eeee";
const SLACK_TOKEN: &str = "xoxb-slack-token-6666-ffff";

/// Every secret the schema has: some from the environment, some from files (absolute and
/// relative to the configuration file).
fn full_config(im_secret_file: &Path) -> String {
    format!(
        r#"
[jumpcloud]
api_key = {{ env = "JC_KEY" }}

[identity_manager]
application_uri = "https://usercube.acme.example"
client_id = "Job"
client_secret = {{ file = "{}" }}

[identity_manager.mail]
from_address = "no-reply@acme.example"

[identity_manager.mail.smtp]
host = "smtp.acme.example"
port = 587
secure = "start_tls"
username = "passdesk"
password = {{ env = "SMTP_PASSWORD" }}

[discord]
application_id = "123456789012345678"
bot_token = {{ file = "secrets/discord" }}

[discord.guilds]
"423456789012345678" = "default"

[slack]
signing_secret = {{ env = "SLACK_SIGNING" }}
bot_token = {{ env = "SLACK_TOKEN" }}

[slack.teams]
T0ACME0001 = "default"

[groups.helpdesk]
cli_users = ["alice"]

[audit]
path = "audit/passdesk.jsonl"
"#,
        im_secret_file.display()
    )
}

fn env() -> MapEnv {
    [
        ("JC_KEY", JC_KEY),
        ("SMTP_PASSWORD", SMTP_PASSWORD),
        ("SLACK_SIGNING", SLACK_SIGNING),
        ("SLACK_TOKEN", SLACK_TOKEN),
    ]
    .into_iter()
    .collect()
}

/// A directory with the configuration file and its secret files.
fn deployment() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let im_secret = dir.path().join("im-secret");
    // A trailing newline, as `echo secret > file` leaves, is not part of the secret.
    std::fs::write(&im_secret, format!("{IM_SECRET}\n")).unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(
        dir.path().join("secrets/discord"),
        format!("{DISCORD_TOKEN}\r\n"),
    )
    .unwrap();
    let config = dir.path().join("passdesk.toml");
    std::fs::write(&config, full_config(&im_secret)).unwrap();
    (dir, config)
}

#[test]
fn references_resolve_from_env_and_files() {
    let (dir, path) = deployment();
    let config = passdesk_config::load(&path, &env()).unwrap_or_else(|e| panic!("{e}"));
    let jc = config.jumpcloud.as_ref().unwrap();
    assert_eq!(jc.api_key.expose_secret(), JC_KEY);
    let im = config.identity_manager.as_ref().unwrap();
    assert_eq!(im.client_secret.expose_secret(), IM_SECRET);
    let discord = config.discord.as_ref().unwrap();
    assert_eq!(discord.bot_token.expose_secret(), DISCORD_TOKEN);
    let slack = config.slack.as_ref().unwrap();
    assert_eq!(slack.signing_secret.expose_secret(), SLACK_SIGNING);
    assert_eq!(slack.bot_token.expose_secret(), SLACK_TOKEN);
    // Relative paths are taken from the configuration file's directory.
    assert_eq!(config.audit.path, dir.path().join("audit/passdesk.jsonl"));
}

#[test]
fn debug_of_the_config_never_shows_a_secret() {
    let (_dir, path) = deployment();
    let config = passdesk_config::load(&path, &env()).unwrap();
    let shown = format!("{config:?}\n{config:#?}");
    for secret in [
        JC_KEY,
        IM_SECRET,
        SMTP_PASSWORD,
        DISCORD_TOKEN,
        SLACK_SIGNING,
        SLACK_TOKEN,
    ] {
        assert!(!shown.contains(secret), "{secret} shown by Debug");
    }
    // The rest is there, so the check above looked at a real rendering.
    assert!(shown.contains("smtp.acme.example") && shown.contains("REDACTED"));
}

#[test]
fn secret_problems_name_the_key_and_the_source_never_the_value() {
    let (dir, path) = deployment();
    // An empty variable and an empty file are refused like missing ones.
    let env = env().with("JC_KEY", "  ");
    std::fs::write(dir.path().join("secrets/discord"), "\n").unwrap();
    std::fs::remove_file(dir.path().join("im-secret")).unwrap();
    let errors = passdesk_config::load(&path, &env).unwrap_err();
    let keys: Vec<(&str, ErrorKind)> = errors.iter().map(|e| (e.key.as_str(), e.kind)).collect();
    assert_eq!(
        keys,
        [
            ("jumpcloud.api_key", ErrorKind::SecretUnavailable),
            (
                "identity_manager.client_secret",
                ErrorKind::SecretUnavailable
            ),
            ("discord.bot_token", ErrorKind::SecretUnavailable),
        ],
        "{errors}"
    );
    let shown = errors.to_string();
    assert!(
        shown.contains("environment variable JC_KEY is empty"),
        "{shown}"
    );
    assert!(
        shown.contains("im-secret") && shown.contains("could not read"),
        "{shown}"
    );
    assert!(
        shown.contains("secrets/discord") && shown.contains("empty"),
        "{shown}"
    );
    for secret in [SMTP_PASSWORD, SLACK_SIGNING, SLACK_TOKEN] {
        assert!(!shown.contains(secret));
    }
}

#[test]
fn text_configs_keep_relative_paths_as_written() {
    let text = r#"
[groups.helpdesk]
cli_users = ["alice"]

[audit]
path = "audit.jsonl"
"#;
    let config = Config::from_toml_str(text, &MapEnv::new()).unwrap();
    assert_eq!(config.audit.path, Path::new("audit.jsonl"));
}

#[test]
fn an_unreadable_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let errors = passdesk_config::load(&missing, &MapEnv::new()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors[0].kind, ErrorKind::Io);
    let shown = errors.to_string();
    assert!(
        shown.contains("nope.toml") && shown.contains(CONFIG_ENV_VAR),
        "{shown}"
    );
}

#[test]
fn the_config_path_comes_from_the_flag_then_the_environment() {
    let env = MapEnv::new().with(CONFIG_ENV_VAR, "/etc/passdesk/passdesk.toml");
    let flag = Path::new("/tmp/other.toml");
    assert_eq!(
        passdesk_config::config_path(Some(flag), &env).unwrap(),
        flag
    );
    assert_eq!(
        passdesk_config::config_path(None, &env).unwrap(),
        Path::new("/etc/passdesk/passdesk.toml")
    );
    let errors = passdesk_config::config_path(None, &MapEnv::new()).unwrap_err();
    assert_eq!(errors.errors[0].kind, ErrorKind::Missing);
    assert!(errors.to_string().contains("--config"), "{errors}");
}
