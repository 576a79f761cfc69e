//! Replay protection for the HTTP interactions endpoint: a validly signed delivery replayed
//! (the same interaction id again) is never dispatched twice.
//!
//! Discord never sends an interaction twice (it does not retry deliveries), so a second
//! delivery of an id is a replay: the endpoint answers it `401`, like any other delivery that
//! is not a fresh one from Discord, and does not act on it (see [`super::http`]).
//!
//! Ids are remembered for [`ReplayGuard::ttl`]: twice the signature window plus a margin, so
//! an id is still remembered for as long as any copy of its delivery could pass the timestamp
//! check (a timestamp up to five minutes in the future stays acceptable for ten minutes). The
//! set is bounded by that time (only signature-checked deliveries are recorded, so only
//! Discord's traffic fills it) and by a hard capacity; expired ids are swept by
//! [`ReplayGuard::spawn_sweeper`] and when the capacity is reached.
//!
//! Admitting an id is O(1): a look-up and an insert in a sharded map. A full set is swept
//! only when one of its ids can have expired (the earliest expiry the last sweep saw has
//! passed) and at most once per [`FULL_SWEEP_EVERY`], so deliveries arriving at a full set
//! are refused in O(1) rather than each walking the whole set.

use std::sync::{Arc, Mutex, TryLockError, Weak};
use std::time::Duration;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::Instrument as _;

use super::signature::SIGNATURE_WINDOW;

/// Added to twice the signature window, for clock differences.
const TTL_MARGIN: Duration = Duration::from_secs(30);
/// The default capacity: far above what Discord sends one bot in ten minutes.
pub const DEFAULT_CAPACITY: usize = 200_000;
/// How often the sweeper forgets expired ids by default.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// The least time between two sweeps caused by a full set.
pub const FULL_SWEEP_EVERY: Duration = Duration::from_millis(100);

/// What [`ReplayGuard::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// First sighting: act on it.
    Fresh,
    /// Seen before, within the time-to-live: a replay, never acted on again.
    Replay,
    /// The set is full of unexpired ids: refused, since forgetting one would allow its replay.
    Full,
}

/// The interaction ids seen recently, each with when it may be forgotten.
#[derive(Debug)]
pub struct ReplayGuard {
    seen: DashMap<u64, Instant>,
    ttl: Duration,
    capacity: usize,
    swept: Mutex<Swept>,
}

/// What the last sweep left.
#[derive(Debug, Default, Clone, Copy)]
struct Swept {
    /// The earliest expiry among the ids it kept (`None`: it kept none, or none ran yet).
    earliest: Option<Instant>,
    /// When a full set was last swept.
    when_full: Option<Instant>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(2 * SIGNATURE_WINDOW + TTL_MARGIN, DEFAULT_CAPACITY)
    }
}

impl ReplayGuard {
    /// A guard remembering ids for `ttl`, at most `capacity` of them at once.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            seen: DashMap::new(),
            ttl,
            capacity,
            swept: Mutex::new(Swept::default()),
        }
    }

    /// How long an id is remembered.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many ids are remembered now (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Records `id` as seen at `now` if it is new (or its record expired): exactly one of
    /// several concurrent deliveries of the same id is [`Admission::Fresh`].
    pub fn admit(&self, id: u64, now: Instant) -> Admission {
        if self.seen.len() >= self.capacity && !self.seen.contains_key(&id) {
            if self.full_sweep_due(now) {
                self.sweep(now);
            }
            if self.seen.len() >= self.capacity {
                tracing::warn!(
                    capacity = self.capacity,
                    "replay set full of unexpired interaction ids; refusing new deliveries"
                );
                return Admission::Full;
            }
        }
        let expires = now + self.ttl;
        match self.seen.entry(id) {
            Entry::Occupied(mut seen) => {
                if *seen.get() > now {
                    Admission::Replay
                } else {
                    seen.insert(expires);
                    Admission::Fresh
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(expires);
                Admission::Fresh
            }
        }
    }

    /// Forgets every id whose time ran out by `now`; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut forgotten = 0;
        let mut earliest: Option<Instant> = None;
        self.seen.retain(|_, expires| {
            if *expires > now {
                earliest = Some(earliest.map_or(*expires, |e| e.min(*expires)));
                true
            } else {
                forgotten += 1;
                false
            }
        });
        self.swept_state().earliest = earliest;
        forgotten
    }

    /// Whether a full set is worth sweeping at `now`: some id can have expired since the last
    /// sweep, and the last sweep of a full set is [`FULL_SWEEP_EVERY`] old. Never blocks: while
    /// another delivery decides, this one does not sweep.
    fn full_sweep_due(&self, now: Instant) -> bool {
        let mut swept = match self.swept.try_lock() {
            Ok(swept) => swept,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        let expired = swept.earliest.is_none_or(|earliest| earliest <= now);
        let rested = swept
            .when_full
            .is_none_or(|at| now.saturating_duration_since(at) >= FULL_SWEEP_EVERY);
        if expired && rested {
            swept.when_full = Some(now);
            true
        } else {
            false
        }
    }

    fn swept_state(&self) -> std::sync::MutexGuard<'_, Swept> {
        self.swept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sweeps every `interval` until the guard is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, interval: Duration) -> JoinHandle<()> {
        let guard: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(
            async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let Some(guard) = guard.upgrade() else {
                        return;
                    };
                    let forgotten = guard.sweep(Instant::now());
                    if forgotten > 0 {
                        tracing::debug!(forgotten, "replay set swept");
                    }
                }
            }
            .instrument(tracing::debug_span!("discord.replay_sweeper")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ttl_outlives_any_acceptable_timestamp() {
        let guard = ReplayGuard::default();
        assert!(guard.ttl() > 2 * SIGNATURE_WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn an_id_is_refused_until_its_record_expires() {
        let guard = ReplayGuard::new(Duration::from_secs(630), 10);
        let start = Instant::now();
        assert_eq!(guard.admit(1, start), Admission::Fresh);
        assert_eq!(guard.admit(1, start), Admission::Replay);
        assert_eq!(guard.admit(2, start), Admission::Fresh);

        tokio::time::advance(Duration::from_secs(629)).await;
        assert_eq!(guard.admit(1, Instant::now()), Admission::Replay);

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(guard.admit(1, Instant::now()), Admission::Fresh);
        assert_eq!(guard.admit(1, Instant::now()), Admission::Replay);
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweeper_forgets_expired_ids_and_stops_with_the_guard() {
        let guard = Arc::new(ReplayGuard::new(Duration::from_secs(60), 100));
        let now = Instant::now();
        for id in 0..10 {
            assert_eq!(guard.admit(id, now), Admission::Fresh);
        }
        let sweeper = guard.spawn_sweeper(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(guard.len(), 10, "nothing expired yet");
        assert_eq!(guard.admit(99, Instant::now()), Admission::Fresh);
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(
            guard.len(),
            1,
            "the first ten were swept, 99 is still remembered"
        );
        assert_eq!(guard.admit(99, Instant::now()), Admission::Replay);
        drop(guard);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(sweeper.is_finished(), "the sweeper ends with the guard");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_set_refuses_new_ids_until_some_expire() {
        let guard = ReplayGuard::new(Duration::from_secs(60), 3);
        let now = Instant::now();
        for id in 1..=3 {
            assert_eq!(guard.admit(id, now), Admission::Fresh);
        }
        assert_eq!(guard.admit(4, now), Admission::Full);
        assert_eq!(
            guard.admit(2, now),
            Admission::Replay,
            "known ids are still replays"
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(guard.admit(4, Instant::now()), Admission::Fresh);
        assert_eq!(guard.len(), 1, "the expired ones were swept to make room");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_set_is_not_walked_again_before_an_id_can_expire() {
        let guard = ReplayGuard::new(Duration::from_secs(60), 3);
        let start = Instant::now();
        for id in 1..=3 {
            assert_eq!(guard.admit(id, start), Admission::Fresh);
        }
        assert_eq!(guard.admit(4, start), Admission::Full);
        // Ids 1..=3 expire at 60 s: until then a full set is refused without a sweep.
        {
            let swept = guard.swept_state();
            assert_eq!(swept.earliest, Some(start + Duration::from_secs(60)));
        }
        let marked = guard.swept_state().when_full;
        tokio::time::advance(Duration::from_secs(30)).await;
        for id in 5..100 {
            assert_eq!(guard.admit(id, Instant::now()), Admission::Full);
        }
        assert_eq!(
            guard.swept_state().when_full,
            marked,
            "no sweep while nothing can have expired"
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(guard.admit(100, Instant::now()), Admission::Fresh);
        assert_eq!(guard.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_deliveries_of_one_id_admit_exactly_one() {
        let guard = Arc::new(ReplayGuard::default());
        let now = Instant::now();
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let guard = Arc::clone(&guard);
                tokio::spawn(async move { guard.admit(42, now) })
            })
            .collect();
        let mut fresh = 0;
        for task in tasks {
            if task.await.unwrap() == Admission::Fresh {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1);
    }
}
