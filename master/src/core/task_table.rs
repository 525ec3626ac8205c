//! The master's live tasks ([`TaskTable`]), with the keys changed since
//! the last publication took them, so a publication rebuilds only those
//! (`views`) instead of walking 100,000 records on the master's loop.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::Arc;

use super::records::TaskRec;
use corral_api::ids::{FrameworkId, TaskId};

/// Where a live task is kept: by framework, then id.
pub(super) type TaskKey = (FrameworkId, TaskId);

/// The live tasks by key. Reads go through `Deref` to the map; every
/// change goes through [`insert`](Self::insert), [`remove`](Self::remove)
/// or [`get_mut`](Self::get_mut), which note the key.
#[derive(Default)]
pub(super) struct TaskTable {
    map: BTreeMap<TaskKey, TaskRec>,
    changed: Changed,
    /// Held by the one follower the changes are for (see
    /// [`take_changed`](Self::take_changed)).
    token: Arc<()>,
}

/// What changed since [`TaskTable::take_changed`] was last called.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Changed {
    /// Anything may have: nobody took the changes yet (a master without
    /// a board never does, so it keeps no list), another follower took
    /// them, the table was cleared, or the list grew larger than the
    /// table.
    #[default]
    All,
    /// These keys only (their tasks added, removed or changed).
    Keys(BTreeSet<TaskKey>),
}

impl Deref for TaskTable {
    type Target = BTreeMap<TaskKey, TaskRec>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<'a> IntoIterator for &'a TaskTable {
    type Item = (&'a TaskKey, &'a TaskRec);
    type IntoIter = std::collections::btree_map::Iter<'a, TaskKey, TaskRec>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl TaskTable {
    pub(super) fn insert(&mut self, key: TaskKey, rec: TaskRec) -> Option<TaskRec> {
        self.note(&key);
        self.map.insert(key, rec)
    }

    pub(super) fn remove(&mut self, key: &TaskKey) -> Option<TaskRec> {
        let rec = self.map.remove(key);
        if rec.is_some() {
            self.note(key);
        }
        rec
    }

    /// The task at `key` to change (noted as changed whether or not it is).
    pub(super) fn get_mut(&mut self, key: &TaskKey) -> Option<&mut TaskRec> {
        if self.map.contains_key(key) {
            self.note(key);
        }
        self.map.get_mut(key)
    }

    /// Forgets every task.
    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.changed = Changed::All;
    }

    /// What changed since `follower` last took the changes, and notes
    /// changes from now on for it. The changes are one list, so they are
    /// for one follower: another that takes them (or one that never did)
    /// is told [`Changed::All`], and the previous one will be too.
    pub(super) fn take_changed(&mut self, follower: &mut Option<Arc<()>>) -> Changed {
        let taken = std::mem::replace(&mut self.changed, Changed::Keys(BTreeSet::new()));
        match follower {
            Some(t) if Arc::ptr_eq(t, &self.token) => taken,
            _ => {
                self.token = Arc::new(());
                *follower = Some(self.token.clone());
                Changed::All
            }
        }
    }

    fn note(&mut self, key: &TaskKey) {
        if let Changed::Keys(keys) = &mut self.changed {
            // Past the table's size a full rebuild costs no more, and the
            // list stays bounded if changes stop being taken.
            if keys.len() > self.map.len() {
                self.changed = Changed::All;
            } else if !keys.contains(key) {
                keys.insert(key.clone());
            }
        }
    }
}
