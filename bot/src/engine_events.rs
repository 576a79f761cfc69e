//! The listener that turns the engine's events into a chat adapter's message edits: it hands
//! every event to the adapter's [`EventHandler`] until the engine goes away or it is stopped,
//! and on a stop first handles the events already sent.
//!
//! A press that runs a job shows its progress. Rather than every such press listening to the
//! engine's whole event stream (each event would then wake every press in flight: quadratic
//! under load), the press subscribes to its own pending action in [`ProgressRoutes`], and the
//! one listener delivers each [`EngineEvent::Progress`] to that subscriber only.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use passdesk_commands::EngineEvent;
use passdesk_commands::ids::{PendingId, RequestId};
use passdesk_commands::reply::Progress;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument as _, Span, debug, error, warn};

/// A chat adapter's handling of one engine event.
pub(crate) trait EventHandler: Send + Sync + 'static {
    /// The platform's name, for the logs (`discord`, `slack`).
    const PLATFORM: &'static str;

    /// Turns one event into the platform's edits (or nothing, for an event not its own).
    fn on_event(&self, event: EngineEvent) -> impl Future<Output = ()> + Send;
}

/// The listener of engine events started by an adapter core's `spawn_listener`.
#[derive(Debug)]
pub struct Listener {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    platform: &'static str,
}

impl Listener {
    /// Starts `handler` on `events`, in `span`.
    pub(crate) fn spawn<H: EventHandler>(
        handler: H,
        events: broadcast::Receiver<EngineEvent>,
        span: Span,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(listen(handler, events, stopped).instrument(span));
        Self {
            stop,
            task,
            platform: H::PLATFORM,
        }
    }

    /// Handles the events already sent, then stops (call it after `Engine::shutdown`, whose
    /// expiry events it then still turns into edits).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            if e.is_panic() {
                error!("the {} event listener panicked", self.platform);
            }
        }
    }
}

async fn listen<H: EventHandler>(
    handler: H,
    mut events: broadcast::Receiver<EngineEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Ok(event) => handler.on_event(event).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    warn!(missed, "{} adapter fell behind the engine's events", H::PLATFORM);
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            // The sender only ever sends `true`, once: any change means stop.
            _ = stop.changed() => {
                while let Ok(event) = events.try_recv() {
                    handler.on_event(event).await;
                }
                break;
            }
        }
    }
    debug!("{} event listener stops", H::PLATFORM);
}

/// The latest progress of one run: its request id and how far it is.
pub(crate) type ProgressUpdate = (RequestId, Progress);

/// Who follows the progress of which pending action: at most one subscriber each (the press
/// that runs it), delivered to in O(1). Cheap to clone; clones share the routes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressRoutes {
    inner: Arc<RoutesInner>,
}

#[derive(Debug, Default)]
struct RoutesInner {
    routes: DashMap<PendingId, (u64, watch::Sender<Option<ProgressUpdate>>)>,
    next: AtomicU64,
}

impl ProgressRoutes {
    /// Follows `pending`'s progress from now until the subscription is dropped (a later
    /// subscription to the same pending action takes over).
    pub(crate) fn subscribe(&self, pending: PendingId) -> ProgressSubscription {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (send, updates) = watch::channel(None);
        self.inner.routes.insert(pending, (id, send));
        ProgressSubscription {
            routes: Arc::clone(&self.inner),
            pending,
            id,
            updates,
        }
    }

    /// Hands `progress` to whoever follows `pending` (nobody: nothing happens).
    pub(crate) fn deliver(&self, pending: PendingId, request_id: RequestId, progress: Progress) {
        if let Some(route) = self.inner.routes.get(&pending) {
            route.1.send_replace(Some((request_id, progress)));
        }
    }

    /// How many pending actions are followed now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.routes.len()
    }
}

/// One pending action's progress, as it comes; dropping it stops following.
#[derive(Debug)]
pub(crate) struct ProgressSubscription {
    routes: Arc<RoutesInner>,
    pending: PendingId,
    id: u64,
    updates: watch::Receiver<Option<ProgressUpdate>>,
}

impl ProgressSubscription {
    /// The next progress (the latest one, when several came since the last call); `None` once
    /// another subscription took over.
    pub(crate) async fn next(&mut self) -> Option<ProgressUpdate> {
        loop {
            self.updates.changed().await.ok()?;
            if let Some(update) = *self.updates.borrow_and_update() {
                return Some(update);
            }
        }
    }
}

impl Drop for ProgressSubscription {
    fn drop(&mut self) {
        let id = self.id;
        self.routes
            .routes
            .remove_if(&self.pending, |_, (owner, _)| *owner == id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: usize) -> Progress {
        Progress {
            done,
            total: 10,
            failed: 0,
            unknown: 0,
        }
    }

    #[tokio::test]
    async fn progress_reaches_only_the_subscriber_of_its_pending_action() {
        let routes = ProgressRoutes::default();
        let (a, b) = (PendingId::random(), PendingId::random());
        let request = a.request_id();
        let mut first = routes.subscribe(a);
        let second = routes.subscribe(b);
        routes.deliver(a, request, progress(1));
        routes.deliver(a, request, progress(3));
        assert_eq!(
            first.next().await,
            Some((request, progress(3))),
            "the latest"
        );
        assert!(
            !second.updates.has_changed().unwrap(),
            "b heard nothing of a"
        );
        routes.deliver(PendingId::random(), request, progress(5));
        assert!(!first.updates.has_changed().unwrap());
        drop(first);
        drop(second);
        assert_eq!(routes.len(), 0, "dropped subscriptions are forgotten");
    }

    #[tokio::test]
    async fn a_later_subscription_takes_over_and_the_earlier_drop_keeps_it() {
        let routes = ProgressRoutes::default();
        let pending = PendingId::random();
        let mut earlier = routes.subscribe(pending);
        let mut later = routes.subscribe(pending);
        assert_eq!(earlier.next().await, None, "taken over");
        drop(earlier);
        routes.deliver(pending, pending.request_id(), progress(2));
        assert_eq!(
            later.next().await,
            Some((pending.request_id(), progress(2)))
        );
        drop(later);
        assert_eq!(routes.len(), 0);
    }
}
