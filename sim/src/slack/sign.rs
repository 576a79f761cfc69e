//! Slack's request signing (`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`) and the
//! signed requests the driver hands to a test.

use std::fmt;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Slack's signature of a request: `v0=` followed by the lowercase hex HMAC-SHA256, keyed with
/// the signing secret, of `v0:{timestamp}:{body}` (the timestamp exactly as sent in
/// `X-Slack-Request-Timestamp`, the body as raw bytes).
///
/// ```
/// // Slack's published example ("Verifying requests from Slack").
/// let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
/// assert_eq!(
///     passdesk_sim::slack::sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body),
///     "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
/// );
/// ```
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(b"v0:");
            mac.update(timestamp.as_bytes());
            mac.update(b":");
            mac.update(body);
            format!("v0={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// What kind of request Slack is sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// A slash command (form fields), for the commands Request URL.
    SlashCommand,
    /// A `block_actions` interaction (`payload=` JSON), for the Interactivity Request URL.
    BlockActions,
    /// A `view_submission` interaction.
    ViewSubmission,
    /// A `view_closed` interaction (only for views opened with `notify_on_close`).
    ViewClosed,
}

impl RequestKind {
    /// A short name for records and spans.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::SlashCommand => "slash_command",
            RequestKind::BlockActions => "block_actions",
            RequestKind::ViewSubmission => "view_submission",
            RequestKind::ViewClosed => "view_closed",
        }
    }
}

/// A request as Slack would POST it to the bot: the raw form body and the signature headers,
/// plus what the fake minted for it (`response_url`, `trigger_id`). Tests may change any field
/// (e.g. one byte of `body`) to build a badly signed request.
///
/// `Debug` shows the body's length only: a `view_submission` body holds what the user typed.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedRequest {
    /// What it is.
    pub kind: RequestKind,
    /// The raw `application/x-www-form-urlencoded` body, exactly as signed.
    pub body: Vec<u8>,
    /// `X-Slack-Request-Timestamp` (absent for an unsigned request).
    pub timestamp: Option<String>,
    /// `X-Slack-Signature` (absent for an unsigned request).
    pub signature: Option<String>,
    /// The `response_url` minted for it (commands and `block_actions`).
    pub response_url: Option<String>,
    /// The `trigger_id` minted for it.
    pub trigger_id: Option<String>,
    /// The acting user.
    pub user_id: String,
    /// The conversation it came from (none for view submissions).
    pub channel_id: Option<String>,
    /// The view submitted or closed.
    pub view_id: Option<String>,
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("kind", &self.kind)
            .field("body_len", &self.body.len())
            .field("timestamp", &self.timestamp)
            .field("signed", &self.signature.is_some())
            .field("user_id", &self.user_id)
            .field("channel_id", &self.channel_id)
            .field("view_id", &self.view_id)
            .finish_non_exhaustive()
    }
}

impl SignedRequest {
    /// The headers Slack sends with it: content type, user agent and, when signed,
    /// `X-Slack-Request-Timestamp` and `X-Slack-Signature`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            (
                "user-agent",
                "Slackbot 1.0 (+https://api.slack.com/robots)".to_owned(),
            ),
        ];
        if let Some(timestamp) = &self.timestamp {
            headers.push(("x-slack-request-timestamp", timestamp.clone()));
        }
        if let Some(signature) = &self.signature {
            headers.push(("x-slack-signature", signature.clone()));
        }
        headers
    }

    /// The decoded form fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect()
    }

    /// One decoded form field.
    pub fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The interaction payload (the `payload` field as JSON), for interactions.
    pub fn payload(&self) -> Option<Value> {
        self.field("payload")
            .and_then(|payload| serde_json::from_str(&payload).ok())
    }

    /// The same body signed again with `secret` at `timestamp`.
    pub(crate) fn resigned(&self, secret: &str, timestamp: String) -> Self {
        let signature = sign(secret, &timestamp, &self.body);
        Self {
            timestamp: Some(timestamp),
            signature: Some(signature),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_bytes_are_signed_not_their_meaning() {
        // The reference's own vectors: one text, two encodings, two signatures.
        let secret = "passdesk-test-signing-secret";
        assert_eq!(
            sign(
                secret,
                "1700000000",
                b"command=%2Fpasswd&text=reset+user%3Ajc.one"
            ),
            "v0=916af62e5a7eb22f144f4f40a568705f1c09ddc3061c9bb888c351224a6bd9a4"
        );
        assert_eq!(
            sign(
                secret,
                "1700000000",
                b"command=%2Fpasswd&text=reset%20user%3Ajc.one"
            ),
            "v0=4277afa13ec77a9342241f29932c8fb3d03179c37296c19875f938f0b0931639"
        );
    }

    #[test]
    fn debug_does_not_show_the_body() {
        let request = SignedRequest {
            kind: RequestKind::ViewSubmission,
            body: b"payload=correct-horse".to_vec(),
            timestamp: None,
            signature: None,
            response_url: None,
            trigger_id: None,
            user_id: "U1".into(),
            channel_id: None,
            view_id: None,
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("correct-horse"), "{shown}");
        assert!(shown.contains("body_len: 21"), "{shown}");
    }
}
