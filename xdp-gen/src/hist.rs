//! RTT percentiles from the sink's log-linear histogram (bucket layout in [`crate::abi::hist`]).

use crate::abi::hist::BUCKETS;
use crate::abi::hist::{bucket_low, bucket_width};

/// Bucket counts, summed over CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    max: u64,
}

impl Histogram {
    /// A histogram from `counts` (one per bucket, at most [`BUCKETS`]) and the largest value
    /// seen (percentiles never exceed it).
    pub fn new(counts: &[u64], max: u64) -> Histogram {
        let mut c = counts.to_vec();
        c.truncate(BUCKETS);
        Histogram { counts: c, max }
    }

    /// Number of samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Largest value seen.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `p`-quantile (`0 < p <= 1`): the middle of the bucket holding the sample of rank
    /// `ceil(p * total)`, capped at the largest value seen. `None` without samples.
    /// Exact below 8; otherwise within 1/16 of the true value.
    pub fn quantile(&self, p: f64) -> Option<u64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((p.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (b, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let mid = bucket_low(b) + bucket_width(b) / 2;
                return Some(mid.min(self.max.max(bucket_low(b))));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::hist::bucket;

    fn from_values(values: &[u64]) -> Histogram {
        let mut counts = vec![0u64; BUCKETS];
        for &v in values {
            counts[bucket(v)] += 1;
        }
        Histogram::new(&counts, values.iter().copied().max().unwrap_or(0))
    }

    #[test]
    fn buckets_are_contiguous_and_cover_u64() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(7), 7);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        for b in 0..BUCKETS - 1 {
            assert_eq!(
                bucket_low(b) + bucket_width(b),
                bucket_low(b + 1),
                "bucket {b}"
            );
            assert_eq!(bucket(bucket_low(b)), b);
            assert_eq!(bucket(bucket_low(b + 1) - 1), b);
        }
        // Relative width is at most 1/8 above the exact range.
        for b in 8..BUCKETS {
            assert!(bucket_width(b) * 8 <= bucket_low(b), "bucket {b}");
        }
    }

    #[test]
    fn quantiles_of_a_known_set() {
        // 1..=1000 µs in ns.
        let v: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        let h = from_values(&v);
        assert_eq!(h.total(), 1000);
        for (p, exact) in [(0.5, 500_000.0), (0.99, 990_000.0), (0.999, 999_000.0)] {
            let q = h.quantile(p).expect("samples") as f64;
            assert!(
                (q - exact).abs() / exact <= 1.0 / 16.0,
                "p{p}: {q} vs {exact}"
            );
        }
        assert_eq!(h.quantile(1.0), Some(1_000_000), "capped at the max");
        assert_eq!(h.max(), 1_000_000);
    }

    #[test]
    fn small_values_are_exact_and_empty_has_none() {
        let h = from_values(&[1, 2, 3, 3]);
        assert_eq!(h.quantile(0.5), Some(2));
        assert_eq!(h.quantile(0.75), Some(3));
        assert_eq!(from_values(&[]).quantile(0.5), None);
    }

    #[test]
    fn one_outlier_shows_in_p999_only() {
        let mut v = vec![20_000u64; 9_990];
        v.extend([5_000_000u64; 10]);
        let h = from_values(&v);
        let p50 = h.quantile(0.5).expect("p50");
        assert!((19_000..=21_000).contains(&p50), "{p50}");
        assert!(h.quantile(0.99).expect("p99") < 25_000);
        assert!(h.quantile(0.9995).expect("p9995") > 4_000_000);
    }
}
