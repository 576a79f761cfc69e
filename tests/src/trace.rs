//! A tracing capture for secret scans: a subscriber that writes every event and every span
//! (new, enter, exit, close, with their fields) at every level and from every target, once as
//! human-readable `pretty` text and once as JSON, into one shared buffer.
//!
//! Two ways to install it:
//! - [`Capture::global`]: the process-wide subscriber of a test binary. Every test of the
//!   binary calls it first, so no callsite is registered before it exists and nothing is missed,
//!   whatever thread logs; a scan then covers what every test of the binary logged.
//! - [`Capture::install`]: for the current thread only (run the test on a current-thread runtime,
//!   plain `#[tokio::test]`, so the simulators' tasks log into it too). `tracing` caches per
//!   callsite whether anyone listens; a callsite first reached by another test's thread at the
//!   very moment this is installed can stay disabled for it, so prefer [`Capture::global`] in a
//!   binary whose tests run in parallel.
//!
//! `log` records (not `tracing`) are not captured.
//!
//! ```no_run
//! # async fn run() {}
//! # async fn test() {
//! let capture = passdesk_tests::trace::Capture::global();
//! run().await;
//! capture.assert_absent("the-secret", "client secret");
//! # }
//! ```

use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::Registry;
use tracing_subscriber::fmt::{self, MakeWriter, format::FmtSpan};
use tracing_subscriber::layer::SubscriberExt as _;

/// The shared buffer every captured line goes to.
#[derive(Clone, Default)]
pub struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

/// The writer handed to the `fmt` layers.
pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(Arc::clone(&self.buffer))
    }
}

impl Capture {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subscriber: every level, pretty text and JSON, span events included.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let pretty = fmt::layer()
            .pretty()
            .with_ansi(false)
            .with_span_events(FmtSpan::FULL)
            .with_writer(self.clone());
        let json = fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::FULL)
            .with_writer(self.clone());
        Registry::default().with(pretty).with(json)
    }

    /// The capture installed as the process-wide subscriber, installed on first call. Panics if
    /// another global subscriber was installed first.
    pub fn global() -> &'static Capture {
        static GLOBAL: OnceLock<Capture> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let capture = Capture::new();
            tracing::subscriber::set_global_default(capture.subscriber())
                .expect("no other global tracing subscriber in this test binary");
            capture
        })
    }

    /// Installs the subscriber for the current thread until the guard is dropped.
    ///
    /// Other tests of the same binary may be registering callsites on other threads while this
    /// runs; a callsite that computed its interest just before this subscriber existed would stay
    /// disabled for it, so the interest cache is rebuilt once the subscriber is in place.
    pub fn install(&self) -> DefaultGuard {
        let guard = tracing::subscriber::set_default(self.subscriber());
        tracing::callsite::rebuild_interest_cache();
        guard
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }

    /// Whether `needle` appears in the capture, as written or escaped the way the pretty
    /// (`Debug`) and JSON formats escape strings.
    pub fn contains(&self, needle: &str) -> bool {
        contains_any_form(&self.text(), needle)
    }

    /// Panics, naming `what`, if `secret` appears in the capture in any form.
    pub fn assert_absent(&self, secret: &str, what: &str) {
        let text = self.text();
        assert!(
            !contains_any_form(&text, secret),
            "the {what} appears in the tracing output ({} bytes captured)",
            text.len()
        );
    }
}

/// `needle` as written, `Debug`-escaped or JSON-escaped, in `haystack`.
pub fn contains_any_form(haystack: &str, needle: &str) -> bool {
    let debug = format!("{needle:?}");
    let json = serde_json::to_string(needle).unwrap_or_default();
    [needle, debug.trim_matches('"'), json.trim_matches('"')]
        .iter()
        .any(|form| !form.is_empty() && haystack.contains(form))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_every_level_in_both_formats() {
        let capture = Capture::new();
        {
            let _guard = capture.install();
            let span = tracing::trace_span!("outer", token = "span-field-value");
            let _entered = span.enter();
            tracing::trace!(secret = "trace-level-value", "a trace event");
            tracing::error!("an error event");
        }
        let text = capture.text();
        assert!(text.contains("span-field-value"));
        assert!(text.contains("trace-level-value"));
        assert!(text.contains("an error event"));
        // The JSON layer's lines parse as JSON.
        let json_lines = text
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
            .count();
        assert!(json_lines >= 3, "{text}");
        // The pretty layer's lines are there too.
        assert!(
            text.lines()
                .any(|l| l.contains("TRACE") && !l.starts_with('{'))
        );
    }

    #[test]
    fn finds_escaped_forms() {
        assert!(contains_any_form(r#"value: "a\"b""#, "a\"b"));
        assert!(contains_any_form(r#"{"f":"tab\tthere"}"#, "tab\tthere"));
        assert!(!contains_any_form("nothing here", "secret-x"));
    }
}
