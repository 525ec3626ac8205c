//! The ordering policy behind the allocator: which client (a role, or a
//! framework within a role) is the most under-served.
//!
//! The allocator keeps one sorter over roles and one per role over its
//! frameworks (Mesos's `Sorter`, with its `DRFSorter` as the first policy).
//! A sorter does not re-sort on demand: it keeps its active clients in an
//! ordered set keyed by (share, client) and moves one client per allocation
//! change, so each update is O(log n) and reading the order is a walk of the
//! set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use corral_api::resources::Quantities;

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
/// Allocations are [`Quantities`]: a client holds resources on many agents,
/// whose ranges and sets are different things even when they look alike.
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
    /// The client now holds `resources` more.
    fn allocated(&mut self, slot: u32, resources: &Quantities, total: &Quantities);
    /// The client gives `resources` back; it must hold them.
    fn unallocated(&mut self, slot: u32, resources: &Quantities, total: &Quantities);
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
#[derive(Debug, Default)]
pub struct DrfSorter {
    clients: BTreeMap<u32, Client>,
    /// Active clients keyed by (ordered share, client).
    active: BTreeSet<(u64, ClientKey)>,
}

#[derive(Debug)]
struct Client {
    key: ClientKey,
    weight: f64,
    allocation: Quantities,
    /// The client's place in `active` (valid also while inactive).
    share: u64,
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
            .get_mut(&slot)
            .unwrap_or_else(|| panic!("sorter: no client in slot {slot}"))
    }

    /// Moves `slot` to its place for its current allocation and weight.
    fn reorder(&mut self, slot: u32, total: &Quantities) {
        let c = self
            .clients
            .get_mut(&slot)
            .unwrap_or_else(|| panic!("sorter: no client in slot {slot}"));
        let share = share_key(&c.allocation, total, c.weight);
        if share == c.share {
            return;
        }
        if c.active {
            let was = self.active.remove(&(c.share, c.key.clone()));
            debug_assert!(was, "active client missing from the order");
            self.active.insert((share, c.key.clone()));
        }
        c.share = share;
    }
}

impl Sorter for DrfSorter {
    fn add(&mut self, client: ClientKey, weight: f64, total: &Quantities) {
        assert!(weight.is_finite() && weight > 0.0, "weight {weight}");
        let slot = client.slot;
        let allocation = Quantities::empty();
        let share = share_key(&allocation, total, weight);
        let c = Client {
            key: client,
            weight,
            allocation,
            share,
            active: false,
        };
        let old = self.clients.insert(slot, c);
        assert!(old.is_none(), "sorter: slot {slot} added twice");
    }

    fn remove(&mut self, slot: u32) -> Quantities {
        self.set_active(slot, false);
        let c = self.clients.remove(&slot).expect("checked by set_active");
        c.allocation
    }

    fn set_active(&mut self, slot: u32, active: bool) {
        let c = self.client(slot);
        if c.active == active {
            return;
        }
        c.active = active;
        let entry = (c.share, c.key.clone());
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

    fn allocated(&mut self, slot: u32, resources: &Quantities, total: &Quantities) {
        let c = self.client(slot);
        c.allocation = c.allocation.plus(resources);
        self.reorder(slot, total);
    }

    fn unallocated(&mut self, slot: u32, resources: &Quantities, total: &Quantities) {
        let c = self.client(slot);
        c.allocation = c
            .allocation
            .checked_minus(resources)
            .unwrap_or_else(|| panic!("sorter: {} gives back more than it holds", c.key.name));
        self.reorder(slot, total);
    }

    fn allocation(&self, slot: u32) -> &Quantities {
        &self
            .clients
            .get(&slot)
            .unwrap_or_else(|| panic!("sorter: no client in slot {slot}"))
            .allocation
    }

    fn refresh(&mut self, total: &Quantities) {
        // Each client's new place depends only on its own allocation, so the
        // order of this walk does not matter.
        let slots: Vec<u32> = self.clients.keys().copied().collect();
        for slot in slots {
            self.reorder(slot, total);
        }
    }

    fn order(&self) -> impl Iterator<Item = &ClientKey> {
        self.active.iter().map(|(_, k)| k)
    }

    fn has_active(&self) -> bool {
        !self.active.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use corral_api::resources::strategies::cpus_mem;

    fn r(cpus: f64, mem_mb: f64) -> Quantities {
        Quantities::of(&cpus_mem(cpus, mem_mb))
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
        let total = r(10.0, 100.0);
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
        assert_eq!(s.remove(1), r(2.0, 0.0));
        assert_eq!(names(&s), ["b"]);
    }

    #[test]
    fn refresh_follows_a_changed_total() {
        let mut s = DrfSorter::default();
        let total = r(10.0, 100.0);
        s.add(key("cpu-heavy", 0), 1.0, &total);
        s.add(key("mem-heavy", 1), 1.0, &total);
        s.set_active(0, true);
        s.set_active(1, true);
        s.allocated(0, &r(5.0, 0.0), &total); // 0.5
        s.allocated(1, &r(0.0, 40.0), &total); // 0.4
        assert_eq!(names(&s), ["mem-heavy", "cpu-heavy"]);
        let bigger = r(20.0, 100.0); // cpu-heavy drops to 0.25
        s.refresh(&bigger);
        assert_eq!(names(&s), ["cpu-heavy", "mem-heavy"]);
    }
}
