//! The master's metrics as it publishes them: what
//! [`MasterCore::metrics`] counts, from the sums a publication keeps
//! ([`ViewCache`]) instead of a walk over every task, so HTTP readers of
//! `/metrics` never ask the master (`crate::board`).

use std::collections::BTreeMap;

use super::views::ViewCache;
use super::MasterCore;
use crate::state::{MasterMetrics, MasterState};
use corral_api::resources::Quantities;
use corral_api::task::TaskState;

impl MasterCore {
    /// The metrics of `state`, the publication just built with `cache`:
    /// equal to [`metrics`](Self::metrics). Walks the agents and
    /// frameworks, not the tasks.
    pub fn published_metrics(&self, cache: &ViewCache, state: &MasterState) -> MasterMetrics {
        let (live, completed) = cache.counts();
        let mut tasks: BTreeMap<TaskState, u64> = live.states.clone();
        for s in completed {
            for (state, n) in &s.states {
                *tasks.entry(*state).or_default() += n;
            }
        }
        let mut total = Quantities::empty();
        let mut answering = 0;
        for a in self.agents.values() {
            total.add(&a.total);
            answering += u64::from(a.missed_pings == 0);
        }
        let mut used = live.in_use.clone();
        for (_, r) in self.orphans.values() {
            used.add(r);
        }
        let mut offered = Quantities::empty();
        for f in &state.frameworks {
            offered.add_quantities(&f.offered);
        }
        let connected = self.frameworks.values().filter(|f| f.pid.is_some()).count() as u64;
        MasterMetrics {
            elected: self.leading(),
            start_time_ms: self.start_time_ms,
            offers_sent: self.counters.offers_sent,
            offers_declined: self.counters.offers_declined,
            offers_rescinded: self.counters.offers_rescinded,
            offers_outstanding: self.offers.len() as u64,
            tasks: tasks.into_iter().collect(),
            agents_connected: answering,
            agents_unreachable: (self.agents.len() as u64 - answering)
                + self.removed_agents.len() as u64,
            frameworks_connected: connected,
            frameworks_disconnected: self.frameworks.len() as u64 - connected,
            allocation_cycles: None,
            resources_total: total,
            resources_used: used,
            resources_offered: offered,
        }
    }
}
