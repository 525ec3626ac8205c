//! What each framework holds on one agent.

use std::iter::Map;
use std::slice;

use corral_api::resources::Resources;

/// Framework slot → what it holds on the agent, for the few frameworks
/// that hold something there. A vector sorted by slot rather than a map:
/// an agent is held by one framework or a handful, every pass adds and
/// removes entries, and an emptied vector keeps its room, so a steady state
/// allocates nothing here. Walked in slot order, as a `BTreeMap` would be.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    entries: Vec<(u32, Resources)>,
}

impl Holdings {
    /// What framework `fw` holds here, if anything.
    pub(crate) fn get(&self, fw: &u32) -> Option<&Resources> {
        let i = self.position(*fw).ok()?;
        Some(&self.entries[i].1)
    }

    /// Whether framework `fw` holds something here.
    #[cfg(test)]
    pub(crate) fn contains_key(&self, fw: &u32) -> bool {
        self.position(*fw).is_ok()
    }

    /// Framework `fw` now also holds `resources`.
    pub(crate) fn add(&mut self, fw: u32, resources: &Resources) {
        match self.position(fw) {
            Ok(i) => {
                let held = &mut self.entries[i].1;
                *held = held.plus(resources);
            }
            Err(i) => self.entries.insert(i, (fw, resources.clone())),
        }
    }

    /// Framework `fw` now holds exactly `resources`.
    pub(crate) fn insert(&mut self, fw: u32, resources: Resources) {
        match self.position(fw) {
            Ok(i) => self.entries[i].1 = resources,
            Err(i) => self.entries.insert(i, (fw, resources)),
        }
    }

    /// Framework `fw` no longer holds anything here; returns what it held.
    pub(crate) fn remove(&mut self, fw: &u32) -> Option<Resources> {
        let i = self.position(*fw).ok()?;
        Some(self.entries.remove(i).1)
    }

    fn position(&self, fw: u32) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&fw, |e| e.0)
    }
}

type Entries<'a> =
    Map<slice::Iter<'a, (u32, Resources)>, fn(&(u32, Resources)) -> (&u32, &Resources)>;

impl<'a> IntoIterator for &'a Holdings {
    type Item = (&'a u32, &'a Resources);
    type IntoIter = Entries<'a>;

    /// Each framework slot with what it holds, in slot order.
    fn into_iter(self) -> Entries<'a> {
        self.entries.iter().map(|(fw, held)| (fw, held))
    }
}
