//! The work a chat adapter does after its first answer (edits, follow-ups, the approvals
//! post), the count of such work still running (for a graceful shutdown), and the two pieces
//! both adapters' cores share on the way to that first answer:
//!
//! - [`first_answer`] decides what can be answered at once: the engine's future is polled
//!   once where the request is handled; what is ready (a usage error, the help, a press on an
//!   unknown request, the password button) is answered directly, and anything that waits on
//!   I/O (an audit line, a directory look-up) goes on in its own task while the platform is
//!   acknowledged. An optional budget waits a little longer for those who prefer it.
//! - [`SweptMap`] is the small map each core keeps of the messages it will edit later, with
//!   old entries swept at most once per [`SWEEP_EVERY`] rather than on every insert, so a
//!   request costs O(1) however many are pending.
//!
//! Both adapters' cores answer a request first (Discord's first response, Slack's ack) and
//! hand back a [`FollowUp`] to start once that answer is sent.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tracing::{Instrument as _, Span};

/// The most engine tasks an adapter lets run after their first answer (see [`Backlog`]).
pub(crate) const MAX_BACKLOG: usize = 1024;
/// How long a new interaction waits for room in a full [`Backlog`] before it is told that
/// Passdesk is busy.
pub(crate) const BACKLOG_WAIT: Duration = Duration::from_millis(100);

/// A bound on the engine work running after its first answer. Acknowledging at once must not
/// mean accepting without limit: past the bound, work piles up faster than it ends, every
/// answer comes later and later, and memory grows with the pile (measured: over 800 MB at
/// 4,000 interactions/s). A full backlog makes a new interaction wait briefly for room (a
/// burst is absorbed) and, after [`BACKLOG_WAIT`], answers it "busy" without starting
/// anything: under sustained overload people are told at once, well within Discord's and
/// Slack's 3 seconds.
#[derive(Debug, Clone)]
pub(crate) struct Backlog {
    room: Arc<Semaphore>,
    wait: Duration,
}

impl Backlog {
    /// Room for `capacity` tasks; a new one waits at most `wait` for room.
    pub(crate) fn new(capacity: usize, wait: Duration) -> Self {
        Self {
            room: Arc::new(Semaphore::new(capacity)),
            wait,
        }
    }

    /// A place in the backlog, or `None` when none freed up within the wait.
    async fn admit(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.room).try_acquire_owned() {
            return Some(permit);
        }
        tokio::time::timeout(self.wait, Arc::clone(&self.room).acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

impl Default for Backlog {
    fn default() -> Self {
        Self::new(MAX_BACKLOG, BACKLOG_WAIT)
    }
}

/// The least time between two sweeps of a [`SweptMap`].
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Counts follow-up work still running, for a graceful shutdown.
#[derive(Debug, Clone)]
pub(crate) struct Inflight(Arc<Count>);

#[derive(Debug, Default)]
struct Count {
    running: AtomicUsize,
    idle: Notify,
}

/// One piece of counted work: dropping it uncounts it.
struct InflightGuard(Arc<Count>);

impl Inflight {
    /// No work running.
    pub(crate) fn new() -> Self {
        Self(Arc::new(Count::default()))
    }

    fn enter(&self) -> InflightGuard {
        self.0.running.fetch_add(1, Ordering::AcqRel);
        InflightGuard(Arc::clone(&self.0))
    }

    /// Waits until no counted work is running.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so the last guard's drop cannot be missed.
            notified.as_mut().enable();
            if self.0.running.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// `work` as a follow-up in the current span, counted from now until it ends or is
    /// dropped.
    pub(crate) fn follow_up(&self, work: impl Future<Output = ()> + Send + 'static) -> FollowUp {
        FollowUp {
            work: Some((Box::pin(work), self.enter())),
            span: Span::current(),
        }
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

type Work = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What to do once the first answer has been sent: edits, follow-ups, the approvals post.
#[must_use = "start it once the first answer has been sent"]
pub struct FollowUp {
    work: Option<(Work, InflightGuard)>,
    span: Span,
}

impl fmt::Debug for FollowUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowUp")
            .field("pending_work", &self.work.is_some())
            .finish()
    }
}

impl FollowUp {
    /// Nothing to do after the answer.
    pub(crate) fn none() -> Self {
        Self {
            work: None,
            span: Span::current(),
        }
    }

    /// Starts the work in the background (instrumented with the request's span). Call it once
    /// the platform has the first answer; dropping it instead abandons the work (the engine's
    /// own work, such as a running job, goes on).
    pub fn start(self) -> Option<JoinHandle<()>> {
        let (work, guard) = self.work?;
        Some(tokio::spawn(
            async move {
                work.await;
                drop(guard);
            }
            .instrument(self.span),
        ))
    }

    /// Whether there is anything to start.
    pub fn is_empty(&self) -> bool {
        self.work.is_none()
    }
}

/// The engine's work ended without an answer: it panicked, or its task was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    /// Whether it panicked.
    pub(crate) panicked: bool,
    /// Whether it never started because the [`Backlog`] was full.
    pub(crate) busy: bool,
}

impl Failed {
    /// What the requester is told: busy (nothing was done; try again) or failed.
    pub(crate) fn reply(self) -> passdesk_commands::Reply {
        if self.busy {
            passdesk_commands::Reply::warning(
                "Passdesk is busy",
                "Too many requests are being worked on right now; nothing was done for this \
                 one. Try again in a few seconds.",
            )
        } else {
            passdesk_commands::Reply::error(
                "Passdesk failed",
                "An internal error stopped this request; nothing more will happen for it. \
                 Tell a Passdesk administrator.",
            )
        }
    }
}

impl From<JoinError> for Failed {
    fn from(error: JoinError) -> Self {
        Self {
            panicked: error.is_panic(),
            busy: false,
        }
    }
}

/// How the engine's work stood when the first answer was due.
pub(crate) enum Raced<T> {
    /// Done (or failed) without waiting on I/O, or within the budget: answer directly.
    Ready(Result<T, Failed>),
    /// Still running in its own task: acknowledge now, answer once it is done.
    Late(JoinHandle<T>),
}

/// Takes a place in `backlog` (waiting for one if it is full; none within its wait: a
/// [`Failed`] `busy` answer, and `work` never starts), then polls `work` once, here and now. Ready (it needed no I/O: a usage error, the help, a
/// store-only press): its answer. Pending: it goes on in its own task, which is waited for at
/// most `budget` (zero: not at all) before it is handed back as [`Raced::Late`]. A panic
/// during that first poll is caught and reported as [`Failed`], as a panicking task would be.
///
/// `work` is boxed and pinned before the poll, so its pinned state moves into the task
/// untouched; the task polls it again at once with a real waker.
pub(crate) async fn first_answer<T, F>(work: F, budget: Duration, backlog: &Backlog) -> Raced<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let Some(place) = backlog.admit().await else {
        tracing::warn!("backlog full; the interaction is answered busy");
        return Raced::Ready(Err(Failed {
            panicked: false,
            busy: true,
        }));
    };
    let mut work = Box::pin(work);
    if let Some(done) = poll_once(work.as_mut()) {
        return Raced::Ready(done);
    }
    let mut task = tokio::spawn(async move {
        let done = work.await;
        drop(place);
        done
    });
    if budget.is_zero() {
        return Raced::Late(task);
    }
    match tokio::time::timeout(budget, &mut task).await {
        Ok(done) => Raced::Ready(done.map_err(Failed::from)),
        Err(_) => Raced::Late(task),
    }
}

/// Polls `work` once with a waker that does nothing (the task it moves to next polls it again
/// with a real one); a panic is caught.
fn poll_once<T>(work: Pin<&mut (impl Future<Output = T> + ?Sized)>) -> Option<Result<T, Failed>> {
    let mut cx = Context::from_waker(Waker::noop());
    match panic::catch_unwind(AssertUnwindSafe(|| work.poll(&mut cx))) {
        Ok(Poll::Ready(done)) => Some(Ok(done)),
        Ok(Poll::Pending) => None,
        Err(_) => Some(Err(Failed {
            panicked: true,
            busy: false,
        })),
    }
}

/// A value that knows when it was remembered.
pub(crate) trait Dated {
    /// When it was first remembered.
    fn since(&self) -> Instant;
}

/// A concurrent map whose entries are forgotten once older than its retention: swept on an
/// insert at most once per [`SWEEP_EVERY`] (an insert is O(1) amortised, not a walk of the
/// whole map), by whichever insert finds the sweep due. Reads go straight to the map.
pub(crate) struct SweptMap<K, V> {
    map: DashMap<K, V>,
    retention: Duration,
    every: Duration,
    next_sweep: Mutex<Instant>,
}

impl<K, V> fmt::Debug for SweptMap<K, V>
where
    K: Eq + Hash,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SweptMap")
            .field("len", &self.map.len())
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl<K, V> SweptMap<K, V>
where
    K: Eq + Hash,
    V: Dated,
{
    /// An empty map keeping entries for `retention`, swept at most once per [`SWEEP_EVERY`].
    pub(crate) fn new(retention: Duration) -> Self {
        Self::with_sweep_every(retention, SWEEP_EVERY)
    }

    /// An empty map keeping entries for `retention`, swept at most once per `every`.
    pub(crate) fn with_sweep_every(retention: Duration, every: Duration) -> Self {
        Self {
            map: DashMap::new(),
            retention,
            every,
            next_sweep: Mutex::new(Instant::now() + every),
        }
    }

    /// Remembers `value` under `key` (first sweeping the map, when a sweep is due).
    pub(crate) fn insert(&self, key: K, value: V) -> Option<V> {
        if self.sweep_due() {
            let retention = self.retention;
            self.map
                .retain(|_, value| value.since().elapsed() < retention);
        }
        self.map.insert(key, value)
    }

    /// Whether a sweep is due now; if so, the next one is due `every` from now. Never
    /// blocks: while another caller decides, this one does not sweep.
    fn sweep_due(&self) -> bool {
        let mut next = match self.next_sweep.try_lock() {
            Ok(next) => next,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + self.every;
        true
    }
}

impl<K, V> Deref for SweptMap<K, V> {
    type Target = DashMap<K, V>;

    fn deref(&self) -> &DashMap<K, V> {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct At(Instant);

    impl Dated for At {
        fn since(&self) -> Instant {
            self.0
        }
    }

    fn at_now() -> At {
        At(Instant::now())
    }

    async fn advance_ms(ms: u64) {
        tokio::time::advance(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn stale_entries_are_swept_after_the_interval_not_on_every_insert() {
        let map = SweptMap::with_sweep_every(Duration::from_secs(10), Duration::from_secs(1));
        map.insert("a", at_now());
        advance_ms(600).await;
        map.insert("c", at_now());
        advance_ms(9_900).await;
        // 10.5 s: "a" is stale and the first sweep is due.
        map.insert("b", at_now());
        assert!(!map.contains_key("a"), "swept once its retention passed");
        assert!(map.contains_key("c"), "9.9 s old: kept");
        advance_ms(300).await;
        // 10.8 s: "c" is stale now, but the last sweep was 0.3 s ago.
        map.insert("d", at_now());
        assert!(
            map.contains_key("c"),
            "no sweep within the interval of the last one"
        );
        assert_eq!(map.len(), 3);
        advance_ms(800).await;
        // 11.6 s: the next sweep is due.
        map.insert("e", at_now());
        assert!(!map.contains_key("c"), "swept at the next sweep");
        let mut left: Vec<_> = map.iter().map(|e| *e.key()).collect();
        left.sort_unstable();
        assert_eq!(left, ["b", "d", "e"]);
    }

    #[tokio::test(start_paused = true)]
    async fn work_without_io_is_answered_at_the_first_poll() {
        match first_answer(async { 7 }, Duration::ZERO, &Backlog::default()).await {
            Raced::Ready(Ok(7)) => {}
            _ => panic!("a ready future is answered directly"),
        }
        // An uncontended tokio mutex is no I/O either: ready at once.
        let lock = Arc::new(tokio::sync::Mutex::new(1));
        let held = Arc::clone(&lock);
        match first_answer(
            async move { *held.lock().await + 1 },
            Duration::ZERO,
            &Backlog::default(),
        )
        .await
        {
            Raced::Ready(Ok(2)) => {}
            _ => panic!("an uncontended lock does not defer"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_work_goes_on_in_its_own_task_and_still_answers() {
        let (send, receive) = tokio::sync::oneshot::channel::<u32>();
        let raced = first_answer(
            async move { receive.await.unwrap_or(0) },
            Duration::ZERO,
            &Backlog::default(),
        )
        .await;
        let Raced::Late(task) = raced else {
            panic!("work waiting on something else is not answered at the first poll");
        };
        send.send(41).unwrap();
        assert_eq!(task.await.unwrap(), 41, "the pending future went on");
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_waits_for_slow_work_at_most_that_long() {
        let slow = |ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms
        };
        let budget = Duration::from_millis(100);
        assert!(matches!(
            first_answer(slow(50), budget, &Backlog::default()).await,
            Raced::Ready(Ok(50))
        ));
        let started = Instant::now();
        let Raced::Late(task) = first_answer(slow(500), budget, &Backlog::default()).await else {
            panic!("slower than the budget");
        };
        assert_eq!(started.elapsed(), budget);
        assert_eq!(task.await.unwrap(), 500);
    }

    #[tokio::test]
    async fn a_panic_at_the_first_poll_is_a_failed_answer() {
        let raced = first_answer(
            async {
                if Instant::now().elapsed() < Duration::from_secs(3600) {
                    panic!("engine bug");
                }
                1
            },
            Duration::ZERO,
            &Backlog::default(),
        )
        .await;
        assert!(matches!(
            raced,
            Raced::Ready(Err(Failed {
                panicked: true,
                busy: false
            }))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_backlog_waits_for_room_then_answers_busy_without_starting_the_work() {
        let backlog = Backlog::new(1, Duration::from_millis(200));
        let (send, receive) = tokio::sync::oneshot::channel::<u32>();
        let Raced::Late(first) = first_answer(
            async move { receive.await.unwrap_or(0) },
            Duration::ZERO,
            &backlog,
        )
        .await
        else {
            panic!("the first waits on I/O");
        };
        // The backlog is full: the next one waits its turn, then is answered busy, unstarted.
        let started = Arc::new(AtomicUsize::new(0));
        let ran = Arc::clone(&started);
        let before = Instant::now();
        let second = first_answer(
            async move {
                ran.fetch_add(1, Ordering::SeqCst);
            },
            Duration::ZERO,
            &backlog,
        )
        .await;
        assert!(matches!(
            second,
            Raced::Ready(Err(Failed {
                busy: true,
                panicked: false
            }))
        ));
        assert_eq!(before.elapsed(), Duration::from_millis(200));
        assert_eq!(started.load(Ordering::SeqCst), 0, "busy work never starts");
        assert!(
            Failed {
                busy: true,
                panicked: false
            }
            .reply()
            .title
            .contains("busy")
        );
        // Once the first ends, its place is free again.
        send.send(1).unwrap();
        assert_eq!(first.await.unwrap(), 1);
        let third = first_answer(async { 3 }, Duration::ZERO, &backlog).await;
        assert!(matches!(third, Raced::Ready(Ok(3))));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_waits_for_every_started_follow_up() {
        let inflight = Inflight::new();
        inflight.idle().await;
        let (send, receive) = tokio::sync::oneshot::channel::<()>();
        let follow_up = inflight.follow_up(async move {
            let _ = receive.await;
        });
        let waiting = {
            let inflight = inflight.clone();
            tokio::spawn(async move { inflight.idle().await })
        };
        let handle = follow_up.start().unwrap();
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "one follow-up still runs");
        send.send(()).unwrap();
        handle.await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("idle once the follow-up ended")
            .unwrap();
    }
}
