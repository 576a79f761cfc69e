//! Block Kit checks on what the bot posts (messages) and opens (modals), with the limits of
//! `shared/reference/slack.md` §3.4, and the ids Slack fills in when a block or element has
//! none. Problems are reported as Slack does: `must be less than 76 characters
//! [json-pointer:/blocks/1/elements/0/text/text]`.

use std::collections::HashSet;

use rand::Rng;
use serde_json::Value;

/// At most this many blocks in a message.
pub(crate) const MAX_MESSAGE_BLOCKS: usize = 50;
/// At most this many blocks in a modal.
pub(crate) const MAX_VIEW_BLOCKS: usize = 100;
/// A view's JSON above this many bytes is `view_too_large`.
pub(crate) const MAX_VIEW_BYTES: usize = 250_000;
/// A message `text` above this many characters is `msg_too_long`.
pub(crate) const MAX_TEXT_CHARS: usize = 40_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Message,
    Modal,
}

/// Where an interactive element sits (each place allows its own element types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Actions,
    Accessory,
    Input,
}

const SELECTS: [&str; 10] = [
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
];

const CHOICES: [&str; 6] = [
    "checkboxes",
    "radio_buttons",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "overflow",
];

const TEXT_INPUTS: [&str; 6] = [
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "file_input",
];

fn allowed(slot: Slot, kind: &str) -> bool {
    let select_or_choice = SELECTS.contains(&kind) || CHOICES.contains(&kind);
    match slot {
        Slot::Actions => kind == "button" || select_or_choice,
        Slot::Accessory => kind == "button" || kind == "image" || select_or_choice,
        Slot::Input => TEXT_INPUTS.contains(&kind) || (select_or_choice && kind != "overflow"),
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<String>,
}

impl Checker {
    fn push(&mut self, pointer: &str, message: impl AsRef<str>) {
        self.problems
            .push(format!("{} [json-pointer:{pointer}]", message.as_ref()));
    }

    fn max_len(&mut self, pointer: &str, text: &str, max: usize) {
        if text.chars().count() > max {
            self.push(pointer, format!("must be less than {} characters", max + 1));
        }
    }

    /// An optional string field with a maximum length.
    fn string(&mut self, object: &Value, pointer: &str, key: &str, max: usize) {
        match object.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => self.max_len(&format!("{pointer}/{key}"), text, max),
            Some(_) => self.push(&format!("{pointer}/{key}"), "must be a string"),
        }
    }

    /// A text object: `{"type": "plain_text"|"mrkdwn", "text": "…"}`.
    fn text_object(&mut self, pointer: &str, value: Option<&Value>, plain_only: bool, max: usize) {
        let Some(value) = value else {
            self.push(pointer, "must provide an object");
            return;
        };
        match value.get("type").and_then(Value::as_str) {
            Some("plain_text") => {}
            Some("mrkdwn") if !plain_only => {}
            Some("mrkdwn") => {
                self.push(&format!("{pointer}/type"), "must be plain_text");
                return;
            }
            _ => {
                self.push(
                    &format!("{pointer}/type"),
                    "must be one of [plain_text, mrkdwn]",
                );
                return;
            }
        }
        match value.get("text").and_then(Value::as_str) {
            Some("") => self.push(&format!("{pointer}/text"), "must be more than 0 characters"),
            Some(text) => self.max_len(&format!("{pointer}/text"), text, max),
            None => self.push(&format!("{pointer}/text"), "must provide a string"),
        }
    }

    fn optional_text(&mut self, pointer: &str, value: &Value, key: &str, plain: bool, max: usize) {
        if let Some(inner) = value.get(key) {
            self.text_object(&format!("{pointer}/{key}"), Some(inner), plain, max);
        }
    }

    fn blocks(&mut self, pointer: &str, blocks: &[Value], surface: Surface, max: usize) {
        if blocks.len() > max {
            self.push(pointer, format!("must be less than {} items", max + 1));
        }
        let mut block_ids = HashSet::new();
        for (index, block) in blocks.iter().enumerate() {
            self.block(
                &format!("{pointer}/{index}"),
                block,
                surface,
                &mut block_ids,
            );
        }
    }

    fn block(
        &mut self,
        pointer: &str,
        block: &Value,
        surface: Surface,
        block_ids: &mut HashSet<String>,
    ) {
        if !block.is_object() {
            self.push(pointer, "must be an object");
            return;
        }
        if let Some(block_id) = block.get("block_id") {
            match block_id.as_str() {
                Some(id) => {
                    self.max_len(&format!("{pointer}/block_id"), id, 255);
                    if !block_ids.insert(id.to_owned()) {
                        self.push(&format!("{pointer}/block_id"), "duplicate block_id");
                    }
                }
                None => self.push(&format!("{pointer}/block_id"), "must be a string"),
            }
        }
        let kind = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match kind {
            "section" => self.section(pointer, block),
            "divider" => {}
            "header" => self.text_object(&format!("{pointer}/text"), block.get("text"), true, 150),
            "context" => self.context(pointer, block),
            "actions" => self.actions(pointer, block),
            "input" => self.input(pointer, block),
            "image" => self.image(pointer, block, false),
            "rich_text" => {
                if !block.get("elements").is_some_and(Value::is_array) {
                    self.push(&format!("{pointer}/elements"), "must provide an array");
                }
            }
            "markdown" if surface == Surface::Message => match block.get("text") {
                Some(Value::String(text)) => {
                    self.max_len(&format!("{pointer}/text"), text, 12_000);
                }
                _ => self.push(&format!("{pointer}/text"), "must provide a string"),
            },
            "file" if surface == Surface::Message => {}
            "video" => {}
            "" => self.push(&format!("{pointer}/type"), "must provide a string"),
            other => self.push(
                &format!("{pointer}/type"),
                format!("unsupported block type {other:?} here"),
            ),
        }
    }

    fn section(&mut self, pointer: &str, block: &Value) {
        let fields = block.get("fields").and_then(Value::as_array);
        if block.get("text").is_none() && fields.is_none() {
            self.push(pointer, "must provide either text or fields");
        }
        self.optional_text(pointer, block, "text", false, 3000);
        if let Some(fields) = fields {
            if fields.len() > 10 {
                self.push(&format!("{pointer}/fields"), "must be less than 11 items");
            }
            for (index, field) in fields.iter().enumerate() {
                self.text_object(
                    &format!("{pointer}/fields/{index}"),
                    Some(field),
                    false,
                    2000,
                );
            }
        }
        if let Some(accessory) = block.get("accessory") {
            self.element(&format!("{pointer}/accessory"), accessory, Slot::Accessory);
        }
    }

    fn context(&mut self, pointer: &str, block: &Value) {
        let Some(elements) = block.get("elements").and_then(Value::as_array) else {
            self.push(&format!("{pointer}/elements"), "must provide an array");
            return;
        };
        if elements.is_empty() {
            self.push(
                &format!("{pointer}/elements"),
                "must provide at least 1 item",
            );
        }
        if elements.len() > 10 {
            self.push(&format!("{pointer}/elements"), "must be less than 11 items");
        }
        for (index, element) in elements.iter().enumerate() {
            let at = format!("{pointer}/elements/{index}");
            if element.get("type").and_then(Value::as_str) == Some("image") {
                self.image(&at, element, true);
            } else {
                self.text_object(&at, Some(element), false, 3000);
            }
        }
    }

    fn actions(&mut self, pointer: &str, block: &Value) {
        let Some(elements) = block.get("elements").and_then(Value::as_array) else {
            self.push(&format!("{pointer}/elements"), "must provide an array");
            return;
        };
        if elements.is_empty() {
            self.push(
                &format!("{pointer}/elements"),
                "must provide at least 1 item",
            );
        }
        if elements.len() > 25 {
            self.push(&format!("{pointer}/elements"), "must be less than 26 items");
        }
        let mut action_ids = HashSet::new();
        for (index, element) in elements.iter().enumerate() {
            let at = format!("{pointer}/elements/{index}");
            self.element(&at, element, Slot::Actions);
            if let Some(id) = element.get("action_id").and_then(Value::as_str) {
                if !action_ids.insert(id.to_owned()) {
                    self.push(&format!("{at}/action_id"), "duplicate action_id");
                }
            }
        }
    }

    fn input(&mut self, pointer: &str, block: &Value) {
        self.text_object(&format!("{pointer}/label"), block.get("label"), true, 2000);
        self.optional_text(pointer, block, "hint", true, 2000);
        match block.get("element") {
            Some(element) => self.element(&format!("{pointer}/element"), element, Slot::Input),
            None => self.push(&format!("{pointer}/element"), "must provide an object"),
        }
    }

    fn image(&mut self, pointer: &str, image: &Value, element: bool) {
        if image.get("image_url").is_none() && image.get("slack_file").is_none() {
            self.push(pointer, "must provide either image_url or slack_file");
        }
        self.string(image, pointer, "image_url", 3000);
        match image.get("alt_text").and_then(Value::as_str) {
            Some(alt) => self.max_len(&format!("{pointer}/alt_text"), alt, 2000),
            None => self.push(&format!("{pointer}/alt_text"), "must provide a string"),
        }
        if !element {
            self.optional_text(pointer, image, "title", true, 2000);
        }
    }

    fn element(&mut self, pointer: &str, element: &Value, slot: Slot) {
        let kind = element
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !allowed(slot, kind) {
            self.push(
                &format!("{pointer}/type"),
                format!("unsupported element type {kind:?} here"),
            );
            return;
        }
        self.string(element, pointer, "action_id", 255);
        match kind {
            "button" => self.button(pointer, element),
            "plain_text_input" => self.plain_text_input(pointer, element),
            "image" => self.image(pointer, element, true),
            _ => {
                self.optional_text(pointer, element, "placeholder", true, 150);
                if let Some(confirm) = element.get("confirm") {
                    self.confirm(&format!("{pointer}/confirm"), confirm);
                }
            }
        }
    }

    fn button(&mut self, pointer: &str, button: &Value) {
        self.text_object(&format!("{pointer}/text"), button.get("text"), true, 75);
        self.string(button, pointer, "value", 2000);
        self.string(button, pointer, "url", 3000);
        self.string(button, pointer, "accessibility_label", 75);
        if let Some(style) = button.get("style") {
            if !matches!(style.as_str(), Some("primary" | "danger")) {
                self.push(
                    &format!("{pointer}/style"),
                    "must be one of [primary, danger]",
                );
            }
        }
        if let Some(confirm) = button.get("confirm") {
            self.confirm(&format!("{pointer}/confirm"), confirm);
        }
    }

    fn confirm(&mut self, pointer: &str, confirm: &Value) {
        self.text_object(&format!("{pointer}/title"), confirm.get("title"), true, 100);
        self.text_object(&format!("{pointer}/text"), confirm.get("text"), false, 300);
        self.text_object(
            &format!("{pointer}/confirm"),
            confirm.get("confirm"),
            true,
            30,
        );
        self.text_object(&format!("{pointer}/deny"), confirm.get("deny"), true, 30);
        if let Some(style) = confirm.get("style") {
            if !matches!(style.as_str(), Some("primary" | "danger")) {
                self.push(
                    &format!("{pointer}/style"),
                    "must be one of [primary, danger]",
                );
            }
        }
    }

    fn plain_text_input(&mut self, pointer: &str, input: &Value) {
        self.optional_text(pointer, input, "placeholder", true, 150);
        let min = input.get("min_length").map(Value::as_u64);
        let max = input.get("max_length").map(Value::as_u64);
        match min {
            Some(Some(min)) if min > 3000 => self.push(
                &format!("{pointer}/min_length"),
                "must be less than or equal to 3000",
            ),
            Some(None) => self.push(&format!("{pointer}/min_length"), "must be an integer"),
            _ => {}
        }
        match max {
            Some(Some(max)) if !(1..=3000).contains(&max) => self.push(
                &format!("{pointer}/max_length"),
                "must be between 1 and 3000",
            ),
            Some(None) => self.push(&format!("{pointer}/max_length"), "must be an integer"),
            _ => {}
        }
        if let (Some(Some(min)), Some(Some(max))) = (min, max) {
            if min > max {
                self.push(
                    &format!("{pointer}/min_length"),
                    "must be less than or equal to max_length",
                );
            }
        }
        if let (Some(initial), Some(Some(max))) =
            (input.get("initial_value").and_then(Value::as_str), max)
        {
            if u64::try_from(initial.chars().count()).unwrap_or(u64::MAX) > max {
                self.push(
                    &format!("{pointer}/initial_value"),
                    "must not be longer than max_length",
                );
            }
        }
    }
}

/// Problems with a message's blocks (`/blocks/…` pointers); empty when Slack would accept
/// them.
pub(crate) fn message_problems(blocks: &[Value]) -> Vec<String> {
    let mut checker = Checker::default();
    checker.blocks("/blocks", blocks, Surface::Message, MAX_MESSAGE_BLOCKS);
    checker.problems
}

/// Problems with a modal view (`/view/…` pointers); empty when Slack would accept it.
pub(crate) fn view_problems(view: &Value) -> Vec<String> {
    let mut checker = Checker::default();
    if !view.is_object() {
        checker.push("/view", "must be an object");
        return checker.problems;
    }
    if view.get("type").and_then(Value::as_str) != Some("modal") {
        checker.push("/view/type", "must be modal");
    }
    checker.text_object("/view/title", view.get("title"), true, 24);
    checker.optional_text("/view", view, "submit", true, 24);
    checker.optional_text("/view", view, "close", true, 24);
    checker.string(view, "/view", "private_metadata", 3000);
    checker.string(view, "/view", "callback_id", 255);
    checker.string(view, "/view", "external_id", 255);
    match view.get("blocks").and_then(Value::as_array) {
        Some(blocks) => {
            checker.blocks("/view/blocks", blocks, Surface::Modal, MAX_VIEW_BLOCKS);
            let has_input = blocks
                .iter()
                .any(|block| block.get("type").and_then(Value::as_str) == Some("input"));
            if has_input && view.get("submit").is_none() {
                checker.push(
                    "/view/submit",
                    "must provide submit when the view has an input block",
                );
            }
        }
        None => checker.push("/view/blocks", "must provide an array"),
    }
    checker.problems
}

/// A short random id, as Slack gives blocks and elements that have none.
fn random_id() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(5)
        .map(char::from)
        .collect()
}

/// Fills in missing `block_id`s and interactive elements' `action_id`s, as Slack does before
/// storing a message or view.
pub(crate) fn fill_ids(blocks: &mut [Value]) {
    for block in blocks {
        let Value::Object(map) = block else {
            continue;
        };
        map.entry("block_id")
            .or_insert_with(|| Value::String(random_id()));
        let mut elements: Vec<&mut Value> = Vec::new();
        for (key, value) in map.iter_mut() {
            match (key.as_str(), value) {
                ("elements", Value::Array(items)) => elements.extend(items.iter_mut()),
                ("accessory" | "element", item) => elements.push(item),
                _ => {}
            }
        }
        for element in elements {
            let interactive = element
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| {
                    kind == "button"
                        || SELECTS.contains(&kind)
                        || CHOICES.contains(&kind)
                        || TEXT_INPUTS.contains(&kind)
                });
            if let (true, Value::Object(element)) = (interactive, element) {
                element
                    .entry("action_id")
                    .or_insert_with(|| Value::String(random_id()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn button(text: &str) -> Value {
        json!({"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": text}})
    }

    #[test]
    fn good_message_blocks_pass() {
        let blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": "Plan"}}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": "*reset* `jc.one`"},
                   "accessory": button("More")}),
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": "id 7f3a9c"}]}),
            json!({"type": "divider"}),
            json!({"type": "actions", "block_id": "pd:act:1", "elements": [
                {"type": "button", "action_id": "pd:confirm", "value": "1", "style": "danger",
                 "text": {"type": "plain_text", "text": "Send"},
                 "confirm": {"title": {"type": "plain_text", "text": "Sure?"},
                             "text": {"type": "mrkdwn", "text": "A mail goes out."},
                             "confirm": {"type": "plain_text", "text": "Send"},
                             "deny": {"type": "plain_text", "text": "Back"}}},
                {"type": "button", "action_id": "pd:cancel", "value": "1",
                 "text": {"type": "plain_text", "text": "Cancel"}}]}),
        ];
        assert_eq!(message_problems(&blocks), Vec::<String>::new());
    }

    #[test]
    fn each_limit_is_reported_with_its_pointer() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"type": "actions", "elements": [button(&"x".repeat(76))]}),
                "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
            ),
            (
                json!({"type": "actions", "elements": [
                {"type": "button", "action_id": "a", "style": "green",
                 "text": {"type": "plain_text", "text": "x"}}]}),
                "[json-pointer:/blocks/0/elements/0/style]",
            ),
            (
                json!({"type": "actions", "elements": [button("x"), button("y")]}),
                "duplicate action_id [json-pointer:/blocks/0/elements/1/action_id]",
            ),
            (
                json!({"type": "actions", "elements": [
                {"type": "button", "action_id": "a", "value": "v".repeat(2001),
                 "text": {"type": "plain_text", "text": "x"}}]}),
                "[json-pointer:/blocks/0/elements/0/value]",
            ),
            (
                json!({"type": "actions", "elements": [
                {"type": "button", "action_id": "a", "text": {"type": "mrkdwn", "text": "x"}}]}),
                "must be plain_text [json-pointer:/blocks/0/elements/0/text/type]",
            ),
            (
                json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}}),
                "[json-pointer:/blocks/0/text/text]",
            ),
            (
                json!({"type": "section"}),
                "must provide either text or fields",
            ),
            (
                json!({"type": "header", "text": {"type": "plain_text", "text": "x".repeat(151)}}),
                "[json-pointer:/blocks/0/text/text]",
            ),
            (
                json!({"type": "actions", "elements": [
                {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x"},
                 "confirm": {"title": {"type": "plain_text", "text": "t".repeat(101)},
                             "text": {"type": "plain_text", "text": "x"},
                             "confirm": {"type": "plain_text", "text": "x"},
                             "deny": {"type": "plain_text", "text": "x"}}}]}),
                "[json-pointer:/blocks/0/elements/0/confirm/title/text]",
            ),
            (json!({"type": "carousel"}), "unsupported block type"),
            (
                json!({"type": "section", "text": {"type": "plain_text", "text": ""}}),
                "must be more than 0 characters",
            ),
        ];
        for (block, expected) in cases {
            let problems = message_problems(std::slice::from_ref(&block));
            assert!(
                problems.iter().any(|problem| problem.contains(expected)),
                "{block}: {problems:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn a_message_has_at_most_fifty_blocks_and_unique_block_ids() {
        let divider = json!({"type": "divider"});
        assert!(message_problems(&vec![divider.clone(); 50]).is_empty());
        let problems = message_problems(&vec![divider; 51]);
        assert_eq!(
            problems,
            vec!["must be less than 51 items [json-pointer:/blocks]".to_owned()]
        );
        let twice = vec![
            json!({"type": "divider", "block_id": "x"}),
            json!({"type": "divider", "block_id": "x"}),
        ];
        assert_eq!(message_problems(&twice).len(), 1);
    }

    fn modal(blocks: Value) -> Value {
        json!({"type": "modal", "title": {"type": "plain_text", "text": "Password notice"},
               "submit": {"type": "plain_text", "text": "Continue"}, "blocks": blocks})
    }

    #[test]
    fn views_are_checked_against_the_modal_limits() {
        let input = json!({"type": "input", "block_id": "pd:pw",
            "label": {"type": "plain_text", "text": "New password"},
            "element": {"type": "plain_text_input", "action_id": "value",
                        "min_length": 12, "max_length": 128}});
        assert!(view_problems(&modal(json!([input.clone()]))).is_empty());

        let mut long_title = modal(json!([]));
        long_title["title"]["text"] = json!("x".repeat(25));
        assert!(view_problems(&long_title)[0].contains("/view/title/text"));

        let mut no_submit = modal(json!([input.clone()]));
        no_submit.as_object_mut().unwrap().remove("submit");
        assert!(view_problems(&no_submit)[0].contains("/view/submit"));

        let mut metadata = modal(json!([]));
        metadata["private_metadata"] = json!("m".repeat(3001));
        assert!(view_problems(&metadata)[0].contains("/view/private_metadata"));

        let bad_lengths = json!({"type": "input", "label": {"type": "plain_text", "text": "x"},
            "element": {"type": "plain_text_input", "min_length": 20, "max_length": 10}});
        assert!(view_problems(&modal(json!([bad_lengths])))[0].contains("min_length"));

        let too_many = modal(Value::Array(vec![json!({"type": "divider"}); 101]));
        assert!(view_problems(&too_many)[0].contains("less than 101 items"));

        let in_actions = json!({"type": "actions", "elements": [
            {"type": "plain_text_input", "action_id": "x"}]});
        assert!(view_problems(&modal(json!([in_actions])))[0].contains("unsupported element"));
    }

    #[test]
    fn missing_ids_are_filled_in_and_given_ones_kept() {
        let mut blocks = vec![
            json!({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "x"}}]}),
            json!({"type": "section", "block_id": "mine",
                   "text": {"type": "mrkdwn", "text": "x"}}),
        ];
        fill_ids(&mut blocks);
        assert_eq!(blocks[0]["block_id"].as_str().map(str::len), Some(5));
        assert_eq!(
            blocks[0]["elements"][0]["action_id"].as_str().map(str::len),
            Some(5)
        );
        assert_eq!(blocks[1]["block_id"], "mine");
    }
}
