//! How a subcommand ended, and the exit code each ending maps to.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(ExitCode::from(Outcome::Success), ExitCode::SUCCESS);
        assert_eq!(ExitCode::from(Outcome::Problem), ExitCode::from(1));
        assert_eq!(ExitCode::from(Outcome::Unavailable), ExitCode::from(2));
    }
}
