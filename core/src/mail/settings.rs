//! [`MailSettings`]: the Identity Manager agent's `PasswordResetSettings.MailSettings` (and
//! `NotificationSettings.Cultures`), as plain Rust values.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::address::Email;
use crate::retry::RetryPolicy;

/// How the SMTP connection is secured: the agent's `SecureSocketOption`, which takes .NET
/// MailKit's `SecureSocketOptions` names and meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecureSocketOption {
    /// Plain text throughout (lettre's `Tls::None`): only for a trusted local relay.
    None,
    /// MailKit's default: implicit TLS when the port is 465, otherwise `STARTTLS` when the
    /// server offers it and plain text when it does not (lettre's `Tls::Wrapper` on 465,
    /// `Tls::Opportunistic` elsewhere).
    #[default]
    Auto,
    /// Implicit TLS from the first byte, "SMTPS" (lettre's `Tls::Wrapper`).
    SslOnConnect,
    /// `STARTTLS`, and fail if the server does not offer it (lettre's `Tls::Required`).
    StartTls,
    /// `STARTTLS` when the server offers it, plain text otherwise (lettre's
    /// `Tls::Opportunistic`).
    StartTlsWhenAvailable,
}

impl FromStr for SecureSocketOption {
    type Err = UnknownName;

    /// The agent's spellings, case-insensitive: `None`, `Auto`, `SslOnConnect`, `StartTls`,
    /// `StartTlsWhenAvailable`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "auto" => Self::Auto,
            "sslonconnect" => Self::SslOnConnect,
            "starttls" => Self::StartTls,
            "starttlswhenavailable" => Self::StartTlsWhenAvailable,
            _ => {
                return Err(UnknownName {
                    what: "secure socket option",
                    expected: "None, Auto, SslOnConnect, StartTls or StartTlsWhenAvailable",
                });
            }
        })
    }
}

/// A name that is not one of the accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: expected {expected}")]
pub struct UnknownName {
    what: &'static str,
    expected: &'static str,
}

/// A language of the built-in notification, like the agent's `NotificationSettings.Cultures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Culture {
    /// English.
    En,
    /// French.
    Fr,
}

impl Culture {
    /// The code used in templates and settings: `en` or `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }
}

impl fmt::Display for Culture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Culture {
    type Err = UnknownName;

    /// `en` or `fr`, case-insensitive, with or without a region (`fr-FR`, `en_GB`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let language = s.split(['-', '_']).next().unwrap_or_default();
        match language.to_ascii_lowercase().as_str() {
            "en" => Ok(Self::En),
            "fr" => Ok(Self::Fr),
            _ => Err(UnknownName {
                what: "culture",
                expected: "en or fr",
            }),
        }
    }
}

/// Where a mail goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Transport {
    /// An SMTP relay (the agent's `Host`, `Port`, `SecureSocketOption`, `Username`, `Password`).
    Smtp {
        /// Host name or IP address of the relay.
        host: String,
        /// TCP port; `0` means MailKit's default: 465 with [`SecureSocketOption::SslOnConnect`],
        /// 25 otherwise.
        port: u16,
        /// How the connection is secured.
        secure: SecureSocketOption,
        /// Login, if the relay wants one (then `password` too).
        username: Option<String>,
        /// Password for `username`; redacted in `Debug`.
        password: Option<SecretString>,
    },
    /// A pickup directory (the agent's `PickupDirectory` with `UseSpecifiedPickupDirectory`):
    /// each mail is written there as one `.eml` file for a local mail service to send. This is
    /// what the offline demo uses.
    PickupDirectory {
        /// The directory; it must exist.
        path: PathBuf,
    },
}

impl Transport {
    /// A plain-text SMTP relay without credentials (tests, local relays).
    pub fn smtp(host: impl Into<String>, port: u16, secure: SecureSocketOption) -> Self {
        Self::Smtp {
            host: host.into(),
            port,
            secure,
            username: None,
            password: None,
        }
    }

    /// A pickup directory.
    pub fn pickup_directory(path: impl Into<PathBuf>) -> Self {
        Self::PickupDirectory { path: path.into() }
    }

    /// `smtp` or `pickup_directory`, for spans and previews.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Smtp { .. } => "smtp",
            Self::PickupDirectory { .. } => "pickup_directory",
        }
    }
}

/// Where a template override comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateSource {
    /// The template text itself.
    Inline(String),
    /// A file holding the template, read once by [`super::Mailer::new`].
    File(PathBuf),
}

/// Replacements for the built-in templates, each a minijinja template (see the module docs
/// for the variables). Parts left `None` keep the built-in one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TemplateOverrides {
    /// The subject line (rendered without the password).
    pub subject: Option<TemplateSource>,
    /// The `text/plain` body; must show `{{ password }}` exactly once.
    pub text: Option<TemplateSource>,
    /// The `text/html` body (auto-escaped); must show `{{ password }}` exactly once.
    pub html: Option<TemplateSource>,
}

/// Everything the mailer needs to know, mirroring the agent's `MailSettings`.
///
/// Build it with [`MailSettings::new`] and set the public fields; [`super::Mailer::new`]
/// checks it as a whole.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MailSettings {
    /// SMTP relay or pickup directory.
    pub transport: Transport,
    /// The sender (`FromAddress`).
    pub from_address: Email,
    /// Recipient domains mail may go to (`AllowedDomains`); empty means any. Compared
    /// case-insensitively and exactly (a subdomain must be listed itself); a leading `@` is
    /// ignored.
    pub allowed_domains: Vec<String>,
    /// Test environments: every mail goes to this address instead (`CatchAllAddress`). With it
    /// set and no `catch_all_cc_address`, the CC list is dropped, so no real person receives a
    /// test mail.
    pub catch_all_address: Option<Email>,
    /// Test environments: the CC list is replaced by this address (`CatchAllCCAddress`).
    pub catch_all_cc_address: Option<Email>,
    /// `false` sends nothing and says so (`Enabled`).
    pub enabled: bool,
    /// Languages of the mail, the first being the primary one (`NotificationSettings.Cultures`,
    /// default `en`).
    pub cultures: Vec<Culture>,
    /// Replacements for the built-in templates.
    pub templates: Option<TemplateOverrides>,
    /// The longest one SMTP attempt may take, connection to final reply (default 60 s).
    pub timeout: Duration,
    /// The longest the TCP (and implicit TLS) connection may take (default 10 s).
    pub connect_timeout: Duration,
    /// Retries of SMTP attempts that the server certainly did not act on (connection refused,
    /// `4xx` reply), decided by [`RetryPolicy::decide`]; a mail the server may have taken is
    /// never sent again.
    pub retry: RetryPolicy,
}

impl MailSettings {
    /// Settings with the agent's defaults: enabled, culture `en`, no domain restriction, no
    /// catch-all, built-in templates, 60 s per attempt, 10 s to connect, the default retry
    /// policy.
    pub fn new(transport: Transport, from_address: Email) -> Self {
        Self {
            transport,
            from_address,
            allowed_domains: Vec::new(),
            catch_all_address: None,
            catch_all_cc_address: None,
            enabled: true,
            cultures: vec![Culture::En],
            templates: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_agent_spellings() {
        assert_eq!(
            "StartTlsWhenAvailable".parse::<SecureSocketOption>(),
            Ok(SecureSocketOption::StartTlsWhenAvailable)
        );
        assert_eq!("none".parse(), Ok(SecureSocketOption::None));
        assert!("ssl".parse::<SecureSocketOption>().is_err());
        assert_eq!("fr-FR".parse(), Ok(Culture::Fr));
        assert_eq!("EN".parse(), Ok(Culture::En));
        let err = "de".parse::<Culture>().unwrap_err();
        assert_eq!(err.to_string(), "unknown culture: expected en or fr");
    }

    #[test]
    fn debug_of_settings_never_shows_the_smtp_password() {
        let settings = MailSettings::new(
            Transport::Smtp {
                host: "smtp.acme.com".into(),
                port: 587,
                secure: SecureSocketOption::StartTls,
                username: Some("mailer".into()),
                password: Some(SecretString::from("Smtp-Pa55word".to_owned())),
            },
            "no-reply@acme.com".parse().unwrap(),
        );
        let shown = format!("{settings:?} {settings:#?}");
        assert!(!shown.contains("Smtp-Pa55word"), "{shown}");
        assert!(shown.contains("smtp.acme.com") && shown.contains("mailer"));
    }
}
