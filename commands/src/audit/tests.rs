//! Tests of the log, its verification and the channel queue, through the public API.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::*;
use crate::invocation::{Actor, Platform};

fn actor() -> Actor {
    Actor {
        platform: Platform::Discord,
        id: "400000000000000001".into(),
        display_name: "Jane Helpdesk".into(),
        roles: vec!["500000000000000001".into()],
    }
}

/// The `n`th event of a test: a `requested` reset of user `jc.user<n>`, request id `r<n>`.
fn event(n: usize) -> AuditEvent {
    AuditEvent::builder(Transition::Requested, &actor(), "reset", &format!("r{n}"))
        .channel(Some("C0HELP"))
        .tenant(Some("G0ACME"))
        .target(&format!("jc.user{n}"))
        .build()
}

struct Log {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn new_log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    Log { _dir: dir, path }
}

/// Writes `n` events to a fresh log and returns it.
async fn log_with(n: usize) -> Log {
    let log = new_log();
    let auditor = Auditor::builder(&log.path).open().await.unwrap();
    for i in 1..=n {
        auditor.record(event(i)).await.unwrap();
    }
    log
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn corruption(path: &Path) -> (u64, Problem) {
    let err = verify(path).unwrap_err();
    let (line, problem) = err.corruption().unwrap();
    (line, problem.clone())
}

#[tokio::test]
async fn chain_is_written_and_verifies() {
    let log = log_with(20).await;
    let report = verify(&log.path).unwrap();
    assert_eq!(report.events, 20);
    assert_eq!(report.to_string().split(" (").next(), Some("ok, 20 events"));

    // The chain, recomputed independently of the module.
    let lines = lines(&log.path);
    let mut prev = "0".repeat(64);
    for (i, line) in lines.iter().enumerate() {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(json["seq"], (i + 1) as u64);
        assert_eq!(json["prev"], prev.as_str());
        assert_eq!(json["request_id"], format!("r{}", i + 1));
        prev = hex::encode(Sha256::digest(line.as_bytes()));
    }
    assert_eq!(report.last_hash, prev);

    let records = read_log(&log.path).unwrap();
    assert_eq!(records.len(), 20);
    assert_eq!(records[4].seq(), 5);
    assert_eq!(records[4].event().request_id().as_str(), "r5");
    assert_eq!(records[19].hash(), prev);
}

#[tokio::test]
async fn an_empty_log_verifies() {
    let log = log_with(0).await;
    let report = verify(&log.path).unwrap();
    assert_eq!(report.events, 0);
    assert_eq!(report.last_hash, GENESIS_HASH);
}

#[tokio::test]
async fn an_edited_field_names_that_line() {
    let log = log_with(8).await;
    let mut lines = lines(&log.path);
    assert!(lines[4].contains("\"jc.user5\""));
    lines[4] = lines[4].replace("\"jc.user5\"", "\"jc.someone.else\"");
    write_lines(&log.path, &lines);

    assert_eq!(
        corruption(&log.path),
        (5, Problem::Altered { next_line: 6 })
    );
    let message = verify(&log.path).unwrap_err().to_string();
    assert!(message.contains("line 5:"), "{message}");
}

#[tokio::test]
async fn an_edited_sequence_number_is_detected() {
    let log = log_with(5).await;
    let mut lines = lines(&log.path);
    lines[2] = lines[2].replace("\"seq\":3,", "\"seq\":30,");
    write_lines(&log.path, &lines);
    assert_eq!(
        corruption(&log.path),
        (
            3,
            Problem::SequenceGap {
                expected: 3,
                found: 30
            }
        )
    );
}

#[tokio::test]
async fn invalid_json_names_that_line() {
    let log = log_with(5).await;
    let mut lines = lines(&log.path);
    lines[3].truncate(10);
    write_lines(&log.path, &lines);
    let (line, problem) = corruption(&log.path);
    assert_eq!(line, 4);
    assert!(matches!(problem, Problem::BadRecord { .. }), "{problem:?}");
}

#[tokio::test]
async fn a_deleted_middle_line_is_detected() {
    let log = log_with(10).await;
    let mut lines = lines(&log.path);
    lines.remove(4);
    write_lines(&log.path, &lines);
    assert_eq!(
        corruption(&log.path),
        (
            5,
            Problem::SequenceGap {
                expected: 5,
                found: 6
            }
        )
    );
}

#[tokio::test]
async fn a_deleted_first_line_is_detected() {
    let log = log_with(3).await;
    let mut lines = lines(&log.path);
    lines.remove(0);
    write_lines(&log.path, &lines);
    let (line, problem) = corruption(&log.path);
    assert_eq!(line, 1);
    assert!(
        matches!(problem, Problem::SequenceGap { .. }),
        "{problem:?}"
    );
}

#[tokio::test]
async fn a_first_line_not_chained_from_genesis_is_detected() {
    let log = log_with(2).await;
    let mut lines = lines(&log.path);
    lines[0] = lines[0].replace(GENESIS_HASH, &"1".repeat(64));
    write_lines(&log.path, &lines);
    let (line, problem) = corruption(&log.path);
    assert_eq!(line, 1);
    assert!(matches!(problem, Problem::BadGenesis { .. }), "{problem:?}");
}

#[tokio::test]
async fn a_renumbered_chain_with_a_deleted_line_is_still_detected() {
    // Deleting line 3 and renumbering the rest keeps the sequence but breaks the hashes.
    let log = log_with(5).await;
    let mut lines = lines(&log.path);
    lines.remove(2);
    for (i, line) in lines.iter_mut().enumerate().skip(2) {
        *line = line.replace(
            &format!("\"seq\":{},", i + 2),
            &format!("\"seq\":{},", i + 1),
        );
    }
    write_lines(&log.path, &lines);
    assert_eq!(
        corruption(&log.path),
        (2, Problem::Altered { next_line: 3 })
    );
}

#[tokio::test]
async fn reordered_lines_are_detected() {
    let log = log_with(6).await;
    let mut lines = lines(&log.path);
    lines.swap(2, 3);
    write_lines(&log.path, &lines);
    assert_eq!(
        corruption(&log.path),
        (
            3,
            Problem::SequenceGap {
                expected: 3,
                found: 4
            }
        )
    );
}

/// Cuts the log in the middle of its last line, as a crash mid-write would.
fn tear_last_line(path: &Path) -> u64 {
    let len = std::fs::metadata(path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_len(len - 20).unwrap();
    len - 20
}

#[tokio::test]
async fn a_torn_last_line_is_detected_and_blocks_opening() {
    let log = log_with(4).await;
    tear_last_line(&log.path);
    assert_eq!(corruption(&log.path), (4, Problem::TruncatedLastLine));

    let err = Auditor::builder(&log.path).open().await.unwrap_err();
    assert!(matches!(err, OpenError::TornTail { .. }), "{err:?}");
    assert!(err.to_string().contains("passdesk audit verify"), "{err}");
}

#[tokio::test]
async fn a_last_line_missing_only_its_newline_is_torn() {
    let log = log_with(2).await;
    let text = std::fs::read_to_string(&log.path).unwrap();
    std::fs::write(&log.path, text.trim_end()).unwrap();
    assert_eq!(corruption(&log.path), (2, Problem::TruncatedLastLine));
}

#[tokio::test]
async fn quarantine_sets_the_torn_line_aside_and_the_chain_continues() {
    let log = log_with(4).await;
    let kept = {
        let all = lines(&log.path);
        all[..3].to_vec()
    };
    let cut_at = tear_last_line(&log.path);
    let torn_len = cut_at - kept.iter().map(|l| l.len() as u64 + 1).sum::<u64>();

    let quarantined = quarantine_torn_tail(&log.path).unwrap();
    assert_eq!(quarantined.bytes, torn_len);
    assert!(quarantined.moved_to.exists());
    assert_eq!(lines(&log.path), kept);

    let auditor = Auditor::builder(&log.path).open().await.unwrap();
    auditor.record(event(99)).await.unwrap();
    let records = read_log(&log.path).unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[3].seq(), 4);
    assert_eq!(records[3].event().request_id().as_str(), "r99");

    // A second repair finds nothing to do; a broken chain is not "repaired".
    assert!(matches!(
        quarantine_torn_tail(&log.path),
        Err(QuarantineError::NothingToRepair { .. })
    ));
    let mut all = lines(&log.path);
    all.swap(0, 1);
    let mut text = all.join("\n");
    text.push_str("\n{\"v\":1");
    std::fs::write(&log.path, text).unwrap();
    assert!(matches!(
        quarantine_torn_tail(&log.path),
        Err(QuarantineError::Corrupt(_))
    ));
}

#[tokio::test]
async fn an_invalid_last_line_blocks_opening() {
    let log = log_with(2).await;
    let mut all = lines(&log.path);
    all[1] = "not json".into();
    write_lines(&log.path, &all);
    let err = Auditor::builder(&log.path).open().await.unwrap_err();
    assert!(matches!(err, OpenError::BadTail { .. }), "{err:?}");
}

#[tokio::test]
async fn reopening_continues_the_chain() {
    let log = log_with(3).await;
    let auditor = Auditor::builder(&log.path).open().await.unwrap();
    auditor.record(event(4)).await.unwrap();
    auditor.record(event(5)).await.unwrap();
    drop(auditor);
    let auditor = Auditor::builder(&log.path).open().await.unwrap();
    auditor.record(event(6)).await.unwrap();

    let records = read_log(&log.path).unwrap();
    let seqs: Vec<u64> = records.iter().map(AuditRecord::seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r.event().request_id().as_str())
        .collect();
    assert_eq!(ids, ["r1", "r2", "r3", "r4", "r5", "r6"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_records_form_one_valid_chain() {
    let log = new_log();
    let auditor = Auditor::builder(&log.path).open().await.unwrap();
    let tasks: Vec<_> = (1..=100)
        .map(|i| {
            let auditor = auditor.clone();
            tokio::spawn(async move { auditor.record(event(i)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let records = read_log(&log.path).unwrap();
    assert_eq!(records.len(), 100);
    let mut ids: Vec<String> = records
        .iter()
        .map(|r| r.event().request_id().as_str().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "every event exactly once");
}

/// `/dev/full` accepts the open and fails every write with "no space left on device".
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_failed_write_is_an_error_and_stops_the_log() {
    let auditor = Auditor::builder("/dev/full").open().await.unwrap();
    let err = auditor.record(event(1)).await.unwrap_err();
    assert!(matches!(err, AuditError::Write { .. }), "{err:?}");
    let err = auditor.record(event(2)).await.unwrap_err();
    assert!(matches!(err, AuditError::Unavailable), "{err:?}");
}

#[tokio::test]
async fn a_cancelled_record_still_keeps_the_chain_whole() {
    let log = new_log();
    let auditor = Auditor::builder(&log.path).open().await.unwrap();
    // Polled once (which hands the event to the writer), then dropped before the disk answers.
    {
        let record = std::pin::pin!(auditor.record(event(1)));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(record.poll(&mut cx).is_pending());
    }
    auditor.record(event(2)).await.unwrap();
    let records = read_log(&log.path).unwrap();
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r.event().request_id().as_str())
        .collect();
    assert_eq!(ids, ["r1", "r2"]);
}

/// A fake audit channel: answers from a script (then `Ok`), and records every attempt.
#[derive(Default)]
struct FakeChannel {
    script: Mutex<VecDeque<Result<(), ChannelError>>>,
    attempts: Mutex<Vec<(u64, Instant)>>,
    delivered: Mutex<Vec<u64>>,
    /// When set, each post first takes a permit (tests release them to let posts finish).
    gate: Option<Arc<Semaphore>>,
}

impl FakeChannel {
    fn failing(script: impl IntoIterator<Item = ChannelError>) -> Self {
        Self {
            script: Mutex::new(script.into_iter().map(Err).collect()),
            ..Self::default()
        }
    }

    fn delivered(&self) -> Vec<u64> {
        self.delivered.lock().unwrap().clone()
    }
}

impl AuditChannel for FakeChannel {
    fn post<'a>(&'a self, record: &'a AuditRecord) -> PostFuture<'a> {
        Box::pin(async move {
            self.attempts
                .lock()
                .unwrap()
                .push((record.seq(), Instant::now()));
            if let Some(gate) = &self.gate {
                gate.acquire().await.unwrap().forget();
            }
            let answer = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
            if answer.is_ok() {
                self.delivered.lock().unwrap().push(record.seq());
            }
            answer
        })
    }
}

async fn auditor_with(channel: Arc<FakeChannel>, config: ChannelQueueConfig) -> (Log, Auditor) {
    let log = new_log();
    let queue = ChannelQueue::spawn(channel, config);
    let auditor = Auditor::builder(&log.path)
        .channel(queue)
        .open()
        .await
        .unwrap();
    (log, auditor)
}

#[tokio::test(start_paused = true)]
async fn the_channel_gets_every_event_in_order_after_an_outage() {
    let channel = Arc::new(FakeChannel::failing([
        ChannelError::Unavailable { status: Some(500) },
        ChannelError::Unavailable { status: Some(502) },
        ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        },
        ChannelError::NotSent,
        ChannelError::refused("not_in_channel"),
        ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        },
        ChannelError::Unavailable { status: None },
    ]));
    let (_log, auditor) = auditor_with(Arc::clone(&channel), ChannelQueueConfig::default()).await;
    for i in 1..=5 {
        auditor.record(event(i)).await.unwrap();
    }
    let queue = auditor.channel().unwrap();
    queue.flushed().await;

    assert_eq!(channel.delivered(), [1, 2, 3, 4, 5]);
    let stats = queue.stats();
    assert_eq!(stats.delivered, 5);
    assert_eq!(stats.failed_attempts, 7);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.pending, 0);

    // The first event was retried through the whole outage; Retry-After was honoured.
    let attempts = channel.attempts.lock().unwrap().clone();
    assert!(
        attempts[..8].iter().all(|(seq, _)| *seq == 1),
        "{attempts:?}"
    );
    let gap = |i: usize| attempts[i + 1].1 - attempts[i].1;
    assert_eq!(gap(2), Duration::from_secs(7));
    assert_eq!(gap(5), Duration::from_secs(30));
    // Backoff without Retry-After grows and stays within the configured bounds.
    assert!(gap(0) >= Duration::from_millis(500) && gap(0) <= Duration::from_secs(1));
    assert!(gap(1) >= Duration::from_secs(1) && gap(1) <= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_stuck_channel_never_delays_record() {
    let gate = Arc::new(Semaphore::new(0));
    let channel = Arc::new(FakeChannel {
        gate: Some(Arc::clone(&gate)),
        ..FakeChannel::default()
    });
    let (log, auditor) = auditor_with(Arc::clone(&channel), ChannelQueueConfig::default()).await;
    let start = Instant::now();
    for i in 1..=20 {
        // With paused time, a `record` that waited on the channel would let the clock run to
        // this timeout and fail the test instead of hanging it.
        tokio::time::timeout(Duration::from_secs(5), auditor.record(event(i)))
            .await
            .expect("record waited for the channel")
            .unwrap();
    }
    assert_eq!(Instant::now(), start, "no virtual time passed");
    assert_eq!(verify(&log.path).unwrap().events, 20);
    assert!(channel.delivered().is_empty());
    assert_eq!(auditor.channel().unwrap().stats().pending, 20);

    gate.add_permits(20);
    auditor.channel().unwrap().flushed().await;
    assert_eq!(channel.delivered(), (1..=20).collect::<Vec<u64>>());
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_the_oldest_waiting_event_and_counts_it() {
    let gate = Arc::new(Semaphore::new(0));
    let channel = Arc::new(FakeChannel {
        gate: Some(Arc::clone(&gate)),
        ..FakeChannel::default()
    });
    let config = ChannelQueueConfig {
        capacity: 3,
        ..ChannelQueueConfig::default()
    };
    let (log, auditor) = auditor_with(Arc::clone(&channel), config).await;
    auditor.record(event(1)).await.unwrap();
    // Wait until event 1 is being posted (held at the gate), so the queue holds the rest.
    for _ in 0..1_000 {
        if !channel.attempts.lock().unwrap().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        channel.attempts.lock().unwrap().len(),
        1,
        "event 1 is being posted"
    );
    for i in 2..=6 {
        auditor.record(event(i)).await.unwrap();
    }
    let queue = auditor.channel().unwrap();
    assert_eq!(queue.stats().dropped, 2);
    gate.add_permits(10);
    queue.flushed().await;
    // 2 and 3 were the oldest waiting when 5 and 6 arrived; the one in flight was kept.
    assert_eq!(channel.delivered(), [1, 4, 5, 6]);
    // The file still has all of them.
    assert_eq!(verify(&log.path).unwrap().events, 6);
}
