//! What the parity commands print on stdout: the vendors' cmdlet output, built from the
//! engine's plan and report (never from reply text).
//!
//! - `jumpcloud send-password-reset`: one row per user with `Send-JCPasswordReset`'s
//!   properties — `UserID` (by id), `Username` (by username), both for a group or the users
//!   not activated — and `ResetEmail`: `Sent`, or `Error: <reason>` (`Skipped: <reason>` for a
//!   user Passdesk deliberately left out, `Unknown: <reason>` when the outcome is uncertain).
//! - `jumpcloud expire-password`: `True` (JSON `true`), as the cmdlet's `-PassThru`.
//! - `identity-manager send-password-notification`: `Recipient`, `Cc`, `Notification`.
//! - `--what-if`: the plan, one row per target (`WhatIf` says what would happen).
//!
//! Tables look like PowerShell's default table output: a header line, a line of dashes under
//! each header, one space between columns. JSON is an array of objects with the same property
//! names, in the same order.

use std::io::{self, Write};

use passdesk_commands::engine::TargetReport;
use passdesk_commands::plan::{Plan, PlannedAction, PlannedTarget, SkipReason, TargetOutcome};
use passdesk_commands::reply::Field;
use passdesk_core::jumpcloud::UserId;
use passdesk_core::mail::Delivery;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::cli::OutputFormat;

/// Which vendor command's output to mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `Send-JCPasswordReset -UserID`: `UserID`, `ResetEmail`.
    ResetById,
    /// `Send-JCPasswordReset -username`: `Username`, `ResetEmail`.
    ResetByUsername,
    /// A group's members or the users not activated: `Username`, `UserID`, `ResetEmail`.
    ResetBulk,
    /// `Invoke-JcSdkExpireSystemUserPassword -PassThru`: `True`.
    Expire,
    /// `Usercube-Send-PasswordNotification`: `Recipient`, `Cc`, `Notification`.
    Notify,
}

/// What happened to one target, as the command line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Done: the mail was sent (or written to the pickup directory), the password expired.
    Done,
    /// Deliberately left out by the plan (suspended, protected, …): not a failure.
    Skipped(String),
    /// Not done.
    Failed(String),
    /// It may or may not have been done: check before trying again.
    Unknown(String),
}

impl Status {
    /// The status of a target's outcome after a run.
    pub fn of_outcome(outcome: &TargetOutcome) -> Self {
        match outcome {
            TargetOutcome::SentActivation
            | TargetOutcome::SentReset
            | TargetOutcome::Expired
            | TargetOutcome::Notified {
                delivery: Delivery::Sent { .. } | Delivery::WrittenToPickup { .. },
            } => Status::Done,
            // The mail settings say `Enabled = false`: nothing was sent, which is not what was
            // asked for.
            TargetOutcome::Notified { delivery } => Status::Failed(delivery.to_string()),
            TargetOutcome::Skipped(SkipReason::NotStarted) => {
                Status::Failed(SkipReason::NotStarted.to_string())
            }
            TargetOutcome::Skipped(reason) => Status::Skipped(reason.to_string()),
            TargetOutcome::Failed { message } => Status::Failed(message.clone()),
            TargetOutcome::Unknown { message } => Status::Unknown(message.clone()),
            // A future outcome: say what it is, and do not count it as done.
            other => Status::Unknown(other.to_string()),
        }
    }

    /// The status of a target the plan leaves out (`None` when it would be acted on).
    pub fn of_planned(target: &PlannedTarget) -> Option<Self> {
        match &target.action {
            PlannedAction::Skip(reason) => Some(Status::Skipped(reason.to_string())),
            _ => None,
        }
    }

    /// Whether this target keeps the exit code at 0: done, or deliberately skipped.
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Done | Status::Skipped(_))
    }

    /// The cell: `done` (`Sent`) or `Error: …`, `Skipped: …`, `Unknown: …`.
    fn cell(&self, done: &str) -> String {
        match self {
            Status::Done => done.to_owned(),
            Status::Skipped(why) => format!("Skipped: {why}"),
            Status::Failed(why) => format!("Error: {why}"),
            Status::Unknown(why) => format!("Unknown: {why}"),
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// Several values (a list of addresses); `{a, b}` in a table, as PowerShell shows arrays.
    List(Vec<String>),
    /// Nothing known (`null` in JSON, empty in a table).
    Null,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::List(items) => format!("{{{}}}", items.join(", ")),
            Cell::Null => String::new(),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Text(text) => serializer.serialize_str(text),
            Cell::List(items) => items.serialize(serializer),
            Cell::Null => serializer.serialize_none(),
        }
    }
}

/// Rows with named columns: a PowerShell-like table, or a JSON array of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// The property names, in order.
    pub columns: Vec<&'static str>,
    /// One row per target, one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// One row as a JSON object whose keys keep the column order.
struct JsonRow<'a> {
    columns: &'a [&'static str],
    cells: &'a [Cell],
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for (column, cell) in self.columns.iter().zip(self.cells) {
            map.serialize_entry(column, cell)?;
        }
        map.end()
    }
}

impl Rows {
    /// The rows as PowerShell prints a table: headers, dashes under each header, one space
    /// between columns, the last column not padded.
    pub fn to_table(&self) -> String {
        let texts: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(|cell| one_line(&cell.text())).collect())
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &texts {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = String>| {
            let mut out = String::new();
            for (i, (cell, width)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&cell);
                out.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
            out
        };
        let mut out = line(&mut self.columns.iter().map(|c| (*c).to_owned()));
        out.push_str(&line(
            &mut self.columns.iter().map(|c| "-".repeat(c.chars().count())),
        ));
        for row in texts {
            out.push_str(&line(&mut row.into_iter()));
        }
        out
    }

    /// The rows as a JSON array of objects (pretty-printed, one property per line).
    pub fn to_json(&self) -> String {
        let rows: Vec<JsonRow<'_>> = self
            .rows
            .iter()
            .map(|cells| JsonRow {
                columns: &self.columns,
                cells,
            })
            .collect();
        // Serialising strings, lists and nulls into a String cannot fail.
        serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Writes the rows in `format`.
    pub fn write(&self, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Table => out.write_all(self.to_table().as_bytes()),
            OutputFormat::Json => writeln!(out, "{}", self.to_json()),
        }
    }
}

/// A cell on one line (names and messages are single-line already; this is a safeguard).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether a target that resolved to nobody was asked for by id (its label is the id).
fn asked_by_id(target: &PlannedTarget) -> bool {
    target.label.parse::<UserId>().is_ok()
}

/// The username of a target: the JumpCloud user's, or what was asked when nobody was found.
fn username(target: &PlannedTarget) -> Cell {
    match &target.user {
        Some(user) => Cell::Text(user.username.clone()),
        None if asked_by_id(target) => Cell::Null,
        None => Cell::Text(target.label.clone()),
    }
}

/// The user id of a target: the JumpCloud user's, or what was asked when nobody was found.
fn user_id(target: &PlannedTarget) -> Cell {
    match &target.user {
        Some(user) => Cell::Text(user.id.to_string()),
        None if asked_by_id(target) => Cell::Text(target.label.clone()),
        None => Cell::Null,
    }
}

/// The addresses copied on a notification: as delivered, else as planned.
fn copies(target: &PlannedTarget, outcome: Option<&TargetOutcome>) -> Vec<String> {
    let delivered = match outcome {
        Some(TargetOutcome::Notified {
            delivery:
                Delivery::Sent { cc, .. }
                | Delivery::WrittenToPickup { cc, .. }
                | Delivery::Disabled { cc, .. },
        }) => Some(cc),
        _ => None,
    };
    if let Some(cc) = delivered {
        return cc.iter().map(ToString::to_string).collect();
    }
    match &target.action {
        PlannedAction::Notify(notification) => match &notification.preview {
            Some(preview) => preview.cc.iter().map(ToString::to_string).collect(),
            None => notification
                .plan
                .cc
                .iter()
                .map(ToString::to_string)
                .collect(),
        },
        _ => Vec::new(),
    }
}

/// The cmdlet's rows for targets and their statuses (a run's report, or the skipped targets
/// of a plan with nothing to do). [`Shape::Expire`] prints [`write_passthru`] on success;
/// these rows (`Username`, `UserID`, `PassThru`) are for the other cases.
pub fn result_rows<'a>(
    shape: Shape,
    targets: impl IntoIterator<Item = (&'a PlannedTarget, Option<&'a TargetOutcome>, Status)>,
) -> Rows {
    let columns: Vec<&'static str> = match shape {
        Shape::ResetById => vec!["UserID", "ResetEmail"],
        Shape::ResetByUsername => vec!["Username", "ResetEmail"],
        Shape::ResetBulk => vec!["Username", "UserID", "ResetEmail"],
        Shape::Expire => vec!["Username", "UserID", "PassThru"],
        Shape::Notify => vec!["Recipient", "Cc", "Notification"],
    };
    let rows = targets
        .into_iter()
        .map(|(target, outcome, status)| match shape {
            Shape::ResetById => vec![user_id(target), Cell::Text(status.cell("Sent"))],
            Shape::ResetByUsername => {
                vec![username(target), Cell::Text(status.cell("Sent"))]
            }
            Shape::ResetBulk => vec![
                username(target),
                user_id(target),
                Cell::Text(status.cell("Sent")),
            ],
            Shape::Expire => vec![
                username(target),
                user_id(target),
                Cell::Text(status.cell("True")),
            ],
            Shape::Notify => vec![
                Cell::Text(target.label.clone()),
                Cell::List(copies(target, outcome)),
                Cell::Text(status.cell("Sent")),
            ],
        })
        .collect();
    Rows { columns, rows }
}

/// The rows of a run's report, and whether every target is done or deliberately skipped.
pub fn report_rows(shape: Shape, report: &[TargetReport]) -> (Rows, bool) {
    let statuses: Vec<Status> = report
        .iter()
        .map(|r| Status::of_outcome(&r.outcome))
        .collect();
    let ok = statuses.iter().all(Status::is_ok);
    let rows = result_rows(
        shape,
        report
            .iter()
            .zip(statuses)
            .map(|(r, status)| (&r.target, Some(&r.outcome), status)),
    );
    (rows, ok)
}

/// `--what-if`: one row per target of the plan, with what would happen.
pub fn what_if_rows(shape: Shape, plan: &Plan) -> Rows {
    match shape {
        Shape::Notify => Rows {
            columns: vec!["Recipient", "Cc", "WhatIf"],
            rows: plan
                .targets
                .iter()
                .map(|t| {
                    vec![
                        Cell::Text(t.label.clone()),
                        Cell::List(copies(t, None)),
                        Cell::Text(what_if(t)),
                    ]
                })
                .collect(),
        },
        _ => Rows {
            columns: vec!["Username", "UserID", "State", "WhatIf"],
            rows: plan
                .targets
                .iter()
                .map(|t| {
                    vec![
                        username(t),
                        user_id(t),
                        Cell::Text(t.state()),
                        Cell::Text(what_if(t)),
                    ]
                })
                .collect(),
        },
    }
}

/// What would happen to a target, with its notes: `activation mail`, `skipped: suspended`, ….
fn what_if(target: &PlannedTarget) -> String {
    let mut what = target.action.describe();
    for note in &target.notes {
        what.push_str("; ");
        what.push_str(note);
    }
    what
}

/// A plan (`--what-if`, or before the y/N question) as a table: `<heading>: <summary>`, who
/// was looked at, the plan's warnings and fields (for a notification: the mapping, who is
/// mailed, the copies), then the rows; as JSON, just the rows.
pub fn write_plan(
    heading: &str,
    shape: Shape,
    plan: &Plan,
    fields: &[Field],
    format: OutputFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows = what_if_rows(shape, plan);
    if format == OutputFormat::Json {
        return rows.write(format, out);
    }
    writeln!(out, "{heading}: {}", one_line(&plan.summary()))?;
    writeln!(out, "Targets: {}", one_line(&plan.scope))?;
    for warning in &plan.warnings {
        writeln!(out, "Warning: {}", one_line(warning))?;
    }
    for field in fields {
        writeln!(out, "{}: {}", field.name, one_line(&field.value))?;
    }
    writeln!(out)?;
    rows.write(format, out)
}

/// `expire-password`'s output on success: `True`, or JSON `true`.
pub fn write_passthru(format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        OutputFormat::Table => writeln!(out, "True"),
        OutputFormat::Json => writeln!(out, "true"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(columns: &[&'static str], rows: &[&[&str]]) -> Rows {
        Rows {
            columns: columns.to_vec(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| Cell::Text((*c).to_owned())).collect())
                .collect(),
        }
    }

    #[test]
    fn tables_look_like_powershell() {
        let table = rows(
            &["UserID", "ResetEmail"],
            &[
                &["5a1b2c3d4e5f6a7b8c9d0e01", "Sent"],
                &["5a1b2c3d4e5f6a7b8c9d0e02", "Error: not found"],
            ],
        )
        .to_table();
        assert_eq!(
            table,
            "UserID                   ResetEmail\n\
             ------                   ----------\n\
             5a1b2c3d4e5f6a7b8c9d0e01 Sent\n\
             5a1b2c3d4e5f6a7b8c9d0e02 Error: not found\n"
        );
    }

    #[test]
    fn json_keeps_the_property_order_and_types() {
        let mut notify = rows(&["Recipient", "Cc", "Notification"], &[]);
        notify.rows.push(vec![
            Cell::Text("grace.hopper@acme.example".to_owned()),
            Cell::List(vec!["admin@acme.admin".to_owned()]),
            Cell::Text("Sent".to_owned()),
        ]);
        let json = notify.to_json();
        let recipient = json.find("\"Recipient\"").unwrap();
        let cc = json.find("\"Cc\"").unwrap();
        let notification = json.find("\"Notification\"").unwrap();
        assert!(recipient < cc && cc < notification, "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value[0]["Cc"][0], "admin@acme.admin");
        assert_eq!(
            notify.to_table().lines().nth(2).unwrap(),
            "grace.hopper@acme.example {admin@acme.admin} Sent"
        );

        let unknown = Rows {
            columns: vec!["Username", "UserID"],
            rows: vec![vec![Cell::Text("ghost".to_owned()), Cell::Null]],
        };
        let value: serde_json::Value = serde_json::from_str(&unknown.to_json()).unwrap();
        assert!(value[0]["UserID"].is_null());
        assert_eq!(rows(&["A"], &[]).to_json(), "[]");
    }

    #[test]
    fn statuses_say_what_a_script_needs() {
        assert_eq!(
            Status::of_outcome(&TargetOutcome::SentActivation),
            Status::Done
        );
        assert_eq!(Status::of_outcome(&TargetOutcome::Expired), Status::Done);
        let failed = Status::of_outcome(&TargetOutcome::Failed {
            message: "jumpcloud refused the key".to_owned(),
        });
        assert!(!failed.is_ok());
        assert_eq!(failed.cell("Sent"), "Error: jumpcloud refused the key");
        let skipped = Status::of_outcome(&TargetOutcome::Skipped(SkipReason::Suspended));
        assert!(skipped.is_ok());
        assert_eq!(skipped.cell("Sent"), "Skipped: suspended");
        let stopped = Status::of_outcome(&TargetOutcome::Skipped(SkipReason::NotStarted));
        assert!(!stopped.is_ok(), "a target never started was not done");
        let unknown = Status::of_outcome(&TargetOutcome::Unknown {
            message: "timed out".to_owned(),
        });
        assert!(!unknown.is_ok());
        assert_eq!(unknown.cell("Sent"), "Unknown: timed out");
    }

    #[test]
    fn control_characters_cannot_break_a_row() {
        let table = rows(&["Username"], &[&["evil\nname"]]).to_table();
        assert_eq!(table.lines().count(), 3, "{table}");
    }
}
