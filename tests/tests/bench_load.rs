//! The load scenario (interaction acknowledgement under load) in smoke size, as CI runs it:
//! the real `passdesk run` for Discord and for Slack, 100 req/s for 1 s each, open loop.
//!
//! What a reader of the report would notice: a row per platform with numeric figures and no
//! errors at a rate any machine serves, presses among the requests (the pool of confirmations
//! works), a saturation row per platform, and the chart with all four series and the target.

use std::time::{Duration, Instant};

use passdesk_tests::bench::{self, Ctx, Row, Size, Verdict, number_after};

fn row<'a>(rows: &'a [Row], scenario: &str, platform: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.scenario == scenario && r.params.starts_with(platform))
        .unwrap_or_else(|| panic!("no {scenario:?} row for {platform}: {rows:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_scenario_measures_both_platforms_and_draws_the_chart() {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        size: Size::Smoke,
        passdesk: bench::passdesk_binary().unwrap(),
        scratch: scratch.path().to_owned(),
    };
    let started = Instant::now();
    let section = bench::load::run(&ctx).await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "the smoke run took {took:?}"
    );

    for platform in ["Discord", "Slack"] {
        let step = row(&section.rows, "ack under load", platform);
        assert!(step.params.contains("100 req/s offered"), "{step:?}");
        assert_eq!(step.verdict, Verdict::Smoke, "{step:?}");
        // Every request answered in time; the rate itself depends on the build (a debug
        // build verifies Ed25519 signatures slowly) and on what else the machine runs.
        let answered = number_after(&step.result, "");
        assert!(
            0.0 < answered && answered <= 110.0,
            "{platform} answered {answered} req/s of 100 offered: {step:?}"
        );
        let p50 = number_after(&step.result, "p50 ");
        let p99 = number_after(&step.result, "p99 ");
        let max = number_after(&step.result, "max ");
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{step:?}");
        assert!(step.result.contains("; 0 errors of 100"), "{step:?}");

        let directory = row(&section.rows, "ack vs directory", platform);
        assert!(
            number_after(&directory.result, "p50 ") > 0.0,
            "{directory:?}"
        );

        let saturation = row(&section.rows, "ack saturation", platform);
        assert!(saturation.result.contains("req/s"), "{saturation:?}");

        let note = section
            .notes
            .iter()
            .find(|n| n.starts_with(&format!("{platform}: ")))
            .unwrap_or_else(|| panic!("no note for {platform}: {:#?}", section.notes));
        let presses = number_after(note, ": ");
        assert!(presses > 0.0, "no presses were sent on {platform}: {note}");
    }

    let chart = section
        .charts
        .iter()
        .find(|c| c.file == "ack-latency.svg")
        .expect("the ack latency chart");
    assert!(chart.svg.starts_with("<svg"), "{}", &chart.svg[..60]);
    for series in [
        "Discord p50",
        "Discord p99",
        "Slack p50",
        "Slack p99",
        "10 ms",
    ] {
        assert!(
            chart.svg.contains(series),
            "{series} missing from the chart"
        );
    }
    assert!(chart.svg.len() < 100_000, "{} bytes", chart.svg.len());
}
