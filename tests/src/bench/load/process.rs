//! The real `passdesk run` as a child process: its configuration written to the scratch
//! directory, secrets passed by environment, stderr written to a file there (a pipe the busy
//! harness drained late would block the server's logging, and so the server) and searched for
//! the `… listening on http://<addr>…` line, its memory and CPU read from `/proc/<pid>/`.
//! Dropping the handle kills and reaps the process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use passdesk_bot::server::HEALTHZ_PATH;

use crate::bench::BenchError;

/// How long `passdesk run` may take to say where it listens.
const READY_WITHIN: Duration = Duration::from_secs(15);
/// Lines of stderr kept for error messages.
const TAIL_LINES: usize = 40;

/// Memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rss {
    /// `VmRSS`: resident now, bytes.
    pub now: u64,
    /// `VmHWM`: the peak resident size so far, bytes.
    pub peak: u64,
}

/// A running `passdesk run`.
pub(crate) struct Passdesk {
    scenario: &'static str,
    child: Option<Child>,
    addr: SocketAddr,
    /// Where its stderr goes.
    log: PathBuf,
}

impl std::fmt::Debug for Passdesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passdesk")
            .field("addr", &self.addr)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl Passdesk {
    /// Writes `config` to `<dir>/passdesk.toml` and starts `binary run --config …` with only
    /// `env` in its environment; returns once it said where it listens and `/healthz`
    /// answered.
    ///
    /// # Errors
    ///
    /// The process could not start, exited, or did not become ready in time; the message
    /// carries the end of its stderr.
    pub(crate) async fn start(
        scenario: &'static str,
        binary: &Path,
        dir: &Path,
        config: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, BenchError> {
        let err = |m: String| BenchError::new(scenario, m);
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("creating {}: {e}", dir.display())))?;
        let path: PathBuf = dir.join("passdesk.toml");
        std::fs::write(&path, config)
            .map_err(|e| err(format!("writing {}: {e}", path.display())))?;
        // Its stderr goes to a file: a pipe that the harness (busy generating load) drained
        // late would block the server's logging, and with it the server.
        let log = dir.join("passdesk.stderr");
        let file = std::fs::File::create(&log)
            .map_err(|e| err(format!("creating {}: {e}", log.display())))?;
        let mut command = Command::new(binary);
        command
            .arg("run")
            .arg("--config")
            .arg(&path)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .map_err(|e| err(format!("starting {}: {e}", binary.display())))?;
        let mut process = Self {
            scenario,
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let deadline = Instant::now() + READY_WITHIN;
        process.addr = loop {
            let text = std::fs::read_to_string(&process.log).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(listen_addr) {
                break addr;
            }
            process.check_alive()?;
            if Instant::now() >= deadline {
                return Err(err(format!(
                    "passdesk run did not say where it listens within {READY_WITHIN:?}:\n{}",
                    process.stderr_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| err(e.to_string()))?;
        let health = client
            .get(format!("{}{HEALTHZ_PATH}", process.base_url()))
            .send()
            .await
            .map(|r| r.status().as_u16());
        if health.as_ref().ok() != Some(&200) {
            return Err(err(format!(
                "passdesk run listens on {} but /healthz did not answer 200 ({health:?}):\n{}",
                process.addr,
                process.stderr_tail()
            )));
        }
        Ok(process)
    }

    /// `http://<addr>`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The last lines it wrote on stderr.
    pub(crate) fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }

    fn err(&self, message: impl std::fmt::Display) -> BenchError {
        BenchError::new(self.scenario, message)
    }

    /// Whether it still runs; an error with its stderr when it exited.
    pub(crate) fn check_alive(&mut self) -> Result<(), BenchError> {
        let exited = match self.child.as_mut() {
            Some(child) => child.try_wait().map_err(|e| self.err(e))?,
            None => return Err(self.err("passdesk run was already stopped")),
        };
        match exited {
            None => Ok(()),
            Some(status) => Err(self.err(format!(
                "passdesk run exited ({status}):\n{}",
                self.stderr_tail()
            ))),
        }
    }

    /// Its resident memory now and at its peak.
    ///
    /// # Errors
    ///
    /// `/proc/<pid>/status` could not be read or lacks `VmRSS`/`VmHWM`.
    pub(crate) fn rss(&self) -> Result<Rss, BenchError> {
        let pid = self.pid().ok_or_else(|| self.err("no process"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| self.err(format!("reading /proc/{pid}/status: {e}")))?;
        let field = |name: &str| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(name)?.strip_prefix(':')?;
                let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kib * 1024)
            })
        };
        match (field("VmRSS"), field("VmHWM")) {
            (Some(now), Some(peak)) => Ok(Rss { now, peak }),
            _ => Err(self.err(format!("/proc/{pid}/status has no VmRSS/VmHWM"))),
        }
    }

    /// CPU time it has used (user + system), from `/proc/<pid>/stat`.
    pub(crate) fn cpu_time(&self) -> Option<Duration> {
        cpu_time_of(&self.pid()?.to_string())
    }

    /// Waits until the process uses less than 5% of a core over 200 ms (its backlog of
    /// deferred work is done), at most `limit`; returns how long that took.
    pub(crate) async fn wait_quiet(&self, limit: Duration) -> Duration {
        const WINDOW: Duration = Duration::from_millis(200);
        let started = Instant::now();
        let mut last = self.cpu_time();
        while started.elapsed() < limit {
            tokio::time::sleep(WINDOW).await;
            let now = self.cpu_time();
            match (last, now) {
                (Some(before), Some(after)) if after.saturating_sub(before) * 20 <= WINDOW => {
                    break;
                }
                (_, None) => break,
                _ => {}
            }
            last = now;
        }
        started.elapsed()
    }
}

impl Drop for Passdesk {
    fn drop(&mut self) {
        // Nothing is measured at shutdown, and a graceful stop would expire (and edit) every
        // pending request first: kill it.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// CPU time this process (the harness: generator, fakes, simulator) has used.
pub(crate) fn own_cpu_time() -> Option<Duration> {
    cpu_time_of("self")
}

/// CPU time every process on the machine has used (all cores; busy = not idle, not I/O
/// wait), from `/proc/stat`.
pub(crate) fn machine_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy: u64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .take(8)
        .map(|(_, v)| *v)
        .sum();
    Some(Duration::from_millis(busy * 10))
}

/// CPU time (user + system) of `/proc/<pid>/stat`, `pid` a number or `self`.
fn cpu_time_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// The address in a `… listening on http://<addr>/…` line.
fn listen_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let end = rest.find(['/', ' ', ';']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_line_names_the_address() {
        assert_eq!(
            listen_addr(
                "discord (http): listening on http://127.0.0.1:4567/discord/interactions; stop"
            ),
            Some(SocketAddr::from(([127, 0, 0, 1], 4567)))
        );
        assert_eq!(
            listen_addr("slack: listening on http://127.0.0.1:80/slack/commands and http://…"),
            Some(SocketAddr::from(([127, 0, 0, 1], 80)))
        );
        assert_eq!(listen_addr("configuration ok"), None);
    }
}
