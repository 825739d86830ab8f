//! CPU time and memory from `/proc`:
//!
//! * per process: on-CPU time of all its threads in nanoseconds (the first field of
//!   `/proc/PID/task/TID/schedstat`, the scheduler's `sum_exec_runtime`). On this kernel
//!   (no `IRQ_TIME_ACCOUNTING`) it includes softirq work that ran in the process's context,
//!   e.g. the veth delivery its `sendto` triggers;
//! * the machine: busy time of all CPUs from the `cpu` line of `/proc/stat` (clock ticks:
//!   everything but idle and iowait), with the softirq share;
//! * memory: `VmRSS` of `/proc/PID/status`.

use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl SysTimes {
    /// Reads `/proc/stat`.
    pub fn now() -> Result<SysTimes> {
        parse_proc_stat(&std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?)
    }

    /// Ticks spent busy (not idle, not waiting for I/O).
    pub fn busy(&self) -> u64 {
        self.user + self.nice + self.system + self.irq + self.softirq + self.steal
    }

    /// Field-wise difference `self - earlier` (saturating).
    pub fn since(&self, earlier: &SysTimes) -> SysTimes {
        SysTimes {
            user: self.user.saturating_sub(earlier.user),
            nice: self.nice.saturating_sub(earlier.nice),
            system: self.system.saturating_sub(earlier.system),
            idle: self.idle.saturating_sub(earlier.idle),
            iowait: self.iowait.saturating_sub(earlier.iowait),
            irq: self.irq.saturating_sub(earlier.irq),
            softirq: self.softirq.saturating_sub(earlier.softirq),
            steal: self.steal.saturating_sub(earlier.steal),
        }
    }
}

/// Parses the aggregate `cpu` line of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Result<SysTimes> {
    let line = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("/proc/stat has no `cpu` line")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse::<u64>())
        .collect::<Result<_, _>>()
        .context("/proc/stat: non-numeric `cpu` field")?;
    if v.len() < 8 {
        bail!(
            "/proc/stat: `cpu` line has {} fields, want at least 8",
            v.len()
        );
    }
    Ok(SysTimes {
        user: v[0],
        nice: v[1],
        system: v[2],
        idle: v[3],
        iowait: v[4],
        irq: v[5],
        softirq: v[6],
        steal: v[7],
    })
}

/// Length of one clock tick of `/proc/stat`.
pub fn tick() -> Duration {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&hz| hz > 0)
        .unwrap_or(100);
    Duration::from_nanos(1_000_000_000 / hz as u64)
}

/// The on-CPU time in ns of one thread from its `schedstat` text.
pub fn parse_schedstat(text: &str) -> Result<u64> {
    text.split_whitespace()
        .next()
        .context("empty schedstat")?
        .parse()
        .context("schedstat: non-numeric run time")
}

/// On-CPU time (ns) of all threads of process `pid` so far. Threads that exit in between
/// take their time with them, so sample a process whose threads live as long as it does.
pub fn process_cpu_ns(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0;
    for entry in std::fs::read_dir(&dir)
        .with_context(|| format!("reading {dir} (is process {pid} running?)"))?
    {
        let path = entry.context("listing threads")?.path().join("schedstat");
        // A thread may exit between the listing and the read.
        if let Ok(text) = std::fs::read_to_string(&path) {
            total +=
                parse_schedstat(&text).with_context(|| format!("parsing {}", path.display()))?;
        }
    }
    Ok(total)
}

/// `VmRSS` of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    parse_status_kib(
        &std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
        "VmRSS",
    )
}

/// The value in KiB of a `Name:   1234 kB` line of `/proc/PID/status`.
pub fn parse_status_kib(text: &str, name: &str) -> Result<u64> {
    let line = text
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .with_context(|| format!("no {name} line"))?;
    line.split_whitespace()
        .nth(1)
        .context("no value")?
        .parse()
        .with_context(|| format!("{name}: non-numeric value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat() {
        let t = parse_proc_stat("cpu  10 1 20 300 4 5 6 7 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
            .expect("parse");
        assert_eq!(
            t,
            SysTimes {
                user: 10,
                nice: 1,
                system: 20,
                idle: 300,
                iowait: 4,
                irq: 5,
                softirq: 6,
                steal: 7
            }
        );
        assert_eq!(t.busy(), 49);
        let later = SysTimes {
            user: 15,
            idle: 310,
            ..t
        };
        assert_eq!(later.since(&t).busy(), 5);
        assert_eq!(later.since(&t).idle, 10);
        assert!(parse_proc_stat("cpu0 1 2 3").is_err());
        assert!(parse_proc_stat("cpu  1 2 3").is_err());
        SysTimes::now().expect("this machine's /proc/stat");
        assert!(tick() > Duration::ZERO);
    }

    #[test]
    fn schedstat_and_status() {
        assert_eq!(parse_schedstat("294934 80136 2\n").expect("ok"), 294_934);
        assert!(parse_schedstat("").is_err());
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t  1234 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS").expect("rss"), 1234);
        assert!(parse_status_kib(status, "VmSwap").is_err());
        let me = std::process::id();
        assert!(rss_kib(me).expect("own rss") > 0);
        assert!(process_cpu_ns(me).expect("own cpu") > 0);
    }
}
