//! Replay protection for the Slack endpoints: a correctly signed request sent again inside the
//! five-minute window is refused the second time.
//!
//! Slack's signature only bounds a request's age, and Slack sends no request id with slash
//! commands or interactions; it also never re-sends one. So a second sighting of the same
//! signature (which covers the timestamp and the raw body) is a replay (reference §2.4).
//!
//! This reuses the Discord endpoint's [`ReplayGuard`] (an expiring set of `u64` keys with a
//! capacity and a sweeper): the key is the first 8 bytes of the verified HMAC. Only requests
//! whose signature verified are recorded, and nobody without the signing secret can choose an
//! HMAC, so a prefix collision between two genuine requests inside the time-to-live is the
//! only way one could be wrongly refused: about 1 in 10^7 with a million requests in ten
//! minutes. The time-to-live is the guard's default: twice the five-minute window plus a
//! margin, as long as any copy of a request could still pass the timestamp check.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::discord::replay::ReplayGuard;
pub use crate::discord::replay::{Admission, DEFAULT_CAPACITY, DEFAULT_SWEEP_INTERVAL};

/// The signatures of the Slack requests seen recently.
#[derive(Debug, Default)]
pub struct SignatureReplayGuard {
    seen: Arc<ReplayGuard>,
}

impl SignatureReplayGuard {
    /// A guard remembering signatures for `ttl`, at most `capacity` of them at once.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            seen: Arc::new(ReplayGuard::new(ttl, capacity)),
        }
    }

    /// How long a signature is remembered.
    pub fn ttl(&self) -> Duration {
        self.seen.ttl()
    }

    /// How many signatures are remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Records a verified signature seen at `now`: [`Admission::Fresh`] the first time,
    /// [`Admission::Replay`] while it is remembered, [`Admission::Full`] when the set is full
    /// of unexpired signatures. Exactly one of several concurrent sightings is fresh.
    pub fn admit(&self, signature: &[u8; 32], now: Instant) -> Admission {
        self.seen.admit(key(signature), now)
    }

    /// Forgets the signatures whose time ran out by `now`; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        self.seen.sweep(now)
    }

    /// Sweeps every `interval` until the guard is dropped.
    pub fn spawn_sweeper(&self, interval: Duration) -> JoinHandle<()> {
        self.seen.spawn_sweeper(interval)
    }
}

/// The set's key: the first 8 bytes of the HMAC.
fn key(signature: &[u8; 32]) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&signature[..8]);
    u64::from_be_bytes(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::signature::SIGNATURE_WINDOW;

    fn signature(first: u8, last: u8) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes[0] = first;
        bytes[31] = last;
        bytes
    }

    #[test]
    fn the_default_ttl_outlives_any_acceptable_timestamp() {
        assert!(SignatureReplayGuard::default().ttl() > 2 * SIGNATURE_WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn a_signature_is_refused_until_its_record_expires() {
        let guard = SignatureReplayGuard::new(Duration::from_secs(630), 10);
        let start = Instant::now();
        assert_eq!(guard.admit(&signature(1, 0), start), Admission::Fresh);
        assert_eq!(guard.admit(&signature(1, 0), start), Admission::Replay);
        assert_eq!(guard.admit(&signature(2, 0), start), Admission::Fresh);
        tokio::time::advance(Duration::from_secs(630)).await;
        assert_eq!(
            guard.admit(&signature(1, 0), Instant::now()),
            Admission::Fresh
        );
    }

    #[test]
    fn the_key_is_the_signatures_prefix() {
        let guard = SignatureReplayGuard::default();
        let now = Instant::now();
        assert_eq!(guard.admit(&signature(7, 1), now), Admission::Fresh);
        // Same first 8 bytes: treated as the same request (see the module docs for the odds).
        assert_eq!(guard.admit(&signature(7, 2), now), Admission::Replay);
        assert_eq!(guard.admit(&signature(8, 1), now), Admission::Fresh);
        assert_eq!(guard.len(), 2);
    }
}
