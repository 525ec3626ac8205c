//! Proptest strategies for resource bundles, and the `cpus_mem` shorthand,
//! shared by the tests of this module and of its users (allocator, offers).
//!
//! Names come from three disjoint pools, one per kind, because a valid
//! bundle never uses a name for two kinds. Amounts stay at or below 10^18
//! thousandths so that adding two bundles never saturates, which would break
//! `a + b - b == a` for reasons that have nothing to do with the code under
//! test.

use proptest::prelude::*;

use super::{RangeSet, Resources, StringSet};

/// A bundle of `cpus` and `mem` (MB): what most tests need.
pub fn cpus_mem(cpus: f64, mem_mb: f64) -> Resources {
    Resources::scalar("cpus", cpus)
        .and_then(|r| r.with_scalar("mem", mem_mb))
        .unwrap_or_else(|e| panic!("test amounts are valid: {e}"))
}

/// Scalar names drawn by [`arb_resources`].
pub const SCALAR_NAMES: &[&str] = &["cpus", "mem", "disk", "gpus"];
/// Range names drawn by [`arb_resources`].
pub const RANGE_NAMES: &[&str] = &["ports", "ephemeral_ports"];
/// Set names drawn by [`arb_resources`].
pub const SET_NAMES: &[&str] = &["zones", "disks"];

/// Thousandths of a unit: mostly small, sometimes huge.
pub fn arb_millis() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..=100_000,
        1 => 0u64..=1_000_000_000_000_000_000,
    ]
}

/// Sets of a few ranges, mostly in a small window so that sets overlap
/// often, sometimes at the very top of `u64` to exercise overflow edges.
pub fn arb_range_set() -> impl Strategy<Value = RangeSet> {
    let start = prop_oneof![
        4 => 0u64..2_000,
        1 => u64::MAX - 2_000..=u64::MAX,
    ];
    prop::collection::vec((start, 0u64..100), 0..6).prop_map(|ranges| {
        ranges
            .into_iter()
            .map(|(start, len)| start..=start.saturating_add(len))
            .collect()
    })
}

/// Sets of a few items from a small alphabet, so that sets overlap often.
pub fn arb_string_set() -> impl Strategy<Value = StringSet> {
    prop::collection::btree_set("[a-e]{1,2}", 0..5).prop_map(|items| items.into_iter().collect())
}

/// Arbitrary valid bundles: every kind, possibly empty, names unique across
/// kinds.
pub fn arb_resources() -> impl Strategy<Value = Resources> {
    (
        prop::collection::btree_map(prop::sample::select(SCALAR_NAMES), arb_millis(), 0..4),
        prop::collection::btree_map(prop::sample::select(RANGE_NAMES), arb_range_set(), 0..3),
        prop::collection::btree_map(prop::sample::select(SET_NAMES), arb_string_set(), 0..3),
    )
        .prop_map(|(scalars, ranges, sets)| {
            Resources::from_parts(
                scalars
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                ranges.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                sets.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            )
        })
}

/// Two bundles that share no range value or set item, as an agent's free
/// and used resources never do: the precondition for `a + b - b == a`.
pub fn arb_disjoint_pair() -> impl Strategy<Value = (Resources, Resources)> {
    (arb_resources(), arb_resources()).prop_map(|(a, b)| {
        let mut apart = Resources::empty();
        for name in b.scalar_names() {
            apart.scalars.insert(name.into(), b.amount(name).millis());
        }
        for name in b.range_names() {
            let mine = b.ranges(name);
            let shared = mine.intersection(&a.ranges(name));
            apart = apart
                .with_ranges(name, mine.checked_difference(&shared).unwrap_or_default())
                .unwrap();
        }
        for name in b.set_names() {
            let mine = b.set(name);
            let shared = mine.intersection(&a.set(name));
            apart = apart
                .with_set(name, mine.checked_difference(&shared).unwrap_or_default())
                .unwrap();
        }
        (a, apart)
    })
}
