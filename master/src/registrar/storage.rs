//! The Raft log as raft-rs reads it, kept in memory and persisted through
//! a [`Disk`] (the actor's `ctx.store()`).
//!
//! raft-rs reads through [`raft::Storage`] (`&self`); the registrar writes
//! through [`LogStore::append`], [`LogStore::set_hard_state`] and
//! [`LogStore::set_commit`], each of which updates memory and puts the
//! change on the disk; the caller syncs before it sends any message that
//! depends on the writes (see [`super::ready`]). On restart,
//! [`LogStore::load`] reads everything back.
//!
//! Keys: `hs` (hard state), `cs` (conf state), `e/` + big-endian index
//! (one entry each, protobuf). Snapshots are not implemented: the log is
//! never compacted, so the first index is always 1 and raft-rs never needs
//! to send one.

use corral_runtime::storage::Rows;
use corral_runtime::{MemStorage, StorageError, Store};
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState};

use super::error::RegistrarError;

const HARD_STATE: &[u8] = b"hs";
const CONF_STATE: &[u8] = b"cs";
const ENTRY_PREFIX: &[u8] = b"e/";

/// Where the log is persisted: the small subset of a key-value store the
/// registrar needs. Writes are durable only after [`Disk::sync`].
pub trait Disk {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Sets `key` to `value`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError>;
    /// Removes `key`.
    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError>;
    /// Every (key, value) under `prefix`, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError>;
    /// Makes the writes so far durable.
    fn sync(&mut self) -> Result<(), StorageError>;
}

impl Disk for Store<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Store::get(self, key)
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        Store::put(self, key, value)
    }
    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        Store::delete(self, key)
    }
    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        Store::scan(self, prefix)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        Store::sync(self)
    }
}

impl Disk for MemStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        corral_runtime::Storage::get(self, key)
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        corral_runtime::Storage::put(self, key, value)
    }
    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        corral_runtime::Storage::delete(self, key)
    }
    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        corral_runtime::Storage::scan(self, prefix)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        corral_runtime::Storage::sync(self)
    }
}

fn entry_key(index: u64) -> Vec<u8> {
    let mut k = ENTRY_PREFIX.to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn encode<M: protobuf::Message>(m: &M) -> Result<Vec<u8>, RegistrarError> {
    m.write_to_bytes()
        .map_err(|e| RegistrarError::Codec(e.to_string()))
}

fn decode<M: protobuf::Message>(bytes: &[u8]) -> Result<M, RegistrarError> {
    M::parse_from_bytes(bytes).map_err(|e| RegistrarError::Codec(e.to_string()))
}

/// The in-memory log raft-rs reads; `entries[i].index == i + 1`.
#[derive(Debug, Clone, Default)]
pub struct LogStore {
    hard: HardState,
    conf: ConfState,
    entries: Vec<Entry>,
}

impl LogStore {
    /// Loads the log from `disk`; a disk with no log gets a fresh one whose
    /// voters are `voters` (written, not yet synced).
    pub fn load(disk: &mut dyn Disk, voters: &[u64]) -> Result<LogStore, RegistrarError> {
        let hard = match disk.get(HARD_STATE)? {
            Some(b) => decode(&b)?,
            None => HardState::default(),
        };
        let conf = match disk.get(CONF_STATE)? {
            Some(b) => decode(&b)?,
            None => {
                let cs = ConfState {
                    voters: voters.to_vec(),
                    ..ConfState::default()
                };
                disk.put(CONF_STATE, &encode(&cs)?)?;
                cs
            }
        };
        let mut entries = Vec::new();
        for (key, value) in disk.scan(ENTRY_PREFIX)? {
            let e: Entry = decode(&value)?;
            let expected = entries.len() as u64 + 1;
            if key != entry_key(e.index) || e.index != expected {
                return Err(RegistrarError::Codec(format!(
                    "log has a gap or a misplaced entry: found {} where {expected} belongs",
                    e.index
                )));
            }
            entries.push(e);
        }
        if hard.commit > entries.len() as u64 {
            return Err(RegistrarError::Codec(format!(
                "commit index {} is past the last entry {}",
                hard.commit,
                entries.len()
            )));
        }
        Ok(LogStore {
            hard,
            conf,
            entries,
        })
    }

    /// Appends `ents` (contiguous), replacing any conflicting suffix, in
    /// memory and on `disk` (not synced).
    pub fn append(&mut self, disk: &mut dyn Disk, ents: &[Entry]) -> Result<(), RegistrarError> {
        let Some(first) = ents.first() else {
            return Ok(());
        };
        let last_old = self.entries.len() as u64;
        if first.index == 0 || first.index > last_old + 1 {
            return Err(RegistrarError::Raft(format!(
                "append at {} leaves a gap after {last_old}",
                first.index
            )));
        }
        self.entries.truncate(first.index as usize - 1);
        self.entries.extend_from_slice(ents);
        let last_new = self.entries.len() as u64;
        for e in ents {
            disk.put(&entry_key(e.index), &encode(e)?)?;
        }
        for stale in last_new + 1..=last_old {
            disk.delete(&entry_key(stale))?;
        }
        Ok(())
    }

    /// Replaces the hard state (term, vote, commit), in memory and on disk.
    pub fn set_hard_state(
        &mut self,
        disk: &mut dyn Disk,
        hs: &HardState,
    ) -> Result<(), RegistrarError> {
        disk.put(HARD_STATE, &encode(hs)?)?;
        self.hard = hs.clone();
        Ok(())
    }

    /// Advances the commit index (from a `LightReady`), in memory and on disk.
    pub fn set_commit(&mut self, disk: &mut dyn Disk, commit: u64) -> Result<(), RegistrarError> {
        let mut hs = self.hard.clone();
        hs.commit = commit;
        self.set_hard_state(disk, &hs)
    }

    /// The hard state now.
    pub fn hard_state(&self) -> &HardState {
        &self.hard
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn last(&self) -> u64 {
        self.entries.len() as u64
    }
}

impl raft::Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard.clone(), self.conf.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low == 0 {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(raft::Error::Store(raft::StorageError::Unavailable));
        }
        let mut ents = self.entries[(low - 1) as usize..(high - 1) as usize].to_vec();
        raft::util::limit_size(&mut ents, max_size.into());
        Ok(ents)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == 0 {
            return Ok(0);
        }
        match self.entries.get((idx - 1) as usize) {
            Some(e) => Ok(e.term),
            None => Err(raft::Error::Store(raft::StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // Never compacted, so never asked for; say so rather than invent one.
        Err(raft::Error::Store(
            raft::StorageError::SnapshotTemporarilyUnavailable,
        ))
    }
}

#[cfg(test)]
mod tests {
    use raft::Storage as _;

    use super::*;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry {
            index,
            term,
            data: data.to_vec().into(),
            ..Entry::default()
        }
    }

    #[test]
    fn a_restart_reloads_entries_hard_state_and_voters() {
        let mut disk = MemStorage::default();
        let mut log = LogStore::load(&mut disk, &[1, 2, 3]).unwrap();
        log.append(&mut disk, &[entry(1, 1, b"a"), entry(2, 1, b"b")])
            .unwrap();
        let hs = HardState {
            term: 1,
            vote: 2,
            commit: 2,
            ..HardState::default()
        };
        log.set_hard_state(&mut disk, &hs).unwrap();
        let back = LogStore::load(&mut disk, &[9]).unwrap();
        let st = back.initial_state().unwrap();
        assert_eq!(st.hard_state, hs);
        assert_eq!(st.conf_state.voters, vec![1, 2, 3]);
        assert_eq!(back.last_index().unwrap(), 2);
        assert_eq!(back.term(2).unwrap(), 1);
        let got = back.entries(1, 3, None, GetEntriesContext::empty(false));
        assert_eq!(got.unwrap()[1].data.as_ref(), b"b");
    }

    #[test]
    fn a_conflicting_append_replaces_the_suffix_on_disk_too() {
        let mut disk = MemStorage::default();
        let mut log = LogStore::load(&mut disk, &[1]).unwrap();
        let old: Vec<Entry> = (1..=4).map(|i| entry(i, 1, b"old")).collect();
        log.append(&mut disk, &old).unwrap();
        log.append(&mut disk, &[entry(2, 2, b"new")]).unwrap();
        let back = LogStore::load(&mut disk, &[1]).unwrap();
        assert_eq!(back.last_index().unwrap(), 2);
        assert_eq!(back.term(2).unwrap(), 2);
        assert!(back.term(3).is_err());
    }

    #[test]
    fn an_append_past_the_end_is_refused() {
        let mut disk = MemStorage::default();
        let mut log = LogStore::load(&mut disk, &[1]).unwrap();
        assert!(log.append(&mut disk, &[entry(3, 1, b"x")]).is_err());
        assert!(log.is_empty());
    }

    #[test]
    fn a_corrupt_disk_is_an_error_not_a_panic() {
        let mut disk = MemStorage::default();
        Disk::put(&mut disk, HARD_STATE, &[0xff, 0xff]).unwrap();
        assert!(LogStore::load(&mut disk, &[1]).is_err());
        let mut disk = MemStorage::default();
        Disk::put(
            &mut disk,
            &entry_key(2),
            &encode(&entry(2, 1, b"")).unwrap(),
        )
        .unwrap();
        assert!(LogStore::load(&mut disk, &[1]).is_err(), "gap at 1");
    }
}
