//! The agent's side of pings: a master that stops pinging may have
//! written this agent off as unreachable while the connection itself
//! stayed up (a stopped process, a one-way cut), so after
//! [`SILENT_PINGS`] intervals without a ping the agent registers again.
//! The master then re-admits it (it reports its tasks), or tells it to
//! shut down if it was removed meanwhile.

use std::time::Duration;

use super::{AgentCore, Now, Timer};
use crate::events::AgentEvent;

/// Ping intervals without a ping after which the agent registers again:
/// fewer than the master's default misses before it gives up on the
/// agent (5), so a live agent is back before it would be removed.
pub(super) const SILENT_PINGS: u32 = 3;

impl AgentCore {
    /// The master pinged (or just admitted the agent): re-arms the watch.
    pub(super) fn pinged(&mut self) {
        if std::mem::take(&mut self.watching_pings) {
            self.cancel_timer(Timer::Watchdog);
        }
        // A zero interval from a confused master must not spin.
        let silence = self.ping_interval.max(Duration::from_secs(1)) * SILENT_PINGS;
        self.set_timer(Timer::Watchdog, silence);
        self.watching_pings = true;
    }

    pub(super) fn master_silent(&mut self, now: &mut Now<'_>) {
        if !self.is_registered() {
            return;
        }
        let silence = self.ping_interval * SILENT_PINGS;
        tracing::warn!(master = %self.master, ?silence, "no ping from the master; registering again");
        self.notify(AgentEvent::Disconnected);
        self.start_registering(now);
    }
}
