//! How a subcommand ended, and the exit code each ending maps to.

use std::io::{self, Write};
use std::process::ExitCode;

/// How a subcommand ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked and found nothing wrong: exit 0.
    Success,
    /// It ran and found a problem (an invalid configuration, a broken audit chain): exit 1.
    Problem,
    /// This build cannot do what was asked yet, or the request was not usable: exit 2, as for a
    /// command-line usage error.
    Unavailable,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Problem => ExitCode::from(1),
            Outcome::Unavailable => ExitCode::from(2),
        }
    }
}

/// Says on `err` that `passdesk <command>` is not available yet in this build and what brings
/// it, and ends with [`Outcome::Unavailable`]: a command that cannot act must not pretend to.
pub fn not_available(
    err: &mut dyn Write,
    command: &str,
    arrives_with: &str,
) -> io::Result<Outcome> {
    writeln!(
        err,
        "error: `passdesk {command}` is not available yet in this build: it arrives with {arrives_with}"
    )?;
    Ok(Outcome::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_available_names_the_command_and_exits_2() {
        let mut err = Vec::new();
        let outcome = not_available(&mut err, "demo", "the demo console").unwrap();
        assert_eq!(outcome, Outcome::Unavailable);
        assert_eq!(ExitCode::from(outcome), ExitCode::from(2));
        let text = String::from_utf8(err).unwrap();
        assert!(
            text.contains("`passdesk demo` is not available yet"),
            "{text}"
        );
        assert!(text.contains("the demo console"), "{text}");
    }
}
