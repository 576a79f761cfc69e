//! The password-notification mailer against a real SMTP server (the `passdesk-sim` sink on
//! 127.0.0.1) and a real pickup directory.
//!
//! "The mail body holds the password exactly once" is checked per MIME part: the decoded
//! `text/plain` part holds it exactly once, and the decoded `text/html` part holds it exactly
//! once (HTML-escaped); the headers never hold it.

// clippy.toml allows unwrap in #[test] functions only; the helpers below are test code too, and
// a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use passdesk_core::mail::{
    Culture, Delivery, Email, Error, MailSettings, Mailer, Password, PasswordNotification,
    SecureSocketOption, Transport,
};
use passdesk_core::retry::RetryPolicy;
use passdesk_sim::smtp::{MailMessage, SmtpSink};
use secrecy::SecretString;

/// Holds every character HTML escapes, and nothing QP or base64 could be confused with.
const PASSWORD: &str = "Zq7<b>&\"'x-Kp2";
const PASSWORD_IN_HTML: &str = "Zq7&lt;b&gt;&amp;&quot;&#x27;x-Kp2";
const SMTP_PASSWORD: &str = "Relay-Pa55word-9";

fn email(s: &str) -> Email {
    s.parse().unwrap()
}

fn password() -> Password {
    Password::new(SecretString::from(PASSWORD.to_owned())).unwrap()
}

fn notification() -> PasswordNotification {
    PasswordNotification {
        recipient: email("marie.curie@acme.com"),
        recipient_name: Some("Marie Curie".into()),
        beneficiary_name: Some("Pierre Curie".into()),
        cc: vec![
            email("helpdesk@acme.com"),
            email("HELPDESK@acme.com"),
            email("marie.curie@ACME.com"),
            email("audit@acme.com"),
        ],
        account: Some("Active Directory".into()),
    }
}

fn smtp_settings(sink: &SmtpSink) -> MailSettings {
    let mut settings = MailSettings::new(
        Transport::smtp("127.0.0.1", sink.port(), SecureSocketOption::None),
        email("no-reply@acme.com"),
    );
    settings.retry = RetryPolicy::none();
    settings.timeout = Duration::from_secs(5);
    settings.connect_timeout = Duration::from_secs(2);
    settings
}

#[tokio::test]
async fn delivers_through_smtp_with_envelope_headers_and_the_password_once_per_part() {
    let sink = SmtpSink::start().await.unwrap();
    let mut settings = smtp_settings(&sink);
    settings.cultures = vec![Culture::Fr];
    let mailer = Mailer::new(settings).unwrap();

    let delivery = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap();

    let Delivery::Sent {
        message_id, to, cc, ..
    } = &delivery
    else {
        panic!("expected Sent, got {delivery:?}");
    };
    assert_eq!(to, &email("marie.curie@acme.com"));
    assert_eq!(cc, &[email("helpdesk@acme.com"), email("audit@acme.com")]);

    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "no-reply@acme.com");
    assert_eq!(
        mail.rcpt_to,
        [
            "marie.curie@acme.com",
            "helpdesk@acme.com",
            "audit@acme.com"
        ]
    );
    assert_eq!(mail.header("From"), Some("no-reply@acme.com"));
    assert_eq!(
        mail.header("To"),
        Some("\"Marie Curie\" <marie.curie@acme.com>")
    );
    assert_eq!(mail.header("Cc"), Some("helpdesk@acme.com, audit@acme.com"));
    assert_eq!(mail.header("Message-ID"), Some(message_id.as_str()));
    assert_eq!(
        mail.subject(),
        Some("Nouveau mot de passe pour Active Directory – Pierre Curie")
    );
    let parsed = mail.message.as_ref().unwrap();
    assert_eq!(parsed.content_type(), "multipart/alternative");

    let text = mail.text_body().unwrap();
    assert_eq!(text.matches(PASSWORD).count(), 1, "{text}");
    assert!(text.contains("attribué à Pierre Curie"));
    assert!(text.contains("dès la première utilisation"));
    let html = mail.html_body().unwrap();
    assert_eq!(html.matches(PASSWORD_IN_HTML).count(), 1, "{html}");
    assert!(!html.contains(PASSWORD));
    for (name, value) in parsed.headers() {
        assert!(
            !value.contains(PASSWORD),
            "header {name} holds the password"
        );
    }
    // Nothing the caller gets back holds the password either.
    assert!(!format!("{delivery:?} {delivery}").contains(PASSWORD));
}

#[tokio::test]
async fn writes_a_parseable_eml_to_the_pickup_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::new(MailSettings::new(
        Transport::pickup_directory(dir.path()),
        email("no-reply@acme.com"),
    ))
    .unwrap();

    let delivery = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap();

    let Delivery::WrittenToPickup {
        path, message_id, ..
    } = &delivery
    else {
        panic!("expected WrittenToPickup, got {delivery:?}");
    };
    assert_eq!(path.parent(), Some(dir.path()));
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"));
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "no temporary file is left behind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds a password");
    }

    let raw = std::fs::read(path).unwrap();
    let mail = MailMessage::parse(&raw).unwrap();
    assert_eq!(
        mail.header("To"),
        Some("\"Marie Curie\" <marie.curie@acme.com>")
    );
    assert_eq!(mail.header("Cc"), Some("helpdesk@acme.com, audit@acme.com"));
    assert_eq!(mail.header("Message-ID"), Some(message_id.as_str()));
    assert_eq!(
        mail.subject(),
        Some("New password for Active Directory – Pierre Curie")
    );
    assert_eq!(mail.text_body().unwrap().matches(PASSWORD).count(), 1);
    assert_eq!(
        mail.html_body().unwrap().matches(PASSWORD_IN_HTML).count(),
        1
    );
}

#[tokio::test]
async fn a_disallowed_domain_is_refused_before_any_connection() {
    let sink = SmtpSink::start().await.unwrap();
    let mut settings = smtp_settings(&sink);
    settings.allowed_domains = vec!["acme.com".into()];
    let mailer = Mailer::new(settings).unwrap();
    let mut n = notification();
    n.cc.push(email("someone@partner.example"));

    let err = mailer
        .send_password_notification(&n, password())
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::DomainNotAllowed { address } if address.as_str() == "someone@partner.example"),
        "{err:?}"
    );
    assert!(err.to_string().contains("someone@partner.example"));
    assert_eq!(sink.connections(), 0);
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn disabled_sends_nothing() {
    let sink = SmtpSink::start().await.unwrap();
    let mut settings = smtp_settings(&sink);
    settings.enabled = false;
    let mailer = Mailer::new(settings).unwrap();

    let delivery = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap();

    assert!(
        matches!(delivery, Delivery::Disabled { .. }),
        "{delivery:?}"
    );
    assert!(delivery.to_string().contains("nothing was sent"));
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn a_stopped_server_is_a_connect_error_within_the_timeout() {
    let sink = SmtpSink::start().await.unwrap();
    let settings = smtp_settings(&sink);
    let connect_timeout = settings.connect_timeout;
    let mailer = Mailer::new(settings).unwrap();
    sink.stop().await;

    let started = Instant::now();
    let err = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < connect_timeout,
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{}", sink.port())),
        "{message}"
    );
    assert!(message.contains("no mail was sent"));
}

#[tokio::test]
async fn a_refused_connection_is_retried_by_the_shared_rule_and_the_mail_goes_once() {
    let sink = SmtpSink::start().await.unwrap();
    sink.fail_next_connections(1);
    let mut settings = smtp_settings(&sink);
    settings.retry = RetryPolicy::default()
        .with_max_attempts(3)
        .with_base_delay(Duration::from_millis(10));
    let mailer = Mailer::new(settings).unwrap();

    let delivery = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap();

    assert!(matches!(delivery, Delivery::Sent { .. }));
    assert_eq!(sink.connections(), 2);
    assert_eq!(sink.mails().len(), 1);
}

#[tokio::test]
async fn a_refused_recipient_is_a_final_smtp_error() {
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_recipients("^audit@").unwrap();
    let mut settings = smtp_settings(&sink);
    settings.retry = RetryPolicy::default().with_base_delay(Duration::from_millis(10));
    let mailer = Mailer::new(settings).unwrap();

    let err = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::Smtp {
                code: Some(550),
                permanent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "mail server 127.0.0.1:{} refused the mail (550): 5.1.1 recipient rejected; no mail was sent",
            sink.port()
        )
    );
    assert_eq!(sink.connections(), 1, "a 5xx is not retried");
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn a_server_that_never_acknowledges_times_out_and_is_not_mailed_again() {
    let sink = SmtpSink::start().await.unwrap();
    sink.stall_next_messages(1);
    let mut settings = smtp_settings(&sink);
    settings.timeout = Duration::from_millis(300);
    settings.retry = RetryPolicy::default().with_base_delay(Duration::from_millis(10));
    let mailer = Mailer::new(settings).unwrap();

    let err = mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("may or may not have been sent"));
    assert_eq!(
        sink.connections(),
        1,
        "a mail that may have been taken is never resent"
    );
}

fn with_credentials(sink: &SmtpSink, smtp_password: &str) -> MailSettings {
    let mut settings = smtp_settings(sink);
    settings.transport = Transport::Smtp {
        host: "127.0.0.1".into(),
        port: sink.port(),
        secure: SecureSocketOption::None,
        username: Some("passdesk".into()),
        password: Some(SecretString::from(smtp_password.to_owned())),
    };
    settings
}

#[tokio::test]
async fn smtp_credentials_are_presented_and_a_refusal_is_reported() {
    let sink = SmtpSink::start().await.unwrap();
    sink.require_auth("passdesk", SMTP_PASSWORD);

    let mailer = Mailer::new(with_credentials(&sink, SMTP_PASSWORD)).unwrap();
    mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap();
    assert_eq!(sink.mails()[0].auth_user.as_deref(), Some("passdesk"));

    let wrong = Mailer::new(with_credentials(&sink, "not-it")).unwrap();
    let err = wrong
        .send_password_notification(&notification(), password())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Smtp {
                code: Some(535),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-it"));
    assert_eq!(sink.mails().len(), 1);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_log_line_or_span_holds_the_password_or_the_smtp_password() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sink = SmtpSink::start().await.unwrap();
    sink.require_auth("passdesk", SMTP_PASSWORD);
    sink.fail_next_connections(1);
    let mut settings = with_credentials(&sink, SMTP_PASSWORD);
    settings.retry = RetryPolicy::default().with_base_delay(Duration::from_millis(10));
    let mailer = Mailer::new(settings).unwrap();
    mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap();
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(
        sink.mails()[0]
            .text_body()
            .unwrap()
            .matches(PASSWORD)
            .count(),
        1
    );
    // A failing send logs its error too.
    sink.stop().await;
    mailer
        .send_password_notification(&notification(), password())
        .await
        .unwrap_err();

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("password_notification"),
        "the capture saw the send"
    );
    assert!(log.contains("smtp_send") && log.contains("attempt=2"));
    assert!(log.contains("could not connect to mail server"));
    // The AUTH PLAIN line lettre would send, as it would appear in a dialogue log.
    let auth_plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0passdesk\0{SMTP_PASSWORD}"));
    for secret in [
        PASSWORD,
        PASSWORD_IN_HTML,
        "Zq7",
        SMTP_PASSWORD,
        &auth_plain,
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
}
