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
        self.gauges(tasks, answering, [total, used, offered])
    }
}
