//! Integer labels that sort as their clients' keys do.
//!
//! A sorter's order breaks ties of share by its clients' keys (name, then
//! slot). Every allocation moves one client in that order, so comparing
//! names there is the hot path of a pass; comparing labels instead costs an
//! integer comparison and gives the same order. Labels are spaced apart so
//! a new client usually fits between its neighbours; when none fits, every
//! client is labelled afresh (rare, and O(n)).

use std::collections::BTreeMap;
use std::ops::Bound;

/// The room left after the last label (and before the first) when a
/// client is added at either end, so appends in name order fit 2^32 times.
const END_GAP: u64 = 1 << 32;

/// What [`Labels::insert`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Labelled {
    /// The new key got this label; no other label changed.
    Fits(u64),
    /// No label fitted between the new key's neighbours, so every key was
    /// labelled afresh: read them all with [`Labels::iter`].
    Relabelled,
}

/// Keys and their labels; a key's label is below another's exactly when the
/// key is.
#[derive(Debug)]
pub(crate) struct Labels<K> {
    by_key: BTreeMap<K, u64>,
}

impl<K> Default for Labels<K> {
    fn default() -> Self {
        Labels {
            by_key: BTreeMap::new(),
        }
    }
}

impl<K: Ord> Labels<K> {
    /// Labels a new `key` (one not here).
    pub(crate) fn insert(&mut self, key: K) -> Labelled {
        let before = self.by_key.range(..&key).next_back().map(|(_, &l)| l);
        let after = self
            .by_key
            .range((Bound::Excluded(&key), Bound::Unbounded))
            .next()
            .map(|(_, &l)| l);
        if let Some(label) = label_between(before, after) {
            let old = self.by_key.insert(key, label);
            assert!(old.is_none(), "labels: key added twice");
            return Labelled::Fits(label);
        }
        self.by_key.insert(key, 0);
        let spacing = u64::MAX / (self.by_key.len() as u64 + 1);
        for (i, label) in self.by_key.values_mut().enumerate() {
            *label = (i as u64 + 1) * spacing;
        }
        Labelled::Relabelled
    }

    /// Forgets `key`.
    pub(crate) fn remove(&mut self, key: &K) {
        self.by_key.remove(key);
    }

    /// Every key with its label, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, u64)> {
        self.by_key.iter().map(|(k, &l)| (k, l))
    }
}

/// A label strictly between the neighbours' labels (an absent neighbour
/// leaves [`END_GAP`] of room on its side), or None if they are adjacent.
fn label_between(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    let (lo, hi) = match (before, after) {
        (None, None) => return Some(1 << 63),
        (Some(lo), None) => (lo, lo.saturating_add(2 * END_GAP)),
        (None, Some(hi)) => (hi.saturating_sub(2 * END_GAP), hi),
        (Some(lo), Some(hi)) => (lo, hi),
    };
    let mid = lo + (hi - lo) / 2;
    (lo < mid && mid < hi).then_some(mid)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::allocator::sorter::ClientKey;

    fn key(name: &str, slot: u32) -> ClientKey {
        ClientKey {
            name: name.into(),
            slot,
        }
    }

    fn in_order(l: &Labels<ClientKey>) -> bool {
        let labels: Vec<u64> = l.iter().map(|(_, label)| label).collect();
        labels.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn a_key_squeezed_between_the_same_two_forces_a_relabel() {
        let mut l = Labels::default();
        assert_eq!(l.insert(key("a", 0)), Labelled::Fits(1 << 63));
        assert!(matches!(l.insert(key("c", 1)), Labelled::Fits(_)));
        // Each name lands just above "a": the gap halves every time.
        let mut relabelled = false;
        for i in 0..40u32 {
            let name = format!("a{}", "0".repeat(40 - i as usize));
            relabelled |= l.insert(key(&name, 2 + i)) == Labelled::Relabelled;
            assert!(in_order(&l));
        }
        assert!(relabelled);
    }

    proptest! {
        /// Labels follow the keys' order whatever is added and removed.
        #[test]
        fn labels_sort_as_keys(ops in prop::collection::vec((any::<bool>(), 0u8..40), 1..200)) {
            let mut l = Labels::default();
            let mut live = std::collections::BTreeSet::new();
            for (add, n) in ops {
                let k = key(&format!("f{n}"), u32::from(n));
                if add && live.insert(k.clone()) {
                    l.insert(k);
                } else if !add && live.remove(&k) {
                    l.remove(&k);
                }
                prop_assert!(in_order(&l));
                let keys: Vec<&ClientKey> = l.iter().map(|(k, _)| k).collect();
                prop_assert_eq!(keys, live.iter().collect::<Vec<_>>());
            }
        }
    }
}
