//! The person (or script) at the command line: whether anyone can answer, the y/N question,
//! and the notification password.

use std::io::{self, BufRead, IsTerminal as _, Read as _, Write};

use secrecy::SecretString;

/// The most bytes read for a password line (a password is at most a few hundred characters).
const MAX_PASSWORD_LINE_BYTES: u64 = 4096;

/// Questions the command line may ask.
pub trait Console {
    /// Whether a person can answer on standard input (it is a terminal).
    fn interactive(&self) -> bool;

    /// Asks `question` on stderr and reads the answer: `y` or `yes` (any case) is a yes,
    /// anything else (an empty line, the end of input) a no.
    fn confirm(&mut self, question: &str) -> io::Result<bool>;

    /// Asks for the password on the terminal, with echo off.
    fn ask_password(&mut self, prompt: &str) -> io::Result<SecretString>;

    /// Reads the password from the first line of standard input (`--password-stdin`): the
    /// trailing newline (`\n` or `\r\n`) is stripped; `None` when the input is empty.
    fn read_password_line(&mut self) -> io::Result<Option<SecretString>>;
}

/// The real terminal: stdin, stderr and, for the password, the controlling terminal.
#[derive(Debug, Default)]
pub struct Terminal;

impl Console for Terminal {
    fn interactive(&self) -> bool {
        io::stdin().is_terminal()
    }

    fn confirm(&mut self, question: &str) -> io::Result<bool> {
        let mut err = io::stderr();
        write!(err, "{question} [y/N] ")?;
        err.flush()?;
        let mut answer = String::new();
        io::stdin().lock().take(256).read_line(&mut answer)?;
        Ok(is_yes(&answer))
    }

    fn ask_password(&mut self, prompt: &str) -> io::Result<SecretString> {
        rpassword::prompt_password(prompt).map(SecretString::from)
    }

    fn read_password_line(&mut self) -> io::Result<Option<SecretString>> {
        read_secret_line(&mut io::stdin().lock())
    }
}

/// Whether an answer to a y/N question is a yes.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// The first line of `input` as a secret, without its line ending; `None` when `input` is
/// empty. Reads at most [`MAX_PASSWORD_LINE_BYTES`] (the password check refuses longer ones).
pub fn read_secret_line(input: &mut dyn BufRead) -> io::Result<Option<SecretString>> {
    let mut bytes = Vec::new();
    input
        .take(MAX_PASSWORD_LINE_BYTES)
        .read_until(b'\n', &mut bytes)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the password on standard input is not UTF-8",
        )
    })?;
    Ok(Some(SecretString::from(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn line(input: &[u8]) -> Option<String> {
        read_secret_line(&mut &input[..])
            .unwrap()
            .map(|s| s.expose_secret().to_owned())
    }

    #[test]
    fn one_line_without_its_newline() {
        assert_eq!(line(b"Hunter2!x\n").as_deref(), Some("Hunter2!x"));
        assert_eq!(line(b"Hunter2!x\r\n").as_deref(), Some("Hunter2!x"));
        assert_eq!(line(b"Hunter2!x").as_deref(), Some("Hunter2!x"));
        assert_eq!(
            line(b"first\nsecond\n").as_deref(),
            Some("first"),
            "only the first line"
        );
        assert_eq!(line(b"  spaced  \n").as_deref(), Some("  spaced  "));
        assert_eq!(line(b"\n").as_deref(), Some(""), "empty, refused later");
        assert_eq!(line(b""), None);
        assert!(read_secret_line(&mut &b"\xff\xfe\n"[..]).is_err());
    }

    #[test]
    fn only_yes_is_yes() {
        for yes in ["y", "Y\n", " yes \r\n", "YES"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "oui"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
