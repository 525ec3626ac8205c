//! The master's counters and gauges: counters kept as things happen,
//! gauges computed from its records when asked (the shell adds the
//! allocator's pass times).

use std::collections::BTreeMap;

use super::MasterCore;
use crate::state::{MasterMetrics, MessageCounts};
use corral_api::resources::Quantities;
use corral_api::task::TaskState;

/// Counts since the master started.
#[derive(Clone, Debug, Default)]
pub(super) struct Counters {
    pub offers_sent: u64,
    pub offers_declined: u64,
    pub offers_rescinded: u64,
    pub messages: MessageCounts,
}

impl MasterCore {
    /// The counters and gauges, without the allocator's part.
    pub fn metrics(&self) -> MasterMetrics {
        let mut tasks: BTreeMap<TaskState, u64> = BTreeMap::new();
        let completed = self.frameworks.values().flat_map(|f| f.completed.iter());
        for t in self.tasks.values().chain(completed.map(|(_, t)| t)) {
            *tasks.entry(t.state).or_default() += 1;
        }
        let answering = self.agents.values().filter(|a| a.missed_pings == 0).count() as u64;
        let (mut total, mut used, mut offered) = (
            Quantities::empty(),
            Quantities::empty(),
            Quantities::empty(),
        );
        for a in self.agents.values() {
            total.add(&a.total);
        }
        for t in self.tasks.values().filter(|t| !t.state.is_terminal()) {
            used.add(&t.resources);
        }
        for (_, r) in self.orphans.values() {
            used.add(r);
        }
        for o in self.offers.offered() {
            offered.add(&o.resources);
        }
        self.gauges(tasks, answering, [total, used, offered])
    }

    /// The metrics from what was counted (tasks by state, agents answering
    /// pings, resources total, used and offered) and the master's own
    /// counters: one shape for [`metrics`](Self::metrics) and
    /// [`published_metrics`](Self::published_metrics).
    pub(super) fn gauges(
        &self,
        tasks: BTreeMap<TaskState, u64>,
        answering: u64,
        [total, used, offered]: [Quantities; 3],
    ) -> MasterMetrics {
        let connected = self.frameworks.values().filter(|f| f.pid.is_some()).count() as u64;
        MasterMetrics {
            elected: self.leading(),
            start_time_ms: self.start_time_ms,
            offers_sent: self.counters.offers_sent,
            offers_declined: self.counters.offers_declined,
            offers_rescinded: self.counters.offers_rescinded,
            messages: self.counters.messages.clone(),
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
