//! `passdesk run`: load the configuration, then serve the chat platforms it names; and
//! `passdesk register-commands`, which registers the Discord slash commands `run` serves.
//!
//! Discord in gateway mode, or in HTTP mode (the interactions endpoint and `/healthz` on
//! `[server] listen`), is served until SIGINT or SIGTERM, then stopped gracefully: the gateway
//! is closed or the listener stops accepting (requests in flight finish), every request still
//! waiting expires (its messages say so), and the audit channel is given time to deliver.
//! Adapters not in this build (Slack) are named and `run` does not start: it never serves part
//! of a configuration.

use std::io::{self, Write};
use std::path::Path;

use passdesk_bot::discord::{self, Discord, Scope};
use passdesk_config::{Config, DiscordMode, Env, Snowflake};
use serenity::all::GuildId;

use crate::check_config::{self, discord_mode};
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
/// serves Discord (gateway or HTTP mode) until a shutdown signal ([`Outcome::Success`]); names
/// what this build cannot serve yet and ends with [`Outcome::Unavailable`].
pub fn run(cli: Option<&Path>, env: &dyn Env, err: &mut dyn Write) -> io::Result<Outcome> {
    let Some(config) = load(cli, env, err)? else {
        return Ok(Outcome::Problem);
    };
    writeln!(err, "configuration ok: {}", check_config::summary(&config))?;

    if config.slack.is_some() {
        writeln!(
            err,
            "slack is configured, but the Slack adapter is not yet available in this build: it \
             arrives with the Slack issue"
        )?;
        if let Some(discord) = &config.discord {
            writeln!(
                err,
                "discord ({}) is configured and available, but passdesk does not serve part of a \
                 configuration: remove [slack] to serve Discord alone",
                discord_mode(discord.mode)
            )?;
        }
        writeln!(
            err,
            "error: passdesk run does not start: not every configured platform can be served"
        )?;
        return Ok(Outcome::Unavailable);
    }
    let Some(discord) = &config.discord else {
        writeln!(
            err,
            "no chat platform is configured: add a [discord] or [slack] section \
             (passdesk.example.toml shows both)"
        )?;
        writeln!(
            err,
            "error: nothing to serve, so passdesk run does not start"
        )?;
        return Ok(Outcome::Unavailable);
    };
    match discord.mode {
        DiscordMode::Gateway => serve_gateway(config, err),
        _ => serve_http(config, err),
    }
}

/// Serves Discord's HTTP interactions endpoint (and `/healthz`) on `[server] listen`, on its
/// own Tokio runtime, until SIGINT or SIGTERM; requests in flight finish before it stops.
fn serve_http(config: Config, err: &mut dyn Write) -> io::Result<Outcome> {
    let listen = config.server.listen;
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
        let server = match passdesk_bot::server::bind_discord(&discord, listen).await {
            Ok(server) => server,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                discord.shutdown().await;
                return Ok(Outcome::Problem);
            }
        };
        writeln!(
            err,
            "discord (http): listening on http://{}{}; stop with Ctrl-C or SIGTERM",
            server.local_addr()?,
            passdesk_bot::discord::http::INTERACTIONS_PATH
        )?;
        let served = server.serve(passdesk_bot::server::shutdown_signal()).await;
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
