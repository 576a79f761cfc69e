//! The listener that turns the engine's events into a chat adapter's message edits: it hands
//! every event to the adapter's [`EventHandler`] until the engine goes away or it is stopped,
//! and on a stop first handles the events already sent.

use std::future::Future;

use passdesk_commands::EngineEvent;
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
