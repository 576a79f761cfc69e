//! The command engine end to end: the JumpCloud and Identity Manager simulators and an SMTP
//! sink on 127.0.0.1, a configuration read from TOML with its secrets by environment reference,
//! a fresh audit log, and the [`Engine`] built from them the way the bot builds it.
//!
//! People are Slack accounts of one workspace ([`TEAM`]): two helpdesk members, approvers (by
//! Slack user group), someone in both groups, and an outsider.
//!
//! ```no_run
//! # async fn demo() {
//! use passdesk_tests::engine::{Harness, requester};
//! let h = Harness::start(passdesk_tests::engine::jumpcloud_seed()).await;
//! let response = h.invoke(&requester(), Some(passdesk_tests::engine::HELPDESK), "reset user:jcuser.one").await;
//! # let _ = response;
//! # }
//! ```

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use passdesk_commands::audit::{AuditRecord, Auditor, read_log};
use passdesk_commands::executor::ExecutorSettings;
use passdesk_commands::ids::{ButtonAction, ButtonId};
use passdesk_commands::{
    Actor, Engine, EngineEvent, EngineParts, Invocation, Platform, Press, Reply, Response,
    split_text,
};
use passdesk_config::{Config, MapEnv};
use passdesk_sim::identity_manager::{IdentityManagerSim, OpenIdClient};
use passdesk_sim::jumpcloud::{DEFAULT_ORG_ID, JumpCloudSim, JumpCloudSimBuilder};
use passdesk_sim::smtp::SmtpSink;
use secrecy::SecretString;
use tempfile::TempDir;
use tokio::sync::broadcast;

use crate::jumpcloud::{KEY, OTHER_ORG};
use crate::trace::Capture;

/// The Slack workspace served (the default tenant).
pub const TEAM: &str = "T0ACME0001";
/// A second workspace, working on another JumpCloud organisation ([`OTHER_ORG`]), which the
/// API key is not bound to.
pub const OTHER_TEAM: &str = "T0GLOBEX01";
/// The channel where every command is allowed.
pub const HELPDESK: &str = "C0HELPDESK";
/// A channel where only `notify` is allowed.
pub const OTHER_CHANNEL: &str = "C0RANDOM01";
/// The approvals channel.
pub const APPROVALS: &str = "C0APPROVAL1";
/// The Slack user group of the helpdesk (besides its members named one by one).
pub const HELPDESK_GROUP: &str = "S0HELPDESK";
/// The Slack user group of the approvers.
pub const APPROVER_GROUP: &str = "S0APPROVER";
/// The Identity Manager OpenIdClient Passdesk uses here.
pub const IM_CLIENT: &str = "PassdeskE2E";
/// Its secret: distinctive, so a scan can look for it.
pub const IM_SECRET: &str = "im-e2e-secret-7c1d9a44f0-DO-NOT-LOG";

/// A requester in the helpdesk group.
pub fn requester() -> Actor {
    slack("U0HELP0001", "Helen Desk", &[])
}

/// A member of the helpdesk through its Slack user group only.
pub fn group_member() -> Actor {
    slack("U0HELP0003", "Gus Group", &[HELPDESK_GROUP])
}

/// Another member of the helpdesk group.
pub fn helper() -> Actor {
    slack("U0HELP0002", "Harry Helper", &[])
}

/// An approver (through the approvers' Slack user group).
pub fn approver() -> Actor {
    slack("U0APPR0001", "Ada Approver", &[APPROVER_GROUP])
}

/// A second approver.
pub fn second_approver() -> Actor {
    slack("U0APPR0002", "Abe Approver", &[APPROVER_GROUP])
}

/// Someone in both the helpdesk and the approver groups.
pub fn both() -> Actor {
    slack("U0BOTH0001", "Bea Both", &[])
}

/// Someone in no group at all (with an unknown user group).
pub fn outsider() -> Actor {
    slack("U0OUTS0001", "Otto Outsider", &["S0NOBODY01"])
}

/// A Slack actor.
pub fn slack(id: &str, name: &str, groups: &[&str]) -> Actor {
    Actor {
        platform: Platform::Slack,
        id: id.to_owned(),
        display_name: name.to_owned(),
        roles: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

/// The policies of most tests: `reset` in the helpdesk channel with approval above 10 targets,
/// `expire` there with approval always, `notify` in every channel with approval always.
pub const POLICIES: &str = r#"
[policy.reset]
groups = ["helpdesk"]
channels = { slack = ["C0HELPDESK"] }
approval = "bulk"
bulk_threshold = 10
approver_groups = ["approver"]

[policy.expire]
groups = ["helpdesk"]
channels = { slack = ["C0HELPDESK"] }
approval = "always"
approver_groups = ["approver"]

[policy.notify]
groups = ["helpdesk"]
channels = { slack = ["*"] }
approval = "always"
approver_groups = ["approver"]
"#;

/// The limits of most tests: no cooldown, room for 2,000 targets.
pub const LIMITS: &str = r#"
[limits]
max_targets = 2500
confirmation_ttl_seconds = 120
approval_ttl_seconds = 900
cooldown_seconds = 0
max_per_hour = 10000
"#;

/// The demo organisation's JumpCloud data (43 users, five groups; see
/// `passdesk_sim::demo`), with [`KEY`] bound to it.
pub fn jumpcloud_seed() -> JumpCloudSimBuilder {
    passdesk_sim::demo::jumpcloud_seed().api_key(KEY, [DEFAULT_ORG_ID])
}

/// The configuration text, pointing at the simulators; secrets by environment reference.
fn config_text(
    jumpcloud: &str,
    im: &str,
    smtp_port: u16,
    audit: &str,
    policies: &str,
    limits: &str,
) -> String {
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_E2E_JUMPCLOUD_KEY" }}
timeout_seconds = 10
connect_timeout_seconds = 2

[identity_manager]
application_uri = "{im}"
client_id = "{IM_CLIENT}"
client_secret = {{ env = "PD_E2E_IM_SECRET" }}
timeout_seconds = 10
connect_timeout_seconds = 2

[identity_manager.mail]
from_address = "passdesk@acme.example"
allowed_domains = ["acme.example", "acme.admin", "example.com"]
timeout_seconds = 10
connect_timeout_seconds = 2

[identity_manager.mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
secure = "none"

[slack]
signing_secret = {{ env = "PD_E2E_SLACK_SIGNING" }}
bot_token = {{ env = "PD_E2E_SLACK_BOT" }}
approvals_channel = "{APPROVALS}"

[slack.teams]
{TEAM} = "default"
{OTHER_TEAM} = "{OTHER_ORG}"

[groups.helpdesk]
slack_users = ["U0HELP0001", "U0HELP0002", "U0BOTH0001"]
slack_usergroups = ["{HELPDESK_GROUP}"]
cli_users = ["alice"]

[groups.approver]
slack_usergroups = ["{APPROVER_GROUP}"]
slack_users = ["U0BOTH0001"]

{policies}

[targets]
protected_groups = ["Admins"]

[accounts.slack]
U0HELP0001 = "helen.desk"

{limits}

[bulk]
concurrency = 16
rate_per_second = 1000
progress_interval_ms = 250

[audit]
path = "{audit}"
"#
    )
}

/// Everything a test talks to.
pub struct Harness {
    /// The JumpCloud simulator.
    pub jumpcloud: JumpCloudSim,
    /// The Identity Manager simulator.
    pub identity_manager: IdentityManagerSim,
    /// Where notification mails arrive.
    pub smtp: SmtpSink,
    /// The engine under test.
    pub engine: Engine,
    /// The configuration it runs on.
    pub config: Arc<Config>,
    /// The audit log.
    pub audit_path: PathBuf,
    interactions: AtomicU64,
    _dir: TempDir,
}

impl Harness {
    /// The simulators from `seed`, the default [`POLICIES`], and a fast executor.
    pub async fn start(seed: JumpCloudSimBuilder) -> Self {
        Self::with_policies(seed, POLICIES).await
    }

    /// Like [`Harness::start`] with other policies.
    pub async fn with_policies(seed: JumpCloudSimBuilder, policies: &str) -> Self {
        Self::build(seed, policies, LIMITS, None).await
    }

    /// Like [`Harness::start`] with other `[limits]`.
    pub async fn with_limits(seed: JumpCloudSimBuilder, limits: &str) -> Self {
        Self::build(seed, POLICIES, limits, None).await
    }

    /// Like [`Harness::start`], with the audit log at `path` (`/dev/full`: every write fails).
    pub async fn with_audit_log(seed: JumpCloudSimBuilder, path: &Path) -> Self {
        Self::build(seed, POLICIES, LIMITS, Some(path.to_owned())).await
    }

    async fn build(
        seed: JumpCloudSimBuilder,
        policies: &str,
        limits: &str,
        audit_path: Option<PathBuf>,
    ) -> Self {
        Capture::global();
        let jumpcloud = seed.start().await.expect("the jumpcloud simulator starts");
        let identity_manager = IdentityManagerSim::start()
            .await
            .expect("the identity manager simulator starts");
        identity_manager.register_client(OpenIdClient::new(IM_CLIENT, IM_SECRET));
        let smtp = SmtpSink::start().await.expect("the smtp sink starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let audit_path = audit_path.unwrap_or_else(|| dir.path().join("audit.jsonl"));
        let text = config_text(
            &jumpcloud.base_url(),
            &identity_manager.base_url(),
            smtp.port(),
            &audit_path.display().to_string(),
            policies,
            limits,
        );
        let env = MapEnv::new()
            .with("PD_E2E_JUMPCLOUD_KEY", KEY)
            .with("PD_E2E_IM_SECRET", IM_SECRET)
            .with("PD_E2E_SLACK_SIGNING", "slack-signing-e2e-unused")
            .with("PD_E2E_SLACK_BOT", "xoxb-e2e-unused");
        let config =
            Arc::new(Config::from_toml_str(&text, &env).expect("the test config is valid"));
        let auditor = Auditor::builder(&audit_path)
            .open()
            .await
            .expect("the audit log opens");
        let mut parts =
            EngineParts::from_config(Arc::clone(&config), auditor).expect("the engine builds");
        // Far faster than a real deployment: the 2,000-user run fits in a few seconds.
        parts.executor = ExecutorSettings::new(
            NonZeroUsize::new(32).expect("non-zero"),
            NonZeroU32::new(20_000).expect("non-zero"),
            Duration::from_millis(50),
        );
        let engine = Engine::start(parts);
        Self {
            jumpcloud,
            identity_manager,
            smtp,
            engine,
            config,
            audit_path,
            interactions: AtomicU64::new(0),
            _dir: dir,
        }
    }

    fn interaction_id(&self) -> String {
        format!(
            "i-{}",
            self.interactions.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    /// `actor` types `text` (as in Slack) in `channel` of [`TEAM`].
    pub async fn invoke(&self, actor: &Actor, channel: Option<&str>, text: &str) -> Response {
        self.invoke_in(actor, channel, Some(TEAM), text).await
    }

    /// Like [`Harness::invoke`], in another workspace (or none).
    pub async fn invoke_in(
        &self,
        actor: &Actor,
        channel: Option<&str>,
        tenant: Option<&str>,
        text: &str,
    ) -> Response {
        let (command, options) = split_text(text).expect("the test text splits");
        self.engine
            .invoke(Invocation {
                actor: actor.clone(),
                channel: channel.map(str::to_owned),
                tenant: tenant.map(str::to_owned),
                interaction_id: self.interaction_id(),
                command,
                options,
            })
            .await
    }

    /// The press of `button` by `actor` in `channel`.
    pub fn press_of(&self, actor: &Actor, channel: Option<&str>, button: ButtonId) -> Press {
        Press {
            actor: actor.clone(),
            channel: channel.map(str::to_owned),
            tenant: Some(TEAM.to_owned()),
            interaction_id: self.interaction_id(),
            button,
        }
    }

    /// `actor` presses `button` in `channel`.
    pub async fn press(&self, actor: &Actor, channel: Option<&str>, button: ButtonId) -> Response {
        self.engine
            .press(self.press_of(actor, channel, button))
            .await
    }

    /// `actor` submits `password` in the prompt of `button`'s request.
    pub async fn submit_password(
        &self,
        actor: &Actor,
        button: ButtonId,
        password: &str,
    ) -> Response {
        let press = self.press_of(actor, Some(HELPDESK), button);
        self.engine
            .submit_password(press, SecretString::from(password))
            .await
    }

    /// The audit log's records, after checking its whole chain.
    pub fn audit(&self) -> Vec<AuditRecord> {
        read_log(&self.audit_path).expect("the audit log verifies")
    }

    /// The transitions recorded for one request, in log order.
    pub fn transitions(&self, request_id: &str) -> Vec<&'static str> {
        self.audit()
            .iter()
            .filter(|r| r.event().request_id().as_str() == request_id)
            .map(|r| r.event().transition().name())
            .collect()
    }
}

/// The id of the button doing `action` on `reply`.
pub fn button(reply: &Reply, action: ButtonAction) -> ButtonId {
    reply
        .buttons
        .iter()
        .find(|b| b.id.action == action)
        .map(|b| b.id)
        .unwrap_or_else(|| panic!("no {} button on\n{reply}", action.as_str()))
}

/// The request id a reply shows.
pub fn request_id(reply: &Reply) -> String {
    reply
        .request_id
        .map(|id| id.to_string())
        .unwrap_or_else(|| panic!("no request id on\n{reply}"))
}

/// The next event `pick` accepts, skipping others; fails after 20 s (a bound, not a pace: events
/// come as soon as the engine sends them).
pub async fn next_event<T>(
    events: &mut broadcast::Receiver<EngineEvent>,
    mut pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the engine's events closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("the event arrives")
}
