//! Running a confirmed (and approved) request: the bulk executor over every target, or the one
//! password notification, then the `executed` audit line and the report.

use passdesk_core::mail::{Delivery, Password};
use tracing::{Span, field, instrument, warn};

use super::{Engine, EngineEvent, PendingPlan, Response, TargetReport};
use crate::audit::{AuditEvent, ExecutionSummary, TargetResult, TargetStatus, Transition};
use crate::error::{CommandError, error_reply};
use crate::executor;
use crate::ids::{PendingId, RequestId};
use crate::invocation::Actor;
use crate::pending::ActorRef;
use crate::plan::{
    ExecuteContext, Plan, PlannedAction, PlannedTarget, TargetOutcome, execute_notification,
    execute_target, render_report,
};
use crate::reply::Reply;
use crate::request::CommandName;

/// A request handed out by the pending store to run, with the people who moved it on.
pub(super) struct Job {
    pub(super) id: PendingId,
    pub(super) request_id: RequestId,
    pub(super) command: CommandName,
    pub(super) requester: Actor,
    pub(super) confirmer: ActorRef,
    pub(super) approver: Option<ActorRef>,
    pub(super) pending: PendingPlan,
}

/// How one target's outcome is recorded: status and a short detail.
fn target_result(target: &PlannedTarget, outcome: &TargetOutcome) -> TargetResult {
    let (status, detail) = match outcome {
        TargetOutcome::SentActivation => (TargetStatus::Done, "activation mail".to_owned()),
        TargetOutcome::SentReset => (TargetStatus::Done, "reset mail".to_owned()),
        TargetOutcome::Expired => (TargetStatus::Done, "password expired".to_owned()),
        TargetOutcome::Notified {
            delivery: Delivery::Disabled { .. },
        } => (
            TargetStatus::Skipped,
            "mail sending disabled: nothing sent".to_owned(),
        ),
        TargetOutcome::Notified { .. } => (TargetStatus::Done, "password notification".to_owned()),
        TargetOutcome::Skipped(reason) => (TargetStatus::Skipped, reason.to_string()),
        TargetOutcome::Failed { message } => (TargetStatus::Failed, message.clone()),
        TargetOutcome::Unknown { message } => (TargetStatus::Unknown, message.clone()),
    };
    TargetResult::new(&target.label, status).with_detail(&detail)
}

impl Engine {
    /// Runs a JumpCloud request: every target of the plan through the bulk executor (skipped
    /// targets answer at once), progress as [`EngineEvent::Progress`].
    #[instrument(
        name = "engine.run",
        skip_all,
        fields(
            request_id = %job.request_id,
            targets = job.pending.plan.targets.len(),
            outcome = field::Empty,
        )
    )]
    pub(super) async fn run(&self, job: Job) -> Response {
        let Some(client) = job.pending.jumpcloud.clone() else {
            let reply = self
                .fail(&job, CommandError::NotConfigured { what: "jumpcloud" })
                .await;
            return Response::update(reply);
        };
        let cx = ExecuteContext::new(client);
        let events = self.inner.events.clone();
        let (request_id, pending) = (job.request_id, job.id);
        let progress = move |p: executor::Progress| {
            let _ = events.send(EngineEvent::Progress {
                request_id,
                pending,
                progress: p.into(),
            });
        };
        let report = executor::run(
            job.pending.plan.targets.clone(),
            &self.inner.executor,
            &progress,
            self.inner.stop.subscribe(),
            move |target: PlannedTarget| {
                let cx = cx.clone();
                async move { execute_target(&target, &cx).await }
            },
        )
        .await;
        self.finish(job, report.outcomes).await
    }

    /// Sends the planned notification with the password, which is dropped when the mail is
    /// sent (or refused).
    #[instrument(
        name = "engine.run_notification",
        skip_all,
        fields(request_id = %job.request_id, outcome = field::Empty)
    )]
    pub(super) async fn run_notification(&self, job: Job, password: Password) -> Response {
        let Some(mailer) = self.inner.mailer.as_ref() else {
            let reply = self
                .fail(
                    &job,
                    CommandError::NotConfigured {
                        what: "password notification mail",
                    },
                )
                .await;
            return Response::update(reply);
        };
        let planned = job
            .pending
            .plan
            .targets
            .iter()
            .find_map(|t| match &t.action {
                PlannedAction::Notify(n) => Some((t.clone(), n)),
                _ => None,
            });
        let Some((target, notification)) = planned else {
            let reply = self
                .fail(
                    &job,
                    CommandError::NotConfigured {
                        what: "a password notification in this request",
                    },
                )
                .await;
            return Response::update(reply);
        };
        let outcome = execute_notification(notification, mailer, password).await;
        self.finish(job, vec![(target, outcome)]).await
    }

    /// A request that could not run at all: audited `failed`, answered with the error (and
    /// announced, like a report).
    async fn fail(&self, job: &Job, error: CommandError) -> Reply {
        let event = AuditEvent::builder(
            Transition::failed(&error.to_string()),
            &job.requester,
            job.command.as_str(),
            &job.request_id.to_string(),
        )
        .channel(job.pending.channel.as_deref())
        .tenant(job.pending.tenant.as_deref())
        .build();
        let shown = match self.record(event).await {
            Ok(()) => error,
            Err(audit) => audit,
        };
        self.end(job.id);
        let reply = error_reply(&shown).with_request_id(job.request_id);
        self.emit(EngineEvent::Finished {
            request_id: job.request_id,
            pending: job.id,
            requester: job.requester.clone(),
            reply: reply.clone(),
        });
        reply
    }

    /// Records the outcomes (`executed`), marks the request done and builds the report (a
    /// reply replacing the pressed message, with the outcomes as data).
    async fn finish(&self, job: Job, outcomes: Vec<(PlannedTarget, TargetOutcome)>) -> Response {
        let summary: ExecutionSummary = outcomes
            .iter()
            .map(|(target, outcome)| target_result(target, outcome))
            .collect();
        let counts = summary.counts();
        let outcome = if counts.failed + counts.unknown == 0 {
            "done"
        } else if counts.done > 0 {
            "partial"
        } else {
            "failed"
        };
        Span::current().record("outcome", outcome);
        let plan: &Plan = &job.pending.plan;
        let event = AuditEvent::builder(
            Transition::Executed(summary),
            &job.requester,
            job.command.as_str(),
            &job.request_id.to_string(),
        )
        .channel(job.pending.channel.as_deref())
        .tenant(job.pending.tenant.as_deref())
        .targets(outcomes.iter().map(|(t, _)| t.label.as_str()))
        .build();
        let audited = self.record(event).await;
        self.end(job.id);

        let mut reply = render_report(plan, &outcomes)
            .field("Requested by", ActorRef::from(&job.requester).to_string())
            .field("Confirmed by", job.confirmer.to_string());
        if let Some(approver) = &job.approver {
            reply = reply.field("Approved by", approver.to_string());
        }
        if audited.is_err() {
            // It ran: the report must be shown, or the requester would try again.
            reply.body.push_str(
                "\n⚠ The audit log could not record this run; tell a Passdesk administrator \
                 (`passdesk audit verify`).",
            );
        }
        let reply = reply.with_request_id(job.request_id);
        self.emit(EngineEvent::Finished {
            request_id: job.request_id,
            pending: job.id,
            requester: job.requester.clone(),
            reply: reply.clone(),
        });
        let report = outcomes
            .into_iter()
            .map(|(target, outcome)| TargetReport { target, outcome })
            .collect();
        Response {
            report: Some(report),
            ..Response::update(reply)
        }
    }

    /// Marks a handed-out request done, so late presses are told who handled it.
    fn end(&self, id: PendingId) {
        if let Err(e) = self.inner.store.finish(id) {
            warn!(error = %e, "a finished request was not running");
        }
    }
}
