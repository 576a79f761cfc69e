//! Scenario (4), start-up: the real `passdesk` binary as a child process.
//!
//! - `passdesk demo`: from spawn to the console being ready for a command. With stdin piped
//!   the demo prints no `helpdesk> ` prompt (it prints one only on a terminal); the last line
//!   of its banner, `you are …`, is written right after the console's input reader is up and
//!   just before the first line is read, where a terminal would show the prompt, so that line
//!   is the marker. Then `/quit`, and the process is reaped. Its peak RSS (`VmHWM` of
//!   `/proc/<pid>/status`) is read when it is ready, before `/quit`.
//! - `passdesk run --config …` with Slack only, against a fake Slack and the JumpCloud
//!   simulator started here: from spawn to the listener bound, found by a TCP connect to the
//!   configured `[server] listen` address every millisecond; then the `slack: listening on`
//!   line must name that address and `/healthz` must answer 200, and the process is stopped
//!   with SIGTERM and must exit 0.
//!
//! Each is run [`runs`] times (10 in full size); the row gives the median, min and max.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use passdesk_bot::server::HEALTHZ_PATH;
use passdesk_sim::jumpcloud::{DEFAULT_ORG_ID, JumpCloudSim};
use passdesk_sim::slack::SlackFake;

use super::{BenchError, Ctx, Row, Section, Size, Verdict, median, thousands};

const SCENARIO: &str = "startup";
/// `passdesk demo` start to its first prompt.
const DEMO_TARGET: Duration = Duration::from_millis(300);
/// `passdesk run` start to its listener bound.
const RUN_TARGET: Duration = Duration::from_millis(200);
/// How long any one step may take before the scenario gives up: a hung process fails the
/// run, it never hangs it.
const STEP: Duration = Duration::from_secs(15);
/// How often the listener is probed while `passdesk run` starts.
const PROBE_EVERY: Duration = Duration::from_millis(1);
/// A probe's connect timeout (a closed loopback port refuses at once).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// The demo's line that ends its banner: the console reads its first command next.
const DEMO_READY: &str = "you are ";
/// The JumpCloud API key of the `run` configuration (a test value for the simulator).
const JC_KEY: &str = "bench-startup-key";

/// Starts per measurement: 10 in full size, 1 in smoke size.
pub fn runs(size: Size) -> usize {
    match size {
        Size::Full => 10,
        Size::Smoke => 1,
    }
}

fn err(message: impl std::fmt::Display) -> BenchError {
    BenchError::new(SCENARIO, message)
}

/// A child process killed and reaped if the scenario leaves early.
struct Reaped(Option<Child>);

impl Reaped {
    fn child(&mut self) -> Result<&mut Child, BenchError> {
        self.0
            .as_mut()
            .ok_or_else(|| err("the process was already reaped"))
    }

    /// Waits for the process to exit, up to `limit`; kills it past that.
    fn wait(&mut self, limit: Duration) -> Result<Option<ExitStatus>, BenchError> {
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child()?;
            if let Some(status) = child.try_wait().map_err(err)? {
                self.0 = None;
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.0 = None;
                return Ok(None);
            }
            thread::sleep(PROBE_EVERY);
        }
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads a pipe line by line on a thread, stamping each line with when it arrived.
fn stamped_lines(pipe: impl std::io::Read + Send + 'static) -> Receiver<(String, Instant)> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send((line, Instant::now())).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads a pipe to its end on a thread.
fn collected(mut pipe: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// The last `max` characters of `text`, for error messages.
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max)).collect()
}

/// `VmHWM` (peak resident set) of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// One `passdesk demo` start.
#[derive(Debug, Clone, Copy)]
struct DemoRun {
    ready: Duration,
    peak_rss_kib: Option<u64>,
    quit: Duration,
}

/// Starts `passdesk demo`, waits for its ready line, reads its peak RSS, types `/quit` and
/// reaps it.
fn demo_once(passdesk: &Path, dir: &Path) -> Result<DemoRun, BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    let started = Instant::now();
    let child = Command::new(passdesk)
        .arg("demo")
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .env_clear()
        .env("TMPDIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot start {} demo: {e}", passdesk.display())))?;
    let mut child = Reaped(Some(child));
    let proc = child.child()?;
    let pid = proc.id();
    let mut stdin = proc.stdin.take();
    let lines = proc.stdout.take().map(stamped_lines);
    let stderr = proc.stderr.take().map(collected);
    let Some(lines) = lines else {
        return Err(err("the demo's stdout is not piped"));
    };
    let mut transcript = String::new();
    let deadline = started + STEP;
    let ready = loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((line, at)) => {
                transcript.push_str(&line);
                transcript.push('\n');
                if line.starts_with(DEMO_READY) {
                    break at.duration_since(started);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                return Err(err(format!(
                    "passdesk demo printed no `{DEMO_READY}…` line within {STEP:?}; so far:\n{}",
                    tail(&transcript, 2_000)
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                drop(child);
                let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
                return Err(err(format!(
                    "passdesk demo stopped before it was ready; stdout:\n{}\nstderr:\n{}",
                    tail(&transcript, 2_000),
                    tail(&stderr, 2_000)
                )));
            }
        }
    };
    let peak_rss_kib = peak_rss_kib(pid);
    let asked = Instant::now();
    if let Some(mut input) = stdin.take() {
        input
            .write_all(b"/quit\n")
            .and_then(|()| input.flush())
            .map_err(|e| err(format!("typing /quit: {e}")))?;
    }
    let Some(status) = child.wait(STEP)? else {
        return Err(err(format!(
            "passdesk demo did not stop within {STEP:?} of /quit"
        )));
    };
    let quit = asked.elapsed();
    if !status.success() {
        let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        return Err(err(format!(
            "passdesk demo ended with {status} after /quit; stderr:\n{}",
            tail(&stderr, 2_000)
        )));
    }
    Ok(DemoRun {
        ready,
        peak_rss_kib,
        quit,
    })
}

/// A free port on 127.0.0.1 (bound, read, released: `passdesk run` binds it next).
fn free_addr() -> Result<SocketAddr, BenchError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| err(format!("no free port: {e}")))?;
    listener.local_addr().map_err(err)
}

/// The simulators `passdesk run` is configured against, and what its configuration needs.
struct Upstreams {
    _jumpcloud: JumpCloudSim,
    jumpcloud_url: String,
    slack: SlackFake,
}

/// A minimal Slack-only configuration listening on `addr`.
fn run_config(up: &Upstreams, dir: &Path, addr: SocketAddr) -> String {
    format!(
        r#"
[jumpcloud]
base_url = "{jumpcloud}"
api_key = {{ env = "JC_KEY" }}

[slack]
signing_secret = {{ env = "SLACK_SIGNING_SECRET" }}
bot_token = {{ env = "SLACK_BOT_TOKEN" }}
app_id = "{app}"
api_base_url = "{api}"

[slack.teams]
{team} = "default"

[groups.helpdesk]
slack_users = ["U0REQUEST1"]

[policy.reset]
groups = ["helpdesk"]
channels = {{ slack = ["*"] }}
approval = "none"

[audit]
path = "{audit}"

[server]
listen = "{addr}"
"#,
        jumpcloud = up.jumpcloud_url,
        app = up.slack.app_id(),
        api = up.slack.api_url(),
        team = up.slack.team_id(),
        audit = dir.join("audit.jsonl").display(),
    )
}

/// `passdesk run`, up and listening.
struct Serving {
    child: Reaped,
    ready: Duration,
    stderr: Receiver<(String, Instant)>,
    transcript: String,
}

/// Starts `passdesk run --config <dir>/passdesk.toml` and probes `addr` until it accepts a
/// connection; then waits for the `slack: listening on` line naming `addr`.
fn start_run(
    passdesk: &Path,
    dir: &Path,
    config: &str,
    secrets: &[(&str, String)],
    addr: SocketAddr,
) -> Result<Serving, BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    let path = dir.join("passdesk.toml");
    std::fs::write(&path, config).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut command = Command::new(passdesk);
    command
        .arg("run")
        .arg("--config")
        .arg(&path)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in secrets {
        command.env(name, value);
    }
    let started = Instant::now();
    let child = command
        .spawn()
        .map_err(|e| err(format!("cannot start {} run: {e}", passdesk.display())))?;
    let mut child = Reaped(Some(child));
    let Some(stderr) = child.child()?.stderr.take().map(stamped_lines) else {
        return Err(err("the stderr of passdesk run is not piped"));
    };
    let drain = |stderr: &Receiver<(String, Instant)>, transcript: &mut String| {
        while let Ok((line, _)) = stderr.try_recv() {
            transcript.push_str(&line);
            transcript.push('\n');
        }
    };
    let mut transcript = String::new();
    let ready = loop {
        if TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).is_ok() {
            break started.elapsed();
        }
        if let Some(status) = child.child()?.try_wait().map_err(err)? {
            thread::sleep(PROBE_EVERY);
            drain(&stderr, &mut transcript);
            return Err(err(format!(
                "passdesk run ended with {status} before listening on {addr}; stderr:\n{}",
                tail(&transcript, 2_000)
            )));
        }
        if started.elapsed() > STEP {
            drain(&stderr, &mut transcript);
            return Err(err(format!(
                "passdesk run was not listening on {addr} within {STEP:?}; stderr:\n{}",
                tail(&transcript, 2_000)
            )));
        }
        thread::sleep(PROBE_EVERY);
    };
    let wanted = format!("slack: listening on http://{addr}/");
    let deadline = Instant::now() + STEP;
    loop {
        match stderr.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((line, _)) => {
                transcript.push_str(&line);
                transcript.push('\n');
                if line.starts_with(&wanted) {
                    break;
                }
            }
            Err(_) => {
                return Err(err(format!(
                    "something answered on {addr}, but passdesk run never said it listens \
                     there; stderr:\n{}",
                    tail(&transcript, 2_000)
                )));
            }
        }
    }
    Ok(Serving {
        child,
        ready,
        stderr,
        transcript,
    })
}

impl Serving {
    /// SIGTERM, then waits for a clean exit; returns how long it took.
    fn stop(mut self) -> Result<Duration, BenchError> {
        let pid = self.child.child()?.id();
        let asked = Instant::now();
        let signalled = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .map_err(|e| err(format!("cannot run kill -TERM: {e}")))?;
        if !signalled.success() {
            return Err(err(format!("kill -TERM {pid} failed: {signalled}")));
        }
        let status = self.child.wait(STEP)?;
        let took = asked.elapsed();
        while let Ok((line, _)) = self.stderr.try_recv() {
            self.transcript.push_str(&line);
            self.transcript.push('\n');
        }
        match status {
            Some(status) if status.success() => Ok(took),
            Some(status) => Err(err(format!(
                "passdesk run ended with {status} on SIGTERM; stderr:\n{}",
                tail(&self.transcript, 2_000)
            ))),
            None => Err(err(format!(
                "passdesk run did not stop within {STEP:?} of SIGTERM; stderr:\n{}",
                tail(&self.transcript, 2_000)
            ))),
        }
    }
}

/// One `passdesk run` start.
#[derive(Debug, Clone, Copy)]
struct ServeRun {
    ready: Duration,
    healthz: u16,
    stop: Duration,
}

/// The last three components of `path` (`target/release/passdesk`): where it came from,
/// without the machine's directories.
fn short_path(path: &Path) -> String {
    let parts: Vec<_> = path.components().collect();
    let tail: PathBuf = parts[parts.len().saturating_sub(3)..].iter().collect();
    tail.display().to_string()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// `median 84.1 ms (min 80.2, max 95.0; 10 runs)`.
fn spread(values: &[Duration]) -> Result<(f64, String), BenchError> {
    let millis: Vec<f64> = values.iter().copied().map(ms).collect();
    let Some(mid) = median(&millis) else {
        return Err(err("no run was timed"));
    };
    let min = millis.iter().copied().fold(f64::INFINITY, f64::min);
    let max = millis.iter().copied().fold(0.0, f64::max);
    let text = if millis.len() == 1 {
        format!("{mid:.1} ms (1 run)")
    } else {
        format!(
            "median {mid:.1} ms (min {min:.1}, max {max:.1}; {} runs)",
            millis.len()
        )
    };
    Ok((mid, text))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| err(format!("a measuring thread failed: {e}")))?
}

/// Runs the scenario.
///
/// # Errors
///
/// A process could not be started, never became ready, did not answer `/healthz`, or did not
/// stop cleanly; or a simulator could not start.
pub async fn run(ctx: &Ctx) -> Result<Section, BenchError> {
    let n = runs(ctx.size);
    let scratch = ctx.scratch.join("startup");
    let passdesk = ctx.passdesk.clone();

    let demo = {
        let (passdesk, scratch) = (passdesk.clone(), scratch.clone());
        blocking(move || {
            (0..n)
                .map(|i| demo_once(&passdesk, &scratch.join(format!("demo-{i}"))))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?
    };

    let serve = serve_runs(&passdesk, &scratch, n).await?;

    let mut section = Section::default();
    let (demo_ms, demo_text) = spread(&demo.iter().map(|r| r.ready).collect::<Vec<_>>())?;
    section.rows.push(Row::new(
        "start-up: passdesk demo",
        "spawn → console ready (`you are …` banner line), simulators in-process",
        demo_text,
        format!("< {} ms", DEMO_TARGET.as_millis()),
        Verdict::check(ctx.size, demo_ms < ms(DEMO_TARGET)),
    ));
    let (run_ms, run_text) = spread(&serve.iter().map(|r| r.ready).collect::<Vec<_>>())?;
    section.rows.push(Row::new(
        "start-up: passdesk run",
        "spawn → listener bound (TCP connect every 1 ms), Slack-only config",
        run_text,
        format!("< {} ms", RUN_TARGET.as_millis()),
        Verdict::check(ctx.size, run_ms < ms(RUN_TARGET)),
    ));
    let healthy = serve.iter().filter(|r| r.healthz == 200).count();
    section.rows.push(Row::new(
        "start-up: passdesk run /healthz",
        "GET /healthz once the listener is bound",
        format!("200 in {healthy}/{n} runs"),
        "200 every run",
        Verdict::check(ctx.size, healthy == n),
    ));
    let peaks: Vec<f64> = demo
        .iter()
        .filter_map(|r| r.peak_rss_kib)
        .map(|kib| kib as f64 / 1024.0)
        .collect();
    let rss = match median(&peaks) {
        Some(mib) => format!(
            "{mib:.1} MiB (median of {}; max {:.1})",
            peaks.len(),
            peaks.iter().copied().fold(0.0, f64::max)
        ),
        None => "unknown (no /proc/<pid>/status)".to_owned(),
    };
    section.rows.push(Row::new(
        "start-up: passdesk demo peak RSS",
        "VmHWM when ready, before /quit",
        rss,
        "",
        Verdict::Info,
    ));
    let (_, quit_text) = spread(&demo.iter().map(|r| r.quit).collect::<Vec<_>>())?;
    let (_, stop_text) = spread(&serve.iter().map(|r| r.stop).collect::<Vec<_>>())?;
    section.rows.push(Row::new(
        "start-up: shutdown",
        "demo `/quit` → exit 0; run SIGTERM → exit 0",
        format!("demo {quit_text}; run {stop_text}"),
        "",
        Verdict::Info,
    ));
    section.notes.push(format!(
        "start-up: times run from just before spawn (fork + exec included) on the binary under \
         test ({}). The demo prints its `helpdesk> ` prompt only on a terminal; piped, the \
         banner's last line marks the same moment (its input reader is up and the first line \
         is read next). `passdesk run` is ready when a TCP connect to its configured listen \
         address succeeds (probed every 1 ms, so up to ~1 ms late); the `listening on` line \
         and `/healthz` = 200 are checked after. Starts of each: {}.",
        short_path(&ctx.passdesk),
        thousands(n as u64),
    ));
    Ok(section)
}

/// Starts the simulators, then `passdesk run` `n` times: ready time, `/healthz`, SIGTERM.
async fn serve_runs(
    passdesk: &Path,
    scratch: &Path,
    n: usize,
) -> Result<Vec<ServeRun>, BenchError> {
    let jumpcloud = JumpCloudSim::builder()
        .api_key(JC_KEY, [DEFAULT_ORG_ID])
        .start()
        .await
        .map_err(|e| err(format!("the JumpCloud simulator did not start: {e}")))?;
    let slack = SlackFake::builder()
        .start()
        .await
        .map_err(|e| err(format!("the fake Slack did not start: {e}")))?;
    let up = Upstreams {
        jumpcloud_url: jumpcloud.base_url(),
        _jumpcloud: jumpcloud,
        slack,
    };
    let secrets = vec![
        ("JC_KEY", JC_KEY.to_owned()),
        ("SLACK_SIGNING_SECRET", up.slack.signing_secret().to_owned()),
        ("SLACK_BOT_TOKEN", up.slack.bot_token().to_owned()),
    ];
    let client = reqwest::Client::builder()
        .timeout(STEP)
        .user_agent(passdesk_core::http::USER_AGENT)
        .build()
        .map_err(|e| err(format!("http client: {e}")))?;
    let mut runs = Vec::with_capacity(n);
    for i in 0..n {
        let dir: PathBuf = scratch.join(format!("run-{i}"));
        let addr = free_addr()?;
        let config = run_config(&up, &dir, addr);
        let serving = {
            let (passdesk, secrets) = (passdesk.to_owned(), secrets.clone());
            blocking(move || start_run(&passdesk, &dir, &config, &secrets, addr)).await?
        };
        let healthz = client
            .get(format!("http://{addr}{HEALTHZ_PATH}"))
            .send()
            .await
            .map_or(0, |response| response.status().as_u16());
        let ready = serving.ready;
        let stop = blocking(move || serving.stop()).await?;
        runs.push(ServeRun {
            ready,
            healthz,
            stop,
        });
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_read_as_a_median_with_its_range() {
        let runs = [30, 10, 20].map(Duration::from_millis);
        let (mid, text) = spread(&runs).unwrap();
        assert!((mid - 20.0).abs() < 1e-9);
        assert_eq!(text, "median 20.0 ms (min 10.0, max 30.0; 3 runs)");
        let (_, one) = spread(&[Duration::from_micros(1500)]).unwrap();
        assert_eq!(one, "1.5 ms (1 run)");
        assert!(spread(&[]).is_err());
    }

    #[test]
    fn peak_rss_of_this_process_is_read() {
        let kib = peak_rss_kib(std::process::id()).unwrap();
        assert!(kib > 0);
    }
}
