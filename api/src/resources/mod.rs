//! Resources: what agents have, frameworks are offered and tasks use.
//!
//! A [`Resources`] bundle holds three kinds of named values, as in Mesos:
//!
//! - scalars (cpus, mem, disk, gpus, or any name), fixed-point with three
//!   decimals ([`Scalar`]), so sums and differences are exact and a value can
//!   never drift below zero through rounding;
//! - ranges ([`RangeSet`]), e.g. `ports:[31000-32000]`;
//! - sets ([`StringSet`]), e.g. `disks:{sda,sdb}`.
//!
//! Arithmetic is checked: taking more than is there (more cpus, a port or a
//! disk that is not free) is an error value, never a negative amount.
//!
//! A bundle belongs to one agent. Whatever sums several agents' resources
//! (a framework's allocation, the cluster's total) is a [`Quantities`]:
//! scalars and *counts* of range values and set items.
//!
//! Bundles read and print the Mesos text syntax
//! (`cpus:4;mem:8192;ports:[31000-32000];zones:{a,b}`), see
//! [`Resources::parse`]; agent [`Attributes`] share it. Parsing never
//! panics, and a bundle prints to a text that parses back to the same
//! bundle whenever its names are valid in the syntax and each names one kind
//! of value, which parsing and the range and set builders ensure
//! ([`Resources::with_scalar`] predates the syntax and does not check names).

mod attributes;
mod error;
mod parse;
mod quantities;
mod ranges;
mod scalar;
mod sets;
#[cfg(any(test, feature = "test-strategies"))]
pub mod strategies;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

pub use attributes::{AttrValue, Attributes};
pub use error::ResourceError;
pub use quantities::Quantities;
pub use ranges::RangeSet;
pub use scalar::Scalar;
pub use sets::StringSet;

/// A bundle of named resources.
///
/// Zero scalars and empty ranges or sets are never stored, so equality is
/// equality of what the bundle holds. A name holds one kind of value:
/// the builders refuse a name already used by another kind (the sum of two
/// bundles that disagree on a name's kind keeps both, and prints a text that
/// [`Resources::parse`] refuses, as Mesos does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Resources {
    /// Scalar amounts in thousandths; zero amounts are not stored.
    scalars: BTreeMap<Name, u64>,
    /// Range resources; empty sets are not stored.
    ranges: BTreeMap<Name, RangeSet>,
    /// Set resources; empty sets are not stored.
    sets: BTreeMap<Name, StringSet>,
}

/// A resource name. Shared rather than owned: bundles are cloned wherever
/// resources are offered, held and given back (the allocator clones one
/// per offer), and a shared name is cloned without allocating. Serialized
/// as a plain string.
type Name = Arc<str>;

impl Resources {
    /// No resources.
    pub fn empty() -> Resources {
        Resources::default()
    }

    /// One scalar resource, e.g. `Resources::scalar("cpus", 0.5)`.
    pub fn scalar(name: &str, amount: f64) -> Result<Resources, ResourceError> {
        Resources::empty().with_scalar(name, amount)
    }

    /// This bundle plus `amount` of scalar `name`, rounded to thousandths.
    ///
    /// Fails if `amount` is negative, not finite or above 10^15, or if `name`
    /// already holds ranges or a set. The name is not checked against the
    /// text syntax, for compatibility with callers that predate it; names
    /// from [`Resources::parse`] always are.
    pub fn with_scalar(mut self, name: &str, amount: f64) -> Result<Resources, ResourceError> {
        let millis = Scalar::from_f64(amount)
            .ok_or_else(|| ResourceError::BadAmount {
                name: name.to_owned(),
                value: amount.to_string(),
            })?
            .millis();
        if self.ranges.contains_key(name) || self.sets.contains_key(name) {
            return Err(kind_mismatch(name));
        }
        if millis > 0 {
            let have = self.scalars.entry(Name::from(name)).or_default();
            *have = have.saturating_add(millis);
        }
        Ok(self)
    }

    /// This bundle plus the values of `ranges` under `name` (a union with
    /// what is there). Fails if `name` cannot be written in the text syntax
    /// or already holds a scalar or a set.
    pub fn with_ranges(mut self, name: &str, ranges: RangeSet) -> Result<Resources, ResourceError> {
        parse::check_name(name)?;
        if self.scalars.contains_key(name) || self.sets.contains_key(name) {
            return Err(kind_mismatch(name));
        }
        if !ranges.is_empty() {
            let have = self.ranges.entry(Name::from(name)).or_default();
            *have = have.union(&ranges);
        }
        Ok(self)
    }

    /// This bundle plus the items of `set` under `name` (a union with what is
    /// there). Fails if `name` or an item cannot be written in the text
    /// syntax, or if `name` already holds a scalar or ranges.
    pub fn with_set(mut self, name: &str, set: StringSet) -> Result<Resources, ResourceError> {
        parse::check_name(name)?;
        set.iter()
            .try_for_each(|item| parse::check_item(name, item))?;
        if self.scalars.contains_key(name) || self.ranges.contains_key(name) {
            return Err(kind_mismatch(name));
        }
        if !set.is_empty() {
            let have = self.sets.entry(Name::from(name)).or_default();
            *have = have.union(&set);
        }
        Ok(self)
    }

    /// The amount of scalar `name` (0 if absent).
    pub fn get(&self, name: &str) -> f64 {
        self.amount(name).to_f64()
    }

    /// The exact amount of scalar `name` (zero if absent), for arithmetic
    /// that must not round.
    pub fn amount(&self, name: &str) -> Scalar {
        Scalar::from_millis(self.scalars.get(name).copied().unwrap_or(0))
    }

    /// CPUs.
    pub fn cpus(&self) -> f64 {
        self.get("cpus")
    }

    /// Memory in MB.
    pub fn mem_mb(&self) -> f64 {
        self.get("mem")
    }

    /// The ranges of `name` (empty if absent), e.g. `ranges("ports")`.
    pub fn ranges(&self, name: &str) -> RangeSet {
        self.ranges.get(name).cloned().unwrap_or_default()
    }

    /// The set of `name` (empty if absent), e.g. `set("disks")`.
    pub fn set(&self, name: &str) -> StringSet {
        self.sets.get(name).cloned().unwrap_or_default()
    }

    /// Scalar names with a non-zero amount, in order.
    pub fn scalar_names(&self) -> impl Iterator<Item = &str> {
        self.scalars.keys().map(|k| &**k)
    }

    /// Range names with a non-empty set, in order.
    pub fn range_names(&self) -> impl Iterator<Item = &str> {
        self.ranges.keys().map(|k| &**k)
    }

    /// Set names with a non-empty set, in order.
    pub fn set_names(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(|k| &**k)
    }

    /// Whether there is nothing in the bundle.
    pub fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty()
    }

    /// Whether everything in `other` is available here: every scalar amount,
    /// every range value and every set item.
    pub fn contains(&self, other: &Resources) -> bool {
        let scalars = other
            .scalars
            .iter()
            .all(|(k, v)| self.scalars.get(k).is_some_and(|have| have >= v));
        let ranges = other
            .ranges
            .iter()
            .all(|(k, v)| self.ranges.get(k).is_some_and(|have| have.contains(v)));
        let sets = other
            .sets
            .iter()
            .all(|(k, v)| self.sets.get(k).is_some_and(|have| have.contains(v)));
        scalars && ranges && sets
    }

    /// This bundle plus `other`, both parts of *one agent's* resources:
    /// scalars add (saturating, far beyond any cluster), ranges and sets
    /// unite, as in Mesos. Sums across agents are [`Quantities`], never
    /// bundles: the same port on two machines is two ports.
    ///
    /// A port or set item is one thing, not an amount, so adding one that is
    /// already here does not count it twice, and `a.plus(b).checked_minus(b)`
    /// gives back `a` only when `a` and `b` share no range value or set item.
    /// That holds wherever resources are split and put back (an agent's free
    /// and used resources never overlap); [`Resources::checked_plus`] checks
    /// it.
    pub fn plus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for (k, v) in &other.scalars {
            let e = out.scalars.entry(k.clone()).or_default();
            *e = e.saturating_add(*v);
        }
        for (k, v) in &other.ranges {
            let e = out.ranges.entry(k.clone()).or_default();
            *e = e.union(v);
        }
        for (k, v) in &other.sets {
            let e = out.sets.entry(k.clone()).or_default();
            *e = e.union(v);
        }
        out
    }

    /// This bundle plus `other`, or None if they share a range value or a
    /// set item, or a scalar sum would not fit: the sum that can be undone
    /// exactly. Putting a task's resources back into an agent's free pool
    /// should never overlap, so None there is a bookkeeping bug.
    pub fn checked_plus(&self, other: &Resources) -> Option<Resources> {
        let scalars_fit = other.scalars.iter().all(|(k, v)| {
            let have = self.scalars.get(k).copied().unwrap_or(0);
            have.checked_add(*v).is_some()
        });
        let ranges_apart = other
            .ranges
            .iter()
            .all(|(k, v)| self.ranges.get(k).is_none_or(|have| have.is_disjoint(v)));
        let sets_apart = other
            .sets
            .iter()
            .all(|(k, v)| self.sets.get(k).is_none_or(|have| have.is_disjoint(v)));
        (scalars_fit && ranges_apart && sets_apart).then(|| self.plus(other))
    }

    /// This bundle minus `other`, or None if `other` is not contained.
    pub fn checked_minus(&self, other: &Resources) -> Option<Resources> {
        if !self.contains(other) {
            return None;
        }
        let mut out = self.clone();
        for (k, v) in &other.scalars {
            if let Some(have) = out.scalars.get_mut(k) {
                *have -= v;
                if *have == 0 {
                    out.scalars.remove(k);
                }
            }
        }
        for (k, v) in &other.ranges {
            let left = out.ranges.get(k)?.checked_difference(v)?;
            store_unless_empty(&mut out.ranges, k, left, RangeSet::is_empty);
        }
        for (k, v) in &other.sets {
            let left = out.sets.get(k)?.checked_difference(v)?;
            store_unless_empty(&mut out.sets, k, left, StringSet::is_empty);
        }
        Some(out)
    }

    /// A bundle of the given maps with zero and empty entries dropped, so
    /// equality stays equality of contents whatever the source.
    fn from_parts(
        scalars: BTreeMap<String, u64>,
        ranges: BTreeMap<String, RangeSet>,
        sets: BTreeMap<String, StringSet>,
    ) -> Resources {
        fn keep<V>(map: BTreeMap<String, V>, keep: impl Fn(&V) -> bool) -> BTreeMap<Name, V> {
            map.into_iter()
                .filter(|(_, v)| keep(v))
                .map(|(k, v)| (Name::from(k), v))
                .collect()
        }
        Resources {
            scalars: keep(scalars, |v| *v > 0),
            ranges: keep(ranges, |v| !v.is_empty()),
            sets: keep(sets, |v| !v.is_empty()),
        }
    }
}

fn kind_mismatch(name: &str) -> ResourceError {
    ResourceError::KindMismatch {
        name: name.to_owned(),
    }
}

/// Puts `value` under `name`, or removes `name` if `value` is empty, keeping
/// the "no empty entries" invariant.
fn store_unless_empty<V>(
    map: &mut BTreeMap<Name, V>,
    name: &str,
    value: V,
    is_empty: impl Fn(&V) -> bool,
) {
    if is_empty(&value) {
        map.remove(name);
    } else if let Some(slot) = map.get_mut(name) {
        *slot = value;
    }
}

/// One entry of a bundle, for printing in name order across kinds.
enum Entry<'a> {
    Scalar(u64),
    Ranges(&'a RangeSet),
    Set(&'a StringSet),
}

impl fmt::Display for Resources {
    /// The Mesos text form, names in order, e.g.
    /// `cpus:0.5;mem:32;ports:[31000-31009]`; scalars have at most three
    /// decimals and no trailing zeros. The empty bundle prints as nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<(&str, Entry<'_>)> = Vec::new();
        entries.extend(self.scalars.iter().map(|(k, v)| (&**k, Entry::Scalar(*v))));
        entries.extend(self.ranges.iter().map(|(k, v)| (&**k, Entry::Ranges(v))));
        entries.extend(self.sets.iter().map(|(k, v)| (&**k, Entry::Set(v))));
        // Stable, so a name held by two kinds prints scalar, ranges, set.
        entries.sort_by_key(|(name, _)| *name);
        for (i, (name, entry)) in entries.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            match entry {
                Entry::Scalar(millis) => write!(f, "{name}:{}", Scalar::from_millis(*millis))?,
                Entry::Ranges(ranges) => write!(f, "{name}:{ranges}")?,
                Entry::Set(set) => write!(f, "{name}:{set}")?,
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Resources {
    /// Reads the derived form and drops zero and empty entries, so a bundle
    /// from a peer compares and subtracts like one built here. Bundles
    /// written before ranges and sets existed read as scalar-only in
    /// self-describing formats.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Resources, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Resources")]
        struct Wire {
            scalars: BTreeMap<String, u64>,
            #[serde(default)]
            ranges: BTreeMap<String, RangeSet>,
            #[serde(default)]
            sets: BTreeMap<String, StringSet>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(Resources::from_parts(wire.scalars, wire.ranges, wire.sets))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::strategies::{arb_disjoint_pair, arb_resources};
    use super::*;

    use super::strategies::cpus_mem as r;

    fn ports(ranges: &[(u64, u64)]) -> RangeSet {
        RangeSet::from_pairs(ranges.iter().copied()).unwrap()
    }

    fn items(items: &[&str]) -> StringSet {
        items.iter().copied().collect()
    }

    #[test]
    fn arithmetic_is_exact_and_never_negative() {
        let total = r(4.0, 8192.0);
        let used = r(0.1, 32.0).plus(&r(0.2, 0.0));
        let left = total.checked_minus(&used).unwrap();
        assert_eq!(left.cpus(), 3.7);
        assert_eq!(left.mem_mb(), 8160.0);
        assert_eq!(left.plus(&used), total);
        assert_eq!(used.checked_minus(&total), None);
        assert!(Resources::scalar("cpus", -1.0).is_err());
        assert!(Resources::scalar("cpus", f64::NAN).is_err());
    }

    #[test]
    fn ranges_and_sets_take_part_in_arithmetic() {
        let agent = r(4.0, 4096.0)
            .with_ranges("ports", ports(&[(31000, 32000)]))
            .and_then(|a| a.with_set("disks", items(&["sda", "sdb"])))
            .unwrap();
        let task = r(1.0, 128.0)
            .with_ranges("ports", ports(&[(31000, 31001)]))
            .and_then(|t| t.with_set("disks", items(&["sdb"])))
            .unwrap();
        let left = agent.checked_minus(&task).unwrap();
        assert_eq!(left.ranges("ports"), ports(&[(31002, 32000)]));
        assert_eq!(left.set("disks"), items(&["sda"]));
        assert_eq!(left.plus(&task), agent);
        assert!(agent.contains(&task) && !left.contains(&task));
        assert_eq!(left.checked_minus(&task), None);
        assert_eq!(
            left.to_string(),
            "cpus:3;disks:{sda};mem:3968;ports:[31002-32000]"
        );

        // Taking everything leaves nothing behind, not empty entries.
        assert_eq!(agent.checked_minus(&agent), Some(Resources::empty()));
        assert!(agent.checked_minus(&agent).unwrap().is_empty());
        assert_eq!(left.range_names().collect::<Vec<_>>(), ["ports"]);
        assert_eq!(left.set_names().collect::<Vec<_>>(), ["disks"]);
        assert_eq!(agent.ranges("nope"), RangeSet::new());
        assert_eq!(agent.set("nope"), StringSet::new());
    }

    #[test]
    fn a_port_added_twice_counts_once() {
        let p = Resources::empty()
            .with_ranges("ports", ports(&[(1, 10)]))
            .unwrap();
        let q = Resources::empty()
            .with_ranges("ports", ports(&[(10, 12)]))
            .unwrap();
        assert_eq!(p.plus(&q).ranges("ports"), ports(&[(1, 12)]));
        assert_eq!(p.checked_plus(&q), None);
        let big = Resources::scalar("cpus", 1e15).unwrap();
        let huge = (0..20).fold(big.clone(), |acc, _| acc.plus(&big));
        assert_eq!(huge.amount("cpus"), Scalar::from_millis(u64::MAX));
        assert_eq!(huge.checked_plus(&big), None);
    }

    #[test]
    fn a_port_that_is_not_free_cannot_be_taken() {
        let agent = Resources::empty()
            .with_ranges("ports", ports(&[(31000, 31010)]))
            .unwrap();
        let elsewhere = Resources::empty()
            .with_ranges("ports", ports(&[(31010, 31011)]))
            .unwrap();
        assert!(!agent.contains(&elsewhere));
        assert_eq!(agent.checked_minus(&elsewhere), None);
        let other_name = Resources::empty()
            .with_ranges("other", ports(&[(31000, 31000)]))
            .unwrap();
        assert_eq!(agent.checked_minus(&other_name), None);
    }

    #[test]
    fn empty_values_are_not_stored() {
        let r = Resources::empty()
            .with_ranges("ports", RangeSet::new())
            .and_then(|r| r.with_set("disks", StringSet::new()))
            .and_then(|r| r.with_scalar("cpus", 0.0))
            .unwrap();
        assert!(r.is_empty());
        assert_eq!(r, Resources::empty());
        assert_eq!(r.to_string(), "");
    }

    #[test]
    fn a_name_holds_one_kind() {
        let cpus = Resources::scalar("cpus", 1.0).unwrap();
        let kind = |name: &str| ResourceError::KindMismatch {
            name: name.to_owned(),
        };
        assert_eq!(
            cpus.clone().with_ranges("cpus", ports(&[(1, 2)])),
            Err(kind("cpus"))
        );
        assert_eq!(
            cpus.clone().with_set("cpus", items(&["a"])),
            Err(kind("cpus"))
        );
        let p = Resources::empty()
            .with_ranges("p", ports(&[(1, 2)]))
            .unwrap();
        assert_eq!(p.clone().with_scalar("p", 1.0), Err(kind("p")));
        assert_eq!(p.with_set("p", items(&["a"])), Err(kind("p")));
    }

    #[test]
    fn builders_refuse_what_could_not_be_printed() {
        assert_eq!(
            Resources::empty().with_ranges("po rts", ports(&[(1, 2)])),
            Err(ResourceError::BadName {
                name: "po rts".to_owned()
            })
        );
        assert_eq!(
            Resources::empty().with_set("disks", items(&["a,b"])),
            Err(ResourceError::BadItem {
                name: "disks".to_owned(),
                item: "a,b".to_owned()
            })
        );
    }

    #[test]
    fn with_scalar_adds_and_amount_is_exact() {
        let r = Resources::scalar("cpus", 0.1)
            .and_then(|r| r.with_scalar("cpus", 0.2))
            .unwrap();
        assert_eq!(r.amount("cpus"), Scalar::from_millis(300));
        assert_eq!(r.cpus(), 0.3);
        assert_eq!(r.amount("gpus"), Scalar::ZERO);
    }

    #[test]
    fn display_keeps_its_scalar_form() {
        // The form callers saw before ranges existed.
        assert_eq!(r(0.5, 32.0).to_string(), "cpus:0.5;mem:32");
        assert_eq!(Resources::empty().to_string(), "");
    }

    /// Pairs of bundles where the second is often, but not always, inside
    /// the first.
    fn total_and_used() -> impl Strategy<Value = (Resources, Resources)> {
        prop_oneof![
            arb_disjoint_pair().prop_map(|(rest, used)| (rest.plus(&used), used)),
            (arb_resources(), arb_resources()),
        ]
    }

    proptest! {
        #[test]
        fn adding_then_taking_gives_back_the_original((a, b) in arb_disjoint_pair()) {
            prop_assert_eq!(a.plus(&b).checked_minus(&b), Some(a.clone()));
            prop_assert_eq!(a.checked_plus(&b), Some(a.plus(&b)));
        }

        /// Without the disjointness precondition: `plus` is a union, and
        /// `checked_plus` refuses exactly the sums that cannot be undone.
        #[test]
        fn checked_plus_refuses_only_sums_that_cannot_be_undone(
            a in arb_resources(),
            b in arb_resources(),
        ) {
            let sum = a.plus(&b);
            prop_assert_eq!(&sum, &b.plus(&a));
            prop_assert!(sum.contains(&a) && sum.contains(&b));
            match a.checked_plus(&b) {
                Some(exact) => {
                    prop_assert_eq!(&exact, &sum);
                    prop_assert_eq!(exact.checked_minus(&b), Some(a.clone()));
                }
                None => prop_assert!(
                    a.range_names().any(|n| !a.ranges(n).is_disjoint(&b.ranges(n)))
                        || a.set_names().any(|n| !a.set(n).is_disjoint(&b.set(n)))
                ),
            }
        }

        #[test]
        fn contains_is_exactly_when_minus_succeeds(a in arb_resources(), b in arb_resources()) {
            prop_assert_eq!(a.contains(&b), a.checked_minus(&b).is_some());
        }

        #[test]
        fn what_is_left_is_within_the_total_and_adds_back((total, used) in total_and_used()) {
            if let Some(left) = total.checked_minus(&used) {
                prop_assert!(total.contains(&left));
                prop_assert!(total.contains(&used));
                prop_assert_eq!(left.plus(&used), total.clone());
                for name in left.scalar_names() {
                    prop_assert!(left.amount(name) <= total.amount(name));
                    prop_assert!(!left.amount(name).is_zero());
                }
                for name in left.range_names() {
                    prop_assert!(!left.ranges(name).is_empty());
                }
                for name in left.set_names() {
                    prop_assert!(!left.set(name).is_empty());
                }
            } else {
                prop_assert!(!total.contains(&used));
            }
        }

        #[test]
        fn everything_contains_nothing_and_itself(a in arb_resources()) {
            prop_assert!(a.contains(&Resources::empty()));
            prop_assert!(a.contains(&a));
            prop_assert_eq!(a.checked_minus(&a), Some(Resources::empty()));
            prop_assert_eq!(a.plus(&Resources::empty()), a.clone());
            prop_assert_eq!(a.is_empty(), a == Resources::empty());
        }
    }
}
