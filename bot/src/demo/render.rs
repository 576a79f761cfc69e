//! How the console shows things: replies with numbered buttons, the progress bar, audit lines,
//! and the register of every button shown.

use std::fmt::Write as _;

use passdesk_commands::audit::AuditRecord;
use passdesk_commands::ids::{ButtonId, PendingId};
use passdesk_commands::reply::Progress;
use passdesk_commands::{Button, Reply};

/// The width of the progress bar, in cells.
const BAR_WIDTH: usize = 24;

/// A button the console has shown: its number, and what pressing it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ShownButton {
    /// The session-unique number typed to press it.
    pub number: u64,
    /// The label.
    pub label: String,
    /// What it does, on which request.
    pub id: ButtonId,
    /// The message it was shown on.
    pub message: u64,
    /// Where the message was shown (`to you`, `in #approvals`, `to helpdesk`).
    pub place: String,
    /// Whether the message still stands (not replaced, its request not ended).
    pub live: bool,
}

/// Every button shown in this session, numbered from 1 in order of appearance.
#[derive(Debug, Default)]
pub(super) struct Buttons {
    shown: Vec<ShownButton>,
    messages: u64,
}

impl Buttons {
    /// Registers the buttons of a new message shown at `place`: the message's id and the new
    /// numbers, in the buttons' order.
    pub fn show(&mut self, buttons: &[Button], place: &str) -> (u64, Vec<u64>) {
        self.messages += 1;
        let message = self.messages;
        let mut numbers = Vec::with_capacity(buttons.len());
        for button in buttons {
            let number = self.shown.len() as u64 + 1;
            self.shown.push(ShownButton {
                number,
                label: button.label.clone(),
                id: button.id,
                message,
                place: place.to_owned(),
                live: true,
            });
            numbers.push(number);
        }
        (message, numbers)
    }

    /// The button numbered `number`, live or not: pressing an old button is the engine's to
    /// refuse, visibly.
    pub fn get(&self, number: u64) -> Option<&ShownButton> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.shown.get(index)
    }

    /// The message was replaced (its button was pressed and the reply updates it).
    pub fn retire_message(&mut self, message: u64) {
        for button in self.shown.iter_mut().filter(|b| b.message == message) {
            button.live = false;
        }
    }

    /// The request ended (ran, was denied or expired): none of its buttons does anything now.
    pub fn retire_request(&mut self, pending: PendingId) {
        for button in self.shown.iter_mut().filter(|b| b.id.pending == pending) {
            button.live = false;
        }
    }

    /// The buttons of messages that still stand, oldest first.
    pub fn live(&self) -> impl Iterator<Item = &ShownButton> {
        self.shown.iter().filter(|b| b.live)
    }
}

/// `[3] Confirm   [4] Cancel`.
pub(super) fn button_line(buttons: &[Button], numbers: &[u64]) -> String {
    buttons
        .iter()
        .zip(numbers)
        .map(|(button, number)| format!("[{number}] {}", button.label))
        .collect::<Vec<_>>()
        .join("   ")
}

/// A reply as text ([`Reply::to_plain_text`]) with its buttons as numbered choices on the last
/// line instead of bare labels.
pub(super) fn reply_text(reply: &Reply, numbers: &[u64]) -> String {
    let mut bare = reply.clone();
    bare.buttons.clear();
    let mut text = bare.to_plain_text();
    if !reply.buttons.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let _ = writeln!(text, "{}", button_line(&reply.buttons, numbers));
    }
    text
}

/// `progress [##########--------------] 10/24 done`.
pub(super) fn progress_bar(progress: &Progress) -> String {
    // An empty job is complete.
    let filled = (progress.done.min(progress.total) * BAR_WIDTH)
        .checked_div(progress.total)
        .unwrap_or(BAR_WIDTH);
    format!(
        "progress [{}{}] {progress}",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled)
    )
}

/// Whether a progress report is the last of its job.
pub(super) fn is_final(progress: &Progress) -> bool {
    progress.done >= progress.total
}

/// `audit #3 requested · reset · request 1a2b3c4d · by helpdesk (console helpdesk) · …`.
pub(super) fn audit_line(record: &AuditRecord) -> String {
    format!("audit #{} {}", record.seq(), record.event().summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_commands::ButtonStyle;
    use passdesk_commands::ids::ButtonAction;

    fn confirm_cancel(pending: PendingId) -> Reply {
        Reply::warning("Please confirm", "reset mail for user jcuser.one")
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
    }

    #[test]
    fn buttons_are_numbered_across_the_session_and_shown_last() {
        let mut buttons = Buttons::default();
        let first = PendingId::random();
        let second = PendingId::random();
        let one = confirm_cancel(first);
        let two = confirm_cancel(second);
        let (m1, n1) = buttons.show(&one.buttons, "to you");
        let (m2, n2) = buttons.show(&two.buttons, "in #approvals");
        assert_eq!((n1.as_slice(), n2.as_slice()), (&[1, 2][..], &[3, 4][..]));
        assert_ne!(m1, m2);

        let text = reply_text(&two, &n2);
        let last = text.lines().last().unwrap();
        assert_eq!(last, "[3] Confirm   [4] Cancel");
        assert!(!text.contains("[Confirm]"), "{text}");
        assert!(text.starts_with("! Please confirm\n"), "{text}");
        assert!(
            text.contains(&format!("request {}", second.request_id())),
            "{text}"
        );
        // The pending id (the unguessable part of a button id) is never printed.
        assert!(!text.contains(&second.to_string()), "{text}");

        assert_eq!(buttons.get(3).map(|b| b.id.pending), Some(second));
        assert_eq!(
            buttons.get(3).map(|b| b.id.action),
            Some(ButtonAction::Confirm)
        );
        assert!(buttons.get(0).is_none() && buttons.get(5).is_none());
    }

    #[test]
    fn replaced_messages_and_ended_requests_leave_the_live_list_but_stay_pressable() {
        let mut buttons = Buttons::default();
        let first = PendingId::random();
        let second = PendingId::random();
        let (m1, _) = buttons.show(&confirm_cancel(first).buttons, "to you");
        buttons.show(&confirm_cancel(second).buttons, "to you");
        buttons.retire_message(m1);
        let live: Vec<u64> = buttons.live().map(|b| b.number).collect();
        assert_eq!(live, [3, 4]);
        buttons.retire_request(second);
        assert_eq!(buttons.live().count(), 0);
        assert!(buttons.get(1).is_some(), "an old number still resolves");
    }

    #[test]
    fn the_progress_bar_fills_with_the_work_done() {
        let bar = |done, total, failed| {
            progress_bar(&Progress {
                done,
                total,
                failed,
                unknown: 0,
            })
        };
        assert_eq!(
            bar(0, 24, 0),
            "progress [------------------------] 0/24 done"
        );
        assert_eq!(
            bar(12, 24, 1),
            "progress [############------------] 12/24 done, 1 failed"
        );
        assert_eq!(
            bar(24, 24, 0),
            "progress [########################] 24/24 done"
        );
        assert_eq!(bar(0, 0, 0), "progress [########################] 0/0 done");
        assert!(is_final(&Progress {
            done: 3,
            total: 3,
            failed: 0,
            unknown: 0
        }));
    }
}
