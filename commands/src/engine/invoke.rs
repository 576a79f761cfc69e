//! A slash command: parse, authorise, plan, and either show the plan (dry run) or hold it for
//! the requester's Confirm.

use chrono::Utc;
use tokio::time::Instant;
use tracing::{Span, debug, error, field, instrument};

use super::{Engine, PendingPlan, Response, Site, messages, served_org};
use crate::audit::Transition;
use crate::error::{CommandError, error_reply};
use crate::ids::PendingId;
use crate::invocation::Invocation;
use crate::parse::parse;
use crate::pending::NewPending;
use crate::plan::{PlanContext, plan, render_plan};
use crate::policy::{authorize_request, principal};
use crate::request::{CommandName, Request, ResetTarget, shown};

/// The audit label of what a request names: a user, a group, a filter or a mapping.
fn request_target(request: &Request) -> String {
    match request {
        Request::Reset { target, .. } => match target {
            ResetTarget::User(user) => user.to_string(),
            ResetTarget::Group(group) => format!("group \"{group}\""),
            ResetTarget::Inactive {
                created_within_days: None,
            } => "users not activated".to_owned(),
            ResetTarget::Inactive {
                created_within_days: Some(days),
            } => format!("users not activated, created within {days} days"),
        },
        Request::Expire { user, .. } => user.to_string(),
        Request::Notify {
            assigned_resource_type,
            mapping,
            ..
        } => format!("assigned resource type {assigned_resource_type}, mapping {mapping}"),
    }
}

impl Engine {
    /// Runs a slash command as far as it goes without a button: a usage error or the help, a
    /// denial, a plan error, a dry run's plan, or the plan with \[Confirm\] \[Cancel\].
    ///
    /// Every outcome past parsing is audited before this returns (`denied`, `requested`, then
    /// `dry_run` or `failed`); usage errors and help are not (nothing was asked of anyone) and
    /// are logged at debug level by their kind only, never their values.
    #[instrument(
        name = "engine.invoke",
        skip_all,
        fields(
            platform = %invocation.actor.platform,
            command = %shown(&invocation.command),
            interaction_id = %shown(&invocation.interaction_id),
            actor = %shown(&invocation.actor.id),
            request_id = field::Empty,
        )
    )]
    pub async fn invoke(&self, invocation: Invocation) -> Response {
        let request = match parse(&invocation) {
            Ok(request) => request,
            Err(usage) => {
                debug!(problem = ?usage.problem(), "usage error or help");
                return Response::reply(error_reply(&CommandError::Usage(usage)));
            }
        };
        let id = PendingId::random();
        let request_id = id.request_id();
        Span::current().record("request_id", field::display(request_id));
        let inner = &self.inner;
        let config = &*inner.config;
        let actor = &invocation.actor;
        let command = request.command_name();
        let site = Site {
            actor,
            command,
            request_id,
            channel: invocation.channel.as_deref(),
            tenant: invocation.tenant.as_deref(),
        };

        let grant = match authorize_request(
            config,
            &inner.cooldowns,
            actor,
            site.channel,
            &request,
            Instant::now(),
        ) {
            Ok(grant) => grant,
            Err(denial) => return self.refuse(&site, &denial).await,
        };
        let Some(org) = served_org(config, actor.platform, site.tenant) else {
            return self
                .refuse_with(
                    &site,
                    "unknown_tenant",
                    "Passdesk does not serve this workspace; ask a Passdesk administrator"
                        .to_owned(),
                )
                .await;
        };
        let requested = site
            .event(Transition::Requested)
            .target(&request_target(&request))
            .build();
        if let Err(e) = self.record(requested).await {
            return Response::reply(error_reply(&e));
        }

        let principal = principal(actor);
        let planned = match inner.jumpcloud.for_any_org(org.as_ref()) {
            Ok(jumpcloud) => {
                let cx = PlanContext {
                    jumpcloud: jumpcloud.as_ref(),
                    identity_manager: inner.identity_manager.as_ref(),
                    mailer: inner.mailer.as_ref(),
                    targets: &config.targets,
                    max_targets: config.limits.max_targets,
                    may_touch_protected: grant.may_touch_protected,
                    requester_account: config.account_of(&principal),
                    allow_self: grant.allow_self,
                    require_beneficiary_name: false,
                    now: Utc::now(),
                };
                plan(&request, &cx).await.map(|plan| (plan, jumpcloud))
            }
            Err(e) => Err(CommandError::JumpCloud(e)),
        };
        let (plan, jumpcloud) = match planned {
            Ok(planned) => planned,
            Err(e) => {
                let failed = site.event(Transition::failed(&e.to_string())).build();
                let shown = match self.record(failed).await {
                    Ok(()) => e,
                    Err(audit) => audit,
                };
                return Response::reply(error_reply(&shown).with_request_id(request_id));
            }
        };
        let labels = plan.targets.iter().map(|t| t.label.as_str());

        if request.dry_run() {
            let dry_run = site.event(Transition::DryRun).targets(labels).build();
            if let Err(e) = self.record(dry_run).await {
                return Response::reply(error_reply(&e));
            }
            let reply = render_plan(&plan, true).with_request_id(request_id);
            return Response::with_plan(reply, plan);
        }
        if plan.actionable() == 0 {
            let nothing = site
                .event(Transition::failed(
                    "nothing to do: no target can be acted on",
                ))
                .targets(labels)
                .build();
            if let Err(e) = self.record(nothing).await {
                return Response::reply(error_reply(&e));
            }
            let reply = render_plan(&plan, false).with_request_id(request_id);
            return Response::with_plan(reply, plan);
        }

        let needs_approval = grant.approval.requires_approval(plan.actionable());
        let needs_password = command == CommandName::Notify;
        let shown_plan = plan.clone();
        let new = NewPending {
            requester: actor.clone(),
            command,
            channel: invocation.channel.clone(),
            plan: PendingPlan {
                plan,
                tenant: invocation.tenant.clone(),
                channel: invocation.channel.clone(),
                jumpcloud,
            },
            needs_approval,
            needs_password,
        };
        if inner.store.insert_with_id(id, new).is_err() {
            // 128 random bits collided: practically impossible, and nothing is overwritten.
            error!("pending id collision; the request is refused");
            return Response::reply(error_reply(&CommandError::NotFound));
        }
        let prompt = inner.store.inspect(id, |view, pending| {
            pending.map(|p| {
                messages::confirmation_prompt(
                    &p.plan,
                    id,
                    needs_approval,
                    needs_password,
                    view.expires_at,
                )
            })
        });
        match prompt {
            Ok(Some(reply)) => Response::with_plan(reply, shown_plan),
            // Only an entry already gone could get here: say what the store says.
            Ok(None) => Response::reply(error_reply(&CommandError::NotFound)),
            Err(e) => Response::reply(error_reply(&super::pending_error(e))),
        }
    }
}
