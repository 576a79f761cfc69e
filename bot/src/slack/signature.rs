//! Verification of Slack's signed requests, as one axum extractor.
//!
//! Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's signing secret
//! (HMAC-SHA256) and sends `v0=` + the lowercase hex digest in `X-Slack-Signature`
//! (reference §2.1). [`SignedForm`] checks, in this order and before anything decodes the form:
//!
//! 1. both headers are present once, the signature exactly `v0=` + 64 lowercase hex digits
//!    (an upper-case or `v1=` header is refused, not normalised) and the timestamp Unix
//!    seconds (ASCII digits only);
//! 2. the timestamp is within [`SIGNATURE_WINDOW`] of the [`Clock`], in the past or the future;
//! 3. the body fits in the size limit (else `413`) and arrives whole;
//! 4. the HMAC over the timestamp header *as received* and the *raw* body bytes matches, in
//!    constant time (`hmac`'s `verify_slice`);
//! 5. the signature was not seen before ([`SignatureReplayGuard`]): a replay is refused.
//!
//! Failures of 1, 2, 4 and 5 are answered `401` with the same short body, so a prober learns
//! nothing about which check failed; the reason is logged at debug level. Nothing here panics
//! on any input.
//!
//! One unsigned request is answered: Slack's `ssl_check` (a form of exactly `ssl_check=1` and
//! optionally its `token`) gets an empty `200` and is dispatched nowhere. Any other field next
//! to it (`ssl_check=1&payload=…`) makes it an unsigned request like any other: `401`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use tokio::time::Instant;

use crate::signed::{self, parse_timestamp, single_header};
pub use crate::signed::{Clock, SystemClock};

use super::replay::{Admission, SignatureReplayGuard};

/// `X-Slack-Signature`: `v0=` and the hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// `X-Slack-Request-Timestamp`: Unix seconds, part of the signed message.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far a timestamp may be from now, either way: five minutes.
pub const SIGNATURE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// The largest body read: interaction payloads carry a whole message or view (views up to
/// 250 kB), so 1 MiB (reference §2.3).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// The signature scheme's version prefix.
const VERSION_PREFIX: &str = "v0=";

/// Why a request was not dispatched before its body was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureRejection {
    /// No `X-Slack-Signature` header (or more than one).
    #[error("missing signature header")]
    MissingSignature,
    /// No `X-Slack-Request-Timestamp` header (or more than one).
    #[error("missing timestamp header")]
    MissingTimestamp,
    /// The signature is not `v0=` and 64 lowercase hexadecimal digits.
    #[error("malformed signature header")]
    MalformedSignature,
    /// The timestamp is not Unix seconds.
    #[error("malformed timestamp header")]
    MalformedTimestamp,
    /// The timestamp is more than the window in the past.
    #[error("timestamp too old")]
    Stale,
    /// The timestamp is more than the window in the future.
    #[error("timestamp in the future")]
    FromTheFuture,
    /// The body is larger than the limit.
    #[error("body too large")]
    TooLarge,
    /// The body could not be read to its end (the client went away, or was too slow).
    #[error("body could not be read")]
    Unreadable,
    /// The HMAC does not match the timestamp and body with the signing secret.
    #[error("signature does not verify")]
    Forged,
    /// The same signed request was seen before, inside the window.
    #[error("request already received")]
    Replayed,
    /// The replay set is full of unexpired signatures: the request cannot be checked.
    #[error("too many requests at once")]
    Busy,
    /// An unsigned `ssl_check=1`: answered `200` with an empty body, dispatched nowhere.
    #[error("ssl check")]
    SslCheck,
}

impl SignatureRejection {
    /// The status answered: `200` for an `ssl_check`, `413` for an oversized body, `400` for
    /// one that did not arrive, `429` when the replay set is full, `401` for everything else.
    pub fn status(self) -> StatusCode {
        match self {
            SignatureRejection::SslCheck => StatusCode::OK,
            SignatureRejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            SignatureRejection::Unreadable => StatusCode::BAD_REQUEST,
            SignatureRejection::Busy => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for SignatureRejection {
    fn into_response(self) -> Response {
        tracing::debug!(reason = %self, "slack request not dispatched");
        let body = match self {
            SignatureRejection::SslCheck => "",
            SignatureRejection::TooLarge => "request body too large",
            SignatureRejection::Unreadable => "request body could not be read",
            SignatureRejection::Busy => "too many requests",
            _ => "invalid request signature",
        };
        (self.status(), body).into_response()
    }
}

/// What a verified request was signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed Unix timestamp.
    pub timestamp: i64,
    /// The HMAC (the replay set's key).
    pub signature: [u8; 32],
}

/// Checks Slack's signatures with the app's signing secret, a clock and a body limit.
#[derive(Clone)]
pub struct SignatureVerifier {
    secret: SecretString,
    clock: Arc<dyn Clock>,
    window: Duration,
    max_body: usize,
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("signing_secret", &"[redacted]")
            .field("window", &self.window)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

/// The two signature headers, checked for shape and freshness.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SignedHeaders {
    signature: [u8; 32],
    /// The header's exact text: the signed message holds these bytes.
    timestamp: String,
    unix: i64,
}

impl SignatureVerifier {
    /// A verifier for the app's signing secret, with the system clock, the five-minute window
    /// and a 1 MiB body limit.
    pub fn new(signing_secret: SecretString) -> Self {
        Self {
            secret: signing_secret,
            clock: Arc::new(SystemClock),
            window: SIGNATURE_WINDOW,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Uses another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses another body limit, in bytes.
    #[must_use]
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How long a timestamp stays acceptable either side of now.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The body limit, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Checks a whole request: the headers' shape, the timestamp's freshness, the body's size
    /// and the HMAC over `v0:{timestamp}:{body}`. Does not look at the replay set.
    ///
    /// # Errors
    ///
    /// The first check that failed.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Verified, SignatureRejection> {
        let signed = self.check_headers(headers)?;
        if body.len() > self.max_body {
            return Err(SignatureRejection::TooLarge);
        }
        self.check_signature(&signed, body)?;
        Ok(Verified {
            timestamp: signed.unix,
            signature: signed.signature,
        })
    }

    /// Steps 1 and 2: the headers are there, well formed, and the timestamp is fresh.
    fn check_headers(&self, headers: &HeaderMap) -> Result<SignedHeaders, SignatureRejection> {
        let signature =
            single_header(headers, SIGNATURE_HEADER).ok_or(SignatureRejection::MissingSignature)?;
        let timestamp =
            single_header(headers, TIMESTAMP_HEADER).ok_or(SignatureRejection::MissingTimestamp)?;
        let signature = parse_signature(signature).ok_or(SignatureRejection::MalformedSignature)?;
        let unix = parse_timestamp(timestamp).ok_or(SignatureRejection::MalformedTimestamp)?;
        signed::check_window(unix, self.clock.as_ref(), self.window).map_err(|outside| {
            outside.pick(SignatureRejection::Stale, SignatureRejection::FromTheFuture)
        })?;
        Ok(SignedHeaders {
            signature,
            timestamp: timestamp.to_owned(),
            unix,
        })
    }

    /// Step 4: the HMAC over `v0:{timestamp}:{body}`, compared in constant time.
    fn check_signature(
        &self,
        signed: &SignedHeaders,
        body: &[u8],
    ) -> Result<(), SignatureRejection> {
        // HMAC takes keys of any length: this cannot fail, but is not unwrapped.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .map_err(|_| SignatureRejection::Forged)?;
        mac.update(b"v0:");
        mac.update(signed.timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.verify_slice(&signed.signature)
            .map_err(|_| SignatureRejection::Forged)
    }

    /// Step 3: reads at most `max_body` bytes of the body.
    async fn read_body(&self, request: Request) -> Result<Bytes, SignatureRejection> {
        signed::read_body(request, self.max_body)
            .await
            .map_err(|error| {
                error.pick(SignatureRejection::TooLarge, SignatureRejection::Unreadable)
            })
    }
}

/// `v0=` + 64 lowercase hex digits → the 32-byte HMAC.
fn parse_signature(text: &str) -> Option<[u8; 32]> {
    let digits = text.strip_prefix(VERSION_PREFIX)?;
    if digits.len() != 64
        || !digits
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).ok()?;
    Some(bytes)
}

/// Whether a form body is exactly Slack's SSL check: `ssl_check=1` once, and at most one
/// `token`, nothing else.
pub fn is_ssl_check(body: &[u8]) -> bool {
    let mut ssl_check = 0;
    let mut token = 0;
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "ssl_check" if value == "1" => ssl_check += 1,
            "token" => token += 1,
            _ => return false,
        }
    }
    ssl_check == 1 && token <= 1
}

/// A request whose signature verified and that was not seen before: the exact bytes Slack
/// signed, not yet decoded.
///
/// As an extractor it needs an `Arc<SignatureVerifier>` and an `Arc<SignatureReplayGuard>`
/// in the router's state (through [`FromRef`]); it must be the handler's last argument, since
/// it consumes the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedForm {
    /// The signed Unix timestamp.
    pub timestamp: i64,
    /// The raw `application/x-www-form-urlencoded` body.
    pub body: Bytes,
}

impl<S> FromRequest<S> for SignedForm
where
    S: Send + Sync,
    Arc<SignatureVerifier>: FromRef<S>,
    Arc<SignatureReplayGuard>: FromRef<S>,
{
    type Rejection = SignatureRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let received = Instant::now();
        let verifier = Arc::<SignatureVerifier>::from_ref(state);
        let headers = request.headers();
        if headers.get(SIGNATURE_HEADER).is_none() && headers.get(TIMESTAMP_HEADER).is_none() {
            let body = verifier.read_body(request).await?;
            return Err(if is_ssl_check(&body) {
                SignatureRejection::SslCheck
            } else {
                SignatureRejection::MissingSignature
            });
        }
        let signed = verifier.check_headers(headers)?;
        let body = verifier.read_body(request).await?;
        verifier.check_signature(&signed, &body)?;
        let replay = Arc::<SignatureReplayGuard>::from_ref(state);
        match replay.admit(&signed.signature, received) {
            Admission::Fresh => Ok(SignedForm {
                timestamp: signed.unix,
                body,
            }),
            Admission::Replay => {
                tracing::warn!("replayed slack request refused");
                Err(SignatureRejection::Replayed)
            }
            _ => Err(SignatureRejection::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::BODY_READ_TIMEOUT;
    use axum::Router;
    use axum::body::Body;
    use axum::http::HeaderValue;
    use axum::routing::post;
    use tower::ServiceExt as _;

    /// Slack's own worked example (reference §2.2).
    const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const SLACK_TS: &str = "1531420618";
    const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SLACK_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    const SECRET: &str = "passdesk-test-signing-secret";
    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = b"command=%2Fpasswd&text=reset+user%3Ajc.one";
    const BODY_SIGNATURE: &str =
        "v0=916af62e5a7eb22f144f4f40a568705f1c09ddc3061c9bb888c351224a6bd9a4";

    struct FixedClock(i64);

    impl Clock for FixedClock {
        fn unix_now(&self) -> i64 {
            self.0
        }
    }

    fn verifier_at(secret: &str, now: i64) -> SignatureVerifier {
        SignatureVerifier::new(SecretString::from(secret.to_owned()))
            .with_clock(Arc::new(FixedClock(now)))
            .with_max_body(1024)
    }

    fn verifier() -> SignatureVerifier {
        verifier_at(SECRET, NOW)
    }

    /// An independent signer (not the verifier's code): the scheme is checked, not echoed.
    fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
        passdesk_sim::slack::sign(secret, timestamp, body)
    }

    fn headers(signature: Option<&str>, timestamp: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(signature) = signature {
            headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        }
        if let Some(timestamp) = timestamp {
            headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        }
        headers
    }

    #[test]
    fn slacks_published_example_verifies_and_nothing_near_it_does() {
        let at = verifier_at(SLACK_SECRET, 1_531_420_618 + 60);
        let ok = at.verify(
            &headers(Some(SLACK_SIGNATURE), Some(SLACK_TS)),
            SLACK_BODY.as_bytes(),
        );
        assert_eq!(ok.map(|v| v.timestamp), Ok(1_531_420_618));
        // The same request today is stale.
        let today = verifier_at(SLACK_SECRET, NOW);
        assert_eq!(
            today.verify(
                &headers(Some(SLACK_SIGNATURE), Some(SLACK_TS)),
                SLACK_BODY.as_bytes()
            ),
            Err(SignatureRejection::Stale)
        );
        // Another secret, one byte of body, or the timestamp re-written: forged.
        let other = verifier_at("8f742231b10e8888abcd99yyyzzz85a6", 1_531_420_618);
        assert_eq!(
            other.verify(
                &headers(Some(SLACK_SIGNATURE), Some(SLACK_TS)),
                SLACK_BODY.as_bytes()
            ),
            Err(SignatureRejection::Forged)
        );
        let altered = SLACK_BODY.replace("text=&", "text=x&");
        assert_eq!(
            at.verify(
                &headers(Some(SLACK_SIGNATURE), Some(SLACK_TS)),
                altered.as_bytes()
            ),
            Err(SignatureRejection::Forged)
        );
    }

    #[test]
    fn the_other_known_answer_vectors_verify() {
        // slack-morphism's unit vector.
        let morphism = verifier_at("fa2c05deeef5a4077494e89f54394de0", 1_531_420_618);
        let signature = "v0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666";
        assert!(
            morphism
                .verify(&headers(Some(signature), Some("1531420618")), b"test-body")
                .is_ok()
        );
        // The reference's own vectors: one text, two encodings, two signatures — the HMAC is
        // over the raw bytes, never a re-encoding.
        let ts = NOW.to_string();
        for (body, signature) in [
            (
                &b"payload=%7B%22type%22%3A%22block_actions%22%7D"[..],
                "v0=3b19a8024eb62441d9bbe1da62f44b29971ca7e4a4bd7dba348eb29414e9a091",
            ),
            (BODY, BODY_SIGNATURE),
            (
                &b"command=%2Fpasswd&text=reset%20user%3Ajc.one"[..],
                "v0=4277afa13ec77a9342241f29932c8fb3d03179c37296c19875f938f0b0931639",
            ),
        ] {
            assert!(
                verifier()
                    .verify(&headers(Some(signature), Some(&ts)), body)
                    .is_ok(),
                "{signature}"
            );
        }
        assert_eq!(
            verifier().verify(
                &headers(Some(BODY_SIGNATURE), Some(&ts)),
                b"command=%2Fpasswd&text=reset%20user%3Ajc.one"
            ),
            Err(SignatureRejection::Forged),
            "+ and %20 decode alike but sign differently"
        );
    }

    /// A table row: name, signature header, timestamp header, body, expected outcome.
    type Case = (
        &'static str,
        Option<String>,
        Option<String>,
        Vec<u8>,
        Result<i64, SignatureRejection>,
    );

    #[test]
    fn every_kind_of_bad_request_is_refused_with_its_reason() {
        use SignatureRejection::*;
        let some = |text: &str| Some(text.to_owned());
        let ts = NOW.to_string();
        let at = |offset: i64| (NOW + offset).to_string();
        let good = sign(SECRET, &ts, BODY);
        let signed_at = |offset: i64| sign(SECRET, &at(offset), BODY);
        let body = BODY.to_vec();
        let digits = good.trim_start_matches("v0=").to_owned();

        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("signed now", some(&good), some(&ts), body.clone(), Ok(NOW)),
            ("exactly 5 minutes old", some(&signed_at(-300)), some(&at(-300)), body.clone(), Ok(NOW - 300)),
            ("exactly 5 minutes ahead", some(&signed_at(300)), some(&at(300)), body.clone(), Ok(NOW + 300)),
            ("301 s old", some(&signed_at(-301)), some(&at(-301)), body.clone(), Err(Stale)),
            ("301 s ahead", some(&signed_at(301)), some(&at(301)), body.clone(), Err(FromTheFuture)),
            ("no signature", None, some(&ts), body.clone(), Err(MissingSignature)),
            ("no timestamp", some(&good), None, body.clone(), Err(MissingTimestamp)),
            ("empty signature", some(""), some(&ts), body.clone(), Err(MalformedSignature)),
            ("empty timestamp", some(&good), some(""), body.clone(), Err(MalformedTimestamp)),
            ("upper-case hex", some(&format!("v0={}", digits.to_uppercase())), some(&ts), body.clone(), Err(MalformedSignature)),
            ("v1 scheme", some(&format!("v1={digits}")), some(&ts), body.clone(), Err(MalformedSignature)),
            ("no version", some(&digits), some(&ts), body.clone(), Err(MalformedSignature)),
            ("truncated", some(&good[..good.len() - 1]), some(&ts), body.clone(), Err(MalformedSignature)),
            ("extra digit", some(&format!("{good}0")), some(&ts), body.clone(), Err(MalformedSignature)),
            ("not hex", some(&format!("v0={}", "g".repeat(64))), some(&ts), body.clone(), Err(MalformedSignature)),
            ("signed timestamp with a plus", some(&sign(SECRET, &format!("+{ts}"), BODY)), some(&format!("+{ts}")), body.clone(), Err(MalformedTimestamp)),
            ("negative timestamp", some(&good), some("-1"), body.clone(), Err(MalformedTimestamp)),
            ("timestamp with a space", some(&good), some(&format!("{ts} ")), body.clone(), Err(MalformedTimestamp)),
            ("huge timestamp", some(&good), some("99999999999999999999"), body.clone(), Err(MalformedTimestamp)),
            ("leading zero", some(&good), some(&format!("0{ts}")), body.clone(), Err(Forged)),
            ("other secret", some(&sign("another-secret", &ts, BODY)), some(&ts), body.clone(), Err(Forged)),
            ("other timestamp", some(&good), some(&at(1)), body.clone(), Err(Forged)),
            ("body cut", some(&good), some(&ts), BODY[..BODY.len() - 1].to_vec(), Err(Forged)),
            ("body with a newline", some(&good), some(&ts), [BODY, b"\n"].concat(), Err(Forged)),
            ("empty body", some(&good), some(&ts), Vec::new(), Err(Forged)),
            ("too large", some(&good), some(&ts), vec![b'a'; 1025], Err(TooLarge)),
        ];
        for (name, signature, timestamp, body, expected) in cases {
            let got = verifier()
                .verify(&headers(signature.as_deref(), timestamp.as_deref()), &body)
                .map(|verified| verified.timestamp);
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn a_header_sent_twice_is_refused() {
        let ts = NOW.to_string();
        let good = sign(SECRET, &ts, BODY);
        let mut twice = headers(Some(&good), Some(&ts));
        twice.append(SIGNATURE_HEADER, HeaderValue::from_str(&good).unwrap());
        assert_eq!(
            verifier().verify(&twice, BODY),
            Err(SignatureRejection::MissingSignature)
        );
    }

    #[test]
    fn ssl_check_is_exactly_that() {
        assert!(is_ssl_check(b"ssl_check=1"));
        assert!(is_ssl_check(b"ssl_check=1&token=legacy"));
        assert!(!is_ssl_check(b"ssl_check=true"));
        assert!(!is_ssl_check(b"ssl_check=1&ssl_check=1"));
        assert!(!is_ssl_check(b"ssl_check=1&payload=%7B%7D"));
        assert!(!is_ssl_check(b"ssl_check=1&command=%2Fpassdesk"));
        assert!(!is_ssl_check(b""));
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let shown = format!("{:?}", verifier());
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    /// The extractor alone, driven without a socket.
    async fn through_extractor(
        app: &Router,
        request: axum::http::Request<Body>,
    ) -> (StatusCode, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[derive(Clone)]
    struct TestState(Arc<SignatureVerifier>, Arc<SignatureReplayGuard>);

    impl FromRef<TestState> for Arc<SignatureVerifier> {
        fn from_ref(state: &TestState) -> Self {
            Arc::clone(&state.0)
        }
    }

    impl FromRef<TestState> for Arc<SignatureReplayGuard> {
        fn from_ref(state: &TestState) -> Self {
            Arc::clone(&state.1)
        }
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/",
                post(|signed: SignedForm| async move {
                    format!("{}:{}", signed.timestamp, signed.body.len())
                }),
            )
            .with_state(TestState(
                Arc::new(verifier()),
                Arc::new(SignatureReplayGuard::default()),
            ))
    }

    fn request(signature: &str, timestamp: &str, body: Vec<u8>) -> axum::http::Request<Body> {
        axum::http::Request::post("/")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, timestamp)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn the_extractor_passes_signed_bytes_once_and_refuses_the_rest() {
        let app = app();
        let ts = NOW.to_string();
        let good = sign(SECRET, &ts, BODY);
        assert_eq!(
            through_extractor(&app, request(&good, &ts, BODY.to_vec())).await,
            (StatusCode::OK, format!("{NOW}:{}", BODY.len()))
        );
        assert_eq!(
            through_extractor(&app, request(&good, &ts, BODY.to_vec())).await,
            (
                StatusCode::UNAUTHORIZED,
                "invalid request signature".to_owned()
            ),
            "the same signed request again is a replay"
        );
        let forged = sign(SECRET, &ts, &BODY[1..]);
        assert_eq!(
            through_extractor(&app, request(&forged, &ts, BODY.to_vec()))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        let other = sign(SECRET, &ts, b"text=other");
        assert_eq!(
            through_extractor(&app, request(&other, &ts, b"text=other".to_vec()))
                .await
                .0,
            StatusCode::OK,
            "a refused forgery did not burn anything"
        );

        let unsigned = |body: &'static [u8]| {
            axum::http::Request::post("/")
                .body(Body::from(body))
                .unwrap()
        };
        assert_eq!(
            through_extractor(&app, unsigned(BODY)).await,
            (
                StatusCode::UNAUTHORIZED,
                "invalid request signature".to_owned()
            )
        );
        assert_eq!(
            through_extractor(&app, unsigned(b"ssl_check=1&token=x")).await,
            (StatusCode::OK, String::new()),
            "an ssl check is answered, not dispatched"
        );
        assert_eq!(
            through_extractor(&app, unsigned(b"ssl_check=1&payload=%7B%7D"))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );

        let big = vec![b'x'; 1025];
        let big_sig = sign(SECRET, &ts, &big);
        assert_eq!(
            through_extractor(&app, request(&big_sig, &ts, big)).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn a_streamed_oversized_body_is_cut_off() {
        let ts = NOW.to_string();
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            (0..20).map(|_| Ok(Bytes::from(vec![b'x'; 100]))).collect();
        let request = axum::http::Request::post("/")
            .header(SIGNATURE_HEADER, sign(SECRET, &ts, BODY))
            .header(TIMESTAMP_HEADER, &ts)
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap();
        assert_eq!(
            through_extractor(&app(), request).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_ends_is_given_up_on() {
        let ts = NOW.to_string();
        let request = axum::http::Request::post("/")
            .header(SIGNATURE_HEADER, sign(SECRET, &ts, BODY))
            .header(TIMESTAMP_HEADER, &ts)
            .body(Body::from_stream(futures::stream::pending::<
                Result<Bytes, std::io::Error>,
            >()))
            .unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(
            through_extractor(&app(), request).await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(started.elapsed(), BODY_READ_TIMEOUT);
    }
}
