//! Button presses and the password submit: who may press, the single-use transition in the
//! pending store, the audit line, then what follows (a run, an approval request, the password
//! prompt, a message for the requester).

use passdesk_core::mail::Password;
use secrecy::SecretString;
use tracing::{Span, field, instrument};

use super::run::Job;
use super::{Engine, EngineEvent, Press, Response, Site, messages, pending_error};
use crate::audit::Transition;
use crate::error::{CommandError, error_reply};
use crate::ids::{ButtonAction, PendingId};
use crate::pending::{ActorRef, Approved, Confirmed, PendingError, PendingState, PendingView};
use crate::policy::authorize_press;
use crate::request::shown;

impl Engine {
    /// Handles a button press: Confirm, Cancel, Approve, Deny, or the password button (which
    /// answers with [`Response::open_password_prompt`]).
    ///
    /// Every press is checked against the policy (the requester's buttons only by the
    /// requester, still authorised; the approver's only by an approver who is not the
    /// requester) and acts at most once: a second press is told who handled it and when.
    #[instrument(
        name = "engine.press",
        skip_all,
        fields(
            platform = %press.actor.platform,
            command = field::Empty,
            interaction_id = %shown(&press.interaction_id),
            actor = %shown(&press.actor.id),
            action = press.button.action.as_str(),
            request_id = %press.button.pending.request_id(),
        )
    )]
    pub async fn press(&self, press: Press) -> Response {
        let id = press.button.pending;
        let action = press.button.action;
        let view = match self.inner.store.get(id) {
            Ok(view) => view,
            Err(e) => return Response::reply(error_reply(&pending_error(e))),
        };
        Span::current().record("command", view.command.as_str());
        let site = Site {
            actor: &press.actor,
            command: view.command,
            request_id: view.request_id,
            channel: press.channel.as_deref(),
            tenant: press.tenant.as_deref(),
        };
        if let Err(denial) = authorize_press(&self.inner.config, &press.actor, &view, action) {
            return self.refuse(&site, &denial).await;
        }
        match action {
            ButtonAction::Confirm => self.confirm(&site, &view).await,
            ButtonAction::Cancel => self.cancel(&site, id).await,
            ButtonAction::Approve => self.approve(&site, &view).await,
            ButtonAction::Deny => self.deny(&site, &view).await,
            ButtonAction::EnterPassword => match self.inner.store.password_prompt(id, site.actor) {
                Ok(view) => Response {
                    open_password_prompt: Some(id),
                    ..Response::reply(messages::password_prompt_opened(view.request_id))
                },
                Err(e) => self.press_refused(&site, e).await,
            },
        }
    }

    /// Sends a password notification with the password the requester typed in the prompt
    /// opened by [`Response::open_password_prompt`]. `press` is the prompt's submit (its
    /// button is the [`ButtonAction::EnterPassword`] id of the request).
    ///
    /// The password is checked (a refused one leaves the request waiting), moved into the
    /// mailer and dropped once the mail is sent: it never reaches the store, the audit trail,
    /// a reply, an event or a log.
    #[instrument(
        name = "engine.submit_password",
        skip_all,
        fields(
            platform = %press.actor.platform,
            command = field::Empty,
            interaction_id = %shown(&press.interaction_id),
            actor = %shown(&press.actor.id),
            request_id = %press.button.pending.request_id(),
        )
    )]
    pub async fn submit_password(&self, press: Press, password: SecretString) -> Response {
        let id = press.button.pending;
        if press.button.action != ButtonAction::EnterPassword {
            return Response::reply(error_reply(&CommandError::Denied {
                reason: "this is not a password prompt of Passdesk".to_owned(),
            }));
        }
        let view = match self.inner.store.get(id) {
            Ok(view) => view,
            Err(e) => return Response::reply(error_reply(&pending_error(e))),
        };
        Span::current().record("command", view.command.as_str());
        let site = Site {
            actor: &press.actor,
            command: view.command,
            request_id: view.request_id,
            channel: press.channel.as_deref(),
            tenant: press.tenant.as_deref(),
        };
        if let Err(denial) = authorize_press(
            &self.inner.config,
            &press.actor,
            &view,
            ButtonAction::EnterPassword,
        ) {
            return self.refuse(&site, &denial).await;
        }
        let password = match Password::new(password) {
            Ok(password) => password,
            Err(problem) => {
                return Response::reply(messages::password_refused(&problem.to_string(), id));
            }
        };
        // Who approved, read before the submit replaces the last press.
        let approver = approver_of(&view);
        let pending = match self.inner.store.begin_execution(id, site.actor) {
            Ok(pending) => pending,
            Err(e) => return self.press_refused(&site, e).await,
        };
        let job = Job {
            id,
            request_id: view.request_id,
            command: view.command,
            requester: view.requester.clone(),
            confirmer: ActorRef::from(&view.requester),
            approver,
            pending,
        };
        self.run_notification(job, password).await
    }

    async fn confirm(&self, site: &Site<'_>, view: &PendingView) -> Response {
        let id = view.id;
        let confirmed = match self
            .inner
            .store
            .confirm(id, site.actor, &self.inner.cooldowns)
        {
            Ok(confirmed) => confirmed,
            Err(e) => return self.press_refused(site, e).await,
        };
        if let Err(e) = self.record(site.event(Transition::Confirmed).build()).await {
            self.withdraw(id, view);
            return Response::reply(error_reply(&e));
        }
        match confirmed {
            Confirmed::Execute(pending) => {
                let job = Job {
                    id,
                    request_id: view.request_id,
                    command: view.command,
                    requester: view.requester.clone(),
                    confirmer: ActorRef::from(site.actor),
                    approver: None,
                    pending,
                };
                self.run(job).await
            }
            Confirmed::AwaitApproval { expires_at } => {
                let shown = self.inner.store.inspect(id, |_, pending| {
                    pending.map(|p| {
                        (
                            messages::approval_request(&p.plan, &view.requester, id, expires_at),
                            p.plan.summary(),
                            p.plan
                                .targets
                                .iter()
                                .map(|t| t.label.clone())
                                .collect::<Vec<_>>(),
                        )
                    })
                });
                let Ok(Some((approval, summary, labels))) = shown else {
                    // Expired or cancelled in the meantime: say what the store says now.
                    return Response::reply(error_reply(&CommandError::Expired));
                };
                let event = site
                    .event(Transition::ApprovalRequested)
                    .targets(&labels)
                    .build();
                if let Err(e) = self.record(event).await {
                    self.withdraw(id, view);
                    return Response::reply(error_reply(&e));
                }
                Response {
                    approval_request: Some(approval),
                    ..Response::update(messages::awaiting_approval(&summary, id, expires_at))
                }
            }
            Confirmed::AwaitPassword { expires_at } => {
                Response::update(messages::password_needed(id, expires_at, None))
            }
        }
    }

    async fn cancel(&self, site: &Site<'_>, id: PendingId) -> Response {
        if let Err(e) = self.inner.store.cancel(id, site.actor) {
            return self.press_refused(site, e).await;
        }
        match self.record(site.event(Transition::Cancelled).build()).await {
            Ok(()) => Response::update(messages::cancelled(site.request_id)),
            Err(e) => Response::reply(error_reply(&e)),
        }
    }

    async fn approve(&self, site: &Site<'_>, view: &PendingView) -> Response {
        let id = view.id;
        let approved = match self.inner.store.approve(id, site.actor) {
            Ok(approved) => approved,
            Err(e) => return self.press_refused(site, e).await,
        };
        if let Err(e) = self.record(site.event(Transition::Approved).build()).await {
            self.withdraw(id, view);
            return Response::reply(error_reply(&e));
        }
        let approver = ActorRef::from(site.actor);
        match approved {
            Approved::Execute(pending) => {
                self.emit(EngineEvent::ApprovalDecided {
                    request_id: view.request_id,
                    pending: id,
                    requester: view.requester.clone(),
                    approver: approver.clone(),
                    approved: true,
                    reply_for_requester: messages::approved_running(&approver, view.request_id),
                });
                let job = Job {
                    id,
                    request_id: view.request_id,
                    command: view.command,
                    requester: view.requester.clone(),
                    confirmer: ActorRef::from(&view.requester),
                    approver: Some(approver),
                    pending,
                };
                self.run(job).await
            }
            Approved::AwaitPassword { expires_at } => {
                self.emit(EngineEvent::ApprovalDecided {
                    request_id: view.request_id,
                    pending: id,
                    requester: view.requester.clone(),
                    approver: approver.clone(),
                    approved: true,
                    reply_for_requester: messages::password_needed(id, expires_at, Some(&approver)),
                });
                Response::update(messages::approved_awaiting_password(
                    &view.requester,
                    view.request_id,
                ))
            }
        }
    }

    async fn deny(&self, site: &Site<'_>, view: &PendingView) -> Response {
        if let Err(e) = self.inner.store.deny(view.id, site.actor) {
            return self.press_refused(site, e).await;
        }
        if let Err(e) = self.record(site.event(Transition::Rejected).build()).await {
            return Response::reply(error_reply(&e));
        }
        let approver = ActorRef::from(site.actor);
        self.emit(EngineEvent::ApprovalDecided {
            request_id: view.request_id,
            pending: view.id,
            requester: view.requester.clone(),
            approver: approver.clone(),
            approved: false,
            reply_for_requester: messages::denied_for_requester(&approver, view.request_id),
        });
        Response::update(messages::denied_for_approver(
            &view.requester,
            view.request_id,
        ))
    }

    /// A press the store refused: a cooldown or identity refusal is a denial (audited), the
    /// rest (already handled, expired, not ready, unknown) just an answer.
    async fn press_refused(&self, site: &Site<'_>, error: PendingError) -> Response {
        match error {
            PendingError::Refused(denial) => self.refuse(site, &denial).await,
            other => Response::reply(error_reply(&pending_error(other))),
        }
    }

    /// After a transition whose audit line could not be written: make sure the request never
    /// runs. A waiting request is cancelled on the requester's behalf; one already handed out
    /// is simply never run (its entry stays "executing" until forgotten).
    fn withdraw(&self, id: PendingId, view: &PendingView) {
        if let Ok(current) = self.inner.store.get(id) {
            if current.state.waiting_stage().is_some() {
                let _ = self.inner.store.cancel(id, &view.requester);
            }
        }
    }
}

/// The approver of a request waiting for its password: the last press was the Approve.
fn approver_of(view: &PendingView) -> Option<ActorRef> {
    match (&view.state, &view.handled) {
        (PendingState::AwaitingPassword, Some(handled))
            if handled.action == ButtonAction::Approve =>
        {
            Some(handled.by.clone())
        }
        _ => None,
    }
}
