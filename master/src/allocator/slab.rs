//! Dense slots for the allocator's agents, frameworks and roles, so the hot
//! path indexes by `u32` instead of looking strings up.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::{Index, IndexMut};

/// A set of slots: adding and removing are O(1), and an emptied set keeps
/// its room. Its iteration order follows the hash, so callers that walk it
/// sort first when the order could matter.
pub(crate) type SlotSet = HashSet<u32, BuildHasherDefault<SlotHasher>>;

/// Hashes a slot with one multiplication (Fibonacci hashing): slots are
/// small consecutive numbers, and the product spreads them over both the
/// low bits (the bucket) and the high bits (the tag) a hash table uses. No
/// random keys, so runs repeat exactly; slots come from this process.
#[derive(Default)]
pub(crate) struct SlotHasher(u64);

const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(FIBONACCI);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(FIBONACCI);
    }
}

/// A vector of slots; freed slots are reused, last freed first.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores the value `make` builds from its slot number; returns the slot.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(u32) -> T) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.items.len()).expect("fewer than 2^32 slots");
                self.items.push(None);
                slot
            }
        };
        self.items[slot as usize] = Some(make(slot));
        slot
    }

    /// Empties `slot` and returns what it held.
    pub(crate) fn remove(&mut self, slot: u32) -> T {
        let item = self.items[slot as usize]
            .take()
            .unwrap_or_else(|| panic!("slab: slot {slot} is vacant"));
        self.free.push(slot);
        item
    }

    /// Every occupied slot's value, in slot order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut().flatten()
    }

    /// Every occupied slot and its value, in slot order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i as u32, t.as_ref()?)))
    }
}

impl<T> Index<u32> for Slab<T> {
    type Output = T;

    fn index(&self, slot: u32) -> &T {
        self.items[slot as usize]
            .as_ref()
            .unwrap_or_else(|| panic!("slab: slot {slot} is vacant"))
    }
}

impl<T> IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, slot: u32) -> &mut T {
        self.items[slot as usize]
            .as_mut()
            .unwrap_or_else(|| panic!("slab: slot {slot} is vacant"))
    }
}
