//! `bench`: runs Passdesk's benchmark scenarios against the simulators on 127.0.0.1 and prints
//! a Markdown table (scenario, parameters, result, target, verdict). See BENCHMARKS.md.
//!
//! ```text
//! cargo build --release -p passdesk-bot
//! cargo run --release -p passdesk-tests --bin bench -- all [--smoke] [--out DIR] [--update-docs]
//! ```
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use passdesk_tests::bench::machine::Machine;
use passdesk_tests::bench::{self, Ctx, Section, Size, report};

/// Passdesk's benchmarks.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Which scenarios to run.
    #[arg(value_enum, default_value = "all")]
    scenario: Vec<Scenario>,
    /// Run each scenario once, tiny (what CI does): proves the harness, measures nothing.
    #[arg(long)]
    smoke: bool,
    /// Where to write report.md and the SVG charts.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Also write the report into BENCHMARKS.md (between its markers) and the charts into
    /// docs/bench/.
    #[arg(long)]
    update_docs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Bulk,
    Load,
    Memory,
    Startup,
    Micro,
}

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

fn main() -> ExitCode {
    match run() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failed) => {
            eprintln!("{failed} target(s) missed");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<usize> {
    let args = Args::parse();
    let size = if args.smoke { Size::Smoke } else { Size::Full };
    let wanted = |s: Scenario| args.scenario.contains(&Scenario::All) || args.scenario.contains(&s);
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let ctx = Ctx {
        size,
        passdesk: bench::passdesk_binary()?,
        scratch: scratch.path().to_owned(),
    };
    let machine = Machine::current();
    eprintln!("bench: {machine}; passdesk = {}", ctx.passdesk.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let started = std::time::Instant::now();
    let mut sections: Vec<Section> = Vec::new();
    runtime.block_on(async {
        type Step = (Scenario, &'static str);
        let steps: [Step; 5] = [
            (Scenario::Bulk, "bulk"),
            (Scenario::Load, "load"),
            (Scenario::Memory, "memory"),
            (Scenario::Startup, "startup"),
            (Scenario::Micro, "micro"),
        ];
        for (scenario, name) in steps {
            if !wanted(scenario) {
                continue;
            }
            let t = std::time::Instant::now();
            eprintln!("bench: {name}…");
            let section = match scenario {
                Scenario::Bulk => bench::bulk::run(&ctx).await,
                Scenario::Load => bench::load::run(&ctx).await,
                Scenario::Memory => bench::memory::run(&ctx).await,
                Scenario::Startup => bench::startup::run(&ctx).await,
                Scenario::Micro | Scenario::All => bench::micro::run(&ctx).await,
            }?;
            eprintln!("bench: {name} done in {:.1} s", t.elapsed().as_secs_f64());
            sections.push(section);
        }
        anyhow::Ok(())
    })?;
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let text = report::markdown(&date, &machine, size, &sections);
    println!("{text}");
    eprintln!("bench: whole run {:.1} s", started.elapsed().as_secs_f64());
    write_out(&args.out, &text, &sections)?;
    if args.update_docs {
        update_docs(&text, &sections)?;
    }
    Ok(report::failures(&sections))
}

fn write_out(dir: &Path, text: &str, sections: &[Section]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("report.md"), text)?;
    for chart in sections.iter().flat_map(|s| s.charts.iter()) {
        std::fs::write(dir.join(&chart.file), &chart.svg)?;
    }
    Ok(())
}

/// Replaces the text between the markers of BENCHMARKS.md (chart links point into docs/bench/)
/// and writes the charts there.
fn update_docs(text: &str, sections: &[Section]) -> anyhow::Result<()> {
    let docs = Path::new("docs/bench");
    std::fs::create_dir_all(docs)?;
    let mut linked = text.to_owned();
    for chart in sections.iter().flat_map(|s| s.charts.iter()) {
        std::fs::write(docs.join(&chart.file), &chart.svg)?;
        linked = linked.replace(
            &format!("]({})", chart.file),
            &format!("](docs/bench/{})", chart.file),
        );
    }
    let path = Path::new("BENCHMARKS.md");
    let current = std::fs::read_to_string(path)
        .context("reading BENCHMARKS.md (run from the workspace root)")?;
    let (Some(begin), Some(end)) = (current.find(BEGIN), current.find(END)) else {
        anyhow::bail!("BENCHMARKS.md lacks the {BEGIN} … {END} markers");
    };
    let updated = format!(
        "{}{BEGIN}\n{linked}\n{}",
        &current[..begin],
        &current[end..]
    );
    std::fs::write(path, updated)?;
    Ok(())
}
