//! The agent's `GET /metrics`: its tasks, pending status updates and
//! resources, and its node's runtime counters, in Prometheus's text format.

use corral_api::task::{task_state_name, TASK_STATES};
use corral_http::prometheus::{Exposition, Kind};
use corral_http::runtime_metrics::write_runtime;
use corral_runtime::MetricsSnapshot;

use crate::state::AgentSnapshot;

/// The exposition of `s` and the node's counters.
pub fn render(s: &AgentSnapshot, runtime: &MetricsSnapshot) -> String {
    let mut e = Exposition::new();
    e.gauge(
        "corral_agent_registered",
        "1 while the master has admitted this agent and the link holds, else 0.",
        u64::from(s.registered),
    );
    e.family(
        "corral_agent_tasks",
        Kind::Gauge,
        "Tasks the agent supervises now, by the latest state it queued.",
    );
    for state in TASK_STATES {
        let n = s.tasks.iter().filter(|t| t.state == state).count() as u64;
        e.sample(
            "corral_agent_tasks",
            &[("state", task_state_name(state))],
            n,
        );
    }
    e.gauge(
        "corral_agent_tasks_completed",
        "Completed tasks the agent keeps for display.",
        s.completed.len() as u64,
    );
    e.gauge(
        "corral_agent_status_updates_pending",
        "Status updates not yet acknowledged by their framework.",
        s.pending_updates,
    );
    e.family(
        "corral_agent_resources",
        Kind::Gauge,
        "The agent's scalar resources: what it offers (total) and what live tasks use (used).",
    );
    for name in ["cpus", "mem", "disk", "gpus"] {
        for (kind, r) in [("total", &s.resources), ("used", &s.used)] {
            let labels = [("resource", name), ("type", kind)];
            e.sample("corral_agent_resources", &labels, r.get(name));
        }
    }
    write_runtime(&mut e, runtime);
    e.finish()
}
