//! The command-line parity commands (`passdesk jumpcloud …`, `passdesk identity-manager …`),
//! which do what the vendors' own tools do, through the same engine as chat.
//!
//! Each command is translated into the catalogue command and options a chat user would type
//! ([`EngineCall`]) and checked by the engine's parser, so the command line and chat accept
//! exactly the same values; then [`crate::cli_run`] runs it through the command engine
//! (policy, plan, confirmation, audit, execution) and prints the vendor tool's output.

use std::io::Write;

use passdesk_commands::catalogue::{
    EXPIRE, NOTIFY, OPT_ASSIGNED_RESOURCE_TYPE, OPT_CC, OPT_CREATED_WITHIN_DAYS, OPT_DRY_RUN,
    OPT_GROUP, OPT_RESOURCE_TYPE_MAPPING, OPT_USER, RESET, SUB_INACTIVE,
};
use passdesk_commands::parse::parse_command;
use passdesk_commands::{Request, ResetTarget, UserRef};

use crate::cli::{
    CommonArgs, ExpirePasswordArgs, IdentityManagerCommand, JumpCloudCommand,
    SendPasswordNotificationArgs, SendPasswordResetArgs,
};
use crate::cli_run::{self, ParityRun, PasswordSource, Shape, Terminal};
use crate::outcome::Outcome;

/// What the command engine will be asked: a catalogue command, its options as a chat user
/// would give them, and the JumpCloud organisation to act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineCall {
    /// The catalogue command (`reset`, `expire`, `notify`).
    pub command: &'static str,
    /// Raw `(option, value)` pairs, in the forms `passdesk_commands::parse` accepts.
    pub options: Vec<(String, String)>,
    /// `--org-id`, when given.
    pub org_id: Option<String>,
    /// The command-line flag behind each catalogue option, for error messages.
    flags: Vec<(&'static str, &'static str)>,
    /// Which kind of user reference the flag promised, checked after parsing.
    user_kind: Option<UserKind>,
}

/// The kind of user reference a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserKind {
    /// `--user-id` / `--id` (the flag's name).
    Id(&'static str),
    /// `--username`.
    Username,
}

impl EngineCall {
    pub(crate) fn new(command: &'static str) -> Self {
        Self {
            command,
            options: Vec::new(),
            org_id: None,
            flags: Vec::new(),
            user_kind: None,
        }
    }

    fn option(mut self, name: &'static str, value: impl Into<String>, flag: &'static str) -> Self {
        self.options.push((name.to_owned(), value.into()));
        self.flags.push((name, flag));
        self
    }

    fn user(self, id: Option<&String>, username: Option<&String>, id_flag: &'static str) -> Self {
        match (id, username) {
            (Some(id), _) => Self {
                user_kind: Some(UserKind::Id(id_flag)),
                ..self.option(OPT_USER, id, id_flag)
            },
            (None, Some(username)) => Self {
                user_kind: Some(UserKind::Username),
                ..self.option(OPT_USER, username, "--username")
            },
            (None, None) => self,
        }
    }

    fn common(self, common: &CommonArgs) -> Self {
        if common.what_if {
            self.option(OPT_DRY_RUN, "true", "--what-if")
        } else {
            self
        }
    }

    /// Checks the call with the engine's parser: the request it becomes, or what is wrong in
    /// terms of the command-line flags.
    pub fn check(&self) -> Result<Request, String> {
        let request = parse_command(self.command, &self.options).map_err(|e| {
            let flag = e
                .option()
                .and_then(|o| self.flags.iter().find(|(name, _)| *name == o))
                .map(|(_, flag)| *flag);
            match flag {
                Some(flag) => format!("{flag}: {}", e.message()),
                None => e.message().to_owned(),
            }
        })?;
        let user = match &request {
            Request::Reset {
                target: ResetTarget::User(user),
                ..
            }
            | Request::Expire { user, .. } => Some(user),
            _ => None,
        };
        match (self.user_kind, user) {
            (Some(UserKind::Id(flag)), Some(UserRef::Username(_))) => Err(format!(
                "{flag} takes a JumpCloud user id (24 lowercase hex characters); use --username \
                 for a username"
            )),
            (Some(UserKind::Username), Some(UserRef::Id(_))) => Err(format!(
                "--username was given a JumpCloud user id; use {} for an id",
                match self.command {
                    EXPIRE => "--id",
                    _ => "--user-id",
                }
            )),
            _ => Ok(request),
        }
    }
}

impl SendPasswordResetArgs {
    /// The `reset` call this command stands for.
    pub fn engine_call(&self) -> EngineCall {
        let call = EngineCall::new(RESET);
        let call = if let Some(group) = &self.group_name {
            call.option(OPT_GROUP, group, "--group-name")
        } else if self.inactive {
            let call = call.option(SUB_INACTIVE, "", "--inactive");
            match self.created_within_days {
                Some(days) => call.option(
                    OPT_CREATED_WITHIN_DAYS,
                    days.to_string(),
                    "--created-within-days",
                ),
                None => call,
            }
        } else {
            call.user(self.user_id.as_ref(), self.username.as_ref(), "--user-id")
        };
        call.common(&self.common)
    }
}

impl ExpirePasswordArgs {
    /// The `expire` call this command stands for.
    pub fn engine_call(&self) -> EngineCall {
        let call = EngineCall::new(EXPIRE)
            .user(self.id.as_ref(), self.username.as_ref(), "--id")
            .common(&self.common);
        EngineCall {
            org_id: self.org_id.clone(),
            ..call
        }
    }
}

impl SendPasswordNotificationArgs {
    /// The `notify` call this command stands for. The password is not part of it: the engine
    /// asks for it after confirmation.
    pub fn engine_call(&self) -> EngineCall {
        let call = EngineCall::new(NOTIFY)
            .option(
                OPT_ASSIGNED_RESOURCE_TYPE,
                self.assigned_resource_type.to_string(),
                "--assigned-resource-type",
            )
            .option(
                OPT_RESOURCE_TYPE_MAPPING,
                self.resource_type_mapping.to_string(),
                "--resource-type-mapping",
            );
        let call = match &self.notification_cc {
            Some(cc) => call.option(OPT_CC, cc, "--notification-cc"),
            None => call,
        };
        call.common(&self.common)
    }
}

/// Runs `passdesk jumpcloud …`: the result on `out`, diagnostics on `err`.
///
/// # Errors
///
/// See [`cli_run::run`].
pub fn jumpcloud(
    command: &JumpCloudCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        JumpCloudCommand::SendPasswordReset(args) => {
            let shape = if args.user_id.is_some() {
                Shape::ResetById
            } else if args.username.is_some() {
                Shape::ResetByUsername
            } else {
                Shape::ResetBulk
            };
            run(
                &args.engine_call(),
                &args.common,
                shape,
                PasswordSource::NotNeeded,
                out,
                err,
            )
        }
        JumpCloudCommand::ExpirePassword(args) => run(
            &args.engine_call(),
            &args.common,
            Shape::Expire,
            PasswordSource::NotNeeded,
            out,
            err,
        ),
    }
}

/// Runs `passdesk identity-manager …`: the result on `out`, diagnostics on `err`.
///
/// # Errors
///
/// See [`cli_run::run`].
pub fn identity_manager(
    command: &IdentityManagerCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        IdentityManagerCommand::SendPasswordNotification(args) => {
            let password = match &args.password {
                Some(secret) => {
                    writeln!(
                        err,
                        "warning: --password puts the password in the process list and the \
                         shell history, where others on this machine can read it; use \
                         --password-stdin"
                    )?;
                    PasswordSource::Argument(secret.clone())
                }
                None if args.password_stdin => PasswordSource::Stdin,
                None => PasswordSource::Prompt,
            };
            run(
                &args.engine_call(),
                &args.common,
                Shape::Notify,
                password,
                out,
                err,
            )
        }
    }
}

/// Checks `call` with the engine's parser (a problem is a usage error, exit 2), then runs it.
fn run(
    call: &EngineCall,
    common: &CommonArgs,
    shape: Shape,
    password: PasswordSource,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let request = match call.check() {
        Ok(request) => request,
        Err(problem) => {
            writeln!(err, "error: {problem}")?;
            return Ok(Outcome::Unavailable);
        }
    };
    tracing::debug!(command = call.command, request = %request.summary(), "parity command checked");
    cli_run::run(
        ParityRun {
            call,
            request,
            common,
            shape,
            password,
        },
        &mut Terminal,
        out,
        err,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn call(args: &[&str]) -> EngineCall {
        let cli =
            Cli::try_parse_from(std::iter::once("passdesk").chain(args.iter().copied())).unwrap();
        match cli.command {
            Command::Jumpcloud(JumpCloudCommand::SendPasswordReset(a)) => a.engine_call(),
            Command::Jumpcloud(JumpCloudCommand::ExpirePassword(a)) => a.engine_call(),
            Command::IdentityManager(IdentityManagerCommand::SendPasswordNotification(a)) => {
                a.engine_call()
            }
            other => panic!("not a parity command: {other:?}"),
        }
    }

    #[test]
    fn each_selector_becomes_the_request_chat_would_make() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["jumpcloud", "send-password-reset", "--username", "jane.doe"],
                "reset mail for user jane.doe",
            ),
            (
                &[
                    "jumpcloud",
                    "send-password-reset",
                    "--group-name",
                    "IT Support",
                    "--what-if",
                ],
                "dry run: reset mail for every member of group \"IT Support\"",
            ),
            (
                &[
                    "jumpcloud",
                    "expire-password",
                    "--id",
                    "5f1a2b3c4d5e6f708192a3b4",
                ],
                "id 5f1a2b3c4d5e6f708192a3b4",
            ),
        ];
        for (args, expected) in cases {
            let request = call(args).check().unwrap();
            assert!(
                request.summary().contains(expected),
                "{args:?}: {}",
                request.summary()
            );
        }

        let inactive = call(&[
            "jumpcloud",
            "send-password-reset",
            "--inactive",
            "--created-within-days",
            "7",
        ])
        .check()
        .unwrap();
        assert_eq!(
            inactive,
            Request::Reset {
                target: ResetTarget::Inactive {
                    created_within_days: Some(7)
                },
                dry_run: false,
            }
        );

        let notify = call(&[
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
            "--notification-cc",
            "admin@acme.example",
            "--what-if",
        ])
        .check()
        .unwrap();
        assert!(notify.dry_run());
        assert!(matches!(notify, Request::Notify { cc: Some(_), .. }));
    }

    #[test]
    fn problems_name_the_command_line_flag() {
        let problem = call(&[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jane doe!",
        ])
        .check()
        .unwrap_err();
        assert!(problem.starts_with("--username: "), "{problem}");

        let problem = call(&["jumpcloud", "send-password-reset", "--user-id", "jane.doe"])
            .check()
            .unwrap_err();
        assert!(
            problem.starts_with("--user-id takes a JumpCloud user id"),
            "{problem}"
        );

        let problem = call(&[
            "jumpcloud",
            "expire-password",
            "--username",
            "5f1a2b3c4d5e6f708192a3b4",
        ])
        .check()
        .unwrap_err();
        assert!(problem.contains("use --id for an id"), "{problem}");

        let problem = call(&[
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
            "--notification-cc",
            "not-an-address",
        ])
        .check()
        .unwrap_err();
        assert!(problem.starts_with("--notification-cc: "), "{problem}");
    }

    #[test]
    fn expire_carries_the_org_id() {
        let call = call(&[
            "jumpcloud",
            "expire-password",
            "--username",
            "jane.doe",
            "--org-id",
            "5f0c1a2b3c4d5e6f7a8b9c0d",
        ]);
        assert_eq!(call.org_id.as_deref(), Some("5f0c1a2b3c4d5e6f7a8b9c0d"));
    }
}
