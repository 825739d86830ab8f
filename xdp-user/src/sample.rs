//! A `Sample`: every figure the responder reports at one moment, with rates over the last
//! interval. The live view, the `--json` lines, the totals and `status` all render one.
//! Field names are stable: they are the JSON schema documented in the README.
use std::collections::BTreeMap;

use serde::Serialize;
use xdp_common::Counter;

use crate::{
    latency::LatencySummary,
    stats::{answer_names, class_names, drop_names, Counts, Snapshot},
};

/// Counts and rates of one queue, or of all queues together.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Figures {
    /// The summed counters, each under its own name.
    #[serde(flatten)]
    pub counts: Counts,
    pub rx_pps: f64,
    pub tx_pps: f64,
    pub rx_bps: f64,
    pub tx_bps: f64,
    pub answers: BTreeMap<&'static str, u64>,
    pub drops: BTreeMap<&'static str, u64>,
    /// Dropped frames by what they asked for (`arp`, `icmp4`, ... as `xdp.redirected_<class>`).
    pub drops_by_class: BTreeMap<&'static str, u64>,
    pub tx_wakeups_per_s: f64,
    pub fill_ring_empty_per_s: f64,
    /// The idle policy's spin threshold now, microseconds.
    pub idle_spin_us: f64,
    /// The socket's XDP_STATISTICS.
    pub xsk: BTreeMap<&'static str, u64>,
    /// Handler time of sampled packets since start, nanoseconds.
    pub handler_ns: LatencySummary,
}

fn named<const N: usize>(
    names: [&'static str; N],
    values: &[u64; N],
) -> BTreeMap<&'static str, u64> {
    names.into_iter().zip(values.iter().copied()).collect()
}

impl Figures {
    /// Figures at `now`, with rates against `prev` taken `secs` earlier.
    pub fn new(now: &Snapshot, prev: &Snapshot, secs: f64) -> Figures {
        let secs = secs.max(1e-6);
        let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
        Figures {
            counts: now.counts(),
            rx_pps: rate(now.rx_packets, prev.rx_packets),
            tx_pps: rate(now.tx_packets, prev.tx_packets),
            rx_bps: 8.0 * rate(now.rx_bytes, prev.rx_bytes),
            tx_bps: 8.0 * rate(now.tx_bytes, prev.tx_bytes),
            answers: named(answer_names(), &now.answers),
            drops: named(drop_names(), &now.drops),
            drops_by_class: named(class_names(), &now.drop_classes),
            tx_wakeups_per_s: rate(now.tx_wakeups, prev.tx_wakeups),
            fill_ring_empty_per_s: rate(
                now.xdp.rx_fill_ring_empty_descs,
                prev.xdp.rx_fill_ring_empty_descs,
            ),
            idle_spin_us: now.idle_spin_ns as f64 / 1000.0,
            xsk: now.xdp.fields().into_iter().collect(),
            handler_ns: now.handler_ns.summary(),
        }
    }
}

/// One queue's figures.
#[derive(Clone, Debug, Serialize)]
pub struct QueueFigures {
    pub queue: u32,
    /// "zero-copy", "copy" or "skb".
    pub mode: &'static str,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Everything at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// "interval", "totals" or "status".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Seconds since the responder became ready.
    pub time_s: f64,
    /// Seconds the rates are taken over.
    pub interval_s: f64,
    pub iface: String,
    /// "native" or "skb": where the XDP program runs.
    pub xdp_mode: &'static str,
    /// All queues together.
    #[serde(flatten)]
    pub total: Figures,
    /// The XDP program's counters, summed over CPUs.
    pub xdp: BTreeMap<&'static str, u64>,
    pub queues: Vec<QueueFigures>,
}

/// Names the XDP program's counters.
pub fn bpf_named(values: &[u64; Counter::COUNT]) -> BTreeMap<&'static str, u64> {
    named(Counter::ALL.map(Counter::name), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_stable_names_and_rates() {
        let prev = Snapshot::default();
        let now = Snapshot {
            rx_packets: 2000,
            tx_packets: 1000,
            tx_bytes: 125_000,
            ..Default::default()
        };
        let f = Figures::new(&now, &prev, 2.0);
        assert_eq!((f.rx_pps, f.tx_pps, f.tx_bps), (1000.0, 500.0, 500_000.0));
        let s = Sample {
            kind: "interval",
            time_s: 2.0,
            interval_s: 2.0,
            iface: "veth0".into(),
            xdp_mode: "native",
            total: f.clone(),
            xdp: bpf_named(&[0; Counter::COUNT]),
            queues: vec![QueueFigures {
                queue: 0,
                mode: "copy",
                figures: f,
            }],
        };
        let v: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(v["type"], "interval");
        assert_eq!(v["rx_packets"], 2000);
        assert_eq!(v["answers"]["udp4"], 0);
        assert_eq!(v["drops"]["bad_checksum"], 0);
        assert_eq!(v["xsk"]["rx_fill_ring_empty_descs"], 0);
        assert_eq!(v["xdp"]["redirected"], 0);
        assert_eq!(v["queues"][0]["mode"], "copy");
        assert_eq!(v["queues"][0]["tx_pps"], 500.0);
        assert_eq!(v["handler_ns"]["p99"], 0);
    }
}
