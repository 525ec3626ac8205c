//! A node's runtime counters (`corral_runtime::Metrics`) as Prometheus
//! counters `corral_runtime_*_total`, the same on every node's `/metrics`,
//! each with the help text the runtime gives it.

use corral_runtime::{Counter, MetricsSnapshot};

use crate::prometheus::{Exposition, Kind};

/// The family of every `dropped_*` counter, labelled by the rest of its
/// name, so a dashboard sums them or splits them without knowing the
/// reasons.
const DROPPED: &str = "corral_runtime_messages_dropped_total";

/// Writes every counter of `m`.
pub fn write_runtime(e: &mut Exposition, m: &MetricsSnapshot) {
    let counters = m.counters();
    let (dropped, single): (Vec<&Counter>, Vec<&Counter>) = counters
        .iter()
        .partition(|c| c.name.starts_with("dropped_"));
    for c in single {
        e.counter(&exported_name(c.name), c.help, c.value);
    }
    let reasons: Vec<&str> = dropped
        .iter()
        .filter_map(|c| c.name.strip_prefix("dropped_"))
        .collect();
    let help = format!("Messages dropped, by reason ({}).", reasons.join(", "));
    e.family(DROPPED, Kind::Counter, &help);
    for c in dropped {
        let reason = c.name.trim_start_matches("dropped_");
        e.sample(DROPPED, &[("reason", reason)], c.value);
    }
}

/// `corral_runtime_{name}_total`, under the names dashboards already use
/// for the message and byte counters.
fn exported_name(counter: &str) -> String {
    let name = match counter {
        "delivered" => "messages_delivered",
        "sent_local" => "messages_sent_local",
        "sent_remote" => "messages_sent_remote",
        "bytes_received" => "received_bytes",
        "bytes_sent" => "sent_bytes",
        other => other,
    };
    format!("corral_runtime_{name}_total")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_exported_with_the_runtimes_help() {
        let m = MetricsSnapshot {
            delivered: 3,
            dropped_backlog: 2,
            ..MetricsSnapshot::default()
        };
        let mut e = Exposition::new();
        write_runtime(&mut e, &m);
        let text = e.finish();
        assert!(
            text.contains("\ncorral_runtime_messages_delivered_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# HELP corral_runtime_messages_delivered_total Messages delivered to a handler on this node.\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("corral_runtime_messages_dropped_total{reason=\"backlog\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("corral_runtime_received_bytes_total 0\n"),
            "{text}"
        );
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, m.counters().len(), "one sample per counter");
        let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
        let families = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        assert_eq!(helps, families, "every family says what it counts");
        assert!(
            text.lines()
                .filter(|l| l.starts_with("# HELP"))
                .all(|l| l.split(' ').count() > 4),
            "{text}"
        );
    }
}
