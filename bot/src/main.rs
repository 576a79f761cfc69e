//! `passdesk`: the Passdesk binary.
//!
//! `main` parses the command line, sets up logging (stderr) and hands each subcommand to its
//! module; every module writes its output to a writer it is given (stdout for reports, stderr
//! for diagnostics) and returns an [`Outcome`], which becomes the exit code: 0 done, 1 a problem
//! found (invalid configuration, broken audit chain), 2 not available in this build or not a
//! usable request.

mod audit_log;
mod check_config;
mod cli;
mod cli_run;
mod demo;
mod logging;
mod outcome;
mod parity;
mod serve;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;
use passdesk_config::SystemEnv;

use crate::cli::{AuditCommand, Cli, Command};
use crate::outcome::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            // `{:#}` shows the chain of causes on one line.
            let _ = writeln!(io::stderr(), "error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match &cli.command {
        // The demo console shares the terminal with the logs, and the parity commands' stderr
        // is for their diagnostics: they log warnings by default.
        Command::Demo(_) | Command::Jumpcloud(_) | Command::IdentityManager(_) => {
            demo::init_logging(cli.log_format)?
        }
        _ => logging::init(cli.log_format)?,
    }
    let mut out = io::stdout().lock();
    let mut err = io::stderr();
    let outcome = match &cli.command {
        Command::Run(args) => serve::run(args.config.as_deref(), &SystemEnv, &mut err)?,
        Command::CheckConfig(args) => {
            check_config::check_config(args.config.as_deref(), &SystemEnv, &mut out)?
        }
        Command::Audit(AuditCommand::Verify { files }) => audit_log::verify(files, &mut out)?,
        Command::Audit(AuditCommand::Repair { file }) => audit_log::repair(file, &mut out)?,
        Command::Demo(args) => demo::run(args, &mut out)?,
        Command::RegisterCommands(args) => serve::register_commands(
            args.config.as_deref(),
            args.guild.as_deref(),
            &SystemEnv,
            &mut out,
            &mut err,
        )?,
        Command::Jumpcloud(command) => parity::jumpcloud(command, &mut out, &mut err)?,
        Command::IdentityManager(command) => parity::identity_manager(command, &mut out, &mut err)?,
    };
    out.flush()?;
    Ok(outcome)
}
