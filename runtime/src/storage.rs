//! Durable storage as actors see it: a small ordered key-value store per node.
//!
//! One interface, two implementations: redb on disk for the node host, and
//! the simulator's disk, which loses writes not yet synced when its node
//! crashes and can be told to fail writes. Writes are visible to reads at
//! once but durable only after [`Store::sync`] succeeds — the contract both
//! implementations keep, so code that forgets to sync fails in simulation.

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The node was started without storage.
    #[error("this node has no durable storage configured")]
    NotConfigured,
    /// The disk or database refused the operation.
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// The simulator injected a write failure.
    #[error("injected storage failure")]
    Injected,
}

/// Entries of a scan: (key, value) in key order.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// A node's store: ordered bytes to bytes. Implemented by hosts.
pub trait Storage {
    /// The value under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Sets `key` to `value` (visible at once; durable after `sync`).
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError>;
    /// Removes `key` (durable after `sync`).
    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> Result<(), StorageError>;
}

/// One actor's view of its node's store: keys are kept apart per actor name,
/// so two actors cannot overwrite each other by accident.
pub struct Store<'a> {
    inner: Option<&'a mut dyn Storage>,
    prefix: Vec<u8>,
}

impl<'a> Store<'a> {
    /// The namespace of `actor`'s keys: its name and a zero byte.
    pub(crate) fn prefix(actor: &str) -> Vec<u8> {
        let mut prefix = actor.as_bytes().to_vec();
        prefix.push(0);
        prefix
    }

    pub(crate) fn new(inner: Option<&'a mut dyn Storage>, prefix: Vec<u8>) -> Store<'a> {
        Store { inner, prefix }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(key);
        k
    }

    fn inner(&self) -> Result<&dyn Storage, StorageError> {
        self.inner.as_deref().ok_or(StorageError::NotConfigured)
    }

    /// The value under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner()?.get(&self.key(key))
    }

    /// Sets `key` to `value`: visible at once, durable after [`sync`](Store::sync).
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let k = self.key(key);
        self.inner
            .as_deref_mut()
            .ok_or(StorageError::NotConfigured)?
            .put(&k, value)
    }

    /// Removes `key`; durable after [`sync`](Store::sync).
    pub fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        let k = self.key(key);
        self.inner
            .as_deref_mut()
            .ok_or(StorageError::NotConfigured)?
            .delete(&k)
    }

    /// Entries whose key starts with `prefix` (keys returned without the
    /// actor's namespace), in key order.
    pub fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        let skip = self.prefix.len();
        let rows = self.inner()?.scan(&self.key(prefix))?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (k[skip..].to_vec(), v))
            .collect())
    }

    /// Makes this node's writes so far durable (all actors' writes: one disk).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.inner
            .as_deref_mut()
            .ok_or(StorageError::NotConfigured)?
            .sync()
    }
}

/// An in-memory store (no durability): for tests and for nodes that need
/// none. Its `sync` succeeds and changes nothing.
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    map: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Storage for MemStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StorageError> {
        self.map.remove(key);
        Ok(())
    }

    fn scan(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        Ok(self
            .map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}
