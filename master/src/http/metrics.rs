//! The master's `GET /metrics`: its counters and gauges ([`MasterMetrics`])
//! and its node's runtime counters, in Prometheus's text format.

use corral_runtime::MetricsSnapshot;

use crate::allocator::cycles::CycleTimes;
use crate::state::MasterMetrics;
use corral_api::task::{task_state_name, TASK_STATES};
use corral_http::prometheus::{Exposition, Kind};
use corral_http::runtime_metrics::write_runtime;

/// The exposition of the master's metrics and its node's counters.
pub fn render(m: &MasterMetrics, runtime: &MetricsSnapshot) -> String {
    let mut e = Exposition::new();
    // Without the allocator's answer the histogram is still exported, empty,
    // so the series never disappears from a scrape.
    let cycles = m.allocation_cycles.clone().unwrap_or_default();
    write_cycles(&mut e, &cycles);
    e.counter(
        "corral_offers_sent_total",
        "Offers sent to frameworks.",
        m.offers_sent,
    );
    e.counter(
        "corral_offers_declined_total",
        "Offers frameworks declined.",
        m.offers_declined,
    );
    e.counter(
        "corral_offers_rescinded_total",
        "Offers the master withdrew (timed out, or their agent was removed).",
        m.offers_rescinded,
    );
    e.gauge(
        "corral_offers_outstanding",
        "Offers not yet answered.",
        m.offers_outstanding,
    );
    write_tasks(&mut e, m);
    write_resources(&mut e, m);
    e.family(
        "corral_agents",
        Kind::Gauge,
        "Agents by status: connected (answering pings) or unreachable (missing pings, or removed for it).",
    );
    e.sample(
        "corral_agents",
        &[("status", "connected")],
        m.agents_connected,
    );
    e.sample(
        "corral_agents",
        &[("status", "unreachable")],
        m.agents_unreachable,
    );
    e.gauge(
        "corral_frameworks_connected",
        "Subscribed frameworks with a live connection.",
        m.frameworks_connected,
    );
    e.gauge(
        "corral_frameworks_disconnected",
        "Subscribed frameworks failing over (disconnected, not yet removed).",
        m.frameworks_disconnected,
    );
    write_runtime(&mut e, runtime);
    e.finish()
}

fn write_cycles(e: &mut Exposition, cycles: &CycleTimes) {
    e.histogram(
        "corral_allocation_cycle_seconds",
        "Time of each allocation pass (zero in the simulator, whose clock stands still within an event).",
        &cycles.cumulative_seconds(),
        cycles.sum_seconds(),
        cycles.count,
    );
}

/// The resources Mesos reports, summed over agents (ports as a count), so
/// an operator can alert on a cluster that is full.
fn write_resources(e: &mut Exposition, m: &MasterMetrics) {
    e.family(
        "corral_resources",
        Kind::Gauge,
        "Resources summed over admitted agents: their total, what live tasks use, what is offered. cpus, mem (MB), disk (MB), gpus; ports as a count.",
    );
    let parts = [
        ("total", &m.resources_total),
        ("used", &m.resources_used),
        ("offered", &m.resources_offered),
    ];
    for (state, q) in parts {
        for name in ["cpus", "mem", "disk", "gpus"] {
            e.sample(
                "corral_resources",
                &[("resource", name), ("state", state)],
                q.get(name),
            );
        }
        e.sample(
            "corral_resources",
            &[("resource", "ports"), ("state", state)],
            q.members("ports"),
        );
    }
}

/// One sample per state, zeros included, so every series always exists.
fn write_tasks(e: &mut Exposition, m: &MasterMetrics) {
    e.family(
        "corral_tasks",
        Kind::Gauge,
        "Tasks the master knows (live, and the completed ones it keeps), by state.",
    );
    for state in TASK_STATES {
        let n = m
            .tasks
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        e.sample("corral_tasks", &[("state", task_state_name(state))], n);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use corral_api::task::TaskState;

    #[test]
    fn every_family_is_there_with_its_values() {
        let mut cycles = CycleTimes::default();
        cycles.record(Duration::from_micros(300));
        let m = MasterMetrics {
            offers_sent: 4,
            offers_declined: 1,
            tasks: vec![(TaskState::Running, 2), (TaskState::Finished, 3)],
            agents_connected: 3,
            frameworks_connected: 1,
            allocation_cycles: Some(cycles),
            resources_total: two_agents_of(2.0),
            resources_used: corral_api::resources::Quantities::of(
                &"cpus:0.5;ports:[31000-31001]".parse().unwrap(),
            ),
            ..MasterMetrics::default()
        };
        let text = render(&m, &MetricsSnapshot::default());
        for line in [
            "# TYPE corral_allocation_cycle_seconds histogram",
            "corral_allocation_cycle_seconds_bucket{le=\"0.0005\"} 1",
            "corral_allocation_cycle_seconds_count 1",
            "corral_offers_sent_total 4",
            "corral_offers_declined_total 1",
            "corral_offers_rescinded_total 0",
            "corral_tasks{state=\"TASK_RUNNING\"} 2",
            "corral_tasks{state=\"TASK_FINISHED\"} 3",
            "corral_tasks{state=\"TASK_KILLED\"} 0",
            "corral_agents{status=\"connected\"} 3",
            "corral_agents{status=\"unreachable\"} 0",
            "corral_frameworks_connected 1",
            "corral_resources{resource=\"cpus\",state=\"total\"} 4",
            "corral_resources{resource=\"ports\",state=\"total\"} 2002",
            "corral_resources{resource=\"cpus\",state=\"used\"} 0.5",
            "corral_resources{resource=\"ports\",state=\"used\"} 2",
            "corral_resources{resource=\"mem\",state=\"offered\"} 0",
            "# TYPE corral_runtime_messages_delivered_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    /// Two agents with `cpus` each and the same default ports.
    fn two_agents_of(cpus: f64) -> corral_api::resources::Quantities {
        let agent: corral_api::resources::Resources =
            format!("cpus:{cpus};ports:[31000-32000]").parse().unwrap();
        let mut q = corral_api::resources::Quantities::of(&agent);
        q.add(&agent);
        q
    }

    #[test]
    fn an_absent_histogram_is_exported_empty() {
        let text = render(&MasterMetrics::default(), &MetricsSnapshot::default());
        assert!(text.contains("corral_allocation_cycle_seconds_bucket{le=\"+Inf\"} 0\n"));
    }
}
