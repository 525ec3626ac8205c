//! The state the master publishes for its HTTP readers: a [`StateBoard`].
//!
//! Building the whole [`MasterState`] for each `/state` request would
//! run on the master's event loop, once per request: at ten thousand
//! agents that stalls every agent and framework behind each poll (Mesos
//! 1.7 blocked its master about 3 s per `/state` of a large cluster).
//! Instead the master publishes its state here, and readers take the
//! latest publication without asking the master anything.
//!
//! **Staleness.** The master publishes after a change, at most once per
//! [`StateBoard::publish_every`] (default [`DEFAULT_PUBLISH_EVERY`]): the
//! first change after a quiet spell is published as soon as the event
//! that made it is handled, later ones at the end of the interval. So a
//! reader sees every change at most `publish_every` after the master made
//! it, plus the time one publication takes. The state and the leadership
//! in one [`Published`] are of the same instant.
//!
//! **Cost.** A publication is a reference-counted [`MasterState`] whose
//! tasks and agents are shared with the previous publication when they
//! did not change (see [`crate::core::ViewCache`]): the master rebuilds
//! the chunks of tasks that changed since (it notes their keys), and
//! walks its agents, not its tasks. Serialising happens in the reader's
//! thread, once per publication and shape (`crate::http`).
//!
//! A master without a board (the simulator's) publishes nothing and sets
//! no timers for it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::events::{Batch, EventLog, FellBehind, OperatorEvent};
use crate::state::{Leadership, MasterMetrics, MasterState};

/// How often the master publishes at most, unless told otherwise.
pub const DEFAULT_PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// One publication of the master's state.
#[derive(Debug)]
pub struct Published {
    /// Counts the master's publications, from 1.
    pub seq: u64,
    /// The master's state.
    pub state: MasterState,
    /// Its counters and gauges then, without the allocator's pass times
    /// (`/metrics` asks the allocator for those).
    pub metrics: MasterMetrics,
    /// Whether the master led when it published, and who did.
    pub leadership: Leadership,
    /// How long the master's event loop took to build it (the host's
    /// elapsed clock: zero in the simulator).
    pub took: Duration,
}

/// Where one master publishes its state and readers on any thread take
/// the latest publication. Cloning it gives another handle on the same
/// board.
#[derive(Clone, Debug)]
pub struct StateBoard {
    shared: Arc<Shared>,
    publish_every: Duration,
}

#[derive(Debug, Default)]
struct Shared {
    latest: Mutex<Option<Arc<Published>>>,
    published: Condvar,
    /// The publication the latest replaced, for a reader to drop.
    retired: Mutex<Option<Arc<Published>>>,
    /// The events that led to each publication, for subscribers.
    log: Mutex<EventLog>,
    /// The latest publication's number, for subscribers to wait on
    /// without a thread each; its receivers count the subscribers.
    seq: watch::Sender<u64>,
}

impl Default for StateBoard {
    fn default() -> StateBoard {
        StateBoard::new(DEFAULT_PUBLISH_EVERY)
    }
}

impl StateBoard {
    /// An empty board its master publishes to at most once per
    /// `publish_every` (zero: after every event that changed its state).
    pub fn new(publish_every: Duration) -> StateBoard {
        StateBoard {
            shared: Arc::default(),
            publish_every,
        }
    }

    /// The shortest time between two publications: how stale a
    /// publication may be, beyond the time one publication takes.
    pub fn publish_every(&self) -> Duration {
        self.publish_every
    }

    /// The latest publication, if the master has published yet.
    pub fn latest(&self) -> Option<Arc<Published>> {
        let latest = self.lock().clone();
        self.bury();
        latest
    }

    /// Waits (blocking this thread) up to `timeout` for a publication
    /// later than `seq` (0 for any), and returns it; None if none came.
    pub fn wait_past(&self, seq: u64, timeout: Duration) -> Option<Arc<Published>> {
        let guard = self.lock();
        let (guard, _) = self
            .shared
            .published
            .wait_timeout_while(guard, timeout, |p| p.as_ref().is_none_or(|p| p.seq <= seq))
            .unwrap_or_else(PoisonError::into_inner);
        let latest = guard.clone().filter(|p| p.seq > seq);
        drop(guard);
        self.bury();
        latest
    }

    /// Subscribes to the publications' numbers and to the events kept
    /// while this receiver lives (see [`crate::events`]): take a
    /// publication after subscribing, then the [`events_after`] it.
    ///
    /// [`events_after`]: Self::events_after
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.seq.subscribe()
    }

    /// The events of the publications after `seq`, oldest first.
    pub fn events_after(&self, seq: u64) -> Result<Vec<Batch>, FellBehind> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .after(seq)
    }

    /// Publishes `state`, `metrics` and `leadership`, built in `took`, as
    /// the latest, and the `events` that led to it; answers the
    /// publication's number.
    pub(crate) fn publish(
        &self,
        state: MasterState,
        metrics: MasterMetrics,
        leadership: Leadership,
        took: Duration,
        events: Vec<OperatorEvent>,
    ) -> u64 {
        let mut latest = self.lock();
        let seq = latest.as_ref().map_or(0, |p| p.seq) + 1;
        // Logged before the state is the latest: a subscriber that reads
        // this publication asks for the events after it, one that read the
        // previous finds these.
        let subscribed = self.shared.seq.receiver_count() > 0;
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seq, events, subscribed);
        let replaced = latest.replace(Arc::new(Published {
            seq,
            state,
            metrics,
            leadership,
            took,
        }));
        drop(latest);
        self.shared.published.notify_all();
        self.shared.seq.send_replace(seq);
        // Dropping a publication frees the views changed since: thousands
        // of allocations when the offers of thousands of agents changed,
        // a tenth of a publication's time at 10,000 agents. A reader
        // drops it (`bury`), off the master's loop; without readers the
        // next publication does, here.
        let older = std::mem::replace(&mut *self.retired(), replaced);
        drop(older);
        seq
    }

    /// Drops the publication the latest replaced, if no one else is at it.
    fn bury(&self) {
        let Ok(mut retired) = self.shared.retired.try_lock() else {
            return;
        };
        let old = retired.take();
        drop(retired);
        drop(old);
    }

    fn retired(&self) -> MutexGuard<'_, Option<Arc<Published>>> {
        self.shared
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<Published>>> {
        // A reader that panicked holding the lock left the slot whole: it
        // only ever clones or replaces the Arc.
        self.shared
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;
