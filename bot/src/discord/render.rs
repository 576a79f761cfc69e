//! From the engine's platform-neutral [`Reply`] to what Discord shows: one embed (title,
//! description, fields, the table as a code block, a text progress bar, the request id in the
//! footer) and rows of buttons, within Discord's limits.
//!
//! Every text is cut by characters (never inside a UTF-8 sequence) with a trailing `…`, so a
//! long plan or report never makes Discord refuse the message (`50035 Invalid Form Body`).
//! Mentions never ping: every message carries an empty `allowed_mentions`.

use passdesk_commands::ids::{ButtonAction, ButtonId, PendingId, RequestId};
use passdesk_commands::reply::Progress;
use passdesk_commands::{Button, ButtonStyle, Reply, Table, Tone, Visibility};
use serenity::all::{
    ButtonStyle as DiscordButtonStyle, Colour, CreateActionRow, CreateAllowedMentions,
    CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateModal, EditInteractionResponse, EditMessage, InputTextStyle,
};

/// Discord's limit on an embed title, in characters.
pub const TITLE_MAX: usize = 256;
/// Discord's limit on an embed description, in characters.
pub const DESCRIPTION_MAX: usize = 4096;
/// Discord's limit on the number of fields of an embed.
pub const FIELDS_MAX: usize = 25;
/// Discord's limit on a field name, in characters.
pub const FIELD_NAME_MAX: usize = 256;
/// Discord's limit on a field value, in characters.
pub const FIELD_VALUE_MAX: usize = 1024;
/// Discord's limit on the characters of all embeds of a message together.
pub const EMBED_TOTAL_MAX: usize = 6000;
/// Discord's limit on a footer, in characters.
pub const FOOTER_MAX: usize = 2048;
/// Discord's limit on buttons per action row.
pub const BUTTONS_PER_ROW: usize = 5;
/// Discord's limit on action rows per message.
pub const ROWS_MAX: usize = 5;
/// Discord's limit on a button label, in characters.
pub const LABEL_MAX: usize = 80;
/// Discord's limit on a `custom_id`, in characters.
pub const CUSTOM_ID_MAX: usize = 100;
/// Discord's limit on a modal title, in characters.
pub const MODAL_TITLE_MAX: usize = 45;

/// The `custom_id` of the password text input in the notification modal.
pub const PASSWORD_INPUT_ID: &str = "password";
/// The longest password the modal accepts.
pub const PASSWORD_MAX_LEN: u16 = 256;

/// The cells of the text progress bar.
const BAR_CELLS: usize = 20;

/// `text` cut to at most `max` characters; a cut text ends with `…`. Never splits a character.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The embed colour of a tone.
fn colour(tone: Tone) -> Colour {
    match tone {
        Tone::Info => Colour::new(0x5865F2),
        Tone::Success => Colour::new(0x57F287),
        Tone::Warning => Colour::new(0xFEE75C),
        Tone::Error => Colour::new(0xED4245),
    }
}

/// A progress bar as text: `[██████░░░░░░░░░░░░░░] 30% · 3/10 done, 1 failed`.
pub fn progress_bar(progress: &Progress) -> String {
    let (filled, percent) = if progress.total == 0 {
        (BAR_CELLS, 100)
    } else {
        let done = progress.done.min(progress.total);
        (
            done * BAR_CELLS / progress.total,
            done * 100 / progress.total,
        )
    };
    let bar: String = std::iter::repeat_n('█', filled)
        .chain(std::iter::repeat_n('░', BAR_CELLS - filled))
        .collect();
    format!("`[{bar}]` {percent}% · {progress}")
}

/// The table as a code block of at most `budget` characters (fences included): whole lines
/// only, with a last line counting those left out. Backticks in cells cannot close the block.
fn table_block(table: &Table, budget: usize) -> Option<String> {
    const OPEN: &str = "```\n";
    const CLOSE: &str = "```";
    let text = table.to_plain_text().replace('`', "ˋ");
    let lines: Vec<&str> = text.lines().collect();
    let fixed = OPEN.chars().count() + CLOSE.chars().count();
    if budget <= fixed + 20 {
        return None;
    }
    let mut body = String::new();
    let mut used = fixed;
    for (i, line) in lines.iter().enumerate() {
        let line = truncate(line, 120);
        let len = line.chars().count() + 1;
        // Keep room for the "… N more lines" marker unless this is the last line.
        let left = lines.len() - i - 1;
        let marker = if left > 0 { 24 } else { 0 };
        if used + len + marker > budget {
            let omitted = lines.len() - i;
            body.push_str(&format!("… {omitted} more lines\n"));
            break;
        }
        body.push_str(&line);
        body.push('\n');
        used += len;
    }
    Some(format!("{OPEN}{body}{CLOSE}"))
}

/// The embed description: the body, the table as a code block, then the progress bar, within
/// [`DESCRIPTION_MAX`]; the body gives way to the table and the bar.
fn description(reply: &Reply) -> Option<String> {
    let bar = reply.progress.as_ref().map(progress_bar);
    let reserved = bar.as_ref().map_or(0, |b| b.chars().count() + 2);
    let table_len = reply
        .table
        .as_ref()
        .map_or(0, |t| t.to_plain_text().chars().count() + 10);
    let table_share = table_len.min(DESCRIPTION_MAX / 2);
    let body_budget = DESCRIPTION_MAX.saturating_sub(reserved + table_share + 2);
    let body = truncate(reply.body.trim_end(), body_budget);
    let mut out = body;
    if let Some(table) = &reply.table {
        let used = out.chars().count() + 2 + reserved;
        if let Some(block) = table_block(table, DESCRIPTION_MAX.saturating_sub(used)) {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&block);
        }
    }
    if let Some(bar) = bar {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&bar);
    }
    let out = truncate(&out, DESCRIPTION_MAX);
    (!out.trim().is_empty()).then_some(out)
}

/// The reply as one embed within Discord's limits (each text and the 6,000-character total).
pub fn embed(reply: &Reply) -> CreateEmbed {
    let title = truncate(
        if reply.title.trim().is_empty() {
            "Passdesk"
        } else {
            reply.title.trim()
        },
        TITLE_MAX,
    );
    let footer = reply
        .request_id
        .map(|id| truncate(&format!("request {id}"), FOOTER_MAX));
    let description = description(reply);
    let mut total = title.chars().count()
        + footer.as_ref().map_or(0, |f| f.chars().count())
        + description.as_ref().map_or(0, |d| d.chars().count());
    let mut embed = CreateEmbed::new().title(title).colour(colour(reply.tone));
    if let Some(description) = description {
        embed = embed.description(description);
    }
    for field in reply.fields.iter().take(FIELDS_MAX) {
        let name = truncate(non_empty(&field.name), FIELD_NAME_MAX);
        let room = EMBED_TOTAL_MAX.saturating_sub(total + name.chars().count());
        if room < 2 {
            break;
        }
        let value = truncate(non_empty(&field.value), FIELD_VALUE_MAX.min(room));
        total += name.chars().count() + value.chars().count();
        embed = embed.field(name, value, field_inline(&field.value));
    }
    if let Some(footer) = footer {
        embed = embed.footer(CreateEmbedFooter::new(footer));
    }
    embed
}

/// Short values sit side by side.
fn field_inline(value: &str) -> bool {
    value.chars().count() <= 40 && !value.contains('\n')
}

/// Discord refuses empty field names and values.
fn non_empty(text: &str) -> &str {
    if text.trim().is_empty() { "—" } else { text }
}

fn style(style: ButtonStyle) -> DiscordButtonStyle {
    match style {
        ButtonStyle::Primary => DiscordButtonStyle::Primary,
        ButtonStyle::Danger => DiscordButtonStyle::Danger,
        ButtonStyle::Secondary => DiscordButtonStyle::Secondary,
    }
}

fn button(button: &Button) -> Option<CreateButton> {
    let custom_id = button.id.to_string();
    if custom_id.chars().count() > CUSTOM_ID_MAX {
        // Cutting an id would make a button that acts on nothing: leave it out.
        tracing::warn!("a button id longer than Discord allows was left out");
        return None;
    }
    Some(
        CreateButton::new(custom_id)
            .label(truncate(non_empty(&button.label), LABEL_MAX))
            .style(style(button.style)),
    )
}

/// The reply's buttons, five to a row, at most five rows (an empty list removes a message's
/// buttons when editing).
pub fn components(reply: &Reply) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = reply.buttons.iter().filter_map(button).collect();
    if buttons.len() > BUTTONS_PER_ROW * ROWS_MAX {
        tracing::warn!(
            buttons = buttons.len(),
            "more buttons than a Discord message holds; the last ones were left out"
        );
    }
    buttons
        .chunks(BUTTONS_PER_ROW)
        .take(ROWS_MAX)
        .map(|row| CreateActionRow::Buttons(row.to_vec()))
        .collect()
}

/// The reply as a new interaction message (callback type 4): ephemeral unless the reply is
/// for the whole channel.
pub fn message(reply: &Reply) -> CreateInteractionResponseMessage {
    let message = CreateInteractionResponseMessage::new()
        .embed(embed(reply))
        .components(components(reply))
        .allowed_mentions(CreateAllowedMentions::new());
    if reply.visibility == Visibility::Ephemeral {
        message.ephemeral(true)
    } else {
        message
    }
}

/// The reply replacing the message a button was on (callback type 7): its buttons replace the
/// old ones (none: the old ones are removed).
pub fn update(reply: &Reply) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .embed(embed(reply))
        .components(components(reply))
        .allowed_mentions(CreateAllowedMentions::new())
}

/// The reply as an edit of an interaction's original message.
pub fn edit(reply: &Reply) -> EditInteractionResponse {
    EditInteractionResponse::new()
        .embed(embed(reply))
        .components(components(reply))
        .allowed_mentions(CreateAllowedMentions::new())
}

/// The reply as a follow-up message (ephemeral unless for the whole channel).
pub fn followup(reply: &Reply) -> CreateInteractionResponseFollowup {
    let message = CreateInteractionResponseFollowup::new()
        .embed(embed(reply))
        .components(components(reply))
        .allowed_mentions(CreateAllowedMentions::new());
    if reply.visibility == Visibility::Ephemeral {
        message.ephemeral(true)
    } else {
        message
    }
}

/// The reply as a channel message posted with the bot token (the approvals channel).
pub fn channel_message(reply: &Reply) -> CreateMessage {
    CreateMessage::new()
        .embed(embed(reply))
        .components(components(reply))
        .allowed_mentions(CreateAllowedMentions::new())
}

/// The reply as an edit of a channel message posted with the bot token.
pub fn channel_edit(reply: &Reply) -> EditMessage {
    EditMessage::new()
        .embed(embed(reply))
        .components(components(reply))
        .allowed_mentions(CreateAllowedMentions::new())
}

/// What a running request's message shows while a bulk job works: no buttons (nothing to press
/// until it ends), the progress bar.
pub fn progress_reply(request_id: RequestId, progress: Progress) -> Reply {
    Reply::info(
        "Running",
        "Working through the targets; this message shows the report when it ends.",
    )
    .with_progress(progress)
    .with_request_id(request_id)
}

/// The private password prompt of a notification (callback type 9): its custom id carries only
/// the pending action id (`pd:password:<pending>`), and its one short text input is required
/// and at most [`PASSWORD_MAX_LEN`] characters.
pub fn password_modal(pending: PendingId) -> CreateModal {
    let id = ButtonId {
        action: ButtonAction::EnterPassword,
        pending,
    };
    CreateModal::new(
        id.to_string(),
        truncate("Password for the notification", MODAL_TITLE_MAX),
    )
    .components(vec![CreateActionRow::InputText(
        CreateInputText::new(InputTextStyle::Short, "Password", PASSWORD_INPUT_ID)
            .required(true)
            .min_length(1)
            .max_length(PASSWORD_MAX_LEN),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_commands::Field;
    use serde_json::{Value, json};

    fn json<T: serde::Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap()
    }

    fn chars(value: &Value) -> usize {
        value.as_str().map_or(0, |s| s.chars().count())
    }

    fn id(action: ButtonAction, pending: PendingId) -> ButtonId {
        ButtonId { action, pending }
    }

    /// Sums what Discord counts towards the 6,000-character limit.
    fn embed_total(embed: &Value) -> usize {
        let mut total = chars(&embed["title"]) + chars(&embed["description"]);
        total += chars(&embed["footer"]["text"]);
        for field in embed["fields"].as_array().into_iter().flatten() {
            total += chars(&field["name"]) + chars(&field["value"]);
        }
        total
    }

    #[test]
    fn truncation_counts_characters_and_never_splits_one() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly", 7), "exactly");
        assert_eq!(truncate("abcdef", 4), "abc…");
        // Multi-byte characters: cut between characters, not bytes.
        let cut = truncate("éééééé", 3);
        assert_eq!(cut, "éé…");
        assert_eq!(cut.chars().count(), 3);
        let emoji = truncate(&"🔐".repeat(10), 5);
        assert_eq!(emoji.chars().count(), 5);
        assert!(emoji.starts_with("🔐🔐🔐🔐"));
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn a_confirmation_is_an_ephemeral_embed_with_styled_buttons_carrying_only_the_pending_id() {
        let pending = PendingId::random();
        let reply = Reply::warning("Please confirm", "Expire the password of jane.doe")
            .field("Targets", "1")
            .button(
                "Confirm",
                ButtonStyle::Danger,
                id(ButtonAction::Confirm, pending),
            )
            .button(
                "Cancel",
                ButtonStyle::Secondary,
                id(ButtonAction::Cancel, pending),
            )
            .with_request_id(pending.request_id());
        let data = json(&message(&reply));
        assert_eq!(data["flags"], 64, "ephemeral: {data}");
        assert_eq!(data["allowed_mentions"]["parse"], json!([]));
        let embed = &data["embeds"][0];
        assert_eq!(embed["title"], "Please confirm");
        assert_eq!(embed["description"], "Expire the password of jane.doe");
        assert_eq!(embed["fields"][0]["name"], "Targets");
        assert_eq!(
            embed["footer"]["text"],
            format!("request {}", pending.request_id())
        );
        let buttons = data["components"][0]["components"].as_array().unwrap();
        assert_eq!(buttons.len(), 2);
        assert_eq!(buttons[0]["style"], 4, "danger");
        assert_eq!(buttons[0]["label"], "Confirm");
        assert_eq!(buttons[0]["custom_id"], format!("pd:confirm:{pending}"));
        assert_eq!(buttons[1]["style"], 2, "secondary");
        assert_eq!(buttons[1]["custom_id"], format!("pd:cancel:{pending}"));
        for button in buttons {
            assert!(chars(&button["custom_id"]) <= CUSTOM_ID_MAX);
        }
    }

    #[test]
    fn a_channel_reply_is_not_ephemeral_and_an_update_removes_old_buttons() {
        let reply = Reply::info("Approval needed", "x").in_channel();
        assert!(json(&message(&reply)).get("flags").is_none());
        let update = json(&update(&Reply::success("Done", "sent")));
        assert_eq!(update["components"], json!([]), "{update}");
        let edit = json(&edit(&Reply::success("Done", "sent")));
        assert_eq!(edit["components"], json!([]), "{edit}");
        assert_eq!(edit["embeds"][0]["title"], "Done");
    }

    #[test]
    fn huge_replies_stay_within_every_embed_limit() {
        let long = "x".repeat(10_000);
        let rows = (0..200).map(|i| vec![format!("user.{i:04}"), "é".repeat(90), "sent".into()]);
        let mut reply = Reply::warning("T".repeat(400), format!("{long}\n{long}"))
            .with_table(Table::bounded(["User", "Note", "Outcome"], rows))
            .with_progress(Progress {
                done: 5,
                total: 10,
                failed: 1,
                unknown: 0,
            })
            .with_request_id(PendingId::random().request_id());
        for i in 0..40 {
            reply.fields.push(Field {
                name: format!("{i}{}", "n".repeat(300)),
                value: "v".repeat(2_000),
            });
        }
        let embed = json(&embed(&reply));
        assert!(chars(&embed["title"]) <= TITLE_MAX);
        assert!(chars(&embed["description"]) <= DESCRIPTION_MAX);
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.len() <= FIELDS_MAX);
        for field in fields {
            assert!(chars(&field["name"]) <= FIELD_NAME_MAX);
            assert!(chars(&field["value"]) <= FIELD_VALUE_MAX);
        }
        assert!(
            embed_total(&embed) <= EMBED_TOTAL_MAX,
            "{}",
            embed_total(&embed)
        );
        let description = embed["description"].as_str().unwrap();
        // The table stays a closed code block and the progress bar is still shown.
        assert_eq!(description.matches("```").count(), 2, "{description}");
        assert!(description.contains("more lines"), "{description}");
        assert!(description.contains("5/10 done, 1 failed"), "{description}");
    }

    #[test]
    fn backticks_in_cells_cannot_break_out_of_the_table() {
        let reply = Reply::info("Plan", "").with_table(Table::bounded(
            ["User"],
            [vec!["evil```**bold**".to_owned()]],
        ));
        let embed = json(&embed(&reply));
        let description = embed["description"].as_str().unwrap();
        assert_eq!(description.matches("```").count(), 2, "{description}");
        assert!(description.contains("evil"), "{description}");
    }

    #[test]
    fn buttons_are_five_to_a_row_and_at_most_five_rows() {
        let pending = PendingId::random();
        let mut reply = Reply::info("Many", "buttons");
        for i in 0..30 {
            reply = reply.button(
                format!("{i} {}", "L".repeat(100)),
                ButtonStyle::Primary,
                id(ButtonAction::Approve, pending),
            );
        }
        let rows = json(&components(&reply));
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), ROWS_MAX);
        for row in rows {
            let buttons = row["components"].as_array().unwrap();
            assert_eq!(buttons.len(), BUTTONS_PER_ROW);
            for button in buttons {
                assert!(chars(&button["label"]) <= LABEL_MAX);
            }
        }
    }

    #[test]
    fn the_progress_bar_shows_how_far_a_job_is() {
        let bar = progress_bar(&Progress {
            done: 50,
            total: 200,
            failed: 2,
            unknown: 1,
        });
        assert!(bar.contains("25%"), "{bar}");
        assert!(bar.contains("50/200 done, 2 failed, 1 unknown"), "{bar}");
        assert_eq!(bar.matches('█').count(), 5, "{bar}");
        assert_eq!(bar.matches('░').count(), 15, "{bar}");
        let empty = progress_bar(&Progress::default());
        assert!(empty.contains("100%"), "{empty}");
        let reply = json(&embed(&progress_reply(
            PendingId::random().request_id(),
            Progress {
                done: 1,
                total: 4,
                failed: 0,
                unknown: 0,
            },
        )));
        assert!(reply["description"].as_str().unwrap().contains("1/4 done"));
    }

    #[test]
    fn the_password_modal_carries_only_the_pending_id_and_one_bounded_required_input() {
        let pending = PendingId::random();
        let modal = json(&password_modal(pending));
        assert_eq!(modal["custom_id"], format!("pd:password:{pending}"));
        assert!(chars(&modal["title"]) <= MODAL_TITLE_MAX);
        let rows = modal["components"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        let inputs = rows[0]["components"].as_array().unwrap();
        assert_eq!(inputs.len(), 1);
        let input = &inputs[0];
        assert_eq!(input["type"], 4);
        assert_eq!(input["custom_id"], PASSWORD_INPUT_ID);
        assert_eq!(input["label"], "Password");
        assert_eq!(input["style"], 1, "short");
        assert_eq!(input["required"], true);
        assert_eq!(input["max_length"], 256);
        assert!(input.get("value").is_none(), "never prefilled: {input}");
    }
}
