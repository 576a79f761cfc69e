//! What Slack POSTs, as small hand-written types holding only the fields Passdesk reads:
//! a slash command's form ([`SlashCommand`]) and the `payload` of an interaction
//! ([`Interaction`]: `block_actions`, `view_submission`, `view_closed`, anything else ignored).
//!
//! Call these **after** the signature check: they parse the raw body once, with one parser,
//! and refuse duplicate form keys. Unknown fields are ignored (Slack adds fields), unknown
//! interaction types become [`Interaction::Other`]. The password typed in a modal is moved
//! straight into a [`SecretString`]; no type here derives a `Debug` that shows it, and no error
//! carries the body.

use std::collections::HashMap;
use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::api::ResponseUrl;

/// Why a body is not a Slack request Passdesk reads. Never carries the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A form key appears twice.
    #[error("duplicate form field")]
    DuplicateField,
    /// A field Passdesk needs is missing.
    #[error("missing form field {0}")]
    MissingField(&'static str),
    /// The interaction body has no `payload` field.
    #[error("no payload")]
    NoPayload,
    /// The payload is not JSON of the expected shape.
    #[error("payload is not a slack interaction")]
    BadPayload,
}

/// The form fields of a body, refusing duplicates.
fn form(body: &[u8]) -> Result<HashMap<String, String>, WireError> {
    let mut fields = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        if fields
            .insert(key.into_owned(), value.into_owned())
            .is_some()
        {
            return Err(WireError::DuplicateField);
        }
    }
    Ok(fields)
}

/// A slash command (`application/x-www-form-urlencoded`). `Debug` leaves out the
/// `response_url` and `trigger_id` (capabilities) and the text.
#[derive(Clone)]
pub struct SlashCommand {
    /// The workspace (`team_id`): the tenant.
    pub team_id: String,
    /// The channel it was typed in.
    pub channel_id: String,
    /// The invoker: the only identity to trust.
    pub user_id: String,
    /// The invoker's (deprecated) handle: for display only.
    pub user_name: String,
    /// The command (`/passdesk`).
    pub command: String,
    /// Everything after the command.
    pub text: String,
    /// The app the command belongs to.
    pub api_app_id: Option<String>,
    /// Where later replies go (5 posts within 30 minutes).
    pub response_url: ResponseUrl,
    /// Opens a modal, within 3 s, once.
    pub trigger_id: Option<String>,
}

impl fmt::Debug for SlashCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlashCommand")
            .field("team_id", &self.team_id)
            .field("channel_id", &self.channel_id)
            .field("user_id", &self.user_id)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

impl SlashCommand {
    /// Parses a slash command's raw (already verified) form body. `ssl_check` bodies are not
    /// slash commands: the endpoint answers them before calling this.
    ///
    /// # Errors
    ///
    /// A duplicate key, or a missing `team_id`, `user_id`, `channel_id` or `response_url`.
    pub fn from_form(body: &[u8]) -> Result<Self, WireError> {
        let mut fields = form(body)?;
        let mut take = |name: &'static str| fields.remove(name);
        let required = |value: Option<String>, name: &'static str| {
            value
                .filter(|v| !v.is_empty())
                .ok_or(WireError::MissingField(name))
        };
        Ok(Self {
            team_id: required(take("team_id"), "team_id")?,
            channel_id: required(take("channel_id"), "channel_id")?,
            user_id: required(take("user_id"), "user_id")?,
            user_name: take("user_name").unwrap_or_default(),
            command: take("command").unwrap_or_default(),
            text: take("text").unwrap_or_default(),
            api_app_id: take("api_app_id").filter(|v| !v.is_empty()),
            response_url: ResponseUrl::new(required(take("response_url"), "response_url")?),
            trigger_id: take("trigger_id").filter(|v| !v.is_empty()),
        })
    }
}

/// `{"id": …}` objects (team, channel).
#[derive(Debug, Clone, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: String,
}

/// The acting user of an interaction.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// The user id.
    pub id: String,
    /// The handle (`block_actions`): display only.
    #[serde(default)]
    pub username: Option<String>,
    /// The handle (views; often both are sent): display only.
    #[serde(default)]
    pub name: Option<String>,
}

impl User {
    /// A name for people to read: `username`, else `name`.
    pub fn display_name(&self) -> Option<&str> {
        self.username.as_deref().or(self.name.as_deref())
    }
}

/// Where a pressed button sits.
#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    /// `message`, `view`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The message's `ts`.
    #[serde(default)]
    pub message_ts: Option<String>,
    /// The message's channel.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// Whether the message is ephemeral (then only `response_url` can change it).
    #[serde(default)]
    pub is_ephemeral: bool,
}

/// One action of a `block_actions` payload.
#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    /// The element's `action_id` (`pd:confirm`, …).
    pub action_id: String,
    /// The block it sits in.
    #[serde(default)]
    pub block_id: Option<String>,
    /// The button's value (the pending action id).
    #[serde(default)]
    pub value: Option<String>,
}

/// A button press (`block_actions`).
#[derive(Clone, Deserialize)]
pub struct BlockActions {
    /// The app.
    #[serde(default)]
    pub api_app_id: Option<String>,
    /// The workspace (`null` on org-wide installs: refused).
    #[serde(default)]
    pub team: Option<IdRef>,
    /// Who pressed.
    pub user: User,
    /// The conversation of the message.
    #[serde(default)]
    pub channel: Option<IdRef>,
    /// The message pressed.
    #[serde(default)]
    pub container: Option<Container>,
    /// Opens a modal within 3 s, once.
    #[serde(default)]
    pub trigger_id: Option<String>,
    /// Edits the pressed message (5 posts within 30 minutes).
    #[serde(default, deserialize_with = "response_url")]
    pub response_url: Option<ResponseUrl>,
    /// What was pressed (one action for a button).
    #[serde(default)]
    pub actions: Vec<Action>,
}

impl fmt::Debug for BlockActions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockActions")
            .field("team", &self.team.as_ref().map(|t| &t.id))
            .field("user", &self.user.id)
            .field("actions", &self.actions)
            .finish_non_exhaustive()
    }
}

fn response_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ResponseUrl>, D::Error> {
    let url: Option<String> = Option::deserialize(d)?;
    Ok(url.filter(|u| !u.is_empty()).map(ResponseUrl::new))
}

/// The submitted or closed modal.
#[derive(Clone, Deserialize)]
pub struct View {
    /// The view id.
    #[serde(default)]
    pub id: Option<String>,
    /// Which modal (`pd:password`).
    #[serde(default)]
    pub callback_id: Option<String>,
    /// The opaque id Passdesk put there.
    #[serde(default)]
    pub private_metadata: Option<String>,
    /// What was typed.
    #[serde(default)]
    state: ViewState,
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View")
            .field("id", &self.id)
            .field("callback_id", &self.callback_id)
            .finish_non_exhaustive()
    }
}

/// `view.state.values[block_id][action_id]`, as secrets.
#[derive(Clone, Default, Deserialize)]
struct ViewState {
    #[serde(default)]
    values: HashMap<String, HashMap<String, InputValue>>,
}

#[derive(Clone, Deserialize)]
struct InputValue {
    #[serde(default, deserialize_with = "secret")]
    value: Option<SecretString>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let value: Option<String> = Option::deserialize(d)?;
    Ok(value.map(SecretString::from))
}

impl View {
    /// Takes the text typed in the input `block_id` / `action_id` out of the view (a second
    /// call finds nothing).
    pub fn take_value(&mut self, block_id: &str, action_id: &str) -> Option<SecretString> {
        self.state
            .values
            .get_mut(block_id)?
            .get_mut(action_id)?
            .value
            .take()
    }
}

/// A modal submitted (`view_submission`) or closed (`view_closed`).
#[derive(Clone, Deserialize)]
pub struct ViewPayload {
    /// The app.
    #[serde(default)]
    pub api_app_id: Option<String>,
    /// The workspace.
    #[serde(default)]
    pub team: Option<IdRef>,
    /// Who submitted.
    pub user: User,
    /// The view.
    pub view: View,
}

impl fmt::Debug for ViewPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ViewPayload")
            .field("team", &self.team.as_ref().map(|t| &t.id))
            .field("user", &self.user.id)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

/// An interaction payload, by `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Interaction {
    /// A button press.
    BlockActions(BlockActions),
    /// A modal submitted.
    ViewSubmission(ViewPayload),
    /// A modal closed (only with `notify_on_close`).
    ViewClosed(ViewPayload),
    /// Anything else (shortcuts, `block_suggestion`, …): acknowledged and ignored.
    #[serde(other)]
    Other,
}

impl Interaction {
    /// Parses an interaction's raw (already verified) form body: its one `payload` field.
    ///
    /// # Errors
    ///
    /// A duplicate key, no `payload`, or a payload that is not an interaction.
    pub fn from_form(body: &[u8]) -> Result<Self, WireError> {
        let mut fields = form(body)?;
        let payload = fields.remove("payload").ok_or(WireError::NoPayload)?;
        Self::from_json(&payload)
    }

    /// Parses an interaction payload (JSON text).
    ///
    /// # Errors
    ///
    /// [`WireError::BadPayload`] when it is not an interaction of a known shape.
    pub fn from_json(payload: &str) -> Result<Self, WireError> {
        // Through `Value` first: a payload whose `type` is not a string is refused, not `Other`.
        let value: Value = serde_json::from_str(payload).map_err(|_| WireError::BadPayload)?;
        if !value.get("type").is_some_and(Value::is_string) {
            return Err(WireError::BadPayload);
        }
        serde_json::from_value(value).map_err(|_| WireError::BadPayload)
    }

    /// The payload's type name, for spans.
    pub fn kind(&self) -> &'static str {
        match self {
            Interaction::BlockActions(_) => "block_actions",
            Interaction::ViewSubmission(_) => "view_submission",
            Interaction::ViewClosed(_) => "view_closed",
            Interaction::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;
    use serde_json::json;

    fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish().into_bytes()
    }

    #[test]
    fn a_slash_command_form_is_read_once_and_duplicates_are_refused() {
        let body =
            b"token=legacyNotUsed&team_id=T0PASSDESK&team_domain=acme-it&channel_id=C0HELPDESK\
&channel_name=helpdesk&user_id=U0REQUEST1&user_name=ana&command=%2Fpasswd\
&text=reset+user%3Ajc.one+dry-run%3Atrue&api_app_id=A0PASSDESK&is_enterprise_install=false\
&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0PASSDESK%2F1111%2Fabcd\
&trigger_id=1111.2222.0f0f0f0f";
        let command = SlashCommand::from_form(body).unwrap();
        assert_eq!(command.text, "reset user:jc.one dry-run:true");
        assert_eq!(command.command, "/passwd");
        assert_eq!(command.team_id, "T0PASSDESK");
        assert_eq!(command.api_app_id.as_deref(), Some("A0PASSDESK"));
        let shown = format!("{command:?}");
        assert!(!shown.contains("hooks.slack.com"), "{shown}");
        assert!(!shown.contains("1111.2222"), "{shown}");

        let twice = encode(&[
            ("team_id", "T1"),
            ("team_id", "T2"),
            ("user_id", "U1"),
            ("channel_id", "C1"),
            ("response_url", "http://x"),
        ]);
        assert_eq!(
            SlashCommand::from_form(&twice).unwrap_err(),
            WireError::DuplicateField
        );
        let no_text = encode(&[
            ("team_id", "T1"),
            ("user_id", "U1"),
            ("channel_id", "C1"),
            ("response_url", "http://x"),
        ]);
        assert_eq!(SlashCommand::from_form(&no_text).unwrap().text, "");
        assert_eq!(
            SlashCommand::from_form(b"team_id=T1").unwrap_err(),
            WireError::MissingField("channel_id")
        );
    }

    #[test]
    fn interactions_dispatch_on_type_and_unknown_types_are_other() {
        let press = json!({
            "type": "block_actions", "api_app_id": "A0PASSDESK",
            "team": {"id": "T0PASSDESK", "domain": "acme-it"},
            "user": {"id": "U0APPROVER", "username": "bo", "name": "bo", "team_id": "T0PASSDESK"},
            "channel": {"id": "C0APPROVAL", "name": "passdesk-approvals"},
            "container": {"type": "message", "message_ts": "1700000100.000200",
                          "channel_id": "C0APPROVAL", "is_ephemeral": false},
            "trigger_id": "2222.3333.1a1a1a1a",
            "response_url": "https://hooks.slack.com/actions/T0PASSDESK/2222/efgh",
            "actions": [{"type": "button", "action_id": "pd:approve", "block_id": "pd:appr",
                         "value": "7f3a9c", "text": {"type": "plain_text", "text": "Approve"},
                         "action_ts": "1700000123.456789", "brand_new_field": 1}],
            "message": {"blocks": [{"type": "a_block_type_from_the_future"}]},
            "state": {"values": {}}
        });
        let body = encode(&[("payload", &press.to_string())]);
        let Interaction::BlockActions(actions) = Interaction::from_form(&body).unwrap() else {
            panic!("not block_actions");
        };
        assert_eq!(actions.user.id, "U0APPROVER");
        assert_eq!(actions.actions[0].value.as_deref(), Some("7f3a9c"));
        let container = actions.container.unwrap();
        assert_eq!(container.message_ts.as_deref(), Some("1700000100.000200"));
        assert!(!container.is_ephemeral);

        let other = json!({"type": "shortcut", "user": {"id": "U1"}});
        assert!(matches!(
            Interaction::from_json(&other.to_string()).unwrap(),
            Interaction::Other
        ));
        assert_eq!(
            Interaction::from_json("{\"type\": 3}").unwrap_err(),
            WireError::BadPayload
        );
        assert_eq!(
            Interaction::from_form(b"ssl_check=1").unwrap_err(),
            WireError::NoPayload
        );
    }

    #[test]
    fn a_submitted_password_is_a_secret_that_no_debug_or_error_shows() {
        let payload = json!({
            "type": "view_submission",
            "team": {"id": "T0PASSDESK"},
            "user": {"id": "U0REQUEST1", "name": "ana"},
            "view": {"id": "V0MODAL01", "type": "modal", "callback_id": "pd:password",
                     "private_metadata": "abc",
                     "state": {"values": {"pd:pw": {"value": {"type": "plain_text_input",
                                                              "value": "correct-horse-battery"}}}}}
        });
        let parsed = Interaction::from_json(&payload.to_string()).unwrap();
        assert!(!format!("{parsed:?}").contains("correct-horse"));
        let Interaction::ViewSubmission(mut submitted) = parsed else {
            panic!("not a view submission");
        };
        let password = submitted.view.take_value("pd:pw", "value").unwrap();
        assert_eq!(password.expose_secret(), "correct-horse-battery");
        assert!(submitted.view.take_value("pd:pw", "value").is_none());
        // A malformed one: the error says nothing about the content.
        let bad = "{\"type\":\"view_submission\",\"view\":\"correct-horse-battery\"}";
        let error = Interaction::from_json(bad).unwrap_err();
        assert!(!error.to_string().contains("correct-horse"));
    }
}
