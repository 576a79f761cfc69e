//! The command line: every subcommand and flag of `passdesk`, as clap derive types.
//!
//! Only declarations live here; each subcommand's body is in its own module.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

/// Passdesk: password operations for a helpdesk, from Discord or Slack, safely.
///
/// Output goes to stdout; logs go to stderr (filter them with RUST_LOG, e.g.
/// RUST_LOG=passdesk=debug).
#[derive(Debug, Parser)]
#[command(name = "passdesk", version)]
pub struct Cli {
    /// How logs (on stderr) are written.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours when stderr is a terminal).
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The subcommands of `passdesk`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the chat platforms named in the configuration.
    Run(ConfigArg),
    /// Run the bot offline against embedded simulators, with a console chat.
    Demo(DemoArgs),
    /// Check a configuration file and report every problem, with its key and fix.
    CheckConfig(ConfigArg),
    /// Register the catalogue as Discord slash commands (bulk overwrite).
    RegisterCommands(RegisterCommandsArgs),
    /// Work with the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// JumpCloud operations from the command line, as the JumpCloud PowerShell cmdlets do them.
    #[command(subcommand)]
    Jumpcloud(JumpCloudCommand),
    /// Identity Manager operations from the command line, as the Identity Manager tools do them.
    #[command(subcommand)]
    IdentityManager(IdentityManagerCommand),
}

/// `--config FILE`, falling back to `PASSDESK_CONFIG`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The configuration file [default: $PASSDESK_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `passdesk register-commands`.
#[derive(Debug, Clone, Args)]
pub struct RegisterCommandsArgs {
    /// The configuration file [default: $PASSDESK_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Register in this server only (its id), where changes show at once; without it the
    /// commands are registered globally, which Discord propagates more slowly. Use one scope,
    /// not both, or members see every command twice.
    #[arg(long, value_name = "ID")]
    pub guild: Option<String>,
}

/// `passdesk demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Act as this identity of the demo (a helpdesk member, an approver, …).
    #[arg(long = "as", value_name = "IDENTITY")]
    pub as_identity: Option<String>,

    /// A configuration to rehearse instead of the built-in demo policy: its groups, policies
    /// and limits are used as written; its JumpCloud and Identity Manager connection keys are
    /// replaced by the simulators'.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The audit log to write [default: audit.jsonl in a new temporary directory].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
}

/// `passdesk audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of one or more audit logs; report the first bad line of each.
    Verify {
        /// The audit logs (JSON Lines) to check.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Move an incomplete last line (left by a crash mid-write) aside, so the bot can start.
    ///
    /// Run it only while the bot is stopped. The line's bytes are kept in a file beside the
    /// log; any other damage is refused, because it needs a person.
    Repair {
        /// The audit log to repair.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// `passdesk jumpcloud …`.
#[derive(Debug, Subcommand)]
pub enum JumpCloudCommand {
    /// Send an activation mail (pending users) or a password reset mail (active users), as
    /// Send-JCPasswordReset does.
    SendPasswordReset(SendPasswordResetArgs),
    /// Expire a user's password, as Invoke-JcSdkExpireSystemUserPassword does.
    ExpirePassword(ExpirePasswordArgs),
}

/// `passdesk jumpcloud send-password-reset`: exactly one selector.
#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("selector")
        .required(true)
        .multiple(false)
        .args(["user_id", "username", "group_name", "inactive"])
))]
pub struct SendPasswordResetArgs {
    /// One user, by id (24 hex characters).
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,

    /// One user, by username.
    #[arg(long, value_name = "USERNAME")]
    pub username: Option<String>,

    /// Every member of this JumpCloud user group.
    #[arg(long, value_name = "NAME")]
    pub group_name: Option<String>,

    /// Every user who has not activated their account yet.
    #[arg(long)]
    pub inactive: bool,

    /// With --inactive: only users created in the last N days.
    // `requires = "inactive"` would not do: a flag's default (`false`) counts as present.
    // Conflicting with every other selector has the same effect, since one is required.
    #[arg(long, value_name = "N", conflicts_with_all = ["user_id", "username", "group_name"])]
    pub created_within_days: Option<u32>,

    /// Flags every parity command takes.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `passdesk jumpcloud expire-password`: `--id` or `--username`.
#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("selector")
        .required(true)
        .multiple(false)
        .args(["id", "username"])
))]
pub struct ExpirePasswordArgs {
    /// The user's id (24 hex characters).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// The user's username.
    #[arg(long, value_name = "USERNAME")]
    pub username: Option<String>,

    /// The organisation to act in (sent as x-org-id), for a multi-organisation key.
    #[arg(long, value_name = "ORG_ID")]
    pub org_id: Option<String>,

    /// Flags every parity command takes.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `passdesk identity-manager …`.
#[derive(Debug, Subcommand)]
pub enum IdentityManagerCommand {
    /// Mail a password notification, as Usercube-Send-PasswordNotification does.
    SendPasswordNotification(SendPasswordNotificationArgs),
}

/// `passdesk identity-manager send-password-notification`.
#[derive(Debug, Clone, Args)]
pub struct SendPasswordNotificationArgs {
    /// The id of the assigned resource type (the user's account in the external system).
    #[arg(long, value_name = "ID")]
    pub assigned_resource_type: i64,

    /// The id of the resource type mapping (equal to its resource type's id).
    #[arg(long, value_name = "ID")]
    pub resource_type_mapping: i64,

    /// Also send a copy to this address.
    #[arg(long, value_name = "EMAIL")]
    pub notification_cc: Option<String>,

    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,

    /// The password, on the command line (accepted for drop-in compatibility; it is visible in
    /// the process list: prefer --password-stdin).
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<SecretString>,

    /// Flags every parity command takes.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags shared by the command-line parity commands.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Only show what would happen; change nothing.
    #[arg(long)]
    pub what_if: bool,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,

    /// How the result is printed.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// The configuration file [default: $PASSDESK_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Act on the embedded simulators of `passdesk demo` instead of the real services (with
    /// --config, that configuration's policy is rehearsed on them).
    #[arg(long)]
    pub demo: bool,

    /// Act as this command-line user of the configuration (its `cli_users`) [default: cli].
    #[arg(long = "as", value_name = "NAME")]
    pub as_user: Option<String>,

    /// With --demo: the audit log to write [default: audit.jsonl in a new temporary
    /// directory]. Without --demo the configuration's `[audit] path` is always used.
    #[arg(long, value_name = "PATH", requires = "demo")]
    pub audit_log: Option<PathBuf>,

    /// With --demo: print what the simulators recorded (mails sent, passwords expired,
    /// notifications written) on stderr at the end.
    #[arg(long, requires = "demo")]
    pub print_sent: bool,
}

/// How a parity command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// JSON, for scripts.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use secrecy::ExposeSecret;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("passdesk").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reset_takes_exactly_one_selector() {
        assert!(parse(&["jumpcloud", "send-password-reset", "--username", "jane"]).is_ok());
        assert!(parse(&["jumpcloud", "send-password-reset"]).is_err());
        assert!(
            parse(&[
                "jumpcloud",
                "send-password-reset",
                "--username",
                "jane",
                "--group-name",
                "it",
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "jumpcloud",
                "send-password-reset",
                "--username",
                "jane",
                "--created-within-days",
                "7",
            ])
            .is_err(),
            "--created-within-days belongs to --inactive"
        );
        assert!(
            parse(&[
                "jumpcloud",
                "send-password-reset",
                "--created-within-days",
                "7"
            ])
            .is_err(),
            "--created-within-days is not a selector"
        );
        let Command::Jumpcloud(JumpCloudCommand::SendPasswordReset(args)) = parse(&[
            "jumpcloud",
            "send-password-reset",
            "--inactive",
            "--created-within-days",
            "7",
            "--what-if",
            "--output",
            "json",
        ])
        .unwrap()
        .command
        else {
            panic!("wrong subcommand");
        };
        assert!(args.inactive);
        assert_eq!(args.created_within_days, Some(7));
        assert!(args.common.what_if);
        assert_eq!(args.common.output, OutputFormat::Json);
    }

    #[test]
    fn expire_takes_id_or_username() {
        assert!(parse(&["jumpcloud", "expire-password", "--org-id", "x"]).is_err());
        assert!(
            parse(&[
                "jumpcloud",
                "expire-password",
                "--id",
                "a",
                "--username",
                "b"
            ])
            .is_err()
        );
        assert!(parse(&["jumpcloud", "expire-password", "--id", "a", "--org-id", "o"]).is_ok());
    }

    #[test]
    fn a_password_flag_is_kept_secret_and_excludes_stdin() {
        let base = [
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
        ];
        let mut with_both = base.to_vec();
        with_both.extend(["--password", "Hunter2!x", "--password-stdin"]);
        assert!(parse(&with_both).is_err());

        let mut with_password = base.to_vec();
        with_password.extend(["--password", "Hunter2!x"]);
        let cli = parse(&with_password).unwrap();
        assert!(!format!("{cli:?}").contains("Hunter2!x"));
        let Command::IdentityManager(IdentityManagerCommand::SendPasswordNotification(args)) =
            cli.command
        else {
            panic!("wrong subcommand");
        };
        assert_eq!(
            args.password.as_ref().map(|p| p.expose_secret().to_owned()),
            Some("Hunter2!x".to_owned())
        );
    }
}
