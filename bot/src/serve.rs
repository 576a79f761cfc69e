//! `passdesk run`: load the configuration, then serve the chat platforms it names; and
//! `passdesk register-commands`, which registers the Discord slash commands `run` serves.
//!
//! Every configured platform is served until SIGINT or SIGTERM: Discord in gateway mode, or
//! in HTTP mode (the interactions endpoint on `[server] listen`), and Slack (`/slack/commands`
//! and `/slack/interactions` on the same listener), alone or together, with `/healthz`
//! whenever a listener is up. Then everything stops gracefully: the gateway is closed and the
//! listener stops accepting (requests in flight finish), every request still waiting expires
//! (its messages say so), and the audit channel is given time to deliver.

use std::io::{self, Write};
use std::path::Path;

use std::sync::Arc;

use std::time::Duration;

use passdesk_bot::discord::{self, Discord, Scope};
use passdesk_bot::server::{self, Server, ServerState};
use passdesk_bot::slack::http::{self as slack_http, SlackHandler};
use passdesk_bot::slack::{CoreSettings, Listener, Roles, Slack, SlackApi, SlackCore, SlackError};
use passdesk_config::{Config, DiscordMode, Env, Snowflake};
use serenity::all::GuildId;

use crate::check_config;
use crate::outcome::Outcome;

/// Loads the configuration, or writes every problem on `err`.
fn load(cli: Option<&Path>, env: &dyn Env, err: &mut dyn Write) -> io::Result<Option<Config>> {
    match check_config::load(cli, env) {
        Ok((path, config)) => {
            tracing::info!(config = %path.display(), "configuration loaded");
            Ok(Some(config))
        }
        Err((path, errors)) => {
            writeln!(
                err,
                "error: refusing to start: the configuration is not valid"
            )?;
            check_config::write_problems(err, path.as_deref(), &errors)?;
            Ok(None)
        }
    }
}

/// Runs `run`. Refuses an invalid configuration (every problem on `err`, [`Outcome::Problem`]);
/// serves every configured platform — Discord (gateway or HTTP mode) and Slack, alone or
/// together — until a shutdown signal ([`Outcome::Success`]); with no platform configured it
/// says so and ends with [`Outcome::Unavailable`].
pub fn run(cli: Option<&Path>, env: &dyn Env, err: &mut dyn Write) -> io::Result<Outcome> {
    let Some(config) = load(cli, env, err)? else {
        return Ok(Outcome::Problem);
    };
    writeln!(err, "configuration ok: {}", check_config::summary(&config))?;

    match (&config.discord, &config.slack) {
        (None, None) => {
            writeln!(
                err,
                "no chat platform is configured: add a [discord] or [slack] section \
                 (passdesk.example.toml shows both)"
            )?;
            writeln!(
                err,
                "error: nothing to serve, so passdesk run does not start"
            )?;
            Ok(Outcome::Unavailable)
        }
        (Some(discord), None) if discord.mode == DiscordMode::Gateway => serve_gateway(config, err),
        _ => serve_http(config, err),
    }
}

/// Serves the HTTP endpoints on `[server] listen` — Discord's interactions endpoint in HTTP
/// mode, the Slack endpoints when `[slack]` is configured, and `/healthz` — and, with Discord
/// in gateway mode, the gateway beside them, on one Tokio runtime until SIGINT or SIGTERM;
/// requests in flight finish before it stops.
fn serve_http(config: Config, err: &mut dyn Write) -> io::Result<Outcome> {
    let listen = config.server.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("passdesk")
        .build()?;
    runtime.block_on(async {
        let slack_config = config.slack.clone();
        let discord = match config.discord.is_some() {
            true => match Discord::start(config.clone()).await {
                Ok(discord) => Some(discord),
                Err(e) => {
                    writeln!(err, "error: the discord adapter could not start: {e}")?;
                    return Ok(Outcome::Problem);
                }
            },
            false => None,
        };
        let slack = match slack_config.is_some() {
            true => match SlackRunning::start(config, discord.as_ref()).await {
                Ok(slack) => Some(slack),
                Err(e) => {
                    writeln!(err, "error: the slack adapter could not start: {e}")?;
                    stop_adapters(discord, None).await;
                    return Ok(Outcome::Problem);
                }
            },
            false => None,
        };
        let gateway = discord
            .as_ref()
            .is_some_and(|discord| discord.config().mode == DiscordMode::Gateway);
        let mut state = ServerState::new();
        let endpoint = discord
            .as_ref()
            .filter(|_| !gateway)
            .map(|discord| {
                server::discord_state(discord.config(), Arc::new(discord.core().clone()))
            })
            .transpose();
        match endpoint {
            Ok(Some(endpoint)) => state = state.with_discord(endpoint),
            Ok(None) => {}
            Err(e) => {
                writeln!(err, "error: {e}")?;
                stop_adapters(discord, slack).await;
                return Ok(Outcome::Problem);
            }
        }
        if let (Some(config), Some(slack)) = (&slack_config, &slack) {
            state = state.with_slack(server::slack_state(config, slack.handler()));
        }
        let bound = Server::bind(listen, server::router(state)).await;
        let server = match bound {
            Ok(server) => server,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                stop_adapters(discord, slack).await;
                return Ok(Outcome::Problem);
            }
        };
        let addr = server.local_addr()?;
        if let Some(discord) = &discord {
            if gateway {
                writeln!(
                    err,
                    "discord (gateway): connecting as application {}",
                    discord.config().application_id
                )?;
            } else {
                writeln!(
                    err,
                    "discord (http): listening on http://{addr}{}; stop with Ctrl-C or SIGTERM",
                    passdesk_bot::discord::http::INTERACTIONS_PATH
                )?;
            }
        }
        if slack_config.is_some() {
            writeln!(
                err,
                "slack: listening on http://{addr}{} and http://{addr}{}; stop with Ctrl-C or \
                 SIGTERM",
                slack_http::COMMANDS_PATH,
                slack_http::INTERACTIONS_PATH
            )?;
        }
        // One signal stops everything that serves; so does the gateway ending on its own.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stop = Arc::new(stop);
        let signal = tokio::spawn({
            let stop = Arc::clone(&stop);
            async move {
                server::shutdown_signal().await;
                let _ = stop.send(true);
            }
        });
        let wait = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let served = match discord.as_ref().filter(|_| gateway) {
            Some(discord) => {
                let gateway = async {
                    let ended = discord.run_gateway(wait(stopped.clone())).await;
                    let _ = stop.send(true);
                    ended
                };
                let (http, gateway) = tokio::join!(server.serve(wait(stopped.clone())), gateway);
                http.map_err(|e| e.to_string())
                    .and(gateway.map_err(|e| e.to_string()))
            }
            None => server
                .serve(wait(stopped.clone()))
                .await
                .map_err(|e| e.to_string()),
        };
        signal.abort();
        writeln!(
            err,
            "stopping: pending requests expire, the audit channel is flushed"
        )?;
        stop_adapters(discord, slack).await;
        match served {
            Ok(()) => {
                writeln!(err, "stopped")?;
                Ok(Outcome::Success)
            }
            Err(e) => {
                writeln!(err, "error: {e}")?;
                Ok(Outcome::Problem)
            }
        }
    })
}

/// Stops the adapters: Discord first (its engine expires what is still waiting), then Slack.
async fn stop_adapters(discord: Option<Discord>, slack: Option<SlackRunning>) {
    if let Some(discord) = discord {
        discord.shutdown().await;
    }
    if let Some(slack) = slack {
        slack.shutdown().await;
    }
}

/// The Slack adapter as `run` serves it: on its own engine, or on Discord's when both are
/// configured (one engine, one audit log: two engines would write two hash chains into one
/// file).
enum SlackRunning {
    /// Slack alone.
    Own(Box<Slack>),
    /// Slack beside Discord, on Discord's engine.
    Shared {
        /// The core.
        core: SlackCore,
        /// Its engine-event listener.
        listener: Listener,
    },
}

impl SlackRunning {
    /// Starts Slack alone, or on `discord`'s engine.
    async fn start(config: Config, discord: Option<&Discord>) -> Result<Self, SlackError> {
        let Some(discord) = discord else {
            return Slack::start(config)
                .await
                .map(|slack| SlackRunning::Own(Box::new(slack)));
        };
        let slack = config.slack.as_ref().ok_or(SlackError::NotConfigured)?;
        let api = SlackApi::new(slack.api_base_url.as_ref(), slack.bot_token.clone())?;
        let roles = Roles::new(&config, Arc::new(api.clone()));
        let core = SlackCore::new(
            discord.engine().clone(),
            api,
            roles,
            CoreSettings::from_config(slack),
        );
        let listener = core.spawn_listener();
        Ok(SlackRunning::Shared { core, listener })
    }

    /// The endpoints' handler.
    fn handler(&self) -> Arc<dyn SlackHandler> {
        match self {
            SlackRunning::Own(slack) => Arc::new(slack.core().clone()),
            SlackRunning::Shared { core, .. } => Arc::new(core.clone()),
        }
    }

    /// Stops (after Discord's engine, when shared): follow-ups get a few seconds to end.
    async fn shutdown(self) {
        match self {
            SlackRunning::Own(slack) => (*slack).shutdown().await,
            SlackRunning::Shared { core, listener } => {
                listener.stop().await;
                if tokio::time::timeout(Duration::from_secs(5), core.idle())
                    .await
                    .is_err()
                {
                    tracing::warn!("slack follow-ups still running at shutdown");
                }
            }
        }
    }
}

/// Serves Discord over the gateway on its own Tokio runtime until SIGINT or SIGTERM.
fn serve_gateway(config: Config, err: &mut dyn Write) -> io::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("passdesk")
        .build()?;
    runtime.block_on(async {
        let discord = match Discord::start(config).await {
            Ok(discord) => discord,
            Err(e) => {
                writeln!(err, "error: the discord adapter could not start: {e}")?;
                return Ok(Outcome::Problem);
            }
        };
        writeln!(
            err,
            "discord (gateway): connecting as application {}; stop with Ctrl-C or SIGTERM",
            discord.config().application_id
        )?;
        let served = discord
            .run_gateway(passdesk_bot::server::shutdown_signal())
            .await;
        writeln!(
            err,
            "stopping: pending requests expire, the audit channel is flushed"
        )?;
        discord.shutdown().await;
        match served {
            Ok(()) => {
                writeln!(err, "stopped")?;
                Ok(Outcome::Success)
            }
            Err(e) => {
                writeln!(err, "error: {e}")?;
                Ok(Outcome::Problem)
            }
        }
    })
}

/// Runs `register-commands`: the catalogue as Discord slash commands, by bulk overwrite, in
/// one server (`--guild`) or globally; what Discord registered is printed on `out`.
pub fn register_commands(
    cli: Option<&Path>,
    guild: Option<&str>,
    env: &dyn Env,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Outcome> {
    let Some(config) = load(cli, env, err)? else {
        return Ok(Outcome::Problem);
    };
    let Some(discord) = &config.discord else {
        writeln!(
            err,
            "error: the configuration has no [discord] section: add it (application_id, \
             bot_token) to register commands"
        )?;
        return Ok(Outcome::Problem);
    };
    let scope = match guild.map(str::parse::<Snowflake>) {
        None => Scope::Global,
        Some(Ok(guild)) => {
            if !discord.guilds.contains_key(&guild) {
                writeln!(
                    err,
                    "warning: server {guild} is not in [discord.guilds]: its members will see \
                     the commands, but Passdesk refuses every request from it"
                )?;
            }
            Scope::Guild(GuildId::new(guild.get()))
        }
        Some(Err(e)) => {
            writeln!(err, "error: --guild: {e}")?;
            return Ok(Outcome::Unavailable);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let registered = runtime.block_on(async {
        let http = discord::build_http(discord)?;
        discord::commands::register(&http, scope).await
    });
    match registered {
        Ok(registered) => {
            writeln!(out, "{}", discord::commands::describe(scope, &registered))?;
            Ok(Outcome::Success)
        }
        Err(e) => {
            writeln!(err, "error: the commands were not registered: {e}")?;
            Ok(Outcome::Problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_config::MapEnv;

    #[test]
    fn an_unreadable_configuration_is_refused_with_its_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.toml");
        let mut err = Vec::new();
        let outcome = run(Some(&missing), &MapEnv::new(), &mut err).unwrap();
        assert_eq!(outcome, Outcome::Problem);
        let text = String::from_utf8(err).unwrap();
        assert!(text.starts_with("error: refusing to start"), "{text}");
        assert!(
            text.contains("could not read the configuration file"),
            "{text}"
        );
    }
}
