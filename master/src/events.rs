//! What the master tells operators who subscribed to its changes (the v1
//! operator API's `SUBSCRIBE`, `crate::http`): [`OperatorEvent`]s, in the
//! order they happened, kept in batches on the [`StateBoard`] beside the
//! publication they lead to ([`EventLog`]).
//!
//! A subscriber starts from one publication's state and then reads the
//! batches published after it: each publication's state is its
//! predecessor's with that publication's batch applied, so nothing is
//! seen twice or missed. The master records an event as it makes the
//! change (a task's view, an agent's, a framework's as they were then),
//! not when it publishes, so a task that starts and ends between two
//! publications is still seen to go through each state.
//!
//! **Bounds.** The log keeps batches only while someone is subscribed,
//! and at most [`MAX_KEPT_EVENTS`] events (the latest batch whatever its
//! size). A subscriber that falls further behind than that cannot be
//! told what it missed; its stream ends and it subscribes again, as a
//! Kubernetes watch whose resource version is too old.
//!
//! [`StateBoard`]: crate::board::StateBoard

use std::collections::VecDeque;
use std::sync::Arc;

use crate::state::{AgentState, FrameworkState, TaskView};
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::task::{TaskState, TaskStatus};

/// The most events the log keeps for subscribers behind the latest
/// publication.
pub const MAX_KEPT_EVENTS: usize = 100_000;

/// One change the master made, as Mesos's operator events name them.
#[derive(Clone, Debug, PartialEq)]
pub enum OperatorEvent {
    /// A task the master did not know: launched, or reported by an agent
    /// after a failover. `role` is its framework's.
    TaskAdded { task: Arc<TaskView>, role: String },
    /// A task moved to another state; `status` says who moved it and why.
    TaskUpdated {
        framework_id: FrameworkId,
        status: Box<TaskStatus>,
        state: TaskState,
    },
    /// An agent was admitted (first registration, after a failover, or
    /// back from being unreachable).
    AgentAdded(Arc<AgentState>),
    /// An agent left service: it stopped answering.
    AgentRemoved(AgentId),
    /// A framework the master did not know subscribed, or was recovered
    /// from the registry or an agent after a failover.
    FrameworkAdded(Box<FrameworkState>),
    /// A framework re-subscribed or disconnected.
    FrameworkUpdated(Box<FrameworkState>),
    /// A framework was removed (torn down, or its failover timeout ran
    /// out), as it was then.
    FrameworkRemoved(Box<FrameworkState>),
}

/// One publication's events.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The publication whose state they lead to.
    pub seq: u64,
    /// The events, oldest first.
    pub events: Arc<Vec<OperatorEvent>>,
}

/// The batches kept for subscribers.
#[derive(Debug, Default)]
pub struct EventLog {
    batches: VecDeque<Batch>,
    kept: usize,
    /// The last publication whose batch is no longer kept (0: none).
    forgotten: u64,
}

/// The log no longer holds what followed the publication asked about.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the events after publication {0} are no longer kept")]
pub struct FellBehind(pub u64);

impl EventLog {
    /// Keeps publication `seq`'s events if `keep` (someone subscribed),
    /// dropping the oldest beyond [`MAX_KEPT_EVENTS`].
    pub fn push(&mut self, seq: u64, events: Vec<OperatorEvent>, keep: bool) {
        if !keep {
            self.batches.clear();
            self.kept = 0;
            self.forgotten = seq;
            return;
        }
        if events.is_empty() {
            return;
        }
        self.kept += events.len();
        self.batches.push_back(Batch {
            seq,
            events: Arc::new(events),
        });
        while self.kept > MAX_KEPT_EVENTS && self.batches.len() > 1 {
            if let Some(old) = self.batches.pop_front() {
                self.kept -= old.events.len();
                self.forgotten = old.seq;
            }
        }
    }

    /// The batches of the publications after `seq`, oldest first.
    pub fn after(&self, seq: u64) -> Result<Vec<Batch>, FellBehind> {
        if seq < self.forgotten {
            return Err(FellBehind(seq));
        }
        let first = self.batches.partition_point(|b| b.seq <= seq);
        Ok(self.batches.range(first..).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(n: usize) -> Vec<OperatorEvent> {
        (0..n)
            .map(|i| OperatorEvent::AgentRemoved(AgentId(format!("a{i}"))))
            .collect()
    }

    fn seqs(b: &[Batch]) -> Vec<u64> {
        b.iter().map(|b| b.seq).collect()
    }

    #[test]
    fn a_subscriber_reads_every_batch_after_its_publication_once() {
        let mut log = EventLog::default();
        log.push(1, removed(2), true);
        log.push(2, Vec::new(), true);
        log.push(3, removed(1), true);
        assert_eq!(seqs(&log.after(0).expect("kept")), [1, 3]);
        assert_eq!(seqs(&log.after(1).expect("kept")), [3]);
        assert_eq!(seqs(&log.after(2).expect("kept")), [3]);
        assert!(log.after(3).expect("kept").is_empty());
    }

    #[test]
    fn a_subscriber_behind_the_bound_is_told_not_given_a_gap() {
        let mut log = EventLog::default();
        log.push(1, removed(MAX_KEPT_EVENTS), true);
        log.push(2, removed(1), true);
        assert_eq!(log.after(0).map(|b| seqs(&b)), Err(FellBehind(0)));
        assert_eq!(seqs(&log.after(1).expect("kept")), [2]);
        // The latest batch is kept whatever its size.
        log.push(3, removed(MAX_KEPT_EVENTS + 1), true);
        assert_eq!(seqs(&log.after(2).expect("kept")), [3]);
    }

    #[test]
    fn nothing_is_kept_without_subscribers() {
        let mut log = EventLog::default();
        log.push(1, removed(3), false);
        assert_eq!(log.after(0).map(|b| seqs(&b)), Err(FellBehind(0)));
        assert!(log.after(1).expect("nothing after").is_empty());
    }
}
