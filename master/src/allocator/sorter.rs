//! The ordering policy behind the allocator: which client (a role, or a
//! framework within a role) is the most under-served.
//!
//! The allocator keeps one sorter over roles and one per role over its
//! frameworks (Mesos's `Sorter`, with its `DRFSorter` as the first policy).
//! A sorter does not re-sort on demand: it keeps its active clients in an
//! ordered set keyed by (share, client) and moves one client per allocation
//! change, so each update is O(log n) and reading the order is a walk of the
//! set. The set holds each client's label, an integer in the order of its
//! [`ClientKey`] (`labels.rs`), so moving a client compares no names.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use corral_api::resources::{Quantities, Resources};

use super::labels::{Labelled, Labels};

/// A client of a sorter: its name and the allocator's slot for it.
///
/// Ordered by name, then slot; so among equal shares the lower name comes
/// first. The slot is the allocator's handle for the client and is unique
/// among a sorter's live clients.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientKey {
    /// The role name or framework id.
    pub name: Arc<str>,
    /// The allocator's slot for this client.
    pub slot: u32,
}

/// An ordering policy over clients that hold resources.
///
/// Clients are added inactive with nothing allocated; only active clients
/// appear in [`Sorter::order`]. Every method that can move a client takes
/// the cluster's `total`, against which shares are measured; when the total
/// changes, the caller calls [`Sorter::refresh`] before reading the order.
/// Allocations change by one agent's bundle at a time and add up to
/// [`Quantities`]: a client holds resources on many agents, whose ranges and
/// sets are different things even when they look alike.
/// Naming a slot that is not a live client is a programmer error (panic).
pub trait Sorter: Default + fmt::Debug {
    /// Adds an inactive client with nothing allocated. `weight` > 0.
    fn add(&mut self, client: ClientKey, weight: f64, total: &Quantities);
    /// Removes a client and returns what it held.
    fn remove(&mut self, slot: u32) -> Quantities;
    /// Whether the client takes part in [`Sorter::order`].
    fn set_active(&mut self, slot: u32, active: bool);
    /// Changes a client's weight (> 0).
    fn set_weight(&mut self, slot: u32, weight: f64, total: &Quantities);
    /// The client now holds `resources`, a bundle of one agent's, more.
    fn allocated(&mut self, slot: u32, resources: &Resources, total: &Quantities);
    /// The client gives `resources`, a bundle of one agent's, back; it must
    /// hold them.
    fn unallocated(&mut self, slot: u32, resources: &Resources, total: &Quantities);
    /// What the client holds.
    fn allocation(&self, slot: u32) -> &Quantities;
    /// Re-measures every client against a changed `total`.
    fn refresh(&mut self, total: &Quantities);
    /// Active clients, most under-served first.
    fn order(&self) -> impl Iterator<Item = &ClientKey>;
    /// Whether any client is active.
    fn has_active(&self) -> bool;
}

/// Weighted Dominant Resource Fairness: clients ordered by
/// `dominant_share / weight`, then by [`ClientKey`].
///
/// Clients live in a vector indexed by slot, so slots should be dense, as
/// the allocator's are.
#[derive(Debug, Default)]
pub struct DrfSorter {
    clients: Vec<Option<Client>>,
    labels: Labels<ClientKey>,
    /// Active clients as (ordered share, label, slot): in the order of
    /// (share, [`ClientKey`]).
    active: BTreeSet<(u64, u64, u32)>,
}

#[derive(Debug)]
struct Client {
    key: ClientKey,
    weight: f64,
    allocation: Quantities,
    /// The client's place in `active` (valid also while inactive).
    share: u64,
    /// Its key's label ([`Labels`]).
    label: u64,
    active: bool,
}

/// `dominant_share / weight` as an integer with the same order: for
/// non-negative floats the IEEE-754 bit pattern increases with the value.
fn share_key(allocation: &Quantities, total: &Quantities, weight: f64) -> u64 {
    let share = allocation.dominant_share(total) / weight;
    debug_assert!(share >= 0.0 && !share.is_nan(), "share {share}");
    // `+ 0.0` turns a -0.0 into +0.0 so equal shares get equal keys.
    (share + 0.0).to_bits()
}

impl DrfSorter {
    fn client(&mut self, slot: u32) -> &mut Client {
        self.clients
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .unwrap_or_else(|| panic!("sorter: no client in slot {slot}"))
    }

    /// Moves `slot` to its place for its current allocation and weight.
    fn reorder(&mut self, slot: u32, total: &Quantities) {
        let c = self
            .clients
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .unwrap_or_else(|| panic!("sorter: no client in slot {slot}"));
        let share = share_key(&c.allocation, total, c.weight);
        if share == c.share {
            return;
        }
        if c.active {
            let was = self.active.remove(&(c.share, c.label, slot));
            debug_assert!(was, "active client missing from the order");
            self.active.insert((share, c.label, slot));
        }
        c.share = share;
    }

    /// Gives every client its label afresh and rebuilds the order with
    /// them.
    fn relabel(&mut self) {
        for (key, label) in self.labels.iter() {
            if let Some(c) = self.clients[key.slot as usize].as_mut() {
                c.label = label;
            }
        }
        self.active = self
            .clients
            .iter()
            .flatten()
            .filter(|c| c.active)
            .map(|c| (c.share, c.label, c.key.slot))
            .collect();
    }

    fn key(&self, slot: u32) -> &ClientKey {
        &self.clients[slot as usize]
            .as_ref()
            .expect("clients in the order are live")
            .key
    }
}

impl Sorter for DrfSorter {
    fn add(&mut self, client: ClientKey, weight: f64, total: &Quantities) {
        assert!(weight.is_finite() && weight > 0.0, "weight {weight}");
        let slot = client.slot as usize;
        if self.clients.len() <= slot {
            self.clients.resize_with(slot + 1, || None);
        }
        assert!(
            self.clients[slot].is_none(),
            "sorter: slot {slot} added twice"
        );
        let labelled = self.labels.insert(client.clone());
        let allocation = Quantities::empty();
        let share = share_key(&allocation, total, weight);
        self.clients[slot] = Some(Client {
            key: client,
            weight,
            allocation,
            share,
            label: 0,
            active: false,
        });
        match labelled {
            Labelled::Fits(label) => self.client(slot as u32).label = label,
            Labelled::Relabelled => self.relabel(),
        }
    }

    fn remove(&mut self, slot: u32) -> Quantities {
        self.set_active(slot, false);
        let c = self.clients[slot as usize]
            .take()
            .expect("checked by set_active");
        self.labels.remove(&c.key);
        c.allocation
    }

    fn set_active(&mut self, slot: u32, active: bool) {
        let c = self.client(slot);
        if c.active == active {
            return;
        }
        c.active = active;
        let entry = (c.share, c.label, slot);
        if active {
            self.active.insert(entry);
        } else {
            self.active.remove(&entry);
        }
    }

    fn set_weight(&mut self, slot: u32, weight: f64, total: &Quantities) {
        assert!(weight.is_finite() && weight > 0.0, "weight {weight}");
        self.client(slot).weight = weight;
        self.reorder(slot, total);
    }

    fn allocated(&mut self, slot: u32, resources: &Resources, total: &Quantities) {
        self.client(slot).allocation.add(resources);
        self.reorder(slot, total);
    }

    fn unallocated(&mut self, slot: u32, resources: &Resources, total: &Quantities) {
        let c = self.client(slot);
        if !c.allocation.take_bundle(resources) {
            panic!("sorter: {} gives back more than it holds", c.key.name);
        }
        self.reorder(slot, total);
    }

    fn allocation(&self, slot: u32) -> &Quantities {
        &self
            .clients
            .get(slot as usize)
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("sorter: no client in slot {slot}"))
            .allocation
    }

    fn refresh(&mut self, total: &Quantities) {
        // Each client's new place depends only on its own allocation, so the
        // order of this walk does not matter.
        for slot in 0..self.clients.len() {
            if self.clients[slot].is_some() {
                self.reorder(slot as u32, total);
            }
        }
    }

    fn order(&self) -> impl Iterator<Item = &ClientKey> {
        self.active.iter().map(|&(_, _, slot)| self.key(slot))
    }

    fn has_active(&self) -> bool {
        !self.active.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use corral_api::resources::strategies::cpus_mem;

    fn r(cpus: f64, mem_mb: f64) -> Resources {
        cpus_mem(cpus, mem_mb)
    }

    fn q(cpus: f64, mem_mb: f64) -> Quantities {
        Quantities::of(&r(cpus, mem_mb))
    }

    fn key(name: &str, slot: u32) -> ClientKey {
        ClientKey {
            name: name.into(),
            slot,
        }
    }

    fn names(s: &DrfSorter) -> Vec<String> {
        s.order().map(|k| k.name.to_string()).collect()
    }

    #[test]
    fn orders_by_weighted_dominant_share_then_name() {
        let total = q(10.0, 100.0);
        let mut s = DrfSorter::default();
        for (i, n) in ["c", "a", "b"].into_iter().enumerate() {
            s.add(key(n, i as u32), 1.0, &total);
            s.set_active(i as u32, true);
        }
        assert_eq!(names(&s), ["a", "b", "c"]);
        s.allocated(1, &r(2.0, 0.0), &total); // a: 0.2
        s.allocated(2, &r(0.0, 10.0), &total); // b: 0.1
        assert_eq!(names(&s), ["c", "b", "a"]);
        s.set_weight(1, 4.0, &total); // a: 0.05
        assert_eq!(names(&s), ["c", "a", "b"]);
        s.set_active(0, false);
        assert_eq!(names(&s), ["a", "b"]);
        s.unallocated(2, &r(0.0, 10.0), &total);
        assert_eq!(names(&s), ["b", "a"]);
        assert_eq!(s.remove(1), q(2.0, 0.0));
        assert_eq!(names(&s), ["b"]);
    }

    #[test]
    fn refresh_follows_a_changed_total() {
        let mut s = DrfSorter::default();
        let total = q(10.0, 100.0);
        s.add(key("cpu-heavy", 0), 1.0, &total);
        s.add(key("mem-heavy", 1), 1.0, &total);
        s.set_active(0, true);
        s.set_active(1, true);
        s.allocated(0, &r(5.0, 0.0), &total); // 0.5
        s.allocated(1, &r(0.0, 40.0), &total); // 0.4
        assert_eq!(names(&s), ["mem-heavy", "cpu-heavy"]);
        let bigger = q(20.0, 100.0); // cpu-heavy drops to 0.25
        s.refresh(&bigger);
        assert_eq!(names(&s), ["cpu-heavy", "mem-heavy"]);
    }
}

#[cfg(test)]
mod model_tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    use corral_api::resources::strategies::cpus_mem;

    #[derive(Clone, Debug)]
    enum Op {
        Add(u8),
        Remove(u8),
        Activate(u8, bool),
        Allocate(u8, u8),
        Unallocate(u8, u8),
        Weight(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let c = 0u8..12;
        prop_oneof![
            c.clone().prop_map(Op::Add),
            c.clone().prop_map(Op::Remove),
            (c.clone(), any::<bool>()).prop_map(|(c, on)| Op::Activate(c, on)),
            (c.clone(), 1u8..8).prop_map(|(c, n)| Op::Allocate(c, n)),
            (c.clone(), 1u8..8).prop_map(|(c, n)| Op::Unallocate(c, n)),
            (c, 1u8..4).prop_map(|(c, w)| Op::Weight(c, w)),
        ]
    }

    /// A client in the model: name, weight, cpus held, active.
    type Naive = (String, f64, u8, bool);

    /// Names that squeeze between each other (prefixes of one another) and
    /// do not follow slot order, so ties and relabels both happen.
    fn name(c: u8) -> String {
        format!("f{}", "0".repeat(usize::from(12 - c)))
    }

    proptest! {
        /// The sorter's order is a full sort of the active clients by
        /// (weighted share, name, slot), whatever happened before.
        #[test]
        fn order_is_a_full_sort(ops in prop::collection::vec(op(), 1..150)) {
            let total = Quantities::of(&cpus_mem(64.0, 1024.0));
            let mut s = DrfSorter::default();
            let mut m: BTreeMap<u8, Naive> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Add(c) if !m.contains_key(&c) => {
                        let k = ClientKey { name: name(c).into(), slot: u32::from(c) };
                        s.add(k, 1.0, &total);
                        m.insert(c, (name(c), 1.0, 0, false));
                    }
                    Op::Remove(c) if m.remove(&c).is_some() => {
                        s.remove(u32::from(c));
                    }
                    Op::Activate(c, on) if m.contains_key(&c) => {
                        s.set_active(u32::from(c), on);
                        m.entry(c).and_modify(|x| x.3 = on);
                    }
                    Op::Allocate(c, n) if m.contains_key(&c) => {
                        s.allocated(u32::from(c), &cpus_mem(f64::from(n), 0.0), &total);
                        m.entry(c).and_modify(|x| x.2 += n);
                    }
                    Op::Unallocate(c, n) if m.get(&c).is_some_and(|x| x.2 >= n) => {
                        s.unallocated(u32::from(c), &cpus_mem(f64::from(n), 0.0), &total);
                        m.entry(c).and_modify(|x| x.2 -= n);
                    }
                    Op::Weight(c, w) if m.contains_key(&c) => {
                        s.set_weight(u32::from(c), f64::from(w), &total);
                        m.entry(c).and_modify(|x| x.1 = f64::from(w));
                    }
                    _ => {}
                }
                let mut expect: Vec<(u64, String, u32)> = m
                    .iter()
                    .filter(|(_, x)| x.3)
                    .map(|(&c, x)| {
                        let share = (f64::from(x.2) / 64.0 / x.1 + 0.0).to_bits();
                        (share, x.0.clone(), u32::from(c))
                    })
                    .collect();
                expect.sort();
                let got: Vec<u32> = s.order().map(|k| k.slot).collect();
                let want: Vec<u32> = expect.iter().map(|e| e.2).collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
