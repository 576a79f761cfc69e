//! Fuzz target: The Slack slash-command text parser (split_text and the adapter's flags and positional
//! values): no panic, a round trip through its own rendering, and no option or value that was
//! not typed.
//!
//! See `fuzz/README.md` and `passdesk_fuzz::slack_command_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passdesk_fuzz::slack_command_text(data));
