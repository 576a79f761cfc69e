//! [`Password`]: the one secret a password notification carries.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A password to be mailed: non-empty, at most 256 characters, no control characters.
///
/// It has no `Display`, no `Serialize` and a redacting `Debug`; the mailer reads it in exactly
/// one place, when it renders the mail body, and drops it right after the send.
pub struct Password(SecretString);

/// Why a password cannot be mailed. The message never contains the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Nothing was given.
    #[error("the password is empty")]
    Empty,
    /// Too many characters.
    #[error("the password is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A control character (line break, tab, NUL…) would garble or split the mail.
    #[error("the password contains a control character (line break, tab or similar)")]
    ControlCharacter,
}

impl Password {
    /// Validates a password for mailing.
    pub fn new(secret: SecretString) -> Result<Self, PasswordError> {
        let text = secret.expose_secret();
        if text.is_empty() {
            return Err(PasswordError::Empty);
        }
        if text.chars().nth(MAX_PASSWORD_CHARS).is_some() {
            return Err(PasswordError::TooLong {
                max: MAX_PASSWORD_CHARS,
            });
        }
        if text.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        Ok(Self(secret))
    }

    /// The password in clear: for the template context only.
    pub(super) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn validation_table() {
        let max = "é".repeat(MAX_PASSWORD_CHARS);
        let over = "é".repeat(MAX_PASSWORD_CHARS + 1);
        let cases: Vec<(&str, Result<(), PasswordError>)> = vec![
            ("Tr0ub4dor&3", Ok(())),
            ("<b>&\"' with spaces", Ok(())),
            ("mot de passe été", Ok(())),
            (&max, Ok(())),
            ("", Err(PasswordError::Empty)),
            (&over, Err(PasswordError::TooLong { max: 256 })),
            ("line\nbreak", Err(PasswordError::ControlCharacter)),
            ("cr\rhere", Err(PasswordError::ControlCharacter)),
            ("tab\there", Err(PasswordError::ControlCharacter)),
            ("nul\0", Err(PasswordError::ControlCharacter)),
            ("del\u{7f}", Err(PasswordError::ControlCharacter)),
            ("c1\u{85}", Err(PasswordError::ControlCharacter)),
        ];
        for (input, want) in cases {
            let got = Password::new(secret(input)).map(|_| ());
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_password() {
        let p = Password::new(secret("Sup3r-Secret!")).unwrap();
        let shown = format!("{p:?} {p:#?}");
        assert!(!shown.contains("Sup3r"), "{shown}");
        assert!(shown.contains("redacted"));
        let err = Password::new(secret("Sup3r\nSecret")).unwrap_err();
        assert!(!err.to_string().contains("Sup3r"));
        assert!(!format!("{err:?}").contains("Sup3r"));
    }
}
