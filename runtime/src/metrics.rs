//! Counters a host keeps about its traffic, readable from any thread.

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter of a [`MetricsSnapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Its name, as the snapshot's field.
    pub name: &'static str,
    /// What it counts, in a sentence.
    pub help: &'static str,
    /// Its value.
    pub value: u64,
}

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// Live counters of one node (or one simulated node).
        ///
        /// Incremented by the node's event loop, read from anywhere (metrics
        /// endpoints, tests). Relaxed atomics: each counter is exact, but a
        /// snapshot is not one instant across counters.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $($(#[doc = $doc])* pub $name: AtomicU64,)*
        }

        /// A copy of every counter of [`Metrics`].
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct MetricsSnapshot {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        impl Metrics {
            /// Reads every counter.
            pub fn snapshot(&self) -> MetricsSnapshot {
                MetricsSnapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl MetricsSnapshot {
            /// Every counter with its name (the field's) and what it
            /// counts (the field's doc), for exporters: a counter added
            /// here is exported with its help text, written once.
            pub fn counters(&self) -> Vec<Counter> {
                vec![$(Counter {
                    name: stringify!($name),
                    help: concat!($($doc),*).trim(),
                    value: self.$name,
                },)*]
            }
        }
    };
}

counters! {
    /// Messages delivered to a handler on this node.
    delivered,
    /// Messages sent to actors on this node.
    sent_local,
    /// Messages encoded for another node.
    sent_remote,
    /// Frames received from other nodes.
    frames_received,
    /// Bytes of frames received from other nodes.
    bytes_received,
    /// Bytes handed to connections for other nodes.
    bytes_sent,
    /// Messages for an actor that does not exist here.
    dropped_no_actor,
    /// Messages whose name the receiving actor has no handler for.
    dropped_no_handler,
    /// Messages dropped because a peer's outgoing backlog was full.
    dropped_backlog,
    /// Messages dropped because the connection to their node failed.
    dropped_unreachable,
    /// Messages refused at the sender for exceeding the size limit.
    dropped_too_large,
    /// Frames or bodies that did not decode.
    decode_errors,
    /// Frames announced larger than the size limit (skipped unread).
    oversized_frames,
    /// Streams that ended in the middle of a frame.
    truncated_frames,
    /// Streams refused for not starting with a valid hello.
    bad_streams,
    /// Replies that arrived after their ask timed out or for unknown asks.
    late_replies,
    /// Connections established (either direction).
    connections_opened,
    /// Connections lost, closed, or that failed to establish.
    connections_lost,
    /// Incoming connections refused during the handshake (e.g. bad certificate).
    handshakes_refused,
}

impl Metrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
