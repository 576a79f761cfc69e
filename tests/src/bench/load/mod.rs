//! Scenario (2), interaction acknowledgement under load, against the real `passdesk run`.
//!
//! Per platform (Discord's HTTP interactions endpoint, then Slack's endpoints), one
//! `passdesk run` process is configured against a JumpCloud simulator that adds 50 ms to every
//! call (an acknowledgement that waited on the directory would show) and the fake platform as
//! the chat API, with 1,000 requesters in the helpdesk group, no cooldown and an hour to
//! confirm. After a short warm-up, open-loop steps at 500, 1,000, 2,000 and 4,000 requests per
//! second run 10 s each (see [`generator`]): seven requests in ten are signed slash commands
//! `/reset user user:<username>` (a fresh interaction each), three are Confirm or Cancel
//! presses on confirmations the same requester got earlier. The target is a p99 under 10 ms
//! with no errors at 2,000 req/s; saturation is the lowest offered rate whose p99 reaches
//! 100 ms — when none up to 4,000 does, 8,000 and 16,000 are tried for 2 s each while the
//! platform's part stays within 60 s.
//!
//! Between steps the generator waits (at most 1.5 s) for the server to go quiet (its deferred
//! work from the previous step done), so each step starts from much the same state; the next
//! step's commands are built meanwhile. Each row also gives the CPU the server, the harness and
//! every other process used over the step, since all share the machine.

mod chart;
pub(crate) mod generator;
pub(crate) mod process;
pub(crate) mod rig;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use self::chart::Curve;
use self::generator::StepStats;
use self::rig::{Driver, Platform, Rig, Setup};
use super::{BenchError, Chart, Ctx, Row, Section, Size, Verdict, thousands};

const SCENARIO: &str = "load";
/// Latency the JumpCloud simulator adds to every call.
const JUMPCLOUD_LATENCY: Duration = Duration::from_millis(50);
/// The acknowledgement target at the target rate.
const TARGET_P99: Duration = Duration::from_millis(10);
/// The p99 that marks saturation.
const SATURATED_P99: Duration = Duration::from_millis(100);
/// The most a platform's part may take.
const PLATFORM_BUDGET: Duration = Duration::from_secs(60);
/// How long the server gets to finish the previous step's deferred work.
const QUIET_WITHIN: Duration = Duration::from_millis(1500);
/// How long the feeder gets to fill the press pool before a step.
const POOL_WITHIN: Duration = Duration::from_millis(1500);
/// How often the feeder tops up the press pool.
const FEED_EVERY: Duration = Duration::from_millis(10);

/// Sizes of one run.
#[derive(Debug, Clone)]
struct Plan {
    rates: Vec<f64>,
    step: Duration,
    /// Tried when no measured rate saturates.
    extra: Vec<f64>,
    extra_step: Duration,
    warm_rate: f64,
    warm: Duration,
    /// The rate the target applies to.
    target_rate: f64,
    requesters: usize,
    directory: usize,
    slack_shards: usize,
}

impl Plan {
    fn new(size: Size) -> Self {
        match size {
            Size::Full => Self {
                rates: vec![500.0, 1000.0, 2000.0, 4000.0],
                step: Duration::from_secs(10),
                extra: vec![8000.0, 16000.0],
                extra_step: Duration::from_secs(2),
                warm_rate: 300.0,
                warm: Duration::from_secs(1),
                target_rate: 2000.0,
                requesters: 1000,
                directory: 16,
                slack_shards: 32,
            },
            Size::Smoke => Self {
                rates: vec![100.0],
                step: Duration::from_secs(1),
                extra: Vec::new(),
                extra_step: Duration::from_secs(1),
                warm_rate: 50.0,
                warm: Duration::from_millis(500),
                target_rate: 100.0,
                requesters: 20,
                directory: 8,
                slack_shards: 2,
            },
        }
    }
}

/// What one platform's part measured.
#[derive(Debug)]
struct Measured {
    platform: Platform,
    steps: Vec<StepStats>,
    /// Extra steps left out to stay within the budget.
    cut_short: bool,
    elapsed: Duration,
    presses_built: u64,
    unconfirmed: u64,
    no_prompt: u64,
    relay_failed: u64,
    last_refusal: Option<String>,
    press_build_failed: u64,
    peak_rss: Option<u64>,
}

/// Runs the scenario.
///
/// # Errors
///
/// A simulator, a fake or `passdesk run` could not start, or the process died.
pub async fn run(ctx: &Ctx) -> Result<Section, BenchError> {
    let plan = Plan::new(ctx.size);
    let mut section = Section::default();
    let mut curves = Vec::new();
    for platform in [Platform::Discord, Platform::Slack] {
        let measured = run_platform(ctx, &plan, platform).await?;
        rows(ctx.size, &plan, &measured, &mut section);
        curves.push(Curve {
            platform: platform.name(),
            points: measured
                .steps
                .iter()
                .map(|s| (s.offered, ms(s.p50_us), ms(s.p99_us)))
                .collect(),
        });
        section.notes.push(platform_note(&measured));
    }
    section.notes.insert(0, method_note(&plan));
    let svg = chart::ack_latency(&curves).map_err(|e| BenchError::new(SCENARIO, e))?;
    section.charts.push(Chart {
        file: "ack-latency.svg".to_owned(),
        caption: "Interaction ack latency (p50, p99) vs offered load, Discord and Slack, open loop"
            .to_owned(),
        svg,
    });
    Ok(section)
}

fn cores(cores: Option<f64>) -> String {
    cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// A latency in µs, as milliseconds with sensible precision.
fn show(us: u64) -> String {
    let ms = ms(us);
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Presses kept ready: half a second's worth at `rate`.
fn pool_target(rate: f64) -> usize {
    ((rate * 0.3 * 0.5) as usize).max(20)
}

async fn run_platform(ctx: &Ctx, plan: &Plan, platform: Platform) -> Result<Measured, BenchError> {
    let started = Instant::now();
    let dir = ctx
        .scratch
        .join(format!("load-{}", platform.name().to_lowercase()));
    let setup = Setup {
        platform,
        requesters: plan.requesters,
        directory: plan.directory,
        jumpcloud_latency: JUMPCLOUD_LATENCY,
        slack_shards: plan.slack_shards,
        feed_presses: true,
    };
    let mut rig = Rig::start(SCENARIO, &ctx.passdesk, &dir, setup).await?;
    let target = Arc::new(AtomicUsize::new(pool_target(plan.warm_rate)));
    let feeder = {
        let driver = Arc::clone(&rig.driver);
        let target = Arc::clone(&target);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FEED_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let want = target.load(Ordering::Relaxed);
                driver.feed(want, want / 2 + 64);
            }
        })
    };
    let result = async {
        // Warm-up: connections, caches and the first presses; not measured.
        let warm = Upcoming::build(&rig, plan.warm_rate, plan.warm).await?;
        let _ = measure(&mut rig, &target, warm).await?;
        let mut steps = Vec::new();
        let mut upcoming = match plan.rates.first() {
            Some(rate) => Some(Upcoming::build(&rig, *rate, plan.step).await?),
            None => None,
        };
        for (i, _) in plan.rates.iter().enumerate() {
            let Some(step) = upcoming.take() else { break };
            let stats = measure(&mut rig, &target, step).await?;
            // The next step's commands are built while the server finishes this one's work.
            if let Some(rate) = plan.rates.get(i + 1) {
                upcoming = Some(Upcoming::build(&rig, *rate, plan.step).await?);
            }
            steps.push(stats);
        }
        let mut cut_short = false;
        if steps.iter().all(|s| s.p99_us < micros(SATURATED_P99)) {
            for rate in &plan.extra {
                // A step, its commands, and the quiet wait before it.
                let needed = plan.extra_step * 2 + QUIET_WITHIN;
                if started.elapsed() + needed > PLATFORM_BUDGET {
                    cut_short = true;
                    break;
                }
                let step = Upcoming::build(&rig, *rate, plan.extra_step).await?;
                let stats = measure(&mut rig, &target, step).await?;
                let saturated = stats.p99_us >= micros(SATURATED_P99);
                steps.push(stats);
                if saturated {
                    break;
                }
            }
        }
        Ok::<_, BenchError>((steps, cut_short))
    }
    .await;
    feeder.abort();
    let (steps, cut_short) = result?;
    let counters = &rig.driver.counters;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    Ok(Measured {
        platform,
        steps,
        cut_short,
        elapsed: started.elapsed(),
        presses_built: load(&counters.presses_built),
        unconfirmed: load(&counters.unconfirmed),
        no_prompt: load(&counters.no_prompt),
        relay_failed: load(&counters.relay_failed),
        last_refusal: counters
            .last_refusal
            .lock()
            .ok()
            .and_then(|last| last.clone()),
        press_build_failed: load(&counters.press_build_failed),
        peak_rss: rig.process.rss().ok().map(|r| r.peak),
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A step about to run: its rate and length, and its commands being built (on a blocking
/// thread, for the fake platform's current generation).
struct Upcoming {
    rate: f64,
    duration: Duration,
    commands: tokio::task::JoinHandle<Result<Vec<rig::Prepared>, BenchError>>,
}

impl Upcoming {
    async fn build(rig: &Rig, rate: f64, duration: Duration) -> Result<Self, BenchError> {
        rig.driver.new_generation().await?;
        let n = (rate * duration.as_secs_f64()).round() as usize;
        let driver = Arc::clone(&rig.driver);
        let commands =
            tokio::task::spawn_blocking(move || driver.commands(generator::commands_for(n)));
        Ok(Self {
            rate,
            duration,
            commands,
        })
    }
}

/// One step: the server quiet, the step's commands built and the press pool filled (all at
/// once), then the open-loop run, with the CPU each side used.
async fn measure(
    rig: &mut Rig,
    target: &AtomicUsize,
    step: Upcoming,
) -> Result<StepStats, BenchError> {
    let want = pool_target(step.rate);
    target.store(want, Ordering::Relaxed);
    let (_, commands, ()) = tokio::join!(
        rig.process.wait_quiet(QUIET_WITHIN),
        step.commands,
        wait_for_pool(&rig.driver, want)
    );
    let commands = commands.map_err(|e| BenchError::new(SCENARIO, e))??;
    let (server_before, harness_before, machine_before) = (
        rig.process.cpu_time(),
        process::own_cpu_time(),
        process::machine_cpu_time(),
    );
    let at = Instant::now();
    let mut stats = generator::run_step(
        SCENARIO,
        &rig.client,
        &rig.driver,
        step.rate,
        step.duration,
        commands,
    )
    .await?;
    let wall = at.elapsed().as_secs_f64();
    let cores = |before: Option<Duration>, after: Option<Duration>| {
        Some(after?.saturating_sub(before?).as_secs_f64() / wall)
    };
    stats.server_cores = cores(server_before, rig.process.cpu_time());
    stats.harness_cores = cores(harness_before, process::own_cpu_time());
    stats.other_cores = cores(machine_before, process::machine_cpu_time()).map(|all| {
        (all - stats.server_cores.unwrap_or(0.0) - stats.harness_cores.unwrap_or(0.0)).max(0.0)
    });
    rig.process.check_alive()?;
    Ok(stats)
}

/// Waits until the press pool holds `want` presses, at most [`POOL_WITHIN`] (a step that
/// starts short sends commands instead and counts them).
async fn wait_for_pool(driver: &Driver, want: usize) {
    let deadline = Instant::now() + POOL_WITHIN;
    while driver.pool_len() < want && Instant::now() < deadline {
        tokio::time::sleep(FEED_EVERY).await;
    }
}

fn rows(size: Size, plan: &Plan, measured: &Measured, section: &mut Section) {
    let name = measured.platform.name();
    for step in &measured.steps {
        let is_target = (step.offered - plan.target_rate).abs() < f64::EPSILON;
        let (target, verdict) = if is_target {
            let ok = step.p99_us < micros(TARGET_P99) && step.errors == 0;
            ("p99 < 10 ms, 0 errors".to_owned(), Verdict::check(size, ok))
        } else if size == Size::Smoke {
            (String::new(), Verdict::Smoke)
        } else {
            (String::new(), Verdict::Info)
        };
        section.rows.push(Row::new(
            "ack under load",
            format!(
                "{name}, {} req/s offered for {} s; 70% /reset user, 30% Confirm/Cancel",
                thousands(step.offered as u64),
                step.duration.as_secs_f64()
            ),
            format!(
                "{} req/s answered; p50 {} · p99 {} (median of 3 windows {}) · p99.9 {} · max \
                 {}; {} errors of {}{}; CPU: server {} cores, harness {}, other processes {}",
                thousands(step.achieved.round() as u64),
                show(step.p50_us),
                show(step.p99_us),
                show(step.window_p99_median_us()),
                show(step.p999_us),
                show(step.max_us),
                thousands(step.errors),
                thousands(step.sent),
                if step.not_sent > 0 {
                    format!(
                        " ({} not sent: the generator fell 1 s behind)",
                        thousands(step.not_sent)
                    )
                } else {
                    String::new()
                },
                cores(step.server_cores),
                cores(step.harness_cores),
                cores(step.other_cores),
            ),
            target,
            verdict,
        ));
    }
    if let Some(first) = measured.steps.first() {
        // An ack that waited on the directory would take at least one 50 ms JumpCloud call.
        let ok = first.p50_us < micros(JUMPCLOUD_LATENCY);
        section.rows.push(Row::new(
            "ack vs directory",
            format!(
                "{name}, {} req/s: ack p50 against the 50 ms every JumpCloud call takes",
                thousands(first.offered as u64)
            ),
            format!("p50 {}", show(first.p50_us)),
            "p50 < 50 ms",
            Verdict::check(size, ok),
        ));
    }
    let saturated = measured
        .steps
        .iter()
        .find(|s| s.p99_us >= micros(SATURATED_P99));
    let highest = measured
        .steps
        .iter()
        .map(|s| s.offered)
        .fold(0.0_f64, f64::max);
    let result = match saturated {
        Some(step) => format!(
            "{} req/s (p99 {})",
            thousands(step.offered as u64),
            show(step.p99_us)
        ),
        None => format!("> {} req/s", thousands(highest as u64)),
    };
    section.rows.push(Row::new(
        "ack saturation",
        format!("{name}: lowest offered rate whose p99 ≥ 100 ms"),
        result,
        "",
        if size == Size::Smoke {
            Verdict::Smoke
        } else {
            Verdict::Info
        },
    ));
}

fn method_note(plan: &Plan) -> String {
    format!(
        "ack under load: the real `passdesk run` (one process per platform), JumpCloud simulator \
         adding 50 ms per call, {} requesters, {} directory users. Open loop: request i is due at \
         t0 + i/rate and its latency counts from that due time to its last response byte \
         (hdrhistogram, µs); a non-2xx or no answer within 3 s of the due time is an error, and \
         so is a request the generator could not send within 1 s of the step's end; at most \
         4,096 requests are in flight (a load tool's fixed connection count). The \
         \"median of 3 windows\" is the median of the p99s of the step's three equal thirds. \
         Commands are built and signed just before their step (never more than a step old); presses are built \
         from confirmations read from the fakes, off the measured path. Once measured, the \
         generator hands each answer to the fake as the platform would (Discord: the response \
         body as the interaction's callback; Slack: a command's answer that is already the \
         confirmation, shown through its response_url), so the bot's deferred edits land. The \
         generator, the fakes and the simulator share the machine's cores with the server: \
         each row gives the cores the server, this harness and every other process used over \
         the step.",
        thousands(plan.requesters as u64),
        thousands(plan.directory as u64),
    )
}

fn platform_note(m: &Measured) -> String {
    let short: u64 = m.steps.iter().map(|s| s.presses_short).sum();
    let presses: u64 = m.steps.iter().map(|s| s.presses).sum();
    let mut note = format!(
        "{}: {} presses sent ({} due while the pool was empty went as commands); {} \
         confirmations turned into presses, {} never came within 10 s, {} commands ended \
         without a prompt, {} hand-overs to the fake refused{}, {} presses the fake would not \
         build; peak RSS of passdesk run {}; part took {:.1} s.",
        m.platform.name(),
        thousands(presses),
        thousands(short),
        thousands(m.presses_built),
        thousands(m.unconfirmed),
        thousands(m.no_prompt),
        thousands(m.relay_failed),
        m.last_refusal
            .as_ref()
            .map_or_else(String::new, |why| format!(" (the last: {why})")),
        thousands(m.press_build_failed),
        m.peak_rss.map_or_else(
            || "unknown".to_owned(),
            |b| format!("{:.1} MB", b as f64 / 1e6)
        ),
        m.elapsed.as_secs_f64(),
    );
    if m.cut_short {
        note.push_str(" Higher rates were not tried: they would not fit the 60 s budget.");
    }
    note
}
