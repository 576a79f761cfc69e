//! Support for the end-to-end tests in `tests/tests/`: simulator launchers, fixtures, the
//! JumpCloud specifications, and a tracing capture for secret scans.
// This crate is test code only: a panic here is a failed test with a clear location, so the
// workspace's unwrap/expect/print lints do not apply.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
pub mod bench;
pub mod engine;
pub mod jumpcloud;
pub mod specs;
pub mod trace;
