//! Socket-free tests of the rules: callbacks, webhooks, channel messages, interactions built
//! from messages and modals, and the gateway's answers to frames.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::error::FakeError;
use super::faults::FaultQueue;
use super::gateway::{self, Gateway, Outbound};
use super::interaction::{CallbackOutcome, CallbackVia, InteractionHandle};
use super::model::FakeUser;
use super::state::{Config, State, Target};
use super::{DEFAULT_HEARTBEAT_INTERVAL, Shared};

const APP: u64 = 2;
const GUILD: u64 = 3;
const CHANNEL: u64 = 4;

fn config() -> Config {
    Config {
        token: "tok".into(),
        application_id: APP,
        bot: FakeUser::bot(APP, "passdesk"),
        guilds: BTreeMap::from([(GUILD, BTreeSet::from([CHANNEL]))]),
        callback_window: Duration::from_secs(3),
        token_lifetime: Duration::from_secs(900),
        bot_permissions: 0,
    }
}

fn alice() -> FakeUser {
    FakeUser::new(5, "alice")
}

fn command(state: &mut State, config: &Config, now: Instant) -> InteractionHandle {
    state.slash_command(
        config,
        &alice(),
        &[6],
        Some(GUILD),
        CHANNEL,
        "reset-email",
        &[],
        now,
    )
}

fn answer(
    state: &mut State,
    config: &Config,
    handle: &InteractionHandle,
    body: Value,
    now: Instant,
) -> Result<(), (u16, u64)> {
    state
        .callback(
            config,
            handle.id,
            &handle.token,
            &body,
            CallbackVia::Rest,
            now,
        )
        .map_err(|error| {
            (
                error.status.as_u16(),
                error.body["code"].as_u64().unwrap_or(0),
            )
        })
}

fn prompt() -> Value {
    json!({"type": 4, "data": {"content": "Sure?", "flags": 64, "components": [
        {"type": 1, "components": [
            {"type": 2, "style": 4, "label": "Confirm", "custom_id": "confirm"},
            {"type": 2, "style": 2, "label": "Cancel", "custom_id": "cancel", "disabled": true}
        ]}
    ]}})
}

#[test]
fn a_callback_type_must_suit_the_interaction() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    for kind in [6, 7, 8, 1] {
        assert_eq!(
            answer(&mut state, &config, &handle, json!({"type": kind}), now),
            Err((400, 50035)),
            "type {kind} on a command"
        );
    }
    assert_eq!(
        answer(
            &mut state,
            &config,
            &handle,
            json!({"type": 4, "data": {}}),
            now
        ),
        Err((400, 50006)),
        "an empty message"
    );
    assert!(answer(&mut state, &config, &handle, prompt(), now).is_ok());
    let outcomes: Vec<_> = state.interactions[&handle.id]
        .callbacks
        .iter()
        .map(|callback| callback.outcome.clone())
        .collect();
    assert_eq!(outcomes.last(), Some(&CallbackOutcome::Accepted));
    assert!(matches!(
        outcomes[0],
        CallbackOutcome::Refused {
            status: 400,
            code: 50035
        }
    ));
}

#[test]
fn a_wrong_token_or_an_unknown_id_is_an_unknown_interaction() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    let wrong = state
        .callback(
            &config,
            handle.id,
            "nope",
            &prompt(),
            CallbackVia::Rest,
            now,
        )
        .unwrap_err();
    assert_eq!(
        wrong.body,
        json!({"message": "Unknown interaction", "code": 10062})
    );
    let unknown = state
        .callback(&config, 1, &handle.token, &prompt(), CallbackVia::Rest, now)
        .unwrap_err();
    assert_eq!(unknown.status.as_u16(), 404);
    assert!(
        answer(&mut state, &config, &handle, prompt(), now).is_ok(),
        "refused attempts do not acknowledge"
    );
}

#[test]
fn the_three_second_window_counts_from_creation() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    assert_eq!(
        answer(
            &mut state,
            &config,
            &handle,
            prompt(),
            now + Duration::from_millis(3001)
        ),
        Err((404, 10062))
    );
    let late = &state.interactions[&handle.id].callbacks[0];
    assert_eq!(late.outcome, CallbackOutcome::Expired);
    assert_eq!(late.after, Duration::from_millis(3001));
}

#[test]
fn buttons_are_pressed_as_the_user_saw_them_and_only_by_who_sees_them() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    answer(&mut state, &config, &handle, prompt(), now).unwrap();
    let original = state.interactions[&handle.id].original.unwrap();
    let seen = state.view(&config, original).unwrap();

    let bob = FakeUser::new(7, "bob");
    assert!(matches!(
        state.press_button(&config, &bob, &[], &seen, "confirm", now),
        Err(FakeError::NotVisible { user_id: 7, .. })
    ));
    assert!(matches!(
        state.press_button(&config, &alice(), &[], &seen, "cancel", now),
        Err(FakeError::NoSuchButton { .. })
    ));
    assert!(matches!(
        state.press_button(&config, &alice(), &[], &seen, "other", now),
        Err(FakeError::NoSuchButton { .. })
    ));
    let press = state
        .press_button(&config, &alice(), &[6], &seen, "confirm", now)
        .unwrap();
    let body = press.json();
    assert_eq!(body["type"], 3);
    assert_eq!(body["data"]["custom_id"], "confirm");
    assert_eq!(body["message"]["id"], original.to_string());
    assert_eq!(body["message"]["flags"], 64);
    assert_eq!(body["member"]["roles"], json!(["6"]));

    // A second press from the same stale view is still possible (two clicks at once); the
    // bot's update then applies to the message as it stands.
    let again = state
        .press_button(&config, &alice(), &[6], &seen, "confirm", now)
        .unwrap();
    answer(
        &mut state,
        &config,
        &press,
        json!({"type": 7, "data": {"content": "Done", "components": []}}),
        now,
    )
    .unwrap();
    assert_eq!(
        answer(
            &mut state,
            &config,
            &again,
            json!({"type": 7, "data": {"content": "Done twice"}}),
            now
        ),
        Ok(())
    );
    let message = state.view(&config, original).unwrap();
    assert_eq!(message.content, "Done twice");
    assert_eq!(message.edits, 2);
    assert!(message.is_ephemeral());

    state
        .webhook_delete(&config, APP, &handle.token, Target::Original, now)
        .unwrap();
    assert!(matches!(
        state.press_button(&config, &alice(), &[6], &seen, "confirm", now),
        Err(FakeError::UnknownMessage { .. })
    ));
}

#[test]
fn webhook_routes_need_our_application_and_an_acknowledged_interaction() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    let code = |error: super::error::ApiError| error.body["code"].as_u64().unwrap_or(0);
    let before = state.webhook_get(&config, APP, &handle.token, Target::Original, now);
    assert_eq!(before.map_err(code), Err(10015));
    answer(&mut state, &config, &handle, prompt(), now).unwrap();
    assert!(
        state
            .webhook_get(&config, APP, &handle.token, Target::Original, now)
            .is_ok()
    );
    let other_app = state.webhook_get(&config, 99, &handle.token, Target::Original, now);
    assert_eq!(other_app.map_err(code), Err(10015));
    let other_message = state.webhook_get(&config, APP, &handle.token, Target::Id(12345), now);
    assert_eq!(other_message.map_err(code), Err(10008));
    let emptied = state.webhook_edit(
        &config,
        APP,
        &handle.token,
        Target::Original,
        &json!({"content": "", "components": []}),
        now,
    );
    assert_eq!(emptied.map_err(code), Err(50006));
    let made_public = state
        .webhook_edit(
            &config,
            APP,
            &handle.token,
            Target::Original,
            &json!({"content": "Edited", "flags": 0}),
            now,
        )
        .unwrap();
    assert_eq!(
        made_public["flags"], 64,
        "an edit never changes the ephemeral state"
    );
}

#[test]
fn ephemeral_messages_are_not_reachable_through_channel_routes() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    answer(&mut state, &config, &handle, prompt(), now).unwrap();
    let original = state.interactions[&handle.id].original.unwrap();
    let code = |error: super::error::ApiError| error.body["code"].as_u64().unwrap_or(0);
    let edit = state.channel_edit(&config, CHANNEL, original, &json!({"content": "x"}));
    assert_eq!(edit.map_err(code), Err(10008));
    let created = state
        .channel_create(&config, CHANNEL, &json!({"content": "public", "flags": 64}))
        .unwrap();
    assert_eq!(created["flags"], 0, "channel messages cannot be ephemeral");
    assert_eq!(created["guild_id"], GUILD.to_string());
    let elsewhere = state.channel_create(&config, 999, &json!({"content": "x"}));
    assert_eq!(elsewhere.map_err(code), Err(50001));
}

#[test]
fn a_modal_submit_returns_every_input_in_order_and_checks_what_the_client_checks() {
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let handle = command(&mut state, &config, now);
    let modal = json!({"type": 9, "data": {"custom_id": "notify", "title": "Notify", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "password", "label": "Password", "style": 1}]},
        {"type": 1, "components": [{"type": 4, "custom_id": "cc", "label": "CC", "style": 1, "required": false}]}
    ]}});
    answer(&mut state, &config, &handle, modal, now).unwrap();
    assert!(matches!(
        state.submit_modal(
            &config,
            &alice(),
            &[],
            "notify",
            &[("cc", "x@example.com")],
            now
        ),
        Err(FakeError::ModalInput { .. })
    ));
    assert!(matches!(
        state.submit_modal(&config, &alice(), &[], "notify", &[("nope", "x")], now),
        Err(FakeError::ModalInput { .. })
    ));
    let submit = state
        .submit_modal(
            &config,
            &alice(),
            &[6],
            "notify",
            &[("password", "s3cret!")],
            now,
        )
        .unwrap();
    let body = submit.json();
    assert_eq!(body["type"], 5);
    assert_eq!(body["channel_id"], CHANNEL.to_string());
    assert_eq!(
        body["data"]["components"][0]["components"][0]["value"],
        "s3cret!"
    );
    assert_eq!(
        body["data"]["components"][1]["components"][0]["custom_id"],
        "cc"
    );
    assert_eq!(body["data"]["components"][1]["components"][0]["value"], "");
    assert!(
        body.get("message").is_none(),
        "opened by a command, not a button"
    );
    for kind in [6, 7, 9] {
        assert_eq!(
            answer(
                &mut state,
                &config,
                &submit,
                json!({"type": kind, "data": {}}),
                now
            ),
            Err((400, 50035)),
            "type {kind} on a modal submit opened by a command"
        );
    }
}

fn shared() -> Arc<Shared> {
    let (changes, _) = watch::channel(0);
    Arc::new(Shared {
        config: config(),
        gateway_url: "ws://127.0.0.1:1".into(),
        heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
        privileged_intents: 0,
        signing_key: SigningKey::from_bytes(&[1; 32]),
        state: Mutex::new(State::default()),
        requests: Mutex::new(Vec::new()),
        faults: Mutex::new(FaultQueue::default()),
        latency: Mutex::new(Duration::ZERO),
        gateway: Mutex::new(Gateway::default()),
        changes,
    })
}

/// Feeds frames to one simulated connection; returns what it would send.
fn exchange(shared: &Shared, session: &mut Option<String>, frames: &[Value]) -> Vec<Outbound> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for frame in frames {
        gateway::handle_frame(shared, 1, &tx, session, &frame.to_string());
    }
    drop(tx);
    let mut sent = Vec::new();
    while let Ok(outbound) = rx.try_recv() {
        sent.push(outbound);
    }
    sent
}

fn identify(token: &str) -> Value {
    json!({"op": 2, "d": {"token": token, "intents": 0, "shard": [0, 1], "properties": {}}})
}

fn close_code(sent: &[Outbound]) -> Option<u16> {
    sent.iter().find_map(|outbound| match outbound {
        Outbound::Close(code, _) => Some(*code),
        Outbound::Text(_) => None,
    })
}

#[test]
fn the_gateway_refuses_what_discord_refuses() {
    let shared = shared();
    let cases = [
        (vec![json!({"op": 3, "d": {}})], 4003),
        (vec![json!({"op": 99})], 4001),
        (vec![identify("Bot wrong")], 4004),
        (vec![identify("Bot tok"), identify("Bot tok")], 4005),
        (
            vec![json!({"op": 2, "d": {"token": "tok", "intents": 0, "shard": [1, 1]}})],
            4010,
        ),
        (
            vec![json!({"op": 2, "d": {"token": "tok", "intents": 1 << 15}})],
            4014,
        ),
    ];
    for (frames, code) in cases {
        let mut session = None;
        let sent = exchange(&shared, &mut session, &frames);
        assert_eq!(close_code(&sent), Some(code), "{frames:?}");
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    gateway::handle_frame(&shared, 1, &tx, &mut None, "not json");
    assert!(matches!(rx.try_recv(), Ok(Outbound::Close(4002, _))));
}

#[test]
fn identify_gets_ready_and_resume_of_an_unknown_session_gets_invalid_session() {
    let shared = shared();
    let mut session = None;
    let sent = exchange(
        &shared,
        &mut session,
        &[identify("tok"), json!({"op": 1, "d": 1})],
    );
    let texts: Vec<Value> = sent
        .iter()
        .filter_map(|outbound| match outbound {
            Outbound::Text(text) => serde_json::from_str(text).ok(),
            Outbound::Close(..) => None,
        })
        .collect();
    assert_eq!(texts[0]["t"], "READY");
    assert_eq!(texts[0]["s"], 1);
    assert_eq!(texts[0]["d"]["application"]["id"], APP.to_string());
    assert_eq!(texts[0]["d"]["guilds"][0]["id"], GUILD.to_string());
    assert_eq!(texts[1]["op"], 11);
    assert!(session.is_some());

    let mut fresh = None;
    let sent = exchange(
        &shared,
        &mut fresh,
        &[json!({"op": 6, "d": {"token": "tok", "session_id": "unknown", "seq": 1}})],
    );
    match &sent[..] {
        [Outbound::Text(text)] => {
            let frame: Value = serde_json::from_str(text).unwrap();
            assert_eq!(frame, json!({"op": 9, "d": false, "s": null, "t": null}));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn an_autocomplete_takes_one_result_of_at_most_25_choices_and_nothing_else() {
    use super::interaction::CommandOption;
    let config = config();
    let mut state = State::default();
    let now = Instant::now();
    let typing = state.autocomplete(
        &config,
        &alice(),
        &[6],
        Some(GUILD),
        CHANNEL,
        "reset",
        &[CommandOption::sub_command(
            "user",
            vec![CommandOption::focused("user", "jcu")],
        )],
        now,
    );
    let body: Value = serde_json::from_slice(&typing.body).unwrap();
    assert_eq!(body["type"], 4);
    assert_eq!(body["data"]["options"][0]["options"][0]["focused"], true);
    for kind in [4, 5, 6, 7, 9] {
        assert_eq!(
            answer(&mut state, &config, &typing, json!({"type": kind}), now),
            Err((400, 50035)),
            "type {kind} on an autocomplete"
        );
    }
    let too_many: Vec<Value> = (0..26)
        .map(|n| json!({"name": format!("u{n}"), "value": format!("u{n}")}))
        .collect();
    let long = "x".repeat(101);
    for data in [
        json!({"choices": too_many}),
        json!({"choices": [{"name": "", "value": "a"}]}),
        json!({"choices": [{"name": "a", "value": long}]}),
        json!({}),
    ] {
        assert_eq!(
            answer(
                &mut state,
                &config,
                &typing,
                json!({"type": 8, "data": data}),
                now
            ),
            Err((400, 50035)),
            "{data}"
        );
    }
    let result = json!({"type": 8, "data": {"choices": [
        {"name": "jcuser.one", "value": "jcuser.one"}
    ]}});
    assert!(answer(&mut state, &config, &typing, result.clone(), now).is_ok());
    let accepted = state.interactions[&typing.id]
        .callbacks
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        accepted.choices(),
        [("jcuser.one".to_owned(), json!("jcuser.one"))]
    );
    assert_eq!(
        answer(&mut state, &config, &typing, result, now),
        Err((400, 40060)),
        "one result only"
    );
    // No message came of it: there is nothing to edit through the token.
    assert!(
        state
            .webhook_get(&config, APP, &typing.token, Target::Original, now)
            .is_err()
    );
}
