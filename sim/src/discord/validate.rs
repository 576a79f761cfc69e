//! The checks Discord applies to message and command payloads, with its 50035 answers.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::error::{ApiError, FormProblem};
use super::model::{EPHEMERAL, SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS};

/// The fields of a message create or edit that the fake keeps. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MessagePatch {
    pub(crate) content: Option<String>,
    pub(crate) embeds: Option<Vec<Value>>,
    pub(crate) components: Option<Vec<Value>>,
    pub(crate) flags: Option<u64>,
}

impl MessagePatch {
    /// Whether a new message built from this patch alone would show something.
    pub(crate) fn has_body(&self) -> bool {
        self.content
            .as_deref()
            .is_some_and(|content| !content.is_empty())
            || self
                .embeds
                .as_ref()
                .is_some_and(|embeds| !embeds.is_empty())
            || self
                .components
                .as_ref()
                .is_some_and(|components| !components.is_empty())
    }

    /// The settable flags asked for (`SUPPRESS_EMBEDS`, `EPHEMERAL`, `SUPPRESS_NOTIFICATIONS`).
    pub(crate) fn settable_flags(&self) -> u64 {
        self.flags.unwrap_or(0) & (SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS)
    }
}

const MAX_CONTENT: usize = 2000;
const MAX_EMBEDS: usize = 10;
const MAX_EMBED_TOTAL: usize = 6000;
const MAX_ROWS: usize = 5;
const MAX_PER_ROW: usize = 5;

/// Parses and checks a message payload (create, edit, callback data). Discord's limits:
/// content ≤ 2000 characters, ≤ 10 embeds (title 256, description 4096, ≤ 25 fields of name
/// 256 / value 1024, footer 2048, author 256, all embeds together ≤ 6000), ≤ 5 action rows
/// of ≤ 5 buttons or one select, `custom_id` 1–100 and unique, button labels ≤ 80.
pub(crate) fn message_patch(body: &Value) -> Result<MessagePatch, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid_form_body(&[FormProblem::new(
            "",
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        )]));
    };
    let mut problems = Vec::new();
    let mut patch = MessagePatch::default();

    match object.get("content") {
        None => {}
        Some(Value::Null) => patch.content = Some(String::new()),
        Some(Value::String(content)) => {
            if content.chars().count() > MAX_CONTENT {
                problems.push(FormProblem::too_long("content", MAX_CONTENT));
            }
            patch.content = Some(content.clone());
        }
        Some(_) => problems.push(string_expected("content")),
    }

    match object.get("embeds") {
        None => {}
        Some(Value::Null) => patch.embeds = Some(Vec::new()),
        Some(Value::Array(embeds)) => {
            if embeds.len() > MAX_EMBEDS {
                problems.push(FormProblem::too_long("embeds", MAX_EMBEDS));
            }
            let mut total = 0;
            let mut kept = Vec::with_capacity(embeds.len());
            for (index, embed) in embeds.iter().enumerate() {
                total += check_embed(&format!("embeds.{index}"), embed, &mut problems);
                let mut embed = embed.clone();
                if let Some(map) = embed.as_object_mut() {
                    map.entry("type").or_insert_with(|| json!("rich"));
                    if map.get("fields").is_some_and(Value::is_null) {
                        map.remove("fields");
                    }
                }
                kept.push(embed);
            }
            if total > MAX_EMBED_TOTAL {
                problems.push(FormProblem::new(
                    "embeds",
                    "MAX_EMBED_SIZE_EXCEEDED",
                    "Embed size exceeds maximum size of 6000",
                ));
            }
            patch.embeds = Some(kept);
        }
        Some(_) => problems.push(array_expected("embeds")),
    }

    match object.get("components") {
        None => {}
        Some(Value::Null) => patch.components = Some(Vec::new()),
        Some(Value::Array(rows)) => {
            check_components(rows, &mut problems);
            patch.components = Some(rows.clone());
        }
        Some(_) => problems.push(array_expected("components")),
    }

    match object.get("flags") {
        None | Some(Value::Null) => {}
        Some(flags) => match flags.as_u64() {
            Some(flags) => patch.flags = Some(flags),
            None => problems.push(FormProblem::new(
                "flags",
                "NUMBER_TYPE_COERCE",
                "Value is not int.",
            )),
        },
    }

    if problems.is_empty() {
        Ok(patch)
    } else {
        Err(ApiError::invalid_form_body(&problems))
    }
}

fn string_expected(path: &str) -> FormProblem {
    FormProblem::new(
        path,
        "STRING_TYPE_CONVERT",
        "Could not interpret value as string.",
    )
}

fn array_expected(path: &str) -> FormProblem {
    FormProblem::new(
        path,
        "LIST_TYPE_CONVERT",
        "Only iterables may be used in a ListType",
    )
}

/// Checks one embed's limits; returns its size towards the 6000 total.
fn check_embed(path: &str, embed: &Value, problems: &mut Vec<FormProblem>) -> usize {
    let mut size = 0;
    let mut text =
        |pointer: &str, field_path: String, max: usize, problems: &mut Vec<FormProblem>| {
            if let Some(value) = embed.pointer(pointer).and_then(Value::as_str) {
                let length = value.chars().count();
                size += length;
                if length > max {
                    problems.push(FormProblem::too_long(field_path, max));
                }
            }
        };
    text("/title", format!("{path}.title"), 256, problems);
    text(
        "/description",
        format!("{path}.description"),
        4096,
        problems,
    );
    text(
        "/footer/text",
        format!("{path}.footer.text"),
        2048,
        problems,
    );
    text("/author/name", format!("{path}.author.name"), 256, problems);
    if let Some(fields) = embed.get("fields").and_then(Value::as_array) {
        if fields.len() > 25 {
            problems.push(FormProblem::too_long(format!("{path}.fields"), 25));
        }
        for (index, field) in fields.iter().enumerate() {
            for (key, max) in [("name", 256), ("value", 1024)] {
                let field_path = format!("{path}.fields.{index}.{key}");
                match field.get(key).and_then(Value::as_str) {
                    None => problems.push(FormProblem::required(field_path)),
                    Some(value) => {
                        let length = value.chars().count();
                        size += length;
                        if length > max {
                            problems.push(FormProblem::too_long(field_path, max));
                        }
                    }
                }
            }
        }
    }
    size
}

fn check_components(rows: &[Value], problems: &mut Vec<FormProblem>) {
    if rows.len() > MAX_ROWS {
        problems.push(FormProblem::too_long("components", MAX_ROWS));
    }
    let mut custom_ids = HashSet::new();
    for (row_index, row) in rows.iter().enumerate() {
        let row_path = format!("components.{row_index}");
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            problems.push(FormProblem::new(
                format!("{row_path}.type"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "Top-level components must be action rows",
            ));
            continue;
        }
        let children = row
            .get("components")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if children.is_empty() {
            problems.push(FormProblem::new(
                format!("{row_path}.components"),
                "BASE_TYPE_MIN_LENGTH",
                "Must be 1 or more in length.",
            ));
        }
        if children.len() > MAX_PER_ROW {
            problems.push(FormProblem::too_long(
                format!("{row_path}.components"),
                MAX_PER_ROW,
            ));
        }
        let selects = children
            .iter()
            .filter(|child| matches!(child.get("type").and_then(Value::as_u64), Some(3 | 5..=8)))
            .count();
        if selects > 0 && children.len() > 1 {
            problems.push(FormProblem::new(
                format!("{row_path}.components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            ));
        }
        for (index, child) in children.iter().enumerate() {
            let path = format!("{row_path}.components.{index}");
            let kind = child.get("type").and_then(Value::as_u64);
            let is_link = kind == Some(2) && child.get("style").and_then(Value::as_u64) == Some(5);
            match child.get("custom_id").and_then(Value::as_str) {
                Some(id) if !is_link => {
                    let length = id.chars().count();
                    if length == 0 || length > 100 {
                        problems.push(FormProblem::too_long(format!("{path}.custom_id"), 100));
                    }
                    if !custom_ids.insert(id.to_owned()) {
                        problems.push(FormProblem::new(
                            format!("{path}.custom_id"),
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        ));
                    }
                }
                None if !is_link => {
                    problems.push(FormProblem::required(format!("{path}.custom_id")))
                }
                _ => {}
            }
            if let Some(label) = child.get("label").and_then(Value::as_str) {
                if kind == Some(2) && label.chars().count() > 80 {
                    problems.push(FormProblem::too_long(format!("{path}.label"), 80));
                }
            }
        }
    }
}

/// Checks a modal callback's `data`: `custom_id` 1–100, `title` 1–45, 1–5 action rows each
/// holding one text input (type 4) with a `custom_id` and a `label`.
pub(crate) fn modal(data: &Value) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    match data.get("custom_id").and_then(Value::as_str) {
        Some(id) if (1..=100).contains(&id.chars().count()) => {}
        Some(_) => problems.push(FormProblem::too_long("data.custom_id", 100)),
        None => problems.push(FormProblem::required("data.custom_id")),
    }
    match data.get("title").and_then(Value::as_str) {
        Some(title) if (1..=45).contains(&title.chars().count()) => {}
        Some(_) => problems.push(FormProblem::too_long("data.title", 45)),
        None => problems.push(FormProblem::required("data.title")),
    }
    let rows = data
        .get("components")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        problems.push(FormProblem::new(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        ));
    }
    for (index, row) in rows.iter().enumerate() {
        let inputs = row
            .get("components")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let valid = inputs.len() == 1
            && inputs.iter().all(|input| {
                input.get("type").and_then(Value::as_u64) == Some(4)
                    && input.get("custom_id").and_then(Value::as_str).is_some()
                    && input.get("label").and_then(Value::as_str).is_some()
            });
        if !valid {
            problems.push(FormProblem::new(
                format!("data.components.{index}"),
                "COMPONENT_TYPE_INVALID",
                "A modal row holds exactly one text input with a custom_id and a label",
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_form_body(&problems))
    }
}

/// The most choices an autocomplete result may offer.
const MAX_AUTOCOMPLETE_CHOICES: usize = 25;

/// Checks an autocomplete result's `data` (callback type 8): `choices`, an array of at most 25
/// choices, each with a `name` of 1–100 characters and a `value` that is a string of at most
/// 100 characters or a number.
pub(crate) fn autocomplete_result(data: &Value) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    match data.get("choices") {
        Some(Value::Array(choices)) => {
            if choices.len() > MAX_AUTOCOMPLETE_CHOICES {
                problems.push(FormProblem::too_long(
                    "data.choices",
                    MAX_AUTOCOMPLETE_CHOICES,
                ));
            }
            for (index, choice) in choices.iter().enumerate() {
                let path = format!("data.choices.{index}");
                match choice.get("name").and_then(Value::as_str) {
                    Some(name) if (1..=100).contains(&name.chars().count()) => {}
                    Some(_) => problems.push(FormProblem::new(
                        format!("{path}.name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )),
                    None => problems.push(FormProblem::required(format!("{path}.name"))),
                }
                match choice.get("value") {
                    Some(Value::String(value)) if value.chars().count() <= 100 => {}
                    Some(Value::String(_)) => {
                        problems.push(FormProblem::too_long(format!("{path}.value"), 100));
                    }
                    Some(Value::Number(_)) => {}
                    Some(_) => problems.push(string_expected(&format!("{path}.value"))),
                    None => problems.push(FormProblem::required(format!("{path}.value"))),
                }
            }
        }
        Some(_) => problems.push(array_expected("data.choices")),
        None => problems.push(FormProblem::required("data.choices")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_form_body(&problems))
    }
}

/// A command name: 1–32 characters that are letters, digits, `-`, `_` or `'` (Discord's
/// `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`), lowercase for slash commands.
fn name_ok(name: &str, lowercase: bool) -> bool {
    let length = name.chars().count();
    (1..=32).contains(&length)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '\''))
        && (!lowercase || name.to_lowercase() == name)
}

/// Checks a bulk-overwrite body: an array of at most 100 slash, 15 user and 15 message
/// commands; names valid and unique per type; slash commands with a 1–100 character
/// description; options checked by [`check_options`].
pub(crate) fn commands(body: &Value) -> Result<Vec<Map<String, Value>>, ApiError> {
    let Some(list) = body.as_array() else {
        return Err(ApiError::invalid_form_body(&[FormProblem::new(
            "",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        )]));
    };
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut counts = [0_usize; 4];
    let mut out = Vec::with_capacity(list.len());
    for (index, command) in list.iter().enumerate() {
        let path = index.to_string();
        let Some(map) = command.as_object() else {
            problems.push(FormProblem::new(
                path,
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
            continue;
        };
        let kind = map.get("type").and_then(Value::as_u64).unwrap_or(1);
        if let Some(slot) = usize::try_from(kind).ok().and_then(|k| counts.get_mut(k)) {
            *slot += 1;
        }
        let name = map.get("name").and_then(Value::as_str).unwrap_or_default();
        if !name_ok(name, kind == 1) {
            problems.push(FormProblem::new(
                format!("{path}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            ));
        }
        if !seen.insert((kind, name.to_owned())) {
            problems.push(FormProblem::new(
                format!("{path}.name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            ));
        }
        let description = map
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind == 1 && !(1..=100).contains(&description.chars().count()) {
            problems.push(FormProblem::new(
                format!("{path}.description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        if let Some(options) = map.get("options").and_then(Value::as_array) {
            check_options(&format!("{path}.options"), options, 0, &mut problems);
        }
        out.push(map.clone());
    }
    for (kind, max) in [(1, 100), (2, 15), (3, 15)] {
        if counts[kind] > max {
            problems.push(FormProblem::new(
                "",
                "APPLICATION_COMMANDS_TOO_MANY",
                format!("Maximum number of application commands of type {kind} reached ({max})"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid_form_body(&problems))
    }
}

/// Options: at most 25, names valid (lowercase) and unique, descriptions 1–100, required ones
/// before optional ones, at most 25 choices and not with autocomplete; subcommand groups may
/// hold subcommands, subcommands may hold value options.
fn check_options(path: &str, options: &[Value], depth: u8, problems: &mut Vec<FormProblem>) {
    if options.len() > 25 {
        problems.push(FormProblem::too_long(path, 25));
    }
    let mut seen_optional = false;
    let mut names = HashSet::new();
    for (index, option) in options.iter().enumerate() {
        let option_path = format!("{path}.{index}");
        let kind = option.get("type").and_then(Value::as_u64).unwrap_or(0);
        let name = option
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !name_ok(name, true) || !names.insert(name.to_owned()) {
            problems.push(FormProblem::new(
                format!("{option_path}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            ));
        }
        let description = option
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !(1..=100).contains(&description.chars().count()) {
            problems.push(FormProblem::new(
                format!("{option_path}.description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        if !(1..=11).contains(&kind) {
            problems.push(FormProblem::new(
                format!("{option_path}.type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).",
            ));
        }
        let required = option
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if kind > 2 {
            if required && seen_optional {
                problems.push(FormProblem::new(
                    format!("{option_path}.required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                ));
            }
            seen_optional |= !required;
        }
        let choices = option.get("choices").and_then(Value::as_array);
        if choices.is_some_and(|choices| choices.len() > 25) {
            problems.push(FormProblem::too_long(format!("{option_path}.choices"), 25));
        }
        if choices.is_some_and(|choices| !choices.is_empty())
            && option.get("autocomplete").and_then(Value::as_bool) == Some(true)
        {
            problems.push(FormProblem::new(
                format!("{option_path}.autocomplete"),
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                "Autocomplete cannot be set with choices",
            ));
        }
        if let Some(children) = option.get("options").and_then(Value::as_array) {
            let allowed = (kind == 2 && depth == 0) || kind == 1;
            if allowed {
                check_options(
                    &format!("{option_path}.options"),
                    children,
                    depth + 1,
                    problems,
                );
            } else if !children.is_empty() {
                problems.push(FormProblem::new(
                    format!("{option_path}.options"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Only subcommands and groups hold options",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_codes(error: &ApiError) -> String {
        error.body["errors"].to_string()
    }

    #[test]
    fn a_message_over_discords_limits_is_refused_with_the_field_path() {
        let error = message_patch(&json!({
            "content": "x".repeat(2001),
            "embeds": [{"title": "t".repeat(257), "fields": [{"name": "n"}]}],
        }))
        .unwrap_err();
        assert_eq!(error.body["code"], 50035);
        let errors = problem_codes(&error);
        assert!(errors.contains("\"content\""), "{errors}");
        assert!(errors.contains("\"title\""), "{errors}");
        assert!(errors.contains("BASE_TYPE_REQUIRED"), "{errors}");
    }

    #[test]
    fn the_six_thousand_character_embed_total_is_enforced_across_embeds() {
        let embed = json!({"description": "d".repeat(4000)});
        let error = message_patch(&json!({"embeds": [embed.clone(), embed]})).unwrap_err();
        assert!(problem_codes(&error).contains("MAX_EMBED_SIZE_EXCEEDED"));
    }

    #[test]
    fn rows_buttons_and_custom_ids_follow_discords_limits() {
        let button = |id: &str| json!({"type": 2, "style": 1, "label": "b", "custom_id": id});
        let ok = json!({"components": [{"type": 1, "components": [button("a"), button("b")]}]});
        assert!(message_patch(&ok).is_ok());
        let duplicate =
            json!({"components": [{"type": 1, "components": [button("a"), button("a")]}]});
        assert!(problem_codes(&message_patch(&duplicate).unwrap_err()).contains("DUPLICATED"));
        let six: Vec<_> = (0..6).map(|i| button(&i.to_string())).collect();
        let wide = json!({"components": [{"type": 1, "components": six}]});
        assert!(message_patch(&wide).is_err());
        let long_id =
            json!({"components": [{"type": 1, "components": [button(&"x".repeat(101))]}]});
        assert!(message_patch(&long_id).is_err());
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let patch = message_patch(&json!({"content": null, "embeds": []})).unwrap();
        assert_eq!(patch.content.as_deref(), Some(""));
        assert_eq!(patch.embeds, Some(Vec::new()));
        assert_eq!(patch.components, None);
        assert!(!patch.has_body());
    }

    #[test]
    fn commands_must_have_lowercase_names_descriptions_and_required_options_first() {
        assert!(
            commands(
                &json!([{"name": "reset-email", "description": "Send mail", "options": [
                    {"type": 3, "name": "user", "description": "Who", "required": true},
                    {"type": 4, "name": "days", "description": "How many"}
                ]}])
            )
            .is_ok()
        );
        for bad in [
            json!([{"name": "Reset", "description": "d"}]),
            json!([{"name": "reset"}]),
            json!([{"name": "reset", "description": "d", "options": [
                {"type": 3, "name": "a", "description": "a"},
                {"type": 3, "name": "b", "description": "b", "required": true}
            ]}]),
            json!([{"name": "a", "description": "d"}, {"name": "a", "description": "d"}]),
            json!({"name": "not-a-list"}),
        ] {
            let error = commands(&bad).unwrap_err();
            assert_eq!(error.body["code"], 50035, "{bad}");
        }
        // User and message commands take no description and may use capitals.
        assert!(commands(&json!([{"type": 2, "name": "Profile", "description": ""}])).is_ok());
    }

    #[test]
    fn modals_need_a_title_and_one_text_input_per_row() {
        let input = json!({"type": 4, "custom_id": "pw", "label": "Password", "style": 1});
        assert!(modal(&json!({"custom_id": "m", "title": "T", "components": [{"type": 1, "components": [input]}]})).is_ok());
        assert!(modal(&json!({"custom_id": "m", "title": "T", "components": []})).is_err());
        assert!(
            modal(&json!({"custom_id": "m", "components": [{"type": 1, "components": [input]}]}))
                .is_err()
        );
    }
}
