//! Dense slots for the allocator's agents, frameworks and roles, so the hot
//! path indexes by `u32` instead of looking strings up.

use std::ops::{Index, IndexMut};

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
