//! The console chat: reads commands, speaks to the engine as the current identity, and shows
//! what comes back — replies, approval requests, messages for other identities, progress and
//! audit lines — in the order they happen.
//!
//! While the engine works on a command, progress, audit lines and messages for others are shown
//! as they arrive; the audit channel is caught up before each message, so a message never
//! appears before the audit line of the step it reports. A run's report for its requester
//! ([`EngineEvent::Finished`]) comes after the reply of whoever pressed last.

use std::future::Future;
use std::io::{self, IsTerminal as _, Write};
use std::time::Duration;

use passdesk_commands::audit::{AuditChannel, AuditRecord, PostFuture};
use passdesk_commands::catalogue::{self, help_text};
use passdesk_commands::ids::{ButtonAction, ButtonId, PendingId};
use passdesk_commands::reply::Progress;
use passdesk_commands::{
    CommandError, EngineEvent, Invocation, Platform, Press, Reply, Response, error_reply,
    split_text,
};
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{broadcast, mpsc};
use tracing::Instrument as _;

use super::environment::{DemoSession, check_identity};
use super::input::{Input, Reader};
use super::render::{self, Buttons};

/// How long a reply waits for the audit channel to catch up (it is in-process: milliseconds).
const AUDIT_CATCH_UP: Duration = Duration::from_secs(2);

/// The console's own commands, for `/help`.
const CONSOLE_HELP: &str = "\
Console commands:
  /as NAME        act as another identity (the demo has helpdesk, approver and outsider)
  /whoami         who you are: your groups and your own JumpCloud account
  N  or /press N  press button [N] as the current identity
  /buttons        the buttons still waiting, with their numbers
  /sent           what the simulators recorded: mails by kind, expirations, notifications
  /help [COMMAND] this help, or one command's
  /quit           leave (also /exit, or the end of input)
Lines starting with # are ignored.";

/// The audit channel of the console: each record becomes an `audit #n …` line.
pub(super) struct AuditLines(pub(super) mpsc::UnboundedSender<String>);

impl AuditChannel for AuditLines {
    fn post<'a>(&'a self, record: &'a AuditRecord) -> PostFuture<'a> {
        // Nobody listening (the console has stopped) is not a failure: the file has the event.
        let _ = self.0.send(render::audit_line(record));
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Where the console's input comes from: lines, engine events, audit lines, Ctrl-C.
struct Sources {
    input: Reader,
    events: broadcast::Receiver<EngineEvent>,
    audit: mpsc::UnboundedReceiver<String>,
    interrupts: mpsc::UnboundedReceiver<()>,
}

/// The console's screen and state.
struct Console<'a> {
    session: &'a DemoSession,
    out: &'a mut dyn Write,
    identity: String,
    /// stdin is a terminal: show a prompt, read passwords with echo off.
    terminal_in: bool,
    /// stdout is a terminal: redraw the progress bar in place.
    terminal_out: bool,
    prompt_visible: bool,
    bar_open: bool,
    buttons: Buttons,
    interactions: u64,
    quit: bool,
}

/// Runs the console on `session` until `/quit`, the end of input or Ctrl-C, then shuts the
/// engine down (waiting requests expire, on the record) and says where the audit log is.
pub(super) async fn run(
    session: &DemoSession,
    audit: mpsc::UnboundedReceiver<String>,
    identity: String,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let terminal_in = io::stdin().is_terminal();
    let mut sources = Sources {
        input: Reader::spawn(terminal_in)?,
        events: session.engine.events(),
        audit,
        interrupts: interrupts(),
    };
    let mut console = Console {
        session,
        out,
        identity,
        terminal_in,
        terminal_out: io::stdout().is_terminal(),
        prompt_visible: false,
        bar_open: false,
        buttons: Buttons::default(),
        interactions: 0,
        quit: false,
    };
    console.banner()?;
    let served = console.serve(&mut sources).await;
    let finished = console.finish(&mut sources).await;
    served.and(finished)
}

/// Ctrl-C, as a stream: the console stops cleanly instead of dying mid-step.
fn interrupts() -> mpsc::UnboundedReceiver<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(
        async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if tx.send(()).is_err() {
                    break;
                }
            }
        }
        .instrument(tracing::debug_span!("demo.interrupts")),
    );
    rx
}

/// `3` or `[3]`: a button number.
fn button_number(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Console<'_> {
    fn banner(&mut self) -> io::Result<()> {
        let session = self.session;
        let env = &session.environment;
        writeln!(
            self.out,
            "passdesk demo: simulators up (JumpCloud {}, Identity Manager {})",
            env.jumpcloud_base_url(),
            env.identity_manager_uri()
        )?;
        writeln!(self.out, "policy: {}", session.policy)?;
        writeln!(self.out, "audit log: {}", session.audit_log.display())?;
        writeln!(
            self.out,
            "notification mails are written to: {}",
            env.pickup_dir.display()
        )?;
        let identities: Vec<String> = session
            .identities()
            .into_iter()
            .map(|(name, what)| format!("{name} ({what})"))
            .collect();
        writeln!(self.out, "identities: {}", identities.join("; "))?;
        writeln!(
            self.out,
            "you are {}. Try /reset user:jcuser.one; /help lists every command, /quit leaves.\n",
            self.identity
        )?;
        self.out.flush()
    }

    /// Reads and handles lines until the end.
    async fn serve(&mut self, src: &mut Sources) -> anyhow::Result<()> {
        while !self.quit {
            self.show_prompt()?;
            src.input.ask_line();
            let input = loop {
                tokio::select! {
                    biased;
                    Some(()) = src.interrupts.recv() => {
                        self.clear_prompt()?;
                        self.line("interrupted")?;
                        return Ok(());
                    }
                    input = src.input.next() => break input,
                    Ok(event) = src.events.recv() => {
                        self.clear_prompt()?;
                        self.event(event, None, &mut Vec::new(), src).await?;
                        self.end_bar()?;
                        self.show_prompt()?;
                    }
                    Some(line) = src.audit.recv() => {
                        self.clear_prompt()?;
                        self.line(&line)?;
                        self.show_prompt()?;
                    }
                }
            };
            match input {
                Input::Line(line) => {
                    // Enter was pressed: the cursor is on a new line.
                    self.prompt_visible = false;
                    self.handle(&line, src).await?;
                }
                Input::End => break,
                Input::Failed(e) => return Err(e.into()),
                // Only answers to a password ask; none was asked.
                Input::Password(_) | Input::NoPassword => {}
            }
        }
        Ok(())
    }

    /// Stops the engine and shows what that expired; says where the audit log is.
    async fn finish(&mut self, src: &mut Sources) -> anyhow::Result<()> {
        self.clear_prompt()?;
        self.session.engine.shutdown().await;
        self.catch_up(src, None, &mut Vec::new()).await?;
        self.line(&format!(
            "passdesk demo: stopped. The audit log is kept: passdesk audit verify {}",
            self.session.audit_log.display()
        ))?;
        Ok(())
    }

    async fn handle(&mut self, line: &str, src: &mut Sources) -> anyhow::Result<()> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        if let Some(number) = button_number(line) {
            return self.press(number, src).await;
        }
        let (command, options) = match split_text(line) {
            Ok(split) => split,
            Err(usage) => {
                self.message(None, &error_reply(&CommandError::Usage(usage)))?;
                return Ok(());
            }
        };
        match command.to_ascii_lowercase().as_str() {
            "quit" | "exit" => self.quit = true,
            "help" if options.is_empty() => self.help()?,
            "as" => self.switch(&options)?,
            "whoami" => self.whoami()?,
            "sent" => self.sent()?,
            "buttons" => self.list_buttons()?,
            "press" => {
                let number = match options.as_slice() {
                    [(n, v)] if v.is_empty() => button_number(n),
                    _ => None,
                };
                match number {
                    Some(number) => self.press(number, src).await?,
                    None => self.line("usage: /press N (the number shown as [N])")?,
                }
            }
            name if catalogue::command(name).is_some() => {
                self.invoke(command, options, src).await?;
            }
            // Not repeated: a password typed at the wrong moment must not be shown back.
            _ => self.line("unknown command (not repeated here); /help lists the commands")?,
        }
        Ok(())
    }

    fn actor(&self) -> passdesk_commands::Actor {
        DemoSession::actor(&self.identity, Platform::Console)
    }

    fn interaction_id(&mut self) -> String {
        self.interactions += 1;
        format!("console-{}", self.interactions)
    }

    fn press_of(&mut self, button: ButtonId) -> Press {
        Press {
            actor: self.actor(),
            channel: None,
            tenant: None,
            interaction_id: self.interaction_id(),
            button,
        }
    }

    /// A slash command through the engine.
    async fn invoke(
        &mut self,
        command: String,
        options: Vec<(String, String)>,
        src: &mut Sources,
    ) -> anyhow::Result<()> {
        let invocation = Invocation {
            actor: self.actor(),
            channel: None,
            tenant: None,
            interaction_id: self.interaction_id(),
            command,
            options,
        };
        let engine = self.session.engine.clone();
        let (response, later) = self.call(src, engine.invoke(invocation)).await?;
        self.answer(&response, None, later)?;
        if let Some(pending) = response.open_password_prompt {
            self.enter_password(pending, None, src).await?;
        }
        Ok(())
    }

    /// Presses button `number` as the current identity.
    async fn press(&mut self, number: u64, src: &mut Sources) -> anyhow::Result<()> {
        let Some(button) = self.buttons.get(number).cloned() else {
            return Ok(self.line(&format!(
                "there is no button [{number}]; /buttons lists the ones waiting"
            ))?);
        };
        let press = self.press_of(button.id);
        let engine = self.session.engine.clone();
        let (response, later) = self.call(src, engine.press(press)).await?;
        self.answer(&response, Some(button.message), later)?;
        if let Some(pending) = response.open_password_prompt {
            self.enter_password(pending, Some(button.message), src)
                .await?;
        }
        Ok(())
    }

    /// The private password prompt (the console's modal), then the submit.
    async fn enter_password(
        &mut self,
        pending: PendingId,
        message: Option<u64>,
        src: &mut Sources,
    ) -> anyhow::Result<()> {
        let request = pending.request_id();
        if self.terminal_in {
            self.end_bar()?;
        } else {
            self.line(&format!(
                "password for request {request}: reading the next input line (never shown)"
            ))?;
        }
        src.input.ask_password(&format!(
            "password for request {request} (not shown; an empty line cancels): "
        ));
        let password = match src.input.next().await {
            Input::Password(password) => password,
            Input::NoPassword | Input::Line(_) => {
                let again: Vec<String> = self
                    .buttons
                    .live()
                    .filter(|b| {
                        b.id.pending == pending && b.id.action == ButtonAction::EnterPassword
                    })
                    .map(|b| format!("[{}]", b.number))
                    .collect();
                let hint = match again.last() {
                    Some(number) => format!("press {number} to enter it"),
                    None => "press the password button to enter it".to_owned(),
                };
                return Ok(self.line(&format!(
                    "no password entered: nothing was sent; {hint} before the request expires"
                ))?);
            }
            Input::End => {
                self.quit = true;
                return Ok(self.line("no password entered (end of input): nothing was sent")?);
            }
            Input::Failed(e) => return Err(e.into()),
        };
        let press = self.press_of(ButtonId {
            action: ButtonAction::EnterPassword,
            pending,
        });
        let engine = self.session.engine.clone();
        let (response, later) = self
            .call(src, engine.submit_password(press, password))
            .await?;
        self.answer(&response, message, later)?;
        Ok(())
    }

    /// Runs an engine call, showing progress, audit lines and messages for others while it
    /// works; returns its response and the reports held back until after it.
    async fn call(
        &mut self,
        src: &mut Sources,
        call: impl Future<Output = Response>,
    ) -> anyhow::Result<(Response, Vec<EngineEvent>)> {
        let presser = self.identity.clone();
        let mut later = Vec::new();
        let mut call = std::pin::pin!(call);
        let response = loop {
            tokio::select! {
                biased;
                response = &mut call => break response,
                Ok(event) = src.events.recv() => {
                    self.event(event, Some(&presser), &mut later, src).await?;
                }
                Some(line) = src.audit.recv() => self.line(&line)?,
                Some(()) = src.interrupts.recv() => {
                    if !self.quit {
                        self.quit = true;
                        self.line("interrupted: leaving once this step is done")?;
                    }
                }
            }
        };
        self.catch_up(src, Some(&presser), &mut later).await?;
        Ok((response, later))
    }

    /// Shows the audit lines written so far, then the events already sent.
    async fn catch_up(
        &mut self,
        src: &mut Sources,
        presser: Option<&str>,
        later: &mut Vec<EngineEvent>,
    ) -> anyhow::Result<()> {
        self.audit_caught_up(src).await?;
        loop {
            match src.events.try_recv() {
                Ok(event) => self.event(event, presser, later, src).await?,
                Err(TryRecvError::Lagged(missed)) => {
                    self.line(&format!("({missed} engine events were missed)"))?;
                }
                Err(_) => break,
            }
        }
        self.audit_caught_up(src).await?;
        self.end_bar()?;
        Ok(())
    }

    /// Waits (briefly) for the audit channel to deliver what was recorded, and shows it.
    async fn audit_caught_up(&mut self, src: &mut Sources) -> io::Result<()> {
        if let Some(queue) = self.session.auditor.channel() {
            if tokio::time::timeout(AUDIT_CATCH_UP, queue.flushed())
                .await
                .is_err()
            {
                tracing::warn!("the console audit channel is behind; lines may come late");
            }
        }
        while let Ok(line) = src.audit.try_recv() {
            self.line(&line)?;
        }
        Ok(())
    }

    /// Shows an engine event. `presser`: who is acting now (`None` between commands); a run's
    /// report for its requester is held in `later` while someone is acting.
    async fn event(
        &mut self,
        event: EngineEvent,
        presser: Option<&str>,
        later: &mut Vec<EngineEvent>,
        src: &mut Sources,
    ) -> anyhow::Result<()> {
        match event {
            EngineEvent::Progress { progress, .. } => {
                self.audit_caught_up(src).await?;
                self.progress(&progress)?;
            }
            EngineEvent::Finished { .. } if presser.is_some() => later.push(event),
            other => {
                self.audit_caught_up(src).await?;
                self.notice(other, presser)?;
            }
        }
        Ok(())
    }

    /// A message the engine sends someone other than the one acting (or later).
    fn notice(&mut self, event: EngineEvent, presser: Option<&str>) -> io::Result<()> {
        match event {
            EngineEvent::ApprovalDecided {
                pending,
                requester,
                approved,
                reply_for_requester,
                ..
            } => {
                if !approved {
                    self.buttons.retire_request(pending);
                }
                self.message(
                    Some(&format!("to {}", requester.display_name)),
                    &reply_for_requester,
                )
            }
            EngineEvent::Finished {
                pending,
                requester,
                reply,
                ..
            } => {
                self.buttons.retire_request(pending);
                if presser == Some(requester.id.as_str()) {
                    return Ok(());
                }
                let title = reply.to_plain_text();
                let title = title.lines().next().unwrap_or_default();
                let request = reply
                    .request_id
                    .map(|id| format!(", request {id}"))
                    .unwrap_or_default();
                self.line(&format!(
                    "── to {} ── {title} (the report above{request})\n",
                    requester.display_name
                ))
            }
            EngineEvent::Expired {
                pending,
                requester,
                reply,
                ..
            } => {
                self.buttons.retire_request(pending);
                self.message(Some(&format!("to {}", requester.display_name)), &reply)
            }
            _ => Ok(()),
        }
    }

    /// Shows a response to the one acting: the reply, and the approval request posted in
    /// #approvals; then the reports held back while it ran.
    fn answer(
        &mut self,
        response: &Response,
        pressed: Option<u64>,
        later: Vec<EngineEvent>,
    ) -> io::Result<()> {
        if response.update_original {
            if let Some(message) = pressed {
                self.buttons.retire_message(message);
            }
        }
        self.message(None, &response.reply)?;
        if let Some(approval) = &response.approval_request {
            self.message(Some("in #approvals"), approval)?;
        }
        for event in later {
            self.notice(event, Some(&self.identity.clone()))?;
        }
        Ok(())
    }

    /// A message with numbered buttons; `place` is a header (`in #approvals`, `to helpdesk`)
    /// for anything not addressed to the one acting.
    fn message(&mut self, place: Option<&str>, reply: &Reply) -> io::Result<()> {
        self.end_bar()?;
        let shown_at = match place {
            Some(place) => place.to_owned(),
            None => format!("to {}", self.identity),
        };
        let (_, numbers) = self.buttons.show(&reply.buttons, &shown_at);
        if let Some(place) = place {
            writeln!(self.out, "── {place} ──")?;
        }
        write!(self.out, "{}", render::reply_text(reply, &numbers))?;
        writeln!(self.out)?;
        self.out.flush()
    }

    /// One line (ending the progress bar first).
    fn line(&mut self, text: &str) -> io::Result<()> {
        self.end_bar()?;
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    fn progress(&mut self, progress: &Progress) -> io::Result<()> {
        let bar = render::progress_bar(progress);
        if self.terminal_out {
            write!(self.out, "\r\x1b[2K{bar}")?;
            self.bar_open = !render::is_final(progress);
            if !self.bar_open {
                writeln!(self.out)?;
            }
        } else {
            writeln!(self.out, "{bar}")?;
        }
        self.out.flush()
    }

    fn end_bar(&mut self) -> io::Result<()> {
        if self.bar_open {
            self.bar_open = false;
            writeln!(self.out)?;
        }
        Ok(())
    }

    /// `helpdesk> `, on a terminal only.
    fn show_prompt(&mut self) -> io::Result<()> {
        if self.terminal_in && !self.prompt_visible {
            self.end_bar()?;
            write!(self.out, "{}> ", self.identity)?;
            self.out.flush()?;
            self.prompt_visible = true;
        }
        Ok(())
    }

    /// Moves off a visible prompt before printing something else.
    fn clear_prompt(&mut self) -> io::Result<()> {
        if self.prompt_visible {
            self.prompt_visible = false;
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn help(&mut self) -> io::Result<()> {
        writeln!(self.out, "{}\n{CONSOLE_HELP}\n", help_text().trim_end())?;
        self.out.flush()
    }

    fn switch(&mut self, options: &[(String, String)]) -> io::Result<()> {
        let name = match options {
            [] => {
                let identities: Vec<String> = self
                    .session
                    .identities()
                    .into_iter()
                    .map(|(name, what)| format!("  {name}: {what}"))
                    .collect();
                return self.line(&format!(
                    "you are {}. Identities:\n{}\nSwitch with /as NAME.",
                    self.identity,
                    identities.join("\n")
                ));
            }
            [(name, value)] if value.is_empty() => name,
            _ => return self.line("usage: /as NAME (e.g. /as approver)"),
        };
        if let Err(problem) = check_identity(name) {
            return self.line(&format!("cannot act as that: {problem}"));
        }
        self.identity = name.clone();
        let groups = self.session.groups_of(name);
        let groups = if groups.is_empty() {
            "in no group: every command is refused".to_owned()
        } else {
            format!("groups: {}", groups.join(", "))
        };
        self.line(&format!("you are now {name} ({groups})"))
    }

    fn whoami(&mut self) -> io::Result<()> {
        let groups = self.session.groups_of(&self.identity);
        let groups = if groups.is_empty() {
            "no group".to_owned()
        } else {
            groups.join(", ")
        };
        let account = match self.session.account_of(&self.identity) {
            Some(account) => format!("{account} (the own-account rule protects it)"),
            None => "not mapped in [accounts.cli]".to_owned(),
        };
        self.line(&format!(
            "you are {} (console); groups: {groups}; own JumpCloud account: {account}",
            self.identity
        ))
    }

    fn sent(&mut self) -> io::Result<()> {
        let sent = self.session.environment.sent();
        self.line(&format!("{sent}\n"))
    }

    fn list_buttons(&mut self) -> io::Result<()> {
        let waiting: Vec<String> = self
            .buttons
            .live()
            .map(|b| {
                format!(
                    "  [{}] {} ({}, request {})",
                    b.number,
                    b.label,
                    b.place,
                    b.id.pending.request_id()
                )
            })
            .collect();
        if waiting.is_empty() {
            self.line("no buttons are waiting")
        } else {
            self.line(&format!("buttons waiting:\n{}", waiting.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_numbers_are_digits_alone_or_in_brackets() {
        assert_eq!(button_number("3"), Some(3));
        assert_eq!(button_number(" [12] "), Some(12));
        for not_a_number in ["", "[]", "-1", "3a", "/reset", "+3", "1 2"] {
            assert_eq!(button_number(not_a_number), None, "{not_a_number:?}");
        }
    }
}
