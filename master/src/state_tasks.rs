//! [`TaskList`]: the tasks of a [`MasterState`](crate::state::MasterState),
//! held in shared chunks.
//!
//! The master publishes its state every 100 ms at most (`crate::board`).
//! A flat list of 100,000 tasks would cost each publication 100,000
//! reference counts to build and as many to drop, however few tasks
//! changed. In chunks, a publication copies the list of chunks and only
//! the chunks whose tasks changed (see `crate::core::views`). On the wire
//! and to readers it is one list.

use std::ops::Index;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::state::TaskView;

/// One chunk of a [`TaskList`].
pub type Chunk = Arc<Vec<Arc<TaskView>>>;

/// Tasks in order, in chunks shared between the lists built from one
/// another. Reads as a slice would: [`iter`](TaskList::iter),
/// [`len`](TaskList::len), indexing.
#[derive(Clone, Default)]
pub struct TaskList {
    /// Never empty.
    chunks: Vec<Chunk>,
    len: usize,
}

impl TaskList {
    /// The list of `chunks`' tasks, in order.
    pub fn from_chunks(chunks: impl IntoIterator<Item = Chunk>) -> TaskList {
        let chunks: Vec<Chunk> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let len = chunks.iter().map(|c| c.len()).sum();
        TaskList { chunks, len }
    }

    /// How many tasks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tasks, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<TaskView>> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The `i`th task.
    pub fn get(&self, mut i: usize) -> Option<&Arc<TaskView>> {
        for c in &self.chunks {
            match c.get(i) {
                Some(t) => return Some(t),
                None => i -= c.len(),
            }
        }
        None
    }

    /// The first task.
    pub fn first(&self) -> Option<&Arc<TaskView>> {
        self.get(0)
    }

    /// The chunks, for tests of what two lists share.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }
}

impl Index<usize> for TaskList {
    type Output = Arc<TaskView>;

    fn index(&self, i: usize) -> &Arc<TaskView> {
        match self.get(i) {
            Some(t) => t,
            None => panic!("task {i} of a list of {}", self.len),
        }
    }
}

impl From<Vec<Arc<TaskView>>> for TaskList {
    fn from(tasks: Vec<Arc<TaskView>>) -> TaskList {
        TaskList::from_chunks([Arc::new(tasks)])
    }
}

impl FromIterator<Arc<TaskView>> for TaskList {
    fn from_iter<I: IntoIterator<Item = Arc<TaskView>>>(tasks: I) -> TaskList {
        TaskList::from(tasks.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a TaskList {
    type Item = &'a Arc<TaskView>;
    type IntoIter = Box<dyn Iterator<Item = &'a Arc<TaskView>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for TaskList {
    type Item = Arc<TaskView>;
    type IntoIter = std::vec::IntoIter<Arc<TaskView>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter().cloned().collect::<Vec<_>>().into_iter()
    }
}

/// Equal when the tasks are, however they are chunked.
impl PartialEq for TaskList {
    fn eq(&self, other: &TaskList) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl PartialEq<Vec<Arc<TaskView>>> for TaskList {
    fn eq(&self, other: &Vec<Arc<TaskView>>) -> bool {
        self.len == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for TaskList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// As a sequence, the same as a `Vec` of the tasks.
impl Serialize for TaskList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The length up front: postcard needs it, a chained iterator
        // does not give it.
        let mut seq = s.serialize_seq(Some(self.len))?;
        for t in self.iter() {
            seq.serialize_element(t)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for TaskList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TaskList, D::Error> {
        Vec::<Arc<TaskView>>::deserialize(d).map(TaskList::from)
    }
}
