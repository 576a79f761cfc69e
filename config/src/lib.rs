#![doc = include_str!("../README.md")]

mod document;
mod env;
mod error;
mod ids;
mod model;
mod raw;
mod secret;
mod validate;
mod warning;

use std::io::Read as _;
use std::path::{Path, PathBuf};

pub use env::{Env, MapEnv, SystemEnv};
pub use error::{ConfigError, ConfigErrors, ErrorKind};
pub use ids::{
    CliUser, DiscordPublicKey, InvalidId, SlackAppId, SlackChannelId, SlackTeamId,
    SlackUserGroupId, SlackUserId, Snowflake, UsernamePattern,
};
pub use model::{
    Accounts, ApprovalRule, AuditConfig, BulkConfig, ChannelPolicy, ChannelRule, CommandName,
    CommandPolicy, Config, DiscordConfig, DiscordMode, Group, IdentityManagerConfig,
    JumpCloudConfig, Limits, Platform, Policies, Principal, ServerConfig, SlackConfig, TargetRules,
    Tenant, UnknownCommand,
};
pub use validate::bounds;
pub use warning::{ConfigWarning, WarningKind};

use document::Document;
use validate::Validator;

/// The environment variable that names the configuration file when `--config` is not given.
pub const CONFIG_ENV_VAR: &str = "PASSDESK_CONFIG";

/// The largest configuration file read.
const MAX_CONFIG_FILE: u64 = 1024 * 1024;

/// The configuration file to read: `cli` (`--config`) when given, else [`CONFIG_ENV_VAR`] from
/// `env`.
pub fn config_path(cli: Option<&Path>, env: &dyn Env) -> Result<PathBuf, ConfigErrors> {
    if let Some(path) = cli {
        return Ok(path.to_path_buf());
    }
    match env.var(CONFIG_ENV_VAR) {
        Some(path) if !path.trim().is_empty() => Ok(PathBuf::from(path)),
        _ => Err(ConfigErrors::one(ConfigError::new(
            ErrorKind::Missing,
            "",
            "no configuration file was given",
            format!(
                "pass --config <file> or set {CONFIG_ENV_VAR}; passdesk.example.toml shows every key"
            ),
        ))),
    }
}

/// Reads, checks and resolves the configuration file at `path`.
///
/// Relative paths in the file (secret files, the audit log, templates, the pickup directory) are
/// resolved against the file's directory. Secret references are read from `env` and from their
/// files. Every problem is reported at once.
pub fn load(path: impl AsRef<Path>, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let path = path.as_ref();
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_FILE + 1).read_to_string(&mut text));
    if let Err(e) = read {
        return Err(ConfigErrors::one(ConfigError::new(
            ErrorKind::Io,
            "",
            format!(
                "could not read the configuration file {}: {}",
                path.display(),
                e.kind()
            ),
            format!(
                "check the path given with --config or {CONFIG_ENV_VAR}, and that the user running passdesk may read it"
            ),
        )));
    }
    if text.len() as u64 > MAX_CONFIG_FILE {
        return Err(ConfigErrors::one(ConfigError::new(
            ErrorKind::Io,
            "",
            format!(
                "the configuration file {} is larger than {MAX_CONFIG_FILE} bytes",
                path.display()
            ),
            "point --config at the Passdesk TOML file",
        )));
    }
    let base = path.parent().filter(|p| !p.as_os_str().is_empty());
    parse(&text, env, base)
}

impl Config {
    /// Checks and resolves a configuration given as text. Relative paths in it stay relative to
    /// the working directory (use [`load`] to resolve them against the file's directory).
    pub fn from_toml_str(text: &str, env: &dyn Env) -> Result<Config, ConfigErrors> {
        parse(text, env, None)
    }
}

fn parse(text: &str, env: &dyn Env, base: Option<&Path>) -> Result<Config, ConfigErrors> {
    let doc = Document::parse(text).map_err(|mut errors| {
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        ConfigErrors { errors }
    })?;
    let (raw, mut errors) = doc.shape();
    let mut config = None;
    if let Some(raw) = raw {
        let mut validator = Validator::new(&doc, env, base);
        config = validate::validate(raw, &mut validator);
        errors.extend(validator.into_errors());
    }
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => {
            // File order; whole-file problems (no line) last. The sort is stable, so problems on
            // one line keep the order in which they were found.
            errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
            Err(ConfigErrors { errors })
        }
    }
}
