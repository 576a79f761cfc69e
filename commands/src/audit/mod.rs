//! The audit trail: every transition of a request, written durably and posted to chat.
//!
//! The engine builds an [`AuditEvent`] for each transition (`requested`, `denied`, `dry_run`,
//! `confirmed`, `cancelled`, `approval_requested`, `approved`, `rejected`, `expired`,
//! `executed` with a per-target summary, `failed`) and calls [`Auditor::record`], which returns
//! once the event is on disk. Only then does the engine reply or act; an [`AuditError`] means it
//! must not.
//!
//! # No secrets, by type
//!
//! Every text in an event is an [`AuditText`], and the only way to make one is from a value
//! implementing the sealed [`Auditable`] trait (strings, numbers, [`crate::Platform`]).
//! `secrecy::SecretString` does not implement it and no other crate can make it, so handing a
//! secret to the audit trail does not compile (a static assertion checks this in every build,
//! and a `compile_fail` doctest on [`Auditable`] shows it); text can only come out of a secret
//! through an explicit `expose_secret()`. Texts are also bounded and single-line.
//!
//! # The log file
//!
//! JSON Lines, one event per line, appended by a single writer task so that concurrent
//! `record` calls serialise; events queued together are written together and made durable with
//! one `File::sync_data` before any of their callers is answered. Each line holds:
//! - `seq`: 1 for the first line, then consecutive;
//! - `prev`: the SHA-256 (lowercase hex) of the previous line's bytes without its newline; the
//!   first line's `prev` is [`GENESIS_HASH`] (64 zeros).
//!
//! A line (format version 1) is one JSON object followed by `\n`, for example:
//!
//! ```text
//! {"v":1,"seq":2,"prev":"<sha-256 of line 1, hex>","at":"2025-01-01T12:00:00Z",
//!  "event":"executed","request_id":"7f3a9c","command":"reset","platform":"slack",
//!  "actor":{"platform":"slack","id":"U0REQUEST1","name":"Jane Doe"},"channel":"C0HELP",
//!  "tenant":"T0ACME","targets":["jc.one"],"targets_total":1,
//!  "summary":{"done":1,"skipped":0,"failed":0,"unknown":0,
//!             "targets":[{"target":"jc.one","status":"done","detail":"reset mail"}],"omitted":0}}
//! ```
//!
//! `channel`, `tenant`, `reason` (for `denied` and `failed`) and `summary` (for `executed`) are
//! left out when absent.
//!
//! [`verify`] walks the chain and names the first bad line: an edited line no longer hashes to
//! the next line's `prev`; a deleted, duplicated or moved line breaks the sequence; a line cut
//! short by a crash lacks its newline. Whole lines cut off the end leave a valid shorter chain:
//! the audit channel posts carry each line's `seq` and hash, so compare the last ones.
//!
//! Opening a log resumes its chain from its last line (read from the end of the file, not the
//! whole file). If the last line is incomplete — a crash mid-write — opening **refuses** with
//! [`OpenError::TornTail`] instead of chaining over it: the operator runs `verify`, and
//! [`quarantine_torn_tail`] moves the partial line to a file beside the log and cuts the log
//! back to its last complete line. A write that fails at run time likewise stops the log
//! ([`AuditError::Unavailable`] afterwards) until it has been checked.
//!
//! # The audit channel
//!
//! Chat adapters implement [`AuditChannel`]. A [`ChannelQueue`] posts the records the log has
//! written, one at a time and in log order, retrying each until delivered with the shared
//! retry rule (`passdesk_core::retry`: `Retry-After` honoured, otherwise exponential backoff
//! with jitter, here with no attempt limit). `record` only pushes onto the queue, so a slow or
//! failing channel never delays a command. The queue holds up to
//! [`ChannelQueueConfig::capacity`] events (10,000 by default); when it is full the **oldest
//! waiting event is dropped from the queue**, logged with `tracing::error!` and counted in
//! [`QueueStats::dropped`]. The file still holds every event.

mod auditor;
mod channel;
mod event;
mod file;
mod verify;
mod wire;

pub use auditor::{AuditError, Auditor, AuditorBuilder};
pub use channel::{
    AuditChannel, ChannelError, ChannelQueue, ChannelQueueConfig, PostFuture, QueueStats,
};
pub use event::{
    AuditActor, AuditEvent, AuditEventBuilder, AuditText, Auditable, ExecutionSummary,
    OutcomeCounts, TargetResult, TargetStatus, Targets, Transition,
};
pub use file::{AuditRecord, GENESIS_HASH, OpenError};
pub use verify::{
    Problem, QuarantineError, Quarantined, VerifyError, VerifyReport, quarantine_torn_tail,
    read_log, verify,
};

#[cfg(test)]
mod tests;
