//! One driver for every chat platform, so a scenario is written once: [`Chat`] starts the
//! simulators, a fake chat service and the bot's real adapter for a [`Platform`], and lets the
//! scenario act as people would (run a command, press a button, type a password) and read what
//! they would see, in platform-neutral terms ([`Reply`], [`Button`], [`Answer`]).
//!
//! What only one platform has stays in here as small checks: Discord's callback types and
//! progress pacing, the custom ids' shapes, Slack's `response_url` budget (five posts, all
//! accepted), its confirm dialog and its modal metadata.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use passdesk_bot::server::{self, Server, ServerState};
use passdesk_bot::slack::http::{COMMANDS_PATH, INTERACTIONS_PATH};
use passdesk_bot::slack::{CoreSettings as SlackSettings, Slack};
use passdesk_config::{Config, MapEnv};
use passdesk_sim::discord::{self as dc, Auth, CommandOption, Route};
use passdesk_sim::identity_manager::{IdentityManagerSim, seed as im_seed};
use passdesk_sim::jumpcloud::{DEFAULT_API_KEY, JumpCloudSim, JumpCloudSimBuilder};
use passdesk_sim::slack::{self as sl, Endpoint, FakeChannel, PostOutcome, SignedRequest};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{
    APPROVALS, APPROVER_ROLE, AUDIT, Driver, HELPDESK_ROLE, Mode, TOKEN, WAIT, alice, audit_events,
    bob, carol, dave, embed, logs,
};

/// Where the scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Discord, interactions as gateway dispatches.
    DiscordGateway,
    /// Discord, interactions as signed POSTs to the bot's endpoint.
    DiscordHttp,
    /// Slack, slash commands and interactions as signed POSTs.
    Slack,
}

/// The people of every scenario, with the same rights on every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    /// In the helpdesk and an approver: runs the commands.
    Requester,
    /// In the helpdesk, not an approver.
    Colleague,
    /// An approver, not in the helpdesk.
    Approver,
    /// Neither.
    Outsider,
}

/// Whose JumpCloud account(s) a reset is for.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    User(&'a str),
    Group(&'a str),
}

/// A command, spelled per platform (a slash command with options on Discord, `/passdesk` text
/// on Slack).
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    Reset {
        target: Target<'a>,
        dry_run: bool,
    },
    Expire {
        user: &'a str,
    },
    Notify {
        resource_type: &'a str,
        mapping: &'a str,
    },
    /// `reset user` without the user: a usage error.
    ResetNobody,
}

impl Command<'_> {
    /// Discord: the command's name and options.
    fn discord(self) -> (&'static str, Vec<CommandOption>) {
        match self {
            Command::Reset { target, dry_run } => {
                let (sub, value) = match target {
                    Target::User(user) => ("user", user),
                    Target::Group(group) => ("group", group),
                };
                let mut options = vec![CommandOption::string(sub, value)];
                if dry_run {
                    options.push(CommandOption::boolean("dry-run", true));
                }
                ("reset", vec![CommandOption::sub_command(sub, options)])
            }
            Command::Expire { user } => ("expire", vec![CommandOption::string("user", user)]),
            Command::Notify {
                resource_type,
                mapping,
            } => (
                "notify",
                vec![
                    CommandOption::string("assigned-resource-type", resource_type),
                    CommandOption::string("resource-type-mapping", mapping),
                ],
            ),
            Command::ResetNobody => ("reset", vec![CommandOption::sub_command("user", vec![])]),
        }
    }

    /// Slack: the `/passdesk` text. Both spellings Slack users type are exercised: `key:value`
    /// (groups, and users without a dry run) and positional words with a `--dry-run` flag
    /// (a user's dry run).
    fn slack(self) -> String {
        match self {
            Command::Reset {
                target: Target::User(user),
                dry_run: true,
            } => format!("reset user {user} --dry-run"),
            Command::Reset {
                target: Target::User(user),
                dry_run: false,
            } => format!("reset user:{user}"),
            Command::Reset {
                target: Target::Group(group),
                dry_run,
            } => {
                let flag = if dry_run { " dry-run:true" } else { "" };
                format!("reset group:{}{flag}", quoted(group))
            }
            Command::Expire { user } => format!("expire {user}"),
            Command::Notify {
                resource_type,
                mapping,
            } => format!("notify {resource_type} {mapping}"),
            Command::ResetNobody => "reset user".to_owned(),
        }
    }
}

/// A Slack value, in double quotes when it holds spaces.
fn quoted(value: &str) -> String {
    if value.contains(' ') {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// How the bot first answered an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A new message (Discord type 4, or for a press type 6 then a follow-up; a Slack ack with
    /// the message, or an ephemeral `response_url` post that replaces nothing).
    Message,
    /// "Working on it", the message later (Discord type 5; a Slack "Working on it" ack).
    DeferredMessage,
    /// The pressed message updated at once (Discord type 7; Slack `chat.update`).
    Update,
    /// The pressed message updated later (Discord type 6; a Slack `replace_original` post).
    DeferredUpdate,
    /// A modal (Discord type 9; Slack `views.open`).
    Modal,
}

impl Answer {
    /// Whether the pressed message itself is what changes.
    pub fn updates_message(self) -> bool {
        matches!(self, Answer::Update | Answer::DeferredUpdate)
    }
}

/// A button as people see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    /// The action its id names (`confirm`, `approve`, …), checked to carry only an opaque
    /// pending id besides; `malformed` otherwise.
    pub action: String,
    /// Shown as dangerous (Discord style 4, Slack style `danger`).
    pub danger: bool,
    /// Shown as the main action (Discord style 1, Slack style `primary`).
    pub primary: bool,
    /// Slack asks "are you sure?" before sending the press.
    pub asks_first: bool,
}

/// A message as people see it, and where it is.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Everything readable: content, embeds, blocks.
    pub text: String,
    pub buttons: Vec<Button>,
    /// For a private message, the platform id of the only person who sees it.
    pub private_to: Option<String>,
    pub edits: u32,
    /// For the reply to a command: how the bot first answered.
    pub answer: Option<Answer>,
    /// For the reply to a command: how long after it was sent the platform had the bot's
    /// first answer (Discord: its callback; Slack: the HTTP ack).
    pub acked_in: Option<Duration>,
    raw: Raw,
}

#[derive(Debug, Clone)]
enum Raw {
    /// `origin`: the interaction whose original response this message is, if any.
    Discord {
        view: dc::MessageView,
        origin: Option<u64>,
    },
    Slack(sl::MessageView),
}

impl Reply {
    /// The button labelled `label`.
    pub fn button(&self, label: &str) -> &Button {
        self.buttons
            .iter()
            .find(|b| b.label == label)
            .unwrap_or_else(|| panic!("no {label:?} button on {}", self.text))
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.buttons.iter().map(|b| b.label.as_str()).collect()
    }

    fn discord(view: dc::MessageView, origin: Option<u64>) -> Reply {
        let buttons = view
            .buttons()
            .into_iter()
            .map(|b| Button {
                label: b.label.clone().unwrap_or_default(),
                action: action_of(b.custom_id.as_deref().unwrap_or_default(), true),
                danger: b.style == 4,
                primary: b.style == 1,
                asks_first: false,
            })
            .collect();
        Reply {
            text: view.visible_text(),
            buttons,
            private_to: view.visible_to.map(|id| id.to_string()),
            edits: view.edits,
            answer: None,
            acked_in: None,
            raw: Raw::Discord { view, origin },
        }
    }

    fn slack(view: sl::MessageView) -> Reply {
        let buttons = view
            .buttons()
            .into_iter()
            .map(|b| Button {
                label: b.text.clone(),
                action: action_of(&b.action_id, false),
                danger: b.style.as_deref() == Some("danger"),
                primary: b.style.as_deref() == Some("primary"),
                asks_first: b.has_confirm,
            })
            .collect();
        Reply {
            text: view.visible_text(),
            buttons,
            private_to: view.ephemeral_to.clone(),
            edits: view.edits,
            answer: None,
            acked_in: None,
            raw: Raw::Slack(view),
        }
    }

    fn discord_view(&self) -> &dc::MessageView {
        match &self.raw {
            Raw::Discord { view, .. } => view,
            Raw::Slack(_) => panic!("a Slack message on Discord"),
        }
    }

    fn slack_view(&self) -> &sl::MessageView {
        match &self.raw {
            Raw::Slack(view) => view,
            Raw::Discord { .. } => panic!("a Discord message on Slack"),
        }
    }
}

/// `pd:<action>` plus, on Discord, `:<32 hex>` (the pending id); the action, or `malformed`.
fn action_of(id: &str, with_pending: bool) -> String {
    let Some(rest) = id.strip_prefix("pd:") else {
        return "malformed".to_owned();
    };
    if !with_pending {
        return rest.to_owned();
    }
    match rest.split_once(':') {
        Some((action, pending))
            if pending.len() == 32 && pending.chars().all(|c| c.is_ascii_hexdigit()) =>
        {
            action.to_owned()
        }
        _ => "malformed".to_owned(),
    }
}

/// A press (or a modal submission) and how the bot first answered it.
pub struct Press {
    pub answer: Answer,
    inner: PressInner,
}

enum PressInner {
    Discord {
        interaction: dc::InteractionHandle,
        /// The pressed message (none for a modal submission).
        message: Option<u64>,
        /// Whether the answer came as a follow-up after a type 6 (not as the callback).
        followup: bool,
    },
    Slack {
        request: SignedRequest,
        /// The pressed message's conversation and `ts`.
        channel: String,
        ts: String,
    },
}

/// What is left to scan after the bot stopped: every recorded body the bot sent to or got
/// back from the chat service, every message people saw, and the audit log.
pub struct Transcript {
    pub recorded: Vec<String>,
    pub audit_log: String,
}

/// The stack for one platform.
pub struct Chat {
    pub platform: Platform,
    inner: Inner,
}

enum Inner {
    Discord(DiscordChat),
    Slack(SlackChat),
}

struct DiscordChat {
    driver: Driver,
    /// Every interaction delivered, to scan its callbacks.
    delivered: Mutex<Vec<u64>>,
    /// The password modal opened last.
    modal: Mutex<Option<String>>,
}

impl Chat {
    /// The demo's directory.
    pub async fn start(platform: Platform) -> Chat {
        Self::start_with(platform, passdesk_sim::demo::jumpcloud_seed()).await
    }

    /// A JumpCloud directory from `jumpcloud`.
    pub async fn start_with(platform: Platform, jumpcloud: JumpCloudSimBuilder) -> Chat {
        let inner = match platform {
            Platform::DiscordGateway | Platform::DiscordHttp => {
                let mode = if platform == Platform::DiscordGateway {
                    Mode::Gateway
                } else {
                    Mode::Http
                };
                Inner::Discord(DiscordChat {
                    driver: Driver::start_with(mode, jumpcloud).await,
                    delivered: Mutex::new(Vec::new()),
                    modal: Mutex::new(None),
                })
            }
            Platform::Slack => Inner::Slack(SlackChat::start(jumpcloud).await),
        };
        Chat { platform, inner }
    }

    /// The JumpCloud simulator.
    pub fn jumpcloud(&self) -> &JumpCloudSim {
        match &self.inner {
            Inner::Discord(d) => &d.driver.jumpcloud,
            Inner::Slack(s) => &s.jumpcloud,
        }
    }

    fn pickup(&self) -> PathBuf {
        match &self.inner {
            Inner::Discord(d) => d.driver.pickup(),
            Inner::Slack(s) => s.dir.path().join("pickup"),
        }
    }

    fn audit_path(&self) -> PathBuf {
        match &self.inner {
            Inner::Discord(d) => d.driver.audit_log(),
            Inner::Slack(s) => s.dir.path().join("audit.jsonl"),
        }
    }

    /// How many notification mails were written.
    pub fn notifications_sent(&self) -> usize {
        std::fs::read_dir(self.pickup()).unwrap().count()
    }

    /// The audit log's events, in order.
    pub fn audit_events(&self) -> Vec<String> {
        audit_events(&self.audit_path())
    }

    /// The person's platform id.
    pub fn id(&self, who: Person) -> String {
        match &self.inner {
            Inner::Discord(_) => discord_user(who).0.id.to_string(),
            Inner::Slack(_) => slack_user(who).id,
        }
    }

    /// How a message mentions the person.
    pub fn mention(&self, who: Person) -> String {
        format!("<@{}>", self.id(who))
    }

    /// How a report names the person who acted.
    pub fn shown_name(&self, who: Person) -> String {
        match &self.inner {
            Inner::Discord(_) => {
                let (user, _) = discord_user(who);
                user.global_name.unwrap_or(user.username)
            }
            Inner::Slack(_) => {
                let user = slack_user(who);
                format!("{} ({})", user.name, user.id)
            }
        }
    }

    /// Secrets of the chat service no log line may hold.
    pub fn service_secrets(&self) -> Vec<String> {
        match &self.inner {
            Inner::Discord(_) => vec![TOKEN.to_owned()],
            Inner::Slack(s) => vec![
                s.fake.bot_token().to_owned(),
                s.fake.signing_secret().to_owned(),
            ],
        }
    }

    /// `who` runs `command` in the helpdesk channel; the message it leaves once settled.
    /// Checks it was answered within the platform's budget.
    pub async fn command(&self, who: Person, command: Command<'_>) -> Reply {
        match &self.inner {
            Inner::Discord(d) => {
                let (user, roles) = discord_user(who);
                let (name, options) = command.discord();
                let (interaction, callback, shown) =
                    d.driver.slash(&user, &roles, name, options).await;
                d.track(&interaction);
                let mut reply = Reply::discord(shown, Some(interaction.id()));
                reply.answer = Some(match callback.kind {
                    4 => Answer::Message,
                    5 => Answer::DeferredMessage,
                    other => panic!("a command answered with type {other}"),
                });
                reply.acked_in = Some(callback.after);
                assert!(callback.is_ephemeral(), "{callback:?}");
                reply
            }
            Inner::Slack(s) => s.slash(who, &command.slack()).await,
        }
    }

    /// Discord only: `who` runs `command` in a direct message with the bot; the answer.
    pub async fn direct_message(&self, who: Person, command: Command<'_>) -> Option<Reply> {
        let Inner::Discord(d) = &self.inner else {
            return None;
        };
        let (user, _) = discord_user(who);
        let (name, options) = command.discord();
        let dm = d
            .driver
            .fake
            .dm_slash_command(&user, 1_310_000_000_000_000_900, name, options);
        d.driver.deliver(&dm).await;
        d.track(&dm);
        d.driver.accepted(&dm).await;
        Some(Reply::discord(
            d.driver.settled(dm.id()).await,
            Some(dm.id()),
        ))
    }

    /// `who` presses the button labelled `label` on `message`; how the bot first answered.
    pub async fn press(&self, who: Person, message: &Reply, label: &str) -> Press {
        match &self.inner {
            Inner::Discord(d) => {
                let (user, roles) = discord_user(who);
                let view = message.discord_view();
                let id = view
                    .buttons()
                    .into_iter()
                    .find(|b| b.label.as_deref() == Some(label))
                    .and_then(|b| b.custom_id)
                    .unwrap_or_else(|| panic!("no {label:?} button on {}", message.text));
                let edits = d
                    .driver
                    .fake
                    .message(view.channel_id, view.id)
                    .map_or(0, |m| m.edits);
                let (interaction, callback) = d.driver.press(&user, &roles, view, &id).await;
                d.track(&interaction);
                let mut followup = false;
                let answer = match callback.kind {
                    4 => {
                        assert!(callback.is_ephemeral(), "{callback:?}");
                        Answer::Message
                    }
                    // Acknowledged; the answer is an edit of the pressed message, or a new
                    // message (a follow-up) when the press was refused.
                    6 => {
                        let later = d
                            .driver
                            .fake
                            .wait_until("the deferred press's answer", WAIT, |fake| {
                                if !fake.followups(interaction.id()).is_empty() {
                                    return Some(Answer::Message);
                                }
                                fake.message(view.channel_id, view.id)
                                    .filter(|m| m.edits > edits)
                                    .map(|_| Answer::DeferredUpdate)
                            })
                            .await
                            .unwrap();
                        followup = later == Answer::Message;
                        later
                    }
                    7 => Answer::Update,
                    9 => {
                        let modal = d.driver.fake.modal(interaction.id()).unwrap();
                        let modal_id = modal["custom_id"].as_str().unwrap().to_owned();
                        assert_eq!(modal_id, id, "the modal carries only the pending action id");
                        assert!(
                            modal_id.starts_with("pd:password:") && modal_id.len() == 44,
                            "{modal_id}"
                        );
                        let input = &modal["components"][0]["components"][0];
                        assert_eq!(input["label"], "Password");
                        assert_eq!(input["required"], true);
                        assert_eq!(input["max_length"], 256);
                        *d.modal.lock().unwrap_or_else(PoisonError::into_inner) = Some(modal_id);
                        Answer::Modal
                    }
                    other => panic!("a press answered with type {other}"),
                };
                Press {
                    answer,
                    inner: PressInner::Discord {
                        interaction,
                        message: Some(view.id),
                        followup,
                    },
                }
            }
            Inner::Slack(s) => s.press(who, message.slack_view(), label).await,
        }
    }

    /// `who` types `password` into the modal `open` opened and submits it.
    pub async fn submit_password(&self, who: Person, open: &Press, password: &str) -> Press {
        assert_eq!(open.answer, Answer::Modal);
        match (&self.inner, &open.inner) {
            (Inner::Discord(d), PressInner::Discord { message, .. }) => {
                let (user, roles) = discord_user(who);
                let modal_id = d
                    .modal
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
                    .unwrap();
                let submit = d
                    .driver
                    .fake
                    .submit_modal(&user, &roles, &modal_id, &[("password", password)])
                    .unwrap();
                d.driver.deliver(&submit).await;
                d.track(&submit);
                let callback = d.driver.accepted(&submit).await;
                let answer = match callback.kind {
                    6 => Answer::DeferredUpdate,
                    7 => Answer::Update,
                    other => panic!("a submission answered with type {other}"),
                };
                Press {
                    answer,
                    inner: PressInner::Discord {
                        interaction: submit,
                        message: *message,
                        followup: false,
                    },
                }
            }
            (
                Inner::Slack(s),
                PressInner::Slack {
                    request,
                    channel,
                    ts,
                },
            ) => {
                s.submit_password(who, request, password).await;
                // The answer goes through the button press's `response_url`.
                let posts = s.posts(request, 1).await;
                assert_eq!(posts[0]["replace_original"], true, "{}", posts[0]);
                Press {
                    answer: Answer::DeferredUpdate,
                    inner: PressInner::Slack {
                        request: request.clone(),
                        channel: channel.clone(),
                        ts: ts.clone(),
                    },
                }
            }
            _ => unreachable!("a press from another platform"),
        }
    }

    /// The message `press` changed, once it satisfies `check`; checks it is the pressed message
    /// itself.
    pub async fn updated(
        &self,
        press: &Press,
        what: &str,
        check: impl Fn(&Reply) -> bool,
    ) -> Reply {
        match (&self.inner, &press.inner) {
            (
                Inner::Discord(d),
                PressInner::Discord {
                    interaction,
                    message,
                    ..
                },
            ) => {
                let view = d
                    .driver
                    .message_where(interaction.id(), what, |m| {
                        check(&Reply::discord(m.clone(), None))
                    })
                    .await;
                if let Some(message) = message {
                    assert_eq!(view.id, *message, "the pressed message itself is updated");
                }
                Reply::discord(view, None)
            }
            (Inner::Slack(s), PressInner::Slack { channel, ts, .. }) => {
                let reply = s.message_where(channel, ts, what, check).await;
                if reply.private_to.is_none() {
                    assert!(
                        !s.fake.requests_to(Endpoint::ChatUpdate).is_empty(),
                        "a channel message is updated with chat.update"
                    );
                }
                reply
            }
            _ => unreachable!("a press from another platform"),
        }
    }

    /// `message` as it is once it satisfies `check`.
    pub async fn current(
        &self,
        message: &Reply,
        what: &str,
        check: impl Fn(&Reply) -> bool,
    ) -> Reply {
        match &self.inner {
            Inner::Discord(d) => {
                let Raw::Discord { view, origin } = &message.raw else {
                    unreachable!("a Slack message on Discord")
                };
                let (channel, id, origin) = (view.channel_id, view.id, *origin);
                let now = d
                    .driver
                    .fake
                    .wait_until(what, WAIT, |fake| {
                        let found = match origin {
                            Some(interaction) => fake.original_response(interaction),
                            None => fake.message(channel, id),
                        };
                        found
                            .map(|m| Reply::discord(m, origin))
                            .filter(|r| check(r))
                    })
                    .await
                    .unwrap();
                assert_eq!(now.discord_view().id, id, "the same message");
                now
            }
            Inner::Slack(s) => {
                let view = message.slack_view();
                s.message_where(&view.channel_id, &view.ts, what, check)
                    .await
            }
        }
    }

    /// The private answer `who` got to a refused press: new, only theirs, without buttons.
    pub async fn refusal(&self, who: Person, press: &Press) -> Reply {
        assert_eq!(
            press.answer,
            Answer::Message,
            "a new message, not an update"
        );
        let reply = match (&self.inner, &press.inner) {
            (
                Inner::Discord(d),
                PressInner::Discord {
                    interaction,
                    followup,
                    ..
                },
            ) => {
                let answer = if *followup {
                    let mut shown = d.driver.fake.followups(interaction.id());
                    assert_eq!(shown.len(), 1, "one answer: {shown:?}");
                    shown.remove(0)
                } else {
                    d.driver.settled(interaction.id()).await
                };
                assert_eq!(
                    embed(&answer)["color"],
                    0xED4245,
                    "{}",
                    answer.visible_text()
                );
                Reply::discord(answer, Some(interaction.id()))
            }
            (Inner::Slack(s), PressInner::Slack { channel, .. }) => {
                let user = slack_user(who);
                let shown = s
                    .fake
                    .wait_for_ephemerals(channel, &user.id, 1, WAIT)
                    .await
                    .unwrap();
                Reply::slack(shown.last().unwrap().clone())
            }
            _ => unreachable!("a press from another platform"),
        };
        assert_eq!(reply.private_to, Some(self.id(who)));
        assert!(reply.buttons.is_empty());
        reply
    }

    /// The approval request in the approvals channel, seen by every approver.
    pub async fn approvals_message(&self) -> Reply {
        let reply = match &self.inner {
            Inner::Discord(d) => Reply::discord(
                d.driver.channel_embed(APPROVALS, "Approval needed").await,
                None,
            ),
            Inner::Slack(s) => Reply::slack(
                s.fake
                    .wait_for_channel_messages(SLACK_APPROVALS, 1, WAIT)
                    .await
                    .unwrap()
                    .remove(0),
            ),
        };
        assert_eq!(reply.private_to, None, "approvers see it in their channel");
        reply
    }

    /// The approvals message as it is now.
    pub fn approvals_message_now(&self, request: &Reply) -> Reply {
        match &self.inner {
            Inner::Discord(d) => Reply::discord(
                d.driver
                    .fake
                    .message(APPROVALS, request.discord_view().id)
                    .unwrap(),
                None,
            ),
            Inner::Slack(s) => Reply::slack(
                s.fake
                    .message(SLACK_APPROVALS, &request.slack_view().ts)
                    .unwrap(),
            ),
        }
    }

    /// Waits for the audit channel's message of `event` for `command`.
    pub async fn audit_message(&self, event: &str, command: &str) -> Reply {
        match &self.inner {
            Inner::Discord(d) => {
                let shown = d
                    .driver
                    .channel_embed(AUDIT, &format!("{event} · {command}"))
                    .await;
                assert!(
                    embed(&shown)["footer"]["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("seq ")),
                    "{shown:?}"
                );
                Reply::discord(shown, None)
            }
            Inner::Slack(s) => {
                let shown = s
                    .fake
                    .wait_until(&format!("an audit message of {event}"), WAIT, |fake| {
                        fake.channel_messages(SLACK_AUDIT).into_iter().find(|m| {
                            let text = m.visible_text();
                            text.contains(event) && text.contains(command)
                        })
                    })
                    .await
                    .unwrap();
                Reply::slack(shown)
            }
        }
    }

    /// Checks every call to the chat service's API carried the bot's credentials where they
    /// belong (Discord: a valid bot token on every channel post; Slack: the token in the
    /// header, never in the body).
    pub fn check_api_credentials(&self) {
        match &self.inner {
            Inner::Discord(d) => {
                let posts = d.driver.fake.requests_to(Route::CreateMessage);
                assert!(!posts.is_empty());
                for post in posts {
                    assert_eq!(post.auth, Auth::Valid);
                }
            }
            Inner::Slack(s) => {
                let requests = s.fake.requests();
                assert!(!requests.is_empty());
                for request in requests {
                    assert!(!request.token_in_body, "{}", request.path);
                }
            }
        }
    }

    /// The progress shown on the message `press` started a job from (each update's text), after
    /// the job's report; checks the platform's pace: Discord at most one edit per second,
    /// Slack within the `response_url`'s five posts.
    pub fn progress_updates(&self, press: &Press) -> Vec<String> {
        match (&self.inner, &press.inner) {
            (Inner::Discord(d), PressInner::Discord { interaction, .. }) => {
                discord_progress(&d.driver, interaction, self.jumpcloud())
            }
            (Inner::Slack(s), PressInner::Slack { request, .. }) => {
                let url = request.response_url.as_deref().unwrap();
                let posts = s.fake.response_posts(url);
                assert!(posts.len() <= 5, "{} posts", posts.len());
                assert!(
                    posts
                        .iter()
                        .all(|p| matches!(p.outcome, PostOutcome::Replaced(_))),
                    "every post edits the same private message"
                );
                let progress: Vec<String> = posts
                    .iter()
                    .map(|p| p.body.to_string())
                    .filter(|body| body.contains("Running"))
                    .collect();
                assert!(progress.len() <= 3, "{} progress posts", progress.len());
                progress
            }
            _ => unreachable!("a press from another platform"),
        }
    }

    /// Stops the bot; what it recorded, to scan for secrets.
    pub async fn stop(self) -> Transcript {
        match self.inner {
            Inner::Discord(d) => {
                let answers = d.driver.http_answers();
                let delivered = d
                    .delivered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                match d.driver.mode {
                    Mode::Http => assert_eq!(
                        answers.len(),
                        delivered.len(),
                        "one answer per delivery over http"
                    ),
                    Mode::Gateway => assert!(answers.is_empty()),
                }
                let (fake, audit_log) = d.driver.stop().await;
                let mut recorded = answers;
                recorded.extend(fake.requests().into_iter().map(|r| r.body));
                for id in delivered {
                    recorded.extend(
                        fake.callbacks(id)
                            .into_iter()
                            .map(|c| format!("{:?}", c.data)),
                    );
                }
                recorded.extend(
                    fake.channel_messages(AUDIT)
                        .into_iter()
                        .map(|m| m.visible_text()),
                );
                Transcript {
                    recorded,
                    audit_log,
                }
            }
            Inner::Slack(s) => s.stop().await,
        }
    }
}

impl DiscordChat {
    fn track(&self, interaction: &dc::InteractionHandle) {
        self.delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(interaction.id());
    }
}

fn discord_user(who: Person) -> (dc::FakeUser, Vec<u64>) {
    match who {
        Person::Requester => (alice(), vec![HELPDESK_ROLE, APPROVER_ROLE]),
        Person::Colleague => (bob(), vec![HELPDESK_ROLE]),
        Person::Approver => (carol(), vec![APPROVER_ROLE]),
        Person::Outsider => (dave(), vec![]),
    }
}

/// The `Running` edits of the press's message: at least one, at most one per second. Over
/// HTTP the first one can race Discord's taking in the deferral in the endpoint's answer
/// (`404 Unknown Webhook`); the bot then retries it: an attempt right after a refused one is
/// the same edit, and the pace counts from each edit's first attempt.
fn discord_progress(
    driver: &Driver,
    press: &dc::InteractionHandle,
    jumpcloud: &JumpCloudSim,
) -> Vec<String> {
    let attempts: Vec<_> = driver
        .fake
        .requests_to(Route::EditOriginalResponse)
        .into_iter()
        .filter(|r| r.path.contains(press.token()))
        .filter(|r| {
            r.json
                .as_ref()
                .and_then(|j| j["embeds"][0]["title"].as_str())
                == Some("Running")
        })
        .collect();
    let refused: Vec<_> = attempts
        .iter()
        .filter(|r| r.status != Some(200))
        .map(|r| r.status)
        .collect();
    match driver.mode {
        Mode::Gateway => assert!(refused.is_empty(), "{refused:?}"),
        Mode::Http => assert!(refused.iter().all(|s| *s == Some(404)), "{refused:?}"),
    }
    assert!(
        attempts.last().is_none_or(|r| r.status == Some(200)),
        "the last progress edit was refused"
    );
    let progress: Vec<_> = attempts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || attempts[i - 1].status == Some(200))
        .map(|(_, r)| r)
        .collect();
    let mails = jumpcloud.record().mails();
    if let (Some(first), Some(last)) = (mails.first(), mails.last()) {
        let seconds = (last.at - first.at).num_milliseconds().max(0) as f64 / 1000.0;
        assert!(
            progress.len() as f64 <= seconds + 1.0,
            "{} progress edits for a {seconds} s job",
            progress.len()
        );
    }
    for pair in progress.windows(2) {
        let gap = (pair[1].at - pair[0].at).num_milliseconds();
        assert!(gap >= 900, "two progress edits {gap} ms apart");
    }
    progress
        .iter()
        .map(|r| {
            r.json.as_ref().unwrap()["embeds"][0]["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

const SLACK_TEAM: &str = "T0PASSDESK";
const SLACK_HELPDESK: &str = "C0HELPDESK";
const SLACK_APPROVALS: &str = "C0APPROVAL";
const SLACK_AUDIT: &str = "C0AUDIT01";
const SLACK_HELPDESK_GROUP: &str = "S0HELPDESK";

fn slack_user(who: Person) -> sl::FakeUser {
    match who {
        Person::Requester => sl::FakeUser::new("U0REQUEST1", "ana"),
        Person::Colleague => sl::FakeUser::new("U0COLLEAG1", "cole"),
        Person::Approver => sl::FakeUser::new("U0APPROVER", "bo"),
        Person::Outsider => sl::FakeUser::new("U0OUTSIDE1", "carl"),
    }
}

/// The fake Slack, the simulators and the bot's Slack endpoints on 127.0.0.1.
struct SlackChat {
    fake: sl::SlackFake,
    jumpcloud: JumpCloudSim,
    _im: IdentityManagerSim,
    dir: TempDir,
    slack: Slack,
    commands: String,
    interactions: String,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<Result<(), server::ServerError>>,
    /// Every `response_url` minted for the bot, to check its budget and scan its posts.
    urls: Mutex<Vec<String>>,
}

fn slack_config(fake: &sl::SlackFake, jumpcloud: &str, im: &str, dir: &Path) -> String {
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "PD_TEST_JC_KEY" }}

[identity_manager]
application_uri = "{im}"
client_id = "{client}"
client_secret = {{ env = "PD_TEST_IM_SECRET" }}

[identity_manager.mail]
from_address = "passdesk@acme.example"
allowed_domains = ["acme.example", "acme.admin", "example.com"]
pickup_directory = "{pickup}"

[slack]
signing_secret = {{ env = "PD_TEST_SLACK_SECRET" }}
bot_token = {{ env = "PD_TEST_SLACK_TOKEN" }}
app_id = "{app}"
approvals_channel = "{SLACK_APPROVALS}"
audit_channel = "{SLACK_AUDIT}"
api_base_url = "{api}"

[slack.teams]
{SLACK_TEAM} = "default"

[groups.helpdesk]
slack_usergroups = ["{SLACK_HELPDESK_GROUP}"]

[groups.approver]
slack_users = ["U0APPROVER", "U0REQUEST1"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[policy.expire]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "always"
approver_groups = ["approver"]

[policy.notify]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[limits]
max_targets = 2500
confirmation_ttl_seconds = 120
approval_ttl_seconds = 900
cooldown_seconds = 0
max_per_hour = 10000

[bulk]
concurrency = 4
rate_per_second = 40
progress_interval_ms = 250

[audit]
path = "{audit}"

[server]
listen = "127.0.0.1:0"
"#,
        client = im_seed::CLIENT_ID,
        pickup = dir.join("pickup").display(),
        app = fake.app_id(),
        api = fake.api_url(),
        audit = dir.join("audit.jsonl").display(),
    )
}

impl SlackChat {
    async fn start(jumpcloud: JumpCloudSimBuilder) -> SlackChat {
        logs();
        let mut builder = sl::SlackFake::builder()
            .user_group(
                SLACK_HELPDESK_GROUP,
                [Person::Requester, Person::Colleague].map(|p| slack_user(p).id),
            )
            .channel(FakeChannel::public(SLACK_HELPDESK, "helpdesk"))
            .channel(FakeChannel::public(SLACK_APPROVALS, "passdesk-approvals"))
            .channel(FakeChannel::public(SLACK_AUDIT, "passdesk-audit"));
        for who in [
            Person::Requester,
            Person::Colleague,
            Person::Approver,
            Person::Outsider,
        ] {
            builder = builder.user(slack_user(who));
        }
        let fake = builder.start().await.unwrap();
        let jumpcloud = jumpcloud.start().await.unwrap();
        let im = IdentityManagerSim::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pickup")).unwrap();
        let text = slack_config(&fake, &jumpcloud.base_url(), &im.base_url(), dir.path());
        let vars = MapEnv::new()
            .with("PD_TEST_JC_KEY", DEFAULT_API_KEY)
            .with("PD_TEST_IM_SECRET", im_seed::CLIENT_SECRET)
            .with("PD_TEST_SLACK_SECRET", fake.signing_secret())
            .with("PD_TEST_SLACK_TOKEN", fake.bot_token());
        let config = Config::from_toml_str(&text, &vars).unwrap();
        let listen = config.server.listen;
        let settings = SlackSettings::from_config(config.slack.as_ref().unwrap())
            .with_progress(Duration::from_millis(300), 3);
        let slack = Slack::start_with(config, settings).await.unwrap();
        let state = server::slack_state(slack.config(), Arc::new(slack.core().clone()));
        let server = Server::bind(listen, server::router(ServerState::new().with_slack(state)))
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        SlackChat {
            fake,
            jumpcloud,
            _im: im,
            dir,
            slack,
            commands: format!("http://{addr}{COMMANDS_PATH}"),
            interactions: format!("http://{addr}{INTERACTIONS_PATH}"),
            stop,
            serving,
            urls: Mutex::new(Vec::new()),
        }
    }

    fn track(&self, request: &SignedRequest) {
        if let Some(url) = &request.response_url {
            self.urls
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(url.clone());
        }
    }

    /// `/passdesk <text>` in the helpdesk channel: acked within 3 s with a private message;
    /// the message it leaves once the "Working on it" ack was replaced.
    async fn slash(&self, who: Person, text: &str) -> Reply {
        let user = slack_user(who);
        let request = self
            .fake
            .slash_command(&user, SLACK_TEAM, SLACK_HELPDESK, "/passdesk", text)
            .unwrap();
        self.track(&request);
        let delivery = self.fake.deliver(&self.commands, &request).await.unwrap();
        assert_eq!(delivery.status, 200, "{}", delivery.text());
        assert!(delivery.elapsed < Duration::from_secs(3), "acked in time");
        assert_eq!(delivery.problem, None);
        let ack = delivery.message.expect("the ack shows a message");
        assert!(ack.is_ephemeral(), "only the requester sees it");
        let acked_in = delivery.elapsed;
        let (message, answer) = if ack.visible_text().contains("Working on it") {
            let url = request.response_url.clone().unwrap();
            self.fake
                .wait_for_response_posts(&url, 1, WAIT)
                .await
                .unwrap();
            (
                self.fake.message(SLACK_HELPDESK, &ack.ts).unwrap(),
                Answer::DeferredMessage,
            )
        } else {
            (ack, Answer::Message)
        };
        let mut reply = Reply::slack(message);
        reply.answer = Some(answer);
        reply.acked_in = Some(acked_in);
        reply
    }

    /// Presses the button; waits for the bot's first answer: a `response_url` post, a modal,
    /// or an update of the pressed message.
    async fn press(&self, who: Person, message: &sl::MessageView, label: &str) -> Press {
        let user = slack_user(who);
        let button = message
            .buttons()
            .into_iter()
            .find(|b| b.text == label)
            .unwrap_or_else(|| panic!("no {label:?} button on {}", message.visible_text()));
        let views = self.fake.views().len();
        let press = self
            .fake
            .press_button(&user, message, &button.action_id, None)
            .unwrap();
        self.track(&press);
        let delivery = self.fake.deliver(&self.interactions, &press).await.unwrap();
        assert_eq!(delivery.status, 200);
        assert!(delivery.body.is_empty(), "a block_actions ack has no body");
        let url = press.response_url.clone().unwrap();
        let (channel, ts, edits) = (
            message.channel_id.clone(),
            message.ts.clone(),
            message.edits,
        );
        let answer = self
            .fake
            .wait_until("the press's answer", WAIT, |fake| {
                if let Some(post) = fake.response_posts(&url).first() {
                    assert!(post.accepted(), "refused: {:?}", post.outcome);
                    return Some(if post.body["replace_original"] == true {
                        Answer::DeferredUpdate
                    } else {
                        assert_eq!(post.body["response_type"], "ephemeral", "{}", post.body);
                        Answer::Message
                    });
                }
                if fake.views().len() > views && fake.views().iter().any(|v| v.open) {
                    return Some(Answer::Modal);
                }
                fake.message(&channel, &ts)
                    .filter(|m| m.edits > edits)
                    .map(|_| Answer::Update)
            })
            .await
            .unwrap();
        Press {
            answer,
            inner: PressInner::Slack {
                request: press,
                channel,
                ts,
            },
        }
    }

    /// The open modal gets the password; checks the modal holds no `response_url`, has one
    /// input, and closes on a clean submission.
    async fn submit_password(&self, who: Person, _open: &SignedRequest, password: &str) {
        let view = self
            .fake
            .wait_until("the password modal", WAIT, |fake| {
                fake.views().into_iter().find(|v| v.open)
            })
            .await
            .unwrap();
        let metadata = view.private_metadata.clone().unwrap();
        assert!(!metadata.contains("hooks"), "no response_url in the modal");
        assert_eq!(view.inputs().len(), 1);
        let submit = self
            .fake
            .submit_view(&slack_user(who), &view.id, &[("pd:pw", password)])
            .unwrap();
        let delivery = self
            .fake
            .deliver(&self.interactions, &submit)
            .await
            .unwrap();
        assert_eq!(delivery.status, 200);
        assert_eq!(delivery.problem, None);
        assert!(!self.fake.view(&view.id).unwrap().open, "the modal closed");
    }

    async fn posts(&self, request: &SignedRequest, count: usize) -> Vec<Value> {
        let url = request.response_url.as_deref().unwrap();
        self.fake
            .wait_for_response_posts(url, count, WAIT)
            .await
            .unwrap()
            .into_iter()
            .map(|post| {
                assert!(post.accepted(), "refused: {:?}", post.outcome);
                post.body
            })
            .collect()
    }

    async fn message_where(
        &self,
        channel: &str,
        ts: &str,
        what: &str,
        check: impl Fn(&Reply) -> bool,
    ) -> Reply {
        self.fake
            .wait_until(what, WAIT, |fake| {
                fake.message(channel, ts)
                    .map(Reply::slack)
                    .filter(|r| check(r))
            })
            .await
            .unwrap()
    }

    /// Stops the endpoints and the adapter; checks every `response_url` stayed within Slack's
    /// budget (at most five posts, all accepted).
    async fn stop(self) -> Transcript {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
        self.slack.shutdown().await;
        let mut recorded = Vec::new();
        let encoded = |body: &str| -> String {
            url::form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        for request in self.fake.requests() {
            recorded.push(encoded(&request.body));
            recorded.push(request.body);
        }
        let urls = self
            .urls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for url in urls {
            let posts = self.fake.response_posts(&url);
            assert!(
                posts.len() <= 5,
                "{} posts to one response_url",
                posts.len()
            );
            for post in posts {
                assert!(post.accepted(), "refused: {:?}", post.outcome);
                recorded.push(post.body.to_string());
            }
        }
        for who in [Person::Requester, Person::Colleague, Person::Outsider] {
            for message in self.fake.visible_to(&slack_user(who).id, SLACK_HELPDESK) {
                recorded.push(message.visible_text());
            }
        }
        for channel in [SLACK_APPROVALS, SLACK_AUDIT] {
            for message in self.fake.channel_messages(channel) {
                recorded.push(message.json().to_string());
            }
        }
        let audit_log = std::fs::read_to_string(self.dir.path().join("audit.jsonl")).unwrap();
        Transcript {
            recorded,
            audit_log,
        }
    }
}
