//! Group commit: the agent syncs its checkpoint once per turn of its node,
//! not once per message.
//!
//! Every executor update is acknowledged only once the agent holds it
//! durably, so with a sync per update a burst of updates cost one
//! `fdatasync` each: at the command tasks of one launch (hundreds of
//! updates at once) the disk, not the CPU, set `launchbench`'s pace.
//! Instead the agent writes each record at once but syncs on a timer of
//! zero delay, which fires after the messages already queued on its node
//! are handled; one sync then covers every record written meanwhile.
//!
//! **Nothing leaves before what it implies is durable.** Until that sync,
//! every message the agent sends is held, in order, and sent after it.
//! A crash before the sync loses the writes and the held messages
//! together, exactly as a crash just before the agent handled those
//! inputs would: executors resend what was not acknowledged, and no peer
//! heard of a state the restarted agent does not know. If the sync fails,
//! the records stay dirty in the core (written again with the next
//! checkpoint), the acknowledgements waiting on them are dropped (their
//! senders resend), and the other held messages go out as they would
//! have without the group commit.

use std::collections::BTreeSet;

use corral_runtime::{Pid, TimerId};

use crate::core::Outgoing;
use crate::updates::TaskKey;

/// A message held until the sync.
struct Held {
    to: Pid,
    msg: Outgoing,
    /// Sent only if the sync succeeds: it tells its receiver that a
    /// record is durable.
    needs_sync: bool,
}

/// The writes not yet synced, and what waits on them.
#[derive(Default)]
pub(super) struct Commit {
    written: BTreeSet<TaskKey>,
    held: Vec<Held>,
    flush: Option<TimerId>,
}

impl Commit {
    /// Whether a sync is due: messages sent now must wait for it.
    pub(super) fn is_pending(&self) -> bool {
        self.flush.is_some()
    }

    /// Records `keys` as written but not synced; the caller sets the flush
    /// timer unless one [`is_pending`](Self::is_pending).
    pub(super) fn wrote(&mut self, keys: impl IntoIterator<Item = TaskKey>) {
        self.written.extend(keys);
    }

    /// The flush timer was set.
    pub(super) fn timer_set(&mut self, id: TimerId) {
        self.flush = Some(id);
    }

    /// Holds `msg` until the sync; `needs_sync` drops it if the sync fails.
    pub(super) fn hold(&mut self, to: Pid, msg: Outgoing, needs_sync: bool) {
        self.held.push(Held {
            to,
            msg,
            needs_sync,
        });
    }

    /// The flush timer fired and the store was synced (`synced`): the
    /// messages to send now, in order, and the records the sync lost.
    pub(super) fn flushed(&mut self, synced: bool) -> (Vec<(Pid, Outgoing)>, Vec<TaskKey>) {
        self.flush = None;
        let written = std::mem::take(&mut self.written);
        let send = std::mem::take(&mut self.held)
            .into_iter()
            .filter(|h| synced || !h.needs_sync)
            .map(|h| (h.to, h.msg))
            .collect();
        let lost = if synced {
            Vec::new()
        } else {
            written.into_iter().collect()
        };
        (send, lost)
    }
}
