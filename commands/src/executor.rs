//! The bulk executor: runs one operation per target of a plan, with bounded concurrency and a
//! rate limit, reporting progress and one outcome per target.
//!
//! [`run`] is generic over the target (`T`) and the per-target operation (`op`), so the engine
//! plugs JumpCloud or Identity Manager calls into it without this module knowing either API.
//!
//! The rules:
//! - at most [`ExecutorSettings::concurrency`] targets are in flight at once, and targets start
//!   no faster than the configured rate (a GCRA limiter from `governor`, driven by tokio's
//!   clock so paused-time tests see virtual time);
//! - every target runs in its own task: a target that fails, or even panics, never stops the
//!   others; a panic is reported through [`OutcomeKind::crashed`];
//! - the executor never retries: the clients in `passdesk-core` already retry a `429` and safe
//!   failures per [`passdesk_core::retry::RetryPolicy`], so an operation's outcome is final;
//! - progress goes to a [`ProgressSink`]: `0/N` at start, then at most one event per
//!   [`ExecutorSettings::progress_interval`], and always a final one with `done == total`;
//! - the stop signal (a `tokio::sync::watch::Receiver<bool>`) stops *starting* targets: those in
//!   flight finish (cutting a mail send short would only make its outcome unknown), and those
//!   never started are reported through [`OutcomeKind::not_started`];
//! - the report lists outcomes in the targets' input order, whatever order they finished in.

use std::collections::HashMap;
use std::future::Future;
use std::num::{NonZeroU32, NonZeroUsize};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use governor::clock::Clock;
use governor::{Quota, RateLimiter};
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, Span, info_span, instrument};

/// How fast a bulk job runs. Built from config with [`ExecutorSettings::try_new`], or from
/// already-checked values with [`ExecutorSettings::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorSettings {
    concurrency: NonZeroUsize,
    quota: Quota,
    progress_interval: Duration,
}

/// Why config values cannot make [`ExecutorSettings`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The concurrency was zero.
    #[error("bulk concurrency must be at least 1")]
    ZeroConcurrency,
    /// The rate was zero, negative, not a number, or too fast or slow to represent.
    #[error("bulk rate must be a positive number of operations per second, at most 1e9 (got {0})")]
    InvalidRate(f64),
}

impl ExecutorSettings {
    /// `concurrency` targets at once, starting at most `rate_per_second` a second, evenly spaced,
    /// with progress at most every `progress_interval`.
    ///
    /// The burst is as many starts as the rate allows in a millisecond (tokio's timer counts
    /// whole milliseconds; one below 1,000 a second), plus one at 20 a second and faster: a
    /// start the timer woke late may be caught up by the next, so timer lateness does not
    /// lower the rate.
    pub fn new(
        concurrency: NonZeroUsize,
        rate_per_second: NonZeroU32,
        progress_interval: Duration,
    ) -> Self {
        Self {
            concurrency,
            quota: smooth(Quota::per_second(rate_per_second)),
            progress_interval,
        }
    }

    /// Like [`ExecutorSettings::new`], from the config's plain values; the rate may be
    /// fractional (`0.5` = one target every two seconds).
    pub fn try_new(
        concurrency: usize,
        rate_per_second: f64,
        progress_interval: Duration,
    ) -> Result<Self, SettingsError> {
        let concurrency = NonZeroUsize::new(concurrency).ok_or(SettingsError::ZeroConcurrency)?;
        let invalid = SettingsError::InvalidRate(rate_per_second);
        if !(rate_per_second.is_finite() && rate_per_second > 0.0) {
            return Err(invalid);
        }
        let period =
            Duration::try_from_secs_f64(rate_per_second.recip()).map_err(|_| invalid.clone())?;
        let quota = smooth(Quota::with_period(period).ok_or(invalid)?);
        Ok(Self {
            concurrency,
            quota,
            progress_interval,
        })
    }

    /// Lets up to `burst` targets start back to back before the rate applies (default: see
    /// [`ExecutorSettings::new`]).
    /// In any window of `w` seconds at most `rate × w + burst` targets start.
    pub fn with_burst(mut self, burst: NonZeroU32) -> Self {
        self.quota = self.quota.allow_burst(burst);
        self
    }

    /// The most targets in flight at once.
    pub fn concurrency(&self) -> NonZeroUsize {
        self.concurrency
    }

    /// The sustained rate at which targets start, per second.
    pub fn rate_per_second(&self) -> f64 {
        self.quota.replenish_interval().as_secs_f64().recip()
    }

    /// How many targets may start back to back.
    pub fn burst(&self) -> NonZeroU32 {
        self.quota.burst_size()
    }

    /// The least time between two progress events (the final event excepted).
    pub fn progress_interval(&self) -> Duration {
        self.progress_interval
    }
}

/// The timer's resolution: tokio sleeps in whole milliseconds.
const TIMER_TICK: Duration = Duration::from_millis(1);
/// Starts at most this far apart get one start of catch-up in their burst (see [`smooth`]).
const CATCH_UP_PERIOD: Duration = Duration::from_millis(50);

/// `quota` with the smallest burst that still reaches its rate: the starts that fit in a timer
/// tick (one below 1,000 a second), plus, when starts are at most [`CATCH_UP_PERIOD`] apart,
/// one to catch up a start the timer woke late. Without that one, each wake-up up to a tick
/// late pushes every later start back (GCRA counts from the actual start): measured, a 200/s
/// job ran at 160/s and a 50/s job at 47/s. With it, in any window of `w` seconds at most
/// `rate × w + burst` starts happen. Slower jobs keep a burst of one: a tick late in 50 ms
/// and more costs at most 2 % of the rate, and "one a minute" must mean one at a time.
fn smooth(quota: Quota) -> Quota {
    let period = quota.replenish_interval().as_nanos().max(1);
    let catch_up = u128::from(period <= CATCH_UP_PERIOD.as_nanos());
    let per_tick = TIMER_TICK.as_nanos().div_ceil(period) + catch_up;
    let burst =
        NonZeroU32::new(u32::try_from(per_tick).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
    quota.allow_burst(burst)
}

/// How far a bulk job is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Targets settled so far (finished, or, at the end of a stopped job, not started).
    pub done: usize,
    /// Targets in the job.
    pub total: usize,
    /// Targets that failed so far.
    pub failed: usize,
    /// Targets whose outcome is unknown so far (sent, but the answer was lost).
    pub unknown: usize,
}

impl Progress {
    /// Whether every target is settled; the final event always is.
    pub fn is_complete(&self) -> bool {
        self.done == self.total
    }
}

/// Where progress events go. Called from the executor's loop: return quickly (hand the event to
/// a channel or a `watch`), never block.
pub trait ProgressSink: Send + Sync {
    /// Receives one progress event.
    fn progress(&self, progress: Progress);
}

impl<F> ProgressSink for F
where
    F: Fn(Progress) + Send + Sync,
{
    fn progress(&self, progress: Progress) {
        self(progress);
    }
}

/// A `watch` channel keeps the latest event, which is all a progress bar needs.
impl ProgressSink for watch::Sender<Progress> {
    fn progress(&self, progress: Progress) {
        self.send_replace(progress);
    }
}

/// A sink that drops every event, for jobs nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn progress(&self, _progress: Progress) {}
}

/// How one target's outcome counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeClass {
    /// The operation was done.
    Succeeded,
    /// Nothing was done, on purpose (or because the job was stopped first).
    Skipped,
    /// The operation failed; nothing was done.
    Failed,
    /// The operation may or may not have been done: check before trying again.
    Unknown,
}

impl OutcomeClass {
    /// The lowercase name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Succeeded => "succeeded",
            OutcomeClass::Skipped => "skipped",
            OutcomeClass::Failed => "failed",
            OutcomeClass::Unknown => "unknown",
        }
    }
}

/// What the executor needs to know about a per-target outcome type.
pub trait OutcomeKind: Send + 'static {
    /// How this outcome counts in progress and reports.
    fn class(&self) -> OutcomeClass;
    /// The outcome of a target the job was stopped before starting.
    fn not_started() -> Self;
    /// The outcome of a target whose task ended without an outcome (it panicked). The operation
    /// may have acted before that, so this should count as [`OutcomeClass::Unknown`].
    fn crashed() -> Self;
}

/// The outcome of one target of a Passdesk operation. `E` is the engine's error type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome<E> {
    /// The JumpCloud activation mail was sent (the user was pending).
    SentActivation,
    /// The JumpCloud password reset mail was sent (the user was active).
    SentReset,
    /// The JumpCloud password was expired.
    Expired,
    /// The Identity Manager password notification mail was sent.
    Notified,
    /// Nothing was done, on purpose.
    Skipped {
        /// A short, user-facing reason, such as `suspended` or `not found`.
        reason: String,
    },
    /// The job was stopped before this target started.
    NotStarted,
    /// The operation failed (after the client's own retries).
    Failed {
        /// Why.
        error: E,
    },
    /// The request was sent but its answer was lost: it may have been done.
    Unknown,
    /// The target's task panicked: the operation may have been done.
    Crashed,
}

impl<E: Send + 'static> OutcomeKind for Outcome<E> {
    fn class(&self) -> OutcomeClass {
        match self {
            Outcome::SentActivation | Outcome::SentReset | Outcome::Expired | Outcome::Notified => {
                OutcomeClass::Succeeded
            }
            Outcome::Skipped { .. } | Outcome::NotStarted => OutcomeClass::Skipped,
            Outcome::Failed { .. } => OutcomeClass::Failed,
            Outcome::Unknown | Outcome::Crashed => OutcomeClass::Unknown,
        }
    }

    fn not_started() -> Self {
        Outcome::NotStarted
    }

    fn crashed() -> Self {
        Outcome::Crashed
    }
}

/// The result of a bulk job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<T, O> {
    /// One outcome per target, in the targets' input order.
    pub outcomes: Vec<(T, O)>,
    /// How long the job took.
    pub elapsed: Duration,
    /// Whether the stop signal left some targets not started.
    pub stopped: bool,
}

impl<T, O: OutcomeKind> Report<T, O> {
    /// How many outcomes fall in `class`.
    pub fn count(&self, class: OutcomeClass) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| outcome.class() == class)
            .count()
    }
}

/// Runs `op` once per target, at most [`ExecutorSettings::concurrency`] at once and starting no
/// faster than the configured rate, and returns one outcome per target in input order.
///
/// Progress goes to `progress` (see the module docs for its pace). When `stop` turns `true`, no
/// further target starts; those in flight finish and the rest are reported as
/// [`OutcomeKind::not_started`]. A closed `stop` channel means "never stop".
///
/// Each target runs in its own tokio task, instrumented with its index. Dropping the returned
/// future aborts the targets in flight: use `stop` for an orderly end.
#[instrument(
    name = "executor.run",
    skip_all,
    fields(
        total = targets.len(),
        concurrency = settings.concurrency.get(),
        rate_per_second = settings.rate_per_second(),
        burst = settings.burst().get(),
    )
)]
pub async fn run<T, O, F, Fut, P>(
    targets: Vec<T>,
    settings: &ExecutorSettings,
    progress: &P,
    mut stop: watch::Receiver<bool>,
    op: F,
) -> Report<T, O>
where
    T: Clone,
    O: OutcomeKind,
    F: Fn(T) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
    P: ProgressSink + ?Sized,
{
    let started = Instant::now();
    let total = targets.len();
    let clock = TokioClock { origin: started };
    let limiter = RateLimiter::direct_with_clock(settings.quota, clock);

    let mut outcomes: Vec<Option<O>> = std::iter::repeat_with(|| None).take(total).collect();
    let mut tasks = JoinSet::new();
    let mut index_of: HashMap<Id, usize> = HashMap::new();
    let mut next = 0;
    let mut stopping = false;
    let mut stop_open = true;
    let mut tally = Progress {
        total,
        ..Progress::default()
    };
    let mut pacer = Pacer::new(settings.progress_interval, started);
    progress.progress(tally);

    loop {
        stopping |= *stop.borrow();
        let may_start = !stopping && next < total;
        if tasks.is_empty() && !may_start {
            break;
        }
        let mut permit_at = None;
        if may_start && tasks.len() < settings.concurrency.get() {
            match limiter.check() {
                Ok(()) => {
                    let Some(target) = targets.get(next).cloned() else {
                        // Unreachable (`next < total`); start nothing more, keep joining.
                        next = total;
                        continue;
                    };
                    let index = next;
                    next += 1;
                    let span =
                        info_span!("executor.target", index, outcome = tracing::field::Empty);
                    let handle = match catch_unwind(AssertUnwindSafe(|| op(target))) {
                        Ok(fut) => tasks.spawn(
                            async move {
                                let outcome = fut.await;
                                Span::current().record("outcome", outcome.class().as_str());
                                outcome
                            }
                            .instrument(span),
                        ),
                        Err(_) => tasks.spawn(async move { O::crashed() }.instrument(span)),
                    };
                    index_of.insert(handle.id(), index);
                    continue;
                }
                Err(not_until) => permit_at = Some(started + not_until.earliest_possible()),
            }
        }

        tokio::select! {
            biased;
            changed = stop.changed(), if stop_open && !stopping => match changed {
                Ok(()) => stopping = *stop.borrow_and_update(),
                Err(_) => stop_open = false,
            },
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, outcome) = match joined {
                    Ok((id, outcome)) => (id, Ok(outcome)),
                    Err(error) => (error.id(), Err(error.is_panic())),
                };
                let Some(index) = index_of.remove(&id) else {
                    tracing::error!("a finished task matches no target");
                    continue;
                };
                let outcome = outcome.unwrap_or_else(|panicked| {
                    tracing::warn!(index, panicked, "a target's task ended without an outcome");
                    O::crashed()
                });
                tally.done += 1;
                match outcome.class() {
                    OutcomeClass::Failed => tally.failed += 1,
                    OutcomeClass::Unknown => tally.unknown += 1,
                    OutcomeClass::Succeeded | OutcomeClass::Skipped => {}
                }
                if let Some(slot) = outcomes.get_mut(index) {
                    *slot = Some(outcome);
                }
                // The last target's event is the final one, sent below.
                if tally.done < total {
                    pacer.changed(tally, progress);
                }
            },
            () = sleep_until(pacer.due()), if pacer.is_dirty() => pacer.flush(tally, progress),
            () = sleep_until(permit_at.unwrap_or(started)), if permit_at.is_some() => {},
        }
    }

    let mut not_started = 0;
    let outcomes: Vec<(T, O)> = targets
        .into_iter()
        .zip(outcomes)
        .map(|(target, outcome)| {
            let outcome = outcome.unwrap_or_else(|| {
                not_started += 1;
                O::not_started()
            });
            (target, outcome)
        })
        .collect();
    tally.done += not_started;
    progress.progress(tally);
    tracing::info!(
        done = tally.done,
        failed = tally.failed,
        unknown = tally.unknown,
        not_started,
        "bulk job finished"
    );
    Report {
        outcomes,
        elapsed: started.elapsed(),
        stopped: not_started > 0,
    }
}

/// Paces intermediate progress events: one as soon as the interval since the last allows,
/// otherwise one when it ends.
struct Pacer {
    interval: Duration,
    last: Instant,
    dirty: bool,
}

impl Pacer {
    fn new(interval: Duration, start: Instant) -> Self {
        Self {
            interval,
            last: start,
            dirty: false,
        }
    }

    fn due(&self) -> Instant {
        self.last + self.interval
    }

    fn is_dirty(&self) -> bool {
        self.dirty
    }

    fn changed<P: ProgressSink + ?Sized>(&mut self, tally: Progress, sink: &P) {
        if Instant::now() >= self.due() {
            self.flush(tally, sink);
        } else {
            self.dirty = true;
        }
    }

    fn flush<P: ProgressSink + ?Sized>(&mut self, tally: Progress, sink: &P) {
        sink.progress(tally);
        self.last = Instant::now();
        self.dirty = false;
    }
}

/// `governor`'s clock on tokio's time, so that paused-time tests pace in virtual time.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::time::sleep;

    use super::*;

    /// A test outcome that carries the target it was made for, so pairing can be checked.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Done {
        Ok(usize),
        Failed(usize),
        NotStarted,
        Crashed,
    }

    impl OutcomeKind for Done {
        fn class(&self) -> OutcomeClass {
            match self {
                Done::Ok(_) => OutcomeClass::Succeeded,
                Done::Failed(_) => OutcomeClass::Failed,
                Done::NotStarted => OutcomeClass::Skipped,
                Done::Crashed => OutcomeClass::Unknown,
            }
        }
        fn not_started() -> Self {
            Done::NotStarted
        }
        fn crashed() -> Self {
            Done::Crashed
        }
    }

    fn settings(concurrency: usize, rate: u32, interval_ms: u64) -> ExecutorSettings {
        ExecutorSettings::new(
            NonZeroUsize::new(concurrency).unwrap(),
            NonZeroU32::new(rate).unwrap(),
            Duration::from_millis(interval_ms),
        )
    }

    /// A stop signal nobody will raise.
    fn never() -> watch::Receiver<bool> {
        watch::channel(false).1
    }

    /// Records every progress event with the (virtual) time it arrived.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(Instant, Progress)>>);

    impl ProgressSink for Recorder {
        fn progress(&self, progress: Progress) {
            self.0.lock().unwrap().push((Instant::now(), progress));
        }
    }

    impl Recorder {
        fn events(&self) -> Vec<(Instant, Progress)> {
            self.0.lock().unwrap().clone()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_target_gets_its_own_outcome_in_input_order() {
        let targets: Vec<usize> = (0..2000).collect();
        // Later targets finish sooner, so completion order differs from input order.
        let report = run(
            targets,
            &settings(64, 1_000_000, 100),
            &NoProgress,
            never(),
            |i| async move {
                sleep(Duration::from_millis(((2000 - i) % 13) as u64)).await;
                Done::Ok(i)
            },
        )
        .await;

        assert_eq!(report.outcomes.len(), 2000);
        for (position, (target, outcome)) in report.outcomes.iter().enumerate() {
            assert_eq!(*target, position);
            assert_eq!(*outcome, Done::Ok(position));
        }
        assert_eq!(report.count(OutcomeClass::Succeeded), 2000);
        assert!(!report.stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_never_exceeds_the_bound() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let (in_flight2, max2) = (in_flight.clone(), max.clone());
        let report = run(
            (0..2000).collect(),
            &settings(7, 1_000_000, 100),
            &NoProgress,
            never(),
            move |i: usize| {
                let (in_flight, max) = (in_flight2.clone(), max2.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    sleep(Duration::from_millis(1 + (i % 5) as u64)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    Done::Ok(i)
                }
            },
        )
        .await;

        assert_eq!(report.count(OutcomeClass::Succeeded), 2000);
        // The bound is reached (the pool is used) and never passed.
        assert_eq!(max.load(Ordering::SeqCst), 7);
        assert_eq!(in_flight.load(Ordering::SeqCst), 0);
    }

    /// The most starts in any window of `window` beginning at a start.
    fn most_starts_in_window(starts: &[Instant], window: Duration) -> usize {
        let mut sorted = starts.to_vec();
        sorted.sort();
        let mut most = 0;
        let mut end = 0;
        for (begin, first) in sorted.iter().enumerate() {
            while end < sorted.len() && sorted[end] < *first + window {
                end += 1;
            }
            most = most.max(end - begin);
        }
        most
    }

    async fn starts_at(settings: &ExecutorSettings, n: usize) -> (Vec<Instant>, Duration) {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let starts2 = starts.clone();
        let report = run(
            (0..n).collect(),
            settings,
            &NoProgress,
            never(),
            move |i: usize| {
                let starts = starts2.clone();
                async move {
                    starts.lock().unwrap().push(Instant::now());
                    Done::Ok(i)
                }
            },
        )
        .await;
        assert_eq!(report.count(OutcomeClass::Succeeded), n);
        let starts = starts.lock().unwrap().clone();
        (starts, report.elapsed)
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_paces_starts() {
        let (starts, elapsed) = starts_at(&settings(50, 100, 500), 2000).await;

        // 2,000 targets at 100/s: about 20 s of virtual time.
        let expected = Duration::from_secs(20).as_secs_f64();
        let took = elapsed.as_secs_f64();
        assert!((took - expected).abs() <= expected * 0.05, "took {took} s");
        for window_ms in [10, 100, 1000, 5000] {
            let window = Duration::from_millis(window_ms);
            let limit = (100.0 * window.as_secs_f64()).floor() as usize + 1;
            let most = most_starts_in_window(&starts, window);
            assert!(
                most <= limit,
                "{most} starts in {window_ms} ms, limit {limit}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_lets_that_many_start_at_once_and_no_more() {
        let settings = settings(50, 100, 500).with_burst(NonZeroU32::new(10).unwrap());
        assert_eq!(settings.burst().get(), 10);
        let (starts, elapsed) = starts_at(&settings, 500).await;

        let first = *starts.iter().min().unwrap();
        assert_eq!(starts.iter().filter(|t| **t == first).count(), 10);
        for window_ms in [10, 100, 1000] {
            let window = Duration::from_millis(window_ms);
            let limit = (100.0 * window.as_secs_f64()).floor() as usize + 10;
            assert!(most_starts_in_window(&starts, window) <= limit);
        }
        // 490 after the burst at 100/s.
        assert!(
            (4.8..=5.0).contains(&elapsed.as_secs_f64()),
            "took {elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rates_above_the_timer_resolution_are_still_met() {
        let settings = settings(50, 10_000, 500);
        // tokio's timer counts milliseconds: 10 starts share each one, plus one to catch up.
        assert_eq!(settings.burst().get(), 11);
        let (starts, elapsed) = starts_at(&settings, 2000).await;

        assert!(
            (0.19..=0.21).contains(&elapsed.as_secs_f64()),
            "took {elapsed:?}"
        );
        let window = Duration::from_millis(50);
        assert!(most_starts_in_window(&starts, window) <= 500 + 11);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fractional_rate_from_config_spaces_starts() {
        let settings = ExecutorSettings::try_new(4, 0.5, Duration::from_secs(1)).unwrap();
        assert_eq!(settings.rate_per_second(), 0.5);
        let (mut starts, _) = starts_at(&settings, 3).await;
        starts.sort();
        assert_eq!(starts[1] - starts[0], Duration::from_secs(2));
        assert_eq!(starts[2] - starts[1], Duration::from_secs(2));
    }

    #[test]
    fn config_values_that_cannot_pace_a_job_are_refused() {
        let second = Duration::from_secs(1);
        assert_eq!(
            ExecutorSettings::try_new(0, 1.0, second),
            Err(SettingsError::ZeroConcurrency)
        );
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e12, 1e-30] {
            let refused = ExecutorSettings::try_new(1, rate, second);
            assert!(
                matches!(refused, Err(SettingsError::InvalidRate(_))),
                "{rate} gave {refused:?}"
            );
        }
        let ok = ExecutorSettings::try_new(3, 20.0, second).unwrap();
        assert_eq!(ok.concurrency().get(), 3);
        assert_eq!(ok.rate_per_second(), 20.0);
        assert_eq!(
            ok.burst().get(),
            2,
            "one start, plus one to catch up a late timer"
        );
        assert_eq!(ok.progress_interval(), second);
        assert_eq!(
            SettingsError::ZeroConcurrency.to_string(),
            "bulk concurrency must be at least 1"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_failing_target_does_not_stop_the_others() {
        let recorder = Recorder::default();
        let report = run(
            (0..100).collect(),
            &settings(4, 1000, 50),
            &recorder,
            never(),
            |i: usize| async move {
                if i % 10 == 3 {
                    Done::Failed(i)
                } else {
                    Done::Ok(i)
                }
            },
        )
        .await;

        assert_eq!(report.count(OutcomeClass::Failed), 10);
        assert_eq!(report.count(OutcomeClass::Succeeded), 90);
        assert_eq!(report.outcomes[13].1, Done::Failed(13));
        assert_eq!(report.outcomes[14].1, Done::Ok(14));
        let last = recorder.events().last().unwrap().1;
        assert_eq!(
            last,
            Progress {
                done: 100,
                total: 100,
                failed: 10,
                unknown: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_target_is_reported_crashed_and_the_others_finish() {
        let recorder = Recorder::default();
        let report = run(
            (0..50).collect(),
            &settings(8, 1000, 50),
            &recorder,
            never(),
            |i: usize| async move {
                sleep(Duration::from_millis(5)).await;
                if i == 7 {
                    panic!("target 7 blew up");
                }
                Done::Ok(i)
            },
        )
        .await;

        assert_eq!(report.outcomes.len(), 50);
        assert_eq!(report.outcomes[7], (7, Done::Crashed));
        assert_eq!(report.count(OutcomeClass::Succeeded), 49);
        assert_eq!(recorder.events().last().unwrap().1.unknown, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_op_that_panics_before_returning_its_future_is_reported_crashed() {
        let report = run(
            (0..5).collect(),
            &settings(2, 1000, 50),
            &NoProgress,
            never(),
            |i: usize| {
                assert!(i != 2, "no future for target 2");
                async move { Done::Ok(i) }
            },
        )
        .await;

        assert_eq!(report.outcomes[2].1, Done::Crashed);
        assert_eq!(report.count(OutcomeClass::Succeeded), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_is_paced_and_ends_complete() {
        let recorder = Recorder::default();
        let interval = Duration::from_millis(500);
        let started = Instant::now();
        let report = run(
            (0..2000).collect(),
            &settings(20, 100, 500),
            &recorder,
            never(),
            |i: usize| async move {
                sleep(Duration::from_millis(30)).await;
                if i % 100 == 0 {
                    Done::Failed(i)
                } else {
                    Done::Ok(i)
                }
            },
        )
        .await;
        let events = recorder.events();

        assert_eq!(
            events[0],
            (
                started,
                Progress {
                    done: 0,
                    total: 2000,
                    failed: 0,
                    unknown: 0
                }
            )
        );
        let (_, last) = *events.last().unwrap();
        assert_eq!(
            last,
            Progress {
                done: 2000,
                total: 2000,
                failed: 20,
                unknown: 0
            }
        );
        // Every event but the final one is at least an interval after the one before.
        for pair in events[..events.len() - 1].windows(2) {
            assert!(
                pair[1].0 - pair[0].0 >= interval,
                "events {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
        for pair in events.windows(2) {
            assert!(pair[1].1.done >= pair[0].1.done && pair[1].1.failed >= pair[0].1.failed);
        }
        let most = (report.elapsed.as_secs_f64() / interval.as_secs_f64()).floor() as usize + 2;
        assert!(
            events.len() <= most,
            "{} events in {:?}",
            events.len(),
            report.elapsed
        );
        // And the bar moves: about one event per interval over ~20 s.
        assert!(events.len() >= 35, "only {} events", events.len());
        assert_eq!(events.iter().filter(|(_, p)| p.is_complete()).count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn thousands_of_instant_targets_give_only_the_first_and_final_events() {
        let recorder = Recorder::default();
        let report = run(
            (0..5000).collect(),
            &settings(100, 1_000_000_000, 200),
            &recorder,
            never(),
            |i: usize| async move { Done::Ok(i) },
        )
        .await;

        assert!(report.elapsed < Duration::from_millis(200));
        let events: Vec<Progress> = recorder.events().into_iter().map(|(_, p)| p).collect();
        assert_eq!(
            events,
            [
                Progress {
                    done: 0,
                    total: 5000,
                    failed: 0,
                    unknown: 0
                },
                Progress {
                    done: 5000,
                    total: 5000,
                    failed: 0,
                    unknown: 0
                },
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn progress_made_before_a_long_wait_is_shown_after_one_interval() {
        let recorder = Recorder::default();
        let started = Instant::now();
        run(
            (0..3).collect(),
            &settings(3, 1_000_000, 1000),
            &recorder,
            never(),
            |i: usize| async move {
                if i == 2 {
                    sleep(Duration::from_secs(10)).await;
                }
                Done::Ok(i)
            },
        )
        .await;

        let events: Vec<(Duration, usize)> = recorder
            .events()
            .into_iter()
            .map(|(at, p)| ((at - started), p.done))
            .collect();
        assert_eq!(
            events,
            [
                (Duration::ZERO, 0),
                (Duration::from_secs(1), 2),
                (Duration::from_secs(10), 3),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_channel_holds_the_latest_progress() {
        let (sender, receiver) = watch::channel(Progress::default());
        run(
            (0..10).collect(),
            &settings(2, 1000, 100),
            &sender,
            never(),
            |i: usize| async move { Done::Ok(i) },
        )
        .await;
        assert_eq!(
            *receiver.borrow(),
            Progress {
                done: 10,
                total: 10,
                failed: 0,
                unknown: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_starts_nothing_new_and_reports_the_rest_not_started() {
        let (stop, stop_rx) = watch::channel(false);
        let stop = Arc::new(stop);
        let calls = Arc::new(AtomicUsize::new(0));
        let (stop2, calls2) = (stop.clone(), calls.clone());
        let recorder = Recorder::default();
        let report = run(
            (0..100).collect(),
            &settings(2, 1_000_000, 100),
            &recorder,
            stop_rx,
            move |i: usize| {
                calls2.fetch_add(1, Ordering::SeqCst);
                let stop = stop2.clone();
                async move {
                    if i == 5 {
                        // Shutdown begins while targets 4 and 5 are in flight.
                        stop.send_replace(true);
                    }
                    sleep(Duration::from_secs(1)).await;
                    Done::Ok(i)
                }
            },
        )
        .await;

        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert!(report.stopped);
        assert_eq!(report.outcomes.len(), 100);
        for (i, (target, outcome)) in report.outcomes.iter().enumerate() {
            assert_eq!(*target, i);
            // The targets in flight finished; none after them started.
            let expected = if i <= 5 {
                Done::Ok(i)
            } else {
                Done::NotStarted
            };
            assert_eq!(*outcome, expected);
        }
        assert_eq!(report.count(OutcomeClass::Skipped), 94);
        assert_eq!(recorder.events().last().unwrap().1.done, 100);
        assert_eq!(report.elapsed, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_stopped_before_it_starts_runs_nothing() {
        let (_stop, stop_rx) = watch::channel(true);
        let calls = AtomicUsize::new(0);
        let report = run(
            vec!["a", "b"],
            &settings(2, 10, 100),
            &NoProgress,
            stop_rx,
            |t| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { Done::Ok(t.len()) }
            },
        )
        .await;

        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(
            report.outcomes,
            [("a", Done::NotStarted), ("b", Done::NotStarted)]
        );
        assert!(report.stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_while_waiting_for_the_rate_limit_ends_the_wait() {
        let (stop, stop_rx) = watch::channel(false);
        // Shutdown begins 5 s (virtual) in, while nothing is in flight and the executor waits
        // for the second target's turn.
        let shutdown = tokio::spawn(async move {
            sleep(Duration::from_secs(5)).await;
            stop.send_replace(true);
        });
        // One target a minute.
        let settings = ExecutorSettings::try_new(3, 1.0 / 60.0, Duration::from_secs(1)).unwrap();
        let report = run(
            (0..3).collect(),
            &settings,
            &NoProgress,
            stop_rx,
            |i: usize| async move { Done::Ok(i) },
        )
        .await;
        shutdown.await.unwrap();

        assert_eq!(
            report.outcomes,
            [
                (0, Done::Ok(0)),
                (1, Done::NotStarted),
                (2, Done::NotStarted)
            ]
        );
        // The job ends when asked, not when the next turn would have come.
        assert_eq!(report.elapsed, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_job_reports_nothing_and_completes() {
        let recorder = Recorder::default();
        let report = run(
            Vec::<usize>::new(),
            &settings(2, 10, 100),
            &recorder,
            never(),
            |i| async move { Done::Ok(i) },
        )
        .await;
        assert!(report.outcomes.is_empty());
        assert!(!report.stopped);
        let last = recorder.events().last().unwrap().1;
        assert!(last.is_complete());
    }

    #[test]
    fn passdesk_outcomes_count_as_a_helpdesk_would_read_them() {
        type O = Outcome<String>;
        let table: [(O, OutcomeClass); 9] = [
            (O::SentActivation, OutcomeClass::Succeeded),
            (O::SentReset, OutcomeClass::Succeeded),
            (O::Expired, OutcomeClass::Succeeded),
            (O::Notified, OutcomeClass::Succeeded),
            (
                O::Skipped {
                    reason: "suspended".into(),
                },
                OutcomeClass::Skipped,
            ),
            (O::NotStarted, OutcomeClass::Skipped),
            (
                O::Failed {
                    error: "not found".into(),
                },
                OutcomeClass::Failed,
            ),
            (O::Unknown, OutcomeClass::Unknown),
            (O::Crashed, OutcomeClass::Unknown),
        ];
        for (outcome, class) in table {
            assert_eq!(outcome.class(), class, "{outcome:?}");
        }
        assert_eq!(O::not_started(), O::NotStarted);
        assert_eq!(O::crashed(), O::Crashed);
    }
}
