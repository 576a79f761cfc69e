//! The fake Discord driven by the real serenity 0.12.5 client: gateway start-up, interactions
//! and their callbacks, webhook edits, channel messages, commands, errors, and signed HTTP
//! deliveries.

// clippy.toml allows unwrap/expect in #[test] functions only; the helpers below (the fake's
// start, the serenity client harness) are test code too, where a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use passdesk_sim::discord::{
    Auth, CallbackOutcome, CallbackVia, CommandOption, DiscordFake, EPHEMERAL, FakeUser, Fault,
    InteractionKind, Route,
};
use serenity::all::{
    ApplicationId, ButtonStyle, ChannelId, Command, CommandInteraction, CommandOptionType,
    ComponentInteraction, Context, CreateActionRow, CreateButton, CreateCommand,
    CreateCommandOption, CreateEmbed, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateModal, EditInteractionResponse, EditMessage, EventHandler, GatewayIntents, GuildId,
    InputTextStyle, Interaction, Ready, ResolvedOption, ResolvedValue,
};
use serenity::async_trait;
use serenity::client::ClientBuilder;
use serenity::http::{Http, HttpBuilder, HttpError};
use serenity::interactions_endpoint::Verifier;
use tokio::sync::mpsc;

const GUILD: u64 = 1_300_000_000_000_000_300;
const CHANNEL: u64 = 1_300_000_000_000_000_400;
const AUDIT: u64 = 1_300_000_000_000_000_401;
const OTHER_GUILD_CHANNEL: u64 = 1_300_000_000_000_000_999;
const HELPDESK_ROLE: u64 = 1_300_000_000_000_000_600;
const WAIT: Duration = Duration::from_secs(10);

fn alice() -> FakeUser {
    FakeUser::new(1_300_000_000_000_000_500, "alice")
}

async fn start_fake() -> DiscordFake {
    fake_with_heartbeat(Duration::from_secs(2)).await
}

/// A short interval makes serenity heartbeat often; an ACK later than the interval would make
/// it drop the connection, so this stays well above loopback delays on a loaded machine.
async fn fake_with_heartbeat(interval: Duration) -> DiscordFake {
    DiscordFake::builder()
        .bot_token("test-token")
        .guild(GUILD, [CHANNEL, AUDIT])
        .heartbeat_interval(interval)
        .start()
        .await
        .unwrap()
}

/// serenity's `Http` pointed at the fake, as the bot's tests will build it.
fn http(fake: &DiscordFake) -> Http {
    HttpBuilder::new(fake.bot_token())
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(fake.application_id()))
        .build()
}

/// The status and Discord code of a serenity error from an unsuccessful request.
fn discord_error(error: &serenity::Error) -> Option<(u16, isize)> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            Some((response.status_code.as_u16(), response.error.code))
        }
        _ => None,
    }
}

/// What the test bot's handler saw and did.
#[derive(Debug)]
enum Seen {
    Ready {
        user: String,
    },
    Command {
        options: String,
        second: Option<Result<(), (u16, isize)>>,
    },
    Component {
        custom_id: String,
        answered: Result<(), String>,
    },
}

struct Bot {
    seen: mpsc::UnboundedSender<Seen>,
}

fn describe(options: &[ResolvedOption<'_>]) -> String {
    options
        .iter()
        .map(|option| match &option.value {
            ResolvedValue::SubCommand(inner) => format!("{}({})", option.name, describe(inner)),
            ResolvedValue::String(value) => format!("{}={value}", option.name),
            ResolvedValue::Integer(value) => format!("{}={value}", option.name),
            ResolvedValue::User(user, _) => format!("{}=@{}", option.name, user.name),
            other => format!("{}={other:?}", option.name),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn prompt_buttons(disabled: bool) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new("confirm")
            .label("Confirm")
            .style(ButtonStyle::Danger)
            .disabled(disabled),
        CreateButton::new("cancel")
            .label("Cancel")
            .style(ButtonStyle::Secondary)
            .disabled(disabled),
    ])]
}

impl Bot {
    async fn command(&self, ctx: &Context, command: CommandInteraction) {
        let options = describe(&command.data.options());
        let prompt = CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content("Send a reset mail to jdoe?")
                .ephemeral(true)
                .components(prompt_buttons(false)),
        );
        let first = command.create_response(&ctx.http, prompt).await;
        assert!(first.is_ok(), "first callback failed: {first:?}");
        let second = if command.data.name == "twice" {
            let again = CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new().content("again"),
            );
            let result = command.create_response(&ctx.http, again).await;
            Some(result.map_err(|error| discord_error(&error).unwrap_or((0, 0))))
        } else {
            None
        };
        let _ = self.seen.send(Seen::Command { options, second });
    }

    async fn component(&self, ctx: &Context, component: ComponentInteraction) {
        let update = CreateInteractionResponse::UpdateMessage(
            CreateInteractionResponseMessage::new()
                .content("Reset mail sent to jdoe")
                .components(prompt_buttons(true)),
        );
        let answered = component
            .create_response(&ctx.http, update)
            .await
            .map_err(|error| error.to_string());
        let _ = self.seen.send(Seen::Component {
            custom_id: component.data.custom_id.clone(),
            answered,
        });
    }
}

#[async_trait]
impl EventHandler for Bot {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.seen.send(Seen::Ready {
            user: ready.user.name.clone(),
        });
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => self.command(&ctx, command).await,
            Interaction::Component(component) => self.component(&ctx, component).await,
            _ => {}
        }
    }
}

/// A serenity gateway client against the fake, started in the background.
struct Running {
    seen: mpsc::UnboundedReceiver<Seen>,
    shard_manager: Arc<serenity::gateway::ShardManager>,
    task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
}

impl Running {
    async fn start(http: Http) -> Self {
        let (tx, seen) = mpsc::unbounded_channel();
        let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
            .event_handler(Bot { seen: tx })
            .await
            .unwrap();
        let shard_manager = Arc::clone(&client.shard_manager);
        let task = tokio::spawn(async move { client.start().await });
        Self {
            seen,
            shard_manager,
            task,
        }
    }

    async fn next(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("the bot saw nothing in time")
            .expect("the bot stopped")
    }

    async fn stop(self) {
        self.shard_manager.shutdown_all().await;
        self.task.abort();
    }
}

#[tokio::test]
async fn serenity_reaches_ready_answers_a_slash_command_and_updates_the_prompt_on_a_button() {
    let fake = start_fake().await;
    let mut bot = Running::start(http(&fake)).await;

    match bot.next().await {
        Seen::Ready { user } => assert_eq!(user, "passdesk"),
        other => panic!("expected ready, got {other:?}"),
    }
    let session = fake.wait_for_ready(WAIT).await.unwrap();
    assert_eq!(session.shard, [0, 1]);
    assert_eq!(session.intents, 0);

    let command = fake.slash_command(
        &alice(),
        &[HELPDESK_ROLE],
        GUILD,
        CHANNEL,
        "reset-email",
        vec![CommandOption::sub_command(
            "user",
            vec![CommandOption::string("username", "jdoe")],
        )],
    );
    let seq = fake.dispatch(&command).unwrap();
    assert_eq!(seq, 2, "READY was 1, the interaction follows");
    match bot.next().await {
        Seen::Command { options, .. } => assert_eq!(options, "user(username=jdoe)"),
        other => panic!("expected the command, got {other:?}"),
    }
    let callback = fake.wait_for_callback(command.id(), WAIT).await.unwrap();
    assert_eq!(callback.kind, 4);
    assert_eq!(callback.outcome, CallbackOutcome::Accepted);
    assert_eq!(callback.via, CallbackVia::Rest);
    assert!(callback.after < Duration::from_secs(3));

    let prompt = fake.original_response(command.id()).unwrap();
    assert_eq!(prompt.content, "Send a reset mail to jdoe?");
    assert!(prompt.is_ephemeral());
    assert_eq!(prompt.visible_to, Some(alice().id));
    assert_eq!(prompt.channel_id, CHANNEL);
    let buttons = prompt.buttons();
    assert_eq!(buttons.len(), 2);
    assert_eq!(buttons[0].label.as_deref(), Some("Confirm"));
    assert_eq!(buttons[0].style, 4);
    assert!(!buttons[0].disabled);
    assert!(
        fake.channel_messages(CHANNEL).is_empty(),
        "an ephemeral reply is not shown to the channel"
    );

    let press = fake
        .press_button(&alice(), &[HELPDESK_ROLE], &prompt, "confirm")
        .unwrap();
    fake.dispatch(&press).unwrap();
    match bot.next().await {
        Seen::Component {
            custom_id,
            answered,
        } => {
            assert_eq!(custom_id, "confirm");
            assert!(answered.is_ok(), "{answered:?}");
        }
        other => panic!("expected the button, got {other:?}"),
    }
    let update = fake.wait_for_callback(press.id(), WAIT).await.unwrap();
    assert_eq!(update.kind, 7);
    let updated = fake.message(CHANNEL, prompt.id).unwrap();
    assert_eq!(updated.content, "Reset mail sent to jdoe");
    assert!(updated.buttons().iter().all(|button| button.disabled));
    assert!(
        updated.is_ephemeral(),
        "an update keeps the ephemeral state"
    );
    assert_eq!(updated.edits, 1);
    assert_eq!(fake.original_response(press.id()).unwrap().id, prompt.id);

    // The buttons are disabled now: nobody can press them on the current message.
    assert!(
        fake.press_button(&alice(), &[HELPDESK_ROLE], &updated, "confirm")
            .is_err()
    );
    let stats = fake.gateway_stats();
    assert_eq!(stats.identifies, 1);
    assert_eq!(stats.dispatches, 3);
    bot.stop().await;
}

#[tokio::test]
async fn a_second_callback_is_refused_with_40060_and_serenity_reports_it() {
    let fake = start_fake().await;
    let mut bot = Running::start(http(&fake)).await;
    assert!(matches!(bot.next().await, Seen::Ready { .. }));

    let command = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "twice", vec![]);
    fake.dispatch(&command).unwrap();
    match bot.next().await {
        Seen::Command { second, .. } => assert_eq!(second, Some(Err((400, 40060)))),
        other => panic!("expected the command, got {other:?}"),
    }
    let outcomes: Vec<_> = fake
        .callbacks(command.id())
        .into_iter()
        .map(|callback| callback.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            CallbackOutcome::Accepted,
            CallbackOutcome::AlreadyAcknowledged
        ]
    );
    assert_eq!(
        fake.original_response(command.id()).unwrap().content,
        "Send a reset mail to jdoe?",
        "the refused callback changed nothing"
    );
    bot.stop().await;
}

#[tokio::test]
async fn heartbeats_are_acked_and_serenity_measures_the_latency() {
    let fake = fake_with_heartbeat(Duration::from_millis(250)).await;
    let mut bot = Running::start(http(&fake)).await;
    assert!(matches!(bot.next().await, Seen::Ready { .. }));

    let stats = fake
        .wait_until("three acked heartbeats", WAIT, |fake| {
            let stats = fake.gateway_stats();
            (stats.heartbeat_acks >= 3).then_some(stats)
        })
        .await
        .unwrap();
    assert_eq!(stats.heartbeats, stats.heartbeat_acks);
    assert_eq!(stats.identifies, 1, "acked heartbeats keep the session");
    assert_eq!(stats.connections, 1);

    // Three heartbeats on one connection: serenity got the ACKs of the first two (it sends the
    // next only after an ACK, else it reconnects), and records the latency on each ACK.
    let runners = bot.shard_manager.runners.lock().await;
    let runner = runners.values().next().unwrap();
    assert!(
        runner.latency.is_some(),
        "serenity saw an ACK for its heartbeat"
    );
    drop(runners);
    bot.stop().await;
}

#[tokio::test]
async fn without_heartbeat_acks_serenity_drops_the_zombie_connection() {
    let fake = fake_with_heartbeat(Duration::from_millis(250)).await;
    let mut bot = Running::start(http(&fake)).await;
    assert!(matches!(bot.next().await, Seen::Ready { .. }));
    fake.set_heartbeat_ack(false);

    let stats = fake
        .wait_until("a second connection", Duration::from_secs(20), |fake| {
            let stats = fake.gateway_stats();
            (stats.connections >= 2).then_some(stats)
        })
        .await
        .unwrap();
    assert!(stats.heartbeats > stats.heartbeat_acks);
    bot.stop().await;
}

#[tokio::test]
async fn after_a_resumable_close_serenity_resumes_and_gets_the_missed_interaction() {
    let fake = start_fake().await;
    let mut bot = Running::start(http(&fake)).await;
    assert!(matches!(bot.next().await, Seen::Ready { .. }));
    fake.wait_for_ready(WAIT).await.unwrap();

    assert_eq!(fake.close_gateway(4000), 1);
    // Sent while no connection is attached: it waits in the session's replay buffer.
    let command = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "reset-email", vec![]);
    fake.dispatch(&command).unwrap();

    match bot.next().await {
        Seen::Command { options, .. } => assert_eq!(options, ""),
        other => panic!("expected the replayed command, got {other:?}"),
    }
    let stats = fake.gateway_stats();
    assert_eq!(stats.identifies, 1);
    assert_eq!(stats.resumes, 1);
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.closes, [4000]);
    assert_eq!(stats.sessions.len(), 1);
    assert_eq!(stats.sessions[0].seq, 3, "READY, the interaction, RESUMED");
    assert_eq!(
        fake.wait_for_callback(command.id(), WAIT)
            .await
            .unwrap()
            .outcome,
        CallbackOutcome::Accepted
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_wrong_token_in_identify_stops_serenity_with_invalid_authentication() {
    let fake = start_fake().await;
    let wrong = HttpBuilder::new("not-the-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let mut client = ClientBuilder::new_with_http(wrong, GatewayIntents::empty())
        .await
        .unwrap();
    let outcome = tokio::time::timeout(WAIT, client.start())
        .await
        .expect("serenity kept running");
    assert!(
        matches!(
            outcome,
            Err(serenity::Error::Gateway(
                serenity::gateway::GatewayError::InvalidAuthentication
            ))
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.gateway_stats().closes, [4004]);
    assert_eq!(fake.gateway_stats().identifies, 0);
}

#[tokio::test]
async fn privileged_intents_not_granted_close_with_4014() {
    let fake = start_fake().await;
    let mut client = ClientBuilder::new_with_http(http(&fake), GatewayIntents::MESSAGE_CONTENT)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(WAIT, client.start())
        .await
        .expect("serenity kept running");
    assert!(
        matches!(
            outcome,
            Err(serenity::Error::Gateway(
                serenity::gateway::GatewayError::DisallowedGatewayIntents
            ))
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn serenity_reads_the_current_user_application_and_gateway() {
    let fake = start_fake().await;
    let http = http(&fake);
    let user = http.get_current_user().await.unwrap();
    assert_eq!(user.name, "passdesk");
    assert!(user.bot);
    assert_eq!(user.id.get(), fake.application_id());
    let application = http.get_current_application_info().await.unwrap();
    assert_eq!(application.id.get(), fake.application_id());
    assert_eq!(application.verify_key, fake.public_key_hex());
    let gateway = http.get_bot_gateway().await.unwrap();
    assert_eq!(gateway.url, fake.gateway_url());
    assert_eq!(gateway.shards, 1);
    assert!(
        fake.requests()
            .iter()
            .all(|request| request.auth == Auth::Valid && request.status == Some(200))
    );
}

#[tokio::test]
async fn a_wrong_bot_token_gets_401_code_0() {
    let fake = start_fake().await;
    let wrong = HttpBuilder::new("not-the-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    let error = wrong.get_current_user().await.unwrap_err();
    assert_eq!(discord_error(&error), Some((401, 0)));
    let error = ChannelId::new(CHANNEL)
        .send_message(&wrong, CreateMessage::new().content("hi"))
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((401, 0)));
    assert!(fake.channel_messages(CHANNEL).is_empty());
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|request| request.auth == Auth::Invalid));

    let response = reqwest::get(format!("{}/users/@me", fake.api_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"message": "401: Unauthorized", "code": 0})
    );
    assert_eq!(fake.requests()[2].auth, Auth::Missing);
}

#[tokio::test]
async fn an_embed_sent_to_a_channel_lands_there_and_edits_show() {
    let fake = start_fake().await;
    let http = http(&fake);
    let embed = CreateEmbed::new()
        .title("Reset mail sent")
        .description("<@1> sent a reset mail to jdoe")
        .field("Outcome", "sent", true);
    let sent = ChannelId::new(AUDIT)
        .send_message(&http, CreateMessage::new().embed(embed))
        .await
        .unwrap();
    assert_eq!(sent.channel_id.get(), AUDIT);
    assert_eq!(sent.embeds[0].title.as_deref(), Some("Reset mail sent"));
    assert_eq!(sent.author.id.get(), fake.application_id());

    let shown = fake.channel_messages(AUDIT);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].id, sent.id.get());
    assert_eq!(shown[0].embeds[0]["fields"][0]["value"], "sent");
    assert!(
        shown[0]
            .visible_text()
            .contains("sent a reset mail to jdoe")
    );

    let edited = ChannelId::new(AUDIT)
        .edit_message(&http, sent.id, EditMessage::new().content("superseded"))
        .await
        .unwrap();
    assert!(edited.edited_timestamp.is_some());
    let shown = fake.message(AUDIT, sent.id.get()).unwrap();
    assert_eq!(shown.content, "superseded");
    assert_eq!(shown.embeds.len(), 1, "fields not sent are kept");
    assert_eq!(shown.edits, 1);
}

#[tokio::test]
async fn channels_outside_the_guilds_answer_50001_and_oversized_embeds_50035() {
    let fake = start_fake().await;
    let http = http(&fake);
    let error = ChannelId::new(OTHER_GUILD_CHANNEL)
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((403, 50001)));

    let long = CreateEmbed::new().field("Reason", "r".repeat(1025), false);
    let error = ChannelId::new(AUDIT)
        .send_message(&http, CreateMessage::new().embed(long))
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((400, 50035)));
    let serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) = &error else {
        unreachable!()
    };
    assert_eq!(response.error.errors[0].path, "embeds.0.fields.0.value");
    assert!(fake.channel_messages(AUDIT).is_empty());
}

#[tokio::test]
async fn deferred_replies_edits_and_follow_ups_show_as_discord_would() {
    let fake = start_fake().await;
    let http = http(&fake);
    let handle = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "expire", vec![]);
    let command: CommandInteraction = serde_json::from_slice(handle.body()).unwrap();

    command.defer_ephemeral(&http).await.unwrap();
    let thinking = fake.original_response(handle.id()).unwrap();
    assert!(thinking.is_loading());
    assert!(thinking.is_ephemeral());

    let error = command
        .create_response(
            &http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new().content("x"),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((400, 40060)));

    command
        .edit_response(
            &http,
            EditInteractionResponse::new().content("Password expired"),
        )
        .await
        .unwrap();
    let done = fake.original_response(handle.id()).unwrap();
    assert_eq!(done.id, thinking.id);
    assert!(!done.is_loading());
    assert!(done.is_ephemeral());
    assert_eq!(done.content, "Password expired");
    assert_eq!(
        command.get_response(&http).await.unwrap().content,
        "Password expired"
    );

    let followup = command
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new().content("Audit written"),
        )
        .await
        .unwrap();
    let shown = fake.followups(handle.id());
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].id, followup.id.get());
    assert!(!shown[0].is_ephemeral());
    assert_eq!(fake.channel_messages(CHANNEL).len(), 1);

    command
        .edit_followup(
            &http,
            followup.id,
            CreateInteractionResponseFollowup::new().content("Audit written (2)"),
        )
        .await
        .unwrap();
    assert_eq!(fake.followups(handle.id())[0].content, "Audit written (2)");
    command.delete_followup(&http, followup.id).await.unwrap();
    assert!(fake.followups(handle.id()).is_empty());
    command.delete_response(&http).await.unwrap();
    assert!(fake.original_response(handle.id()).is_none());
}

#[tokio::test]
async fn a_follow_up_right_after_a_defer_fills_in_the_thinking_message() {
    let fake = start_fake().await;
    let http = http(&fake);
    let handle = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "expire", vec![]);
    let command: CommandInteraction = serde_json::from_slice(handle.body()).unwrap();
    command.defer_ephemeral(&http).await.unwrap();
    command
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new().content("Done"),
        )
        .await
        .unwrap();
    let original = fake.original_response(handle.id()).unwrap();
    assert_eq!(original.content, "Done");
    assert!(original.is_ephemeral() && !original.is_loading());
    assert!(fake.followups(handle.id()).is_empty());
}

#[tokio::test]
async fn late_callbacks_are_unknown_interactions_and_old_tokens_invalid() {
    let fake = start_fake().await;
    let http = http(&fake);
    let handle = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "expire", vec![]);
    let command: CommandInteraction = serde_json::from_slice(handle.body()).unwrap();
    assert!(fake.age_interaction(handle.id(), Duration::from_millis(3100)));
    let error = command.defer(&http).await.unwrap_err();
    assert_eq!(discord_error(&error), Some((404, 10062)));
    assert_eq!(
        fake.callbacks(handle.id())[0].outcome,
        CallbackOutcome::Expired
    );
    assert_eq!(
        discord_error(&command.get_response(&http).await.unwrap_err()),
        Some((404, 10015)),
        "never acknowledged"
    );

    let handle = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "expire", vec![]);
    let command: CommandInteraction = serde_json::from_slice(handle.body()).unwrap();
    command.defer(&http).await.unwrap();
    fake.age_interaction(handle.id(), Duration::from_secs(15 * 60 + 1));
    let error = command
        .edit_response(&http, EditInteractionResponse::new().content("too late"))
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((401, 50027)));
}

#[tokio::test]
async fn a_modal_opened_by_a_button_is_submitted_with_the_users_values() {
    let fake = start_fake().await;
    let http = http(&fake);
    let prompt = ChannelId::new(CHANNEL)
        .send_message(
            &http,
            CreateMessage::new()
                .content("Approve?")
                .components(prompt_buttons(false)),
        )
        .await
        .unwrap();
    let seen = fake.message(CHANNEL, prompt.id.get()).unwrap();
    let press = fake
        .press_button(&alice(), &[HELPDESK_ROLE], &seen, "confirm")
        .unwrap();
    let component: ComponentInteraction = serde_json::from_slice(press.body()).unwrap();
    assert_eq!(component.message.id, prompt.id);
    assert_eq!(
        component.member.as_ref().unwrap().roles[0].get(),
        HELPDESK_ROLE
    );
    assert_eq!(component.user.id.get(), alice().id);

    assert!(matches!(
        fake.submit_modal(&alice(), &[], "password", &[("pw", "x")]),
        Err(passdesk_sim::discord::FakeError::NoModal { .. })
    ));
    let modal =
        CreateModal::new("password", "New password").components(vec![CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Short, "Password", "pw").min_length(8),
        )]);
    component
        .create_response(&http, CreateInteractionResponse::Modal(modal))
        .await
        .unwrap();
    assert_eq!(fake.modal(press.id()).unwrap()["title"], "New password");
    assert!(
        fake.submit_modal(&alice(), &[], "password", &[("pw", "short")])
            .is_err(),
        "the client enforces min_length"
    );
    let bob = FakeUser::new(7, "bob");
    assert!(
        fake.submit_modal(&bob, &[], "password", &[("pw", "long enough")])
            .is_err(),
        "the modal was shown to alice only"
    );
    let submit = fake
        .submit_modal(&alice(), &[], "password", &[("pw", "correct horse")])
        .unwrap();
    let Interaction::Modal(submitted) = serde_json::from_slice(submit.body()).unwrap() else {
        panic!("not a modal submit");
    };
    assert_eq!(submitted.data.custom_id, "password");
    let serenity::all::ActionRowComponent::InputText(input) =
        &submitted.data.components[0].components[0]
    else {
        panic!("not a text input");
    };
    assert_eq!(input.value.as_deref(), Some("correct horse"));
    assert_eq!(submitted.message.as_ref().unwrap().id, prompt.id);
    assert_eq!(submitted.channel_id.get(), CHANNEL);

    // From a button, a modal submit may update the message the button is on.
    submitted
        .create_response(
            &http,
            CreateInteractionResponse::UpdateMessage(
                CreateInteractionResponseMessage::new()
                    .content("Approved")
                    .components(vec![]),
            ),
        )
        .await
        .unwrap();
    let shown = fake.message(CHANNEL, prompt.id.get()).unwrap();
    assert_eq!(shown.content, "Approved");
    assert!(shown.buttons().is_empty());
}

#[tokio::test]
async fn every_built_interaction_parses_as_serenitys_interaction() {
    let fake = start_fake().await;
    let bob = FakeUser::new(8, "bob").global_name("Bob");
    let command = fake.slash_command(
        &alice(),
        &[HELPDESK_ROLE],
        GUILD,
        CHANNEL,
        "reset-email",
        vec![CommandOption::sub_command_group(
            "bulk",
            CommandOption::sub_command(
                "group",
                vec![
                    CommandOption::string("name", "NewUsers"),
                    CommandOption::integer("days", 7),
                    CommandOption::boolean("dry-run", true),
                    CommandOption::number("ratio", 0.5),
                    CommandOption::user("target", &bob),
                    CommandOption::role("role", 42),
                    CommandOption::channel("where", AUDIT),
                ],
            ),
        )],
    );
    let Interaction::Command(parsed) = serde_json::from_slice(command.body()).unwrap() else {
        panic!("not a command");
    };
    assert_eq!(parsed.id.get(), command.id());
    assert_eq!(parsed.token, command.token());
    assert_eq!(parsed.guild_id, Some(GuildId::new(GUILD)));
    assert_eq!(parsed.user.name, "alice");
    let options = parsed.data.options();
    let ResolvedValue::SubCommandGroup(group) = &options[0].value else {
        panic!("no group");
    };
    let ResolvedValue::SubCommand(values) = &group[0].value else {
        panic!("no subcommand");
    };
    assert!(matches!(values[0].value, ResolvedValue::String("NewUsers")));
    assert!(matches!(values[1].value, ResolvedValue::Integer(7)));
    assert!(matches!(values[2].value, ResolvedValue::Boolean(true)));
    assert!(matches!(values[3].value, ResolvedValue::Number(n) if (n - 0.5).abs() < f64::EPSILON));
    assert!(matches!(values[4].value, ResolvedValue::User(user, Some(_)) if user.name == "bob"));
    assert!(matches!(values[5].value, ResolvedValue::Role(role) if role.id.get() == 42));
    assert!(
        matches!(values[6].value, ResolvedValue::Channel(channel) if channel.id.get() == AUDIT)
    );

    let dm = fake.dm_slash_command(&alice(), 77, "help", vec![]);
    let Interaction::Command(dm) = serde_json::from_slice(dm.body()).unwrap() else {
        panic!("not a command");
    };
    assert!(dm.member.is_none() && dm.guild_id.is_none());
    assert_eq!(dm.user.id.get(), alice().id);

    let ping = fake.ping();
    assert_eq!(ping.kind(), InteractionKind::Ping);
    assert!(matches!(
        serde_json::from_slice(ping.body()).unwrap(),
        Interaction::Ping(_)
    ));
    assert!(
        fake.dispatch(&ping).is_err(),
        "a PING never goes over the gateway"
    );
}

#[tokio::test]
async fn bulk_overwrites_store_commands_with_stable_ids_that_interactions_use() {
    let fake = start_fake().await;
    let http = http(&fake);
    let reset = CreateCommand::new("reset-email")
        .description("Send activation or reset mail")
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, "user", "One user")
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::String, "username", "Who")
                        .required(true),
                ),
        );
    let expire = CreateCommand::new("expire-password").description("Expire a password");
    let first = GuildId::new(GUILD)
        .set_commands(&http, vec![reset.clone(), expire])
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].name, "reset-email");
    assert_eq!(first[0].guild_id, Some(GuildId::new(GUILD)));
    let second = GuildId::new(GUILD)
        .set_commands(&http, vec![reset])
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id, "ids survive an overwrite");
    assert_ne!(second[0].version, first[0].version);
    assert_eq!(fake.commands(Some(GUILD)).len(), 1);

    let invocation = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "reset-email", vec![]);
    assert_eq!(
        invocation.json()["data"]["id"],
        first[0].id.get().to_string()
    );

    let global = Command::set_global_commands(
        &http,
        vec![CreateCommand::new("passdesk-help").description("Help")],
    )
    .await
    .unwrap();
    assert_eq!(global[0].guild_id, None);
    assert_eq!(fake.commands(None).len(), 1);

    let error = GuildId::new(GUILD)
        .set_commands(
            &http,
            vec![CreateCommand::new("Reset Email").description("x")],
        )
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((400, 50035)));
    let error = GuildId::new(999)
        .set_commands(&http, vec![])
        .await
        .unwrap_err();
    assert_eq!(discord_error(&error), Some((403, 50001)));
}

#[tokio::test]
async fn injected_faults_fail_the_next_calls_with_discords_bodies_and_headers() {
    let fake = start_fake().await;
    let http = http(&fake);
    fake.inject(Fault::status(Route::CreateMessage, 500).times(2));
    for _ in 0..2 {
        let error = ChannelId::new(AUDIT)
            .send_message(&http, CreateMessage::new().content("audit"))
            .await
            .unwrap_err();
        assert_eq!(discord_error(&error), Some((500, 0)));
    }
    ChannelId::new(AUDIT)
        .send_message(&http, CreateMessage::new().content("audit"))
        .await
        .unwrap();
    assert_eq!(
        fake.channel_messages(AUDIT).len(),
        1,
        "failed sends had no effect"
    );

    fake.inject(Fault::rate_limited(
        Route::CreateMessage,
        Duration::from_millis(2500),
    ));
    let client = reqwest::Client::builder().timeout(WAIT).build().unwrap();
    let response = client
        .post(format!("{}/channels/{AUDIT}/messages", fake.api_url()))
        .header("authorization", "Bot test-token")
        .json(&serde_json::json!({"content": "audit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["retry_after"], 2.5);
    assert_eq!(body["global"], false);

    let statuses: Vec<_> = fake
        .requests_to(Route::CreateMessage)
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200), Some(429)]);
    assert!(
        fake.requests()
            .iter()
            .all(|request| !request.body.contains("hunter2")),
        "a test can scan every recorded body for a secret"
    );
}

#[tokio::test]
async fn signed_requests_verify_with_the_public_key_and_nothing_else() {
    use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

    let fake = start_fake().await;
    let command = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "reset-email", vec![]);
    let signed = fake.sign(&command);
    assert_eq!(signed.body, command.body());
    assert_eq!(signed.signature_hex.len(), 128);

    let key: [u8; 32] = hex::decode(fake.public_key_hex())
        .unwrap()
        .try_into()
        .unwrap();
    let key = VerifyingKey::from_bytes(&key).unwrap();
    let signature: [u8; 64] = hex::decode(&signed.signature_hex)
        .unwrap()
        .try_into()
        .unwrap();
    let signature = Signature::from_bytes(&signature);
    let message = [signed.timestamp.as_bytes(), &signed.body].concat();
    assert!(key.verify(&message, &signature).is_ok());
    let mut tampered = signed.body.clone();
    tampered[0] = b' ';
    let tampered = [signed.timestamp.as_bytes(), &tampered].concat();
    assert!(key.verify(&tampered, &signature).is_err());

    let verifier = Verifier::new(&fake.public_key_hex());
    assert!(
        verifier
            .verify(&signed.signature_hex, &signed.timestamp, &signed.body)
            .is_ok()
    );
    assert!(
        verifier
            .verify(&signed.signature_hex, "1700000000", &signed.body)
            .is_err()
    );
    let forged = fake.sign_with_wrong_key(&command);
    assert!(
        verifier
            .verify(&forged.signature_hex, &forged.timestamp, &forged.body)
            .is_err()
    );
    let fixed = fake.sign_with_timestamp(&command, "1700000000");
    assert_eq!(fixed.timestamp, "1700000000");
    assert!(
        verifier
            .verify(&fixed.signature_hex, "1700000000", &fixed.body)
            .is_ok()
    );
}

/// A minimal interactions endpoint: verifies with serenity's `Verifier`, answers PING with
/// PONG and a command with an ephemeral message in the HTTP response.
async fn endpoint(
    axum::extract::State(verifier): axum::extract::State<Arc<Verifier>>,
    headers: http::HeaderMap,
    body: bytes::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let verified = verifier.verify(
        &header("x-signature-ed25519"),
        &header("x-signature-timestamp"),
        &body,
    );
    if verified.is_err() {
        return http::StatusCode::UNAUTHORIZED.into_response();
    }
    let answer = match serde_json::from_slice::<Interaction>(&body) {
        Ok(Interaction::Ping(_)) => CreateInteractionResponse::Pong,
        Ok(_) => CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content("Checked")
                .ephemeral(true),
        ),
        Err(_) => return http::StatusCode::BAD_REQUEST.into_response(),
    };
    axum::Json(answer).into_response()
}

#[tokio::test]
async fn an_http_endpoints_answer_counts_as_the_callback() {
    let fake = start_fake().await;
    let app = axum::Router::new()
        .route("/interactions", axum::routing::post(endpoint))
        .with_state(Arc::new(Verifier::new(&fake.public_key_hex())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/interactions", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ping = fake.ping();
    let pong = fake.deliver_http(&url, &ping).await.unwrap();
    assert_eq!(pong.status, 200);
    assert_eq!(pong.json().unwrap()["type"], 1);
    assert_eq!(
        fake.callbacks(ping.id())[0].outcome,
        CallbackOutcome::Accepted
    );

    let forged = fake.ping();
    let refused = fake
        .post_signed(&url, &forged, &fake.sign_with_wrong_key(&forged))
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    assert!(fake.callbacks(forged.id()).is_empty());

    let command = fake.slash_command(&alice(), &[], GUILD, CHANNEL, "reset-email", vec![]);
    let answered = fake.deliver_http(&url, &command).await.unwrap();
    assert_eq!(answered.status, 200);
    let callback = fake.wait_for_callback(command.id(), WAIT).await.unwrap();
    assert_eq!(callback.via, CallbackVia::HttpResponse);
    assert_eq!(callback.kind, 4);
    assert!(callback.is_ephemeral());
    let shown = fake.original_response(command.id()).unwrap();
    assert_eq!(shown.content, "Checked");
    assert_eq!(shown.flags & EPHEMERAL, EPHEMERAL);
}

#[tokio::test]
async fn latency_counts_against_the_callback_window() {
    let fake = DiscordFake::builder()
        .callback_window(Duration::from_millis(200))
        .latency(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let http = http(&fake);
    let handle = fake.slash_command(
        &alice(),
        &[],
        passdesk_sim::discord::DEFAULT_GUILD_ID,
        passdesk_sim::discord::DEFAULT_CHANNEL_ID,
        "expire",
        vec![],
    );
    let command: CommandInteraction = serde_json::from_slice(handle.body()).unwrap();
    let error = command.defer(&http).await.unwrap_err();
    assert_eq!(discord_error(&error), Some((404, 10062)));
    let late = &fake.callbacks(handle.id())[0];
    assert_eq!(late.outcome, CallbackOutcome::Expired);
    assert!(late.after >= Duration::from_millis(300));

    fake.set_latency(Duration::ZERO);
    let handle = fake.slash_command(
        &alice(),
        &[],
        passdesk_sim::discord::DEFAULT_GUILD_ID,
        passdesk_sim::discord::DEFAULT_CHANNEL_ID,
        "expire",
        vec![],
    );
    let command: CommandInteraction = serde_json::from_slice(handle.body()).unwrap();
    command.defer(&http).await.unwrap();
    assert!(fake.original_response(handle.id()).unwrap().is_loading());
}
