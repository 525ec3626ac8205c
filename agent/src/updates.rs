//! The status update manager: the agent's promise that every status update
//! reaches the master, in order, at least once until acknowledged.
//!
//! A pure core, as Mesos's `TaskStatusUpdateManager` is a process of its own:
//! no clock, no messages. The agent feeds it updates and acknowledgements and
//! polls it for what to send now. Each task has a stream: a FIFO of pending
//! updates of which only the head is in flight. The head is sent at once,
//! then again after `retry_min`, doubling up to `retry_max`, until the master
//! forwards the framework's acknowledgement of its uuid; then the next update
//! goes out at once. Streams of different tasks are independent.
//!
//! Calling order, for the agent:
//! 1. [`push`](UpdateManager::push) each new update (from an executor, or
//!    made by the agent), then [`due`](UpdateManager::due) to send it;
//! 2. [`ack`](UpdateManager::ack) each acknowledgement, then `due` to send
//!    the task's next update;
//! 3. on a timer at [`next_due`](UpdateManager::next_due), `due` again;
//! 4. after (re-)registering with a master, [`resend_all`](UpdateManager::resend_all);
//! 5. [`remove`](UpdateManager::remove) a stream once its task is forgotten.
//!
//! Guarantees (property-tested below): the first sends of one task's updates
//! follow push order; a duplicate uuid is never queued twice; nothing is
//! queued after a terminal update.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{TaskState, TaskStatus};
use corral_runtime::Time;

/// Pending updates one task may hold; beyond it pushes are refused
/// ([`PushResult::Full`]) so a runaway executor cannot grow the agent.
pub const MAX_PENDING_PER_TASK: usize = 1000;
/// Uuids remembered per stream to recognise resent updates (pending and
/// recently acknowledged ones).
const MAX_REMEMBERED_UUIDS: usize = 2 * MAX_PENDING_PER_TASK;

/// A task, as its updates are keyed.
pub type TaskKey = (FrameworkId, TaskId);

/// What [`UpdateManager::push`] did with an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushResult {
    /// Queued behind the task's pending updates.
    Queued,
    /// An update with this uuid was pushed before: dropped.
    Duplicate,
    /// The task already had a terminal update: dropped.
    AfterTerminal,
    /// The task has [`MAX_PENDING_PER_TASK`] pending updates: refused (the
    /// sender should retry later).
    Full,
    /// The update has no uuid, so it could never be acknowledged: refused.
    NoUuid,
}

/// What [`UpdateManager::ack`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckResult {
    /// The head update was acknowledged and removed.
    Acked,
    /// The uuid is not the head's (a late or duplicate ack): ignored.
    Stale,
    /// No stream for this task: ignored.
    Unknown,
}

#[derive(Debug)]
struct Stream {
    /// Updates not yet acknowledged, oldest (in flight) first.
    pending: VecDeque<TaskStatus>,
    /// Uuids pushed, to drop resends; bounded by `seen_order`.
    seen: BTreeSet<[u8; 16]>,
    seen_order: VecDeque<[u8; 16]>,
    /// A terminal update was pushed: nothing may follow it.
    terminal: bool,
    /// When the head is due (again).
    next_send: Time,
    /// The wait after the head's next send.
    backoff: Duration,
}

impl Stream {
    fn new(retry_min: Duration) -> Stream {
        Stream {
            pending: VecDeque::new(),
            seen: BTreeSet::new(),
            seen_order: VecDeque::new(),
            terminal: false,
            next_send: Time::ZERO,
            backoff: retry_min,
        }
    }

    fn remember(&mut self, uuid: [u8; 16]) {
        self.seen.insert(uuid);
        self.seen_order.push_back(uuid);
        if self.seen_order.len() > MAX_REMEMBERED_UUIDS {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
    }
}

/// Per-task FIFOs of unacknowledged status updates with retry timing. See
/// the module doc for the calling order.
#[derive(Debug)]
pub struct UpdateManager {
    retry_min: Duration,
    retry_max: Duration,
    streams: BTreeMap<TaskKey, Stream>,
    /// A planted bug: the second pending update goes out ahead of the first.
    reorder: bool,
}

impl UpdateManager {
    /// An empty manager retrying after `retry_min`, doubling up to
    /// `retry_max`.
    pub fn new(retry_min: Duration, retry_max: Duration) -> UpdateManager {
        UpdateManager {
            retry_min,
            retry_max: retry_max.max(retry_min),
            streams: BTreeMap::new(),
            reorder: false,
        }
    }

    /// This manager, sending a task's second pending update ahead of its
    /// first when `on` (a planted bug for the simulator's checks).
    pub fn reordering(mut self, on: bool) -> UpdateManager {
        self.reorder = on;
        self
    }

    /// Queues `status` for its task (keyed by its framework and task ids).
    /// An update that becomes its stream's head is due at once.
    pub fn push(&mut self, status: TaskStatus, now: Time) -> PushResult {
        let Some(uuid) = status.uuid else {
            return PushResult::NoUuid;
        };
        let key = (status.framework_id.clone(), status.task_id.clone());
        let retry_min = self.retry_min;
        let stream = self
            .streams
            .entry(key)
            .or_insert_with(|| Stream::new(retry_min));
        if stream.seen.contains(&uuid) {
            return PushResult::Duplicate;
        }
        if stream.terminal {
            return PushResult::AfterTerminal;
        }
        if stream.pending.len() >= MAX_PENDING_PER_TASK {
            return PushResult::Full;
        }
        if stream.pending.is_empty() {
            stream.next_send = now;
            stream.backoff = retry_min;
        }
        stream.terminal = status.state.is_terminal();
        stream.remember(uuid);
        stream.pending.push_back(status);
        PushResult::Queued
    }

    /// The framework acknowledged `uuid` of `task`. Only the head's uuid
    /// removes it; the next update is then due at once.
    pub fn ack(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        uuid: [u8; 16],
    ) -> AckResult {
        let key = (framework_id.clone(), task_id.clone());
        let Some(stream) = self.streams.get_mut(&key) else {
            return AckResult::Unknown;
        };
        if stream.pending.front().and_then(|s| s.uuid) != Some(uuid) {
            return AckResult::Stale;
        }
        stream.pending.pop_front();
        stream.next_send = Time::ZERO;
        stream.backoff = self.retry_min;
        AckResult::Acked
    }

    /// The head of every stream whose (re)send time has come, in task order;
    /// each is scheduled for its next retry.
    pub fn due(&mut self, now: Time) -> Vec<TaskStatus> {
        let mut out = Vec::new();
        for stream in self.streams.values_mut() {
            let Some(head) = stream.pending.front() else {
                continue;
            };
            if stream.next_send > now {
                continue;
            }
            if let (true, Some(second)) = (self.reorder, stream.pending.get(1)) {
                out.push(second.clone());
            }
            out.push(head.clone());
            stream.next_send = now + stream.backoff;
            stream.backoff = (stream.backoff * 2).min(self.retry_max);
        }
        out
    }

    /// Every stream's head, now, with the retry backoff started over: for
    /// right after (re-)registering with a master that may have missed them.
    pub fn resend_all(&mut self, now: Time) -> Vec<TaskStatus> {
        for stream in self.streams.values_mut() {
            stream.next_send = now;
            stream.backoff = self.retry_min;
        }
        self.due(now)
    }

    /// When the earliest head is due, if any update is pending.
    pub fn next_due(&self) -> Option<Time> {
        self.streams
            .values()
            .filter(|s| !s.pending.is_empty())
            .map(|s| s.next_send)
            .min()
    }

    /// Whether `task` has no pending update (true for unknown tasks).
    pub fn is_empty_for(&self, key: &TaskKey) -> bool {
        self.streams.get(key).is_none_or(|s| s.pending.is_empty())
    }

    /// Whether `task`'s stream holds a terminal update (pending or
    /// acknowledged): nothing more can be queued for it until it is removed.
    pub fn is_terminated(&self, key: &TaskKey) -> bool {
        self.streams.get(key).is_some_and(|s| s.terminal)
    }

    /// The pending updates of `task`, oldest first.
    pub fn pending_of(&self, key: &TaskKey) -> impl Iterator<Item = &TaskStatus> {
        self.streams
            .get(key)
            .into_iter()
            .flat_map(|s| s.pending.iter())
    }

    /// The tasks with a stream, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &TaskKey> {
        self.streams.keys()
    }

    /// Pending updates of `task`.
    pub fn pending_for(&self, key: &TaskKey) -> usize {
        self.streams.get(key).map_or(0, |s| s.pending.len())
    }

    /// Forgets `task`'s stream, pending updates included.
    pub fn remove(&mut self, key: &TaskKey) {
        self.streams.remove(key);
    }

    /// Drops the updates of a framework that was shut down, except the
    /// update that ends each task, which becomes due at once.
    pub fn remove_framework(&mut self, framework_id: &FrameworkId) {
        // Each task's end stays, sent next: the master keeps what a
        // shut-down framework's task used from offers until it hears of
        // it (and acknowledges it itself). The rest nobody will read.
        for ((f, _), s) in self.streams.iter_mut() {
            if f == framework_id {
                s.pending
                    .retain(|u| u.state.is_terminal() || u.state == TaskState::Lost);
                s.next_send = Time::ZERO;
            }
        }
        self.streams
            .retain(|(f, _), s| f != framework_id || !s.pending.is_empty());
    }

    /// Forgets everything (the agent starts over as a new agent).
    pub fn clear(&mut self) {
        self.streams.clear();
    }

    /// Pending updates over all tasks.
    pub fn pending_count(&self) -> usize {
        self.streams.values().map(|s| s.pending.len()).sum()
    }

    /// Tasks with a stream.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }
}

#[cfg(test)]
mod tests;
