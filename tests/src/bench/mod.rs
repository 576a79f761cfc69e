//! The benchmark harness behind `cargo run --release -p passdesk-tests --bin bench -- all`.
//!
//! Each scenario module runs against the simulators on 127.0.0.1 (and, where the issue asks for
//! a process, the real `passdesk` binary) and returns a [`Section`]: rows of the Markdown table
//! and the SVG charts a reader would rather look at. [`Size::Smoke`] runs each scenario once, at
//! a size small enough for CI, so the harness cannot rot; the figures it prints then mean
//! nothing and its verdicts are shown as `smoke`.
//!
//! Rules every scenario keeps:
//! - timings are medians of at least three repetitions (except in smoke size);
//! - every comparison is a ratio of two figures measured in the same run;
//! - load at a fixed rate is open-loop: latency counts from each request's intended send time;
//! - no scenario runs longer than 60 s in full size.

pub mod bulk;
pub mod load;
pub mod machine;
pub mod memory;
pub mod micro;
pub mod report;
pub mod startup;

use std::path::{Path, PathBuf};

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The sizes and durations the issue sets; verdicts against the targets.
    Full,
    /// Each scenario once, tiny, for CI: proves the harness works, not the figures.
    Smoke,
}

impl Size {
    /// Repetitions whose median is reported: 3 in full size, 1 in smoke size.
    pub fn repetitions(self) -> usize {
        match self {
            Size::Full => 3,
            Size::Smoke => 1,
        }
    }
}

/// What every scenario gets.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Full or smoke.
    pub size: Size,
    /// The `passdesk` binary to start as a process (see [`passdesk_binary`]).
    pub passdesk: PathBuf,
    /// A scratch directory for configs, audit logs and the like.
    pub scratch: PathBuf,
}

/// Whether a row met its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Met the target.
    Pass,
    /// Missed the target.
    Fail,
    /// A figure with no target of its own (a baseline, a saturation point).
    Info,
    /// Smoke size: the figure proves the harness ran, nothing more.
    Smoke,
}

impl Verdict {
    /// `pass` when `ok`, else `fail` (in smoke size always `smoke`).
    pub fn check(size: Size, ok: bool) -> Self {
        match (size, ok) {
            (Size::Smoke, _) => Verdict::Smoke,
            (Size::Full, true) => Verdict::Pass,
            (Size::Full, false) => Verdict::Fail,
        }
    }

    /// The word shown in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Info => "—",
            Verdict::Smoke => "smoke",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The scenario, e.g. `bulk reset`.
    pub scenario: String,
    /// Its parameters, e.g. `R=100/s, 2,000 users, 50 ms latency`.
    pub params: String,
    /// The measured figure, with its unit.
    pub result: String,
    /// The target, e.g. `≥ 95 /s`; empty when there is none.
    pub target: String,
    /// Whether the result meets the target.
    pub verdict: Verdict,
}

impl Row {
    /// A row.
    pub fn new(
        scenario: impl Into<String>,
        params: impl Into<String>,
        result: impl Into<String>,
        target: impl Into<String>,
        verdict: Verdict,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            params: params.into(),
            result: result.into(),
            target: target.into(),
            verdict,
        }
    }
}

/// An SVG chart: its file name (e.g. `ack-latency.svg`), a caption, and the document.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The file name, without directory.
    pub file: String,
    /// One line saying what it shows.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// What a scenario returns.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Rows of the table.
    pub rows: Vec<Row>,
    /// Charts, if the scenario draws any.
    pub charts: Vec<Chart>,
    /// Notes printed under the table (what bounds a figure, what a target means).
    pub notes: Vec<String>,
}

/// Why a scenario could not run (not a missed target: that is a [`Verdict::Fail`] row).
#[derive(Debug, thiserror::Error)]
#[error("{scenario}: {message}")]
pub struct BenchError {
    /// The scenario.
    pub scenario: &'static str,
    /// What went wrong.
    pub message: String,
}

impl BenchError {
    /// An error of `scenario`.
    pub fn new(scenario: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            scenario,
            message: message.to_string(),
        }
    }
}

/// The `passdesk` binary: `$PASSDESK_BIN` if set, else the one beside the running executable
/// (a bench binary in `target/release/` finds `target/release/passdesk`; a test in
/// `target/debug/deps/` finds `target/debug/passdesk`, which `cargo test --workspace` builds).
///
/// # Errors
///
/// None found: the message says how to build it.
pub fn passdesk_binary() -> Result<PathBuf, BenchError> {
    if let Some(path) = std::env::var_os("PASSDESK_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(BenchError::new(
                "setup",
                format!("PASSDESK_BIN={} is not a file", path.display()),
            ))
        };
    }
    let exe = std::env::current_exe().map_err(|e| BenchError::new("setup", e))?;
    let mut dir: Option<&Path> = exe.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let candidate = d.join(format!("passdesk{}", std::env::consts::EXE_SUFFIX));
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(BenchError::new(
        "setup",
        format!(
            "no passdesk binary beside {}: build it first (`cargo build --release -p \
             passdesk-bot` for the benchmark, or run the whole workspace's tests), or set \
             PASSDESK_BIN",
            exe.display()
        ),
    ))
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        f64::midpoint(sorted[mid - 1], sorted[mid])
    })
}

/// Formats a count with thousands separators: `2000` → `2,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The number right after `label` in a result text (thousands separators dropped), e.g. `12.5`
/// after `(` in `12.5 targets/s (25.0 req/s …`: what the smoke tests read back from rows.
///
/// # Panics
///
/// When `label` or a number after it is missing: a smoke test then fails with both texts.
pub fn number_after(text: &str, label: &str) -> f64 {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {text:?}"))
        + label.len();
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number after {label:?} in {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_separators() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(thousands(2000), "2,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
    }
}
