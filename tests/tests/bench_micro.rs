//! The `micro` benchmark scenario in smoke size: every hot-path operation is timed through
//! the real verifiers, parser and renderer, and the table gets one row per operation with a
//! figure and a target, fast enough for CI.

use std::time::{Duration, Instant};

use passdesk_tests::bench::micro;
use passdesk_tests::bench::{Ctx, Size, Verdict};

const EXPECTED: [&str; 9] = [
    "micro: Discord Ed25519 verify",
    "micro: Slack HMAC verify",
    "micro: parse reset user",
    "micro: parse reset group",
    "micro: parse reset inactive",
    "micro: parse expire",
    "micro: parse notify",
    "micro: render plan, 1 target",
    "micro: render plan, 500 targets",
];

/// `41.2 µs/op` → nanoseconds.
fn per_op_ns(result: &str) -> Option<f64> {
    let figure = result.strip_suffix("/op")?;
    let (number, unit) = figure.split_once(' ')?;
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "µs" => 1e3,
        "ms" => 1e6,
        _ => return None,
    };
    Some(number * scale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_run_times_every_hot_path_operation() {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        size: Size::Smoke,
        passdesk: "passdesk".into(),
        scratch: scratch.path().to_owned(),
    };
    let started = Instant::now();
    let section = micro::run(&ctx).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "a smoke run took {took:?}");

    let scenarios: Vec<&str> = section.rows.iter().map(|r| r.scenario.as_str()).collect();
    assert_eq!(scenarios, EXPECTED);
    for row in &section.rows {
        let ns = per_op_ns(&row.result)
            .unwrap_or_else(|| panic!("{}: not a figure per op: {:?}", row.scenario, row.result));
        assert!(ns > 0.0 && ns.is_finite(), "{row:?}");
        assert!(row.target.starts_with("< "), "{row:?}");
        assert_eq!(row.verdict, Verdict::Smoke, "{row:?}");
    }
    let targets: Vec<&str> = section.rows.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets[0], "< 100 µs");
    assert_eq!(targets[1], "< 20 µs");
    assert_eq!(targets[8], "< 2 ms");
    assert!(
        section.notes.iter().any(|n| n.contains("20% (Ed25519)")),
        "the budget's reasoning is stated: {:?}",
        section.notes
    );
}

#[test]
fn the_benches_check_what_they_time() {
    let benches = micro::benches().unwrap();
    let ids: Vec<&str> = benches.iter().map(|b| b.id).collect();
    assert_eq!(
        ids,
        [
            "discord_ed25519_verify",
            "slack_hmac_verify",
            "parse_reset_user",
            "parse_reset_group",
            "parse_reset_inactive",
            "parse_expire",
            "parse_notify",
            "render_plan_1",
            "render_plan_500",
        ]
    );
    for bench in &benches {
        bench.check().unwrap();
        assert!(bench.run_once(), "{}", bench.id);
    }
}
