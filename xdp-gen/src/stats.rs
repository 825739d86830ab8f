//! The sink's per-CPU counters, summed: replies, bytes and invalid replies per phase, the
//! reasons replies were invalid, and the window's RTT histogram.

use crate::abi::{hist, phase, sink};
use crate::hist::Histogram;

/// Counters of one phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseCounts {
    /// Replies that passed every check.
    pub replies: u64,
    /// Their bytes (frame length, no FCS).
    pub bytes: u64,
    /// Of the replies, the sampled ones (checksums verified, RTT recorded in the window).
    pub sampled: u64,
    /// Replies from the target that failed a check.
    pub invalid: u64,
}

// The sink's slot layout: no overlaps, masks that work, a per-CPU value well under the
// kernel's 32 KiB limit. Checked at compile time.
const _: () = {
    assert!(phase::COUNT * sink::PHASE_STRIDE <= sink::REASONS);
    assert!(sink::SAMPLED < sink::PHASE_STRIDE && sink::INVALID < sink::PHASE_STRIDE);
    assert!(sink::REASONS + sink::REASON_COUNT <= sink::RTT_SUM);
    assert!(sink::RTT_MAX < sink::HIST);
    assert!(sink::WORDS == sink::HIST + hist::BUCKETS);
    assert!(sink::WORDS * 8 < 32 * 1024);
    assert!(phase::COUNT.is_power_of_two() && sink::REASON_COUNT.is_power_of_two());
};

/// Names of the invalid-reply reasons, by `sink::BAD_*` slot.
pub const REASON_NAMES: [(usize, &str); 6] = [
    (sink::BAD_MAC, "mac_not_swapped"),
    (sink::BAD_LEN, "bad_length"),
    (sink::BAD_IP_CSUM, "bad_ip_checksum"),
    (sink::BAD_L4, "bad_ports_or_icmp_fields"),
    (sink::BAD_L4_CSUM, "bad_l4_checksum"),
    (sink::BAD_PHASE, "bad_stamp"),
];

/// The sink's counters summed over CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkTotals {
    pub phases: [PhaseCounts; phase::COUNT],
    pub reasons: [u64; sink::REASON_COUNT],
    /// Sum of the window's RTTs (ns).
    pub rtt_sum: u64,
    /// The window's RTT histogram.
    pub rtt: Histogram,
}

impl SinkTotals {
    /// Sums per-CPU counter arrays (each `sink::WORDS` long; shorter ones count as zeros).
    pub fn sum<'a>(per_cpu: impl IntoIterator<Item = &'a [u64]>) -> SinkTotals {
        let mut words = vec![0u64; sink::WORDS];
        let mut rtt_max = 0;
        for cpu in per_cpu {
            for (i, (acc, v)) in words.iter_mut().zip(cpu).enumerate() {
                if i == sink::RTT_MAX {
                    rtt_max = rtt_max.max(*v);
                } else {
                    *acc += v;
                }
            }
        }
        let mut phases = [PhaseCounts::default(); phase::COUNT];
        for (p, c) in phases.iter_mut().enumerate() {
            let base = p * sink::PHASE_STRIDE;
            *c = PhaseCounts {
                replies: words[base + sink::REPLIES],
                bytes: words[base + sink::BYTES],
                sampled: words[base + sink::SAMPLED],
                invalid: words[base + sink::INVALID],
            };
        }
        let mut reasons = [0u64; sink::REASON_COUNT];
        reasons.copy_from_slice(&words[sink::REASONS..sink::REASONS + sink::REASON_COUNT]);
        SinkTotals {
            phases,
            reasons,
            rtt_sum: words[sink::RTT_SUM],
            rtt: Histogram::new(&words[sink::HIST..sink::HIST + hist::BUCKETS], rtt_max),
        }
    }

    /// Counters of `phase` (a `phase::*` value).
    pub fn phase(&self, phase: u64) -> PhaseCounts {
        self.phases.get(phase as usize).copied().unwrap_or_default()
    }

    /// `reason=count` for every non-zero invalid reason, space separated ("" if none).
    pub fn reasons_text(&self) -> String {
        REASON_NAMES
            .iter()
            .filter(|(slot, _)| self.reasons[*slot] > 0)
            .map(|(slot, name)| format!("{name}={}", self.reasons[*slot]))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::hist::bucket;

    #[test]
    fn sums_per_cpu_and_takes_the_max_rtt() {
        let mut a = vec![0u64; sink::WORDS];
        let mut b = vec![0u64; sink::WORDS];
        let w = phase::WINDOW as usize * sink::PHASE_STRIDE;
        a[w + sink::REPLIES] = 10;
        b[w + sink::REPLIES] = 5;
        a[w + sink::BYTES] = 600;
        a[w + sink::SAMPLED] = 4;
        b[sink::REPLIES] = 3; // warm-up
        b[w + sink::INVALID] = 2;
        b[sink::REASONS + sink::BAD_L4_CSUM] = 2;
        a[sink::RTT_MAX] = 900;
        b[sink::RTT_MAX] = 1200;
        a[sink::RTT_SUM] = 100;
        b[sink::RTT_SUM] = 50;
        a[sink::HIST + bucket(1000)] = 10;
        b[sink::HIST + bucket(1000)] = 5;
        let t = SinkTotals::sum([a.as_slice(), b.as_slice()]);
        assert_eq!(
            t.phase(phase::WINDOW),
            PhaseCounts {
                replies: 15,
                bytes: 600,
                sampled: 4,
                invalid: 2
            }
        );
        assert_eq!(t.phase(phase::WARMUP).replies, 3);
        assert_eq!(t.phase(99), PhaseCounts::default());
        assert_eq!(t.rtt.max(), 1200);
        assert_eq!(t.rtt_sum, 150);
        assert_eq!(t.rtt.total(), 15);
        assert_eq!(t.reasons_text(), "bad_l4_checksum=2");
    }

    #[test]
    fn reason_names_fit_their_slots() {
        for (slot, _) in REASON_NAMES {
            assert!(slot < sink::REASON_COUNT);
        }
    }
}
