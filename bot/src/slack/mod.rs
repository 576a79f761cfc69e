//! The Slack adapter: slash commands and interactions in, the command engine's replies out.
//!
//! ```text
//! POST /slack/commands ─────┐  (signature, replay: the endpoint)  ┌─► ack body (≤ 3 s)
//!                           ├─► wire ─► SlackCore::command ───────┤
//! POST /slack/interactions ─┘         SlackCore::interaction      └─► FollowUp: response_url
//!                                     convert → Engine                posts, views.open,
//!                                     render ← Response               chat.postMessage/update
//! Engine events ─► SlackCore listener ─► response_url replaces, chat.update of approvals
//! Auditor ─► ChannelQueue ─► SlackAuditChannel ─► chat.postMessage to [slack] audit_channel
//! ```
//!
//! - [`wire`]: the slash-command form and interaction payloads (parsed after verification);
//! - [`convert`]: text to `Invocation` (`reset user:jcuser.one dry-run:true`, `--dry-run`,
//!   positional values), presses to `Press`;
//! - [`render`]: `Reply` to Block Kit within Slack's limits; the password modal;
//! - [`core`]: the transport-agnostic core ([`SlackCore::command`],
//!   [`SlackCore::interaction`] → [`Handled`]: an [`Ack`] and a [`FollowUp`]);
//! - [`api`]: the Web API client (base URL, bot token, timeouts, `ok:false`, 429);
//! - [`roles`]: user-group membership (`usergroups.users.list`, cached);
//! - [`audit`]: the audit channel;
//! - [`http`], [`signature`], [`replay`]: the signed endpoints (written alongside).
//!
//! # Library choice
//!
//! Hand-written serde types on the project's reqwest, not `slack-morphism`
//! (reference `slack.md` §6): the inbound payloads must be parsed only after the signature
//! check, with the password going straight into a `SecretString` (slack-morphism's view-state
//! values derive `Debug` and its protocol errors embed the JSON body); its command model drops
//! `api_app_id`, needed to pin the app; it brings a second HTTP stack without timeouts and
//! ~40 more crates, and its strict enums have broken on new Slack block types. The few Block
//! Kit shapes Passdesk sends are small JSON builders in [`render`], checked against Slack's
//! limits by unit tests and by the fake Slack's validator.

pub mod api;
pub mod audit;
pub mod convert;
pub mod core;
pub mod http;
pub mod render;
pub mod replay;
pub mod roles;
pub mod signature;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use passdesk_commands::audit::{Auditor, ChannelQueue, ChannelQueueConfig, OpenError};
use passdesk_commands::{Engine, EngineError};
use passdesk_config::{Config, SlackConfig};

pub use self::api::{ApiError, SlackApi};
pub use self::audit::SlackAuditChannel;
pub use self::core::{Ack, CoreSettings, FollowUp, Handled, Listener, SlackCore};
pub use self::roles::Roles;

/// Why the Slack adapter could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlackError {
    /// There is no `[slack]` section.
    #[error("slack is not configured: add a [slack] section")]
    NotConfigured,
    /// The Web API client could not be built.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The audit log could not be opened.
    #[error("audit log: {0}")]
    Audit(#[from] OpenError),
    /// The command engine could not be built.
    #[error("command engine: {0}")]
    Engine(#[from] EngineError),
}

/// The Slack adapter built from the configuration: the Web API client, the engine (with the
/// audit log, mirrored to `[slack] audit_channel` when set), the core and its event listener.
#[derive(Debug)]
pub struct Slack {
    config: SlackConfig,
    engine: Engine,
    core: SlackCore,
    listener: Listener,
}

impl Slack {
    /// Builds everything from `config` with the default [`CoreSettings`].
    ///
    /// # Errors
    ///
    /// No `[slack]`, the Web API client, the audit log or the engine could not be built.
    pub async fn start(config: Config) -> Result<Self, SlackError> {
        let settings = config
            .slack
            .as_ref()
            .map(CoreSettings::from_config)
            .ok_or(SlackError::NotConfigured)?;
        Self::start_with(config, settings).await
    }

    /// Builds everything from `config`, pacing the core with `settings`.
    ///
    /// # Errors
    ///
    /// See [`Slack::start`].
    pub async fn start_with(config: Config, settings: CoreSettings) -> Result<Self, SlackError> {
        let slack = config.slack.clone().ok_or(SlackError::NotConfigured)?;
        let api = SlackApi::new(slack.api_base_url.as_ref(), slack.bot_token.clone())?;
        let mut auditor = Auditor::builder(&config.audit.path);
        if let Some(channel) = &slack.audit_channel {
            let channel = SlackAuditChannel::new(api.clone(), channel.as_str());
            auditor = auditor.channel(ChannelQueue::spawn(
                Arc::new(channel),
                ChannelQueueConfig::default(),
            ));
        }
        let auditor = auditor.open().await?;
        let roles = Roles::new(&config, Arc::new(api.clone()));
        let engine = Engine::from_config(Arc::new(config), auditor)?;
        let core = SlackCore::new(engine.clone(), api, roles, settings);
        let listener = core.spawn_listener();
        Ok(Self {
            config: slack,
            engine,
            core,
            listener,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The core (the endpoints' handler).
    pub fn core(&self) -> &SlackCore {
        &self.core
    }

    /// `[slack]`.
    pub fn config(&self) -> &SlackConfig {
        &self.config
    }

    /// Stops: every request still waiting expires (its messages are edited to say so), the
    /// audit channel queue is given time to deliver, and follow-ups get a few seconds to end.
    pub async fn shutdown(self) {
        self.engine.shutdown().await;
        self.listener.stop().await;
        if tokio::time::timeout(Duration::from_secs(5), self.core.idle())
            .await
            .is_err()
        {
            tracing::warn!("slack follow-ups still running at shutdown");
        }
    }
}
