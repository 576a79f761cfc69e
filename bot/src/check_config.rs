//! `passdesk check-config`: load a configuration and report every problem, or what it enables.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use passdesk_config::{Config, ConfigErrors, DiscordMode, Env};

use crate::outcome::Outcome;

/// The configuration file `--config` or `PASSDESK_CONFIG` names, loaded and validated.
///
/// The path is returned with the errors too (when one was found), so reports can name it.
pub fn load(
    cli: Option<&Path>,
    env: &dyn Env,
) -> Result<(PathBuf, Config), (Option<PathBuf>, ConfigErrors)> {
    let path = passdesk_config::config_path(cli, env).map_err(|errors| (None, errors))?;
    match passdesk_config::load(&path, env) {
        Ok(config) => Ok((path, config)),
        Err(errors) => Err((Some(path), errors)),
    }
}

/// Runs `check-config`: prints `ok: <summary>` on `out`, or every problem (key, problem and
/// fix, one per line) followed by a count.
pub fn check_config(cli: Option<&Path>, env: &dyn Env, out: &mut dyn Write) -> io::Result<Outcome> {
    match load(cli, env) {
        Ok((path, config)) => {
            tracing::debug!(config = %path.display(), "configuration is valid");
            writeln!(out, "ok: {}", summary(&config))?;
            Ok(Outcome::Success)
        }
        Err((path, errors)) => {
            write_problems(out, path.as_deref(), &errors)?;
            Ok(Outcome::Problem)
        }
    }
}

/// Writes every problem of `errors`, one per line (`key (line N): problem; fix: …`), then how
/// many there are and in which file. Problems never hold a secret value.
pub fn write_problems(
    out: &mut dyn Write,
    path: Option<&Path>,
    errors: &ConfigErrors,
) -> io::Result<()> {
    for error in errors {
        writeln!(out, "{error}")?;
    }
    let count = match errors.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    match path {
        Some(path) => writeln!(out, "{count} in {}", path.display()),
        None => writeln!(out, "{count}"),
    }
}

/// One line saying what a valid configuration turns on: the enabled commands, the chat
/// adapters, the upstream services, the audit log and the listener. Never shows a secret.
pub fn summary(config: &Config) -> String {
    let commands = config.enabled_commands();
    let commands = if commands.is_empty() {
        "none (no [policy.<command>] section: every command is disabled)".to_owned()
    } else {
        commands
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    let adapters = adapters(config);
    let adapters = if adapters.is_empty() {
        "none (no [discord] or [slack] section)".to_owned()
    } else {
        adapters.join(", ")
    };

    let mut upstreams = Vec::new();
    if let Some(jc) = &config.jumpcloud {
        let tenants = match jc.tenants.len() {
            0 => String::new(),
            1 => ", 1 tenant".to_owned(),
            n => format!(", {n} tenants"),
        };
        upstreams.push(format!(
            "jumpcloud ({}{tenants})",
            jc.base_url.origin().ascii_serialization()
        ));
    }
    if let Some(im) = &config.identity_manager {
        let mut mail = String::new();
        if !im.mail.enabled {
            mail.push_str(", notification mail disabled");
        } else if im.mail.catch_all_address.is_some() {
            mail.push_str(", notification mail to the catch-all address");
        }
        upstreams.push(format!(
            "identity manager ({}{mail})",
            im.application_uri.origin().ascii_serialization()
        ));
    }
    let upstreams = if upstreams.is_empty() {
        "none".to_owned()
    } else {
        upstreams.join(", ")
    };

    format!(
        "commands {commands}; adapters {adapters}; upstreams {upstreams}; audit log {}; listen {}",
        config.audit.path.display(),
        config.server.listen
    )
}

/// The chat adapters a configuration asks for, e.g. `discord (gateway)`, `slack`.
pub fn adapters(config: &Config) -> Vec<String> {
    let mut adapters = Vec::new();
    if let Some(discord) = &config.discord {
        adapters.push(format!("discord ({})", discord_mode(discord.mode)));
    }
    if config.slack.is_some() {
        adapters.push("slack".to_owned());
    }
    adapters
}

/// How the Discord adapter receives interactions, in words.
pub fn discord_mode(mode: DiscordMode) -> &'static str {
    match mode {
        DiscordMode::Gateway => "gateway",
        DiscordMode::Http => "http interactions endpoint",
        _ => "unknown mode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_config::MapEnv;

    const MINIMAL: &str = r#"
[jumpcloud]
region = "eu"
api_key = { env = "JC_KEY" }

[groups.helpdesk]
cli_users = ["alice"]

[policy.expire]
groups = ["helpdesk"]
approval = "none"

[audit]
path = "/var/lib/passdesk/audit.jsonl"
"#;

    fn env() -> MapEnv {
        MapEnv::new().with("JC_KEY", "jc-secret-key-123")
    }

    #[test]
    fn summary_names_commands_adapters_and_upstreams_without_secrets() {
        let config = Config::from_toml_str(MINIMAL, &env()).unwrap();
        let line = summary(&config);
        assert_eq!(
            line,
            "commands expire; adapters none (no [discord] or [slack] section); upstreams \
             jumpcloud (https://console.eu.jumpcloud.com); audit log \
             /var/lib/passdesk/audit.jsonl; listen 127.0.0.1:8080"
        );
        assert!(!line.contains("jc-secret-key-123"));
    }

    #[test]
    fn a_missing_path_is_one_problem_naming_the_flag_and_variable() {
        let mut out = Vec::new();
        let outcome = check_config(None, &MapEnv::new(), &mut out).unwrap();
        assert_eq!(outcome, Outcome::Problem);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("--config"), "{text}");
        assert!(text.contains("PASSDESK_CONFIG"), "{text}");
        assert!(text.ends_with("1 problem\n"), "{text}");
    }

    #[test]
    fn the_path_comes_from_passdesk_config_when_no_flag_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passdesk.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let env = env().with("PASSDESK_CONFIG", path.display().to_string());
        let mut out = Vec::new();
        assert_eq!(
            check_config(None, &env, &mut out).unwrap(),
            Outcome::Success
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("ok: commands expire;"), "{text}");
    }
}
