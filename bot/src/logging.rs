//! Logging: `tracing` events to stderr (stdout carries the commands' output), filtered by
//! `RUST_LOG`, as human-readable lines or JSON.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// The filter when `RUST_LOG` is unset or empty: `info` for Passdesk's crates, `warn` for the
/// rest. Targets match by prefix, so `passdesk` covers the binary (`passdesk`) and every
/// library (`passdesk_core`, `passdesk_commands`, `passdesk_config`, `passdesk_sim`).
pub const DEFAULT_FILTER: &str = "warn,passdesk=info";

/// The environment variable holding the filter.
const FILTER_ENV_VAR: &str = "RUST_LOG";

/// Installs the global subscriber: `RUST_LOG` (or [`DEFAULT_FILTER`]), written to stderr in
/// `format`. An invalid `RUST_LOG` falls back to the default and says so in the log.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let (filter, rejected) = filter(std::env::var(FILTER_ENV_VAR).ok().as_deref());
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
            default = DEFAULT_FILTER,
            "ignoring {FILTER_ENV_VAR}, which is not a valid filter ({reason}); using the default"
        );
    }
    Ok(())
}

/// The filter for a `RUST_LOG` value, and why the value was rejected when it was.
fn filter(rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    let default = || EnvFilter::new(DEFAULT_FILTER);
    match rust_log.map(str::trim) {
        None | Some("") => (default(), None),
        Some(value) => match EnvFilter::try_new(value) {
            Ok(filter) => (filter, None),
            Err(e) => (default(), Some(e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_and_an_invalid_one_falls_back_to_the_default() {
        let (unset, rejected) = filter(None);
        assert_eq!(
            unset.to_string(),
            EnvFilter::new(DEFAULT_FILTER).to_string()
        );
        assert_eq!(rejected, None);

        let (empty, _) = filter(Some("  "));
        assert_eq!(empty.to_string(), unset.to_string());

        let (given, rejected) = filter(Some("passdesk_core=debug"));
        assert_eq!(given.to_string(), "passdesk_core=debug");
        assert_eq!(rejected, None);

        let (fallback, rejected) = filter(Some("passdesk=loud"));
        assert_eq!(fallback.to_string(), unset.to_string());
        assert!(rejected.is_some());
    }
}
