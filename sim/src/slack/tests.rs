//! Unit tests of the handle that need no HTTP.

use super::*;

#[test]
fn debug_output_hides_the_signing_secret_and_the_token() {
    let builder = SlackFake::builder()
        .signing_secret("very-secret-signing")
        .bot_token("xoxb-very-secret");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(shown.contains("A0PASSDESK"), "{shown}");
}

#[test]
fn only_loopback_urls_are_delivered_to() {
    assert!(is_loopback("http://127.0.0.1:8080/slack/commands"));
    assert!(is_loopback("http://localhost:1/x"));
    assert!(is_loopback("http://[::1]:1/x"));
    assert!(!is_loopback("https://example.com/slack/commands"));
    assert!(!is_loopback("http://10.0.0.1/x"));
    assert!(!is_loopback("not a url"));
}

#[tokio::test]
async fn a_bad_api_prefix_is_refused_before_binding() {
    for prefix in ["api", "/api/", "/{x}"] {
        let started = SlackFake::builder().api_prefix(prefix).start().await;
        assert!(
            matches!(started, Err(FakeError::Config(_))),
            "{prefix}: {started:?}"
        );
    }
}
