//! Scenario (1): a bulk reset against JumpCloud's rate limit.
//!
//! A JumpCloud simulator holds a group of 2,000 users, adds 50 ms to every request and admits
//! R requests per second per API key (a fixed one-second window; past it `429` with
//! `Retry-After`). Passdesk's engine, built from a configuration as the bot builds it, plans
//! `reset group:Bulk` for a command-line helpdesk member (policy `approval = "none"`); the
//! simulator's latency and limit are switched on, and the clock runs from the Confirm press to
//! the report that press returns (the executor's whole run, audit lines included). Each
//! repetition has its own simulator and engine, so no user is mailed twice across repetitions.
//!
//! What is checked besides the time: the report shows no failed (or unknown) target, and the
//! simulator's record shows exactly one mail per member (no duplicate, none missing). The
//! number of `429`s the simulator answered is reported.
//!
//! The sequential baseline is the same `JumpCloudClient` (built from the same configuration)
//! doing the same two requests per user (read, then mail) one request at a time, against a
//! simulator with the same latency and limit, measured in the same run.
//!
//! **Two requests per target.** Passdesk reads each user again before mailing (the user may
//! have been suspended since the plan), so a target costs two upstream requests and a limit of
//! R requests/s admits at most R ÷ 2 targets/s. The targets are 95 % of that, and
//! `[bulk] rate_per_second` (which paces targets) is set to [`PACE_FACTOR`] × R ÷ 2, as an
//! operator would set it.

mod chart;
mod rig;

use std::time::Duration;

use futures::future::try_join_all;

use super::{BenchError, Chart, Ctx, Row, Section, Size, Verdict, median, thousands};
use rig::{Run, Sequential, Upstream};

/// Upstream requests each target costs: the user is read again, then mailed.
pub const REQUESTS_PER_TARGET: u32 = 2;

/// `[bulk] rate_per_second` is this share of what the limit admits (R ÷ 2 targets/s): the
/// simulator counts requests in fixed one-second windows whose edges the executor's smooth
/// pacer does not know, so a pacer at exactly the limit lets some windows collect one request
/// too many and be answered `429` with a whole second of `Retry-After`; 2.5 % headroom avoids
/// that and costs 2.5 % of throughput.
pub const PACE_FACTOR: f64 = 0.975;

/// The share of what the limit admits that Passdesk must reach.
const TARGET_SHARE: f64 = 0.95;

/// The largest ratio to the sequential baseline asked for.
const RATIO_CAP: f64 = 10.0;

/// Repetitions at limits up to this many requests/s (and all of the baseline's) run side by side,
/// each on its own simulator, engine and client: they wait on their own simulator's limit and
/// latency, not on the CPU, and one after the other they would take two minutes.
const SIDE_BY_SIDE_UP_TO: u32 = 100;

/// How big the scenario is.
#[derive(Debug, Clone, Copy)]
struct Sizing {
    /// Users in the group.
    users: usize,
    /// Latency the simulator adds to every request.
    latency: Duration,
    /// The limits R measured, requests/s.
    limits: &'static [u32],
    /// Users the sequential baseline mails.
    baseline_users: usize,
    /// `[bulk] concurrency`: the configuration's maximum, far more than R × latency.
    concurrency: usize,
}

impl Sizing {
    fn of(size: Size) -> Self {
        match size {
            Size::Full => Sizing {
                users: 2000,
                latency: Duration::from_millis(50),
                limits: &[100, 400],
                baseline_users: 100,
                concurrency: 64,
            },
            Size::Smoke => Sizing {
                users: 40,
                latency: Duration::from_millis(5),
                limits: &[200],
                baseline_users: 10,
                concurrency: 64,
            },
        }
    }

    fn upstream(&self, limit: u32) -> Upstream {
        Upstream {
            users: self.users,
            latency: self.latency,
            limit,
        }
    }

    fn latency_ms(&self) -> u128 {
        self.latency.as_millis()
    }
}

/// The most targets/s a limit of `limit` requests/s admits.
fn admitted(limit: u32) -> f64 {
    f64::from(limit) / f64::from(REQUESTS_PER_TARGET)
}

/// `[bulk] rate_per_second` for a limit of `limit` requests/s.
fn pace(limit: u32) -> f64 {
    PACE_FACTOR * admitted(limit)
}

/// The least targets/s that passes at `limit`.
fn throughput_target(limit: u32) -> f64 {
    TARGET_SHARE * admitted(limit)
}

/// The least ratio to the sequential baseline that passes: 95 % of the most any client obeying
/// the limit can reach (the limit's targets/s over the baseline's bound, one user per two
/// latencies: R × latency), at most [`RATIO_CAP`].
fn ratio_target(limit: u32, latency: Duration) -> f64 {
    let baseline_bound = 1.0 / (f64::from(REQUESTS_PER_TARGET) * latency.as_secs_f64());
    RATIO_CAP.min(TARGET_SHARE * admitted(limit) / baseline_bound)
}

/// Runs the scenario.
///
/// # Errors
///
/// A simulator, the engine or the client could not be set up, or a run did not return its
/// report (a missed target is a `FAIL` row, not an error).
pub async fn run(ctx: &Ctx) -> Result<Section, BenchError> {
    let sizing = Sizing::of(ctx.size);
    let reps = ctx.size.repetitions();
    let mut section = Section::default();

    let baseline_limit = sizing.limits.iter().copied().min().unwrap_or(100);
    let baseline = Upstream {
        users: sizing.baseline_users,
        ..sizing.upstream(baseline_limit)
    };
    let sequential = repeat(reps, true, |_| rig::sequential(baseline, &ctx.scratch)).await?;
    let sequential_rate = median_of(&sequential, Sequential::throughput);

    let mut points = Vec::new();
    for &limit in sizing.limits {
        let runs = repeat(reps, limit <= SIDE_BY_SIDE_UP_TO, |rep| {
            rig::passdesk(
                sizing.upstream(limit),
                sizing.concurrency,
                pace(limit),
                &ctx.scratch,
                rep,
            )
        })
        .await?;
        let targets = median_of(&runs, Run::throughput);
        let requests = median_of(&runs, Run::request_rate);
        section
            .rows
            .extend(rows(ctx.size, &sizing, limit, &runs, sequential_rate));
        points.push(chart::Point {
            limit: f64::from(limit),
            targets,
            requests,
        });
    }
    section
        .rows
        .push(baseline_row(&sizing, baseline_limit, &sequential));

    let svg = chart::render(&points, sequential_rate, f64::from(REQUESTS_PER_TARGET))
        .map_err(|e| BenchError::new("bulk", format!("drawing {}: {e}", chart::FILE)))?;
    section.charts.push(Chart {
        file: chart::FILE.to_owned(),
        caption: format!(
            "Bulk reset throughput (median targets/s, Confirm to report) vs the limit R, {} \
             users, {} ms latency, next to the limit and the sequential baseline",
            thousands(sizing.users as u64),
            sizing.latency_ms()
        ),
        svg,
    });
    section.notes = notes(&sizing);
    Ok(section)
}

/// `reps` repetitions of `one`, side by side or one after the other.
async fn repeat<T, F, Fut>(reps: usize, side_by_side: bool, one: F) -> Result<Vec<T>, BenchError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, BenchError>>,
{
    if side_by_side {
        return try_join_all((0..reps).map(one)).await;
    }
    let mut out = Vec::with_capacity(reps);
    for rep in 0..reps {
        out.push(one(rep).await?);
    }
    Ok(out)
}

fn median_of<T>(runs: &[T], figure: impl Fn(&T) -> f64) -> f64 {
    let values: Vec<f64> = runs.iter().map(figure).collect();
    median(&values).unwrap_or(0.0)
}

/// The three rows of one limit: throughput, outcomes, ratio to the baseline.
fn rows(size: Size, sizing: &Sizing, limit: u32, runs: &[Run], sequential: f64) -> Vec<Row> {
    let params = format!(
        "R={limit} req/s, {} users, {} ms latency; {} at once, paced at {} targets/s",
        thousands(sizing.users as u64),
        sizing.latency_ms(),
        sizing.concurrency,
        pace(limit)
    );
    let targets = median_of(runs, Run::throughput);
    let requests = median_of(runs, Run::request_rate);
    let share = 100.0 * requests / f64::from(limit);
    let wanted = throughput_target(limit);
    let throughput = Row::new(
        "bulk reset",
        params,
        format!("{targets:.1} targets/s ({requests:.1} req/s upstream, {share:.1} % of R)"),
        format!("≥ {wanted:.1} targets/s (95 % of R ÷ {REQUESTS_PER_TARGET} requests a target)"),
        Verdict::check(size, targets >= wanted),
    );

    let failed: usize = runs.iter().map(|r| r.failed).sum();
    let duplicates: usize = runs.iter().map(|r| r.duplicates).sum();
    let unmailed: usize = runs.iter().map(|r| r.unmailed).sum();
    let refused: Vec<String> = runs.iter().map(|r| r.rate_limited.to_string()).collect();
    let outcomes = Row::new(
        "bulk reset: outcomes",
        format!("R={limit} req/s, {} repetition(s)", runs.len()),
        format!(
            "{failed} failed, {duplicates} duplicate mails, {unmailed} unmailed; 429s: {}",
            refused.join(", ")
        ),
        "0 failed, 0 duplicates, 0 unmailed",
        Verdict::check(size, failed == 0 && duplicates == 0 && unmailed == 0),
    );

    let ratio = if sequential > 0.0 {
        targets / sequential
    } else {
        0.0
    };
    let wanted_ratio = ratio_target(limit, sizing.latency);
    let vs = Row::new(
        "bulk reset vs sequential",
        format!("R={limit} req/s"),
        format!("{ratio:.2}× ({targets:.1} ÷ {sequential:.1} /s)"),
        format!(
            "≥ {wanted_ratio:.2}× (min(10, 95 % × R × {} ms))",
            sizing.latency_ms()
        ),
        Verdict::check(size, ratio >= wanted_ratio),
    );
    vec![throughput, outcomes, vs]
}

fn baseline_row(sizing: &Sizing, limit: u32, runs: &[Sequential]) -> Row {
    let rate = median_of(runs, Sequential::throughput);
    let failed: usize = runs.iter().map(|r| r.failed).sum();
    Row::new(
        "sequential baseline",
        format!(
            "{} users one request at a time (read, then mail), {} ms latency, R={limit} req/s, same client",
            sizing.baseline_users,
            sizing.latency_ms()
        ),
        format!("{rate:.1} users/s ({failed} failed)"),
        "",
        Verdict::Info,
    )
}

fn notes(sizing: &Sizing) -> Vec<String> {
    let ms = sizing.latency_ms();
    vec![
        format!(
            "Bulk reset: timed from the Confirm press to the report, median of the repetitions, \
             each on a fresh simulator and engine (no approval; planning ran before the \
             simulator's {ms} ms latency and limit were switched on). Passdesk reads each user \
             again before mailing, so a target costs {REQUESTS_PER_TARGET} requests and R \
             requests/s admit at most R ÷ {REQUESTS_PER_TARGET} targets/s; the target is 95 % \
             of that. `[bulk] rate_per_second` is {PACE_FACTOR} of it: the simulator's fixed \
             one-second windows do not line up with the executor's smooth pacing, and pacing at \
             exactly the limit lets some windows overflow into `429`s."
        ),
        format!(
            "Bulk reset vs sequential: the baseline does what a target costs Passdesk (read the \
             user, then mail) one request at a time, so it is bound by one user per \
             {REQUESTS_PER_TARGET} × {ms} ms; Passdesk by R ÷ {REQUESTS_PER_TARGET} targets/s. \
             No client obeying the limit can beat the baseline by more than R × {ms} ms (5× at \
             R = 100), hence the target min(10, 95 % of that)."
        ),
        format!(
            "Bulk reset: repetitions at R ≤ {SIDE_BY_SIDE_UP_TO} req/s and those of the baseline \
             run side by side, each with its own simulator, engine and client (they wait on \
             their simulator, not on the CPU: three side by side measured the same as one \
             alone), to keep the scenario under two minutes."
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_limit_and_the_requests_a_target_costs() {
        let latency = Duration::from_millis(50);
        assert!((admitted(100) - 50.0).abs() < 1e-9);
        assert!((pace(100) - 48.75).abs() < 1e-9);
        assert!((throughput_target(100) - 47.5).abs() < 1e-9);
        assert!((throughput_target(400) - 190.0).abs() < 1e-9);
        // 95 % of R × latency, at most 10.
        assert!((ratio_target(100, latency) - 4.75).abs() < 1e-9);
        assert!((ratio_target(400, latency) - 10.0).abs() < 1e-9);
        assert!((ratio_target(1000, latency) - 10.0).abs() < 1e-9);
    }
}
