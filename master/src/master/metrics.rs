//! The master's counters and its answer to [`GetMetrics`]: counters kept as
//! things happen, gauges computed from its records when asked, and the
//! allocation pass times fetched from the allocator.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_runtime::{Ctx, Handler};

use super::Master;
use crate::allocator::messages::GetCycleTimes;
use crate::state::{GetMetrics, MasterMetrics};
use corral_api::resources::Quantities;
use corral_api::task::TaskState;

/// How long the master waits for the allocator's pass times before it
/// answers without them. The allocator runs on the master's node, so only a
/// pass that is still running can make it wait.
const CYCLE_TIMES_TIMEOUT: Duration = Duration::from_secs(1);

/// Counts since the master started.
#[derive(Clone, Debug, Default)]
pub(super) struct Counters {
    pub offers_sent: u64,
    pub offers_declined: u64,
    pub offers_rescinded: u64,
}

impl Master {
    /// The counters and gauges, without the allocator's part.
    fn metrics(&self) -> MasterMetrics {
        let mut tasks: BTreeMap<TaskState, u64> = BTreeMap::new();
        let completed = self.frameworks.values().flat_map(|f| f.completed.iter());
        for t in self.tasks.values().chain(completed.map(|(_, t)| t)) {
            *tasks.entry(t.state).or_default() += 1;
        }
        let answering = self.agents.values().filter(|a| a.missed_pings == 0).count() as u64;
        let connected = self.frameworks.values().filter(|f| f.pid.is_some()).count() as u64;
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

impl Handler<GetMetrics> for Master {
    fn handle(&mut self, _: GetMetrics, ctx: &mut Ctx<'_, Self>) {
        let Some(reply) = ctx.reply_to() else {
            return; // sent, not asked: nobody to answer
        };
        let metrics = self.metrics();
        match self.allocator.clone() {
            Some(allocator) => {
                ctx.ask(
                    &allocator,
                    GetCycleTimes,
                    CYCLE_TIMES_TIMEOUT,
                    move |_: &mut Self, cycles, ctx| {
                        let metrics = MasterMetrics {
                            allocation_cycles: cycles.ok(),
                            ..metrics
                        };
                        ctx.respond(reply, metrics);
                    },
                );
            }
            None => ctx.respond(reply, metrics),
        }
    }
}
