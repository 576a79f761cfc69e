//! The serialised form of one audit line (format version 1), kept apart from the domain type.
//!
//! The format is described in the parent module's docs; this file is its only definition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{
    AuditActor, AuditEvent, AuditText, ExecutionSummary, OutcomeCounts, TargetResult, TargetStatus,
    Targets, Transition,
};
use crate::invocation::Platform;

/// The format version written in `v`.
pub(super) const FORMAT_VERSION: u32 = 1;

/// One line of the audit log.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct WireLine {
    pub(super) v: u32,
    pub(super) seq: u64,
    pub(super) prev: String,
    at: DateTime<Utc>,
    event: WireKind,
    request_id: String,
    command: String,
    platform: WirePlatform,
    actor: WireActor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    targets: Vec<String>,
    targets_total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<WireSummary>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireKind {
    Requested,
    Denied,
    DryRun,
    Confirmed,
    Cancelled,
    ApprovalRequested,
    Approved,
    Rejected,
    Expired,
    Executed,
    Failed,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WirePlatform {
    Discord,
    Slack,
    Console,
    Cli,
}

impl From<Platform> for WirePlatform {
    fn from(platform: Platform) -> Self {
        match platform {
            Platform::Discord => WirePlatform::Discord,
            Platform::Slack => WirePlatform::Slack,
            Platform::Console => WirePlatform::Console,
            Platform::Cli => WirePlatform::Cli,
        }
    }
}

impl From<WirePlatform> for Platform {
    fn from(platform: WirePlatform) -> Self {
        match platform {
            WirePlatform::Discord => Platform::Discord,
            WirePlatform::Slack => Platform::Slack,
            WirePlatform::Console => Platform::Console,
            WirePlatform::Cli => Platform::Cli,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct WireActor {
    platform: WirePlatform,
    id: String,
    name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireSummary {
    done: u64,
    skipped: u64,
    failed: u64,
    unknown: u64,
    targets: Vec<WireTarget>,
    omitted: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireTarget {
    target: String,
    status: WireStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireStatus {
    Done,
    Skipped,
    Failed,
    Unknown,
}

impl From<TargetStatus> for WireStatus {
    fn from(status: TargetStatus) -> Self {
        match status {
            TargetStatus::Done => WireStatus::Done,
            TargetStatus::Skipped => WireStatus::Skipped,
            TargetStatus::Failed => WireStatus::Failed,
            TargetStatus::Unknown => WireStatus::Unknown,
        }
    }
}

impl From<WireStatus> for TargetStatus {
    fn from(status: WireStatus) -> Self {
        match status {
            WireStatus::Done => TargetStatus::Done,
            WireStatus::Skipped => TargetStatus::Skipped,
            WireStatus::Failed => TargetStatus::Failed,
            WireStatus::Unknown => TargetStatus::Unknown,
        }
    }
}

fn text(value: &AuditText) -> String {
    value.as_str().to_owned()
}

impl WireLine {
    /// The line for `event` at position `seq`, chained to the line whose hash is `prev` (hex).
    pub(super) fn new(event: &AuditEvent, seq: u64, prev: &str) -> Self {
        let (kind, reason, summary) = match &event.transition {
            Transition::Requested => (WireKind::Requested, None, None),
            Transition::Denied { reason } => (WireKind::Denied, Some(text(reason)), None),
            Transition::DryRun => (WireKind::DryRun, None, None),
            Transition::Confirmed => (WireKind::Confirmed, None, None),
            Transition::Cancelled => (WireKind::Cancelled, None, None),
            Transition::ApprovalRequested => (WireKind::ApprovalRequested, None, None),
            Transition::Approved => (WireKind::Approved, None, None),
            Transition::Rejected => (WireKind::Rejected, None, None),
            Transition::Expired => (WireKind::Expired, None, None),
            Transition::Executed(summary) => {
                let counts = summary.counts;
                let wire = WireSummary {
                    done: counts.done,
                    skipped: counts.skipped,
                    failed: counts.failed,
                    unknown: counts.unknown,
                    targets: summary
                        .listed
                        .iter()
                        .map(|result| WireTarget {
                            target: text(&result.target),
                            status: result.status.into(),
                            detail: result.detail.as_ref().map(text),
                        })
                        .collect(),
                    omitted: summary.omitted(),
                };
                (WireKind::Executed, None, Some(wire))
            }
            Transition::Failed { reason } => (WireKind::Failed, Some(text(reason)), None),
        };
        WireLine {
            v: FORMAT_VERSION,
            seq,
            prev: prev.to_owned(),
            at: event.at,
            event: kind,
            request_id: text(&event.request_id),
            command: text(&event.command),
            platform: event.platform.into(),
            actor: WireActor {
                platform: event.actor.platform.into(),
                id: text(&event.actor.id),
                name: text(&event.actor.display_name),
            },
            channel: event.channel.as_ref().map(text),
            tenant: event.tenant.as_ref().map(text),
            targets: event.targets.listed.iter().map(text).collect(),
            targets_total: event.targets.total,
            reason,
            summary,
        }
    }

    /// The event this line records, or what makes it inconsistent.
    pub(super) fn into_event(self) -> Result<AuditEvent, String> {
        let reason = self.reason.as_deref().map(AuditText::from_log);
        let transition = match (self.event, reason, self.summary) {
            (WireKind::Executed, None, Some(s)) => Transition::Executed(ExecutionSummary {
                counts: OutcomeCounts {
                    done: s.done,
                    skipped: s.skipped,
                    failed: s.failed,
                    unknown: s.unknown,
                },
                listed: s
                    .targets
                    .into_iter()
                    .map(|t| TargetResult {
                        target: AuditText::from_log(&t.target),
                        status: t.status.into(),
                        detail: t.detail.as_deref().map(AuditText::from_log),
                    })
                    .collect(),
            }),
            (WireKind::Executed, _, None) => return Err("executed event without summary".into()),
            (WireKind::Denied, Some(reason), None) => Transition::Denied { reason },
            (WireKind::Failed, Some(reason), None) => Transition::Failed { reason },
            (kind @ (WireKind::Denied | WireKind::Failed), None, _) => {
                return Err(format!("{kind:?} event without reason").to_lowercase());
            }
            (kind, None, None) => match kind {
                WireKind::Requested => Transition::Requested,
                WireKind::DryRun => Transition::DryRun,
                WireKind::Confirmed => Transition::Confirmed,
                WireKind::Cancelled => Transition::Cancelled,
                WireKind::ApprovalRequested => Transition::ApprovalRequested,
                WireKind::Approved => Transition::Approved,
                WireKind::Rejected => Transition::Rejected,
                WireKind::Expired => Transition::Expired,
                WireKind::Executed | WireKind::Denied | WireKind::Failed => {
                    return Err("inconsistent event fields".into());
                }
            },
            _ => return Err("fields that do not belong to this event".into()),
        };
        Ok(AuditEvent {
            at: self.at,
            transition,
            actor: AuditActor {
                platform: self.actor.platform.into(),
                id: AuditText::from_log(&self.actor.id),
                display_name: AuditText::from_log(&self.actor.name),
            },
            platform: self.platform.into(),
            channel: self.channel.as_deref().map(AuditText::from_log),
            tenant: self.tenant.as_deref().map(AuditText::from_log),
            command: AuditText::from_log(&self.command),
            request_id: AuditText::from_log(&self.request_id),
            targets: Targets {
                listed: self
                    .targets
                    .iter()
                    .map(|t| AuditText::from_log(t))
                    .collect(),
                total: self.targets_total,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::invocation::Actor;

    fn actor() -> Actor {
        Actor {
            platform: Platform::Discord,
            id: "111".into(),
            display_name: "Jane".into(),
            roles: vec![],
        }
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn every_transition_survives_the_wire() {
        let mut summary = ExecutionSummary::new();
        summary.push(TargetResult::new("jc.one", TargetStatus::Done).with_detail("reset mail"));
        summary.push(TargetResult::new("jc.two", TargetStatus::Skipped).with_detail("suspended"));
        let transitions = [
            Transition::Requested,
            Transition::denied("missing role helpdesk"),
            Transition::DryRun,
            Transition::Confirmed,
            Transition::Cancelled,
            Transition::ApprovalRequested,
            Transition::Approved,
            Transition::Rejected,
            Transition::Expired,
            Transition::Executed(summary),
            Transition::failed("jumpcloud unavailable"),
        ];
        for transition in transitions {
            let event = AuditEvent::builder(transition, &actor(), "reset", "7f3a9c")
                .at(at())
                .channel(Some("C1"))
                .targets(["jc.one", "jc.two"])
                .build();
            let json = serde_json::to_string(&WireLine::new(&event, 3, "ab")).unwrap();
            let back: WireLine = serde_json::from_str(&json).unwrap();
            assert_eq!(back.seq, 3);
            assert_eq!(back.prev, "ab");
            assert_eq!(back.into_event().unwrap(), event, "{json}");
        }
    }

    #[test]
    fn executed_line_has_the_documented_shape() {
        let mut summary = ExecutionSummary::new();
        summary.push(TargetResult::new("jc.one", TargetStatus::Done).with_detail("reset mail"));
        let event = AuditEvent::builder(Transition::Executed(summary), &actor(), "reset", "7f")
            .at(at())
            .tenant(Some("G1"))
            .target("jc.one")
            .build();
        let json = serde_json::to_value(WireLine::new(&event, 1, "00")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "v": 1, "seq": 1, "prev": "00", "at": "2025-01-02T03:04:05Z",
                "event": "executed", "request_id": "7f", "command": "reset",
                "platform": "discord",
                "actor": {"platform": "discord", "id": "111", "name": "Jane"},
                "tenant": "G1", "targets": ["jc.one"], "targets_total": 1,
                "summary": {"done": 1, "skipped": 0, "failed": 0, "unknown": 0,
                            "targets": [{"target": "jc.one", "status": "done",
                                         "detail": "reset mail"}],
                            "omitted": 0}
            })
        );
    }

    #[test]
    fn inconsistent_lines_are_refused() {
        let event = AuditEvent::builder(Transition::Requested, &actor(), "reset", "7f")
            .at(at())
            .build();
        let mut json = serde_json::to_value(WireLine::new(&event, 1, "00")).unwrap();
        json["event"] = "executed".into();
        let line: WireLine = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            line.into_event().unwrap_err(),
            "executed event without summary"
        );
        json["event"] = "denied".into();
        let line: WireLine = serde_json::from_value(json).unwrap();
        assert_eq!(
            line.into_event().unwrap_err(),
            "denied event without reason"
        );
    }
}
