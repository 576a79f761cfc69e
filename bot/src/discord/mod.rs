//! The Discord adapter: Discord interactions in, the command engine's replies out.
//!
//! ```text
//! gateway (serenity Client) ──┐                        ┌─► first response (4, 5, 6, 7, 9)
//!                             ├─► DiscordCore::handle ─┤
//! POST /discord/interactions ─┘     convert → Engine   └─► FollowUp: edits, follow-ups,
//!                                   render ← Response         approvals post, progress
//! Engine events ─► DiscordCore listener ─► edits of the requester's / approvals messages
//! Auditor ─► ChannelQueue ─► DiscordAuditChannel ─► POST /channels/{audit}/messages
//! ```
//!
//! - [`convert`]: interactions to `Invocation` / `Press` (+ the modal's password as a secret);
//! - [`render`]: `Reply` to an ephemeral embed with buttons, within Discord's limits;
//! - [`core`]: the shared interaction core (ack within 3 s, deferral, progress, approvals);
//! - [`commands`]: the catalogue as application commands, and `register-commands`;
//! - [`audit`]: the audit channel;
//! - [`gateway`]: gateway mode (serenity `Client`);
//! - [`http`], [`signature`], [`replay`]: the HTTP interactions endpoint.
//!
//! Both modes share [`DiscordCore`]: [`DiscordCore::handle`] returns a [`Handled`] — the first
//! response and a [`FollowUp`] to start once the response is sent. Gateway mode POSTs the
//! response ([`DiscordCore::respond`]); the HTTP endpoint returns it as its body (it adapts the
//! core to its `InteractionHandler` in [`http`]).
//!
//! [`Discord::start`] builds everything from the configuration: serenity's `Http` (the bot
//! token is exposed only in [`build_http`]), the audit channel queue, the audit log, the engine
//! and the core.

pub mod audit;
pub mod commands;
pub mod convert;
pub mod core;
pub mod gateway;
pub mod http;
pub mod render;
pub mod replay;
mod rest;
pub mod signature;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use passdesk_commands::audit::{Auditor, ChannelQueue, ChannelQueueConfig, OpenError};
use passdesk_commands::{Engine, EngineError};
use passdesk_config::{Config, DiscordConfig};
use secrecy::ExposeSecret as _;
use serenity::all::{ApplicationId, ChannelId};
use serenity::http::{Http, HttpBuilder, HttpError};

pub use self::audit::DiscordAuditChannel;
pub use self::commands::Scope;
pub use self::core::{CoreSettings, DiscordCore, FollowUp, Handled, Listener};

/// Discord's own REST base: what `[discord] api_base_url` replaces.
const DISCORD_BASE: &str = "https://discord.com";
/// Whole-request timeout of a Discord REST call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Connection timeout of a Discord REST call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the Discord adapter could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscordError {
    /// There is no `[discord]` section.
    #[error("discord is not configured: add a [discord] section")]
    NotConfigured,
    /// Discord answered with an error.
    #[error("discord answered {status} (code {code}): {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// Discord's error code (e.g. 50001 Missing Access, 50035 Invalid Form Body).
        code: isize,
        /// A bounded excerpt of Discord's message.
        message: String,
    },
    /// Discord could not be reached, or the call failed before an answer.
    #[error("discord request failed: {0}")]
    Request(String),
    /// The HTTP client could not be built.
    #[error("discord http client could not be built")]
    Client,
    /// The gateway connection failed.
    #[error("discord gateway: {0}")]
    Gateway(String),
    /// The audit log could not be opened.
    #[error("audit log: {0}")]
    Audit(#[from] OpenError),
    /// The command engine could not be built.
    #[error("command engine: {0}")]
    Engine(#[from] EngineError),
}

impl DiscordError {
    /// A serenity error as a Discord error: status, code and a bounded excerpt of Discord's
    /// message, never a URL (webhook URLs hold interaction tokens).
    pub fn from_serenity(error: &serenity::Error) -> Self {
        match error {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => DiscordError::Api {
                status: response.status_code.as_u16(),
                code: response.error.code,
                message: passdesk_core::http::excerpt(&response.error.message),
            },
            other => DiscordError::Request(rest::describe(other)),
        }
    }
}

/// The REST base serenity should use: `[discord] api_base_url` without the `/api/v10` suffix
/// serenity adds itself (`https://discord.com` when unset).
fn rest_base(discord: &DiscordConfig) -> Option<String> {
    let url = discord.api_base_url.as_ref()?;
    let text = url.as_str().trim_end_matches('/');
    let base = text
        .strip_suffix("/api/v10")
        .or_else(|| text.strip_suffix("/api"))
        .unwrap_or(text);
    Some(base.to_owned())
}

/// serenity's `Http` for `[discord]`: the bot token, the application id (webhook and command
/// routes need it), timeouts, and — when `api_base_url` is set — that base with serenity's
/// rate limiter off (serenity ignores the base otherwise and would talk to the real Discord).
/// This is the one place the bot token is exposed.
///
/// # Errors
///
/// [`DiscordError::Client`] when the HTTP client cannot be built.
pub fn build_http(discord: &DiscordConfig) -> Result<Http, DiscordError> {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|_| DiscordError::Client)?;
    let mut builder = HttpBuilder::new(discord.bot_token.expose_secret())
        .client(client)
        .application_id(ApplicationId::new(discord.application_id.get()));
    match rest_base(discord) {
        Some(base) if base != DISCORD_BASE => {
            builder = builder.proxy(base).ratelimiter_disabled(true);
        }
        _ => {}
    }
    Ok(builder.build())
}

/// The Discord adapter built from the configuration: the engine (with the audit log, mirrored
/// to the audit channel when `[discord] audit_channel` is set), the shared core and its event
/// listener.
#[derive(Debug)]
pub struct Discord {
    config: DiscordConfig,
    engine: Engine,
    core: DiscordCore,
    listener: Listener,
}

impl Discord {
    /// Builds everything from `config` with the default [`CoreSettings`].
    ///
    /// # Errors
    ///
    /// No `[discord]`, the HTTP client, the audit log or the engine could not be built.
    pub async fn start(config: Config) -> Result<Self, DiscordError> {
        let settings = config
            .discord
            .as_ref()
            .map(CoreSettings::from_config)
            .ok_or(DiscordError::NotConfigured)?;
        Self::start_with(config, settings).await
    }

    /// Builds everything from `config`, pacing the core with `settings`.
    ///
    /// # Errors
    ///
    /// See [`Discord::start`].
    pub async fn start_with(config: Config, settings: CoreSettings) -> Result<Self, DiscordError> {
        let discord = config.discord.clone().ok_or(DiscordError::NotConfigured)?;
        let http = Arc::new(build_http(&discord)?);
        let mut auditor = Auditor::builder(&config.audit.path);
        if let Some(channel) = discord.audit_channel {
            let channel =
                DiscordAuditChannel::new(Arc::clone(&http), ChannelId::new(channel.get()));
            auditor = auditor.channel(ChannelQueue::spawn(
                Arc::new(channel),
                ChannelQueueConfig::default(),
            ));
        }
        let auditor = auditor.open().await?;
        let engine = Engine::from_config(Arc::new(config), auditor)?;
        let core = DiscordCore::new(engine.clone(), http, settings);
        let listener = core.spawn_listener();
        Ok(Self {
            config: discord,
            engine,
            core,
            listener,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The shared interaction core (the HTTP endpoint's handler).
    pub fn core(&self) -> &DiscordCore {
        &self.core
    }

    /// `[discord]`.
    pub fn config(&self) -> &DiscordConfig {
        &self.config
    }

    /// Serves interactions over the gateway until `shutdown` resolves (or the gateway fails).
    ///
    /// # Errors
    ///
    /// The client could not be built, or the gateway connection ended with an error.
    pub async fn run_gateway(
        &self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), DiscordError> {
        gateway::run(&self.config, self.core.clone(), shutdown).await
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
            tracing::warn!("discord follow-ups still running at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_config::MapEnv;

    fn discord(extra: &str) -> DiscordConfig {
        let text = format!(
            r#"
[jumpcloud]
api_key = {{ env = "JC" }}

[discord]
application_id = "123456789012345678"
bot_token = {{ env = "TOKEN" }}
{extra}

[discord.guilds]
"423456789012345678" = "default"

[groups.helpdesk]
discord_roles = ["112233445566778899"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ discord = ["*"] }}
approval = "none"

[audit]
path = "audit.jsonl"
"#
        );
        let env = MapEnv::new()
            .with("TOKEN", "bot-token-SECRET-1234")
            .with("JC", "jc-key");
        let config = Config::from_toml_str(&text, &env).unwrap();
        config.discord.unwrap()
    }

    #[test]
    fn the_api_base_url_replaces_discord_and_turns_the_rate_limiter_off() {
        let http = build_http(&discord(
            r#"api_base_url = "http://127.0.0.1:8082/api/v10""#,
        ))
        .unwrap();
        assert_eq!(http.proxy.as_deref(), Some("http://127.0.0.1:8082"));
        assert!(http.ratelimiter.is_none(), "else the proxy is ignored");
        assert_eq!(
            http.application_id(),
            Some(ApplicationId::new(123_456_789_012_345_678))
        );
        assert!(!format!("{http:?}").contains("bot-token-SECRET-1234"));

        let real = build_http(&discord("")).unwrap();
        assert_eq!(real.proxy, None);
        assert!(real.ratelimiter.is_some(), "Discord's limits are respected");
    }

    #[test]
    fn errors_never_carry_a_url() {
        let error = DiscordError::Api {
            status: 404,
            code: 10062,
            message: passdesk_core::http::excerpt("Unknown interaction"),
        };
        assert_eq!(
            error.to_string(),
            "discord answered 404 (code 10062): Unknown interaction"
        );
    }
}
