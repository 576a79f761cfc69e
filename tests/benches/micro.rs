//! Criterion micro benchmarks of the hot path (`cargo bench -p passdesk-tests --bench micro`):
//! Discord Ed25519 and Slack HMAC verification through the bot's verifiers, command parsing,
//! and plan rendering. The operations and fixtures are those of the bench binary's `micro`
//! scenario ([`passdesk_tests::bench::micro::benches`]), so both time the same thing.
//!
//! Defaults are short (0.5 s warm-up, 2 s measurement per bench); criterion's own flags
//! (`--quick`, `--measurement-time`, a name filter) override them.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use passdesk_tests::bench::micro;

fn hot_path(c: &mut Criterion) {
    // A fixture that cannot be built is a broken benchmark: say why and stop.
    let benches = micro::benches().unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("passdesk");
    for bench in &benches {
        group.bench_function(bench.id, |b| b.iter(|| bench.run_once()));
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = hot_path
}
criterion_main!(benches);
