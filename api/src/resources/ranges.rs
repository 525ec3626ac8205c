//! Sets of unsigned integers held as inclusive ranges, for resources such as
//! `ports:[31000-32000]`.
//!
//! The ranges are kept sorted, disjoint and merged (adjacent ranges joined),
//! so one set of numbers has exactly one representation: equality of two
//! `RangeSet`s is equality of the numbers they hold, and the text form is
//! canonical. Mesos coalesces ranges the same way.

use std::fmt;
use std::ops::RangeInclusive;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of `u64` values stored as sorted, disjoint, non-adjacent inclusive
/// ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RangeSet {
    /// Inclusive `(start, end)` pairs with `start <= end`, sorted, and with
    /// a gap of at least one value between neighbours.
    ranges: Vec<(u64, u64)>,
}

impl RangeSet {
    /// The empty set.
    pub fn new() -> RangeSet {
        RangeSet::default()
    }

    /// The values of inclusive `(start, end)` pairs, in any order and
    /// possibly overlapping; None if a pair has `start > end`, since that is
    /// a mistake rather than an empty range.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, u64)>) -> Option<RangeSet> {
        let pairs: Vec<(u64, u64)> = pairs.into_iter().collect();
        if pairs.iter().any(|&(start, end)| start > end) {
            return None;
        }
        Some(RangeSet {
            ranges: normalize(pairs),
        })
    }

    /// Adds the values of `range`; an empty (inverted) range adds nothing.
    pub fn insert(&mut self, range: RangeInclusive<u64>) {
        if range.is_empty() {
            return;
        }
        let mut pairs = std::mem::take(&mut self.ranges);
        pairs.push((*range.start(), *range.end()));
        self.ranges = normalize(pairs);
    }

    /// Whether the set holds no value.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many values the set holds, saturating at `u64::MAX` (only the set
    /// of every `u64` has more).
    pub fn count(&self) -> u64 {
        self.ranges.iter().fold(0u64, |sum, &(start, end)| {
            sum.saturating_add((end - start).saturating_add(1))
        })
    }

    /// Whether `value` is in the set.
    pub fn contains_value(&self, value: u64) -> bool {
        self.covering(value).is_some_and(|(_, end)| value <= end)
    }

    /// Whether every value of `other` is in this set.
    pub fn contains(&self, other: &RangeSet) -> bool {
        // Ranges are merged, so a contained range lies within a single one
        // of ours: the last one starting at or before it.
        other.ranges.iter().all(|&(start, end)| {
            self.covering(start)
                .is_some_and(|(_, have_end)| end <= have_end)
        })
    }

    /// The values in either set.
    pub fn union(&self, other: &RangeSet) -> RangeSet {
        let mut pairs = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        pairs.extend_from_slice(&self.ranges);
        pairs.extend_from_slice(&other.ranges);
        RangeSet {
            ranges: normalize(pairs),
        }
    }

    /// The values in both sets.
    pub fn intersection(&self, other: &RangeSet) -> RangeSet {
        let (a, b) = (&self.ranges, &other.ranges);
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (start, end) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
            if start <= end {
                out.push((start, end));
            }
            // Drop whichever range ends first; the other may overlap more.
            // Pieces stay non-adjacent because each ends where one input
            // range ends, and the next range of that input starts beyond a
            // gap.
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        RangeSet { ranges: out }
    }

    /// Whether no value is in both sets.
    pub fn is_disjoint(&self, other: &RangeSet) -> bool {
        self.intersection(other).is_empty()
    }

    /// The values of this set that are not in `other`, or None if `other`
    /// holds a value this set does not: taking ports that are not there is
    /// an error, like taking more cpus than there are.
    pub fn checked_difference(&self, other: &RangeSet) -> Option<RangeSet> {
        if !self.contains(other) {
            return None;
        }
        let mut out = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        let mut taken = other.ranges.iter().peekable();
        for &(start, end) in &self.ranges {
            // `next` is the first value of this range not yet known to be
            // taken; None once the range is used up to its end.
            let mut next = Some(start);
            // Every range of `other` lies within one of ours, so the ones
            // starting before our end are inside this range.
            while let Some(&(t_start, t_end)) = taken.next_if(|&&(s, _)| s <= end) {
                if let Some(n) = next.filter(|&n| n < t_start) {
                    out.push((n, t_start - 1));
                }
                next = t_end.checked_add(1).filter(|&n| n <= end);
            }
            if let Some(n) = next {
                out.push((n, end));
            }
        }
        Some(RangeSet { ranges: out })
    }

    /// The ranges, sorted and merged.
    pub fn iter(&self) -> impl Iterator<Item = RangeInclusive<u64>> + '_ {
        self.ranges.iter().map(|&(start, end)| start..=end)
    }

    /// The last range starting at or before `value`.
    fn covering(&self, value: u64) -> Option<(u64, u64)> {
        let after = self.ranges.partition_point(|&(start, _)| start <= value);
        after.checked_sub(1).map(|i| self.ranges[i])
    }
}

/// Sorts and merges overlapping or adjacent pairs; every pair must have
/// `start <= end`.
fn normalize(mut pairs: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    pairs.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(pairs.len());
    for (start, end) in pairs {
        match out.last_mut() {
            // Adjacent counts as touching: [1-2] and [3-4] are [1-4].
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

impl From<RangeInclusive<u64>> for RangeSet {
    /// The values of one range; an inverted range gives the empty set.
    fn from(range: RangeInclusive<u64>) -> RangeSet {
        let mut set = RangeSet::new();
        set.insert(range);
        set
    }
}

impl FromIterator<RangeInclusive<u64>> for RangeSet {
    /// The values of all the ranges; inverted ranges add nothing.
    fn from_iter<I: IntoIterator<Item = RangeInclusive<u64>>>(iter: I) -> RangeSet {
        let pairs = iter
            .into_iter()
            .filter(|r| !r.is_empty())
            .map(|r| (*r.start(), *r.end()))
            .collect();
        RangeSet {
            ranges: normalize(pairs),
        }
    }
}

impl fmt::Display for RangeSet {
    /// Mesos's form: `[31000-32000,33000-33010]`; a single value is `a-a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (start, end)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{start}-{end}")?;
        }
        f.write_str("]")
    }
}

impl Serialize for RangeSet {
    /// A sequence of `(start, end)` pairs.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.ranges)
    }
}

impl<'de> Deserialize<'de> for RangeSet {
    /// Reads `(start, end)` pairs and merges them, so a peer cannot hand us a
    /// set whose equality or arithmetic is off; inverted pairs are an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RangeSet, D::Error> {
        let pairs = Vec::<(u64, u64)>::deserialize(deserializer)?;
        RangeSet::from_pairs(pairs).ok_or_else(|| D::Error::custom("inverted range"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::resources::strategies::arb_range_set;

    /// The values of a set, for checking against a plain `BTreeSet` model.
    fn values(set: &RangeSet) -> BTreeSet<u64> {
        set.iter().flatten().collect()
    }

    fn is_canonical(set: &RangeSet) -> bool {
        set.ranges.iter().all(|&(s, e)| s <= e)
            && set
                .ranges
                .windows(2)
                .all(|w| w[0].1.checked_add(1).is_some_and(|n| n < w[1].0))
    }

    /// Small sets, so the model can list every value.
    fn small_set() -> impl Strategy<Value = RangeSet> {
        prop::collection::vec((0u64..100, 0u64..10), 0..6)
            .prop_map(|v| v.into_iter().map(|(s, len)| s..=s + len).collect())
    }

    #[test]
    fn ranges_merge_when_overlapping_or_adjacent() {
        let set: RangeSet = [5..=9, 1..=2, 3..=4, 8..=12, 20..=20].into_iter().collect();
        assert_eq!(set.to_string(), "[1-12,20-20]");
        assert_eq!(set.count(), 13);
        assert!(set.contains_value(12) && !set.contains_value(13));
        #[allow(clippy::reversed_empty_ranges)]
        let inverted = RangeSet::from(9..=1);
        assert!(inverted.is_empty());
        assert_eq!(RangeSet::from_pairs([(9, 1)]), None);
        assert_eq!(RangeSet::new().to_string(), "[]");
    }

    #[test]
    fn difference_splits_and_refuses_what_is_missing() {
        let ports = RangeSet::from(31000..=32000);
        let used: RangeSet = [31000..=31000, 31500..=31600, 32000..=32000]
            .into_iter()
            .collect();
        let left = ports.checked_difference(&used).unwrap();
        assert_eq!(left.to_string(), "[31001-31499,31601-31999]");
        assert_eq!(left.union(&used), ports);
        assert_eq!(used.checked_difference(&ports), None);
        assert_eq!(ports.checked_difference(&ports), Some(RangeSet::new()));
    }

    #[test]
    fn extremes_of_u64_do_not_overflow() {
        let all = RangeSet::from(0..=u64::MAX);
        assert_eq!(all.count(), u64::MAX);
        let top = RangeSet::from(u64::MAX..=u64::MAX);
        let rest = all.checked_difference(&top).unwrap();
        assert_eq!(rest, RangeSet::from(0..=u64::MAX - 1));
        assert_eq!(rest.union(&top), all);
        assert!(all.contains(&top) && !rest.contains(&top));
        assert_eq!(all.checked_difference(&all), Some(RangeSet::new()));
    }

    #[test]
    fn deserializing_merges_and_rejects_inverted_pairs() {
        use serde::de::value::{Error, SeqDeserializer};
        use serde::de::IntoDeserializer;
        // Pairs as two-element sequences, the way self-describing formats
        // carry tuples.
        let read = |pairs: Vec<[u64; 2]>| {
            let seqs = pairs
                .into_iter()
                .map(|p| SeqDeserializer::<_, Error>::new(p.into_iter()));
            RangeSet::deserialize(SeqDeserializer::<_, Error>::new(
                seqs.map(IntoDeserializer::into_deserializer),
            ))
        };
        assert_eq!(read(vec![[3, 4], [1, 2]]).unwrap(), RangeSet::from(1..=4));
        assert!(read(vec![[4, 3]]).is_err());
    }

    proptest! {
        #[test]
        fn operations_match_a_set_of_values(a in small_set(), b in small_set()) {
            let (va, vb) = (values(&a), values(&b));
            let union = a.union(&b);
            prop_assert!(is_canonical(&union));
            prop_assert_eq!(values(&union), va.union(&vb).copied().collect::<BTreeSet<_>>());
            let both = a.intersection(&b);
            prop_assert!(is_canonical(&both));
            prop_assert_eq!(values(&both), va.intersection(&vb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(a.is_disjoint(&b), va.is_disjoint(&vb));
            prop_assert_eq!(a.contains(&b), vb.is_subset(&va));
            prop_assert_eq!(a.count(), va.len() as u64);
            match a.checked_difference(&b) {
                Some(d) => {
                    prop_assert!(vb.is_subset(&va));
                    prop_assert!(is_canonical(&d));
                    let model: BTreeSet<u64> = va.difference(&vb).copied().collect();
                    prop_assert_eq!(values(&d), model);
                }
                None => prop_assert!(!vb.is_subset(&va)),
            }
            for v in 0..120 {
                prop_assert_eq!(a.contains_value(v), va.contains(&v));
            }
        }

        #[test]
        fn union_then_difference_gives_back_the_disjoint_part(
            a in arb_range_set(),
            b in arb_range_set(),
        ) {
            let total = a.union(&b);
            prop_assert!(is_canonical(&total));
            prop_assert!(total.contains(&a) && total.contains(&b));
            let rest = total.checked_difference(&b).unwrap();
            prop_assert!(is_canonical(&rest));
            prop_assert_eq!(rest.union(&b), total.clone());
            prop_assert!(total.contains(&rest));
            prop_assert!(a.contains(&rest));
        }

        #[test]
        fn from_pairs_agrees_with_collect(
            pairs in prop::collection::vec((any::<u64>(), any::<u64>()), 0..8),
        ) {
            let collected: RangeSet = pairs.iter().map(|&(s, e)| s..=e).collect();
            prop_assert!(is_canonical(&collected));
            match RangeSet::from_pairs(pairs.clone()) {
                Some(set) => prop_assert_eq!(set, collected),
                None => prop_assert!(pairs.iter().any(|&(s, e)| s > e)),
            }
        }
    }
}
