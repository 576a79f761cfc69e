//! The machine a run is measured on, for the table's header.

use std::fmt;

/// Cores, CPU model, memory and OS, as read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Cores this process may use.
    pub cores: usize,
    /// The CPU model (`/proc/cpuinfo`), or `unknown`.
    pub cpu: String,
    /// Total memory in MiB (`/proc/meminfo`), if known.
    pub memory_mib: Option<u64>,
    /// `linux x86_64`, …
    pub os: String,
}

impl Machine {
    /// Reads this machine.
    pub fn current() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_mib = meminfo.lines().find_map(|line| {
            let rest = line.strip_prefix("MemTotal:")?;
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kib / 1024)
        });
        Self {
            cores,
            cpu,
            memory_mib,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cores, {}", self.cores, self.cpu)?;
        if let Some(mib) = self.memory_mib {
            write!(f, ", {:.1} GiB", mib as f64 / 1024.0)?;
        }
        write!(f, ", {}", self.os)
    }
}
