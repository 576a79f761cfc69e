//! The password-notification mail, sent the way the Identity Manager agent sends it
//! (`Usercube-Send-PasswordNotification`): by SMTP or into a pickup directory, under the agent's
//! `MailSettings` rules.
//!
//! The Identity Manager client resolves *who* is told (notified address and name, beneficiary
//! name, CC list); [`Mailer`] decides where the mail really goes and sends it:
//!
//! 1. **Recipients.** `CatchAllAddress` replaces the recipient; `CatchAllCCAddress` replaces the
//!    CC list (with a catch-all address but no catch-all CC, the CC list is dropped). The CC list
//!    is then de-duplicated case-insensitively and the recipient is removed from it.
//! 2. **Allowed domains.** Every final address (recipient and CC) must be in `AllowedDomains`
//!    when that list is set; otherwise the send fails with [`Error::DomainNotAllowed`] naming the
//!    address, before anything is rendered or sent.
//! 3. **Enabled.** With `Enabled = false` nothing is rendered or sent and the result is
//!    [`Delivery::Disabled`].
//! 4. **Rendering.** minijinja templates, built-in in English and French
//!    ([`Culture`]; the first configured culture is the mail's language, later ones add a
//!    translation after it that refers back to the password instead of repeating it), each part
//!    replaceable ([`TemplateOverrides`]). Templates see `recipient_name`, `beneficiary_name`,
//!    `account` (each a string or none), `culture` (the primary code), `cultures` (all codes,
//!    primary first) and, in the bodies only, `password`. The HTML part is auto-escaped. Each
//!    body must show the password exactly once — **the decoded `text/plain` part holds it exactly
//!    once, and so does the decoded `text/html` part** (HTML-escaped there); [`Mailer::new`]
//!    checks this of every template with a trial render. The subject never holds it.
//! 5. **Transport.** A `multipart/alternative` (text, then HTML) message via lettre:
//!    SMTP ([`SecureSocketOption`] mapped to lettre's TLS modes, optional credentials, a
//!    connect timeout and a whole-attempt timeout) or an `.eml` file in the pickup directory.
//!
//! The password is taken by value, read only to render the two bodies, and dropped when the send
//! returns. It appears in no `Debug`, log or span field, error, [`MailPreview`] or [`Delivery`].
//!
//! Retries: an SMTP attempt that the server certainly did not act on (connection refused or
//! timed out, TLS failure, a `4xx` reply) goes to [`RetryPolicy::decide`] as
//! `Outcome::NotSent` or `Outcome::RateLimited`; a lost connection or a timeout mid-dialogue is
//! `Outcome::LostAfterSend`, which the rule answers with `Unknown` for a mail, reported as
//! [`Error::SentButUnknown`] or [`Error::Timeout`] rather than mailing a password twice. A `5xx`
//! reply is final.
//!
//! lettre's own `tracing` feature logs the whole SMTP dialogue, message and credentials
//! included; it must stay off (the secret-scan test in `core/tests/mail_delivery.rs` fails if it
//! is turned on).

mod address;
mod password;
mod settings;
mod template;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::ExposeSecret as _;
use tracing::Instrument as _;

pub use address::{Email, EmailProblem, InvalidEmail};
pub use password::{MAX_PASSWORD_CHARS, Password, PasswordError};
pub use settings::{
    Culture, MailSettings, SecureSocketOption, TemplateOverrides, TemplateSource, Transport,
    UnknownName,
};

use crate::http::excerpt;
use crate::retry::{Decision, OperationKind, Outcome, RetryPolicy};
use template::{Fields, Templates};

/// Everything a password notification needs except the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordNotification {
    /// Who is told (the settings' notified e-mail binding).
    pub recipient: Email,
    /// Their display name (notified full-name binding), used in the greeting.
    pub recipient_name: Option<String>,
    /// Whose password it is (beneficiary full-name binding).
    pub beneficiary_name: Option<String>,
    /// Copies: the settings' `NotificationCC` and the command's CC. De-duplicated by the mailer.
    pub cc: Vec<Email>,
    /// What the password opens, e.g. the resource type or target system display name.
    pub account: Option<String>,
}

impl PasswordNotification {
    /// A notification to `recipient` with no names, CC or account.
    pub fn new(recipient: Email) -> Self {
        Self {
            recipient,
            recipient_name: None,
            beneficiary_name: None,
            cc: Vec::new(),
            account: None,
        }
    }
}

/// What a dry run shows: where the mail would go and what it would say, never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailPreview {
    /// The sender.
    pub from: Email,
    /// The final recipient (after the catch-all).
    pub to: Email,
    /// The final CC list (after the catch-all CC, de-duplication and removal of the recipient).
    pub cc: Vec<Email>,
    /// Whether a catch-all address is in force (the recipient or CC list were replaced).
    pub redirected: bool,
    /// The rendered subject.
    pub subject: String,
    /// The language of the mail (the primary culture).
    pub culture: Culture,
    /// `smtp` or `pickup_directory`.
    pub transport: &'static str,
    /// Where: `host:port` or the pickup directory.
    pub destination: String,
    /// Whether sending is enabled; when not, a send does nothing.
    pub enabled: bool,
}

impl fmt::Display for MailPreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "to {}", self.to)?;
        if !self.cc.is_empty() {
            write!(f, ", cc {}", join(&self.cc))?;
        }
        if self.redirected {
            f.write_str(" (redirected by the catch-all address)")?;
        }
        write!(
            f,
            ", subject \"{}\" ({}), via {} {}",
            self.subject, self.culture, self.transport, self.destination
        )?;
        if !self.enabled {
            f.write_str("; mail sending is disabled, nothing would be sent")?;
        }
        Ok(())
    }
}

/// How a notification was delivered. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// The SMTP server accepted the mail.
    Sent {
        /// The `Message-ID` header of the mail.
        message_id: String,
        /// The recipient.
        to: Email,
        /// The copies.
        cc: Vec<Email>,
    },
    /// The mail was written to the pickup directory.
    WrittenToPickup {
        /// The `.eml` file.
        path: PathBuf,
        /// The `Message-ID` header of the mail.
        message_id: String,
        /// The recipient.
        to: Email,
        /// The copies.
        cc: Vec<Email>,
    },
    /// Mail sending is disabled (`Enabled = false`): nothing was sent.
    Disabled {
        /// Who would have received it.
        to: Email,
        /// Who would have been copied.
        cc: Vec<Email>,
    },
}

impl Delivery {
    /// The recipient (sent, written, or who would have received it).
    pub fn to(&self) -> &Email {
        match self {
            Self::Sent { to, .. }
            | Self::WrittenToPickup { to, .. }
            | Self::Disabled { to, .. } => to,
        }
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, to, cc) = match self {
            Self::Sent { to, cc, .. } => ("password notification sent to", to, cc),
            Self::WrittenToPickup { path, to, cc, .. } => {
                write!(
                    f,
                    "password notification written to {} for ",
                    path.display()
                )?;
                ("", to, cc)
            }
            Self::Disabled { to, cc } => (
                "mail sending is disabled (Enabled = false): nothing was sent to",
                to,
                cc,
            ),
        };
        if !what.is_empty() {
            write!(f, "{what} ")?;
        }
        write!(f, "{to}")?;
        if !cc.is_empty() {
            write!(f, " (cc {})", join(cc))?;
        }
        Ok(())
    }
}

/// Why a notification was not (or not surely) delivered. Messages never contain the password
/// or SMTP credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A recipient or CC is outside `AllowedDomains`; nothing was sent.
    #[error("{address} is not in an allowed mail domain; no mail was sent")]
    DomainNotAllowed {
        /// The first address refused.
        address: Email,
    },
    /// An address could not be used.
    #[error(transparent)]
    InvalidAddress(#[from] InvalidEmail),
    /// The settings are inconsistent.
    #[error("mail settings: {key}: {problem}")]
    Settings {
        /// The setting at fault.
        key: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A template could not be read, parsed or rendered, or breaks a rule.
    #[error("mail template ({part}): {problem}")]
    Template {
        /// `subject`, `text` or `html`.
        part: String,
        /// What is wrong.
        problem: String,
    },
    /// The mail server could not be reached (or TLS could not be set up); nothing was sent.
    #[error("could not connect to mail server {host}:{port}; no mail was sent")]
    Connect {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What lettre reported.
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// The mail server refused the mail, or the client could not go on (e.g. no common
    /// authentication mechanism); nothing was sent.
    #[error("mail server {host}:{port} refused the mail{}: {detail}; no mail was sent", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Smtp {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The SMTP reply code, if the server gave one.
        code: Option<u16>,
        /// `true` for a `5xx` reply (retrying will not help), `false` for `4xx`.
        permanent: bool,
        /// A bounded excerpt of the reason.
        detail: String,
    },
    /// No answer in time; the server may or may not have accepted the mail.
    #[error(
        "mail server {host}:{port} did not answer within {after:?}; the mail may or may not have been sent: check before sending again"
    )]
    Timeout {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The timeout that expired.
        after: Duration,
    },
    /// The connection broke mid-dialogue; the server may or may not have accepted the mail.
    #[error(
        "lost the connection to mail server {host}:{port} ({detail}); the mail may or may not have been sent: check before sending again"
    )]
    SentButUnknown {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// A bounded excerpt of the failure.
        detail: String,
    },
    /// The pickup directory could not be written.
    #[error("could not write the mail into the pickup directory {}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// lettre refused to build the message.
    #[error("could not build the mail: {0}")]
    Build(String),
}

/// Where mail goes, resolved from [`Transport`].
enum Route {
    Smtp {
        host: String,
        port: u16,
        tls: TlsMode,
        credentials: Option<(String, secrecy::SecretString)>,
    },
    Pickup {
        path: PathBuf,
    },
}

/// lettre's TLS modes, chosen from [`SecureSocketOption`] and the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    None,
    Wrapper,
    Required,
    Opportunistic,
}

/// The SMTPS port, on which MailKit's `Auto` uses implicit TLS.
const SMTPS_PORT: u16 = 465;
/// The SMTP port MailKit uses when the port is `0` (and TLS is not implicit).
const SMTP_PORT: u16 = 25;

fn tls_mode(secure: SecureSocketOption, port: u16) -> TlsMode {
    match secure {
        SecureSocketOption::None => TlsMode::None,
        SecureSocketOption::SslOnConnect => TlsMode::Wrapper,
        SecureSocketOption::StartTls => TlsMode::Required,
        SecureSocketOption::Auto if port == SMTPS_PORT => TlsMode::Wrapper,
        SecureSocketOption::Auto | SecureSocketOption::StartTlsWhenAvailable => {
            TlsMode::Opportunistic
        }
    }
}

/// What one SMTP attempt ended with, for the retry rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Never got as far as a dialogue: connection or TLS set-up failed.
    NotConnected,
    /// The server answered with a negative reply: it did not take the mail.
    Refused { code: Option<u16>, permanent: bool },
    /// The client stopped before sending the mail (e.g. no common auth mechanism).
    ClientGaveUp,
    /// The dialogue broke off: the server may have taken the mail.
    Lost,
    /// No answer within the attempt's timeout: the server may have taken the mail.
    TimedOut,
}

impl Failure {
    fn of(error: &lettre::transport::smtp::Error) -> Self {
        let code = error.status().map(u16::from);
        if error.is_permanent() {
            Self::Refused {
                code,
                permanent: true,
            }
        } else if error.is_transient() {
            Self::Refused {
                code,
                permanent: false,
            }
        } else if error.is_client() {
            Self::ClientGaveUp
        } else if error.is_tls() || is_connection_error(error) {
            Self::NotConnected
        } else {
            Self::Lost
        }
    }

    /// The retry rule's view; `None` for an outcome no retry can change.
    fn outcome(self) -> Option<Outcome> {
        match self {
            Self::NotConnected => Some(Outcome::NotSent),
            // A 4xx reply is the server's "not now": it took no responsibility for the mail.
            Self::Refused {
                permanent: false, ..
            } => Some(Outcome::RateLimited { retry_after: None }),
            Self::Refused {
                permanent: true, ..
            }
            | Self::ClientGaveUp => None,
            Self::Lost | Self::TimedOut => Some(Outcome::LostAfterSend),
        }
    }
}

/// lettre has no public predicate for its connection errors (TCP connect, DNS, TLS set-up);
/// their message is the stable marker. Pinned by a test against a closed port.
fn is_connection_error(error: &lettre::transport::smtp::Error) -> bool {
    error.to_string().starts_with("Connection error")
}

/// Sends password notifications under one set of [`MailSettings`].
pub struct Mailer {
    settings: MailSettings,
    allowed_domains: Vec<String>,
    route: Route,
    templates: Templates,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the settings and the templates (see the rules in the [module docs](self)).
    pub fn new(settings: MailSettings) -> Result<Self, Error> {
        let mut cultures = Vec::new();
        for c in &settings.cultures {
            if !cultures.contains(c) {
                cultures.push(*c);
            }
        }
        if cultures.is_empty() {
            return Err(Error::Settings {
                key: "cultures",
                problem: "list at least one culture (en or fr)".into(),
            });
        }
        let mut allowed_domains = Vec::new();
        for d in &settings.allowed_domains {
            let domain = d.trim().trim_start_matches('@').to_ascii_lowercase();
            address::validate_domain(&domain).map_err(|problem| Error::Settings {
                key: "allowed_domains",
                problem: format!("{:?} is not a domain name: {problem}", excerpt(d)),
            })?;
            allowed_domains.push(domain);
        }
        if settings.timeout.is_zero() || settings.connect_timeout.is_zero() {
            return Err(Error::Settings {
                key: "timeout",
                problem: "timeouts must be longer than zero".into(),
            });
        }
        let route = match &settings.transport {
            Transport::Smtp {
                host,
                port,
                secure,
                username,
                password,
            } => {
                let host = host.trim().to_owned();
                if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(Error::Settings {
                        key: "host",
                        problem: "give the mail server's host name".into(),
                    });
                }
                let port = match (*port, secure) {
                    (0, SecureSocketOption::SslOnConnect) => SMTPS_PORT,
                    (0, _) => SMTP_PORT,
                    (p, _) => p,
                };
                let credentials = match (username, password) {
                    (Some(u), Some(p)) => Some((u.clone(), p.clone())),
                    (None, None) => None,
                    _ => {
                        return Err(Error::Settings {
                            key: "username",
                            problem: "set both username and password, or neither".into(),
                        });
                    }
                };
                let tls = tls_mode(*secure, port);
                if tls != TlsMode::None {
                    TlsParameters::new(host.clone()).map_err(|e| Error::Settings {
                        key: "host",
                        problem: format!("cannot use {host:?} for tls: {e}"),
                    })?;
                }
                Route::Smtp {
                    host,
                    port,
                    tls,
                    credentials,
                }
            }
            Transport::PickupDirectory { path } => {
                if path.as_os_str().is_empty() {
                    return Err(Error::Settings {
                        key: "pickup_directory",
                        problem: "give the directory mails are written to".into(),
                    });
                }
                if path.exists() && !path.is_dir() {
                    return Err(Error::Settings {
                        key: "pickup_directory",
                        problem: format!("{} is not a directory", path.display()),
                    });
                }
                Route::Pickup { path: path.clone() }
            }
        };
        let templates = Templates::new(&cultures, settings.templates.as_ref())?;
        let mut settings = settings;
        settings.cultures = cultures;
        Ok(Self {
            settings,
            allowed_domains,
            route,
            templates,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// Everything a dry run can show: final To/CC after catch-all, de-duplication and the
    /// `AllowedDomains` check, the subject, and whether sending is enabled. Never includes the
    /// password. Fails with [`Error::DomainNotAllowed`] before any mail.
    pub fn preview(&self, n: &PasswordNotification) -> Result<MailPreview, Error> {
        let (to, cc, redirected) = self.recipients(n)?;
        let fields = Self::fields(n);
        let subject = self.templates.subject(&fields)?;
        Ok(MailPreview {
            from: self.settings.from_address.clone(),
            to,
            cc,
            redirected,
            subject,
            culture: self.templates.culture(),
            transport: self.settings.transport.kind(),
            destination: match &self.route {
                Route::Smtp { host, port, .. } => format!("{host}:{port}"),
                Route::Pickup { path } => path.display().to_string(),
            },
            enabled: self.settings.enabled,
        })
    }

    /// Sends the notification (or writes the `.eml` to the pickup directory, or — when
    /// `Enabled = false` — sends nothing and says so). The password is dropped when this
    /// returns.
    #[tracing::instrument(
        name = "password_notification",
        skip_all,
        fields(
            transport = self.settings.transport.kind(),
            enabled = self.settings.enabled,
            culture = %self.templates.culture(),
            recipients = tracing::field::Empty,
            domains = tracing::field::Empty,
            redirected = tracing::field::Empty,
            outcome = tracing::field::Empty,
        )
    )]
    pub async fn send_password_notification(
        &self,
        n: &PasswordNotification,
        password: Password,
    ) -> Result<Delivery, Error> {
        let result = self.send_inner(n, password).await;
        let span = tracing::Span::current();
        match &result {
            Ok(delivery) => {
                span.record(
                    "outcome",
                    match delivery {
                        Delivery::Sent { .. } => "sent",
                        Delivery::WrittenToPickup { .. } => "written_to_pickup",
                        Delivery::Disabled { .. } => "disabled",
                    },
                );
                tracing::info!("{delivery}");
            }
            Err(error) => {
                span.record("outcome", "failed");
                tracing::warn!(%error, "password notification not delivered");
            }
        }
        result
    }

    async fn send_inner(
        &self,
        n: &PasswordNotification,
        password: Password,
    ) -> Result<Delivery, Error> {
        let (to, cc, redirected) = self.recipients(n)?;
        let span = tracing::Span::current();
        let mut domains: Vec<&str> = std::iter::once(&to).chain(&cc).map(Email::domain).collect();
        domains.sort_unstable();
        domains.dedup();
        span.record("recipients", 1 + cc.len());
        span.record("domains", domains.len());
        span.record("redirected", redirected);
        tracing::debug!(%to, cc = %join(&cc), "recipients resolved");

        if !self.settings.enabled {
            drop(password);
            return Ok(Delivery::Disabled { to, cc });
        }

        let fields = Self::fields(n);
        let subject = self.templates.subject(&fields)?;
        let message_id = self.message_id();
        let message = {
            let bodies = self.templates.bodies(&fields, &password)?;
            drop(password);
            let to_name = fields.recipient_name.clone().filter(|_| !redirected);
            let mut builder = Message::builder()
                .from(Mailbox::new(
                    None,
                    lettre_address(&self.settings.from_address)?,
                ))
                .to(Mailbox::new(to_name, lettre_address(&to)?))
                .subject(subject)
                .message_id(Some(message_id.clone()));
            for copy in &cc {
                builder = builder.cc(Mailbox::new(None, lettre_address(copy)?));
            }
            builder
                .multipart(MultiPart::alternative_plain_html(bodies.text, bodies.html))
                .map_err(|e| Error::Build(e.to_string()))?
        };

        match &self.route {
            Route::Pickup { path } => {
                let file = write_pickup(path, &message).await?;
                Ok(Delivery::WrittenToPickup {
                    path: file,
                    message_id,
                    to,
                    cc,
                })
            }
            Route::Smtp {
                host,
                port,
                tls,
                credentials,
            } => {
                self.send_smtp(host, *port, *tls, credentials.as_ref(), &message)
                    .await?;
                Ok(Delivery::Sent { message_id, to, cc })
            }
        }
    }

    async fn send_smtp(
        &self,
        host: &str,
        port: u16,
        tls: TlsMode,
        credentials: Option<&(String, secrecy::SecretString)>,
        message: &Message,
    ) -> Result<(), Error> {
        let policy: RetryPolicy = self.settings.retry;
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let span = tracing::info_span!(
                "smtp_send",
                host,
                port,
                attempt,
                status = tracing::field::Empty
            );
            let result = async {
                let transport = self.smtp_transport(host, port, tls, credentials)?;
                Ok::<_, Error>(
                    tokio::time::timeout(self.settings.timeout, transport.send(message.clone()))
                        .await,
                )
            }
            .instrument(span.clone())
            .await?;
            let (failure, error) = match result {
                Ok(Ok(response)) => {
                    span.record("status", u16::from(response.code()));
                    return Ok(());
                }
                Ok(Err(error)) => (Failure::of(&error), Some(error)),
                Err(_elapsed) => (Failure::TimedOut, None),
            };
            match failure {
                Failure::Refused {
                    code: Some(code), ..
                } => span.record("status", code),
                Failure::TimedOut => span.record("status", "timeout"),
                _ => span.record("status", "failed"),
            };
            let decision = failure.outcome().map(|outcome| {
                policy.decide(
                    OperationKind::Write,
                    outcome,
                    attempt,
                    waited,
                    rand::random::<f64>(),
                )
            });
            match decision {
                Some(Decision::RetryAfter(delay)) => {
                    span.in_scope(|| tracing::info!(?delay, "mail server not ready; retrying"));
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    attempt += 1;
                }
                _ => return Err(self.smtp_error(host, port, failure, error)),
            }
        }
    }

    fn smtp_error(
        &self,
        host: &str,
        port: u16,
        failure: Failure,
        error: Option<lettre::transport::smtp::Error>,
    ) -> Error {
        let host = host.to_owned();
        match (failure, error) {
            (Failure::NotConnected, Some(source)) => Error::Connect { host, port, source },
            (Failure::Refused { code, permanent }, Some(e)) => Error::Smtp {
                host,
                port,
                code,
                permanent,
                detail: reason(&e),
            },
            (Failure::ClientGaveUp, Some(e)) => Error::Smtp {
                host,
                port,
                code: None,
                permanent: true,
                detail: reason(&e),
            },
            (Failure::Lost, Some(e)) => Error::SentButUnknown {
                host,
                port,
                detail: reason(&e),
            },
            (_, _) => Error::Timeout {
                host,
                port,
                after: self.settings.timeout,
            },
        }
    }

    /// One transport per attempt (lettre's pool is off), so the SMTP password leaves its
    /// `SecretString` only for the attempt, here and nowhere else.
    fn smtp_transport(
        &self,
        host: &str,
        port: u16,
        tls: TlsMode,
        credentials: Option<&(String, secrecy::SecretString)>,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, Error> {
        let params = || {
            TlsParameters::new(host.to_owned()).map_err(|e| Error::Settings {
                key: "host",
                problem: format!("cannot use {host:?} for tls: {e}"),
            })
        };
        let tls = match tls {
            TlsMode::None => Tls::None,
            TlsMode::Wrapper => Tls::Wrapper(params()?),
            TlsMode::Required => Tls::Required(params()?),
            TlsMode::Opportunistic => Tls::Opportunistic(params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(self.settings.connect_timeout));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(builder.build())
    }

    /// Final recipient and CC list, and whether a catch-all changed them; refuses addresses
    /// outside the allowed domains.
    fn recipients(&self, n: &PasswordNotification) -> Result<(Email, Vec<Email>, bool), Error> {
        let s = &self.settings;
        let to = s
            .catch_all_address
            .clone()
            .unwrap_or_else(|| n.recipient.clone());
        let given: Vec<Email> = match (&s.catch_all_cc_address, &s.catch_all_address) {
            (Some(cc), _) => vec![cc.clone()],
            (None, Some(_)) => Vec::new(),
            (None, None) => n.cc.clone(),
        };
        let mut cc: Vec<Email> = Vec::new();
        for address in given {
            if !address.same_mailbox(&to) && !cc.iter().any(|c| c.same_mailbox(&address)) {
                cc.push(address);
            }
        }
        let redirected = s.catch_all_address.is_some() || s.catch_all_cc_address.is_some();
        if !self.allowed_domains.is_empty() {
            if let Some(address) = std::iter::once(&to)
                .chain(&cc)
                .find(|a| !self.allowed_domains.iter().any(|d| d == a.domain()))
            {
                return Err(Error::DomainNotAllowed {
                    address: address.clone(),
                });
            }
        }
        Ok((to, cc, redirected))
    }

    /// The template values. After a catch-all redirection the text still names the notified
    /// person, so testers see the mail as it would have been.
    fn fields(n: &PasswordNotification) -> Fields {
        Fields::new(
            n.recipient_name.as_deref(),
            n.beneficiary_name.as_deref(),
            n.account.as_deref(),
        )
    }

    /// `<random@sender-domain>`: unique, and naming no host of ours.
    fn message_id(&self) -> String {
        format!(
            "<{:032x}.passdesk@{}>",
            rand::random::<u128>(),
            self.settings.from_address.domain()
        )
    }
}

/// The reason lettre gives, without its own "permanent error (550)" prefix, bounded.
fn reason(error: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    excerpt(
        &error
            .source()
            .map_or_else(|| error.to_string(), ToString::to_string),
    )
}

fn lettre_address(email: &Email) -> Result<lettre::Address, Error> {
    email
        .as_str()
        .parse::<lettre::Address>()
        .map_err(|_| Error::Build(format!("lettre refused the address {email}")))
}

/// Writes the message to `<dir>/<random>.eml`: first under a `.tmp` name, readable by the owner
/// only (it holds a password), then renamed, so a pickup service never sees half a file.
async fn write_pickup(dir: &Path, message: &Message) -> Result<PathBuf, Error> {
    use tokio::io::AsyncWriteExt as _;

    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let name = format!("{:032x}", rand::random::<u128>());
    let tmp = dir.join(format!("{name}.eml.tmp"));
    let file = dir.join(format!("{name}.eml"));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let written = async {
        let mut out = options.open(&tmp).await?;
        out.write_all(&message.formatted()).await?;
        out.sync_all().await?;
        drop(out);
        tokio::fs::rename(&tmp, &file).await
    }
    .await;
    if let Err(e) = written {
        // Best effort: do not leave a partial file holding a password behind.
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io(e));
    }
    Ok(file)
}

fn join(addresses: &[Email]) -> String {
    addresses
        .iter()
        .map(Email::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn email(s: &str) -> Email {
        s.parse().unwrap()
    }

    fn password(s: &str) -> Password {
        Password::new(SecretString::from(s.to_owned())).unwrap()
    }

    fn pickup_settings(dir: &Path) -> MailSettings {
        MailSettings::new(Transport::pickup_directory(dir), email("no-reply@acme.com"))
    }

    fn notification() -> PasswordNotification {
        PasswordNotification {
            recipient: email("manager@acme.com"),
            recipient_name: Some("Marie Curie".into()),
            beneficiary_name: Some("Pierre Curie".into()),
            cc: vec![
                email("helpdesk@acme.com"),
                email("HelpDesk@ACME.com"),
                email("Manager@acme.com"),
                email("audit@corp.acme.com"),
            ],
            account: Some("Active Directory".into()),
        }
    }

    #[test]
    fn cc_is_deduplicated_case_insensitively_and_never_holds_the_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(pickup_settings(dir.path())).unwrap();
        let p = mailer.preview(&notification()).unwrap();
        assert_eq!(p.to, email("manager@acme.com"));
        assert_eq!(
            p.cc,
            [email("helpdesk@acme.com"), email("audit@corp.acme.com")]
        );
        assert!(!p.redirected);
        assert!(p.enabled);
        assert_eq!(
            p.subject,
            "New password for Active Directory – Pierre Curie"
        );
        assert_eq!(p.transport, "pickup_directory");
    }

    #[test]
    fn allowed_domains_refuse_the_first_address_outside_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = pickup_settings(dir.path());
        settings.allowed_domains = vec!["@ACME.com".into(), " corp.acme.com ".into()];
        let mailer = Mailer::new(settings.clone()).unwrap();
        assert!(mailer.preview(&notification()).is_ok());

        let mut n = notification();
        n.cc.push(email("someone@gmail.com"));
        let err = mailer.preview(&n).unwrap_err();
        assert!(
            matches!(&err, Error::DomainNotAllowed { address } if address.as_str() == "someone@gmail.com")
        );
        assert_eq!(
            err.to_string(),
            "someone@gmail.com is not in an allowed mail domain; no mail was sent"
        );

        // Exact domains: a subdomain must be listed itself.
        settings.allowed_domains = vec!["acme.com".into()];
        let mailer = Mailer::new(settings).unwrap();
        let err = mailer.preview(&notification()).unwrap_err();
        assert!(
            matches!(err, Error::DomainNotAllowed { address } if address.as_str() == "audit@corp.acme.com")
        );
    }

    #[tokio::test]
    async fn disallowed_domain_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = pickup_settings(dir.path());
        settings.allowed_domains = vec!["acme.com".into()];
        let mailer = Mailer::new(settings).unwrap();
        let mut n = notification();
        n.cc.clear();
        n.recipient = email("jane@evil.example");
        let err = mailer
            .send_password_notification(&n, password("Xy9-secret"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DomainNotAllowed { .. }));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn catch_all_redirects_recipient_and_cc() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = pickup_settings(dir.path());
        settings.catch_all_address = Some(email("qa-inbox@acme.com"));
        let p = Mailer::new(settings.clone())
            .unwrap()
            .preview(&notification())
            .unwrap();
        assert_eq!(p.to, email("qa-inbox@acme.com"));
        assert!(
            p.cc.is_empty(),
            "no real person is copied in a test environment"
        );
        assert!(p.redirected);
        assert!(
            p.to_string()
                .contains("redirected by the catch-all address")
        );

        settings.catch_all_cc_address = Some(email("qa-cc@acme.com"));
        let p = Mailer::new(settings.clone())
            .unwrap()
            .preview(&notification())
            .unwrap();
        assert_eq!(p.cc, [email("qa-cc@acme.com")]);

        // A catch-all CC alone replaces the CC list but keeps the real recipient.
        settings.catch_all_address = None;
        let p = Mailer::new(settings)
            .unwrap()
            .preview(&notification())
            .unwrap();
        assert_eq!(p.to, email("manager@acme.com"));
        assert_eq!(p.cc, [email("qa-cc@acme.com")]);
    }

    #[test]
    fn allowed_domains_apply_to_the_catch_all_addresses_actually_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = pickup_settings(dir.path());
        settings.allowed_domains = vec!["acme.com".into()];
        settings.catch_all_address = Some(email("qa@test.example"));
        let err = Mailer::new(settings)
            .unwrap()
            .preview(&notification())
            .unwrap_err();
        assert!(
            matches!(err, Error::DomainNotAllowed { address } if address.as_str() == "qa@test.example")
        );
    }

    #[tokio::test]
    async fn disabled_sends_nothing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = pickup_settings(dir.path());
        settings.enabled = false;
        let mailer = Mailer::new(settings).unwrap();
        let preview = mailer.preview(&notification()).unwrap();
        assert!(!preview.enabled);
        assert!(preview.to_string().contains("mail sending is disabled"));
        let delivery = mailer
            .send_password_notification(&notification(), password("Xy9-secret"))
            .await
            .unwrap();
        assert!(
            matches!(&delivery, Delivery::Disabled { to, .. } if to.as_str() == "manager@acme.com")
        );
        assert!(delivery.to_string().starts_with(
            "mail sending is disabled (Enabled = false): nothing was sent to manager@acme.com"
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn preview_follows_the_primary_culture() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = pickup_settings(dir.path());
        settings.cultures = vec![Culture::Fr, Culture::En, Culture::Fr];
        let mailer = Mailer::new(settings).unwrap();
        assert_eq!(mailer.settings().cultures, [Culture::Fr, Culture::En]);
        let p = mailer.preview(&notification()).unwrap();
        assert_eq!(p.culture, Culture::Fr);
        assert!(p.subject.starts_with("Nouveau mot de passe"));
    }

    #[test]
    fn settings_are_checked_as_a_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let from = email("no-reply@acme.com");
        let smtp = |host: &str, user: Option<&str>, pw: Option<&str>| Transport::Smtp {
            host: host.into(),
            port: 25,
            secure: SecureSocketOption::None,
            username: user.map(Into::into),
            password: pw.map(|p| SecretString::from(p.to_owned())),
        };
        let mut empty_cultures = pickup_settings(dir.path());
        empty_cultures.cultures.clear();
        let mut bad_domain = pickup_settings(dir.path());
        bad_domain.allowed_domains = vec!["acme".into()];
        let mut zero_timeout = pickup_settings(dir.path());
        zero_timeout.timeout = Duration::ZERO;
        let cases = [
            (empty_cultures, "cultures"),
            (bad_domain, "allowed_domains"),
            (zero_timeout, "timeout"),
            (
                MailSettings::new(smtp(" ", None, None), from.clone()),
                "host",
            ),
            (
                MailSettings::new(smtp("smtp.acme.com", Some("u"), None), from.clone()),
                "username",
            ),
            (
                MailSettings::new(smtp("smtp.acme.com", None, Some("Smtp-Pa55")), from.clone()),
                "username",
            ),
            (
                MailSettings::new(Transport::pickup_directory(&file), from.clone()),
                "pickup_directory",
            ),
        ];
        for (settings, want) in cases {
            match Mailer::new(settings) {
                Err(Error::Settings { key, problem }) => {
                    assert_eq!(key, want, "{problem}");
                    assert!(!problem.contains("Smtp-Pa55"));
                }
                other => panic!("{want}: expected a settings error, got {other:?}"),
            }
        }
    }

    #[test]
    fn secure_socket_options_map_to_lettre_tls_modes_like_mailkit() {
        use SecureSocketOption as S;
        let cases = [
            (S::None, 25, TlsMode::None),
            (S::None, 465, TlsMode::None),
            (S::SslOnConnect, 465, TlsMode::Wrapper),
            (S::SslOnConnect, 2465, TlsMode::Wrapper),
            (S::StartTls, 587, TlsMode::Required),
            (S::StartTlsWhenAvailable, 25, TlsMode::Opportunistic),
            (S::StartTlsWhenAvailable, 465, TlsMode::Opportunistic),
            (S::Auto, 465, TlsMode::Wrapper),
            (S::Auto, 587, TlsMode::Opportunistic),
            (S::Auto, 25, TlsMode::Opportunistic),
        ];
        for (secure, port, want) in cases {
            assert_eq!(tls_mode(secure, port), want, "{secure:?} on {port}");
        }
    }

    #[test]
    fn port_zero_takes_mailkit_defaults() {
        let from = email("no-reply@acme.com");
        let port_of = |secure| {
            let mailer = Mailer::new(MailSettings::new(
                Transport::smtp("smtp.acme.com", 0, secure),
                from.clone(),
            ))
            .unwrap();
            mailer.preview(&notification()).unwrap().destination
        };
        assert_eq!(
            port_of(SecureSocketOption::SslOnConnect),
            "smtp.acme.com:465"
        );
        assert_eq!(port_of(SecureSocketOption::StartTls), "smtp.acme.com:25");
    }

    #[test]
    fn failures_map_to_the_retry_rule_without_resending_a_mail_that_may_have_been_taken() {
        let policy = RetryPolicy::default();
        let decide = |f: Failure| {
            f.outcome()
                .map(|o| policy.decide(OperationKind::Write, o, 1, Duration::ZERO, 0.5))
        };
        assert!(matches!(
            decide(Failure::NotConnected),
            Some(Decision::RetryAfter(_))
        ));
        assert!(matches!(
            decide(Failure::Refused {
                code: Some(421),
                permanent: false
            }),
            Some(Decision::RetryAfter(_))
        ));
        assert_eq!(
            decide(Failure::Refused {
                code: Some(550),
                permanent: true
            }),
            None
        );
        assert_eq!(decide(Failure::ClientGaveUp), None);
        assert_eq!(decide(Failure::Lost), Some(Decision::Unknown));
        assert_eq!(decide(Failure::TimedOut), Some(Decision::Unknown));
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connection_failure() {
        // Pins the one place lettre's error kinds are read from its message.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .build();
        let message = Message::builder()
            .from("a@acme.com".parse().unwrap())
            .to("b@acme.com".parse().unwrap())
            .body(String::from("x"))
            .unwrap();
        let err = transport.send(message).await.unwrap_err();
        assert_eq!(Failure::of(&err), Failure::NotConnected, "{err}");
    }

    #[test]
    fn debug_of_mailer_never_shows_secrets() {
        let mailer = Mailer::new(MailSettings::new(
            Transport::Smtp {
                host: "smtp.acme.com".into(),
                port: 587,
                secure: SecureSocketOption::StartTls,
                username: Some("mailer".into()),
                password: Some(SecretString::from("Smtp-Pa55word".to_owned())),
            },
            email("no-reply@acme.com"),
        ))
        .unwrap();
        let shown = format!("{mailer:?}");
        assert!(shown.contains("smtp.acme.com"));
        assert!(!shown.contains("Smtp-Pa55word"), "{shown}");
    }

    #[test]
    fn sending_can_run_on_any_tokio_worker() {
        fn assert_send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(pickup_settings(dir.path())).unwrap();
        let n = notification();
        let future = mailer.send_password_notification(&n, password("Xy9-secret"));
        assert_send(&future);
    }
}
