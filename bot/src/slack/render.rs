//! From the engine's platform-neutral [`Reply`] to Block Kit, within Slack's limits (reference
//! §3.4): at most [`MAX_BLOCKS`] blocks, section texts of at most [`SECTION_TEXT_MAX`]
//! characters, button texts of at most [`BUTTON_TEXT_MAX`], `action_id`s and `value`s of at
//! most [`ACTION_ID_MAX`] / [`VALUE_MAX`].
//!
//! A message is a title section, the body (in as many sections as it needs, up to a bound),
//! the fields, the table as a code block, the progress bar, a context line with the request id,
//! and one `actions` block. A button's `action_id` is `pd:<action>` and its `value` the pending
//! action id — nothing else, never a target or a secret; a danger button carries Slack's own
//! `confirm` dialog. Text from people and the directory is escaped (`&`, `<`, `>`), so a name
//! like `<!here>` cannot ping a channel.
//!
//! Cutting reuses the Discord renderer's character-safe [`truncate`] and text [`progress_bar`].

use passdesk_commands::ids::{ButtonAction, ButtonId, PendingId};
use passdesk_commands::{Button, ButtonStyle, Reply, Tone, Visibility};
use serde_json::{Value, json};

pub use crate::discord::render::{progress_bar, truncate};

/// Slack's limit on blocks in a message.
pub const MAX_BLOCKS: usize = 50;
/// Slack's limit on a section's text, in characters.
pub const SECTION_TEXT_MAX: usize = 3000;
/// Slack's limit on one section field, in characters.
pub const FIELD_TEXT_MAX: usize = 2000;
/// Slack's limit on fields in one section.
pub const FIELDS_PER_SECTION: usize = 10;
/// Slack's limit on a button's text, in characters.
pub const BUTTON_TEXT_MAX: usize = 75;
/// Slack's limit on an `action_id` / `block_id`, in characters.
pub const ACTION_ID_MAX: usize = 255;
/// Passdesk's own bound on a button `value` (Slack allows 2000).
pub const VALUE_MAX: usize = 255;
/// Slack's limit on elements in an `actions` block.
pub const ACTIONS_MAX: usize = 25;
/// Slack's limits on a confirm dialog's title, text and button texts.
pub const CONFIRM_TITLE_MAX: usize = 100;
/// See [`CONFIRM_TITLE_MAX`].
pub const CONFIRM_TEXT_MAX: usize = 300;
/// See [`CONFIRM_TITLE_MAX`].
pub const CONFIRM_BUTTON_MAX: usize = 30;
/// Slack's limit on a modal's title and submit/close texts.
pub const MODAL_TITLE_MAX: usize = 24;
/// The most body sections of one message (the rest of a long body is cut).
const BODY_SECTIONS_MAX: usize = 3;
/// The fallback `text` (notifications, screen readers) is kept short.
const FALLBACK_MAX: usize = 300;

/// The modal's `callback_id`.
pub const PASSWORD_CALLBACK_ID: &str = "pd:password";
/// The password input's `block_id`.
pub const PASSWORD_BLOCK_ID: &str = "pd:pw";
/// The password input's `action_id`.
pub const PASSWORD_ACTION_ID: &str = "value";
/// The longest password the modal accepts.
pub const PASSWORD_MAX_LEN: u32 = 256;
/// The `block_id` of a message's buttons.
const ACTIONS_BLOCK_ID: &str = "pd:actions";

/// `&`, `<` and `>` as entities: mrkdwn control characters (reference §3.4).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes, then cuts to `max` characters without leaving half an entity.
fn escaped(text: &str, max: usize) -> String {
    let out = escape(text);
    if out.chars().count() <= max {
        return out;
    }
    let mut cut = truncate(&out, max);
    // Drop a partial `&…;` entity at the cut.
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') {
            cut.truncate(amp);
            cut.push('…');
        }
    }
    cut
}

fn icon(tone: Tone) -> &'static str {
    match tone {
        Tone::Info => ":information_source:",
        Tone::Success => ":white_check_mark:",
        Tone::Warning => ":warning:",
        Tone::Error => ":x:",
    }
}

fn mrkdwn(text: String) -> Value {
    json!({ "type": "mrkdwn", "text": text })
}

fn plain(text: &str, max: usize) -> Value {
    let text = if text.trim().is_empty() { "—" } else { text };
    json!({ "type": "plain_text", "text": truncate(text, max), "emoji": true })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": mrkdwn(text) })
}

/// `text` in chunks of at most `max` characters, cut at line ends where possible.
fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for line in text.lines() {
        let line_len = line.chars().count();
        if len + line_len + 1 > max && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            len = 0;
        }
        if line_len + 1 > max {
            out.push(truncate(line, max));
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
            len += 1;
        }
        current.push_str(line);
        len += line_len;
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// The fallback text: title and the start of the body, plain.
pub fn fallback_text(reply: &Reply) -> String {
    let title = if reply.title.trim().is_empty() {
        "Passdesk"
    } else {
        reply.title.trim()
    };
    let first = reply.body.lines().next().unwrap_or_default().trim();
    let text = if first.is_empty() {
        title.to_owned()
    } else {
        format!("{title}: {first}")
    };
    escaped(&text, FALLBACK_MAX)
}

/// The button's `action_id` (`pd:<action>`) and `value` (the pending id).
fn button_ids(id: &ButtonId) -> (String, String) {
    (format!("pd:{}", id.action.as_str()), id.pending.to_string())
}

fn confirm_dialog(button: &Button) -> Value {
    json!({
        "title": plain(&format!("{}?", button.label.trim()), CONFIRM_TITLE_MAX),
        "text": plain(
            "This acts on the targets shown in the plan and cannot be undone.",
            CONFIRM_TEXT_MAX,
        ),
        "confirm": plain(&button.label, CONFIRM_BUTTON_MAX),
        "deny": plain("Back", CONFIRM_BUTTON_MAX),
        "style": "danger",
    })
}

fn button(button: &Button) -> Option<Value> {
    let (action_id, value) = button_ids(&button.id);
    if action_id.chars().count() > ACTION_ID_MAX || value.chars().count() > VALUE_MAX {
        // A cut id would act on nothing: leave the button out.
        tracing::warn!("a button id longer than Slack allows was left out");
        return None;
    }
    let mut element = json!({
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": plain(&button.label, BUTTON_TEXT_MAX),
    });
    match button.style {
        ButtonStyle::Primary => element["style"] = json!("primary"),
        ButtonStyle::Danger => {
            element["style"] = json!("danger");
            element["confirm"] = confirm_dialog(button);
        }
        ButtonStyle::Secondary => {}
    }
    Some(element)
}

/// The `actions` block of the reply's buttons: one per action (`action_id`s are unique in a
/// block), at most [`ACTIONS_MAX`]; `None` without buttons.
fn actions(reply: &Reply) -> Option<Value> {
    let mut seen: Vec<ButtonAction> = Vec::new();
    let mut elements = Vec::new();
    let mut primary = false;
    for b in &reply.buttons {
        if seen.contains(&b.id.action) {
            tracing::warn!("a second button with the same action was left out");
            continue;
        }
        seen.push(b.id.action);
        if let Some(mut element) = button(b) {
            // Slack allows one primary button per set.
            if element["style"] == "primary" {
                if primary {
                    if let Some(map) = element.as_object_mut() {
                        map.remove("style");
                    }
                }
                primary = true;
            }
            elements.push(element);
        }
        if elements.len() == ACTIONS_MAX {
            break;
        }
    }
    (!elements.is_empty())
        .then(|| json!({ "type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements }))
}

/// The reply as Block Kit blocks, at most [`MAX_BLOCKS`].
pub fn blocks(reply: &Reply) -> Vec<Value> {
    let mut out = Vec::new();
    let title = if reply.title.trim().is_empty() {
        "Passdesk"
    } else {
        reply.title.trim()
    };
    out.push(section(format!(
        "{} *{}*",
        icon(reply.tone),
        escaped(title, 200)
    )));
    let body = escape(reply.body.trim_end());
    let mut body_chunks = chunks(&body, SECTION_TEXT_MAX);
    if body_chunks.len() > BODY_SECTIONS_MAX {
        body_chunks.truncate(BODY_SECTIONS_MAX);
        if let Some(last) = body_chunks.last_mut() {
            *last = truncate(&format!("{last}\n…"), SECTION_TEXT_MAX);
        }
    }
    out.extend(body_chunks.into_iter().map(section));
    // Room kept for the table, progress, context and actions blocks.
    let fields_room = MAX_BLOCKS.saturating_sub(out.len() + 4);
    for group in reply.fields.chunks(FIELDS_PER_SECTION).take(fields_room) {
        let fields: Vec<Value> = group
            .iter()
            .map(|f| {
                let name = escaped(f.name.trim(), 300);
                let room = FIELD_TEXT_MAX.saturating_sub(name.chars().count() + 6);
                mrkdwn(format!("*{name}*\n{}", escaped(non_empty(&f.value), room)))
            })
            .collect();
        out.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(table) = &reply.table {
        out.push(section(table_block(&table.to_plain_text())));
    }
    if let Some(progress) = &reply.progress {
        out.push(section(progress_bar(progress)));
    }
    if let Some(id) = reply.request_id {
        out.push(json!({
            "type": "context",
            "elements": [mrkdwn(format!("request `{id}`"))],
        }));
    }
    if let Some(actions) = actions(reply) {
        out.truncate(MAX_BLOCKS - 1);
        out.push(actions);
    }
    out.truncate(MAX_BLOCKS);
    out
}

fn non_empty(text: &str) -> &str {
    if text.trim().is_empty() { "—" } else { text }
}

/// The table as a code block of at most [`SECTION_TEXT_MAX`] characters: whole lines, then a
/// line counting those left out; backticks in cells cannot close the block.
fn table_block(text: &str) -> String {
    const FENCE: &str = "```";
    let text = escape(&text.replace('`', "ˋ"));
    let lines: Vec<&str> = text.lines().collect();
    let budget = SECTION_TEXT_MAX - 2 * FENCE.len() - 2 - 30;
    let mut body = String::new();
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let line = truncate(line, 120);
        let len = line.chars().count() + 1;
        if used + len > budget {
            body.push_str(&format!("… {} more lines\n", lines.len() - i));
            break;
        }
        body.push_str(&line);
        body.push('\n');
        used += len;
    }
    format!("{FENCE}\n{body}{FENCE}")
}

fn response_type(reply: &Reply) -> &'static str {
    match reply.visibility {
        Visibility::Ephemeral => "ephemeral",
        Visibility::Channel => "in_channel",
    }
}

/// A slash command's acknowledgement body (or a new `response_url` message): ephemeral unless
/// the reply is for the channel.
pub fn command_ack(reply: &Reply) -> Value {
    json!({
        "response_type": response_type(reply),
        "text": fallback_text(reply),
        "blocks": blocks(reply),
    })
}

/// A `response_url` post replacing the message it is tied to (buttons replaced: none removes
/// them).
pub fn replace_original(reply: &Reply) -> Value {
    json!({
        "replace_original": true,
        "delete_original": false,
        "text": fallback_text(reply),
        "blocks": blocks(reply),
    })
}

/// A `response_url` post adding a new message (ephemeral unless for the channel), leaving the
/// original as it is.
pub fn new_message(reply: &Reply) -> Value {
    json!({
        "replace_original": false,
        "delete_original": false,
        "response_type": response_type(reply),
        "text": fallback_text(reply),
        "blocks": blocks(reply),
    })
}

/// A channel message for `chat.postMessage` / `chat.update` (the approvals channel).
pub fn channel_message(reply: &Reply) -> Value {
    json!({
        "text": fallback_text(reply),
        "blocks": blocks(reply),
    })
}

/// The password modal for `views.open`: one required plain-text input (Slack has no masked
/// input), never prefilled; `private_metadata` is the opaque server-side key under which the
/// core keeps the pending id and the `response_url` — never the password.
pub fn password_modal(private_metadata: &str, request: PendingId) -> Value {
    json!({
        "type": "modal",
        "callback_id": PASSWORD_CALLBACK_ID,
        "private_metadata": private_metadata,
        "notify_on_close": true,
        "title": plain("Password notice", MODAL_TITLE_MAX),
        "submit": plain("Send", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(format!(
                    "Request `{}`: the password goes straight into the notification mail; \
                     Passdesk does not store or show it.",
                    request.request_id()
                )),
            },
            {
                "type": "input",
                "block_id": PASSWORD_BLOCK_ID,
                "label": plain("Password", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": PASSWORD_ACTION_ID,
                    "min_length": 1,
                    "max_length": PASSWORD_MAX_LEN,
                },
            },
        ],
    })
}

/// A `view_submission` answer that keeps the modal open with `error` under the password input.
pub fn password_errors(error: &str) -> Value {
    json!({
        "response_action": "errors",
        "errors": { PASSWORD_BLOCK_ID: truncate(error, 150) },
    })
}

/// What a running bulk job's message shows: no buttons, the progress bar.
pub fn progress_reply(
    request_id: passdesk_commands::ids::RequestId,
    progress: passdesk_commands::reply::Progress,
) -> Reply {
    Reply::info(
        "Running",
        "Working through the targets; this message shows the report when it ends.",
    )
    .with_progress(progress)
    .with_request_id(request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_commands::Table;
    use passdesk_commands::reply::Progress;

    fn chars(value: &Value) -> usize {
        value.as_str().map_or(0, |s| s.chars().count())
    }

    fn id(action: ButtonAction, pending: PendingId) -> ButtonId {
        ButtonId { action, pending }
    }

    /// Every text in the blocks, checked against Slack's limits.
    fn assert_within_limits(blocks: &[Value]) {
        assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
        for block in blocks {
            match block["type"].as_str() {
                Some("section") => {
                    assert!(chars(&block["text"]["text"]) <= SECTION_TEXT_MAX);
                    if let Some(fields) = block["fields"].as_array() {
                        assert!(fields.len() <= FIELDS_PER_SECTION);
                        for field in fields {
                            assert!(chars(&field["text"]) <= FIELD_TEXT_MAX);
                        }
                    }
                }
                Some("actions") => {
                    let elements = block["elements"].as_array().unwrap();
                    assert!(elements.len() <= ACTIONS_MAX);
                    let mut ids: Vec<&str> = elements
                        .iter()
                        .map(|e| e["action_id"].as_str().unwrap())
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    assert_eq!(ids.len(), elements.len(), "unique action ids");
                    for e in elements {
                        assert!(chars(&e["text"]["text"]) <= BUTTON_TEXT_MAX);
                        assert!(chars(&e["action_id"]) <= ACTION_ID_MAX);
                        assert!(chars(&e["value"]) <= VALUE_MAX);
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_plan_has_confirm_and_cancel_carrying_only_the_pending_id_and_danger_asks_first() {
        let pending = PendingId::random();
        let reply = Reply::warning("Please confirm", "Reset mail to <!here> & co")
            .field("Targets", "1")
            .button(
                "Send reset mails",
                ButtonStyle::Danger,
                id(ButtonAction::Confirm, pending),
            )
            .button(
                "Cancel",
                ButtonStyle::Secondary,
                id(ButtonAction::Cancel, pending),
            )
            .with_request_id(pending.request_id());
        let ack = command_ack(&reply);
        assert_eq!(ack["response_type"], "ephemeral");
        let blocks = ack["blocks"].as_array().unwrap();
        assert_within_limits(blocks);
        let text = serde_json::to_string(blocks).unwrap();
        assert!(text.contains("&lt;!here&gt; &amp; co"), "{text}");
        assert!(!text.contains("<!here>"), "no ping: {text}");
        let actions = blocks.last().unwrap();
        let buttons = actions["elements"].as_array().unwrap();
        assert_eq!(buttons[0]["action_id"], "pd:confirm");
        assert_eq!(buttons[0]["value"], pending.to_string());
        assert_eq!(buttons[0]["style"], "danger");
        assert!(chars(&buttons[0]["confirm"]["title"]["text"]) <= CONFIRM_TITLE_MAX);
        assert_eq!(buttons[0]["confirm"]["confirm"]["text"], "Send reset mails");
        assert_eq!(buttons[1]["action_id"], "pd:cancel");
        assert!(buttons[1].get("style").is_none());
        assert!(buttons[1].get("confirm").is_none());
        let again = convert_back(&buttons[0]);
        assert_eq!(again, id(ButtonAction::Confirm, pending));
        // A replacement has no buttons left.
        let done = replace_original(&Reply::success("Done", "sent"));
        assert_eq!(done["replace_original"], true);
        assert_eq!(done["delete_original"], false);
        assert!(
            !done["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["type"] == "actions")
        );
        assert_eq!(
            command_ack(&Reply::info("x", "y").in_channel())["response_type"],
            "in_channel"
        );
    }

    fn convert_back(button: &Value) -> ButtonId {
        crate::slack::convert::button(
            button["action_id"].as_str().unwrap(),
            button["value"].as_str(),
        )
        .unwrap()
    }

    #[test]
    fn huge_replies_stay_within_every_block_kit_limit() {
        let long = "x".repeat(10_000);
        let rows = (0..200).map(|i| vec![format!("user.{i:04}"), "é".repeat(90), "sent".into()]);
        let pending = PendingId::random();
        let mut reply = Reply::warning("T".repeat(400), format!("{long}\n{long}\n{long}\n{long}"))
            .with_table(Table::bounded(["User", "Note", "Outcome"], rows))
            .with_progress(Progress {
                done: 5,
                total: 10,
                failed: 1,
                unknown: 0,
            })
            .with_request_id(pending.request_id());
        for i in 0..600 {
            reply = reply.field(format!("{i}{}", "n".repeat(300)), "v&".repeat(2_000));
        }
        for i in 0..40 {
            reply = reply.button(
                format!("{i} {}", "L".repeat(100)),
                ButtonStyle::Primary,
                id(ButtonAction::Approve, pending),
            );
        }
        reply = reply.button(
            "Deny",
            ButtonStyle::Primary,
            id(ButtonAction::Deny, pending),
        );
        let blocks = blocks(&reply);
        assert_within_limits(&blocks);
        assert_eq!(blocks.len(), MAX_BLOCKS);
        let actions = blocks.last().unwrap();
        assert_eq!(actions["type"], "actions", "the buttons are never cut off");
        let elements = actions["elements"].as_array().unwrap();
        assert_eq!(elements.len(), 2, "one button per action");
        assert_eq!(
            elements.iter().filter(|e| e["style"] == "primary").count(),
            1
        );
        let table = blocks
            .iter()
            .find(|b| {
                chars(&b["text"]["text"]) > 0
                    && b["text"]["text"].as_str().unwrap().starts_with("```")
            })
            .unwrap();
        let text = table["text"]["text"].as_str().unwrap();
        assert_eq!(text.matches("```").count(), 2);
        assert!(fallback_text(&reply).chars().count() <= FALLBACK_MAX);
        // No half entity at a cut.
        for block in &blocks {
            if let Some(fields) = block["fields"].as_array() {
                for f in fields {
                    let t = f["text"].as_str().unwrap();
                    let tail = &t[t.rfind('&').unwrap_or(0)..];
                    assert!(
                        tail.starts_with("&amp;") || !tail.starts_with('&'),
                        "{tail}"
                    );
                }
            }
        }
    }

    #[test]
    fn backticks_cannot_break_out_of_the_table() {
        let reply = Reply::info("Plan", "")
            .with_table(Table::bounded(["User"], [vec!["evil```*bold*".to_owned()]]));
        let blocks = blocks(&reply);
        let table = blocks[1]["text"]["text"].as_str().unwrap();
        assert_eq!(table.matches("```").count(), 2, "{table}");
    }

    #[test]
    fn the_password_modal_has_one_bounded_input_and_only_the_opaque_key() {
        let pending = PendingId::random();
        let modal = password_modal("opaque-key", pending);
        assert_eq!(modal["private_metadata"], "opaque-key");
        assert!(!modal.to_string().contains(&pending.to_string()));
        assert!(chars(&modal["title"]["text"]) <= MODAL_TITLE_MAX);
        let input = &modal["blocks"][1];
        assert_eq!(input["block_id"], PASSWORD_BLOCK_ID);
        assert_eq!(input["element"]["type"], "plain_text_input");
        assert_eq!(input["element"]["max_length"], 256);
        assert!(input["element"].get("initial_value").is_none());
        let errors = password_errors("too short");
        assert_eq!(errors["response_action"], "errors");
        assert_eq!(errors["errors"][PASSWORD_BLOCK_ID], "too short");
    }
}
