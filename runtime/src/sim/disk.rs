//! The simulated disk: what a node wrote survives its crash only if synced.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

use crate::storage::{Rows, Storage, StorageError};

/// A node's disk contents; owned by the simulator so it outlives crashes.
#[derive(Debug)]
pub(crate) struct DiskState {
    durable: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Writes since the last sync: a value, or None for a delete.
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Probability that a put, delete or sync fails.
    fail_probability: f64,
    rng: ChaCha12Rng,
}

impl DiskState {
    pub(crate) fn new(seed: u64) -> DiskState {
        DiskState {
            durable: BTreeMap::new(),
            pending: BTreeMap::new(),
            fail_probability: 0.0,
            rng: ChaCha12Rng::seed_from_u64(seed),
        }
    }

    /// The node crashed: unsynced writes are gone.
    pub(crate) fn crash(&mut self) -> usize {
        let lost = self.pending.len();
        self.pending.clear();
        lost
    }

    pub(crate) fn set_fail_probability(&mut self, p: f64) {
        self.fail_probability = p.clamp(0.0, 1.0);
    }

    /// Entries that would survive a crash now.
    pub(crate) fn durable_len(&self) -> usize {
        self.durable.len()
    }

    fn fails(&mut self) -> bool {
        self.fail_probability > 0.0 && self.rng.random_bool(self.fail_probability)
    }
}

/// A kernel's handle on its node's disk.
pub(crate) struct SimDisk(pub(crate) Rc<RefCell<DiskState>>);

impl Storage for SimDisk {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let d = self.0.borrow();
        Ok(match d.pending.get(key) {
            Some(v) => v.clone(),
            None => d.durable.get(key).cloned(),
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let mut d = self.0.borrow_mut();
        if d.fails() {
            return Err(StorageError::Injected);
        }
        d.pending.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        let mut d = self.0.borrow_mut();
        if d.fails() {
            return Err(StorageError::Injected);
        }
        d.pending.insert(key.to_vec(), None);
        Ok(())
    }

    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        let d = self.0.borrow();
        let in_range = |k: &Vec<u8>| k.starts_with(prefix);
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = d
            .durable
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| in_range(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in d
            .pending
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| in_range(k))
        {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        let mut d = self.0.borrow_mut();
        // A failed sync leaves the writes pending: like fsync, nothing is
        // promised about them until a later sync succeeds.
        if d.fails() {
            return Err(StorageError::Injected);
        }
        let pending = std::mem::take(&mut d.pending);
        for (k, v) in pending {
            match v {
                Some(v) => d.durable.insert(k, v),
                None => d.durable.remove(&k),
            };
        }
        Ok(())
    }
}
