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
//! Keys: `hs` (hard state), `cs` (conf state), `sn` (the latest snapshot:
//! the registry as of an applied index, with that index's term), `e/` +
//! big-endian index (one entry each, protobuf). [`LogStore::compact`]
//! replaces the applied prefix of the log by a snapshot, so the log stays
//! short; a member that falls behind the leader's snapshot gets the
//! snapshot instead of entries ([`LogStore::apply_snapshot`]).

use corral_runtime::storage::Rows;
use corral_runtime::{MemStorage, StorageError, Store};
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState};

use super::error::RegistrarError;

const HARD_STATE: &[u8] = b"hs";
const CONF_STATE: &[u8] = b"cs";
const SNAPSHOT: &[u8] = b"sn";
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
    /// The latest snapshot (index 0: none); `entries` follow its index.
    snap: Snapshot,
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
        let snap: Snapshot = match disk.get(SNAPSHOT)? {
            Some(b) => decode(&b)?,
            None => Snapshot::default(),
        };
        let base = snap.get_metadata().index;
        let mut entries = Vec::new();
        for (key, value) in disk.scan(ENTRY_PREFIX)? {
            let e: Entry = decode(&value)?;
            if e.index <= base && key == entry_key(e.index) {
                // Left by a compaction cut short; the snapshot covers it.
                continue;
            }
            let expected = base + entries.len() as u64 + 1;
            if key != entry_key(e.index) || e.index != expected {
                return Err(RegistrarError::Codec(format!(
                    "log has a gap or a misplaced entry: found {} where {expected} belongs",
                    e.index
                )));
            }
            entries.push(e);
        }
        let last = base + entries.len() as u64;
        if hard.commit > last {
            return Err(RegistrarError::Codec(format!(
                "commit index {} is past the last entry {last}",
                hard.commit
            )));
        }
        Ok(LogStore {
            hard,
            conf,
            snap,
            entries,
        })
    }

    /// Appends `ents` (contiguous), replacing any conflicting suffix, in
    /// memory and on `disk` (not synced).
    pub fn append(&mut self, disk: &mut dyn Disk, ents: &[Entry]) -> Result<(), RegistrarError> {
        let Some(first) = ents.first() else {
            return Ok(());
        };
        let base = self.base();
        let last_old = self.last();
        if first.index <= base || first.index > last_old + 1 {
            return Err(RegistrarError::Raft(format!(
                "append at {} is outside ({base}, {}]",
                first.index,
                last_old + 1
            )));
        }
        self.entries.truncate((first.index - base - 1) as usize);
        self.entries.extend_from_slice(ents);
        let last_new = self.last();
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

    /// Entries held (after the snapshot).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry follows the snapshot.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The latest snapshot (its index is 0 when there is none).
    pub fn snapshot_now(&self) -> &Snapshot {
        &self.snap
    }

    /// Replaces the log up to `index` (applied, hence committed) by a
    /// snapshot holding `data`, the state machine as of `index`; writes
    /// the snapshot before it deletes the entries, and syncs.
    pub fn compact(
        &mut self,
        disk: &mut dyn Disk,
        index: u64,
        data: Vec<u8>,
    ) -> Result<(), RegistrarError> {
        let base = self.base();
        if index <= base || index > self.hard.commit {
            return Err(RegistrarError::Raft(format!(
                "cannot compact to {index}: the log holds ({base}, {}] committed",
                self.hard.commit
            )));
        }
        let mut snap = Snapshot::default();
        snap.set_data(data.into());
        let meta = snap.mut_metadata();
        meta.index = index;
        meta.term = self.entry_term(index)?;
        meta.set_conf_state(self.conf.clone());
        disk.put(SNAPSHOT, &encode(&snap)?)?;
        let gone = (index - base) as usize;
        for e in &self.entries[..gone] {
            disk.delete(&entry_key(e.index))?;
        }
        disk.sync()?;
        self.entries.drain(..gone);
        self.snap = snap;
        Ok(())
    }

    /// Installs a snapshot the leader sent: the log restarts after it (what
    /// followed is dropped: the leader resends what it still needs).
    pub fn apply_snapshot(
        &mut self,
        disk: &mut dyn Disk,
        snap: &Snapshot,
    ) -> Result<(), RegistrarError> {
        let meta = snap.get_metadata();
        if meta.index <= self.base() {
            return Ok(());
        }
        disk.put(SNAPSHOT, &encode(snap)?)?;
        for e in &self.entries {
            disk.delete(&entry_key(e.index))?;
        }
        self.entries.clear();
        self.conf = meta.get_conf_state().clone();
        disk.put(CONF_STATE, &encode(&self.conf)?)?;
        let mut hs = self.hard.clone();
        hs.commit = hs.commit.max(meta.index);
        hs.term = hs.term.max(meta.term);
        self.set_hard_state(disk, &hs)?;
        self.snap = snap.clone();
        Ok(())
    }

    fn base(&self) -> u64 {
        self.snap.get_metadata().index
    }

    fn last(&self) -> u64 {
        self.base() + self.entries.len() as u64
    }

    fn entry_term(&self, idx: u64) -> Result<u64, RegistrarError> {
        raft::Storage::term(self, idx).map_err(RegistrarError::from)
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
        let base = self.base();
        if low <= base {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(raft::Error::Store(raft::StorageError::Unavailable));
        }
        let mut ents = self.entries[(low - base - 1) as usize..(high - base - 1) as usize].to_vec();
        raft::util::limit_size(&mut ents, max_size.into());
        Ok(ents)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let meta = self.snap.get_metadata();
        if idx == meta.index {
            return Ok(meta.term);
        }
        if idx < meta.index {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        match self.entries.get((idx - meta.index - 1) as usize) {
            Some(e) => Ok(e.term),
            None => Err(raft::Error::Store(raft::StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.base() + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // Made when the log is compacted, so always at hand once asked for.
        if self.base() == 0 || self.base() < request_index {
            return Err(raft::Error::Store(
                raft::StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snap.clone())
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

    fn committed_log(disk: &mut MemStorage, n: u64) -> LogStore {
        let mut log = LogStore::load(disk, &[1, 2, 3]).unwrap();
        let ents: Vec<Entry> = (1..=n).map(|i| entry(i, 1 + i / 4, b"x")).collect();
        log.append(disk, &ents).unwrap();
        log.set_commit(disk, n).unwrap();
        log
    }

    #[test]
    fn compaction_keeps_the_tail_and_the_snapshot_across_a_restart() {
        let mut disk = MemStorage::default();
        let mut log = committed_log(&mut disk, 10);
        log.compact(&mut disk, 6, b"registry@6".to_vec()).unwrap();
        for back in [&log, &LogStore::load(&mut disk, &[9]).unwrap()] {
            assert_eq!(back.first_index().unwrap(), 7);
            assert_eq!(back.last_index().unwrap(), 10);
            assert_eq!(
                back.term(6).unwrap(),
                1 + 6 / 4,
                "the snapshot keeps its term"
            );
            assert!(matches!(
                back.term(5),
                Err(raft::Error::Store(raft::StorageError::Compacted))
            ));
            assert!(back
                .entries(6, 8, None, GetEntriesContext::empty(false))
                .is_err());
            assert_eq!(
                back.entries(7, 11, None, GetEntriesContext::empty(false))
                    .unwrap()
                    .len(),
                4
            );
            let snap = back.snapshot(0, 2).unwrap();
            assert_eq!(snap.get_metadata().index, 6);
            assert_eq!(snap.data.as_ref(), b"registry@6");
            assert_eq!(snap.get_metadata().get_conf_state().voters, vec![1, 2, 3]);
        }
        // Appends after the snapshot work; before it, they are refused.
        log.append(&mut disk, &[entry(11, 4, b"y")]).unwrap();
        assert!(log.append(&mut disk, &[entry(5, 4, b"z")]).is_err());
    }

    #[test]
    fn only_committed_entries_are_compacted() {
        let mut disk = MemStorage::default();
        let mut log = committed_log(&mut disk, 4);
        log.append(&mut disk, &[entry(5, 2, b"uncommitted")])
            .unwrap();
        assert!(log.compact(&mut disk, 5, Vec::new()).is_err());
        assert!(log.compact(&mut disk, 0, Vec::new()).is_err());
        assert_eq!(log.first_index().unwrap(), 1);
    }

    #[test]
    fn an_installed_snapshot_replaces_the_log_and_survives_a_restart() {
        let mut leader_disk = MemStorage::default();
        let mut leader = committed_log(&mut leader_disk, 20);
        leader
            .compact(&mut leader_disk, 18, b"at 18".to_vec())
            .unwrap();
        let snap = leader.snapshot(0, 2).unwrap();

        let mut disk = MemStorage::default();
        let mut follower = committed_log(&mut disk, 3);
        follower.apply_snapshot(&mut disk, &snap).unwrap();
        let back = LogStore::load(&mut disk, &[9]).unwrap();
        assert_eq!(back.first_index().unwrap(), 19);
        assert_eq!(back.last_index().unwrap(), 18);
        assert_eq!(back.hard_state().commit, 18);
        assert_eq!(back.snapshot_now().data.as_ref(), b"at 18");
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
