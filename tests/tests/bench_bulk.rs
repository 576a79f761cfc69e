//! The bulk scenario (bulk reset against JumpCloud's rate limit) in smoke size, as CI runs it:
//! 40 users, R = 200 requests/s, 5 ms latency, one repetition.
//!
//! What a reader of the report would notice: every row is there with a number; every user was
//! mailed exactly once and no target failed; Passdesk stayed under the limit (no `429`, no more
//! targets a second than the limit admits); the baseline ran; and the chart has every series.

use std::time::{Duration, Instant};

use passdesk_tests::bench::bulk::REQUESTS_PER_TARGET;
use passdesk_tests::bench::{self, Ctx, Row, Size, Verdict, number_after};

fn row<'a>(rows: &'a [Row], scenario: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.scenario == scenario)
        .unwrap_or_else(|| panic!("no {scenario:?} row: {rows:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_scenario_mails_each_user_once_within_the_limit_and_draws_the_chart() {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        size: Size::Smoke,
        // The bulk scenario starts no process: any path will do when none is built.
        passdesk: bench::passdesk_binary().unwrap_or_default(),
        scratch: scratch.path().to_owned(),
    };
    let started = Instant::now();
    let section = bench::bulk::run(&ctx).await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "the smoke run took {took:?}"
    );
    assert_eq!(section.rows.len(), 4, "{:#?}", section.rows);
    assert!(section.rows.iter().all(|r| r.verdict != Verdict::Fail));

    // Throughput: a positive figure that never beats what the limit admits.
    let reset = row(&section.rows, "bulk reset");
    assert!(
        reset.params.starts_with("R=200 req/s, 40 users, 5 ms"),
        "{reset:?}"
    );
    assert_eq!(reset.verdict, Verdict::Smoke, "{reset:?}");
    let targets = number_after(&reset.result, "");
    let requests = number_after(&reset.result, "(");
    let admitted = 200.0 / f64::from(REQUESTS_PER_TARGET);
    assert!(
        0.0 < targets && targets <= admitted * 1.05,
        "{targets} targets/s with a limit admitting {admitted}: {reset:?}"
    );
    assert!(
        (requests / targets - f64::from(REQUESTS_PER_TARGET)).abs() < 0.05,
        "each target is a read and a mail: {reset:?}"
    );
    assert!(reset.target.contains("95.0 targets/s"), "{reset:?}");

    // Every user mailed once, nothing failed, the limit never answered 429.
    let outcomes = row(&section.rows, "bulk reset: outcomes");
    assert_eq!(
        outcomes.result, "0 failed, 0 duplicate mails, 0 unmailed; 429s: 0",
        "{outcomes:?}"
    );

    // The comparison is a ratio of two figures of this run.
    let vs = row(&section.rows, "bulk reset vs sequential");
    let ratio = number_after(&vs.result, "");
    let baseline = row(&section.rows, "sequential baseline");
    let sequential = number_after(&baseline.result, "");
    assert!(sequential > 0.0, "{baseline:?}");
    assert!(baseline.result.ends_with("(0 failed)"), "{baseline:?}");
    assert_eq!(baseline.verdict, Verdict::Info);
    assert!(
        (ratio - targets / sequential).abs() < 0.02 * ratio.max(0.1),
        "{vs:?} vs {targets} ÷ {sequential}"
    );

    // The chart: the measured series next to the limit and the baseline.
    let [chart] = section.charts.as_slice() else {
        panic!("one chart expected: {:?}", section.charts);
    };
    assert_eq!(chart.file, "bulk-throughput.svg");
    assert!(chart.svg.starts_with("<svg"), "{}", &chart.svg[..80]);
    for series in [
        "y = R: the limit",
        "most targets/s",
        "sequential baseline:",
        "Passdesk: targets/s",
        "Passdesk: upstream requests/s admitted",
    ] {
        assert!(
            chart.svg.contains(series),
            "{series} missing from the chart"
        );
    }
    assert!(chart.svg.len() < 100_000, "{} bytes", chart.svg.len());
    assert!(
        section.notes.iter().any(|n| n.contains("2 requests")),
        "{:#?}",
        section.notes
    );
}
