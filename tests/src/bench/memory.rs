//! Scenario (3), memory: the resident size of the real `passdesk run` idle, and holding
//! 100,000 pending confirmations.
//!
//! The process is configured as in the load scenario (Discord's HTTP endpoint, the helpdesk
//! role for 1,000 requesters, no cooldown, an hour to confirm) against a JumpCloud simulator
//! without added latency. Once it is ready and has idled a second, `VmRSS` and `VmHWM` are read
//! from `/proc/<pid>/status`. Then signed `/reset user` commands are sent closed-loop, 64 in
//! flight, as fast as the server takes them; each answer is handed to the fake Discord as the
//! interaction's callback (as in the load scenario), and the fake is read until every
//! interaction's original response shows its confirmation (Confirm and Cancel buttons): all
//! must be held, since none expires within the hour. Then the resident size is read again.
//! The resident size is also read after every tenth, to tell memory held per pending action
//! (linear growth) from one-off growth. Creation stops at 45 s so the scenario stays within
//! 60 s; what was not sent then is reported, with the size all would take at the measured
//! growth. Sizes are in MB of 10^6 bytes (stricter than MiB).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use super::load::process::{self, Rss};
use super::load::rig::{self, Driver, Platform, Rig, Setup};
use super::{BenchError, Ctx, Row, Section, Size, Verdict, thousands};

const SCENARIO: &str = "memory";
/// Idle target, bytes.
const IDLE_TARGET: u64 = 30_000_000;
/// Target with the pending confirmations held, bytes.
const HELD_TARGET: u64 = 100_000_000;
/// Commands in flight while the pending confirmations are created.
const IN_FLIGHT: usize = 64;
/// How long the process idles before the idle reading.
const IDLE_FOR: Duration = Duration::from_secs(1);
/// The most the creation may take, so the scenario stays within 60 s (what is not sent by
/// then is reported, with the size all would take at the measured growth).
const CREATE_WITHIN: Duration = Duration::from_secs(45);
/// Resident-size readings while the pending confirmations are created.
const CHECKPOINTS: usize = 10;
/// How long the confirmations may take to show after the last command was answered.
const SHOWN_WITHIN: Duration = Duration::from_secs(20);

/// Pending confirmations created: 100,000 in full size, 1,000 in smoke size.
pub fn pending(size: Size) -> usize {
    match size {
        Size::Full => 100_000,
        Size::Smoke => 1_000,
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn show(rss: Rss) -> String {
    format!("VmRSS {} (VmHWM {})", mb(rss.now), mb(rss.peak))
}

/// Runs the scenario.
///
/// # Errors
///
/// The simulators, the fake or `passdesk run` could not start, or the process died.
pub async fn run(ctx: &Ctx) -> Result<Section, BenchError> {
    let n = pending(ctx.size);
    let (requesters, directory) = match ctx.size {
        Size::Full => (1000, 8),
        Size::Smoke => (20, 8),
    };
    let setup = Setup {
        platform: Platform::Discord,
        requesters,
        directory,
        jumpcloud_latency: Duration::ZERO,
        slack_shards: 0,
        feed_presses: false,
    };
    let mut rig = Rig::start(SCENARIO, &ctx.passdesk, &ctx.scratch.join("memory"), setup).await?;
    rig.process.wait_quiet(Duration::from_secs(3)).await;
    tokio::time::sleep(IDLE_FOR).await;
    let idle = rig.process.rss()?;

    let started = Instant::now();
    let (server_before, harness_before) = (rig.process.cpu_time(), process::own_cpu_time());
    let mut created = Created {
        ids: Vec::with_capacity(n),
        failed: 0,
        unsent: 0,
    };
    // In tenths, reading the resident size after each: its growth per tenth shows whether
    // the memory is held per pending action (linear) or a one-off.
    let mut readings = vec![idle.now];
    let deadline = started + CREATE_WITHIN;
    for tenth in 0..CHECKPOINTS {
        let batch = n * (tenth + 1) / CHECKPOINTS - n * tenth / CHECKPOINTS;
        let done = create(&rig, batch, deadline).await;
        created.ids.extend(done.ids);
        created.failed += done.failed;
        created.unsent += done.unsent;
        readings.push(rig.process.rss()?.now);
    }
    let created_in = started.elapsed();
    // What was sent (all of it, unless the budget ran out).
    let sent = n - created.unsent;
    let cores = |before: Option<Duration>, after: Option<Duration>| {
        Some(after?.saturating_sub(before?).as_secs_f64() / created_in.as_secs_f64().max(1e-9))
    };
    let server_cores = cores(server_before, rig.process.cpu_time());
    let harness_cores = cores(harness_before, process::own_cpu_time());
    rig.process.check_alive()?;
    let held = wait_until_shown(&rig.driver, &created.ids).await;
    let shown_in = started.elapsed();
    // Every confirmation is shown, so the deferred work is done; let the last of it settle.
    rig.process.wait_quiet(Duration::from_secs(1)).await;
    let full = rig.process.rss()?;
    rig.process.check_alive()?;

    let size = ctx.size;
    let per_pending = full.now.saturating_sub(idle.now) / held.max(1) as u64;
    let mut section = Section::default();
    section.rows.push(Row::new(
        "memory",
        "passdesk run (Discord HTTP endpoint) ready, idle 1 s",
        show(idle),
        "VmRSS < 30 MB",
        Verdict::check(size, idle.now < IDLE_TARGET),
    ));
    section.rows.push(Row::new(
        "memory",
        format!(
            "{} pending confirmations held (TTL 3,600 s)",
            thousands(n as u64)
        ),
        format!(
            "{}; {} of {} shown as confirmations, {} commands failed{}",
            show(full),
            thousands(held as u64),
            thousands(n as u64),
            thousands(created.failed as u64),
            if created.unsent > 0 {
                format!(
                    ", {} not sent within the {} s budget (at {} B each, all {} would be \
                     about {})",
                    thousands(created.unsent as u64),
                    CREATE_WITHIN.as_secs(),
                    thousands(per_pending),
                    thousands(n as u64),
                    mb(idle.now + per_pending * n as u64),
                )
            } else {
                String::new()
            }
        ),
        "VmRSS < 100 MB, all held",
        Verdict::check(size, full.now < HELD_TARGET && held == n),
    ));
    section.rows.push(Row::new(
        "memory",
        "growth per pending confirmation",
        format!(
            "{} B ((VmRSS held − VmRSS idle) / {})",
            thousands(per_pending),
            thousands(held as u64)
        ),
        "",
        if size == Size::Smoke {
            Verdict::Smoke
        } else {
            Verdict::Info
        },
    ));
    section.rows.push(Row::new(
        "memory",
        format!(
            "creating {} pending, closed loop, {IN_FLIGHT} in flight",
            thousands(n as u64)
        ),
        format!(
            "{:.1} s ({} commands/s answered); all shown after {:.1} s; CPU: server {} cores, \
             harness {}",
            created_in.as_secs_f64(),
            thousands((sent as f64 / created_in.as_secs_f64().max(1e-9)).round() as u64),
            shown_in.as_secs_f64(),
            server_cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}")),
            harness_cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}")),
        ),
        "",
        if size == Size::Smoke {
            Verdict::Smoke
        } else {
            Verdict::Info
        },
    ));
    let growth: Vec<String> = readings
        .windows(2)
        .map(|pair| {
            let (before, after) = (pair.first().copied(), pair.get(1).copied());
            let grew = after.unwrap_or(0) as f64 - before.unwrap_or(0) as f64;
            format!("{:+.1}", grew / 1e6)
        })
        .collect();
    section.notes.push(format!(
        "memory: VmRSS growth per tenth ({} pending each) while creating, MB: {}.",
        thousands((n / CHECKPOINTS) as u64),
        growth.join(", ")
    ));
    section.notes.push(
        "memory: one repetition (a resident size is not a timing); sizes in MB of 10^6 bytes. \
         The pending confirmations are created through the real endpoint, each a signed \
         /reset user command from one of the helpdesk requesters, and counted on the fake \
         Discord (its original response shows Confirm) before the second reading."
            .to_owned(),
    );
    Ok(section)
}

/// What creating the pending confirmations did.
struct Created {
    /// The commands' interaction ids (answered `200`).
    ids: Vec<u64>,
    /// Commands not answered `200`.
    failed: usize,
    /// Commands not sent: the time budget ran out.
    unsent: usize,
}

/// Sends `n` commands, [`IN_FLIGHT`] at a time, each built and signed just before it goes;
/// none is started past `deadline`.
async fn create(rig: &Rig, n: usize, deadline: Instant) -> Created {
    let started = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<Option<u64>> = futures::stream::iter(0..n)
        .take_while(|_| std::future::ready(Instant::now() < deadline))
        .inspect(|_| {
            started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .map(|_| {
            let driver = Arc::clone(&rig.driver);
            let client = rig.client.clone();
            async move {
                let mut prepared = driver.command().ok()?;
                let (status, body) = rig::send(&client, &mut prepared).await.ok()?;
                if status != 200 {
                    return None;
                }
                rig::finish(&driver, prepared, &body).await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let failed = outcomes.iter().filter(|o| o.is_none()).count();
    Created {
        ids: outcomes.into_iter().flatten().collect(),
        failed,
        unsent: n - started.into_inner(),
    }
}

/// Reads the fake until every interaction shows its confirmation, at most [`SHOWN_WITHIN`];
/// returns how many do.
async fn wait_until_shown(driver: &Driver, ids: &[u64]) -> usize {
    let deadline = Instant::now() + SHOWN_WITHIN;
    let mut missing: Vec<u64> = ids.to_vec();
    loop {
        missing.retain(|id| !driver.shows_confirmation(*id));
        if missing.is_empty() || Instant::now() >= deadline {
            return ids.len() - missing.len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
