//! The facade the engine calls: durable file first, then the channel queue.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::instrument;

use super::channel::ChannelQueue;
use super::event::AuditEvent;
use super::file::{FileSink, OpenError};

/// Why an event could not be recorded. The engine must not proceed (nor reply as if it had)
/// when it gets one: an action without its audit line must not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Writing or syncing the log failed (full disk, I/O error). The log refuses further events
    /// from then on: it may end with a partial line.
    #[error("audit log write failed: {source}")]
    Write {
        /// The I/O error.
        #[source]
        source: Arc<io::Error>,
    },
    /// An earlier write failed, so the log accepts nothing until it is checked and reopened.
    #[error(
        "audit log unavailable after an earlier write failure; run `passdesk audit verify` and \
         restart"
    )]
    Unavailable,
    /// The event could not be encoded.
    #[error("audit event could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
    /// The writer task is gone (the runtime is shutting down).
    #[error("audit writer stopped")]
    Stopped,
}

/// Records audit events: appends each to the hash-chained log, `fsync`s it, then queues it for
/// the audit channel (if one is set). Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct Auditor {
    file: FileSink,
    channel: Option<ChannelQueue>,
}

/// Opens an [`Auditor`]; see [`Auditor::builder`].
#[derive(Debug)]
#[must_use]
pub struct AuditorBuilder {
    path: PathBuf,
    channel: Option<ChannelQueue>,
}

impl AuditorBuilder {
    /// Also posts every recorded event to this channel queue, in log order.
    pub fn channel(mut self, queue: ChannelQueue) -> Self {
        self.channel = Some(queue);
        self
    }

    /// Opens (or creates) the log and resumes its chain from the last line. Fails on a log
    /// whose last line is incomplete or invalid (see [`OpenError`]). Needs a Tokio runtime.
    pub async fn open(self) -> Result<Auditor, OpenError> {
        let file = FileSink::open(self.path, self.channel.clone()).await?;
        Ok(Auditor {
            file,
            channel: self.channel,
        })
    }
}

impl Auditor {
    /// Starts opening the log at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> AuditorBuilder {
        AuditorBuilder {
            path: path.into(),
            channel: None,
        }
    }

    /// Records `event`: returns once its line is on disk. The channel post happens later, in
    /// the background, and never delays this call. Cancelling the call does not cancel the
    /// write.
    #[instrument(skip_all, fields(event = event.transition().name(), request_id = %event.request_id()))]
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.file.append(event).await
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The channel queue, when one is set (for its counters and for flushing at shutdown).
    pub fn channel(&self) -> Option<&ChannelQueue> {
        self.channel.as_ref()
    }
}
