//! The demo's wiring, shared by the console (`passdesk demo`) and the command-line parity
//! commands run with `--demo`: the simulators, a configuration pointing at them, the audit log
//! and the command engine.
//!
//! The configuration is the embedded demo policy ([`DEMO_POLICY`]) or a file given with
//! `--config`, always with the same keys replaced ([`apply_overrides`]):
//!
//! | key | in the demo |
//! |---|---|
//! | `jumpcloud.region`, `base_url`, `api_key`, `org_id` | removed; `base_url` = the JumpCloud simulator, `api_key` = its key (the key's own organisation, Acme) |
//! | `identity_manager.application_uri`, `client_id`, `client_secret`, `client_domain` | the Identity Manager simulator and its client |
//! | `identity_manager.mail.smtp`, `pickup_directory` | removed; `pickup_directory` = the demo's temporary directory (nothing is mailed) |
//! | `identity_manager.mail.from_address` | kept; the demo's sender when absent |
//! | `discord.bot_token`, `slack.signing_secret`, `slack.bot_token` | placeholders: the demo connects to no chat platform |
//! | `audit.path` | `--audit-log`, or `audit.jsonl` in a new temporary directory |
//! | `identity_manager.mail.templates.*` | relative paths resolved against the file's directory |
//!
//! Everything else — groups, policies, targets, accounts, limits, bulk, tenants, timeouts and
//! the other mail settings (`allowed_domains`, `catch_all_*`, `enabled`, `cultures`) — is used
//! as written. A missing `[jumpcloud]` or `[identity_manager]` section is added (with, for the
//! mail, the demo's sender and allowed domains), so every command can be tried.
//!
//! Secrets never appear in the configuration text: the simulators' key and client secret go
//! through a [`MapEnv`] by environment reference, as in any deployment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use passdesk_commands::audit::{
    AuditChannel, Auditor, ChannelQueue, ChannelQueueConfig, OpenError,
};
use passdesk_commands::{Actor, Engine, EngineError, EngineParts, Platform};
use passdesk_config::{CliUser, Config, ConfigErrors, MapEnv, Principal};
use passdesk_sim::demo::{DemoEnvironment, DemoError};
use toml::{Table, Value};

/// The embedded demo policy (`bot/src/demo/policy.toml`).
pub const DEMO_POLICY: &str = include_str!("policy.toml");

/// The identities of the demo policy, with what each shows.
pub const DEMO_IDENTITIES: [(&str, &str); 3] = [
    ("helpdesk", "runs reset, expire and notify"),
    ("approver", "approves group resets and notifications"),
    ("outsider", "in no group: refused"),
];

/// The identity the console starts as with the demo policy.
pub const DEFAULT_IDENTITY: &str = "helpdesk";

/// The variable the JumpCloud simulator's key is read from (a [`MapEnv`], never the process).
const JUMPCLOUD_KEY_VAR: &str = "PASSDESK_DEMO_JUMPCLOUD_API_KEY";
/// The variable the Identity Manager simulator's client secret is read from.
const IM_SECRET_VAR: &str = "PASSDESK_DEMO_IM_CLIENT_SECRET";
/// The variable behind the chat platforms' placeholder secrets.
const PLACEHOLDER_VAR: &str = "PASSDESK_DEMO_CHAT_PLACEHOLDER";
/// The placeholder's value.
const PLACEHOLDER: &str = "demo-placeholder-the-demo-connects-to-no-chat-platform";
/// The largest configuration file read (as `passdesk_config::load`).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The audit log's file name in the temporary directory.
const AUDIT_FILE: &str = "audit.jsonl";

/// Where the demo's policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The embedded [`DEMO_POLICY`].
    Builtin,
    /// A file given with `--config`.
    File(PathBuf),
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Builtin => f.write_str("the built-in demo policy"),
            PolicySource::File(path) => write!(
                f,
                "{} (its connection keys replaced by the simulators')",
                path.display()
            ),
        }
    }
}

/// What to start the demo with; [`Default`] is the built-in policy and a temporary audit log.
#[derive(Default)]
pub struct DemoOptions {
    /// A configuration file to rehearse instead of [`DEMO_POLICY`].
    pub config: Option<PathBuf>,
    /// The audit log (created, or resumed when it holds a valid chain); default: `audit.jsonl`
    /// in a new temporary directory, kept after the demo so it can be verified.
    pub audit_log: Option<PathBuf>,
    /// Also post every audit event here (the console shows them as they are written).
    pub audit_channel: Option<Arc<dyn AuditChannel>>,
}

impl fmt::Debug for DemoOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoOptions")
            .field("config", &self.config)
            .field("audit_log", &self.audit_log)
            .field("audit_channel", &self.audit_channel.is_some())
            .finish()
    }
}

/// A running demo: the simulators, the configuration in force, the engine and its audit log.
///
/// Call [`DemoSession::shutdown`] when done, so waiting requests expire on the record before the
/// simulators stop.
#[derive(Debug)]
pub struct DemoSession {
    /// The simulators (JumpCloud, Identity Manager) and the pickup directory; `sent()` tells
    /// what they recorded.
    pub environment: DemoEnvironment,
    /// The validated configuration the engine runs on.
    pub config: Arc<Config>,
    /// The command engine, as the bot builds it.
    pub engine: Engine,
    /// The audit log's path.
    pub audit_log: PathBuf,
    /// The auditor the engine records through (for flushing its channel queue).
    pub auditor: Auditor,
    /// Where the policy came from.
    pub policy: PolicySource,
}

impl DemoSession {
    /// Stops the engine (waiting requests expire, on the record) and then the simulators.
    pub async fn shutdown(self) {
        self.engine.shutdown().await;
    }

    /// The console or command-line actor of the login name `name` (not checked).
    pub fn actor(name: &str, platform: Platform) -> Actor {
        Actor {
            platform,
            id: name.to_owned(),
            display_name: name.to_owned(),
            roles: Vec::new(),
        }
    }

    /// The configuration's groups `name` is in, as a console or command-line user.
    pub fn groups_of(&self, name: &str) -> Vec<String> {
        self.config
            .groups_of(&Principal::Cli { user: name })
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The JumpCloud account `[accounts.cli]` maps `name` to, if any.
    pub fn account_of(&self, name: &str) -> Option<String> {
        self.config
            .account_of(&Principal::Cli { user: name })
            .map(ToString::to_string)
    }

    /// The identities to offer: the demo's, or every `cli_users` entry of the configuration.
    pub fn identities(&self) -> Vec<(String, String)> {
        match self.policy {
            PolicySource::Builtin => DEMO_IDENTITIES
                .iter()
                .map(|(name, what)| ((*name).to_owned(), (*what).to_owned()))
                .collect(),
            PolicySource::File(_) => {
                let mut names: Vec<String> = Vec::new();
                for group in self.config.groups.values() {
                    for user in &group.cli_users {
                        let user = user.to_string();
                        if !names.contains(&user) {
                            names.push(user);
                        }
                    }
                }
                names
                    .into_iter()
                    .map(|name| {
                        let groups = self.groups_of(&name);
                        (name, format!("groups: {}", groups.join(", ")))
                    })
                    .collect()
            }
        }
    }

    /// The identity to start as: the demo's helpdesk, or with a configuration file the first
    /// command-line user of the first group allowed to run a command.
    pub fn default_identity(&self) -> String {
        if self.policy == PolicySource::Builtin {
            return DEFAULT_IDENTITY.to_owned();
        }
        let policies = [
            &self.config.policies.reset,
            &self.config.policies.expire,
            &self.config.policies.notify,
        ];
        policies
            .into_iter()
            .flatten()
            .flat_map(|policy| policy.groups.iter())
            .filter_map(|group| self.config.groups.get(group))
            .find_map(|group| group.cli_users.first().map(ToString::to_string))
            .unwrap_or_else(|| DEFAULT_IDENTITY.to_owned())
    }
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A simulator or the pickup directory did not start.
    #[error("the demo simulators did not start")]
    Environment(#[source] DemoError),
    /// The configuration file could not be read.
    #[error("could not read the configuration file {path}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not valid (after the demo's overrides).
    #[error("{}", invalid_config(origin, errors, *lines_apply))]
    InvalidConfig {
        /// Where the policy came from.
        origin: PolicySource,
        /// Every problem.
        errors: ConfigErrors,
        /// Whether line numbers refer to the file as written (a syntax error) or not.
        lines_apply: bool,
    },
    /// The audit log could not be opened (its error names the path).
    #[error("the audit log cannot be used")]
    Audit {
        /// The log.
        path: PathBuf,
        /// Why.
        #[source]
        source: OpenError,
    },
    /// The directory of the audit log could not be created.
    #[error("could not create the audit log's directory")]
    AuditDirectory(#[source] std::io::Error),
    /// The engine refused the configuration.
    #[error("the command engine did not start")]
    Engine(#[source] EngineError),
}

/// Every configuration problem on its own line, with its key and fix.
/// Line numbers are shown only when they refer to the file as written.
fn invalid_config(origin: &PolicySource, errors: &ConfigErrors, lines_apply: bool) -> String {
    let mut out = format!("the demo cannot use {origin}:");
    for error in errors.iter() {
        let key = if error.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", error.key)
        };
        let line = error
            .line
            .filter(|_| lines_apply)
            .map(|line| format!("(line {line}) "))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n  {key}{line}{}; fix: {}",
            error.problem, error.fix
        ));
    }
    out
}

/// Starts the demo with the built-in policy, or the configuration file `config_override` (its
/// connection keys replaced by the simulators'), and a temporary audit log.
///
/// # Errors
///
/// A [`StartError`]: a simulator did not start, the configuration is not valid, the audit log
/// cannot be opened or the engine refused the configuration.
// Used by the command-line parity commands with `--demo` (bot/src/parity.rs).
#[allow(dead_code)]
pub async fn start_demo(config_override: Option<&Path>) -> anyhow::Result<DemoSession> {
    start_demo_with(DemoOptions {
        config: config_override.map(Path::to_path_buf),
        ..DemoOptions::default()
    })
    .await
}

/// Starts the demo as `options` say; see [`start_demo`].
///
/// # Errors
///
/// See [`start_demo`].
pub async fn start_demo_with(options: DemoOptions) -> anyhow::Result<DemoSession> {
    let (policy, text) = match &options.config {
        None => (PolicySource::Builtin, DEMO_POLICY.to_owned()),
        Some(path) => (PolicySource::File(path.clone()), read_config(path)?),
    };
    // Syntax first, through the configuration crate, which never shows a malformed line.
    let mut table: Table = match text.parse() {
        Ok(table) => table,
        Err(_) => {
            let errors = match Config::from_toml_str(&text, &MapEnv::new()) {
                Err(errors) => errors,
                Ok(_) => return Err(anyhow::anyhow!("the configuration is not valid TOML")),
            };
            return Err(StartError::InvalidConfig {
                origin: policy,
                errors,
                lines_apply: true,
            }
            .into());
        }
    };

    let environment = DemoEnvironment::start()
        .await
        .map_err(StartError::Environment)?;
    // A temporary directory is kept only once the demo starts.
    let (audit_log, audit_dir) = match options.audit_log {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(StartError::AuditDirectory)?;
            }
            (path, None)
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("passdesk-demo-")
                .tempdir()
                .map_err(StartError::AuditDirectory)?;
            (dir.path().join(AUDIT_FILE), Some(dir))
        }
    };
    let endpoints = Endpoints::of(&environment);
    let base_dir = match &policy {
        PolicySource::File(path) => path.parent().filter(|p| !p.as_os_str().is_empty()),
        PolicySource::Builtin => None,
    };
    apply_overrides(&mut table, &endpoints, &audit_log, base_dir);
    let config = Config::from_toml_str(&table.to_string(), &endpoints.env()).map_err(|errors| {
        StartError::InvalidConfig {
            origin: policy.clone(),
            errors,
            lines_apply: false,
        }
    })?;
    let config = Arc::new(config);

    let mut auditor = Auditor::builder(&audit_log);
    if let Some(channel) = options.audit_channel {
        auditor = auditor.channel(ChannelQueue::spawn(channel, ChannelQueueConfig::default()));
    }
    let auditor = auditor.open().await.map_err(|source| StartError::Audit {
        path: audit_log.clone(),
        source,
    })?;
    let parts = EngineParts::from_config(Arc::clone(&config), auditor.clone())
        .map_err(StartError::Engine)?;
    let engine = Engine::start(parts);
    if let Some(dir) = audit_dir {
        // Kept after the demo, so the log can be verified.
        let _ = dir.keep();
    }
    tracing::debug!(audit_log = %audit_log.display(), "demo engine started");
    Ok(DemoSession {
        environment,
        config,
        engine,
        audit_log,
        auditor,
        policy,
    })
}

/// Reads a configuration file, bounded like `passdesk_config::load`.
fn read_config(path: &Path) -> Result<String, StartError> {
    let read = || -> std::io::Result<String> {
        use std::io::Read as _;
        let mut text = String::new();
        std::fs::File::open(path)?
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(std::io::Error::other(format!(
                "larger than {MAX_CONFIG_BYTES} bytes"
            )));
        }
        Ok(text)
    };
    read().map_err(|source| StartError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })
}

/// What the demo's configuration points at: the simulators and the pickup directory.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The JumpCloud simulator's base URL.
    pub jumpcloud_base_url: String,
    /// Its API key.
    pub jumpcloud_api_key: String,
    /// The Identity Manager simulator's `ApplicationUri`.
    pub identity_manager_uri: String,
    /// Its OpenIdClient identifier.
    pub im_client_id: String,
    /// Its client secret.
    pub im_client_secret: String,
    /// The pickup directory of notification mails.
    pub pickup_dir: PathBuf,
    /// The sender of notification mails, when the configuration names none.
    pub mail_from: String,
    /// The allowed recipient domains, when the configuration has no mail section.
    pub allowed_domains: Vec<String>,
}

impl Endpoints {
    /// The endpoints of a running demo environment.
    pub fn of(environment: &DemoEnvironment) -> Self {
        Self {
            jumpcloud_base_url: environment.jumpcloud_base_url(),
            jumpcloud_api_key: environment.jumpcloud_api_key().to_owned(),
            identity_manager_uri: environment.identity_manager_uri(),
            im_client_id: environment.im_client_id().to_owned(),
            im_client_secret: environment.im_client_secret().to_owned(),
            pickup_dir: environment.pickup_dir.clone(),
            mail_from: environment.mail_from().to_owned(),
            allowed_domains: environment.allowed_domains(),
        }
    }

    /// The environment the configuration's secret references are read from.
    pub fn env(&self) -> MapEnv {
        MapEnv::new()
            .with(JUMPCLOUD_KEY_VAR, self.jumpcloud_api_key.as_str())
            .with(IM_SECRET_VAR, self.im_client_secret.as_str())
            .with(PLACEHOLDER_VAR, PLACEHOLDER)
    }
}

/// `{ env = "NAME" }`.
fn env_ref(name: &str) -> Value {
    let mut table = Table::new();
    table.insert("env".to_owned(), Value::String(name.to_owned()));
    Value::Table(table)
}

fn string(value: impl AsRef<str>) -> Value {
    Value::String(value.as_ref().to_owned())
}

/// Takes the sub-table `key` out of `table` (a new one when absent; a non-table value, which
/// validation would refuse anyway, is dropped). Returns it and whether it was absent.
fn take_section(table: &mut Table, key: &str) -> (Table, bool) {
    match table.remove(key) {
        Some(Value::Table(inner)) => (inner, false),
        _ => (Table::new(), true),
    }
}

/// Replaces the connection keys of a configuration with the demo's (see the module docs).
/// `base_dir` is the configuration file's directory, for relative template paths.
pub fn apply_overrides(
    table: &mut Table,
    endpoints: &Endpoints,
    audit_log: &Path,
    base_dir: Option<&Path>,
) {
    let (mut jumpcloud, _) = take_section(table, "jumpcloud");
    for key in ["region", "base_url", "api_key", "org_id"] {
        jumpcloud.remove(key);
    }
    jumpcloud.insert("base_url".to_owned(), string(&endpoints.jumpcloud_base_url));
    jumpcloud.insert("api_key".to_owned(), env_ref(JUMPCLOUD_KEY_VAR));
    table.insert("jumpcloud".to_owned(), Value::Table(jumpcloud));

    let (mut im, _) = take_section(table, "identity_manager");
    for key in [
        "application_uri",
        "client_id",
        "client_secret",
        "client_domain",
    ] {
        im.remove(key);
    }
    im.insert(
        "application_uri".to_owned(),
        string(&endpoints.identity_manager_uri),
    );
    im.insert("client_id".to_owned(), string(&endpoints.im_client_id));
    im.insert("client_secret".to_owned(), env_ref(IM_SECRET_VAR));
    let (mut mail, created) = take_section(&mut im, "mail");
    mail.remove("smtp");
    mail.insert(
        "pickup_directory".to_owned(),
        string(endpoints.pickup_dir.display().to_string()),
    );
    if !mail.contains_key("from_address") {
        mail.insert("from_address".to_owned(), string(&endpoints.mail_from));
    }
    if created {
        let domains = endpoints.allowed_domains.iter().map(string).collect();
        mail.insert("allowed_domains".to_owned(), Value::Array(domains));
    }
    if let (Some(base), Some(Value::Table(templates))) = (base_dir, mail.get_mut("templates")) {
        for (_, value) in templates.iter_mut() {
            if let Value::String(path) = value {
                if Path::new(path.as_str()).is_relative() {
                    *path = base.join(path.as_str()).display().to_string();
                }
            }
        }
    }
    im.insert("mail".to_owned(), Value::Table(mail));
    table.insert("identity_manager".to_owned(), Value::Table(im));

    if let Some(Value::Table(discord)) = table.get_mut("discord") {
        discord.insert("bot_token".to_owned(), env_ref(PLACEHOLDER_VAR));
    }
    if let Some(Value::Table(slack)) = table.get_mut("slack") {
        slack.insert("signing_secret".to_owned(), env_ref(PLACEHOLDER_VAR));
        slack.insert("bot_token".to_owned(), env_ref(PLACEHOLDER_VAR));
    }

    let (mut audit, _) = take_section(table, "audit");
    audit.insert("path".to_owned(), string(audit_log.display().to_string()));
    table.insert("audit".to_owned(), Value::Table(audit));
}

/// Checks a console identity's name: a command-line login name (letters, digits, `.`, `-`,
/// `_`, starting with a letter).
pub fn check_identity(name: &str) -> Result<(), String> {
    name.parse::<CliUser>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_config::CommandName;

    fn endpoints() -> Endpoints {
        Endpoints {
            jumpcloud_base_url: "http://127.0.0.1:40001".to_owned(),
            jumpcloud_api_key: "sim-key-7f3e-VALUE".to_owned(),
            identity_manager_uri: "http://127.0.0.1:40002".to_owned(),
            im_client_id: "Passdesk".to_owned(),
            im_client_secret: "sim-im-2c9d-VALUE".to_owned(),
            pickup_dir: PathBuf::from("/tmp/pickup-test"),
            mail_from: "passdesk-demo@acme.example".to_owned(),
            allowed_domains: vec!["acme.example".to_owned()],
        }
    }

    fn overridden(text: &str, base: Option<&Path>) -> Config {
        let mut table: Table = text.parse().unwrap();
        let endpoints = endpoints();
        apply_overrides(
            &mut table,
            &endpoints,
            Path::new("/tmp/a/audit.jsonl"),
            base,
        );
        let text = table.to_string();
        assert!(
            !text.contains("sim-key-7f3e-VALUE") && !text.contains("sim-im-2c9d-VALUE"),
            "secrets only by reference:\n{text}"
        );
        Config::from_toml_str(&text, &endpoints.env()).unwrap()
    }

    #[test]
    fn the_demo_policy_becomes_a_valid_configuration_on_the_simulators() {
        let config = overridden(DEMO_POLICY, None);
        let jc = config.jumpcloud.as_ref().unwrap();
        assert_eq!(jc.base_url.as_str(), "http://127.0.0.1:40001/");
        assert_eq!(jc.org_id, None);
        let im = config.identity_manager.as_ref().unwrap();
        assert_eq!(im.application_uri.as_str(), "http://127.0.0.1:40002/");
        assert_eq!(im.client_id, "Passdesk");
        assert_eq!(config.audit.path, Path::new("/tmp/a/audit.jsonl"));
        for command in CommandName::ALL {
            assert!(config.policy(command).is_some(), "{command:?} enabled");
        }
        // The group reset of NewUsers (27 members) must need an approver.
        let reset = config.policy(CommandName::Reset).unwrap();
        assert!(reset.approval.requires_approval(27));
        assert!(!reset.approval.requires_approval(1));
        let groups = |user: &str| config.groups_of(&Principal::Cli { user });
        assert_eq!(groups("helpdesk"), ["helpdesk"]);
        assert_eq!(groups("cli"), ["helpdesk"]);
        assert_eq!(groups("approver"), ["approver"]);
        assert!(groups("outsider").is_empty());
        assert!(config.targets.is_protected_group("admins"));
        assert_eq!(config.limits.cooldown, std::time::Duration::ZERO);
        assert!(
            config.warnings().is_empty(),
            "every requester has an account: {:?}",
            config.warnings()
        );
    }

    #[test]
    fn a_real_configuration_keeps_its_policy_and_loses_its_connections() {
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../passdesk.example.toml"),
        )
        .unwrap();
        // Its secrets (JumpCloud key, client secret, SMTP password, chat tokens) reference
        // variables that are not set: the demo needs none of them.
        let config = overridden(&example, Some(Path::new("/etc/passdesk")));
        let jc = config.jumpcloud.as_ref().unwrap();
        assert_eq!(jc.base_url.as_str(), "http://127.0.0.1:40001/");
        assert_eq!(jc.org_id, None, "org_id is the simulator key's own");
        assert_eq!(jc.tenants.len(), 2, "tenants kept");
        let im = config.identity_manager.as_ref().unwrap();
        assert_eq!(im.client_id, "Passdesk");
        assert_eq!(im.client_domain, None);
        // The example's policies, groups and limits as written.
        let reset = config.policy(CommandName::Reset).unwrap();
        assert!(reset.approval.requires_approval(11));
        assert!(!reset.approval.requires_approval(10));
        assert_eq!(
            config.policy(CommandName::Notify).unwrap().approval,
            passdesk_config::ApprovalRule::None
        );
        assert_eq!(config.limits.cooldown, std::time::Duration::from_secs(5));
        assert_eq!(
            config.groups_of(&Principal::Cli { user: "alice" }),
            ["helpdesk"]
        );
        assert!(config.discord.is_some() && config.slack.is_some());
    }

    #[test]
    fn missing_sections_are_added_and_relative_templates_follow_the_file() {
        let text = r#"
[groups.helpdesk]
cli_users = ["alice"]

[policy.expire]
groups = ["helpdesk"]
approval = "none"

[accounts.cli]
alice = "alice.admin"
"#;
        let config = overridden(text, None);
        assert!(config.jumpcloud.is_some());
        assert!(config.identity_manager.is_some());

        let mut table: Table = r#"
[identity_manager.mail]
from_address = "it@corp.example"
[identity_manager.mail.templates]
subject = "templates/subject.txt"
text = "/abs/body.txt"
"#
        .parse()
        .unwrap();
        apply_overrides(
            &mut table,
            &endpoints(),
            Path::new("/tmp/audit.jsonl"),
            Some(Path::new("/etc/passdesk")),
        );
        let mail = &table["identity_manager"]["mail"];
        assert_eq!(
            mail["templates"]["subject"].as_str(),
            Some("/etc/passdesk/templates/subject.txt")
        );
        assert_eq!(mail["templates"]["text"].as_str(), Some("/abs/body.txt"));
        assert_eq!(mail["from_address"].as_str(), Some("it@corp.example"));
        assert_eq!(mail["pickup_directory"].as_str(), Some("/tmp/pickup-test"));
        assert!(mail.get("allowed_domains").is_none(), "kept as written");
    }

    #[test]
    fn identities_are_login_names() {
        assert!(check_identity("approver").is_ok());
        assert!(check_identity("jane doe").is_err());
        assert!(check_identity("").is_err());
    }
}
