//! The Passdesk bot's chat adapters as a library: the `passdesk` binary runs them, and the
//! integration tests in `bot/tests/` drive them in-process against the simulators.
//!
//! Business rules live in `passdesk-commands`; these modules only translate between a chat
//! platform's wire format and the engine's `Invocation` / `Press` / `Reply`.

pub mod discord;
pub mod engine_events;
pub mod follow_up;
pub mod server;
pub mod signed;
pub mod slack;
