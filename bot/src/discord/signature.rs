//! Ed25519 verification of Discord's HTTP interaction deliveries, as one axum extractor.
//!
//! Discord signs `X-Signature-Timestamp ++ raw body` with the application's key and sends the
//! signature, hex, in `X-Signature-Ed25519`. [`SignedBody`] checks, in this order and before
//! anything reads the body as JSON:
//!
//! 1. both headers are present, visible ASCII, the signature 128 hex digits and the timestamp
//!    Unix seconds (digits only);
//! 2. the timestamp is within [`SIGNATURE_WINDOW`] of the [`Clock`], in the past or the future;
//! 3. the body fits in the size limit (else `413`) and arrives whole;
//! 4. the signature verifies (strict Ed25519) with the application's public key.
//!
//! Any failure of 1, 2 or 4 is a [`SignatureRejection`] answered `401` with the same short
//! body, so a prober learns nothing about which check failed; the reason goes to the log at
//! debug level. Nothing here panics on any input.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::{Signature, VerifyingKey};
use passdesk_config::DiscordPublicKey;

use crate::signed::{self, parse_timestamp, single_header};
pub use crate::signed::{Clock, SystemClock};

/// `X-Signature-Ed25519`: the hex Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
/// `X-Signature-Timestamp`: Unix seconds, the first part of the signed message.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// How far a timestamp may be from now, either way: five minutes.
pub const SIGNATURE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// The largest body read: Discord's interactions are a few KiB; 64 KiB leaves ample room.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Why a delivery was refused before its body was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureRejection {
    /// No `X-Signature-Ed25519` header (or more than one).
    #[error("missing signature header")]
    MissingSignature,
    /// No `X-Signature-Timestamp` header (or more than one).
    #[error("missing timestamp header")]
    MissingTimestamp,
    /// The signature is not 128 hexadecimal digits.
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
    /// The signature does not match the timestamp and body with the application's key.
    #[error("signature does not verify")]
    Forged,
}

impl SignatureRejection {
    /// The status answered: `413` for an oversized body, `400` for one that did not arrive,
    /// `401` for everything else.
    pub fn status(self) -> StatusCode {
        match self {
            SignatureRejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            SignatureRejection::Unreadable => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for SignatureRejection {
    fn into_response(self) -> Response {
        tracing::debug!(reason = %self, "discord delivery refused");
        let body = match self.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "request body too large",
            StatusCode::BAD_REQUEST => "request body could not be read",
            _ => "invalid request signature",
        };
        (self.status(), body).into_response()
    }
}

/// The application's public key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the discord public key is not a valid ed25519 key")]
#[non_exhaustive]
pub struct InvalidPublicKey;

/// Checks Discord's signatures with the application's public key, a clock and a body limit.
#[derive(Clone)]
pub struct SignatureVerifier {
    key: VerifyingKey,
    clock: Arc<dyn Clock>,
    window: Duration,
    max_body: usize,
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("public_key", &hex::encode(self.key.as_bytes()))
            .field("window", &self.window)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

/// The two signature headers, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SignedHeaders {
    signature: Signature,
    /// The header's exact text: the signed message starts with these bytes.
    timestamp: String,
    unix: i64,
}

impl SignatureVerifier {
    /// A verifier for the application's key, with the system clock, the five-minute window
    /// and a 64 KiB body limit.
    ///
    /// # Errors
    ///
    /// [`InvalidPublicKey`] when the 32 bytes are not an Ed25519 point.
    pub fn new(public_key: DiscordPublicKey) -> Result<Self, InvalidPublicKey> {
        let key = VerifyingKey::from_bytes(&public_key.to_bytes()).map_err(|_| InvalidPublicKey)?;
        Ok(Self {
            key,
            clock: Arc::new(SystemClock),
            window: SIGNATURE_WINDOW,
            max_body: DEFAULT_MAX_BODY,
        })
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

    /// Checks a whole delivery: the headers' shape, the timestamp's freshness, the body's size
    /// and the signature over `timestamp ++ body`. Returns the signed Unix timestamp.
    ///
    /// # Errors
    ///
    /// The first check that failed.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<i64, SignatureRejection> {
        let signed = self.check_headers(headers)?;
        if body.len() > self.max_body {
            return Err(SignatureRejection::TooLarge);
        }
        self.check_signature(&signed, body)?;
        Ok(signed.unix)
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

    /// Step 4: the signature over `timestamp ++ body`.
    fn check_signature(
        &self,
        signed: &SignedHeaders,
        body: &[u8],
    ) -> Result<(), SignatureRejection> {
        let mut message = Vec::with_capacity(signed.timestamp.len() + body.len());
        message.extend_from_slice(signed.timestamp.as_bytes());
        message.extend_from_slice(body);
        self.key
            .verify_strict(&message, &signed.signature)
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

/// 128 hex digits → a signature.
fn parse_signature(text: &str) -> Option<Signature> {
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// A delivery whose signature verified: the exact bytes Discord signed, not yet parsed.
///
/// As an extractor it needs an `Arc<SignatureVerifier>` in the router's state (through
/// [`FromRef`]); it must be the handler's last argument, since it consumes the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBody {
    /// The signed Unix timestamp.
    pub timestamp: i64,
    /// The raw body.
    pub body: Bytes,
}

impl<S> FromRequest<S> for SignedBody
where
    S: Send + Sync,
    Arc<SignatureVerifier>: FromRef<S>,
{
    type Rejection = SignatureRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<SignatureVerifier>::from_ref(state);
        let signed = verifier.check_headers(request.headers())?;
        let body = verifier.read_body(request).await?;
        verifier.check_signature(&signed, &body)?;
        Ok(SignedBody {
            timestamp: signed.unix,
            body,
        })
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
    use ed25519_dalek::{Signer as _, SigningKey};
    use tower::ServiceExt as _;

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;

    struct FixedClock(i64);

    impl Clock for FixedClock {
        fn unix_now(&self) -> i64 {
            self.0
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn verifier() -> SignatureVerifier {
        let public: DiscordPublicKey = hex::encode(key().verifying_key().to_bytes())
            .parse()
            .unwrap();
        SignatureVerifier::new(public)
            .unwrap()
            .with_clock(Arc::new(FixedClock(NOW)))
            .with_max_body(1024)
    }

    fn sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        hex::encode(key.sign(&[timestamp.as_bytes(), body].concat()).to_bytes())
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

    /// A table row: name, signature header, timestamp header, body, expected outcome.
    type Case = (
        &'static str,
        Option<String>,
        Option<String>,
        Vec<u8>,
        Result<i64, SignatureRejection>,
    );

    #[test]
    fn every_kind_of_bad_delivery_is_refused_with_its_reason() {
        use SignatureRejection::*;
        let some = |text: &str| Some(text.to_owned());
        let ts = NOW.to_string();
        let at = |offset: i64| (NOW + offset).to_string();
        let good = sign(&key(), &ts, BODY);
        let signed_at = |offset: i64| sign(&key(), &at(offset), BODY);
        let mut flipped = hex::decode(&good).unwrap();
        flipped[10] ^= 1;
        let other_key = sign(&SigningKey::from_bytes(&[8; 32]), &ts, BODY);
        let altered = String::from_utf8(BODY.to_vec())
            .unwrap()
            .replace("\"t\"", "\"u\"")
            .into_bytes();
        let big = vec![b' '; 1025];
        let body = BODY.to_vec();

        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("signed now", some(&good), some(&ts), body.clone(), Ok(NOW)),
            ("upper-case hex", some(&good.to_uppercase()), some(&ts), body.clone(), Ok(NOW)),
            ("exactly 5 minutes old", some(&signed_at(-300)), some(&at(-300)), body.clone(), Ok(NOW - 300)),
            ("exactly 5 minutes ahead", some(&signed_at(300)), some(&at(300)), body.clone(), Ok(NOW + 300)),
            ("no headers", None, None, body.clone(), Err(MissingSignature)),
            ("no signature", None, some(&ts), body.clone(), Err(MissingSignature)),
            ("no timestamp", some(&good), None, body.clone(), Err(MissingTimestamp)),
            ("empty signature", some(""), some(&ts), body.clone(), Err(MalformedSignature)),
            ("short signature", some(&good[..126]), some(&ts), body.clone(), Err(MalformedSignature)),
            ("long signature", some(&format!("{good}00")), some(&ts), body.clone(), Err(MalformedSignature)),
            ("odd length", some(&good[..127]), some(&ts), body.clone(), Err(MalformedSignature)),
            ("not hex", some(&"zz".repeat(64)), some(&ts), body.clone(), Err(MalformedSignature)),
            ("empty timestamp", some(&good), some(""), body.clone(), Err(MalformedTimestamp)),
            ("timestamp with a sign", some(&good), some(&format!("+{ts}")), body.clone(), Err(MalformedTimestamp)),
            ("negative timestamp", some(&good), some("-1"), body.clone(), Err(MalformedTimestamp)),
            ("timestamp with a space", some(&good), some(&format!("{ts} ")), body.clone(), Err(MalformedTimestamp)),
            ("fractional timestamp", some(&good), some(&format!("{ts}.5")), body.clone(), Err(MalformedTimestamp)),
            ("huge timestamp", some(&good), some("99999999999999999999"), body.clone(), Err(MalformedTimestamp)),
            ("301 s old", some(&signed_at(-301)), some(&at(-301)), body.clone(), Err(Stale)),
            ("301 s ahead", some(&signed_at(301)), some(&at(301)), body.clone(), Err(FromTheFuture)),
            ("zero timestamp", some(&good), some("0"), body.clone(), Err(Stale)),
            ("one bit flipped", some(&hex::encode(flipped)), some(&ts), body.clone(), Err(Forged)),
            ("all zeros", some(&"0".repeat(128)), some(&ts), body.clone(), Err(Forged)),
            ("another key", some(&other_key), some(&ts), body.clone(), Err(Forged)),
            ("timestamp changed", some(&good), some(&at(1)), body.clone(), Err(Forged)),
            ("truncated body", some(&good), some(&ts), BODY[..BODY.len() - 1].to_vec(), Err(Forged)),
            ("altered body", some(&good), some(&ts), altered, Err(Forged)),
            ("empty body", some(&good), some(&ts), Vec::new(), Err(Forged)),
            ("too large", some(&sign(&key(), &ts, &big)), some(&ts), big, Err(TooLarge)),
        ];
        let verifier = verifier();
        for (name, signature, timestamp, body, expected) in cases {
            let headers = headers(signature.as_deref(), timestamp.as_deref());
            assert_eq!(verifier.verify(&headers, &body), expected, "{name}");
        }
    }

    #[test]
    fn a_repeated_header_is_refused() {
        let ts = NOW.to_string();
        let good = sign(&key(), &ts, BODY);
        let mut twice = headers(Some(&good), Some(&ts));
        twice.append(SIGNATURE_HEADER, HeaderValue::from_str(&good).unwrap());
        assert_eq!(
            verifier().verify(&twice, BODY),
            Err(SignatureRejection::MissingSignature)
        );
        let mut non_ascii = headers(Some(&good), None);
        non_ascii.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_bytes(b"17\xff").unwrap(),
        );
        assert_eq!(
            verifier().verify(&non_ascii, BODY),
            Err(SignatureRejection::MissingTimestamp)
        );
    }

    #[test]
    fn statuses_are_401_except_size_and_unreadable() {
        assert_eq!(
            SignatureRejection::Forged.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(SignatureRejection::Stale.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            SignatureRejection::TooLarge.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            SignatureRejection::Unreadable.status(),
            StatusCode::BAD_REQUEST
        );
    }

    /// The extractor in a router, driven without a socket.
    async fn through_extractor(request: axum::http::Request<Body>) -> (StatusCode, String) {
        let app = Router::new()
            .route(
                "/",
                post(|signed: SignedBody| async move {
                    format!("{}:{}", signed.timestamp, signed.body.len())
                }),
            )
            .with_state(Arc::new(verifier()));
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn request(signature: &str, timestamp: &str, body: Vec<u8>) -> axum::http::Request<Body> {
        axum::http::Request::post("/")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, timestamp)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn the_extractor_passes_signed_bytes_and_refuses_the_rest() {
        let ts = NOW.to_string();
        let good = sign(&key(), &ts, BODY);
        assert_eq!(
            through_extractor(request(&good, &ts, BODY.to_vec())).await,
            (StatusCode::OK, format!("{NOW}:{}", BODY.len()))
        );
        let (status, text) = through_extractor(request(&good, &ts, BODY[1..].to_vec())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(text, "invalid request signature");

        let unsigned = axum::http::Request::post("/")
            .body(Body::from(BODY.to_vec()))
            .unwrap();
        assert_eq!(
            through_extractor(unsigned).await.0,
            StatusCode::UNAUTHORIZED
        );

        let big = vec![b'x'; 1025];
        let big_sig = sign(&key(), &ts, &big);
        assert_eq!(
            through_extractor(request(&big_sig, &ts, big)).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn a_streamed_oversized_body_is_cut_off() {
        let ts = NOW.to_string();
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            (0..20).map(|_| Ok(Bytes::from(vec![b'x'; 100]))).collect();
        let request = axum::http::Request::post("/")
            .header(SIGNATURE_HEADER, sign(&key(), &ts, BODY))
            .header(TIMESTAMP_HEADER, &ts)
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap();
        assert_eq!(
            through_extractor(request).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_ends_is_given_up_on() {
        let ts = NOW.to_string();
        let request = axum::http::Request::post("/")
            .header(SIGNATURE_HEADER, sign(&key(), &ts, BODY))
            .header(TIMESTAMP_HEADER, &ts)
            .body(Body::from_stream(futures::stream::pending::<
                Result<Bytes, std::io::Error>,
            >()))
            .unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(through_extractor(request).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(started.elapsed(), BODY_READ_TIMEOUT);
    }
}
