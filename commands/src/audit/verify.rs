//! Checking a log's chain (`passdesk audit verify`), reading it back, and setting aside a torn
//! last line.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::file::{AuditRecord, GENESIS_HASH, MAX_LINE_BYTES, Tail, line_hash, read_tail};
use super::wire::{FORMAT_VERSION, WireLine};

/// A log whose chain is intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many events (lines) it holds.
    pub events: u64,
    /// The hash of its last line ([`GENESIS_HASH`] when empty). Compare it with the last
    /// hash the audit channel shows: the file alone cannot reveal whole lines cut off its end.
    pub last_hash: String,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ok, {} events (last hash {})",
            self.events, self.last_hash
        )
    }
}

/// What is wrong with the first bad line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The line is not a JSON audit record, or its fields contradict each other.
    #[error("not a valid audit record: {reason}")]
    BadRecord {
        /// What the parser said.
        reason: String,
    },
    /// Written by a format version this build does not know.
    #[error("unsupported format version {version}")]
    UnsupportedVersion {
        /// The line's `v`.
        version: u32,
    },
    /// The sequence number is not the previous one plus one (the first line's is 1).
    #[error(
        "expected sequence number {expected}, found {found}: a line is missing, duplicated or out \
         of order"
    )]
    SequenceGap {
        /// The number this line should carry.
        expected: u64,
        /// The number it carries.
        found: u64,
    },
    /// The first line does not chain from the genesis value.
    #[error("the first line's prev is {found}, not the genesis value (64 zeros)")]
    BadGenesis {
        /// The `prev` it carries.
        found: String,
    },
    /// The line's SHA-256 differs from the `prev` the next line recorded: this line was edited
    /// (or the next line's `prev` was).
    #[error("this line does not hash to the prev recorded on line {next_line}: it was altered")]
    Altered {
        /// The line whose `prev` disagrees.
        next_line: u64,
    },
    /// The last line has no newline: a write was interrupted, or the file was cut mid-line.
    #[error("incomplete last line (no newline): a write was interrupted or the file was cut")]
    TruncatedLastLine,
}

/// Why a log did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file could not be read.
    #[error("cannot read audit log {path}: {source}")]
    Io {
        /// The log's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The chain is broken; `line` is the first bad line (1-based).
    #[error("audit log {path}, line {line}: {problem}")]
    Corrupt {
        /// The log's path.
        path: PathBuf,
        /// The first bad line, counted from 1.
        line: u64,
        /// What is wrong with it.
        problem: Problem,
    },
}

impl VerifyError {
    /// The first bad line and its problem, when the chain is broken.
    pub fn corruption(&self) -> Option<(u64, &Problem)> {
        match self {
            VerifyError::Corrupt { line, problem, .. } => Some((*line, problem)),
            VerifyError::Io { .. } => None,
        }
    }
}

/// Checks the whole chain of the log at `path`: every line parses, sequence numbers run
/// 1, 2, 3… without gaps, the first line chains from [`GENESIS_HASH`], every line's `prev` is
/// the SHA-256 of the line before, and the file ends with a newline.
///
/// Reports the first bad line. What it cannot see: whole lines removed from the end (compare
/// [`VerifyReport::last_hash`] with the audit channel), and a chain rewritten from the first
/// changed line onward by someone with write access (the chain is unkeyed; the channel posts
/// and off-host copies are the witnesses).
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, VerifyError> {
    scan(path.as_ref(), |_| {})
}

/// Verifies the log at `path` like [`verify`] and returns its records, in order.
pub fn read_log(path: impl AsRef<Path>) -> Result<Vec<AuditRecord>, VerifyError> {
    let mut records = Vec::new();
    scan(path.as_ref(), |record| records.push(record))?;
    Ok(records)
}

fn scan(path: &Path, mut each: impl FnMut(AuditRecord)) -> Result<VerifyReport, VerifyError> {
    let io_err = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let corrupt = |line, problem| VerifyError::Corrupt {
        path: path.to_owned(),
        line,
        problem,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    let mut prev = GENESIS_HASH.to_owned();
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io_err)?;
        if read == 0 {
            break;
        }
        line_no += 1;
        if buf.pop() != Some(b'\n') {
            let problem = if read as u64 > MAX_LINE_BYTES {
                Problem::BadRecord {
                    reason: "line longer than any audit record".into(),
                }
            } else {
                Problem::TruncatedLastLine
            };
            return Err(corrupt(line_no, problem));
        }
        let bad_record = |reason: String| Problem::BadRecord {
            reason: passdesk_core::http::excerpt(&reason),
        };
        let wire: WireLine = serde_json::from_slice(&buf)
            .map_err(|e| corrupt(line_no, bad_record(e.to_string())))?;
        if wire.v != FORMAT_VERSION {
            return Err(corrupt(
                line_no,
                Problem::UnsupportedVersion { version: wire.v },
            ));
        }
        if wire.seq != line_no {
            return Err(corrupt(
                line_no,
                Problem::SequenceGap {
                    expected: line_no,
                    found: wire.seq,
                },
            ));
        }
        if wire.prev != prev {
            return Err(if line_no == 1 {
                corrupt(line_no, Problem::BadGenesis { found: wire.prev })
            } else {
                corrupt(line_no - 1, Problem::Altered { next_line: line_no })
            });
        }
        let seq = wire.seq;
        let event = wire
            .into_event()
            .map_err(|reason| corrupt(line_no, bad_record(reason)))?;
        prev = line_hash(&buf);
        each(AuditRecord::new(seq, prev.clone(), event));
    }
    Ok(VerifyReport {
        events: line_no,
        last_hash: prev,
    })
}

/// Where a torn last line was moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The new file holding the incomplete line's bytes, next to the log.
    pub moved_to: PathBuf,
    /// How many bytes it holds.
    pub bytes: u64,
}

/// Why a torn last line was not set aside.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuarantineError {
    /// Reading or writing a file failed.
    #[error("cannot repair audit log {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The log does not end with an incomplete line: there is nothing to set aside.
    #[error("audit log {path} does not end with an incomplete line; nothing to repair")]
    NothingToRepair {
        /// The log's path.
        path: PathBuf,
    },
    /// The chain is broken before the last line: that needs a person, not a repair.
    #[error("refusing to repair: {0}")]
    Corrupt(#[source] VerifyError),
}

/// Moves the incomplete last line of the log at `path` (left by a crash mid-write) into a new
/// file `<name>.torn-<offset>` beside it, then cuts the log back to its last complete line, so
/// the bot can open it and continue the chain. Run it only while the bot is stopped (it refuses
/// to start on a torn log anyway).
///
/// Refuses unless every complete line verifies and only the last line is incomplete. Nothing is
/// deleted: the bytes are kept for the security officer, and the event they held was never
/// acknowledged (the write that tore never returned).
pub fn quarantine_torn_tail(path: impl AsRef<Path>) -> Result<Quarantined, QuarantineError> {
    let path = path.as_ref();
    match verify(path) {
        Ok(_) => {
            return Err(QuarantineError::NothingToRepair {
                path: path.to_owned(),
            });
        }
        Err(VerifyError::Corrupt {
            problem: Problem::TruncatedLastLine,
            ..
        }) => {}
        Err(other) => return Err(QuarantineError::Corrupt(other)),
    }
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| QuarantineError::Io { path, source }
    };
    let mut log = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    let Tail::Torn { start } = read_tail(&mut log).map_err(io_err(path))? else {
        return Err(QuarantineError::NothingToRepair {
            path: path.to_owned(),
        });
    };
    let mut torn = Vec::new();
    log.seek(SeekFrom::Start(start)).map_err(io_err(path))?;
    log.read_to_end(&mut torn).map_err(io_err(path))?;

    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".torn-{start}"));
    let moved_to = path.with_file_name(name);
    let mut aside = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&moved_to)
        .map_err(io_err(&moved_to))?;
    aside.write_all(&torn).map_err(io_err(&moved_to))?;
    aside.sync_all().map_err(io_err(&moved_to))?;

    log.set_len(start).map_err(io_err(path))?;
    log.sync_all().map_err(io_err(path))?;
    Ok(Quarantined {
        moved_to,
        bytes: torn.len() as u64,
    })
}
