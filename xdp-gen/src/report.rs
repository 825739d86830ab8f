//! The result of one `xdp-gen gen` run: computed figures, a human summary, and one
//! machine-readable `RESULT key=value ...` line (what `cargo xtask bench` parses).

use std::fmt::Write as _;
use std::time::Duration;

use crate::stats::{PhaseCounts, SinkTotals};
use xdp_host::cpu::SysTimes;

/// Prefix of the machine-readable line.
pub const RESULT_PREFIX: &str = "RESULT";

/// Everything measured in one run.
#[derive(Clone, Debug)]
pub struct GenResult {
    /// `udp` or `icmp`.
    pub proto: &'static str,
    /// Frame length (no FCS).
    pub frame_len: usize,
    /// Requested rate in pps (`None`: max).
    pub rate: Option<f64>,
    /// Length of the measured window.
    pub window: Duration,
    /// Frames sent in the window.
    pub sent: u64,
    /// Frames sent in the warm-up.
    pub warmup_sent: u64,
    /// The sink's counters after the drain.
    pub sink: SinkTotals,
    /// On-CPU time (ns) of the watched processes during the window, if any were watched.
    pub watched_cpu_ns: Option<u64>,
    /// The machine's CPU times during the window.
    pub sys: SysTimes,
    /// Length of one `/proc/stat` tick.
    pub tick: Duration,
    /// True if the run was cut short by a signal.
    pub interrupted: bool,
}

impl GenResult {
    /// The window's counters.
    pub fn window_counts(&self) -> PhaseCounts {
        self.sink.phase(crate::abi::phase::WINDOW)
    }

    /// Share of the window's requests that got no valid reply, in percent (negative if more
    /// replies than requests came back).
    pub fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        100.0 * (self.sent as f64 - self.window_counts().replies as f64) / self.sent as f64
    }

    /// Requests per second offered in the window.
    pub fn tx_pps(&self) -> f64 {
        per_second(self.sent, self.window)
    }

    /// Valid replies per second in the window.
    pub fn rx_pps(&self) -> f64 {
        per_second(self.window_counts().replies, self.window)
    }

    /// Busy CPU time of the whole machine in the window, in ns.
    pub fn sys_busy_ns(&self) -> u64 {
        self.sys.busy() * self.tick.as_nanos() as u64
    }

    fn rtt(&self, p: f64) -> u64 {
        self.sink.rtt.quantile(p).unwrap_or(0)
    }

    fn rtt_mean(&self) -> u64 {
        self.sink
            .rtt_sum
            .checked_div(self.sink.rtt.total())
            .unwrap_or(0)
    }

    /// The `RESULT key=value ...` line.
    pub fn machine_line(&self) -> String {
        let w = self.window_counts();
        let mut s = String::from(RESULT_PREFIX);
        let mut kv = |k: &str, v: String| {
            let _ = write!(s, " {k}={v}");
        };
        kv("proto", self.proto.to_string());
        kv("frame_len", self.frame_len.to_string());
        kv(
            "rate",
            self.rate.map_or("max".to_string(), |r| format!("{r:.0}")),
        );
        kv("window_s", format!("{:.6}", self.window.as_secs_f64()));
        kv("sent", self.sent.to_string());
        kv("received", w.replies.to_string());
        kv("invalid", w.invalid.to_string());
        kv("sampled", w.sampled.to_string());
        kv("rx_bytes", w.bytes.to_string());
        kv("loss_pct", format!("{:.6}", self.loss_pct()));
        kv("tx_pps", format!("{:.0}", self.tx_pps()));
        kv("rx_pps", format!("{:.0}", self.rx_pps()));
        kv("warmup_sent", self.warmup_sent.to_string());
        kv(
            "warmup_received",
            self.sink
                .phase(crate::abi::phase::WARMUP)
                .replies
                .to_string(),
        );
        kv("rtt_samples", self.sink.rtt.total().to_string());
        kv("rtt_p50_ns", self.rtt(0.5).to_string());
        kv("rtt_p90_ns", self.rtt(0.9).to_string());
        kv("rtt_p99_ns", self.rtt(0.99).to_string());
        kv("rtt_p999_ns", self.rtt(0.999).to_string());
        kv("rtt_max_ns", self.sink.rtt.max().to_string());
        kv("rtt_mean_ns", self.rtt_mean().to_string());
        kv(
            "watched_cpu_ns",
            self.watched_cpu_ns
                .map_or("-".to_string(), |n| n.to_string()),
        );
        kv("sys_busy_ns", self.sys_busy_ns().to_string());
        kv(
            "sys_softirq_ns",
            (self.sys.softirq * self.tick.as_nanos() as u64).to_string(),
        );
        kv("interrupted", self.interrupted.to_string());
        s
    }

    /// A few lines for humans.
    pub fn human(&self) -> String {
        let w = self.window_counts();
        let mut s = String::new();
        let rate = self
            .rate
            .map_or("max".to_string(), |r| format!("{r:.0} pps"));
        let _ = writeln!(
            s,
            "window {:.3} s, {} {}-byte frames, rate {rate}{}",
            self.window.as_secs_f64(),
            self.proto,
            self.frame_len,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "  sent      {:>12}  ({:.3} Mpps)",
            self.sent,
            self.tx_pps() / 1e6
        );
        let _ = writeln!(
            s,
            "  received  {:>12}  ({:.3} Mpps valid replies)",
            w.replies,
            self.rx_pps() / 1e6
        );
        let _ = writeln!(
            s,
            "  invalid   {:>12}  {}",
            w.invalid,
            self.sink.reasons_text()
        );
        let _ = writeln!(
            s,
            "  sampled   {:>12}  (checksums verified, RTT recorded)",
            w.sampled
        );
        let _ = writeln!(s, "  loss      {:>11.4}%", self.loss_pct());
        if self.sink.rtt.total() > 0 {
            let us = |ns: u64| ns as f64 / 1e3;
            let _ = writeln!(
                s,
                "  rtt µs    p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}  ({} samples)",
                us(self.rtt(0.5)),
                us(self.rtt(0.9)),
                us(self.rtt(0.99)),
                us(self.rtt(0.999)),
                us(self.sink.rtt.max()),
                us(self.rtt_mean()),
                self.sink.rtt.total()
            );
        }
        let answered = w.replies.max(1) as f64;
        if let Some(ns) = self.watched_cpu_ns {
            let _ = writeln!(
                s,
                "  server cpu {:.1} ms = {:.0} ns per reply",
                ns as f64 / 1e6,
                ns as f64 / answered
            );
        }
        let _ = write!(
            s,
            "  machine busy {:.1} ms (softirq {:.1} ms) = {:.0} ns per reply",
            self.sys_busy_ns() as f64 / 1e6,
            (self.sys.softirq * self.tick.as_nanos() as u64) as f64 / 1e6,
            self.sys_busy_ns() as f64 / answered
        );
        s
    }
}

fn per_second(n: u64, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{phase, sink};

    fn result(sent: u64, replies: u64) -> GenResult {
        let mut words = vec![0u64; sink::WORDS];
        words[phase::WINDOW as usize * sink::PHASE_STRIDE + sink::REPLIES] = replies;
        words[sink::HIST + crate::abi::hist::bucket(20_000)] = replies;
        words[sink::RTT_SUM] = 20_000 * replies;
        words[sink::RTT_MAX] = 20_000;
        GenResult {
            proto: "udp",
            frame_len: 60,
            rate: None,
            window: Duration::from_secs(2),
            sent,
            warmup_sent: 7,
            sink: SinkTotals::sum([words.as_slice()]),
            watched_cpu_ns: Some(1_000_000),
            sys: SysTimes {
                user: 10,
                system: 20,
                softirq: 5,
                idle: 100,
                ..Default::default()
            },
            tick: Duration::from_millis(10),
            interrupted: false,
        }
    }

    #[test]
    fn figures() {
        let r = result(1000, 990);
        assert!((r.loss_pct() - 1.0).abs() < 1e-9);
        assert_eq!(r.tx_pps(), 500.0);
        assert_eq!(r.rx_pps(), 495.0);
        assert_eq!(r.sys_busy_ns(), 350_000_000);
        assert!(
            result(10, 12).loss_pct() < 0.0,
            "duplicates show as negative loss"
        );
        assert_eq!(result(0, 0).loss_pct(), 0.0);
    }

    #[test]
    fn machine_line_has_every_key_once() {
        let line = result(1000, 990).machine_line();
        assert!(line.starts_with("RESULT "));
        let keys: Vec<&str> = line
            .split_whitespace()
            .skip(1)
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect();
        for k in [
            "sent",
            "received",
            "invalid",
            "loss_pct",
            "rx_pps",
            "rtt_p50_ns",
            "rtt_p99_ns",
            "rtt_p999_ns",
            "rtt_max_ns",
            "watched_cpu_ns",
            "sys_busy_ns",
        ] {
            assert_eq!(keys.iter().filter(|&&x| x == k).count(), 1, "{k} in {line}");
        }
        assert!(line.contains(" sent=1000 received=990 "), "{line}");
        assert!(line.contains(" rate=max "), "{line}");
        assert!(line.contains(" rtt_max_ns=20000 "), "{line}");
    }

    #[test]
    fn human_summary_mentions_the_figures() {
        let text = result(1000, 990).human();
        for needle in ["sent", "990", "1.0000%", "p99.9", "ns per reply"] {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
    }
}
