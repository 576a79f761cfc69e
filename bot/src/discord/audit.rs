//! The Discord audit channel: every audit record as a compact embed in `[discord]
//! audit_channel` (`POST /channels/{audit_channel}/messages` with the bot token), fed by the
//! engine's retrying [`ChannelQueue`](passdesk_commands::audit::ChannelQueue).
//!
//! An embed shows what happened (the event and command in the title), who (a mention, which
//! never pings, and the display name), the targets, the outcome (per-target counts, or the
//! reason of a denial or failure), the request id, the channel, and in the footer the log line's
//! `seq` and the start of its hash, so a post repeated after a lost answer is recognisable and
//! the channel witnesses the file's chain.

use passdesk_commands::Platform;
use passdesk_commands::audit::{
    AuditChannel, AuditRecord, AuditText, ChannelError, PostFuture, Transition,
};
use serenity::all::{
    ChannelId, Colour, CreateAllowedMentions, CreateEmbed, CreateEmbedFooter, CreateMessage,
    Timestamp,
};
use serenity::http::{Http, HttpError};
use std::sync::Arc;
use tracing::{Instrument as _, field, info_span};

use super::render::{FIELD_VALUE_MAX, truncate};
use super::rest;

/// Posts audit records to one Discord channel.
#[derive(Debug, Clone)]
pub struct DiscordAuditChannel {
    http: Arc<Http>,
    channel: ChannelId,
}

impl DiscordAuditChannel {
    /// Posts to `channel` through `http` (the bot token).
    pub fn new(http: Arc<Http>, channel: ChannelId) -> Self {
        Self { http, channel }
    }
}

impl AuditChannel for DiscordAuditChannel {
    fn post<'a>(&'a self, record: &'a AuditRecord) -> PostFuture<'a> {
        let span = info_span!(
            "discord.request",
            method = "POST",
            route = rest::CHANNEL_MESSAGES,
            seq = record.seq(),
            status = field::Empty,
        );
        Box::pin(
            async move {
                let message = message(record);
                match self.channel.send_message(self.http.as_ref(), message).await {
                    Ok(_) => {
                        tracing::Span::current().record("status", "2xx");
                        Ok(())
                    }
                    Err(e) => {
                        if let Some((status, _)) = rest::status_and_code(&e) {
                            tracing::Span::current().record("status", status);
                        }
                        Err(channel_error(&e))
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// Discord's answer as the queue's error: 429 rate limited, 5xx unavailable, a refusal
/// (`403` Missing Access `50001` / Missing Permissions `50013`, an unknown channel, …) refused.
pub fn channel_error(error: &serenity::Error) -> ChannelError {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            match status {
                // serenity does not keep a 429's `retry_after` (see `rest::outcome`); the queue
                // backs off on its own.
                429 => ChannelError::RateLimited { retry_after: None },
                500..=599 => ChannelError::Unavailable {
                    status: Some(status),
                },
                _ => ChannelError::refused(&format!(
                    "discord answered {status} (code {}): {}",
                    response.error.code, response.error.message
                )),
            }
        }
        serenity::Error::Http(HttpError::Request(request)) if request.is_connect() => {
            ChannelError::NotSent
        }
        serenity::Error::Http(HttpError::Request(_)) => ChannelError::Unavailable { status: None },
        other => ChannelError::refused(&rest::describe(other)),
    }
}

fn colour(transition: &Transition) -> Colour {
    match transition {
        Transition::Executed(summary) => {
            let counts = summary.counts();
            if counts.failed + counts.unknown == 0 {
                Colour::new(0x57F287)
            } else {
                Colour::new(0xFEE75C)
            }
        }
        Transition::Denied { .. } | Transition::Failed { .. } | Transition::Rejected => {
            Colour::new(0xED4245)
        }
        Transition::Expired | Transition::Cancelled => Colour::new(0x95A5A6),
        _ => Colour::new(0x5865F2),
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

/// Who: a mention (rendered, never pinging) for a Discord user, and the display name.
fn who(record: &AuditRecord) -> String {
    let actor = record.event().actor();
    let name = escape(actor.display_name().as_str());
    match actor.platform() {
        Platform::Discord if actor.id().as_str().bytes().all(|b| b.is_ascii_digit()) => {
            format!("<@{}> ({name})", actor.id())
        }
        platform => format!("{name} ({platform} {})", escape(actor.id().as_str())),
    }
}

/// Text from people (names, targets) without Discord markdown that could reshape the embed.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' | '*' | '_' | '~' | '|' | '>' | '<' | '@' => ' ',
            c => c,
        })
        .collect()
}

/// The embed of one record.
pub fn embed(record: &AuditRecord) -> CreateEmbed {
    let event = record.event();
    let transition = event.transition();
    let mut embed = CreateEmbed::new()
        .title(truncate(
            &format!("{} · {}", transition.name(), event.command()),
            256,
        ))
        .colour(colour(transition))
        .field("Who", truncate(&who(record), FIELD_VALUE_MAX), true)
        .field("Request", event.request_id().as_str(), true);
    if let Some(channel) = event.channel() {
        let channel = match event.platform() {
            Platform::Discord if channel.as_str().bytes().all(|b| b.is_ascii_digit()) => {
                format!("<#{channel}>")
            }
            _ => escape(channel.as_str()),
        };
        embed = embed.field("Channel", channel, true);
    }
    let targets = event.targets();
    if targets.total() > 0 {
        let listed: Vec<String> = targets
            .listed()
            .iter()
            .map(|t: &AuditText| escape(t.as_str()))
            .collect();
        let mut text = listed.join(", ");
        let more = targets.total().saturating_sub(listed.len() as u64);
        if more > 0 {
            text.push_str(&format!(" (+{more} more)"));
        }
        embed = embed.field(
            format!("Targets ({})", targets.total()),
            truncate(&text, FIELD_VALUE_MAX),
            false,
        );
    }
    embed = embed.field(
        "Outcome",
        truncate(&escape(&outcome(transition)), FIELD_VALUE_MAX),
        false,
    );
    let hash: String = record.hash().chars().take(12).collect();
    embed = embed.footer(CreateEmbedFooter::new(format!(
        "seq {} · {hash}",
        record.seq()
    )));
    if let Ok(at) = Timestamp::from_unix_timestamp(event.at().timestamp()) {
        embed = embed.timestamp(at);
    }
    embed
}

/// The channel message of one record (mentions render but never ping).
pub fn message(record: &AuditRecord) -> CreateMessage {
    CreateMessage::new()
        .embed(embed(record))
        .allowed_mentions(CreateAllowedMentions::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use passdesk_commands::audit::{
        AuditEvent, Auditor, ExecutionSummary, TargetResult, TargetStatus,
    };
    use passdesk_commands::{Actor, Platform};
    use serenity::http::ErrorResponse;

    fn actor() -> Actor {
        Actor {
            platform: Platform::Discord,
            id: "1300000000000000500".into(),
            display_name: "Alice *Desk*".into(),
            roles: vec![],
        }
    }

    /// Records `event` through a real audit log and returns the record the channel gets.
    async fn record(event: AuditEvent) -> AuditRecord {
        use std::sync::Mutex;
        struct Keep(Mutex<Vec<AuditRecord>>);
        impl AuditChannel for Keep {
            fn post<'a>(&'a self, record: &'a AuditRecord) -> PostFuture<'a> {
                self.0.lock().unwrap().push(record.clone());
                Box::pin(async { Ok(()) })
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let keep = Arc::new(Keep(Mutex::new(Vec::new())));
        let queue = passdesk_commands::audit::ChannelQueue::spawn(
            keep.clone(),
            passdesk_commands::audit::ChannelQueueConfig::default(),
        );
        let auditor = Auditor::builder(dir.path().join("audit.jsonl"))
            .channel(queue.clone())
            .open()
            .await
            .unwrap();
        auditor.record(event).await.unwrap();
        queue.flushed().await;
        let kept = keep.0.lock().unwrap().clone();
        kept.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn an_executed_event_is_a_compact_embed_with_who_what_targets_outcome_and_seq() {
        let summary: ExecutionSummary = [
            TargetResult::new("jane.doe", TargetStatus::Done),
            TargetResult::new("sam.taylor", TargetStatus::Skipped),
        ]
        .into_iter()
        .collect();
        let event =
            AuditEvent::builder(Transition::Executed(summary), &actor(), "reset", "1a2b3c4d")
                .channel(Some("1300000000000000400"))
                .targets(["jane.doe", "sam.taylor"])
                .build();
        let record = record(event).await;
        let json = serde_json::to_value(message(&record)).unwrap();
        assert_eq!(json["allowed_mentions"]["parse"], serde_json::json!([]));
        let embed = &json["embeds"][0];
        assert_eq!(embed["title"], "executed · reset");
        let fields = embed["fields"].as_array().unwrap();
        let field = |name: &str| {
            fields
                .iter()
                .find(|f| f["name"].as_str().unwrap().starts_with(name))
                .unwrap_or_else(|| panic!("{name} missing: {embed}"))["value"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(field("Who"), "<@1300000000000000500> (Alice  Desk )");
        assert_eq!(field("Request"), "1a2b3c4d");
        assert_eq!(field("Channel"), "<#1300000000000000400>");
        assert_eq!(field("Targets"), "jane.doe, sam.taylor");
        assert_eq!(field("Outcome"), "done 1, skipped 1, failed 0, unknown 0");
        let footer = embed["footer"]["text"].as_str().unwrap();
        assert_eq!(footer, format!("seq 1 · {}", &record.hash()[..12]));
        assert_eq!(embed["color"], 0x57F287);
    }

    #[tokio::test]
    async fn a_denial_shows_its_reason() {
        let event = AuditEvent::builder(
            Transition::denied("you are not in a group allowed to run `expire`"),
            &actor(),
            "expire",
            "00ff00ff",
        )
        .build();
        let record = record(event).await;
        let json = serde_json::to_value(embed(&record)).unwrap();
        let outcome = json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "Outcome")
            .unwrap();
        assert!(
            outcome["value"]
                .as_str()
                .unwrap()
                .contains("not in a group allowed")
        );
        assert_eq!(json["color"], 0xED4245);
    }

    /// A serenity error as Discord's answer `status` with this JSON body produces it.
    async fn unsuccessful(status: u16, code: isize, message: &str) -> serenity::Error {
        let body = serde_json::json!({"code": code, "message": message}).to_string();
        let response = http::Response::builder().status(status).body(body).unwrap();
        serenity::Error::Http(HttpError::UnsuccessfulRequest(
            ErrorResponse::from_response(reqwest::Response::from(response), reqwest::Method::POST)
                .await,
        ))
    }

    #[tokio::test]
    async fn discord_errors_map_to_what_the_queue_does_next() {
        assert!(matches!(
            channel_error(&unsuccessful(429, 0, "You are being rate limited.").await),
            ChannelError::RateLimited { .. }
        ));
        assert!(matches!(
            channel_error(&unsuccessful(502, 0, "Bad Gateway").await),
            ChannelError::Unavailable { status: Some(502) }
        ));
        for (status, code) in [(403, 50001), (403, 50013), (404, 10003)] {
            let error = channel_error(&unsuccessful(status, code, &"x".repeat(5000)).await);
            let ChannelError::Refused { reason } = &error else {
                panic!("{status} {code}: {error:?}");
            };
            assert!(reason.contains(&code.to_string()), "{reason}");
            assert!(reason.chars().count() < 400, "bounded excerpt: {reason}");
        }
    }
}
