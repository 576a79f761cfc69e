//! The durable sink: an append-only, hash-chained JSON Lines file, written by one task.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::auditor::AuditError;
use super::channel::ChannelQueue;
use super::event::AuditEvent;
use super::wire::WireLine;

/// The `prev` of the first line of every log: 64 zeros (the chain's genesis value).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line the tail reader accepts; real lines are a few kilobytes at most.
pub(super) const MAX_LINE_BYTES: u64 = 1 << 20;

/// How many queued events one write (and one `fsync`) may carry.
const MAX_BATCH: usize = 64;

/// The SHA-256 of one line (without its `\n`), in lowercase hex: the next line's `prev`.
pub(super) fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// An event as written to the log: its sequence number and its line's hash.
///
/// This is what the audit channel receives. Chat posts should show `seq` (a reader can then
/// recognise a post sent twice after a lost answer, and find the line in the file) and may show
/// the hash, so that the channel also witnesses the file's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    seq: u64,
    hash: String,
    event: AuditEvent,
}

impl AuditRecord {
    /// The line's sequence number: 1 for the first line of the file, then consecutive.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The SHA-256 of the line, lowercase hex (the next line's `prev`).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The event.
    pub fn event(&self) -> &AuditEvent {
        &self.event
    }

    pub(super) fn new(seq: u64, hash: String, event: AuditEvent) -> Self {
        Self { seq, hash, event }
    }
}

/// Why the audit log could not be opened. The bot must not serve commands without it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file could not be opened or read.
    #[error("cannot open audit log {path}: {source}")]
    Io {
        /// The log's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The last line has no newline: a write was interrupted (crash, full disk) or the file
    /// was cut. Chaining after it would hide that, so the log is not opened.
    #[error(
        "audit log {path} ends with an incomplete line (an interrupted write, or the file was \
         cut); run `passdesk audit verify` on it, then set the incomplete line aside \
         (`quarantine_torn_tail`) before starting again"
    )]
    TornTail {
        /// The log's path.
        path: PathBuf,
    },
    /// The last line is complete but is not an audit record this version can chain from.
    #[error(
        "audit log {path}: the last line is not a valid audit record ({problem}); run \
         `passdesk audit verify` on it"
    )]
    BadTail {
        /// The log's path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// The end of a log file, as found by [`read_tail`].
pub(super) enum Tail {
    /// The file is empty.
    Empty,
    /// The last line, complete (without its `\n`).
    Complete(Vec<u8>),
    /// The bytes after the last `\n` (or from the start) form an incomplete line starting at
    /// byte offset `start`.
    Torn { start: u64 },
}

/// Reads only the end of the file: the last line, or where an incomplete one starts.
pub(super) fn read_tail(file: &mut File) -> io::Result<Tail> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(Tail::Empty);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    // Where the line we want ends (exclusive): before the final `\n`, or at the end if torn.
    let (end, torn) = if last[0] == b'\n' {
        (len - 1, false)
    } else {
        (len, true)
    };
    let start = line_start(file, end)?;
    if torn {
        return Ok(Tail::Torn { start });
    }
    if end - start > MAX_LINE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "last line is longer than any audit record",
        ));
    }
    let mut line = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut line)?;
    Ok(Tail::Complete(line))
}

/// The offset just after the last `\n` before `end`, or 0.
fn line_start(file: &mut File, end: u64) -> io::Result<u64> {
    const CHUNK: u64 = 8 * 1024;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut pos = end;
    while pos > 0 {
        let from = pos.saturating_sub(CHUNK);
        let chunk = &mut buf[..usize::try_from(pos - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(from + i as u64 + 1);
        }
        pos = from;
    }
    Ok(0)
}

/// One request to the writer task.
struct WriteRequest {
    event: AuditEvent,
    reply: oneshot::Sender<Result<(), AuditError>>,
}

/// The handle callers use; the writer task owns the file.
#[derive(Debug, Clone)]
pub(super) struct FileSink {
    path: Arc<Path>,
    tx: mpsc::Sender<WriteRequest>,
}

impl std::fmt::Debug for WriteRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteRequest")
            .field("event", &self.event.transition().name())
            .finish_non_exhaustive()
    }
}

impl FileSink {
    /// Opens (or creates) the log at `path`, resumes its chain from the last line, and starts
    /// the writer task. Written records are forwarded, in file order, to `forward`.
    pub(super) async fn open(
        path: PathBuf,
        forward: Option<ChannelQueue>,
    ) -> Result<Self, OpenError> {
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || open_blocking(&path)).await
        };
        let (file, next_seq, prev) = match opened {
            Ok(result) => result?,
            Err(join) => {
                return Err(OpenError::Io {
                    path,
                    source: io::Error::other(join),
                });
            }
        };
        let path: Arc<Path> = Arc::from(path);
        let (tx, rx) = mpsc::channel(1024);
        let writer = Writer {
            path: Arc::clone(&path),
            file: Some(file),
            next_seq,
            prev,
            broken: false,
            forward,
        };
        let span = tracing::info_span!("audit_file_writer", path = %path.display());
        tokio::spawn(writer.run(rx).instrument(span));
        Ok(Self { path, tx })
    }

    /// The log's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` and returns once it is on disk (`fsync`ed).
    pub(super) async fn append(&self, event: AuditEvent) -> Result<(), AuditError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(WriteRequest { event, reply })
            .await
            .map_err(|_| AuditError::Stopped)?;
        done.await.map_err(|_| AuditError::Stopped)?
    }
}

/// Opens the file for appending and reads where its chain ends: (file, next seq, prev hash).
fn open_blocking(path: &Path) -> Result<(File, u64, String), OpenError> {
    let io_err = |source| OpenError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Not secret, but names people and actions: readable by the service account only.
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err)?;
    let (next_seq, prev) = match read_tail(&mut file).map_err(io_err)? {
        Tail::Empty => {
            // A new file: make its directory entry durable too.
            sync_parent(path).map_err(io_err)?;
            (1, GENESIS_HASH.to_owned())
        }
        Tail::Torn { .. } => {
            return Err(OpenError::TornTail {
                path: path.to_owned(),
            });
        }
        Tail::Complete(line) => {
            let bad = |problem: String| OpenError::BadTail {
                path: path.to_owned(),
                problem,
            };
            let wire: WireLine = serde_json::from_slice(&line)
                .map_err(|e| bad(passdesk_core::http::excerpt(&e.to_string())))?;
            let next = wire
                .seq
                .checked_add(1)
                .ok_or_else(|| bad("sequence number overflow".into()))?;
            (next, line_hash(&line))
        }
    };
    Ok((file, next_seq, prev))
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// The task that owns the file: it serialises appends, so the chain has one writer.
struct Writer {
    path: Arc<Path>,
    file: Option<File>,
    next_seq: u64,
    prev: String,
    /// Set after a failed write: the file may end with a partial line, so nothing more is
    /// chained after it until an operator has looked.
    broken: bool,
    forward: Option<ChannelQueue>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<WriteRequest>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.write_batch(std::mem::take(&mut batch)).await;
        }
    }

    /// Writes every request of `batch` with one `write` and one `fsync`, then answers each.
    async fn write_batch(&mut self, batch: Vec<WriteRequest>) {
        let file = match self.file.take() {
            Some(file) if !self.broken => file,
            other => {
                self.file = other;
                for request in batch {
                    let _ = request.reply.send(Err(AuditError::Unavailable));
                }
                return;
            }
        };
        let mut buf = Vec::new();
        let mut written = Vec::with_capacity(batch.len());
        let (mut seq, mut prev) = (self.next_seq, self.prev.clone());
        for WriteRequest { event, reply } in batch {
            let line = match serde_json::to_vec(&WireLine::new(&event, seq, &prev)) {
                Ok(line) => line,
                Err(e) => {
                    let _ = reply.send(Err(AuditError::Encode(e)));
                    continue;
                }
            };
            let hash = line_hash(&line);
            buf.extend_from_slice(&line);
            buf.push(b'\n');
            prev.clone_from(&hash);
            written.push((reply, AuditRecord::new(seq, hash, event)));
            seq += 1;
        }
        if written.is_empty() {
            self.file = Some(file);
            return;
        }
        let outcome = tokio::task::spawn_blocking(move || {
            let result = (&file).write_all(&buf).and_then(|()| file.sync_data());
            (file, result)
        })
        .await;
        let error = match outcome {
            Ok((file, Ok(()))) => {
                self.file = Some(file);
                self.next_seq = seq;
                self.prev = prev;
                for (reply, record) in written {
                    if let Some(queue) = &self.forward {
                        queue.enqueue(record);
                    }
                    let _ = reply.send(Ok(()));
                }
                return;
            }
            Ok((file, Err(e))) => {
                self.file = Some(file);
                Arc::new(e)
            }
            Err(join) => Arc::new(io::Error::other(join)),
        };
        self.broken = true;
        tracing::error!(
            path = %self.path.display(),
            error = %error,
            events = written.len(),
            "audit log write failed; no further events will be accepted"
        );
        for (reply, _) in written {
            let _ = reply.send(Err(AuditError::Write {
                source: Arc::clone(&error),
            }));
        }
    }
}
