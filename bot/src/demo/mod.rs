//! `passdesk demo`: the offline demo. The JumpCloud and Identity Manager simulators run
//! in-process on 127.0.0.1 with seed data ([`environment`]), and a console chat speaks to them
//! through the same command engine as the Discord and Slack adapters.
//!
//! The console reads slash commands the way a chat user types them (`/reset user:jcuser.one`),
//! shows replies as text with their buttons as numbered choices (`[1] Confirm   [2] Cancel`),
//! presses a button when its number is typed (as the current identity, so the engine's rules
//! on who may press apply), shows approval requests "in #approvals", the bulk progress bar and
//! each audit line as it is written. `/as NAME` switches identity.
//!
//! On a terminal it prompts (`helpdesk> `) and asks the notification password with echo off;
//! otherwise it reads commands line by line (the line after a password prompt is the
//! password), prints no prompt, and stops at the end of input, so scripts and tests drive it.

pub mod environment;

mod console;
mod input;
mod render;

use std::io::{IsTerminal as _, Write};
use std::sync::Arc;

use tokio::sync::mpsc;
use tracing_subscriber::EnvFilter;

use crate::cli::{DemoArgs, LogFormat};
use crate::outcome::Outcome;

use environment::{DemoOptions, start_demo_with};

/// The log filter of the demo when `RUST_LOG` is unset: the console shares the terminal with
/// the logs, so only warnings and errors.
const LOG_FILTER: &str = "warn";

/// Installs the global log subscriber for the demo: as [`crate::logging::init`] (stderr,
/// `RUST_LOG`, pretty or JSON), with [`LOG_FILTER`] as the default.
pub fn init_logging(format: LogFormat) -> anyhow::Result<()> {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (filter, rejected) = match rust_log.as_deref().map(EnvFilter::try_new) {
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (EnvFilter::new(LOG_FILTER), Some(e.to_string())),
        None => (EnvFilter::new(LOG_FILTER), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    if let Some(reason) = rejected {
        tracing::warn!(
            default = LOG_FILTER,
            "ignoring RUST_LOG, which is not a valid filter ({reason}); using the default"
        );
    }
    Ok(())
}

/// Runs `passdesk demo` on its own Tokio runtime, writing the console to `out`.
///
/// # Errors
///
/// `--as` is not a login name, the demo could not start (see
/// [`environment::StartError`]), or reading stdin or writing `out` failed.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if let Some(name) = &args.as_identity {
        environment::check_identity(name)
            .map_err(|problem| anyhow::anyhow!("--as {name:?}: {problem}"))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("passdesk-demo")
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (lines, audit) = mpsc::unbounded_channel();
        let session = start_demo_with(DemoOptions {
            config: args.config.clone(),
            audit_log: args.audit_log.clone(),
            audit_channel: Some(Arc::new(console::AuditLines(lines))),
        })
        .await?;
        let identity = args
            .as_identity
            .clone()
            .unwrap_or_else(|| session.default_identity());
        let ran = console::run(&session, audit, identity, out).await;
        // The console has shut the engine down already; this is idempotent, and also stops
        // the simulators.
        session.shutdown().await;
        ran.map(|()| Outcome::Success)
    })
}
