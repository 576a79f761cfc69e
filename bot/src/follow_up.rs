//! The work a chat adapter does after its first answer (edits, follow-ups, the approvals
//! post), and the count of such work still running, for a graceful shutdown.
//!
//! Both adapters' cores answer a request first (Discord's first response, Slack's ack) and
//! hand back a [`FollowUp`] to start once that answer is sent.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument as _, Span};

/// Counts follow-up work still running, for a graceful shutdown.
#[derive(Debug, Clone)]
pub(crate) struct Inflight(Arc<watch::Sender<usize>>);

/// One piece of counted work: dropping it uncounts it.
struct InflightGuard(Arc<watch::Sender<usize>>);

impl Inflight {
    /// No work running.
    pub(crate) fn new() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }

    fn enter(&self) -> InflightGuard {
        self.0.send_modify(|n| *n += 1);
        InflightGuard(Arc::clone(&self.0))
    }

    /// Waits until no counted work is running.
    pub(crate) async fn idle(&self) {
        let mut count = self.0.subscribe();
        let _ = count.wait_for(|n| *n == 0).await;
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
        self.0.send_modify(|n| *n = n.saturating_sub(1));
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
