//! Quantities: amounts of resources summed across agents.
//!
//! A [`Resources`] bundle is what one agent has or one task uses; its port
//! ranges and set items are *things* (port 31000 of this machine), so two
//! bundles add by union and an overlap cannot be undone. The same ranges on
//! two machines are different ports, though: `[31000-32000]` on two agents
//! is 2,002 ports, and uniting them as one set would lose half of them and
//! make any later subtraction fail. So every sum across agents — a
//! framework's or a role's allocation, the cluster's total, `/state` totals
//! and metrics — is a [`Quantities`]: scalar amounts, plus the *number* of
//! members of each range or set resource. Mesos keeps the same split (its
//! `ResourceQuantities` beside `Resources`).
//!
//! Quantities add and subtract as plain numbers, in `u128`: one agent's
//! amount fits a `u64` (thousandths), so no number of agents can overflow a
//! sum, and taking an agent's amounts back out of a total always gives the
//! rest exactly, even for absurd amounts a peer might send. Subtracting
//! more than is there is refused (`None`), never wrapped or clamped, so
//! bookkeeping bugs show instead of drifting.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Resources, Scalar};

/// Amounts of named resources summed over any number of agents.
///
/// Zero amounts are never stored, so equality is equality of amounts.
/// Scalars and member counts are kept apart: Dominant Resource Fairness
/// measures shares over scalars only (see [`Quantities::dominant_share`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quantities {
    /// Scalar amounts in thousandths; zero amounts are not stored.
    scalars: BTreeMap<String, u128>,
    /// How many range values or set items each range or set resource
    /// holds; zero counts are not stored.
    members: BTreeMap<String, u128>,
}

impl Quantities {
    /// Nothing.
    pub fn empty() -> Quantities {
        Quantities::default()
    }

    /// The quantities of one bundle: its scalars, and how many values each
    /// range and set resource holds.
    pub fn of(bundle: &Resources) -> Quantities {
        let mut q = Quantities::empty();
        q.add(bundle);
        q
    }

    /// Adds the quantities of `bundle`, in place: a name already here costs
    /// no allocation.
    pub fn add(&mut self, bundle: &Resources) {
        for (name, v) in bundle_amounts(bundle) {
            bump(&mut self.scalars, name, v);
        }
        for (name, v) in bundle_members(bundle) {
            bump(&mut self.members, name, v);
        }
    }

    /// Takes the quantities of `bundle` out in place and returns true, or
    /// returns false and changes nothing if `bundle` holds more of any
    /// resource than is here: `take_bundle(b)` is
    /// `take_quantities(&Quantities::of(b))` without building the sum.
    pub fn take_bundle(&mut self, bundle: &Resources) -> bool {
        // A name holding both ranges and a set (a sum of bundles that
        // disagree on its kind) counts both; the check below takes each
        // alone, so such a bundle goes the long way.
        if bundle.ranges.keys().any(|k| bundle.sets.contains_key(k)) {
            return self.take_quantities(&Quantities::of(bundle));
        }
        let within = |mine: &BTreeMap<String, u128>, (name, v): (&str, u128)| {
            v == 0 || mine.get(name).is_some_and(|&have| have >= v)
        };
        let fits = bundle_amounts(bundle).all(|e| within(&self.scalars, e))
            && bundle_members(bundle).all(|e| within(&self.members, e));
        if !fits {
            return false;
        }
        for (name, v) in bundle_amounts(bundle) {
            take(&mut self.scalars, name, v);
        }
        for (name, v) in bundle_members(bundle) {
            take(&mut self.members, name, v);
        }
        true
    }

    /// These quantities plus `other`'s (saturating only past `u128`, which
    /// no sum of agents reaches).
    pub fn plus(&self, other: &Quantities) -> Quantities {
        let mut out = self.clone();
        out.add_quantities(other);
        out
    }

    /// Adds `other`'s quantities in place, as [`Quantities::plus`]. The
    /// allocator sums on every allocation; in place, a name already here
    /// costs no allocation.
    pub fn add_quantities(&mut self, other: &Quantities) {
        for (name, &v) in &other.scalars {
            bump(&mut self.scalars, name, v);
        }
        for (name, &v) in &other.members {
            bump(&mut self.members, name, v);
        }
    }

    /// These quantities minus `other`'s, or None if `other` holds more of
    /// any resource than is here.
    pub fn checked_minus(&self, other: &Quantities) -> Option<Quantities> {
        let mut out = self.clone();
        out.take_quantities(other).then_some(out)
    }

    /// Takes `other`'s quantities out in place and returns true, or
    /// returns false and changes nothing if `other` holds more of any
    /// resource than is here (as [`Quantities::checked_minus`]).
    pub fn take_quantities(&mut self, other: &Quantities) -> bool {
        if !self.contains(other) {
            return false;
        }
        for (name, &v) in &other.scalars {
            take(&mut self.scalars, name, v);
        }
        for (name, &v) in &other.members {
            take(&mut self.members, name, v);
        }
        true
    }

    /// Whether every amount of `other` is at most what is here.
    pub fn contains(&self, other: &Quantities) -> bool {
        let within = |mine: &BTreeMap<String, u128>, theirs: &BTreeMap<String, u128>| {
            theirs
                .iter()
                .all(|(name, v)| mine.get(name).is_some_and(|have| have >= v))
        };
        within(&self.scalars, &other.scalars) && within(&self.members, &other.members)
    }

    /// The amount of scalar `name` (zero if absent), exact up to
    /// `u64::MAX` thousandths and that beyond.
    pub fn amount(&self, name: &str) -> Scalar {
        let millis = self.scalars.get(name).copied().unwrap_or(0);
        Scalar::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// The amount of scalar `name` as a float (0 if absent).
    pub fn get(&self, name: &str) -> f64 {
        self.amount(name).to_f64()
    }

    /// CPUs.
    pub fn cpus(&self) -> f64 {
        self.get("cpus")
    }

    /// Memory in MB.
    pub fn mem_mb(&self) -> f64 {
        self.get("mem")
    }

    /// How many values range or set resource `name` holds (0 if absent),
    /// e.g. `members("ports")`.
    pub fn members(&self, name: &str) -> u64 {
        let count = self.members.get(name).copied().unwrap_or(0);
        u64::try_from(count).unwrap_or(u64::MAX)
    }

    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.members.is_empty()
    }

    /// The largest fraction of `total` held of any scalar present in
    /// `total` (Dominant Resource Fairness's share).
    ///
    /// Member counts do not count. DRF compares divisible quantities: half
    /// the cpus is half a machine, but a framework offered an agent's whole
    /// port range is not "using" a share of ports that others compete for in
    /// proportion. Mesos's DRF sorter likewise measures scalars only.
    pub fn dominant_share(&self, total: &Quantities) -> f64 {
        self.scalars
            .iter()
            .filter_map(|(name, &v)| {
                let t = *total.scalars.get(name)?;
                (t > 0).then(|| v as f64 / t as f64)
            })
            .fold(0.0, f64::max)
    }
}

impl fmt::Display for Quantities {
    /// Names in order, scalars in the bundle syntax and member counts as a
    /// count with `#`, e.g. `cpus:8;mem:4096;ports:#2002`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<(&str, String)> = self
            .scalars
            .keys()
            .map(|name| (name.as_str(), self.amount(name).to_string()))
            .collect();
        entries.extend(
            self.members
                .iter()
                .map(|(name, v)| (name.as_str(), format!("#{v}"))),
        );
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (name, value)) in entries.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{name}:{value}")?;
        }
        Ok(())
    }
}

impl From<&Resources> for Quantities {
    fn from(bundle: &Resources) -> Quantities {
        Quantities::of(bundle)
    }
}

/// A bundle's scalars in thousandths, by name.
fn bundle_amounts(bundle: &Resources) -> impl Iterator<Item = (&str, u128)> {
    bundle
        .scalars
        .iter()
        .map(|(name, &v)| (&**name, u128::from(v)))
}

/// How many values each of a bundle's range and set resources holds.
fn bundle_members(bundle: &Resources) -> impl Iterator<Item = (&str, u128)> {
    let ranges = bundle
        .ranges
        .iter()
        .map(|(name, r)| (&**name, u128::from(r.count())));
    let sets = bundle.sets.iter().map(|(name, s)| {
        let items = u128::try_from(s.len()).unwrap_or(u128::MAX);
        (&**name, items)
    });
    ranges.chain(sets)
}

/// Adds `v` to `name`'s amount, storing nothing for zero. The name is
/// copied only when it is new here.
fn bump(map: &mut BTreeMap<String, u128>, name: &str, v: u128) {
    if v == 0 {
        return;
    }
    match map.get_mut(name) {
        Some(have) => *have = have.saturating_add(v),
        None => {
            map.insert(name.to_owned(), v);
        }
    }
}

/// Takes `v` from `name`'s amount, which the caller has checked holds at
/// least `v`; an amount that reaches zero is removed.
fn take(map: &mut BTreeMap<String, u128>, name: &str, v: u128) {
    if v == 0 {
        return;
    }
    let Some(have) = map.get_mut(name) else {
        return;
    };
    *have = have.saturating_sub(v);
    if *have == 0 {
        map.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::strategies::{arb_disjoint_pair, arb_resources, cpus_mem};
    use super::super::RangeSet;
    use super::*;

    fn with_ports(r: Resources, lo: u64, hi: u64) -> Resources {
        let ports = RangeSet::from_pairs([(lo, hi)]).unwrap();
        r.with_ranges("ports", ports).unwrap()
    }

    #[test]
    fn the_same_ports_on_two_agents_count_twice() {
        let agent = with_ports(cpus_mem(2.0, 1024.0), 31000, 32000);
        let mut total = Quantities::empty();
        total.add(&agent);
        total.add(&agent);
        assert_eq!(total.members("ports"), 2002);
        assert_eq!(total.cpus(), 4.0);
        assert_eq!(total.to_string(), "cpus:4;mem:2048;ports:#2002");
        // Taking one agent away leaves exactly the other.
        let left = total.checked_minus(&Quantities::of(&agent)).unwrap();
        assert_eq!(left, Quantities::of(&agent));
        let none = left.checked_minus(&Quantities::of(&agent)).unwrap();
        assert!(none.is_empty());
        assert_eq!(none.checked_minus(&Quantities::of(&agent)), None);
    }

    #[test]
    fn absurd_amounts_from_peers_still_subtract_back() {
        let huge = Resources::from_parts(
            [("cpus".to_owned(), u64::MAX)].into(),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        let mut total = Quantities::empty();
        total.add(&huge);
        total.add(&huge);
        let one = Quantities::of(&huge);
        let left = total.checked_minus(&one).unwrap();
        assert_eq!(left, one);
        assert!(left.checked_minus(&one).unwrap().is_empty());
        assert_eq!(total.amount("cpus"), Scalar::from_millis(u64::MAX));
    }

    #[test]
    fn shares_are_measured_over_scalars_only() {
        let agent = with_ports(cpus_mem(10.0, 100.0), 1, 10);
        let total = Quantities::of(&agent);
        let task = Quantities::of(&with_ports(cpus_mem(1.0, 5.0), 1, 10));
        assert_eq!(task.dominant_share(&total), 0.1);
        assert_eq!(Quantities::empty().dominant_share(&total), 0.0);
    }

    #[test]
    fn members_and_scalars_of_one_name_stay_apart() {
        let sets = Resources::empty()
            .with_set("disks", ["a", "b"].into_iter().collect())
            .unwrap();
        let q = Quantities::of(&sets);
        assert_eq!(q.members("disks"), 2);
        assert_eq!(q.amount("disks"), Scalar::ZERO);
        assert!(q.contains(&Quantities::empty()) && !Quantities::empty().contains(&q));
    }

    proptest! {
        /// Summing bundles as quantities and taking any of them back gives
        /// the sum of the rest, whatever the bundles share.
        #[test]
        fn taking_a_part_back_leaves_the_rest(
            bundles in prop::collection::vec(arb_resources(), 1..6),
            pick in any::<prop::sample::Index>(),
        ) {
            let total = bundles.iter().fold(Quantities::empty(), |mut q, b| { q.add(b); q });
            let i = pick.index(bundles.len());
            let rest = bundles.iter().enumerate().filter(|(j, _)| *j != i)
                .fold(Quantities::empty(), |mut q, (_, b)| { q.add(b); q });
            let part = Quantities::of(&bundles[i]);
            prop_assert!(total.contains(&part));
            prop_assert_eq!(total.checked_minus(&part), Some(rest.clone()));
            prop_assert_eq!(rest.plus(&part), total);
        }

        /// Taking a bundle in place is taking its quantities: the same
        /// rest, or the same refusal with nothing changed.
        #[test]
        fn taking_a_bundle_is_taking_its_quantities(
            mut bundles in prop::collection::vec(arb_resources(), 0..4),
            part in arb_resources(),
            held in any::<bool>(),
        ) {
            if held {
                bundles.push(part.clone());
            }
            let sum = bundles.iter().fold(Quantities::empty(), |mut q, b| { q.add(b); q });
            let (mut by_bundle, mut by_sum) = (sum.clone(), sum.clone());
            let took = by_bundle.take_bundle(&part);
            prop_assert_eq!(took, by_sum.take_quantities(&Quantities::of(&part)));
            prop_assert!(took || !held);
            prop_assert_eq!(&by_bundle, &by_sum);
            if !took {
                prop_assert_eq!(&by_bundle, &sum);
            }
        }

        /// Within one agent (disjoint bundles) quantities follow the bundle:
        /// the quantity of a union is the sum of the quantities.
        #[test]
        fn quantities_of_disjoint_bundles_add((a, b) in arb_disjoint_pair()) {
            prop_assert_eq!(Quantities::of(&a.plus(&b)), Quantities::of(&a).plus(&Quantities::of(&b)));
        }
    }
}
