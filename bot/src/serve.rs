//! `passdesk run`: load the configuration, then serve the chat platforms it names.
//!
//! This build has no chat adapter yet (they arrive with the Discord and Slack issues), so after
//! validating the configuration `run` says which adapters it would start and stops with exit
//! code 2 instead of pretending to serve.

use std::io::{self, Write};
use std::path::Path;

use passdesk_config::Env;

use crate::check_config::{self, discord_mode};
use crate::outcome::Outcome;

/// Runs `run`. Refuses an invalid configuration (every problem on `err`, [`Outcome::Problem`]);
/// otherwise names the configured adapters and ends with [`Outcome::Unavailable`].
pub fn run(cli: Option<&Path>, env: &dyn Env, err: &mut dyn Write) -> io::Result<Outcome> {
    let (path, config) = match check_config::load(cli, env) {
        Ok(loaded) => loaded,
        Err((path, errors)) => {
            writeln!(
                err,
                "error: refusing to start: the configuration is not valid"
            )?;
            check_config::write_problems(err, path.as_deref(), &errors)?;
            return Ok(Outcome::Problem);
        }
    };
    tracing::info!(config = %path.display(), "configuration loaded");
    writeln!(err, "configuration ok: {}", check_config::summary(&config))?;

    let mut configured = false;
    if let Some(discord) = &config.discord {
        configured = true;
        writeln!(
            err,
            "discord ({}) is configured, but the Discord adapter is not yet available in this \
             build: it arrives with the Discord issue",
            discord_mode(discord.mode)
        )?;
    }
    if config.slack.is_some() {
        configured = true;
        writeln!(
            err,
            "slack is configured, but the Slack adapter is not yet available in this build: it \
             arrives with the Slack issue"
        )?;
    }
    if !configured {
        writeln!(
            err,
            "no chat platform is configured: add a [discord] or [slack] section \
             (passdesk.example.toml shows both)"
        )?;
    }
    writeln!(
        err,
        "error: passdesk run is not yet available in this build: nothing would be served, so it \
         does not start"
    )?;
    Ok(Outcome::Unavailable)
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
