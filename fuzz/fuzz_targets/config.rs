//! Fuzz target: The configuration parser (Config::from_toml_str with a map of distinctive secrets): no panic,
//! every error names its key (or line), on one line, without a secret.
//!
//! See `fuzz/README.md` and `passdesk_fuzz::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passdesk_fuzz::config(data));
