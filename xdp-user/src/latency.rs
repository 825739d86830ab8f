//! Handler time: a log-linear histogram of nanoseconds (4 sub-buckets per power of two, so
//! a percentile is within ~19% of the true value), filled from a sample of packets so that
//! timing costs almost nothing: one clock read pair per batch.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

const SUB_BITS: u32 = 2;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for values up to 2^62 ns.
pub const BUCKETS: usize = 64 * SUB as usize;

/// Bucket index of `v` (values below `SUB` get a bucket each).
pub fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let log = 63 - v.leading_zeros() as u64; // >= SUB_BITS
    let sub = (v >> (log - SUB_BITS as u64)) & (SUB - 1);
    ((log - SUB_BITS as u64 + 1) * SUB + sub) as usize
}

/// Smallest value that falls in bucket `b`.
pub fn bucket_floor(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        return b;
    }
    let log = b / SUB + SUB_BITS as u64 - 1;
    let sub = b % SUB;
    (1u64 << log) | (sub << (log - SUB_BITS as u64))
}

/// A histogram written by one worker and read by the reporter.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64; BUCKETS]>,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            buckets: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }
}

impl LatencyHistogram {
    pub fn record(&self, ns: u64) {
        if let Some(b) = self.buckets.get(bucket_of(ns)) {
            b.fetch_add(1, Relaxed);
        }
        self.min.fetch_min(ns, Relaxed);
        self.max.fetch_max(ns, Relaxed);
    }

    /// Adds this histogram's counts into `into` (for totals over queues).
    pub fn snapshot_into(&self, into: &mut LatencySnapshot) {
        for (dst, src) in into.buckets.iter_mut().zip(self.buckets.iter()) {
            *dst += src.load(Relaxed);
        }
        into.min = into.min.min(self.min.load(Relaxed));
        into.max = into.max.max(self.max.load(Relaxed));
    }
}

/// A plain copy of one or more histograms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencySnapshot {
    pub buckets: Vec<u64>,
    pub min: u64,
    pub max: u64,
}

impl Default for LatencySnapshot {
    fn default() -> Self {
        LatencySnapshot {
            buckets: vec![0; BUCKETS],
            min: u64::MAX,
            max: 0,
        }
    }
}

/// min/p50/p99/max in nanoseconds, and how many samples they come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    pub samples: u64,
    pub min: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl LatencySnapshot {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The lower bound of the bucket holding the `q` quantile (0 when empty).
    pub fn quantile(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_floor(b).clamp(self.min, self.max);
            }
        }
        self.max
    }

    pub fn summary(&self) -> LatencySummary {
        let samples = self.count();
        if samples == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            samples,
            min: self.min,
            p50: self.quantile(0.5),
            p99: self.quantile(0.99),
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_floors_round_trip() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            15,
            16,
            17,
            100,
            1000,
            65_535,
            1 << 40,
        ] {
            let b = bucket_of(v);
            assert!(b >= last, "bucket of {v} went down");
            last = b;
            assert!(
                bucket_floor(b) <= v && bucket_of(bucket_floor(b)) == b,
                "floor of bucket {b} for {v}"
            );
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_within_a_bucket() {
        let h = LatencyHistogram::default();
        for v in 1..=1000u64 {
            h.record(v);
        }
        let mut s = LatencySnapshot::default();
        h.snapshot_into(&mut s);
        let sum = s.summary();
        assert_eq!((sum.samples, sum.min, sum.max), (1000, 1, 1000));
        assert!((400..=500).contains(&sum.p50), "p50 {}", sum.p50);
        assert!((800..=990).contains(&sum.p99), "p99 {}", sum.p99);
        assert_eq!(
            LatencySnapshot::default().summary(),
            LatencySummary::default()
        );
    }
}
