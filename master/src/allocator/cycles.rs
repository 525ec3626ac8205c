//! How long allocation passes take: a fixed-bucket histogram the allocator
//! actor fills (one sample per [`Allocator::allocate`](super::Allocator::allocate)
//! call) and the master reports as `corral_allocation_cycle_seconds`.
//!
//! Durations come from `Ctx::elapsed_clock`, so on the node host they are
//! real and in the simulator they are zero (virtual time does not move within
//! an event): every simulated pass lands in the first bucket.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upper bounds of the buckets, in nanoseconds: 100 µs to 10 s, about
/// three per decade. Passes on 1,000 agents take ~1 ms, on 10,000 agents
/// 10-20 ms and on 50,000 80-100 ms (README, allocbench), so all sit well
/// inside.
pub const BUCKET_BOUNDS_NS: [u64; 15] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    10_000_000_000,
];

/// Counts of allocation passes by duration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleTimes {
    /// Passes per bucket, not cumulative: `counts[i]` took at most
    /// `BUCKET_BOUNDS_NS[i]` and more than the bound before; the last entry
    /// counts passes longer than every bound.
    pub counts: Vec<u64>,
    /// Total time of all passes, in nanoseconds (saturating).
    pub sum_ns: u64,
    /// Number of passes.
    pub count: u64,
}

impl Default for CycleTimes {
    fn default() -> Self {
        CycleTimes {
            counts: vec![0; BUCKET_BOUNDS_NS.len() + 1],
            sum_ns: 0,
            count: 0,
        }
    }
}

impl CycleTimes {
    /// Counts one pass that took `took`.
    pub fn record(&mut self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKET_BOUNDS_NS.partition_point(|&bound| bound < ns);
        if let Some(slot) = self.counts.get_mut(bucket) {
            *slot += 1;
        }
        self.sum_ns = self.sum_ns.saturating_add(ns);
        self.count += 1;
    }

    /// Cumulative counts per upper bound in seconds, Prometheus's `le`
    /// buckets, ending with `+Inf` (which equals `count`).
    pub fn cumulative_seconds(&self) -> Vec<(f64, u64)> {
        let mut total = 0;
        let mut out = Vec::with_capacity(BUCKET_BOUNDS_NS.len() + 1);
        for (i, bound) in BUCKET_BOUNDS_NS.iter().enumerate() {
            total += self.counts.get(i).copied().unwrap_or(0);
            out.push((*bound as f64 / 1e9, total));
        }
        total += self
            .counts
            .get(BUCKET_BOUNDS_NS.len())
            .copied()
            .unwrap_or(0);
        out.push((f64::INFINITY, total));
        out
    }

    /// Total time of all passes, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_ns as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_land_in_the_bucket_of_their_upper_bound() {
        let mut c = CycleTimes::default();
        c.record(Duration::ZERO);
        c.record(Duration::from_micros(100)); // on the bound: that bucket
        c.record(Duration::from_micros(101));
        c.record(Duration::from_secs(60)); // past every bound
        assert_eq!(c.count, 4);
        assert_eq!(c.counts[0], 2);
        assert_eq!(c.counts[1], 1);
        assert_eq!(c.counts[BUCKET_BOUNDS_NS.len()], 1);
        let cum = c.cumulative_seconds();
        assert_eq!(cum.len(), BUCKET_BOUNDS_NS.len() + 1);
        assert_eq!(cum[0], (0.0001, 2));
        assert_eq!(cum[1], (0.00025, 3));
        assert_eq!(cum[cum.len() - 2].1, 3);
        assert_eq!(cum[cum.len() - 1], (f64::INFINITY, 4));
        assert!((c.sum_seconds() - 60.000201).abs() < 1e-9);
    }

    #[test]
    fn counts_are_monotone_and_a_bad_length_does_not_panic() {
        let c = CycleTimes {
            counts: vec![1],
            sum_ns: 5,
            count: 1,
        };
        let cum = c.cumulative_seconds();
        assert!(cum.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(cum.last().map(|b| b.1), Some(1));
    }
}
