//! The platform-neutral half of checking a signed webhook delivery: the clock, the signed
//! timestamp's shape and window, single-valued headers, and reading the body within a size
//! limit and a timeout.
//!
//! Each platform's extractor ([`crate::discord::signature`], [`crate::slack::signature`]) keeps
//! its own header names, signature scheme and rejection type, and maps these errors onto it.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use futures::StreamExt as _;

/// How long a body may take to arrive: both platforms send it at once and wait about 3 s for
/// the answer meanwhile.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest timestamp accepted (Unix seconds have 10 digits until the year 2286).
const MAX_TIMESTAMP_DIGITS: usize = 12;

/// The current time, as Unix seconds; injectable so tests can move it.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, now.
    fn unix_now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// Why a signed timestamp is outside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideWindow {
    /// More than the window in the past.
    Stale,
    /// More than the window in the future.
    FromTheFuture,
}

impl OutsideWindow {
    /// The platform's own rejection for this side of the window.
    pub fn pick<T>(self, stale: T, from_the_future: T) -> T {
        match self {
            OutsideWindow::Stale => stale,
            OutsideWindow::FromTheFuture => from_the_future,
        }
    }
}

/// Whether `unix` is within `window` of the clock's now, either way (the bounds included).
///
/// # Errors
///
/// Which side of the window it fell on.
pub fn check_window(unix: i64, clock: &dyn Clock, window: Duration) -> Result<(), OutsideWindow> {
    let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
    let now = clock.unix_now();
    if unix < now.saturating_sub(window) {
        return Err(OutsideWindow::Stale);
    }
    if unix > now.saturating_add(window) {
        return Err(OutsideWindow::FromTheFuture);
    }
    Ok(())
}

/// Unix seconds: 1 to 12 ASCII digits, nothing else (no sign, no spaces).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if text.is_empty()
        || text.len() > MAX_TIMESTAMP_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

/// The value of a header that appears exactly once and is visible ASCII.
pub fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or found larger than the limit.
    TooLarge,
    /// Not read to its end within [`BODY_READ_TIMEOUT`] (the client went away, or was too slow).
    Unreadable,
}

impl BodyError {
    /// The platform's own rejection for this error.
    pub fn pick<T>(self, too_large: T, unreadable: T) -> T {
        match self {
            BodyError::TooLarge => too_large,
            BodyError::Unreadable => unreadable,
        }
    }
}

/// Reads at most `max_body` bytes of the request's body, within [`BODY_READ_TIMEOUT`]; a
/// `Content-Length` above the limit is refused before reading anything.
///
/// # Errors
///
/// [`BodyError`] when the body is too large or does not arrive whole in time.
pub async fn read_body(request: Request, max_body: usize) -> Result<Bytes, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body as u64) {
        return Err(BodyError::TooLarge);
    }
    // Sized once from the declared length (already checked against the limit).
    let expected = declared
        .and_then(|length| usize::try_from(length).ok())
        .unwrap_or(0);
    let mut stream = request.into_body().into_data_stream();
    let read = async move {
        let mut body = Vec::with_capacity(expected);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
            if body.len() + chunk.len() > max_body {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let body = tokio::time::timeout(BODY_READ_TIMEOUT, read)
        .await
        .map_err(|_| BodyError::Unreadable)??;
    Ok(Bytes::from(body))
}
