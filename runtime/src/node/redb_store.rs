//! The node host's durable store: one redb table of bytes to bytes in one
//! file.
//!
//! Each `put` and `delete` is its own redb write transaction committed with
//! [`Durability::None`]: later reads see it at once, but it reaches the disk
//! only with the next `sync`, which commits with [`Durability::Immediate`]
//! (an fsync). That is the [`Storage`] contract: visible at once, durable
//! after `sync`. After a crash the store reopens as it was at the last
//! `sync`: later writes are lost whole, none half-applied.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, TableDefinition};

use crate::storage::{Rows, Storage, StorageError};

/// The one table every key lives in (actors' keys are already namespaced by
/// [`Store`](crate::storage::Store)).
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("corral");

/// A [`Storage`] in a redb database file.
///
/// Cost (release build, VM disk): a `put` or `delete` is a non-durable
/// commit, about 40 µs (pages written to the OS, no fsync); a `sync` is one
/// fsync, about 0.15 ms after one write and 20 ms after 1,000, because redb
/// frees old versions' pages only at durable commits. For the same reason the
/// file grows with every write between two syncs: actors that write much
/// should sync often.
pub struct RedbStorage {
    db: Database,
    /// For error messages.
    path: PathBuf,
}

impl RedbStorage {
    /// Opens the database at `path`, creating it and its parent directories
    /// if needed.
    pub fn open(path: &Path) -> Result<RedbStorage, StorageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StorageError::Io(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let db = Database::create(path).map_err(|e| io_error("open", path, e))?;
        let store = RedbStorage {
            db,
            path: path.to_owned(),
        };
        store.create_table()?;
        Ok(store)
    }

    /// Creates the table durably, so that reads (which cannot create it)
    /// always find it.
    fn create_table(&self) -> Result<(), StorageError> {
        let txn = self.db.begin_write().map_err(|e| self.err("begin", e))?;
        txn.open_table(TABLE)
            .map_err(|e| self.err("create table", e))?;
        txn.commit().map_err(|e| self.err("commit", e))
    }

    fn err(&self, op: &str, e: impl Display) -> StorageError {
        io_error(op, &self.path, e)
    }

    /// Runs `f` on the table in one write transaction and commits it without
    /// waiting for the disk.
    fn write(
        &mut self,
        f: impl FnOnce(&mut redb::Table<&[u8], &[u8]>) -> Result<(), redb::StorageError>,
    ) -> Result<(), StorageError> {
        let mut txn = self.db.begin_write().map_err(|e| self.err("begin", e))?;
        txn.set_durability(Durability::None);
        {
            let mut table = txn
                .open_table(TABLE)
                .map_err(|e| self.err("open table", e))?;
            f(&mut table).map_err(|e| self.err("write", e))?;
        }
        txn.commit().map_err(|e| self.err("commit", e))
    }

    fn read_table(
        &self,
    ) -> Result<redb::ReadOnlyTable<&'static [u8], &'static [u8]>, StorageError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| self.err("begin read", e))?;
        txn.open_table(TABLE).map_err(|e| self.err("open table", e))
    }
}

fn io_error(op: &str, path: &Path, e: impl Display) -> StorageError {
    StorageError::Io(format!("redb {op} failed on {}: {e}", path.display()))
}

impl Storage for RedbStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let table = self.read_table()?;
        let value = table.get(key).map_err(|e| self.err("get", e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.write(|t| t.insert(key, value).map(drop))
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        self.write(|t| t.remove(key).map(drop))
    }

    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        let table = self.read_table()?;
        let range = table.range(prefix..).map_err(|e| self.err("scan", e))?;
        let mut rows = Vec::new();
        for row in range {
            let (k, v) = row.map_err(|e| self.err("scan", e))?;
            if !k.value().starts_with(prefix) {
                break;
            }
            rows.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(rows)
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        // An empty commit at Immediate durability writes and fsyncs the
        // latest state, which carries every earlier non-durable commit.
        let mut txn = self.db.begin_write().map_err(|e| self.err("begin", e))?;
        txn.set_durability(Durability::Immediate);
        txn.commit().map_err(|e| self.err("sync", e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("corral-redb-{tag}-{}-{n}", std::process::id());
            TempDir(std::env::temp_dir().join(name))
        }

        fn db(&self) -> PathBuf {
            self.0.join("sub").join("node.redb")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn row(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
        (k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn put_get_delete_and_scan_in_key_order_within_the_prefix() {
        let dir = TempDir::new("ops");
        let mut s = RedbStorage::open(&dir.db()).unwrap();
        assert_eq!(s.get(b"a/1").unwrap(), None);
        // Inserted out of order; neighbours on both sides of the prefix.
        for k in ["a/2", "a/10", "a", "a/1", "a0", "b/1", "a."] {
            s.put(k.as_bytes(), format!("v{k}").as_bytes()).unwrap();
        }
        assert_eq!(s.get(b"a/1").unwrap(), Some(b"va/1".to_vec()));
        s.put(b"a/1", b"new").unwrap();
        assert_eq!(s.get(b"a/1").unwrap(), Some(b"new".to_vec()));
        assert_eq!(
            s.scan(b"a/").unwrap(),
            vec![row("a/1", "new"), row("a/10", "va/10"), row("a/2", "va/2")]
        );
        s.delete(b"a/10").unwrap();
        s.delete(b"missing").unwrap();
        assert_eq!(s.get(b"a/10").unwrap(), None);
        assert_eq!(
            s.scan(b"a/").unwrap(),
            vec![row("a/1", "new"), row("a/2", "va/2")]
        );
        assert_eq!(s.scan(b"c").unwrap(), vec![]);
        assert_eq!(s.scan(b"").unwrap().len(), 6);
        // Prefix bytes at 0xff must not stop early or overrun.
        s.put(&[0xff, 0xff], b"x").unwrap();
        s.put(&[0xff, 0xff, 0], b"y").unwrap();
        assert_eq!(s.scan(&[0xff, 0xff]).unwrap().len(), 2);
    }

    #[test]
    fn reads_see_writes_before_sync() {
        let dir = TempDir::new("visible");
        let mut s = RedbStorage::open(&dir.db()).unwrap();
        s.put(b"k", b"v").unwrap();
        assert_eq!(s.get(b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(s.scan(b"k").unwrap(), vec![row("k", "v")]);
        s.delete(b"k").unwrap();
        assert_eq!(s.get(b"k").unwrap(), None);
    }

    #[test]
    fn synced_values_survive_close_and_reopen() {
        let dir = TempDir::new("reopen");
        {
            let mut s = RedbStorage::open(&dir.db()).unwrap();
            s.put(b"kept", b"1").unwrap();
            s.put(b"gone", b"2").unwrap();
            s.delete(b"gone").unwrap();
            s.sync().unwrap();
        }
        let s = RedbStorage::open(&dir.db()).unwrap();
        assert_eq!(s.get(b"kept").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.get(b"gone").unwrap(), None);
    }

    #[test]
    fn open_reports_a_path_it_cannot_use() {
        let dir = TempDir::new("bad");
        let file = dir.0.join("file");
        std::fs::create_dir_all(&dir.0).unwrap();
        std::fs::write(&file, b"not a directory").unwrap();
        let Err(StorageError::Io(msg)) = RedbStorage::open(&file.join("node.redb")) else {
            panic!("opening under a file must fail");
        };
        assert!(msg.contains("cannot create directory"), "{msg}");
    }

    /// Prints what a put and a sync cost here (run with --nocapture); does not
    /// assert on time, only on the data.
    #[test]
    #[allow(clippy::disallowed_methods)] // measures real elapsed time
    fn cost_of_put_and_sync() {
        use std::time::Instant;
        const N: u32 = 1_000;
        let dir = TempDir::new("cost");
        let mut s = RedbStorage::open(&dir.db()).unwrap();
        let started = Instant::now();
        for i in 0..N {
            s.put(&i.to_be_bytes(), b"value").unwrap();
        }
        let puts = started.elapsed();
        let started = Instant::now();
        s.sync().unwrap();
        let first_sync = started.elapsed();
        let started = Instant::now();
        for i in 0..N {
            s.put(&i.to_be_bytes(), b"again").unwrap();
            s.sync().unwrap();
        }
        let pairs = started.elapsed();
        println!(
            "redb: put {:?} each (no sync); sync after {N} puts {first_sync:?}; \
             put+sync {:?} each",
            puts / N,
            pairs / N
        );
        assert_eq!(s.scan(b"").unwrap().len(), N as usize);
    }
}
