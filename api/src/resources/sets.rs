//! Sets of strings, for resources such as `disks:{sda,sdb}` and attributes
//! such as `zones:{a,b}`.
//!
//! The set itself accepts any string; whether an item can be written in the
//! text syntax is checked when the set is put into a bundle
//! ([`Resources::with_set`](super::Resources::with_set)), where the
//! resource's name is known for the error.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A set of strings, kept sorted so that its text form is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StringSet {
    items: BTreeSet<String>,
}

impl StringSet {
    /// The empty set.
    pub fn new() -> StringSet {
        StringSet::default()
    }

    /// Adds `item`; false if it was already there.
    pub fn insert(&mut self, item: impl Into<String>) -> bool {
        self.items.insert(item.into())
    }

    /// Whether the set holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many items the set holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether `item` is in the set.
    pub fn contains_item(&self, item: &str) -> bool {
        self.items.contains(item)
    }

    /// Whether every item of `other` is in this set.
    pub fn contains(&self, other: &StringSet) -> bool {
        other.items.is_subset(&self.items)
    }

    /// The items in either set.
    pub fn union(&self, other: &StringSet) -> StringSet {
        StringSet {
            items: self.items.union(&other.items).cloned().collect(),
        }
    }

    /// The items in both sets.
    pub fn intersection(&self, other: &StringSet) -> StringSet {
        StringSet {
            items: self.items.intersection(&other.items).cloned().collect(),
        }
    }

    /// Whether no item is in both sets.
    pub fn is_disjoint(&self, other: &StringSet) -> bool {
        self.items.is_disjoint(&other.items)
    }

    /// The items of this set that are not in `other`, or None if `other`
    /// holds an item this set does not (taking a disk that is not there is
    /// an error, as with scalars and ranges).
    pub fn checked_difference(&self, other: &StringSet) -> Option<StringSet> {
        self.contains(other).then(|| StringSet {
            items: self.items.difference(&other.items).cloned().collect(),
        })
    }

    /// The items in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }
}

impl<S: Into<String>> FromIterator<S> for StringSet {
    /// The set of the given items; repeats are kept once.
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> StringSet {
        StringSet {
            items: iter.into_iter().map(Into::into).collect(),
        }
    }
}

impl fmt::Display for StringSet {
    /// Mesos's form: `{a,b}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(item)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::resources::strategies::arb_string_set;

    #[test]
    fn arithmetic_refuses_missing_items() {
        let disks: StringSet = ["sda", "sdb", "sdc"].into_iter().collect();
        let used: StringSet = ["sdb"].into_iter().collect();
        let left = disks.checked_difference(&used).unwrap();
        assert_eq!(left.to_string(), "{sda,sdc}");
        assert_eq!(left.union(&used), disks);
        assert_eq!(used.checked_difference(&disks), None);
        assert!(disks.contains(&used) && !used.contains(&disks));
        assert_eq!(StringSet::new().to_string(), "{}");
    }

    proptest! {
        #[test]
        fn union_then_difference_gives_back_the_rest(a in arb_string_set(), b in arb_string_set()) {
            let total = a.union(&b);
            prop_assert!(total.contains(&a) && total.contains(&b));
            let rest = total.checked_difference(&b).unwrap();
            prop_assert_eq!(rest.union(&b), total);
            prop_assert!(a.contains(&rest));
            prop_assert_eq!(a.contains(&b), a.checked_difference(&b).is_some());
            let both = a.intersection(&b);
            prop_assert!(a.contains(&both) && b.contains(&both));
            prop_assert_eq!(a.is_disjoint(&b), both.is_empty());
            let only_b = b.checked_difference(&both).unwrap();
            prop_assert!(a.is_disjoint(&only_b));
            prop_assert_eq!(a.union(&only_b).checked_difference(&only_b), Some(a.clone()));
        }
    }
}
