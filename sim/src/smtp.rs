//! SMTP sink: a small SMTP server on `127.0.0.1` (random port) that records every mail it is
//! given, for the tests and `passdesk demo`.
//!
//! It speaks enough of RFC 5321 for a real client such as `lettre`: `EHLO`/`HELO`, `AUTH PLAIN`,
//! `MAIL`, `RCPT`, `DATA` (with dot-unstuffing), `RSET`, `NOOP`, `VRFY`, `QUIT`. There is no TLS
//! (`STARTTLS` is refused), so clients connect in plain text, as they should to a local relay.
//!
//! Each mail keeps its envelope (`MAIL FROM`, `RCPT TO`), the raw `DATA` and a parsed view of it
//! ([`MailMessage`]: decoded headers and the decoded `text/plain` and `text/html` parts), so a test
//! can look for a password in the body however the client encoded it.
//!
//! Knobs inject the failures a mail relay shows in real life: recipients refused with `550`
//! ([`SmtpSink::reject_recipients`]), connections greeted with `421`
//! ([`SmtpSink::fail_next_connections`]), commands answered `451`
//! ([`SmtpSink::fail_next_commands`]), a message taken but never acknowledged
//! ([`SmtpSink::stall_next_messages`]), required credentials ([`SmtpSink::require_auth`]) and
//! [`SmtpSink::stop`].
//!
//! The sink never logs envelope addresses, credentials or message content.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument as _;

/// The name the sink gives itself in its greeting and `EHLO` answer.
const SERVER_NAME: &str = "passdesk-sim";
/// The longest command line accepted (RFC 5321 allows 512 octets; AUTH lines can be longer).
const MAX_LINE: usize = 4096;
/// The largest message accepted, as advertised with `SIZE`.
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// An SMTP command verb, for [`SmtpSink::fail_next_commands`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verb {
    /// `EHLO` or `HELO`.
    Hello,
    /// `AUTH`.
    Auth,
    /// `MAIL FROM`.
    Mail,
    /// `RCPT TO`.
    Rcpt,
    /// `DATA` (the command itself, before any content is sent).
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
}

/// A message parsed from raw RFC 5322 bytes: decoded headers and the decoded text parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    headers: Vec<(String, String)>,
    content_type: String,
    text: Option<String>,
    html: Option<String>,
}

/// Why raw bytes could not be parsed as a mail message.
#[derive(Debug, thiserror::Error)]
#[error("not a parseable mail message: {0}")]
pub struct MessageParseError(String);

impl MailMessage {
    /// Parses a message (as received in `DATA`, or read from an `.eml` file). Transfer encodings
    /// (quoted-printable, base64) and RFC 2047 encoded headers are decoded.
    pub fn parse(raw: &[u8]) -> Result<Self, MessageParseError> {
        let parsed = mailparse::parse_mail(raw).map_err(|e| MessageParseError(e.to_string()))?;
        let headers = parsed
            .headers
            .iter()
            .map(|h| (h.get_key(), h.get_value()))
            .collect();
        let mut text = None;
        let mut html = None;
        for part in parsed.parts() {
            if part.get_content_disposition().disposition == mailparse::DispositionType::Attachment
            {
                continue;
            }
            let slot = match part.ctype.mimetype.as_str() {
                "text/plain" => &mut text,
                "text/html" => &mut html,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(
                    part.get_body()
                        .map_err(|e| MessageParseError(e.to_string()))?,
                );
            }
        }
        Ok(Self {
            headers,
            content_type: parsed.ctype.mimetype.clone(),
            text,
            html,
        })
    }

    /// Every header in order, name as sent and value decoded (RFC 2047) and unfolded.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header of that name (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded `Subject` header.
    pub fn subject(&self) -> Option<&str> {
        self.header("Subject")
    }

    /// The top-level MIME type, e.g. `multipart/alternative` (lowercase).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The first inline `text/plain` part, transfer-decoded.
    pub fn text_body(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The first inline `text/html` part, transfer-decoded.
    pub fn html_body(&self) -> Option<&str> {
        self.html.as_deref()
    }
}

/// One mail the sink accepted: envelope, raw content and a parsed view.
#[derive(Clone)]
#[non_exhaustive]
pub struct ReceivedMail {
    /// The name the client gave in `EHLO`/`HELO`.
    pub helo: String,
    /// The user name the client authenticated as, if it did.
    pub auth_user: Option<String>,
    /// The `MAIL FROM` reverse path (without angle brackets; empty for a null sender).
    pub mail_from: String,
    /// Every accepted `RCPT TO` forward path, in order (without angle brackets).
    pub rcpt_to: Vec<String>,
    /// The message as received in `DATA`, dot-unstuffed, with its CRLF line ends.
    pub raw: Vec<u8>,
    /// The parsed message, or why it could not be parsed.
    pub message: Result<MailMessage, String>,
}

impl fmt::Debug for ReceivedMail {
    /// Envelope and size only: the content may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedMail")
            .field("mail_from", &self.mail_from)
            .field("rcpt_to", &self.rcpt_to)
            .field("bytes", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl ReceivedMail {
    /// The first header of that name (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.message.as_ref().ok().and_then(|m| m.header(name))
    }

    /// The decoded `Subject` header.
    pub fn subject(&self) -> Option<&str> {
        self.header("Subject")
    }

    /// The first inline `text/plain` part, transfer-decoded.
    pub fn text_body(&self) -> Option<&str> {
        self.message.as_ref().ok().and_then(MailMessage::text_body)
    }

    /// The first inline `text/html` part, transfer-decoded.
    pub fn html_body(&self) -> Option<&str> {
        self.message.as_ref().ok().and_then(MailMessage::html_body)
    }
}

#[derive(Default)]
struct State {
    mails: Vec<ReceivedMail>,
    connections: usize,
    rejected_recipients: Vec<Regex>,
    fail_connections: u32,
    fail_commands: HashMap<Verb, u32>,
    stall_messages: u32,
    credentials: Option<(String, String)>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking session must not take the whole sink down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running SMTP sink. Dropping it stops it too.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` with a port chosen by the OS.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (shutdown, stop_rx) = watch::channel(false);
        let task = tokio::spawn(
            accept_loop(listener, Arc::clone(&shared), stop_rx)
                .instrument(tracing::info_span!("smtp_sink", %addr)),
        );
        Ok(Self {
            addr,
            shared,
            shutdown,
            task: Mutex::new(Some(task)),
        })
    }

    /// The address the sink listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every mail accepted so far, oldest first. A mail is recorded before the sink answers
    /// `250` to its end of data, so a client that saw its send succeed finds it here.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.shared.lock().mails.clone()
    }

    /// How many TCP connections the sink accepted so far (failed ones included).
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Refuses with `550` every `RCPT TO` whose address matches this regular expression
    /// (case-insensitive). Adds to earlier patterns.
    pub fn reject_recipients(&self, pattern: &str) -> Result<(), regex::Error> {
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()?;
        self.shared.lock().rejected_recipients.push(re);
        Ok(())
    }

    /// Greets the next `n` connections with `421` and closes them.
    pub fn fail_next_connections(&self, n: u32) {
        self.shared.lock().fail_connections = n;
    }

    /// Answers the next `n` commands with this verb `451` (a transient failure).
    pub fn fail_next_commands(&self, verb: Verb, n: u32) {
        self.shared.lock().fail_commands.insert(verb, n);
    }

    /// Takes the content of the next `n` messages but never answers their end of data (the
    /// connection stays open until the client gives up); such messages are not recorded.
    pub fn stall_next_messages(&self, n: u32) {
        self.shared.lock().stall_messages = n;
    }

    /// Advertises `AUTH PLAIN` and requires these credentials before `MAIL` (`530` otherwise,
    /// `535` for wrong ones).
    pub fn require_auth(&self, user: &str, password: &str) {
        self.shared.lock().credentials = Some((user.to_owned(), password.to_owned()));
    }

    /// Stops listening and closes every open session. When this returns, connections to
    /// [`Self::addr`] are refused. Recorded mails stay readable.
    pub async fn stop(&self) {
        self.shutdown.send_replace(true);
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            // The loop only ends by itself; a join error means it panicked, and then the
            // listener is dropped all the same.
            let _ = task.await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    shared.lock().connections += 1;
                    sessions.spawn(
                        session(stream, Arc::clone(&shared))
                            .instrument(tracing::debug_span!("smtp_session", %peer)),
                    );
                }
                Err(error) => tracing::warn!(%error, "accept failed"),
            },
            // Reap finished sessions so the set does not grow without bound.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    sessions.shutdown().await;
}

/// What a session learnt so far in the current transaction.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    rcpt: Vec<String>,
}

struct Session {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    shared: Arc<Shared>,
    helo: Option<String>,
    auth_user: Option<String>,
    tx: Transaction,
}

/// How a line read ended.
enum Line {
    Text(String),
    TooLong,
    Eof,
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, writer) = stream.into_split();
    let mut s = Session {
        reader: BufReader::new(read),
        writer,
        shared,
        helo: None,
        auth_user: None,
        tx: Transaction::default(),
    };
    if let Err(error) = s.run().await {
        tracing::debug!(%error, "session ended with an i/o error");
    }
}

impl Session {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    async fn read_line(&mut self) -> std::io::Result<Line> {
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Ok(Line::Eof);
        }
        if !buf.ends_with(b"\n") {
            if buf.len() > MAX_LINE {
                // Skip the rest of the overlong line.
                let mut rest = Vec::new();
                self.reader.read_until(b'\n', &mut rest).await?;
                return Ok(Line::TooLong);
            }
            return Ok(Line::Eof);
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Ok(Line::Text(String::from_utf8_lossy(&buf).into_owned()))
    }

    fn take_fault(&self, verb: Verb) -> bool {
        let mut state = self.shared.lock();
        match state.fail_commands.get_mut(&verb) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    async fn run(&mut self) -> std::io::Result<()> {
        let refuse = {
            let mut state = self.shared.lock();
            let refuse = state.fail_connections > 0;
            state.fail_connections = state.fail_connections.saturating_sub(1);
            refuse
        };
        if refuse {
            return self
                .reply("421 4.3.2 service not available (injected fault)")
                .await;
        }
        self.reply(&format!("220 {SERVER_NAME} ESMTP ready"))
            .await?;
        loop {
            let line = match self.read_line().await? {
                Line::Eof => return Ok(()),
                Line::TooLong => {
                    self.reply("500 5.5.6 line too long").await?;
                    continue;
                }
                Line::Text(line) => line,
            };
            let (word, arg) = match line.split_once(' ') {
                Some((w, a)) => (w.to_ascii_uppercase(), a.trim().to_owned()),
                None => (line.trim().to_ascii_uppercase(), String::new()),
            };
            tracing::trace!(verb = %word, "command");
            let verb = match word.as_str() {
                "EHLO" | "HELO" => Some(Verb::Hello),
                "AUTH" => Some(Verb::Auth),
                "MAIL" => Some(Verb::Mail),
                "RCPT" => Some(Verb::Rcpt),
                "DATA" => Some(Verb::Data),
                "RSET" => Some(Verb::Rset),
                "NOOP" => Some(Verb::Noop),
                _ => None,
            };
            if verb.is_some_and(|v| self.take_fault(v)) {
                self.reply("451 4.3.0 temporary failure (injected fault)")
                    .await?;
                continue;
            }
            match word.as_str() {
                "EHLO" => self.ehlo(arg).await?,
                "HELO" => {
                    self.helo = Some(arg);
                    self.tx = Transaction::default();
                    self.reply(&format!("250 {SERVER_NAME}")).await?;
                }
                "AUTH" => self.auth(&arg).await?,
                "MAIL" => self.mail(&arg).await?,
                "RCPT" => self.rcpt(&arg).await?,
                "DATA" => self.data().await?,
                "RSET" => {
                    self.tx = Transaction::default();
                    self.reply("250 2.0.0 ok").await?;
                }
                "NOOP" => self.reply("250 2.0.0 ok").await?,
                "VRFY" => self.reply("252 2.1.5 cannot verify, will accept").await?,
                "STARTTLS" => self.reply("454 4.7.0 tls not available").await?,
                "QUIT" => {
                    self.reply("221 2.0.0 bye").await?;
                    return Ok(());
                }
                _ => self.reply("500 5.5.2 command not recognised").await?,
            }
        }
    }

    async fn ehlo(&mut self, arg: String) -> std::io::Result<()> {
        if arg.is_empty() {
            return self.reply("501 5.5.4 ehlo needs a domain").await;
        }
        self.helo = Some(arg);
        self.tx = Transaction::default();
        let auth = self.shared.lock().credentials.is_some();
        let mut lines = vec![
            SERVER_NAME.to_owned(),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            format!("SIZE {MAX_MESSAGE}"),
        ];
        if auth {
            lines.push("AUTH PLAIN".to_owned());
        }
        let last = lines.len() - 1;
        let text = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n");
        self.reply(&text).await
    }

    async fn auth(&mut self, arg: &str) -> std::io::Result<()> {
        let expected = self.shared.lock().credentials.clone();
        let Some((user, password)) = expected else {
            return self.reply("503 5.5.1 authentication not enabled").await;
        };
        if self.auth_user.is_some() {
            return self.reply("503 5.5.1 already authenticated").await;
        }
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
            None => (arg.to_ascii_uppercase(), None),
        };
        if mechanism != "PLAIN" {
            return self.reply("504 5.5.4 mechanism not supported").await;
        }
        let response = match initial {
            Some(r) => r,
            None => {
                self.reply("334 ").await?;
                match self.read_line().await? {
                    Line::Text(r) => r,
                    Line::TooLong => return self.reply("500 5.5.6 line too long").await,
                    Line::Eof => return Ok(()),
                }
            }
        };
        let decoded = BASE64.decode(response.trim()).unwrap_or_default();
        // PLAIN: authzid NUL authcid NUL password.
        let mut fields = decoded.split(|b| *b == 0);
        let _authzid = fields.next();
        let given_user = fields.next().unwrap_or_default();
        let given_password = fields.next().unwrap_or_default();
        if given_user == user.as_bytes() && given_password == password.as_bytes() {
            self.auth_user = Some(user);
            self.reply("235 2.7.0 authentication succeeded").await
        } else {
            self.reply("535 5.7.8 authentication credentials invalid")
                .await
        }
    }

    async fn mail(&mut self, arg: &str) -> std::io::Result<()> {
        if self.helo.is_none() {
            return self.reply("503 5.5.1 say hello first").await;
        }
        if self.shared.lock().credentials.is_some() && self.auth_user.is_none() {
            return self.reply("530 5.7.0 authentication required").await;
        }
        if self.tx.from.is_some() {
            return self.reply("503 5.5.1 nested mail command").await;
        }
        match path_arg(arg, "FROM:") {
            Some(from) => {
                self.tx.from = Some(from);
                self.reply("250 2.1.0 sender ok").await
            }
            None => self.reply("501 5.5.4 syntax: MAIL FROM:<address>").await,
        }
    }

    async fn rcpt(&mut self, arg: &str) -> std::io::Result<()> {
        if self.tx.from.is_none() {
            return self.reply("503 5.5.1 need mail before rcpt").await;
        }
        let Some(to) = path_arg(arg, "TO:").filter(|t| !t.is_empty()) else {
            return self.reply("501 5.5.4 syntax: RCPT TO:<address>").await;
        };
        let rejected = self
            .shared
            .lock()
            .rejected_recipients
            .iter()
            .any(|re| re.is_match(&to));
        if rejected {
            return self.reply("550 5.1.1 recipient rejected").await;
        }
        self.tx.rcpt.push(to);
        self.reply("250 2.1.5 recipient ok").await
    }

    async fn data(&mut self) -> std::io::Result<()> {
        if self.tx.from.is_none() || self.tx.rcpt.is_empty() {
            return self.reply("503 5.5.1 need mail and rcpt before data").await;
        }
        self.reply("354 end data with <CR><LF>.<CR><LF>").await?;
        let mut raw = Vec::new();
        let mut too_big = false;
        loop {
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take(MAX_MESSAGE as u64)
                .read_until(b'\n', &mut line)
                .await?;
            if n == 0 {
                return Ok(());
            }
            let content = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            if content == b"." {
                break;
            }
            let unstuffed = content.strip_prefix(b".").unwrap_or(content);
            if raw.len() + unstuffed.len() + 2 > MAX_MESSAGE {
                too_big = true;
                continue;
            }
            raw.extend_from_slice(unstuffed);
            raw.extend_from_slice(b"\r\n");
        }
        let tx = std::mem::take(&mut self.tx);
        if too_big {
            return self.reply("552 5.3.4 message too big").await;
        }
        let stall = {
            let mut state = self.shared.lock();
            let stall = state.stall_messages > 0;
            state.stall_messages = state.stall_messages.saturating_sub(1);
            stall
        };
        if stall {
            // Never answer: wait until the client hangs up (or the sink stops).
            let mut sink = Vec::new();
            self.reader.read_to_end(&mut sink).await?;
            return Ok(());
        }
        let message = MailMessage::parse(&raw).map_err(|e| e.to_string());
        let mail = ReceivedMail {
            helo: self.helo.clone().unwrap_or_default(),
            auth_user: self.auth_user.clone(),
            mail_from: tx.from.unwrap_or_default(),
            rcpt_to: tx.rcpt,
            raw,
            message,
        };
        let queued = {
            let mut state = self.shared.lock();
            state.mails.push(mail);
            state.mails.len()
        };
        tracing::debug!(queued, "mail recorded");
        self.reply(&format!("250 2.0.0 ok: queued as {queued}"))
            .await
    }
}

/// Parses `FROM:<path> params` / `TO:<path> params` (the keyword case-insensitive, an optional
/// space after the colon), returning the path without angle brackets.
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg.get(keyword.len()..)?.trim_start();
    let path = rest.split_whitespace().next().unwrap_or("");
    let inner = path.strip_prefix('<')?.strip_suffix('>')?;
    Some(inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;

    /// A scripted SMTP client: sends a line, returns the full (possibly multi-line) reply.
    struct Client {
        reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
        writer: tokio::net::tcp::OwnedWriteHalf,
    }

    impl Client {
        async fn connect(sink: &SmtpSink) -> (Self, String) {
            let stream = TcpStream::connect(sink.addr()).await.unwrap();
            let (r, w) = stream.into_split();
            let mut c = Self {
                reader: BufReader::new(r),
                writer: w,
            };
            let greeting = c.read_reply().await;
            (c, greeting)
        }

        async fn read_reply(&mut self) -> String {
            let mut out = String::new();
            loop {
                let mut line = String::new();
                let n = self.reader.read_line(&mut line).await.unwrap();
                if n == 0 {
                    return out;
                }
                out.push_str(&line);
                if line.as_bytes().get(3) != Some(&b'-') {
                    return out;
                }
            }
        }

        async fn cmd(&mut self, line: &str) -> String {
            self.writer
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
            self.read_reply().await
        }
    }

    #[test]
    fn path_arg_accepts_the_usual_spellings() {
        let cases = [
            ("FROM:<a@b.c>", "FROM:", Some("a@b.c")),
            (
                "from: <a@b.c> SIZE=10 BODY=8BITMIME",
                "FROM:",
                Some("a@b.c"),
            ),
            ("FROM:<>", "FROM:", Some("")),
            ("TO:<x@y.z>", "TO:", Some("x@y.z")),
            ("TO:x@y.z", "TO:", None),
            ("FROM:<a@b.c>", "TO:", None),
            ("", "TO:", None),
        ];
        for (arg, kw, want) in cases {
            assert_eq!(path_arg(arg, kw).as_deref(), want, "{arg:?}");
        }
    }

    #[tokio::test]
    async fn records_envelope_and_dot_unstuffed_data() {
        let sink = SmtpSink::start().await.unwrap();
        let (mut c, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        let ehlo = c.cmd("EHLO client.test").await;
        assert!(ehlo.contains("250-8BITMIME") && ehlo.lines().last().unwrap().starts_with("250 "));
        assert!(c.cmd("MAIL FROM:<from@acme.test>").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<one@acme.test>").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<two@acme.test>").await.starts_with("250"));
        assert!(c.cmd("DATA").await.starts_with("354"));
        let body = "Subject: hi\r\nContent-Type: text/plain\r\n\r\n..leading dot\r\nplain\r\n.";
        assert!(c.cmd(body).await.starts_with("250"));
        assert!(c.cmd("QUIT").await.starts_with("221"));

        let mails = sink.mails();
        assert_eq!(mails.len(), 1);
        let m = &mails[0];
        assert_eq!(m.helo, "client.test");
        assert_eq!(m.mail_from, "from@acme.test");
        assert_eq!(m.rcpt_to, ["one@acme.test", "two@acme.test"]);
        assert_eq!(m.subject(), Some("hi"));
        assert_eq!(
            String::from_utf8(m.raw.clone()).unwrap(),
            "Subject: hi\r\nContent-Type: text/plain\r\n\r\n.leading dot\r\nplain\r\n"
        );
        assert_eq!(m.text_body().unwrap().trim_end(), ".leading dot\r\nplain");
        assert_eq!(sink.connections(), 1);
    }

    #[tokio::test]
    async fn enforces_command_order_and_rset() {
        let sink = SmtpSink::start().await.unwrap();
        let (mut c, _) = Client::connect(&sink).await;
        assert!(c.cmd("MAIL FROM:<a@b.test>").await.starts_with("503"));
        assert!(c.cmd("HELO me").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<a@b.test>").await.starts_with("503"));
        assert!(c.cmd("DATA").await.starts_with("503"));
        assert!(c.cmd("MAIL FROM:<a@b.test>").await.starts_with("250"));
        assert!(c.cmd("RSET").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<a@b.test>").await.starts_with("503"));
        assert!(c.cmd("NOOP").await.starts_with("250"));
        assert!(c.cmd("STARTTLS").await.starts_with("454"));
        assert!(c.cmd("BOGUS").await.starts_with("500"));
        assert!(sink.mails().is_empty());
    }

    #[tokio::test]
    async fn knobs_reject_recipients_and_fail_connections_and_commands() {
        let sink = SmtpSink::start().await.unwrap();
        sink.reject_recipients("@blocked\\.test$").unwrap();
        sink.fail_next_connections(1);
        let (_, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("421"), "{greeting}");

        let (mut c, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("220"));
        sink.fail_next_commands(Verb::Mail, 1);
        c.cmd("EHLO me").await;
        assert!(c.cmd("MAIL FROM:<a@b.test>").await.starts_with("451"));
        assert!(c.cmd("MAIL FROM:<a@b.test>").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<x@Blocked.test>").await.starts_with("550"));
        assert!(c.cmd("RCPT TO:<x@ok.test>").await.starts_with("250"));
        assert_eq!(sink.connections(), 2);
    }

    #[tokio::test]
    async fn auth_plain_is_required_when_configured() {
        let sink = SmtpSink::start().await.unwrap();
        sink.require_auth("mailer", "s3cret");
        let (mut c, _) = Client::connect(&sink).await;
        assert!(c.cmd("EHLO me").await.contains("AUTH PLAIN"));
        assert!(c.cmd("MAIL FROM:<a@b.test>").await.starts_with("530"));
        let wrong = BASE64.encode(b"\0mailer\0nope");
        assert!(
            c.cmd(&format!("AUTH PLAIN {wrong}"))
                .await
                .starts_with("535")
        );
        assert!(c.cmd("AUTH PLAIN").await.starts_with("334"));
        let right = BASE64.encode(b"\0mailer\0s3cret");
        assert!(c.cmd(&right).await.starts_with("235"));
        assert!(c.cmd("MAIL FROM:<a@b.test>").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<x@ok.test>").await.starts_with("250"));
        c.cmd("DATA").await;
        assert!(
            c.cmd("Subject: x\r\n\r\nbody\r\n.")
                .await
                .starts_with("250")
        );
        assert_eq!(sink.mails()[0].auth_user.as_deref(), Some("mailer"));
    }

    #[tokio::test]
    async fn stop_closes_the_port_and_keeps_the_record() {
        let sink = SmtpSink::start().await.unwrap();
        let (mut c, _) = Client::connect(&sink).await;
        c.cmd("HELO me").await;
        c.cmd("MAIL FROM:<a@b.test>").await;
        c.cmd("RCPT TO:<x@ok.test>").await;
        c.cmd("DATA").await;
        c.cmd("Subject: x\r\n\r\nbody\r\n.").await;
        sink.stop().await;
        assert!(TcpStream::connect(sink.addr()).await.is_err());
        // The open session was closed too.
        assert_eq!(c.read_reply().await, "");
        assert_eq!(sink.mails().len(), 1);
    }

    #[test]
    fn parses_multipart_with_encoded_parts() {
        let raw = concat!(
            "Subject: =?utf-8?q?Mot_de_passe_=C3=A9t=C3=A9?=\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/alternative; boundary=\"b\"\r\n",
            "\r\n",
            "--b\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "caf=C3=A9 a very long line that was wrapped by the enco=\r\nder\r\n",
            "--b\r\n",
            "Content-Type: text/html; charset=utf-8\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "PHA+Y2Fmw6k8L3A+\r\n",
            "--b--\r\n",
        );
        let m = MailMessage::parse(raw.as_bytes()).unwrap();
        assert_eq!(m.subject(), Some("Mot de passe été"));
        assert_eq!(m.content_type(), "multipart/alternative");
        assert_eq!(
            m.text_body().unwrap().trim_end(),
            "café a very long line that was wrapped by the encoder"
        );
        assert_eq!(m.html_body(), Some("<p>café</p>"));
    }
}
