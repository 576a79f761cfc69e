//! Running a command-line parity command through the command engine, the way a chat request
//! goes: the same parsing, policy, plan, confirmation, audit and execution.
//!
//! ```text
//! invoke ─► denied / failed ─────────────────────────────► stderr, exit 1
//!        ├► --what-if: the plan ──────────────────────────► stdout, exit 0
//!        ├► nothing to do: the skipped targets ───────────► stdout + stderr, exit 1
//!        └► [Confirm] ─► needs an approval? ─► Cancel ────► stderr, exit 1
//!                      ─► --yes, or y on a terminal (else Cancel, exit 1)
//!                      ─► press Confirm ─► (notify: [Enter password] ─► prompt ─► submit)
//!                      ─► the report: the cmdlet's rows ─► stdout, exit 0 when every target
//!                         was done or deliberately skipped, else 1
//! ```
//!
//! The actor is a command-line user ([`Platform::Cli`]): `--as NAME`, or [`DEFAULT_CLI_USER`],
//! matched against the configuration's `cli_users`; no roles, no channel. `--org-id` is the
//! invocation's tenant, which the engine turns into the JumpCloud organisation (`x-org-id`).
//! The command line cannot obtain a second person's approval: a request the policy sends to an
//! approver is cancelled (on the record) and refused.
//!
//! The notification password (`--password-stdin`, `--password`, or asked with echo off on a
//! terminal) is checked before anything is confirmed and handed to the engine's password
//! submit; it is never printed, logged or kept.

mod console;
pub mod output;

use std::io::{self, Write};
use std::sync::Arc;

use passdesk_commands::audit::Auditor;
use passdesk_commands::engine::TargetReport;
use passdesk_commands::ids::{ButtonAction, ButtonId, PendingId};
use passdesk_commands::{Actor, Engine, Invocation, Platform, Press, Reply, Request};
use passdesk_config::{CliUser, SystemEnv};
use passdesk_core::jumpcloud::OrgId;
use passdesk_core::mail::Password;
use secrecy::SecretString;

pub use console::{Console, Terminal};
pub use output::Shape;

use crate::check_config;
use crate::cli::{CommonArgs, OutputFormat};
use crate::demo::environment::{DemoOptions, DemoSession, start_demo_with};
use crate::outcome::Outcome;
use crate::parity::EngineCall;

/// The command-line user the parity commands act as without `--as` (the demo policy lists it
/// in `cli_users`; a real configuration names it, or its users pass `--as`).
pub const DEFAULT_CLI_USER: &str = "cli";

/// How many times a terminal is asked for a password the mail would refuse.
const PASSWORD_ATTEMPTS: usize = 3;

/// How the notification password is given.
#[derive(Debug)]
pub enum PasswordSource {
    /// Not a notification (or a dry run): no password.
    NotNeeded,
    /// `--password VALUE` (already warned about).
    Argument(SecretString),
    /// `--password-stdin`: the first line of standard input (asked with echo off on a
    /// terminal).
    Stdin,
    /// Neither flag: asked with echo off on a terminal, refused otherwise.
    Prompt,
}

/// One parity command, checked and ready to run.
#[derive(Debug)]
pub struct ParityRun<'a> {
    /// The engine call it stands for.
    pub call: &'a EngineCall,
    /// The request the call parses into (for its dry-run flag).
    pub request: Request,
    /// The flags every parity command takes.
    pub common: &'a CommonArgs,
    /// Which vendor output to mirror.
    pub shape: Shape,
    /// Where the notification password comes from.
    pub password: PasswordSource,
}

/// Runs `run` on its own Tokio runtime: checks `--as`, `--org-id` and the password source,
/// starts the engine (`--demo`: on fresh simulators; otherwise from the configuration), drives
/// the request, prints the result on `out` and every diagnostic on `err`.
///
/// # Errors
///
/// The runtime, the demo, the audit log or the engine could not start, or writing failed.
pub fn run(
    run: ParityRun<'_>,
    console: &mut dyn Console,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let common = run.common;
    let user = common.as_user.as_deref().unwrap_or(DEFAULT_CLI_USER);
    if let Err(problem) = user.parse::<CliUser>() {
        writeln!(err, "error: --as: {problem}")?;
        return Ok(Outcome::Unavailable);
    }
    if let Some(org) = &run.call.org_id {
        if let Err(problem) = org.parse::<OrgId>() {
            writeln!(err, "error: --org-id: {problem}")?;
            return Ok(Outcome::Unavailable);
        }
    }
    // A password that cannot come is a usage error, found before anything is asked for.
    let mut password = match (&run.password, run.request.dry_run()) {
        (PasswordSource::NotNeeded, _) | (_, true) => Secret::NotNeeded,
        (PasswordSource::Argument(secret), false) => Secret::Have(secret.clone()),
        (PasswordSource::Stdin | PasswordSource::Prompt, false) if console.interactive() => {
            Secret::Ask
        }
        (PasswordSource::Stdin, false) => match console.read_password_line()? {
            Some(secret) => Secret::Have(secret),
            None => {
                writeln!(
                    err,
                    "error: --password-stdin: standard input is empty; write the password on \
                     its first line"
                )?;
                return Ok(Outcome::Unavailable);
            }
        },
        (PasswordSource::Prompt, false) => {
            writeln!(
                err,
                "error: the password to mail is needed: write it on standard input with \
                 --password-stdin (standard input is not a terminal, so it cannot be asked for)"
            )?;
            return Ok(Outcome::Unavailable);
        }
    };
    if let Secret::Have(secret) = &password {
        if let Err(problem) = Password::new(secret.clone()) {
            writeln!(err, "error: the password cannot be mailed: {problem}")?;
            return Ok(Outcome::Unavailable);
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("passdesk-cli")
        .enable_all()
        .build()?;
    let actor = Actor {
        platform: Platform::Cli,
        id: user.to_owned(),
        display_name: user.to_owned(),
        roles: Vec::new(),
    };
    runtime.block_on(async {
        let backend = match Backend::start(common, err).await? {
            Ok(backend) => backend,
            Err(outcome) => return Ok(outcome),
        };
        let driver = Driver {
            engine: backend.engine(),
            actor,
            tenant: run.call.org_id.clone(),
            call: run.call,
            shape: run.shape,
            format: common.output,
            yes: common.yes,
            steps: 0,
        };
        let outcome = driver.drive(console, &mut password, out, err).await;
        if common.print_sent {
            if let Backend::Demo(session) = &backend {
                writeln!(err, "--- what the demo simulators recorded ---")?;
                writeln!(err, "{}", session.environment.sent())?;
            }
        }
        backend.shutdown().await;
        Ok(outcome?)
    })
}

/// The password as far as it is known.
enum Secret {
    /// None is needed.
    NotNeeded,
    /// Given (and checked).
    Have(SecretString),
    /// To be asked for on the terminal once confirmed.
    Ask,
}

/// Where the engine runs: the demo's simulators, or the services of a configuration.
enum Backend {
    Demo(Box<DemoSession>),
    Configured(Engine),
}

impl Backend {
    /// Starts the engine. A missing configuration (a usage error) or an invalid one is said on
    /// `err` and answered with the outcome to end with.
    async fn start(
        common: &CommonArgs,
        err: &mut dyn Write,
    ) -> anyhow::Result<Result<Self, Outcome>> {
        if common.demo {
            let session = start_demo_with(DemoOptions {
                config: common.config.clone(),
                audit_log: common.audit_log.clone(),
                ..DemoOptions::default()
            })
            .await?;
            writeln!(
                err,
                "demo: acting on in-process simulators with {}; nothing leaves this machine; audit \
                 log: {}",
                session.policy,
                session.audit_log.display()
            )?;
            return Ok(Ok(Backend::Demo(Box::new(session))));
        }
        let (path, config) = match check_config::load(common.config.as_deref(), &SystemEnv) {
            Ok(loaded) => loaded,
            Err((path, errors)) => {
                let outcome = match &path {
                    None => {
                        writeln!(
                            err,
                            "error: no configuration: give --config FILE or set PASSDESK_CONFIG, \
                             or try the command on simulators with --demo"
                        )?;
                        Outcome::Unavailable
                    }
                    Some(_) => {
                        writeln!(err, "error: the configuration is not valid")?;
                        Outcome::Problem
                    }
                };
                check_config::write_problems(err, path.as_deref(), &errors)?;
                return Ok(Err(outcome));
            }
        };
        tracing::debug!(config = %path.display(), "configuration loaded");
        let auditor = Auditor::builder(&config.audit.path)
            .open()
            .await
            .map_err(|e| anyhow::Error::new(e).context("the audit log cannot be used"))?;
        let engine = Engine::from_config(Arc::new(config), auditor)?;
        Ok(Ok(Backend::Configured(engine)))
    }

    fn engine(&self) -> Engine {
        match self {
            Backend::Demo(session) => session.engine.clone(),
            Backend::Configured(engine) => engine.clone(),
        }
    }

    /// Stops the engine (a request still waiting expires, on the record), then the demo.
    async fn shutdown(self) {
        match self {
            Backend::Demo(session) => (*session).shutdown().await,
            Backend::Configured(engine) => engine.shutdown().await,
        }
    }
}

/// One request's journey through the engine.
struct Driver<'a> {
    engine: Engine,
    actor: Actor,
    tenant: Option<String>,
    call: &'a EngineCall,
    shape: Shape,
    format: OutputFormat,
    yes: bool,
    /// Interactions so far, for their ids.
    steps: u32,
}

impl Driver<'_> {
    fn interaction_id(&mut self) -> String {
        self.steps += 1;
        format!("cli-{}-{}", std::process::id(), self.steps)
    }

    fn press(&mut self, action: ButtonAction, pending: PendingId) -> Press {
        Press {
            actor: self.actor.clone(),
            channel: None,
            tenant: self.tenant.clone(),
            interaction_id: self.interaction_id(),
            button: ButtonId { action, pending },
        }
    }

    /// Cancels a request that is still waiting (audited `cancelled`), so nothing is left
    /// pending.
    async fn withdraw(&mut self, pending: PendingId) {
        let waiting = self
            .engine
            .pending(pending)
            .is_ok_and(|view| view.state.waiting_stage().is_some());
        if waiting {
            let press = self.press(ButtonAction::Cancel, pending);
            let _ = self.engine.press(press).await;
        }
    }

    async fn drive(
        mut self,
        console: &mut dyn Console,
        password: &mut Secret,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<Outcome> {
        let invocation = Invocation {
            actor: self.actor.clone(),
            channel: None,
            tenant: self.tenant.clone(),
            interaction_id: self.interaction_id(),
            command: self.call.command.to_owned(),
            options: self.call.options.clone(),
        };
        let response = self.engine.invoke(invocation).await;
        let Some(plan) = &response.plan else {
            write_refusal(err, &response.reply)?;
            return Ok(Outcome::Problem);
        };
        if plan.request.dry_run() {
            output::write_plan(
                "What if",
                self.shape,
                plan,
                &response.reply.fields,
                self.format,
                out,
            )?;
            return Ok(Outcome::Success);
        }
        let Some(confirm) = button(&response.reply, ButtonAction::Confirm) else {
            // Nothing can be acted on: show each target and why.
            let rows = output::result_rows(
                self.shape,
                plan.targets
                    .iter()
                    .filter_map(|t| output::Status::of_planned(t).map(|s| (t, None, s))),
            );
            // An expiry prints only its `True`; the reason is on stderr.
            if self.shape != Shape::Expire {
                rows.write(self.format, out)?;
            }
            let reasons: Vec<String> = plan
                .targets
                .iter()
                .map(|t| format!("{}: {}", t.label, t.action.describe()))
                .collect();
            writeln!(
                err,
                "error: nothing to do, no target can be acted on ({}); nothing was done",
                reasons.join("; ")
            )?;
            return Ok(Outcome::Problem);
        };
        let pending = confirm.pending;
        let needs_approval = match self.engine.pending(pending) {
            Ok(view) => view.needs_approval,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(Outcome::Problem);
            }
        };
        if needs_approval {
            self.withdraw(pending).await;
            writeln!(
                err,
                "error: {}: the policy for `{}` asks for an approver's approval here, which the \
                 command line cannot obtain; ask for it in chat, where an approver can approve \
                 it. Nothing was done (request {} cancelled).",
                plan.summary(),
                self.call.command,
                pending.request_id()
            )?;
            return Ok(Outcome::Problem);
        }

        if !self.yes {
            if !console.interactive() {
                self.withdraw(pending).await;
                writeln!(
                    err,
                    "error: not confirmed: standard input is not a terminal, so nobody can answer \
                     the confirmation; add --yes to confirm (or --what-if to see the plan). \
                     Nothing was done."
                )?;
                return Ok(Outcome::Problem);
            }
            output::write_plan(
                "About to",
                self.shape,
                plan,
                &response.reply.fields,
                OutputFormat::Table,
                err,
            )?;
            if !console.confirm("Go ahead?")? {
                self.withdraw(pending).await;
                writeln!(err, "cancelled: nothing was done")?;
                return Ok(Outcome::Problem);
            }
        }
        if let Secret::Ask = password {
            match ask_password(console, err)? {
                Some(secret) => *password = Secret::Have(secret),
                None => {
                    self.withdraw(pending).await;
                    writeln!(err, "error: no usable password was given; nothing was done")?;
                    return Ok(Outcome::Problem);
                }
            }
        }

        let press = self.press(ButtonAction::Confirm, pending);
        let mut response = self.engine.press(press).await;
        // Confirm, then for a notification the password button, its prompt and the submit.
        for _ in 0..4 {
            if let Some(report) = &response.report {
                return self.write_report(report, &response.reply, out, err);
            }
            if let Some(prompt) = response.open_password_prompt {
                let Secret::Have(secret) = std::mem::replace(password, Secret::NotNeeded) else {
                    break;
                };
                let press = self.press(ButtonAction::EnterPassword, prompt);
                response = self.engine.submit_password(press, secret).await;
                continue;
            }
            match button(&response.reply, ButtonAction::EnterPassword) {
                Some(enter) if matches!(password, Secret::Have(_)) => {
                    let press = self.press(ButtonAction::EnterPassword, enter.pending);
                    response = self.engine.press(press).await;
                }
                _ => break,
            }
        }
        // Refused, failed, or a step the command line cannot take: say why, leave nothing
        // waiting.
        self.withdraw(pending).await;
        write_refusal(err, &response.reply)?;
        Ok(Outcome::Problem)
    }

    /// The cmdlet's output for a finished run, and its exit code.
    fn write_report(
        &self,
        report: &[TargetReport],
        reply: &Reply,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<Outcome> {
        let (rows, ok) = output::report_rows(self.shape, report);
        match (self.shape, ok) {
            (Shape::Expire, true) => output::write_passthru(self.format, out)?,
            // An expiry prints only its `True`; what went wrong goes to stderr.
            (Shape::Expire, false) => {
                for r in report {
                    writeln!(err, "error: {}: {}", r.target.label, r.outcome)?;
                }
            }
            _ => rows.write(self.format, out)?,
        }
        if ok {
            return Ok(Outcome::Success);
        }
        let request = reply
            .request_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string());
        writeln!(err, "error: {} (request {request})", reply.title)?;
        Ok(Outcome::Problem)
    }
}

/// The button `action` of a reply, if it has one.
fn button(reply: &Reply, action: ButtonAction) -> Option<ButtonId> {
    reply
        .buttons
        .iter()
        .map(|b| b.id)
        .find(|id| id.action == action)
}

/// Asks the terminal for the password until the mail would take it (a few attempts).
fn ask_password(
    console: &mut dyn Console,
    err: &mut dyn Write,
) -> io::Result<Option<SecretString>> {
    for _ in 0..PASSWORD_ATTEMPTS {
        let secret = console.ask_password("Password to mail (not shown): ")?;
        match Password::new(secret.clone()) {
            Ok(_) => return Ok(Some(secret)),
            Err(problem) => writeln!(err, "the password cannot be mailed: {problem}")?,
        }
    }
    Ok(None)
}

/// A reply that ends the command, on stderr: `error: <title>: <body> (request <id>)`.
fn write_refusal(err: &mut dyn Write, reply: &Reply) -> io::Result<()> {
    let body: Vec<&str> = reply
        .body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut line = format!("error: {}", reply.title);
    if !body.is_empty() {
        line.push_str(": ");
        line.push_str(&body.join(" "));
    }
    if let Some(id) = reply.request_id {
        line.push_str(&format!(" (request {id})"));
    }
    writeln!(err, "{line}")
}

#[cfg(test)]
mod tests;
