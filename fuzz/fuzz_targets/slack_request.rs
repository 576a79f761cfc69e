//! Fuzz target: Slack requests: the v0 HMAC on attacker-chosen headers and bodies, then the form, the
//! slash-command fields, the interaction payload JSON, the convert step and the command parser.
//! Most inputs are signed inside the target so that they reach the parsers.
//!
//! See `fuzz/README.md` and `passdesk_fuzz::slack_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passdesk_fuzz::slack_request(data));
