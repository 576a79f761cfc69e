//! The best-effort second sink: posts to a chat audit channel, fed by a bounded, retrying queue.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use passdesk_core::retry::{self, Decision, OperationKind, Outcome, RetryPolicy};
use tokio::sync::{Notify, watch};
use tokio::task::AbortHandle;
use tracing::Instrument;

use super::file::AuditRecord;

/// The future [`AuditChannel::post`] returns.
pub type PostFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ChannelError>> + Send + 'a>>;

/// A chat channel that receives audit events; each chat adapter implements it.
///
/// The trait is object safe (`Arc<dyn AuditChannel>`). The queue calls `post` for one record at
/// a time, in order, and calls it again for the same record after an error, so an
/// implementation should render [`AuditRecord::seq`] in the message: a post that was made but
/// whose answer was lost is then recognisable when it appears twice.
pub trait AuditChannel: Send + Sync + 'static {
    /// Posts one record. The future must not outlive a sensible request timeout: a hung post
    /// holds back every later event.
    fn post<'a>(&'a self, record: &'a AuditRecord) -> PostFuture<'a>;
}

/// Why a post failed. Every kind is retried (the event is kept until delivered); the kind only
/// decides how long to wait.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The platform asked to slow down, possibly saying for how long.
    #[error("audit channel rate limited")]
    RateLimited {
        /// The platform's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// A server error or timeout: the post may or may not have been made.
    #[error("audit channel unavailable")]
    Unavailable {
        /// The HTTP status, when there was one.
        status: Option<u16>,
    },
    /// The platform could not be reached; nothing was posted.
    #[error("audit channel not reached")]
    NotSent,
    /// The platform refused the post (e.g. Slack `not_in_channel`, Discord missing
    /// permission): nothing was posted, and it will keep failing until someone fixes the setup.
    #[error("audit channel refused the post: {reason}")]
    Refused {
        /// A short reason: build with [`ChannelError::refused`] so it is a bounded excerpt.
        reason: String,
    },
}

impl ChannelError {
    /// A refusal with a bounded, single-line excerpt of the platform's reason.
    pub fn refused(reason: &str) -> Self {
        ChannelError::Refused {
            reason: passdesk_core::http::excerpt(reason),
        }
    }

    /// The retry rule's view of this error.
    fn outcome(&self) -> Outcome {
        match self {
            ChannelError::RateLimited { retry_after } => Outcome::RateLimited {
                retry_after: *retry_after,
            },
            ChannelError::Unavailable {
                status: Some(status),
            } => Outcome::ServerError { status: *status },
            ChannelError::Unavailable { status: None } => Outcome::LostAfterSend,
            // A refused post was not made: as safe to resend as one that never left.
            ChannelError::NotSent | ChannelError::Refused { .. } => Outcome::NotSent,
        }
    }
}

/// Settings of the channel queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelQueueConfig {
    /// The most events waiting for the channel; when full, the oldest waiting one is dropped
    /// from the queue (never from the file), with an error log and a count.
    pub capacity: usize,
    /// The first backoff after a failure (doubled per failure, with jitter).
    pub base_delay: Duration,
    /// The longest backoff between attempts (a longer `Retry-After` is still honoured).
    pub max_delay: Duration,
}

impl Default for ChannelQueueConfig {
    /// 10,000 events; backoff from 1 s to 5 min.
    fn default() -> Self {
        Self {
            capacity: 10_000,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl ChannelQueueConfig {
    /// The shared retry rule, with no bound on attempts or total wait: an event is retried
    /// until delivered. Posts are treated as idempotent writes because each carries its `seq`,
    /// so a duplicate after a lost answer is recognisable rather than harmful.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(u32::MAX)
            .with_base_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_total_wait(Duration::MAX)
    }
}

/// Counters of the channel queue, for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events waiting, including the one being posted.
    pub pending: u64,
    /// Events posted.
    pub delivered: u64,
    /// Events dropped from the queue because it was full (they are in the file).
    pub dropped: u64,
    /// Failed post attempts.
    pub failed_attempts: u64,
}

/// A handle on the queue feeding one [`AuditChannel`]. Cheap to clone; the worker task stops
/// when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct ChannelQueue {
    inner: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    worker: AbortHandle,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

#[derive(Debug)]
struct Shared {
    capacity: usize,
    state: Mutex<State>,
    wake: Notify,
    pending: watch::Sender<u64>,
    delivered: AtomicU64,
    dropped: AtomicU64,
    failed_attempts: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<AuditRecord>,
    in_flight: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (plain pushes and pops), so keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish_pending(&self, state: &State) {
        let pending = state.queue.len() as u64 + u64::from(state.in_flight);
        self.pending.send_replace(pending);
    }

    fn take_next(&self) -> Option<AuditRecord> {
        let mut state = self.lock();
        let next = state.queue.pop_front();
        state.in_flight = next.is_some();
        self.publish_pending(&state);
        next
    }

    fn finish(&self) {
        let mut state = self.lock();
        state.in_flight = false;
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.publish_pending(&state);
    }
}

impl ChannelQueue {
    /// Starts the worker task that posts queued records to `channel`. Needs a Tokio runtime.
    pub fn spawn(channel: Arc<dyn AuditChannel>, config: ChannelQueueConfig) -> Self {
        let shared = Arc::new(Shared {
            capacity: config.capacity.max(1),
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            pending: watch::Sender::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
        });
        let span = tracing::info_span!("audit_channel_queue");
        let worker =
            tokio::spawn(run(Arc::clone(&shared), channel, config).instrument(span)).abort_handle();
        Self {
            inner: Arc::new(Handle { shared, worker }),
        }
    }

    /// Queues a record for the channel without waiting. When the queue is full the oldest
    /// waiting record is dropped (logged at error level and counted); the one being posted is
    /// never dropped.
    pub fn enqueue(&self, record: AuditRecord) {
        let shared = &self.inner.shared;
        let mut state = shared.lock();
        if state.queue.len() >= shared.capacity {
            if let Some(oldest) = state.queue.pop_front() {
                let dropped = shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(
                    seq = oldest.seq(),
                    request_id = %oldest.event().request_id(),
                    dropped_total = dropped,
                    capacity = shared.capacity,
                    "audit channel queue full: dropped the oldest undelivered event from the \
                     channel queue; it is still in the audit log file"
                );
            }
        }
        state.queue.push_back(record);
        shared.publish_pending(&state);
        drop(state);
        shared.wake.notify_one();
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        let shared = &self.inner.shared;
        QueueStats {
            pending: *shared.pending.borrow(),
            delivered: shared.delivered.load(Ordering::Relaxed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            failed_attempts: shared.failed_attempts.load(Ordering::Relaxed),
        }
    }

    /// Resolves once nothing is waiting or being posted (at shutdown, wrap it in a timeout).
    pub async fn flushed(&self) {
        let mut pending = self.inner.shared.pending.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we wait.
        let _ = pending.wait_for(|&n| n == 0).await;
    }
}

/// The worker: posts records one at a time, in order, each until delivered.
async fn run(shared: Arc<Shared>, channel: Arc<dyn AuditChannel>, config: ChannelQueueConfig) {
    loop {
        match shared.take_next() {
            Some(record) => {
                deliver(&shared, channel.as_ref(), &config, &record).await;
                shared.finish();
            }
            None => shared.wake.notified().await,
        }
    }
}

/// Posts `record` until the channel accepts it, waiting as the shared retry rule says.
async fn deliver(
    shared: &Shared,
    channel: &dyn AuditChannel,
    config: &ChannelQueueConfig,
    record: &AuditRecord,
) {
    let policy = config.policy();
    let mut attempt: u32 = 1;
    let mut waited = Duration::ZERO;
    loop {
        let span = tracing::info_span!(
            "audit_channel_post",
            seq = record.seq(),
            event = record.event().transition().name(),
            attempt,
            outcome = tracing::field::Empty,
        );
        let result = channel.post(record).instrument(span.clone()).await;
        let error = match result {
            Ok(()) => {
                span.record("outcome", "posted");
                return;
            }
            Err(error) => error,
        };
        span.record("outcome", "failed");
        shared.failed_attempts.fetch_add(1, Ordering::Relaxed);
        let decision = policy.decide(
            OperationKind::IdempotentWrite,
            error.outcome(),
            attempt,
            waited,
            retry::jitter(),
        );
        let delay = match decision {
            Decision::RetryAfter(delay) => delay,
            // Unreachable with the unbounded policy; should it happen, wait the longest
            // backoff and start over rather than lose the event.
            Decision::GiveUp | Decision::Unknown => {
                attempt = 0;
                waited = Duration::ZERO;
                config.max_delay
            }
        };
        if matches!(error, ChannelError::Refused { .. }) {
            tracing::error!(seq = record.seq(), attempt, error = %error, retry_in = ?delay,
                "audit channel refused an event; it stays queued until the channel accepts it");
        } else {
            tracing::warn!(seq = record.seq(), attempt, error = %error, retry_in = ?delay,
                "audit channel post failed; retrying");
        }
        tokio::time::sleep(delay).await;
        waited = waited.saturating_add(delay);
        attempt = attempt.saturating_add(1);
    }
}
