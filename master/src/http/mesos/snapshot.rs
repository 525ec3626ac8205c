//! Mesos's `GET /metrics/snapshot` of a master: a flat object of metric
//! keys (`master/cpus_total`, `master/tasks_running`, `master/elected`,
//! ...) to numbers, as Apache Mesos 1.11 names them (`docs/monitoring.md`).
//!
//! Differences, deliberate: `master/tasks_*` of terminal states count the
//! ended tasks the master keeps (each framework's last 1,000), not every
//! task that ever ended; `*_percent` are fractions from 0 to 1 as in
//! Mesos. Keys Corral has nothing for are left out rather than written 0.

use std::collections::BTreeMap;

use crate::state::MasterMetrics;
use corral_api::task::TaskState;
use corral_http::mesos::usage_gauges;

/// The keys and values; `now_ms` is the wall clock, for the uptime.
pub(in crate::http) fn snapshot(m: &MasterMetrics, now_ms: u64) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut put = |key: &str, value: f64| {
        out.insert(format!("master/{key}"), value);
    };
    usage_gauges(
        |n| m.resources_total.get(n),
        |n| m.resources_used.get(n),
        &mut put,
    );
    put("elected", if m.elected { 1.0 } else { 0.0 });
    let uptime_ms = now_ms.saturating_sub(m.start_time_ms);
    put("uptime_secs", uptime_ms as f64 / 1000.0);
    let (up, down) = (m.agents_connected as f64, m.agents_unreachable as f64);
    put("slaves_active", up + down);
    put("slaves_inactive", 0.0);
    put("slaves_connected", up);
    put("slaves_disconnected", down);
    put("slaves_unreachable", down);
    let (on, off) = (
        m.frameworks_connected as f64,
        m.frameworks_disconnected as f64,
    );
    put("frameworks_active", on + off);
    put("frameworks_inactive", 0.0);
    put("frameworks_connected", on);
    put("frameworks_disconnected", off);
    put("outstanding_offers", m.offers_outstanding as f64);
    let msgs = &m.messages;
    put(
        "messages_framework_to_executor",
        msgs.framework_to_executor as f64,
    );
    put(
        "messages_executor_to_framework",
        msgs.executor_to_framework as f64,
    );
    put(
        "invalid_framework_to_executor_messages",
        msgs.invalid_framework_to_executor as f64,
    );
    put(
        "invalid_executor_to_framework_messages",
        msgs.invalid_executor_to_framework as f64,
    );
    for (state, key) in TASK_KEYS {
        let n = m
            .tasks
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        put(key, n as f64);
    }
    if let Some(cycles) = &m.allocation_cycles {
        out.insert(
            "allocator/mesos/allocation_runs".into(),
            cycles.count as f64,
        );
    }
    out
}

const TASK_KEYS: [(TaskState, &str); 13] = [
    (TaskState::Staging, "tasks_staging"),
    (TaskState::Starting, "tasks_starting"),
    (TaskState::Running, "tasks_running"),
    (TaskState::Killing, "tasks_killing"),
    (TaskState::Unreachable, "tasks_unreachable"),
    (TaskState::Finished, "tasks_finished"),
    (TaskState::Failed, "tasks_failed"),
    (TaskState::Killed, "tasks_killed"),
    (TaskState::Lost, "tasks_lost"),
    (TaskState::Error, "tasks_error"),
    (TaskState::Dropped, "tasks_dropped"),
    (TaskState::Gone, "tasks_gone"),
    (TaskState::GoneByOperator, "tasks_gone_by_operator"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::resources::Quantities;

    #[test]
    fn mesos_keys_carry_the_masters_figures() {
        let m = MasterMetrics {
            resources_total: Quantities::of(&"cpus:4;mem:2048".parse().expect("resources")),
            resources_used: Quantities::of(&"cpus:1;mem:512".parse().expect("resources")),
            tasks: vec![(TaskState::Running, 3), (TaskState::Finished, 2)],
            agents_connected: 2,
            agents_unreachable: 1,
            frameworks_connected: 1,
            offers_outstanding: 4,
            elected: true,
            start_time_ms: 1_000,
            messages: crate::state::MessageCounts {
                framework_to_executor: 5,
                executor_to_framework: 6,
                invalid_framework_to_executor: 7,
                invalid_executor_to_framework: 8,
            },
            ..MasterMetrics::default()
        };
        let s = snapshot(&m, 61_000);
        assert_eq!(s["master/cpus_total"], 4.0);
        assert_eq!(s["master/mem_used"], 512.0);
        assert_eq!(s["master/cpus_percent"], 0.25);
        assert_eq!(s["master/disk_percent"], 0.0, "no disk at all is 0");
        assert_eq!(s["master/elected"], 1.0);
        assert_eq!(s["master/uptime_secs"], 60.0);
        assert_eq!(s["master/slaves_connected"], 2.0);
        assert_eq!(s["master/slaves_unreachable"], 1.0);
        assert_eq!(s["master/frameworks_active"], 1.0);
        assert_eq!(s["master/outstanding_offers"], 4.0);
        assert_eq!(s["master/tasks_running"], 3.0);
        assert_eq!(s["master/tasks_finished"], 2.0);
        assert_eq!(s["master/tasks_lost"], 0.0);
        assert_eq!(s["master/messages_framework_to_executor"], 5.0);
        assert_eq!(s["master/messages_executor_to_framework"], 6.0);
        assert_eq!(s["master/invalid_framework_to_executor_messages"], 7.0);
        assert_eq!(s["master/invalid_executor_to_framework_messages"], 8.0);
        assert!(!s.contains_key("allocator/mesos/allocation_runs"));
        assert!(s.keys().all(|k| k.starts_with("master/")));
    }
}
