//! The `startup` benchmark scenario in smoke size, on the `passdesk` binary the workspace
//! built: `passdesk demo` becomes ready and quits cleanly, `passdesk run` binds its listener,
//! answers `/healthz` and stops on SIGTERM, and the table gets its rows with real figures.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use passdesk_tests::bench::{self, Ctx, Size, Verdict, startup};

/// `median 84.1 ms (…)` or `84.1 ms (1 run)` → milliseconds.
fn millis(result: &str) -> Option<f64> {
    let text = result.strip_prefix("median ").unwrap_or(result);
    let (number, rest) = text.split_once(' ')?;
    rest.starts_with("ms").then_some(())?;
    number.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_run_starts_the_demo_and_the_server() {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        size: Size::Smoke,
        passdesk: bench::passdesk_binary().unwrap(),
        scratch: scratch.path().to_owned(),
    };
    let started = Instant::now();
    let section = startup::run(&ctx).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "a smoke run took {took:?}");

    let row = |name: &str| {
        section
            .rows
            .iter()
            .find(|r| r.scenario == name)
            .unwrap_or_else(|| panic!("no {name} row in {:?}", section.rows))
    };
    for name in ["start-up: passdesk demo", "start-up: passdesk run"] {
        let r = row(name);
        let ms = millis(&r.result).unwrap_or_else(|| panic!("{name}: {:?}", r.result));
        // A real start: more than nothing, and well inside the scenario's own 15 s limit.
        assert!(ms > 0.5 && ms < 15_000.0, "{name}: {ms} ms");
        assert!(
            r.target.starts_with("< ") && r.target.ends_with(" ms"),
            "{r:?}"
        );
        assert_eq!(r.verdict, Verdict::Smoke, "{r:?}");
    }
    assert_eq!(
        row("start-up: passdesk run /healthz").result,
        "200 in 1/1 runs"
    );
    let rss = &row("start-up: passdesk demo peak RSS").result;
    let mib: f64 = rss
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("peak RSS: {rss:?}"));
    assert!(mib > 1.0 && mib < 1_000.0, "peak RSS {mib} MiB");
    assert_eq!(
        row("start-up: passdesk demo peak RSS").verdict,
        Verdict::Info
    );
    let shutdown = &row("start-up: shutdown").result;
    assert!(
        shutdown.starts_with("demo ") && shutdown.contains("; run "),
        "{shutdown}"
    );
}
