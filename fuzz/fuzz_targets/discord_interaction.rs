//! Fuzz target: Discord HTTP interactions: Ed25519 verification on attacker-chosen headers and bodies, then
//! serenity's Interaction model, the adapter's convert step and the command parser. Most inputs
//! are signed inside the target ("validly signed garbage") so that they reach the parsers.
//!
//! See `fuzz/README.md` and `passdesk_fuzz::discord_interaction`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passdesk_fuzz::discord_interaction(data));
