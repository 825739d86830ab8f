//! One measurement: the `RESULT key=value ...` line that `xdp-gen gen` prints, parsed; and
//! the summary (median and spread) of repeated measurements.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};

/// The figures of one `xdp-gen gen` run that the benchmark uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Length of the measured window, seconds.
    pub window_s: f64,
    /// Requests sent in the window.
    pub sent: u64,
    /// Valid replies to them.
    pub received: u64,
    /// Replies that failed a check.
    pub invalid: u64,
    /// Replies whose checksums were verified (and RTT recorded).
    pub sampled: u64,
    /// Loss in percent (negative if more replies than requests).
    pub loss_pct: f64,
    /// Valid replies per second.
    pub rx_pps: f64,
    /// Requests sent per second (the offered load actually achieved).
    pub tx_pps: f64,
    /// RTT percentiles of the sampled replies, ns.
    pub rtt_p50_ns: u64,
    pub rtt_p99_ns: u64,
    pub rtt_p999_ns: u64,
    pub rtt_max_ns: u64,
    /// On-CPU time of the watched server process in the window, ns (`None`: none watched).
    pub server_cpu_ns: Option<u64>,
    /// Busy time of all CPUs in the window, ns.
    pub sys_busy_ns: u64,
    /// The run was cut short by a signal.
    pub interrupted: bool,
}

/// Prefix of the line `xdp-gen gen` prints.
pub const RESULT_PREFIX: &str = "RESULT ";

impl Sample {
    /// Finds and parses the `RESULT` line in `output` (the last one wins).
    pub fn from_output(output: &str) -> Result<Sample> {
        let line = output
            .lines()
            .rev()
            .find(|l| l.starts_with(RESULT_PREFIX))
            .context("xdp-gen printed no RESULT line")?;
        Sample::parse(line)
    }

    /// Parses one `RESULT key=value ...` line.
    pub fn parse(line: &str) -> Result<Sample> {
        let Some(rest) = line.strip_prefix(RESULT_PREFIX) else {
            bail!("not a RESULT line: {line:?}");
        };
        let kv: HashMap<&str, &str> = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let get = |k: &str| {
            kv.get(k)
                .copied()
                .with_context(|| format!("RESULT line lacks {k}: {line:?}"))
        };
        let num = |k: &str| -> Result<f64> {
            get(k)?
                .parse::<f64>()
                .with_context(|| format!("RESULT {k} is not a number"))
        };
        let int = |k: &str| -> Result<u64> {
            get(k)?
                .parse::<u64>()
                .with_context(|| format!("RESULT {k} is not an integer"))
        };
        Ok(Sample {
            window_s: num("window_s")?,
            sent: int("sent")?,
            received: int("received")?,
            invalid: int("invalid")?,
            sampled: int("sampled")?,
            loss_pct: num("loss_pct")?,
            rx_pps: num("rx_pps")?,
            tx_pps: num("tx_pps")?,
            rtt_p50_ns: int("rtt_p50_ns")?,
            rtt_p99_ns: int("rtt_p99_ns")?,
            rtt_p999_ns: int("rtt_p999_ns")?,
            rtt_max_ns: int("rtt_max_ns")?,
            server_cpu_ns: match get("watched_cpu_ns")? {
                "-" => None,
                v => Some(
                    v.parse()
                        .context("RESULT watched_cpu_ns is not an integer")?,
                ),
            },
            sys_busy_ns: int("sys_busy_ns")?,
            interrupted: get("interrupted")? == "true",
        })
    }

    /// Server CPU time per valid reply, ns.
    pub fn server_ns_per_reply(&self) -> Option<f64> {
        self.server_cpu_ns
            .map(|ns| ns as f64 / self.received.max(1) as f64)
    }

    /// Busy CPU time of the whole machine per valid reply, ns.
    pub fn sys_ns_per_reply(&self) -> f64 {
        self.sys_busy_ns as f64 / self.received.max(1) as f64
    }
}

/// Median and spread of one figure over repeated runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (`None` if empty or if any is NaN).
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }

    /// Largest relative distance of min or max from the median, in percent.
    pub fn rel_pct(&self) -> f64 {
        if self.median == 0.0 {
            return 0.0;
        }
        100.0 * (self.median - self.min).max(self.max - self.median) / self.median.abs()
    }
}

/// Repeated runs of one configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Runs(pub Vec<Sample>);

impl Runs {
    fn spread(&self, f: impl Fn(&Sample) -> f64) -> Option<Spread> {
        Spread::of(&self.0.iter().map(f).collect::<Vec<_>>())
    }

    /// Valid replies per second.
    pub fn rx_pps(&self) -> Option<Spread> {
        self.spread(|s| s.rx_pps)
    }

    /// Requests sent per second.
    pub fn tx_pps(&self) -> Option<Spread> {
        self.spread(|s| s.tx_pps)
    }

    /// Loss, percent.
    pub fn loss_pct(&self) -> Option<Spread> {
        self.spread(|s| s.loss_pct)
    }

    /// Server CPU per reply, ns (`None` if no server process was watched).
    pub fn server_ns(&self) -> Option<Spread> {
        let v: Option<Vec<f64>> = self.0.iter().map(Sample::server_ns_per_reply).collect();
        Spread::of(&v?)
    }

    /// Machine CPU per reply, ns.
    pub fn sys_ns(&self) -> Option<Spread> {
        self.spread(Sample::sys_ns_per_reply)
    }

    /// RTT percentile `f` (ns) across runs.
    pub fn rtt(&self, f: impl Fn(&Sample) -> u64) -> Option<Spread> {
        self.spread(|s| f(s) as f64)
    }

    /// Invalid replies over all runs.
    pub fn invalid(&self) -> u64 {
        self.0.iter().map(|s| s.invalid).sum()
    }

    /// Replies whose checksums were verified, over all runs.
    pub fn sampled(&self) -> u64 {
        self.0.iter().map(|s| s.sampled).sum()
    }

    /// Valid replies over all runs.
    pub fn received(&self) -> u64 {
        self.0.iter().map(|s| s.received).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "RESULT proto=udp frame_len=60 rate=max window_s=2.000987 sent=3522560 received=3522000 invalid=1 sampled=220000 rx_bytes=211353600 loss_pct=0.015898 tx_pps=1760411 rx_pps=1760131 warmup_sent=864256 warmup_received=864256 rtt_samples=220000 rtt_p50_ns=19456 rtt_p90_ns=23552 rtt_p99_ns=34816 rtt_p999_ns=59392 rtt_max_ns=5095936 rtt_mean_ns=20148 watched_cpu_ns=1000000000 sys_busy_ns=2060000000 sys_softirq_ns=1340000000 interrupted=false";

    #[test]
    fn parses_the_result_line() {
        let s = Sample::from_output(&format!("window 2 s\n  sent 3\n{LINE}\n")).expect("parse");
        assert_eq!(
            (s.sent, s.received, s.invalid, s.sampled),
            (3_522_560, 3_522_000, 1, 220_000)
        );
        assert_eq!(
            (s.rtt_p50_ns, s.rtt_p99_ns, s.rtt_p999_ns, s.rtt_max_ns),
            (19_456, 34_816, 59_392, 5_095_936)
        );
        assert_eq!(s.server_cpu_ns, Some(1_000_000_000));
        assert!((s.rx_pps - 1_760_131.0).abs() < 1e-9);
        assert!(!s.interrupted);
        let ns = s.server_ns_per_reply().expect("watched");
        assert!((ns - 1e9 / 3_522_000.0).abs() < 1e-6);
        let none = Sample::parse(&LINE.replace("watched_cpu_ns=1000000000", "watched_cpu_ns=-"))
            .expect("parse");
        assert_eq!(none.server_ns_per_reply(), None);
    }

    #[test]
    fn rejects_broken_lines() {
        assert!(Sample::from_output("no result here").is_err());
        assert!(Sample::parse("RESULT sent=1").is_err());
        assert!(Sample::parse(&LINE.replace("sent=3522560", "sent=lots")).is_err());
    }

    #[test]
    fn spreads() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).expect("spread");
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(s.rel_pct(), 50.0);
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).expect("even").median, 2.5);
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
    }

    #[test]
    fn runs_summaries() {
        let a = Sample::parse(LINE).expect("a");
        let b = Sample {
            rx_pps: 2_000_000.0,
            server_cpu_ns: None,
            ..a.clone()
        };
        let runs = Runs(vec![a.clone(), b]);
        assert_eq!(runs.rx_pps().expect("pps").max, 2_000_000.0);
        assert_eq!(runs.server_ns(), None, "one run without a watched server");
        assert_eq!(runs.invalid(), 2);
        assert_eq!(
            Runs(vec![a]).server_ns().map(|s| s.median.round()),
            Some(284.0)
        );
    }
}
