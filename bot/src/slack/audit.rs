//! The Slack audit channel: every audit record as a short message in `[slack] audit_channel`
//! (`chat.postMessage` with the bot token), fed by the engine's retrying
//! [`ChannelQueue`](passdesk_commands::audit::ChannelQueue).
//!
//! The client posts each record once ([`RetryPolicy::none`]): the queue owns the retries, so a
//! 429's `Retry-After` goes back to it as [`ChannelError::RateLimited`], a 5xx or timeout as
//! [`ChannelError::Unavailable`], and `ok: false` (`not_in_channel`, `channel_not_found`, …) as
//! [`ChannelError::Refused`]. Each message shows the log line's `seq` and the start of its hash,
//! so a post repeated after a lost answer is recognisable.

use passdesk_commands::Platform;
use passdesk_commands::audit::{AuditChannel, AuditRecord, ChannelError, PostFuture, Transition};
use passdesk_core::retry::RetryPolicy;
use serde_json::{Value, json};

use super::api::{ApiError, SlackApi};
use super::render::{SECTION_TEXT_MAX, escape, truncate};

/// Posts audit records to one Slack channel.
#[derive(Debug, Clone)]
pub struct SlackAuditChannel {
    api: SlackApi,
    channel: String,
}

impl SlackAuditChannel {
    /// Posts to `channel` through `api` (whose retries are turned off: the queue retries).
    pub fn new(api: SlackApi, channel: impl Into<String>) -> Self {
        Self {
            api: api.with_retry(RetryPolicy::none()),
            channel: channel.into(),
        }
    }
}

impl AuditChannel for SlackAuditChannel {
    fn post<'a>(&'a self, record: &'a AuditRecord) -> PostFuture<'a> {
        Box::pin(async move {
            let message = message(record);
            self.api
                .post_message(&self.channel, &message)
                .await
                .map(|_| ())
                .map_err(|e| channel_error(&e))
        })
    }
}

/// A Web API failure as the queue's error.
pub fn channel_error(error: &ApiError) -> ChannelError {
    match error {
        ApiError::RateLimited { retry_after, .. } => ChannelError::RateLimited {
            retry_after: *retry_after,
        },
        ApiError::Unavailable { status, .. } | ApiError::Upstream { status, .. }
            if (500..=599).contains(status) =>
        {
            ChannelError::Unavailable {
                status: Some(*status),
            }
        }
        ApiError::SentButUnknown { .. } | ApiError::Timeout { .. } => {
            ChannelError::Unavailable { status: None }
        }
        ApiError::NotSent { .. } => ChannelError::NotSent,
        other => ChannelError::refused(&other.to_string()),
    }
}

/// The outcome in a few words: counts of a run, the reason of a denial or failure, else the
/// event itself.
fn outcome(transition: &Transition) -> String {
    match transition {
        Transition::Executed(summary) => {
            let c = summary.counts();
            format!(
                "done {}, skipped {}, failed {}, unknown {}",
                c.done, c.skipped, c.failed, c.unknown
            )
        }
        Transition::Denied { reason } | Transition::Failed { reason } => reason.to_string(),
        other => other.name().replace('_', " "),
    }
}

/// Who: a mention (never pinging: the message is not a notification for them) for a Slack
/// user id, and the display name.
fn who(record: &AuditRecord) -> String {
    let actor = record.event().actor();
    let name = escape(actor.display_name().as_str());
    let id = actor.id().as_str();
    match actor.platform() {
        Platform::Slack if id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            format!("<@{id}> ({name})")
        }
        platform => format!("{name} ({platform} {})", escape(id)),
    }
}

/// The message of one record: `*executed* · reset · by … · request …`, the targets, the
/// outcome, and `seq · hash` in a context line.
pub fn message(record: &AuditRecord) -> Value {
    let event = record.event();
    let transition = event.transition();
    let mut lines = vec![format!(
        "*{}* · {} · by {} · request `{}`",
        transition.name(),
        escape(event.command().as_str()),
        who(record),
        escape(event.request_id().as_str()),
    )];
    if let Some(channel) = event.channel() {
        let channel = channel.as_str();
        if event.platform() == Platform::Slack && channel.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            lines.push(format!("in <#{channel}>"));
        } else {
            lines.push(format!("in {}", escape(channel)));
        }
    }
    let targets = event.targets();
    if targets.total() > 0 {
        let listed: Vec<String> = targets
            .listed()
            .iter()
            .map(|t| escape(t.as_str()))
            .collect();
        let mut text = listed.join(", ");
        let more = targets.total().saturating_sub(listed.len() as u64);
        if more > 0 {
            text.push_str(&format!(" (+{more} more)"));
        }
        lines.push(format!("targets ({}): {text}", targets.total()));
    }
    lines.push(format!("outcome: {}", escape(&outcome(transition))));
    let text = truncate(&lines.join("\n"), SECTION_TEXT_MAX);
    let hash: String = record.hash().chars().take(12).collect();
    let fallback = truncate(
        &format!(
            "passdesk audit: {} · {} · request {}",
            transition.name(),
            event.command().as_str(),
            event.request_id().as_str()
        ),
        300,
    );
    json!({
        "text": escape(&fallback),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": text } },
            { "type": "context", "elements": [
                { "type": "mrkdwn", "text": format!("seq {} · {hash}", record.seq()) }
            ] },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn web_api_failures_map_to_what_the_queue_does_next() {
        let limited = channel_error(&ApiError::RateLimited {
            method: "chat.postMessage",
            retry_after: Some(Duration::from_secs(7)),
        });
        assert!(matches!(
            limited,
            ChannelError::RateLimited {
                retry_after: Some(d)
            } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            channel_error(&ApiError::Unavailable {
                method: "chat.postMessage",
                status: 503
            }),
            ChannelError::Unavailable { status: Some(503) }
        ));
        let refused = channel_error(&ApiError::Slack {
            method: "chat.postMessage",
            code: "not_in_channel".to_owned(),
        });
        assert!(refused.to_string().contains("not_in_channel"), "{refused}");
        assert!(matches!(
            channel_error(&ApiError::NotSent {
                method: "chat.postMessage"
            }),
            ChannelError::NotSent
        ));
    }
}
