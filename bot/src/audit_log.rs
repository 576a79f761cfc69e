//! `passdesk audit verify` and `passdesk audit repair`: check audit logs' hash chains, and set
//! aside a last line torn by a crash.
//!
//! Both print their report on stdout, one line per finding, each starting with the log's path.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use passdesk_commands::audit::{self, Problem, QuarantineError, VerifyError};

use crate::outcome::Outcome;

/// Runs `audit verify`: checks each log in turn and reports `<path>: ok, N events (last hash
/// …)` or its first bad line and what is wrong with it. [`Outcome::Problem`] when any log fails.
pub fn verify(files: &[PathBuf], out: &mut dyn Write) -> io::Result<Outcome> {
    let mut good = 0usize;
    for path in files {
        match audit::verify(path) {
            Ok(report) => {
                good += 1;
                writeln!(out, "{}: {report}", path.display())?;
            }
            Err(error) => write_failure(out, path, &error)?,
        }
    }
    if files.len() > 1 {
        writeln!(out, "{good} of {} audit logs verified", files.len())?;
    }
    Ok(if good == files.len() {
        Outcome::Success
    } else {
        Outcome::Problem
    })
}

/// Runs `audit repair`: moves a torn last line aside (see
/// [`passdesk_commands::audit::quarantine_torn_tail`]), then verifies the log again.
pub fn repair(path: &Path, out: &mut dyn Write) -> io::Result<Outcome> {
    let shown = path.display();
    match audit::quarantine_torn_tail(path) {
        Ok(quarantined) => {
            tracing::info!(
                log = %shown,
                moved_to = %quarantined.moved_to.display(),
                bytes = quarantined.bytes,
                "moved a torn audit line aside"
            );
            writeln!(
                out,
                "{shown}: moved the incomplete last line ({} bytes, never acknowledged) to {}",
                quarantined.bytes,
                quarantined.moved_to.display()
            )?;
            verify(&[path.to_owned()], out)
        }
        Err(QuarantineError::NothingToRepair { .. }) => {
            writeln!(
                out,
                "{shown}: nothing to repair: the log ends with a complete line"
            )?;
            verify(&[path.to_owned()], out)
        }
        Err(QuarantineError::Corrupt(error)) => {
            writeln!(
                out,
                "{shown}: refusing to repair: the chain is broken before its last line"
            )?;
            write_failure(out, path, &error)?;
            Ok(Outcome::Problem)
        }
        Err(error) => {
            writeln!(out, "{shown}: {error}")?;
            Ok(Outcome::Problem)
        }
    }
}

/// The first bad line of a log and what to do about it.
fn write_failure(out: &mut dyn Write, path: &Path, error: &VerifyError) -> io::Result<()> {
    let shown = path.display();
    if let VerifyError::Io { source, .. } = error {
        return writeln!(out, "{shown}: cannot read: {source}");
    }
    match error.corruption() {
        Some((line, Problem::TruncatedLastLine)) => {
            writeln!(out, "{shown}: line {line}: {}", Problem::TruncatedLastLine)?;
            writeln!(
                out,
                "{shown}: with the bot stopped, run `passdesk audit repair {shown}` to move the \
                 incomplete line aside"
            )
        }
        Some((line, problem)) => {
            writeln!(out, "{shown}: line {line}: {problem}")?;
            writeln!(
                out,
                "{shown}: keep this file as evidence and compare it with the audit channel and \
                 any off-host copy"
            )
        }
        None => writeln!(out, "{shown}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_log_fails_with_a_reason_and_the_others_are_still_checked() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.jsonl");
        std::fs::write(&empty, b"").unwrap();
        let missing = dir.path().join("missing.jsonl");
        let mut out = Vec::new();
        let outcome = verify(&[missing.clone(), empty.clone()], &mut out).unwrap();
        assert_eq!(outcome, Outcome::Problem);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(&format!("{}: cannot read", missing.display())),
            "{text}"
        );
        assert!(
            lines[1].starts_with(&format!("{}: ok, 0 events", empty.display())),
            "{text}"
        );
        assert_eq!(lines[2], "1 of 2 audit logs verified");
    }
}
