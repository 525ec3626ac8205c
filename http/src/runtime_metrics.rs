//! A node's runtime counters (`corral_runtime::Metrics`) as Prometheus
//! counters `corral_runtime_*_total`, the same on every node's `/metrics`.

use corral_runtime::MetricsSnapshot;

use crate::prometheus::{Exposition, Kind};

/// Writes every counter of `m`. Messages dropped for any reason are one
/// family, `corral_runtime_messages_dropped_total{reason}`, so a dashboard
/// sums them or splits them without knowing the reasons.
pub fn write_runtime(e: &mut Exposition, m: &MetricsSnapshot) {
    // Destructured without `..`: a counter added to the runtime fails to
    // compile here until it is exported too.
    let MetricsSnapshot {
        delivered,
        sent_local,
        sent_remote,
        frames_received,
        bytes_received,
        bytes_sent,
        dropped_no_actor,
        dropped_no_handler,
        dropped_backlog,
        dropped_unreachable,
        dropped_too_large,
        decode_errors,
        oversized_frames,
        truncated_frames,
        bad_streams,
        late_replies,
        connections_opened,
        connections_lost,
        handshakes_refused,
    } = *m;
    let counters = [
        (
            "corral_runtime_messages_delivered_total",
            "Messages delivered to a handler on this node.",
            delivered,
        ),
        (
            "corral_runtime_messages_sent_local_total",
            "Messages sent to actors on this node.",
            sent_local,
        ),
        (
            "corral_runtime_messages_sent_remote_total",
            "Messages encoded for another node.",
            sent_remote,
        ),
        (
            "corral_runtime_frames_received_total",
            "Frames received from other nodes.",
            frames_received,
        ),
        (
            "corral_runtime_received_bytes_total",
            "Bytes of frames received from other nodes.",
            bytes_received,
        ),
        (
            "corral_runtime_sent_bytes_total",
            "Bytes handed to connections for other nodes.",
            bytes_sent,
        ),
        (
            "corral_runtime_decode_errors_total",
            "Frames or message bodies that did not decode.",
            decode_errors,
        ),
        (
            "corral_runtime_oversized_frames_total",
            "Frames announced larger than the size limit (skipped unread).",
            oversized_frames,
        ),
        (
            "corral_runtime_truncated_frames_total",
            "Streams that ended in the middle of a frame.",
            truncated_frames,
        ),
        (
            "corral_runtime_bad_streams_total",
            "Streams refused for not starting with a valid hello.",
            bad_streams,
        ),
        (
            "corral_runtime_late_replies_total",
            "Replies that came after their ask timed out, or for unknown asks.",
            late_replies,
        ),
        (
            "corral_runtime_connections_opened_total",
            "Connections to other nodes established (either direction).",
            connections_opened,
        ),
        (
            "corral_runtime_connections_lost_total",
            "Connections lost, closed, or that failed to establish.",
            connections_lost,
        ),
        (
            "corral_runtime_handshakes_refused_total",
            "Incoming connections refused during the handshake (e.g. bad certificate).",
            handshakes_refused,
        ),
    ];
    for (name, help, value) in counters {
        e.counter(name, help, value);
    }
    let dropped = "corral_runtime_messages_dropped_total";
    e.family(
        dropped,
        Kind::Counter,
        "Messages dropped, by reason: no such actor, no handler, peer backlog full, \
         peer unreachable, over the size limit.",
    );
    for (reason, value) in [
        ("no_actor", dropped_no_actor),
        ("no_handler", dropped_no_handler),
        ("backlog", dropped_backlog),
        ("unreachable", dropped_unreachable),
        ("too_large", dropped_too_large),
    ] {
        e.sample(dropped, &[("reason", reason)], value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_exported() {
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
            text.contains("corral_runtime_messages_dropped_total{reason=\"backlog\"} 2\n"),
            "{text}"
        );
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 14 + 5, "one sample per counter");
    }
}
