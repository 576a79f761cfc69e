//! The open-loop load generator: request `i` of a step is due at `t0 + i / rate`, whatever
//! happened to the ones before it (as wrk2 and oha do). A dispatcher sleeps until each due
//! time and spawns the request; its latency counts from the due time, not from when it was
//! actually sent, so a stall in the server (or in the generator) shows in the figures instead
//! of silently lowering the offered rate (coordinated omission).
//!
//! Seven requests in ten are slash commands, built and signed before the step (the signatures
//! are at most a step old, well inside the platforms' 5-minute window); three in ten are
//! presses taken from the driver's pool, built when their confirmation arrived. When the pool
//! is empty at a press's due time a command goes instead (counted as a short press). Signing
//! is thereby never on the measured path.
//!
//! At most [`MAX_IN_FLIGHT`] requests are in flight; a request due while all are busy waits
//! (its latency still counts from its due time). A request not answered within 3 s of its due
//! time is an error, and so is one the generator could not even send within 1 s of the step's
//! end (the machine saturated).

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::rig::{self, Driver, Prepared};
use crate::bench::BenchError;

/// How long a request may take: the platforms' acknowledgement window.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Sub-windows per step whose p99s are reported as a median.
pub(crate) const WINDOWS: usize = 3;
/// The most requests in flight (so connections) at once, as a load tool's fixed connection
/// count: a request due while all are busy waits for one, and that wait counts in its latency
/// and its 3 s window. It keeps the harness within its file descriptors when the server
/// saturates.
const MAX_IN_FLIGHT: usize = 4096;
/// How far behind its schedule the generator may fall before it stops sending the step's
/// remaining requests (they count as errors).
const BEHIND_AT_MOST: Duration = Duration::from_secs(1);
/// Histogram bounds: 1 µs to 60 s, 3 significant figures.
const HIST_MAX_US: u64 = 60_000_000;

/// Whether request `i` is a button press: 3 in 10, spread out.
pub(crate) fn is_press(i: usize) -> bool {
    matches!(i % 10, 1 | 4 | 7)
}

/// How many commands to build for a step of `n` requests: its own seven in ten, and spares
/// for one press in three the pool might not have (past that, a command is built when due).
pub(crate) fn commands_for(n: usize) -> usize {
    n * 7 / 10 + n / 10 + 1
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A 2xx.
    Ok,
    /// Another status.
    Status,
    /// No answer (refused, reset, timed out).
    Transport,
    /// Not sent: the generator was too far behind.
    NotSent,
}

/// One request's record.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Which request of the step.
    index: usize,
    /// Its due time, from the step's start.
    due: Duration,
    /// From its due time to its last response byte (or the error).
    latency: Duration,
    outcome: Outcome,
}

/// What a step measured.
#[derive(Debug, Clone)]
pub(crate) struct StepStats {
    /// Requests per second offered.
    pub offered: f64,
    /// The step's length.
    pub duration: Duration,
    /// Requests due in the step (sent or not).
    pub sent: u64,
    /// Non-2xx answers, transport errors (timeouts included) and requests not sent.
    pub errors: u64,
    /// Requests not sent because the generator fell more than 1 s behind.
    pub not_sent: u64,
    /// Presses sent.
    pub presses: u64,
    /// Presses due while the pool was empty (a command went instead).
    pub presses_short: u64,
    /// 2xx answers per second, over the step or until the last answer if later.
    pub achieved: f64,
    /// Latency percentiles over the whole step, µs: p50, p99, p99.9, max.
    pub p50_us: u64,
    /// p99, µs.
    pub p99_us: u64,
    /// p99.9, µs.
    pub p999_us: u64,
    /// Max, µs.
    pub max_us: u64,
    /// p99 of each of [`WINDOWS`] equal sub-windows (by due time), µs.
    pub window_p99_us: Vec<u64>,
    /// Cores `passdesk run` used over the step (CPU time / wall time), when known.
    pub server_cores: Option<f64>,
    /// Cores this process (generator, fakes, simulator) used over the step, when known.
    pub harness_cores: Option<f64>,
    /// Cores every other process on the machine used over the step, when known.
    pub other_cores: Option<f64>,
}

impl StepStats {
    /// The median of the sub-windows' p99s, µs.
    pub(crate) fn window_p99_median_us(&self) -> u64 {
        let values: Vec<f64> = self.window_p99_us.iter().map(|v| *v as f64).collect();
        crate::bench::median(&values).map_or(0, |m| m.round() as u64)
    }
}

fn histogram(scenario: &'static str) -> Result<Histogram<u64>, BenchError> {
    Histogram::<u64>::new_with_bounds(1, HIST_MAX_US, 3)
        .map_err(|e| BenchError::new(scenario, format!("histogram: {e}")))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Runs one open-loop step at `rate` requests per second for `duration`, with `commands`
/// built beforehand (see [`commands_for`]).
///
/// # Errors
///
/// A histogram could not be made.
pub(crate) async fn run_step(
    scenario: &'static str,
    client: &reqwest::Client,
    driver: &Arc<Driver>,
    rate: f64,
    duration: Duration,
    commands: Vec<Prepared>,
) -> Result<StepStats, BenchError> {
    let n = (rate * duration.as_secs_f64()).round() as usize;
    let mut commands = commands.into_iter();
    let (tx, mut rx) = mpsc::unbounded_channel::<Sample>();
    let mut presses = 0_u64;
    let mut presses_short = 0_u64;
    let t0 = Instant::now() + Duration::from_millis(20);
    let give_up = t0 + duration + BEHIND_AT_MOST;
    let connections = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut not_sent = Vec::new();
    for i in 0..n {
        let due = t0 + Duration::from_secs_f64(i as f64 / rate);
        let now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due).await;
        } else if now > give_up {
            // The generator fell too far behind (the machine is saturated): what is left of
            // the step is not sent, and counts as errors with the wait it had so far.
            not_sent.extend((i..n).map(|j| {
                let due = t0 + Duration::from_secs_f64(j as f64 / rate);
                Sample {
                    index: j,
                    due: due.saturating_duration_since(t0),
                    latency: now.saturating_duration_since(due),
                    outcome: Outcome::NotSent,
                }
            }));
            break;
        }
        let prepared = if is_press(i) {
            match driver.take_press() {
                Some(press) => {
                    presses += 1;
                    Some(press)
                }
                None => {
                    presses_short += 1;
                    commands.next()
                }
            }
        } else {
            commands.next()
        };
        let client = client.clone();
        let driver = Arc::clone(driver);
        let connections = Arc::clone(&connections);
        let tx = tx.clone();
        tokio::spawn(async move {
            fire(&client, &driver, &connections, (i, due), t0, prepared, &tx).await;
        });
    }
    drop(tx);
    let mut samples = Vec::with_capacity(n);
    let unsent = not_sent.len() as u64;
    samples.append(&mut not_sent);
    // Every request sent has an answer or an error within its timeout; one that has neither
    // by then (its task not even run, the machine saturated) counts as unanswered.
    let cutoff = Instant::now() + REQUEST_TIMEOUT + Duration::from_millis(500);
    let mut seen = vec![false; n];
    for sample in &samples {
        if let Some(seen) = seen.get_mut(sample.index) {
            *seen = true;
        }
    }
    let _ = tokio::time::timeout_at(cutoff, async {
        while let Some(sample) = rx.recv().await {
            if let Some(seen) = seen.get_mut(sample.index) {
                *seen = true;
            }
            samples.push(sample);
        }
    })
    .await;
    let unanswered_at = Instant::now();
    for (index, _) in seen.iter().enumerate().filter(|(_, seen)| !**seen) {
        let due = t0 + Duration::from_secs_f64(index as f64 / rate);
        samples.push(Sample {
            index,
            due: due.saturating_duration_since(t0),
            latency: unanswered_at.saturating_duration_since(due),
            outcome: Outcome::Transport,
        });
    }
    let mut all = histogram(scenario)?;
    let mut windows = (0..WINDOWS)
        .map(|_| histogram(scenario))
        .collect::<Result<Vec<_>, _>>()?;
    let window = duration.as_secs_f64() / WINDOWS as f64;
    let mut ok = 0_u64;
    let mut last = Duration::ZERO;
    for sample in &samples {
        let us = micros(sample.latency);
        all.saturating_record(us);
        let w = ((sample.due.as_secs_f64() / window) as usize).min(WINDOWS - 1);
        if let Some(h) = windows.get_mut(w) {
            h.saturating_record(us);
        }
        if sample.outcome == Outcome::Ok {
            ok += 1;
        }
        last = last.max(sample.due + sample.latency);
    }
    let sent = samples.len() as u64;
    let span = duration.max(last).as_secs_f64();
    Ok(StepStats {
        offered: rate,
        duration,
        sent,
        errors: sent - ok,
        not_sent: unsent,
        presses,
        presses_short,
        achieved: if span > 0.0 { ok as f64 / span } else { 0.0 },
        p50_us: all.value_at_quantile(0.50),
        p99_us: all.value_at_quantile(0.99),
        p999_us: all.value_at_quantile(0.999),
        max_us: all.max(),
        window_p99_us: windows.iter().map(|h| h.value_at_quantile(0.99)).collect(),
        server_cores: None,
        harness_cores: None,
        other_cores: None,
    })
}

/// Sends one request (building a command now if none was given), reports its sample, then
/// settles its answer (off the measured path).
async fn fire(
    client: &reqwest::Client,
    driver: &Driver,
    connections: &Semaphore,
    (index, due): (usize, Instant),
    t0: Instant,
    prepared: Option<Prepared>,
    samples: &mpsc::UnboundedSender<Sample>,
) {
    let record = |outcome| Sample {
        index,
        due: due.saturating_duration_since(t0),
        latency: Instant::now().saturating_duration_since(due),
        outcome,
    };
    let prepared = match prepared {
        Some(prepared) => Ok(prepared),
        None => driver.command(),
    };
    let Ok(mut prepared) = prepared else {
        let _ = samples.send(record(Outcome::Transport));
        return;
    };
    // The platform's window counts from the due time, waiting for a connection included.
    let answered = tokio::time::timeout_at(due + REQUEST_TIMEOUT, async {
        let _connection = connections.acquire().await;
        rig::send(client, &mut prepared).await
    })
    .await;
    match answered {
        Ok(Ok((status, body))) if (200..300).contains(&status) => {
            let _ = samples.send(record(Outcome::Ok));
            rig::finish(driver, prepared, &body).await;
        }
        Ok(Ok(_)) => {
            let _ = samples.send(record(Outcome::Status));
        }
        Ok(Err(_)) | Err(_) => {
            let _ = samples.send(record(Outcome::Transport));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_requests_in_ten_are_presses() {
        let presses = (0..1000).filter(|i| is_press(*i)).count();
        assert_eq!(presses, 300);
        assert!(!is_press(0), "a step starts with a command");
    }
}
