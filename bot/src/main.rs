//! `passdesk`: the Passdesk binary.

use clap::{Parser, Subcommand};

/// Passdesk: password operations for a helpdesk, from Discord or Slack, safely.
#[derive(Debug, Parser)]
#[command(name = "passdesk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bot offline against embedded simulators (not available yet: issue 6).
    Demo,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => anyhow::bail!(
            "the offline demo is not built yet: it arrives with the binary-and-demo issue"
        ),
    }
}
