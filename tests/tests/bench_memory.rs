//! The memory scenario in smoke size, as CI runs it: the real `passdesk run` idle, then
//! holding 1,000 pending confirmations created through its Discord endpoint.
//!
//! What a reader of the report would notice: both readings are real sizes from `/proc`, every
//! confirmation was shown to its requester and is held, the growth per pending action is a
//! number, and the run is quick.

use std::time::{Duration, Instant};

use passdesk_tests::bench::{self, Ctx, Row, Size, Verdict, number_after};

fn row<'a>(rows: &'a [Row], params: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.scenario == "memory" && r.params.contains(params))
        .unwrap_or_else(|| panic!("no memory row about {params:?}: {rows:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_scenario_reads_the_process_idle_and_holding_pending_confirmations() {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        size: Size::Smoke,
        passdesk: bench::passdesk_binary().unwrap(),
        scratch: scratch.path().to_owned(),
    };
    let started = Instant::now();
    let section = bench::memory::run(&ctx).await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "the smoke run took {took:?}"
    );

    let idle = row(&section.rows, "idle");
    let idle_mb = number_after(&idle.result, "VmRSS ");
    assert!(
        (1.0..1000.0).contains(&idle_mb),
        "an idle process of {idle_mb} MB: {idle:?}"
    );
    assert!(number_after(&idle.result, "VmHWM ") >= idle_mb, "{idle:?}");
    assert_eq!(idle.verdict, Verdict::Smoke);

    let held = row(&section.rows, "1,000 pending confirmations held");
    assert!(
        held.result
            .contains("1,000 of 1,000 shown as confirmations, 0 commands failed"),
        "{held:?}"
    );
    let held_mb = number_after(&held.result, "VmRSS ");
    assert!(
        held_mb >= idle_mb * 0.9,
        "{held_mb} MB held vs {idle_mb} MB idle"
    );

    let growth = row(&section.rows, "growth per pending");
    assert!(growth.result.ends_with("/ 1,000)"), "{growth:?}");
    number_after(&growth.result, "");

    let creating = row(&section.rows, "creating 1,000 pending");
    assert!(number_after(&creating.result, "") > 0.0, "{creating:?}");
}
