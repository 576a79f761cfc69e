//! The platform-neutral reply every adapter renders: a Discord embed with components, Slack
//! Block Kit, or console text ([`Reply::to_plain_text`]).
//!
//! A reply holds text for people and button ids; never a secret. Tables are bounded
//! ([`Table::MAX_ROWS`] rows, then a "… and N more" line) so chat size limits hold.

use std::fmt::{self, Write as _};

use crate::ids::{ButtonId, RequestId};

/// Who sees a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Visibility {
    /// Only the person who asked (Discord ephemeral message, Slack `ephemeral`).
    #[default]
    Ephemeral,
    /// Everyone in the channel.
    Channel,
}

/// The mood of a reply, for the embed colour or an icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    /// Neutral information (plans, help).
    Info,
    /// Everything asked for was done.
    Success,
    /// Needs attention: a confirmation, something skipped or uncertain.
    Warning,
    /// Nothing (or not everything) was done.
    Error,
}

impl Tone {
    /// The marker put before the title in plain text.
    fn marker(self) -> &'static str {
        match self {
            Tone::Info => "",
            Tone::Success => "✓ ",
            Tone::Warning => "! ",
            Tone::Error => "✗ ",
        }
    }
}

/// A name/value pair (an embed field, a Block Kit field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The label.
    pub name: String,
    /// The value.
    pub value: String,
}

/// A small table: one row per target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows, each with one cell per header; at most [`Table::MAX_ROWS`].
    pub rows: Vec<Vec<String>>,
    /// Rows left out after the first [`Table::MAX_ROWS`].
    pub omitted: usize,
}

impl Table {
    /// The most rows kept: enough for a review, small enough for one chat message.
    pub const MAX_ROWS: usize = 25;
    /// The most characters of one cell.
    pub const MAX_CELL_CHARS: usize = 80;

    /// A table of the first [`Table::MAX_ROWS`] rows, counting the rest in
    /// [`Table::omitted`]; cells longer than [`Table::MAX_CELL_CHARS`] are cut.
    pub fn bounded<H, R>(headers: H, rows: R) -> Self
    where
        H: IntoIterator,
        H::Item: Into<String>,
        R: IntoIterator<Item = Vec<String>>,
    {
        let mut kept = Vec::new();
        let mut omitted = 0;
        for row in rows {
            if kept.len() < Self::MAX_ROWS {
                kept.push(row.iter().map(|cell| cut(cell)).collect());
            } else {
                omitted += 1;
            }
        }
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: kept,
            omitted,
        }
    }

    /// The table as aligned text columns, with a final "… and N more" line when rows were left
    /// out.
    pub fn to_plain_text(&self) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |row: &[String]| {
            let mut out = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    out.push_str(cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = String::new();
        if !self.headers.is_empty() {
            out.push_str(&line(&self.headers));
            out.push('\n');
            let rule: usize = widths.iter().sum::<usize>() + 2 * columns.saturating_sub(1);
            out.extend(std::iter::repeat_n('-', rule));
            out.push('\n');
        }
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        if self.omitted > 0 {
            let _ = writeln!(out, "… and {} more", self.omitted);
        }
        out
    }
}

fn cut(cell: &str) -> String {
    let mut out: String = cell
        .chars()
        .take(Table::MAX_CELL_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if cell.chars().nth(Table::MAX_CELL_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// How a button looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ButtonStyle {
    /// The expected choice (Confirm, Approve).
    Primary,
    /// A destructive or refusing choice (Deny).
    Danger,
    /// Everything else (Cancel).
    Secondary,
}

/// A button; pressing it sends `id` back to Passdesk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// The text on the button.
    pub label: String,
    /// How it looks.
    pub style: ButtonStyle,
    /// What pressing it does, and on which pending action.
    pub id: ButtonId,
}

/// How far a bulk job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Targets settled so far.
    pub done: usize,
    /// Targets in the job.
    pub total: usize,
    /// Targets that failed so far.
    pub failed: usize,
    /// Targets whose outcome is unknown so far.
    pub unknown: usize,
}

impl From<crate::executor::Progress> for Progress {
    fn from(p: crate::executor::Progress) -> Self {
        Self {
            done: p.done,
            total: p.total,
            failed: p.failed,
            unknown: p.unknown,
        }
    }
}

impl fmt::Display for Progress {
    /// `3/10 done`, then `, 1 failed` and `, 1 unknown` when any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} done", self.done, self.total)?;
        if self.failed > 0 {
            write!(f, ", {} failed", self.failed)?;
        }
        if self.unknown > 0 {
            write!(f, ", {} unknown", self.unknown)?;
        }
        Ok(())
    }
}

/// A reply, as every adapter renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Who sees it.
    pub visibility: Visibility,
    /// Its mood.
    pub tone: Tone,
    /// One line.
    pub title: String,
    /// Free text (may be empty); lines separated by `\n`.
    pub body: String,
    /// Name/value pairs, in order.
    pub fields: Vec<Field>,
    /// One row per target, when there are targets to show.
    pub table: Option<Table>,
    /// Buttons, in order.
    pub buttons: Vec<Button>,
    /// The request it belongs to, shown so people can refer to it.
    pub request_id: Option<RequestId>,
    /// A bulk job's progress.
    pub progress: Option<Progress>,
}

impl Reply {
    /// An ephemeral reply with a title and body and nothing else.
    pub fn new(tone: Tone, title: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            visibility: Visibility::Ephemeral,
            tone,
            title: title.into(),
            body: body.into(),
            fields: Vec::new(),
            table: None,
            buttons: Vec::new(),
            request_id: None,
            progress: None,
        }
    }

    /// An ephemeral [`Tone::Info`] reply.
    pub fn info(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(Tone::Info, title, body)
    }

    /// An ephemeral [`Tone::Success`] reply.
    pub fn success(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(Tone::Success, title, body)
    }

    /// An ephemeral [`Tone::Warning`] reply.
    pub fn warning(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(Tone::Warning, title, body)
    }

    /// An ephemeral [`Tone::Error`] reply. To report a [`crate::CommandError`], use
    /// [`crate::error_reply`].
    pub fn error(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(Tone::Error, title, body)
    }

    /// The same reply, visible to the whole channel.
    #[must_use]
    pub fn in_channel(mut self) -> Self {
        self.visibility = Visibility::Channel;
        self
    }

    /// Adds a field.
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Sets the table.
    #[must_use]
    pub fn with_table(mut self, table: Table) -> Self {
        self.table = Some(table);
        self
    }

    /// Adds a button.
    #[must_use]
    pub fn button(mut self, label: impl Into<String>, style: ButtonStyle, id: ButtonId) -> Self {
        self.buttons.push(Button {
            label: label.into(),
            style,
            id,
        });
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, id: RequestId) -> Self {
        self.request_id = Some(id);
        self
    }

    /// Sets the progress.
    #[must_use]
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// A readable text rendering, for the console, the CLI and tests:
    ///
    /// ```text
    /// ! Dry run — nothing was sent
    /// body…
    ///
    /// Name: value
    ///
    /// User  State  Would happen
    /// ...
    /// [Confirm] [Cancel]
    /// progress: 3/10 done
    /// request 1a2b3c4d
    /// ```
    pub fn to_plain_text(&self) -> String {
        let mut out = format!("{}{}\n", self.tone.marker(), self.title);
        let section = |text: &str, out: &mut String| {
            if !text.is_empty() {
                out.push('\n');
                out.push_str(text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        };
        section(&self.body, &mut out);
        let fields: String = self
            .fields
            .iter()
            .map(|f| format!("{}: {}\n", f.name, f.value))
            .collect();
        section(&fields, &mut out);
        if let Some(table) = &self.table {
            section(&table.to_plain_text(), &mut out);
        }
        let mut tail = String::new();
        if !self.buttons.is_empty() {
            let labels: Vec<String> = self
                .buttons
                .iter()
                .map(|b| format!("[{}]", b.label))
                .collect();
            let _ = writeln!(tail, "{}", labels.join(" "));
        }
        if let Some(progress) = &self.progress {
            let _ = writeln!(tail, "progress: {progress}");
        }
        if let Some(id) = &self.request_id {
            let _ = writeln!(tail, "request {id}");
        }
        section(&tail, &mut out);
        out
    }
}

impl fmt::Display for Reply {
    /// [`Reply::to_plain_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ButtonAction, PendingId};

    #[test]
    fn plain_text_shows_every_part_in_order() {
        let pending = PendingId::random();
        let reply = Reply::warning("Please confirm", "reset mail for user jane.doe")
            .field("Targets", "1")
            .with_table(Table::bounded(
                ["User", "Action"],
                [vec!["jane.doe".to_owned(), "reset mail".to_owned()]],
            ))
            .button(
                "Confirm",
                ButtonStyle::Primary,
                ButtonId {
                    action: ButtonAction::Confirm,
                    pending,
                },
            )
            .button(
                "Cancel",
                ButtonStyle::Secondary,
                ButtonId {
                    action: ButtonAction::Cancel,
                    pending,
                },
            )
            .with_request_id(pending.request_id())
            .with_progress(Progress {
                done: 1,
                total: 4,
                failed: 1,
                unknown: 0,
            });
        let text = reply.to_plain_text();
        let expected_order = [
            "! Please confirm",
            "reset mail for user jane.doe",
            "Targets: 1",
            "User      Action",
            "jane.doe  reset mail",
            "[Confirm] [Cancel]",
            "progress: 1/4 done, 1 failed",
            &format!("request {}", pending.request_id()),
        ];
        let mut at = 0;
        for want in expected_order {
            let found = text[at..]
                .find(want)
                .unwrap_or_else(|| panic!("{want:?} missing or out of order in\n{text}"));
            at += found + want.len();
        }
        // The button ids (which carry the pending id) are not printed, only their labels.
        assert!(!text.contains(&pending.to_string()), "{text}");
        assert_eq!(reply.visibility, Visibility::Ephemeral);
        assert_eq!(reply.clone().in_channel().visibility, Visibility::Channel);
    }

    #[test]
    fn tables_are_bounded_for_chat() {
        let rows = (0..100).map(|i| vec![format!("user.{i:03}"), "x".repeat(500)]);
        let table = Table::bounded(["User", "Note"], rows);
        assert_eq!(table.rows.len(), Table::MAX_ROWS);
        assert_eq!(table.omitted, 75);
        let text = table.to_plain_text();
        assert!(text.contains("user.024"), "{text}");
        assert!(!text.contains("user.025"), "{text}");
        assert!(text.trim_end().ends_with("… and 75 more"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() < 120, "{line}");
        }
    }

    #[test]
    fn cells_cannot_break_lines() {
        let table = Table::bounded(["User"], [vec!["evil\nname\r\u{7}".to_owned()]]);
        assert_eq!(table.to_plain_text().lines().count(), 3);
    }
}
