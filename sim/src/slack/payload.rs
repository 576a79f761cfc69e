//! The bodies Slack POSTs to an app: slash-command forms and interaction payloads.

use serde_json::{Value, json};

use super::model::{FakeChannel, FakeUser};
use super::state::Team;

/// Who did what where: the parts every request carries.
pub(crate) struct Context<'a> {
    pub(crate) app_id: &'a str,
    pub(crate) verification_token: &'a str,
    pub(crate) team: &'a Team,
    pub(crate) user: &'a FakeUser,
}

impl Context<'_> {
    fn team_json(&self) -> Value {
        json!({ "id": self.team.id, "domain": self.team.domain })
    }

    fn user_json(&self) -> Value {
        self.user.payload_json(&self.team.id)
    }
}

/// The form body of a slash command, with every field Slack sends, in Slack's order, encoded
/// as Slack does (`+` for spaces, `%2F` for `/`).
pub(crate) fn slash_command(
    context: &Context<'_>,
    channel: &FakeChannel,
    command: &str,
    text: &str,
    response_url: &str,
    trigger_id: &str,
) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", context.verification_token)
        .append_pair("team_id", &context.team.id)
        .append_pair("team_domain", &context.team.domain)
        .append_pair("channel_id", &channel.id)
        .append_pair("channel_name", &channel.name)
        .append_pair("user_id", &context.user.id)
        .append_pair("user_name", &context.user.name)
        .append_pair("command", command)
        .append_pair("text", text)
        .append_pair("api_app_id", context.app_id)
        .append_pair("is_enterprise_install", "false")
        .append_pair("response_url", response_url)
        .append_pair("trigger_id", trigger_id)
        .finish()
        .into_bytes()
}

/// The pressed message, as a `block_actions` payload describes it.
pub(crate) struct Pressed<'a> {
    pub(crate) channel: &'a FakeChannel,
    pub(crate) ts: &'a str,
    pub(crate) ephemeral: bool,
    /// The message object (sent for channel messages only).
    pub(crate) message: Option<Value>,
    pub(crate) button: &'a Value,
    pub(crate) block_id: &'a str,
}

/// A `block_actions` payload for one button press.
pub(crate) fn block_actions(
    context: &Context<'_>,
    pressed: &Pressed<'_>,
    response_url: &str,
    trigger_id: &str,
    action_ts: &str,
) -> Value {
    let mut action = json!({
        "type": "button",
        "action_id": pressed.button.get("action_id").cloned().unwrap_or(Value::Null),
        "block_id": pressed.block_id,
        "text": pressed.button.get("text").cloned().unwrap_or(Value::Null),
        "action_ts": action_ts,
    });
    for key in ["value", "style", "url"] {
        if let Some(value) = pressed.button.get(key) {
            action[key] = value.clone();
        }
    }
    let mut payload = json!({
        "type": "block_actions",
        "user": context.user_json(),
        "api_app_id": context.app_id,
        "token": context.verification_token,
        "container": {
            "type": "message",
            "message_ts": pressed.ts,
            "channel_id": pressed.channel.id,
            "is_ephemeral": pressed.ephemeral,
        },
        "trigger_id": trigger_id,
        "team": context.team_json(),
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": { "id": pressed.channel.id, "name": pressed.channel.name },
        "state": { "values": {} },
        "response_url": response_url,
        "actions": [action],
    });
    if let Some(message) = &pressed.message {
        payload["message"] = message.clone();
    }
    payload
}

/// A `view_submission` payload; `view` already carries `state.values`.
pub(crate) fn view_submission(context: &Context<'_>, view: &Value, trigger_id: &str) -> Value {
    json!({
        "type": "view_submission",
        "team": context.team_json(),
        "user": context.user_json(),
        "api_app_id": context.app_id,
        "token": context.verification_token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": false,
        "enterprise": null,
    })
}

/// A `view_closed` payload.
pub(crate) fn view_closed(context: &Context<'_>, view: &Value) -> Value {
    json!({
        "type": "view_closed",
        "team": context.team_json(),
        "user": context.user_json(),
        "api_app_id": context.app_id,
        "token": context.verification_token,
        "view": view,
        "is_cleared": false,
        "is_enterprise_install": false,
        "enterprise": null,
    })
}

/// `payload=<url-encoded JSON>`, the form body of every interaction.
pub(crate) fn interaction_body(payload: &Value) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_command_is_encoded_as_slack_encodes_it() {
        let team = Team {
            id: "T0PASSDESK".into(),
            domain: "acme-it".into(),
            name: "Acme IT".into(),
            bot_token: "xoxb-x".into(),
        };
        let user = FakeUser::new("U0REQUEST1", "ana");
        let context = Context {
            app_id: "A0PASSDESK",
            verification_token: "legacyNotUsed",
            team: &team,
            user: &user,
        };
        let channel = FakeChannel::public("C0HELPDESK", "helpdesk");
        let body = slash_command(
            &context,
            &channel,
            "/passwd",
            "reset user:jc.one dry-run:true",
            "https://hooks.slack.com/commands/T0PASSDESK/1111/abcd",
            "1111.2222.0f0f0f0f",
        );
        // The reference's made-up example, byte for byte.
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "token=legacyNotUsed&team_id=T0PASSDESK&team_domain=acme-it&channel_id=C0HELPDESK\
             &channel_name=helpdesk&user_id=U0REQUEST1&user_name=ana&command=%2Fpasswd\
             &text=reset+user%3Ajc.one+dry-run%3Atrue&api_app_id=A0PASSDESK\
             &is_enterprise_install=false\
             &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0PASSDESK%2F1111%2Fabcd\
             &trigger_id=1111.2222.0f0f0f0f"
        );
    }
}
