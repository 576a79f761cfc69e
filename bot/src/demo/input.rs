//! The console's input: lines and passwords, read on a thread of their own, one at a time and
//! only when asked, so that a password prompt never competes with a pending line read.
//!
//! On a terminal a password is read with echo off (`rpassword`, from the controlling
//! terminal); otherwise the next input line is the password. Either way it becomes a
//! [`SecretString`] at once and is never written anywhere.

use std::io::{self, BufRead as _};
use std::sync::mpsc as std_mpsc;
use std::thread;

use secrecy::SecretString;
use tokio::sync::mpsc;

/// What the console asks the reader for.
#[derive(Debug)]
enum Ask {
    /// The next command line.
    Line,
    /// A password, with this prompt on a terminal.
    Password(String),
}

/// What the reader answers (`Debug` never shows a password).
#[derive(Debug)]
pub(super) enum Input {
    /// A command line, without its line ending.
    Line(String),
    /// A password (never empty).
    Password(SecretString),
    /// No password: an empty line, Ctrl-C or the end of input at the password prompt.
    NoPassword,
    /// The end of input.
    End,
    /// Reading failed.
    Failed(io::Error),
}

/// The reader thread's handle.
pub(super) struct Reader {
    asks: std_mpsc::Sender<Ask>,
    answers: mpsc::UnboundedReceiver<Input>,
}

impl Reader {
    /// Starts the reader thread. `terminal`: stdin is a terminal (passwords with echo off).
    ///
    /// The thread blocks in a read only while a line or password has been asked for; it is
    /// left behind (and ends with the process) if the console stops while it waits.
    pub fn spawn(terminal: bool) -> io::Result<Self> {
        let (asks, asked) = std_mpsc::channel::<Ask>();
        let (answer, answers) = mpsc::unbounded_channel();
        thread::Builder::new()
            .name("passdesk-demo-input".to_owned())
            .spawn(move || {
                while let Ok(ask) = asked.recv() {
                    let input = match ask {
                        Ask::Line => read_line(),
                        Ask::Password(prompt) if terminal => read_hidden(&prompt),
                        Ask::Password(_) => read_password_line(),
                    };
                    if answer.send(input).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self { asks, answers })
    }

    /// Asks for the next command line; [`Reader::next`] answers.
    pub fn ask_line(&self) {
        // A gone thread answers `End` through `next`.
        let _ = self.asks.send(Ask::Line);
    }

    /// Asks for a password; [`Reader::next`] answers.
    pub fn ask_password(&self, prompt: &str) {
        let _ = self.asks.send(Ask::Password(prompt.to_owned()));
    }

    /// The answer to the last ask (cancel-safe: an answer not taken stays for the next call).
    pub async fn next(&mut self) -> Input {
        self.answers.recv().await.unwrap_or(Input::End)
    }
}

/// Drops a trailing `\n` or `\r\n`.
fn strip_line_ending(line: &mut String) {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
}

fn read_line() -> Input {
    let mut line = String::new();
    match io::stdin().lock().read_line(&mut line) {
        Ok(0) => Input::End,
        Ok(_) => {
            strip_line_ending(&mut line);
            Input::Line(line)
        }
        Err(e) => Input::Failed(e),
    }
}

/// The next stdin line as a password (stdin is not a terminal).
fn read_password_line() -> Input {
    let mut line = String::new();
    match io::stdin().lock().read_line(&mut line) {
        Ok(0) => Input::NoPassword,
        Ok(_) => {
            strip_line_ending(&mut line);
            password(line)
        }
        Err(e) => Input::Failed(e),
    }
}

/// A password from the terminal, echo off.
fn read_hidden(prompt: &str) -> Input {
    match rpassword::prompt_password(prompt) {
        Ok(line) => password(line),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Input::NoPassword
        }
        Err(e) => Input::Failed(e),
    }
}

fn password(line: String) -> Input {
    if line.is_empty() {
        Input::NoPassword
    } else {
        Input::Password(SecretString::from(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn line_endings_are_not_part_of_a_line_or_a_password() {
        for (raw, want) in [("a\n", "a"), ("a\r\n", "a"), ("a", "a"), ("\n", "")] {
            let mut line = raw.to_owned();
            strip_line_ending(&mut line);
            assert_eq!(line, want, "{raw:?}");
        }
        assert!(matches!(password(String::new()), Input::NoPassword));
        match password("Hunter2!x".to_owned()) {
            Input::Password(secret) => assert_eq!(secret.expose_secret(), "Hunter2!x"),
            _ => panic!("a non-empty line is a password"),
        }
    }
}
