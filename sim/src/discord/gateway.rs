//! The gateway: a WebSocket at the URL `GET /gateway` returns, playing Discord's side of
//! HELLO, IDENTIFY, READY, heartbeats, dispatches and RESUME.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::Shared;

/// Privileged intents: `GUILD_MEMBERS`, `GUILD_PRESENCES`, `MESSAGE_CONTENT`.
pub const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

/// How many sent dispatches a session keeps for a RESUME.
const REPLAY_BUFFER: usize = 1000;

/// A gateway session (identified once, possibly resumed on later connections).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id sent in READY.
    pub session_id: String,
    /// `[shard_id, shard_count]` from IDENTIFY.
    pub shard: [u32; 2],
    /// The intents from IDENTIFY.
    pub intents: u64,
    /// The last sequence number sent.
    pub seq: u64,
    /// Whether a connection is attached right now.
    pub connected: bool,
}

/// Counters of what happened on the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayStats {
    /// WebSocket connections opened.
    pub connections: u64,
    /// IDENTIFYs accepted (each made a session and a READY).
    pub identifies: u64,
    /// RESUMEs accepted (each replayed missed dispatches and sent RESUMED).
    pub resumes: u64,
    /// Heartbeats (op 1) received.
    pub heartbeats: u64,
    /// Heartbeat ACKs (op 11) sent.
    pub heartbeat_acks: u64,
    /// Dispatches (op 0) sent, READY and RESUMED included, replays not.
    pub dispatches: u64,
    /// Close codes the fake sent, in order.
    pub closes: Vec<u16>,
    /// The sessions, in no particular order.
    pub sessions: Vec<SessionInfo>,
}

#[derive(Debug)]
pub(crate) enum Outbound {
    Text(String),
    Close(u16, &'static str),
}

#[derive(Debug)]
struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Outbound>,
}

#[derive(Debug)]
struct Session {
    id: String,
    shard: [u32; 2],
    intents: u64,
    seq: u64,
    buffer: VecDeque<(u64, String)>,
    conn: Option<Conn>,
}

impl Session {
    /// Sends (or, while disconnected, only buffers) one dispatch with the next sequence number.
    fn dispatch(&mut self, event: &str, data: &str) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        let event = Value::String(event.to_owned());
        let text = format!(r#"{{"op":0,"t":{event},"s":{seq},"d":{data}}}"#);
        if let Some(conn) = &self.conn {
            let _ = conn.tx.send(Outbound::Text(text.clone()));
        }
        self.buffer.push_back((seq, text));
        if self.buffer.len() > REPLAY_BUFFER {
            self.buffer.pop_front();
        }
        seq
    }

    fn serves(&self, guild_id: Option<u64>) -> bool {
        let [shard_id, count] = self.shard;
        match guild_id {
            Some(guild) => (guild >> 22) % u64::from(count.max(1)) == u64::from(shard_id),
            None => shard_id == 0,
        }
    }

    fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id.clone(),
            shard: self.shard,
            intents: self.intents,
            seq: self.seq,
            connected: self.conn.is_some(),
        }
    }
}

/// The gateway's mutable state.
#[derive(Debug)]
pub(crate) struct Gateway {
    sessions: HashMap<String, Session>,
    next_conn: u64,
    stats: GatewayStats,
    pub(crate) ack_heartbeats: bool,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            sessions: HashMap::new(),
            next_conn: 0,
            stats: GatewayStats::default(),
            ack_heartbeats: true,
        }
    }
}

/// Close codes after which Discord lets the client RESUME the session.
fn resumable(code: u16) -> bool {
    matches!(code, 4000 | 4001 | 4002 | 4003 | 4005 | 4008)
}

impl Gateway {
    pub(crate) fn stats(&self) -> GatewayStats {
        let mut stats = self.stats.clone();
        stats.sessions = self.sessions.values().map(Session::info).collect();
        stats
    }

    /// Sends a dispatch to the session serving `guild_id`'s shard (a connected one first).
    pub(crate) fn dispatch_to_shard(
        &mut self,
        guild_id: Option<u64>,
        event: &str,
        data: &str,
    ) -> Option<u64> {
        let session = self
            .sessions
            .values_mut()
            .filter(|session| session.serves(guild_id))
            .max_by_key(|session| session.conn.is_some())?;
        let seq = session.dispatch(event, data);
        self.stats.dispatches += 1;
        Some(seq)
    }

    /// Closes every attached connection with `code`; sessions survive resumable codes only.
    pub(crate) fn close_all(&mut self, code: u16) -> usize {
        let mut closed = 0;
        for session in self.sessions.values_mut() {
            if let Some(conn) = session.conn.take() {
                let _ = conn.tx.send(Outbound::Close(code, "closed by the fake"));
                closed += 1;
                self.stats.closes.push(code);
            }
        }
        if !resumable(code) {
            self.sessions.clear();
        }
        closed
    }

    /// Sends op 7 RECONNECT to every attached connection.
    pub(crate) fn request_reconnect(&mut self) -> usize {
        let text = r#"{"op":7,"d":null,"s":null,"t":null}"#;
        self.sessions
            .values()
            .filter_map(|session| session.conn.as_ref())
            .filter(|conn| conn.tx.send(Outbound::Text(text.to_owned())).is_ok())
            .count()
    }
}

/// `GET /` with a WebSocket upgrade: the gateway.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let version_ok = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("v="))
        .all(|version| version == "10");
    let span = tracing::debug_span!("discord_fake_gateway", conn = tracing::field::Empty);
    ws.on_upgrade(move |socket| connection(shared, socket, version_ok).instrument(span))
}

async fn connection(shared: Arc<Shared>, socket: WebSocket, version_ok: bool) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut gateway = shared.gateway();
        gateway.next_conn += 1;
        gateway.stats.connections += 1;
        gateway.next_conn
    };
    tracing::Span::current().record("conn", conn_id);
    shared.notify();
    if version_ok {
        let hello = json!({
            "op": 10,
            "d": {
                "heartbeat_interval": u64::try_from(shared.heartbeat_interval.as_millis()).unwrap_or(u64::MAX),
                "_trace": ["fake-gateway"],
            },
            "s": null,
            "t": null,
        });
        let _ = tx.send(Outbound::Text(hello.to_string()));
    } else {
        let _ = tx.send(Outbound::Close(4012, "Invalid API version"));
    }
    let mut session: Option<String> = None;
    loop {
        tokio::select! {
            outbound = rx.recv() => match outbound {
                Some(Outbound::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    handle_frame(&shared, conn_id, &tx, &mut session, text.as_str());
                    shared.notify();
                }
                Some(Ok(Message::Binary(_))) => {
                    close(&shared, &tx, 4002, "Error while decoding payload.");
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
        }
    }
    {
        let mut gateway = shared.gateway();
        for session in gateway.sessions.values_mut() {
            if session.conn.as_ref().is_some_and(|conn| conn.id == conn_id) {
                session.conn = None;
            }
        }
    }
    shared.notify();
}

fn close(shared: &Shared, tx: &mpsc::UnboundedSender<Outbound>, code: u16, reason: &'static str) {
    shared.gateway().stats.closes.push(code);
    let _ = tx.send(Outbound::Close(code, reason));
}

fn token_ok(shared: &Shared, data: &Value) -> bool {
    let token = data
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    token.strip_prefix("Bot ").unwrap_or(token) == shared.config.token
}

pub(crate) fn handle_frame(
    shared: &Shared,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<Outbound>,
    session: &mut Option<String>,
    text: &str,
) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        close(shared, tx, 4002, "Error while decoding payload.");
        return;
    };
    let data = frame.get("d").cloned().unwrap_or(Value::Null);
    match frame.get("op").and_then(Value::as_u64) {
        Some(1) => {
            let mut gateway = shared.gateway();
            gateway.stats.heartbeats += 1;
            if gateway.ack_heartbeats {
                gateway.stats.heartbeat_acks += 1;
                let ack = r#"{"op":11,"d":null,"s":null,"t":null}"#;
                let _ = tx.send(Outbound::Text(ack.to_owned()));
            }
        }
        Some(2) => identify(shared, conn_id, tx, session, &data),
        Some(6) => resume(shared, conn_id, tx, session, &data),
        Some(3 | 4 | 8 | 31) if session.is_some() => {}
        Some(3 | 4 | 8 | 31) => close(shared, tx, 4003, "Not authenticated."),
        _ => close(shared, tx, 4001, "Unknown opcode."),
    }
}

fn identify(
    shared: &Shared,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<Outbound>,
    session: &mut Option<String>,
    data: &Value,
) {
    if session.is_some() {
        return close(shared, tx, 4005, "Already authenticated.");
    }
    if !token_ok(shared, data) {
        return close(shared, tx, 4004, "Authentication failed.");
    }
    let Some(intents) = data.get("intents").and_then(Value::as_u64) else {
        return close(shared, tx, 4013, "Invalid intent(s).");
    };
    if intents & PRIVILEGED_INTENTS & !shared.privileged_intents != 0 {
        return close(shared, tx, 4014, "Disallowed intent(s).");
    }
    let shard = data
        .get("shard")
        .and_then(Value::as_array)
        .map(|pair| {
            let part = |index: usize| {
                pair.get(index)
                    .and_then(Value::as_u64)
                    .and_then(|value| u32::try_from(value).ok())
            };
            [part(0), part(1)]
        })
        .unwrap_or([Some(0), Some(1)]);
    let [Some(shard_id), Some(shard_count)] = shard else {
        return close(shared, tx, 4010, "Invalid shard.");
    };
    if shard_count == 0 || shard_id >= shard_count {
        return close(shared, tx, 4010, "Invalid shard.");
    }
    let session_id: String = {
        let mut rng = rand::rng();
        (0..32)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    };
    let config = &shared.config;
    let mut new_session = Session {
        id: session_id.clone(),
        shard: [shard_id, shard_count],
        intents,
        seq: 0,
        buffer: VecDeque::new(),
        conn: Some(Conn {
            id: conn_id,
            tx: tx.clone(),
        }),
    };
    let guilds: Vec<Value> = config
        .guilds
        .keys()
        .filter(|guild| new_session.serves(Some(**guild)))
        .map(|guild| json!({ "id": guild.to_string(), "unavailable": true }))
        .collect();
    let ready = json!({
        "v": 10,
        "user": config.bot.current_user_json(),
        "guilds": guilds,
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": shared.gateway_url,
        "shard": [shard_id, shard_count],
        "application": { "id": config.application_id.to_string(), "flags": 0 },
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "auth": {},
        "_trace": ["fake-gateway"],
    });
    new_session.dispatch("READY", &ready.to_string());
    let mut gateway = shared.gateway();
    gateway.stats.identifies += 1;
    gateway.stats.dispatches += 1;
    gateway.sessions.insert(session_id.clone(), new_session);
    *session = Some(session_id);
}

fn resume(
    shared: &Shared,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<Outbound>,
    session: &mut Option<String>,
    data: &Value,
) {
    if session.is_some() {
        return close(shared, tx, 4005, "Already authenticated.");
    }
    if !token_ok(shared, data) {
        return close(shared, tx, 4004, "Authentication failed.");
    }
    let session_id = data
        .get("session_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let client_seq = data.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let mut gateway = shared.gateway();
    let Some(found) = gateway.sessions.get_mut(session_id) else {
        let invalid = r#"{"op":9,"d":false,"s":null,"t":null}"#;
        let _ = tx.send(Outbound::Text(invalid.to_owned()));
        return;
    };
    found.conn = Some(Conn {
        id: conn_id,
        tx: tx.clone(),
    });
    for (_, text) in found.buffer.iter().filter(|(seq, _)| *seq > client_seq) {
        let _ = tx.send(Outbound::Text(text.clone()));
    }
    found.dispatch("RESUMED", r#"{"_trace":["fake-gateway"]}"#);
    gateway.stats.resumes += 1;
    gateway.stats.dispatches += 1;
    *session = Some(session_id.to_owned());
}
