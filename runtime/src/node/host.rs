//! What a node's event loop and its connection and process tasks share, on
//! one thread: the kernel, the peers and the node's identity ([`Host`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use quinn::Connection;
use tokio::sync::Notify;

use super::NodeConfig;
use crate::kernel::{Kernel, Outgoing};
use crate::metrics::Metrics;

/// The state the event loop and its connection tasks share (one thread).
pub(crate) struct Host {
    pub(crate) kernel: RefCell<Kernel>,
    pub(crate) peers: RefCell<BTreeMap<SocketAddr, Peer>>,
    /// Wakes the loop: new frames or a peer failure.
    pub(crate) wake: Notify,
    /// Wakes readers paused because the run queue was full.
    pub(crate) drained: Notify,
    pub(crate) endpoint: quinn::Endpoint,
    pub(crate) addr: SocketAddr,
    pub(crate) incarnation: u64,
    pub(crate) cfg: NodeConfig,
    pub(crate) metrics: Arc<Metrics>,
    /// OS pid (= process group id) of each running process, until it is
    /// reaped; see `process.rs`.
    pub(crate) processes: RefCell<BTreeMap<crate::process::ProcessId, u32>>,
    /// When the node started: its monotonic clock counts from here.
    pub(crate) clock_start: std::time::Instant,
}

/// What this node knows about one peer node.
pub(crate) struct Peer {
    /// The connection this node sends on; None while dialing.
    pub(crate) conn: Option<Connection>,
    pub(crate) queue: VecDeque<Outgoing>,
    pub(crate) writer: Rc<Notify>,
    pub(crate) incarnation: Option<u64>,
}

impl Peer {
    pub(crate) fn new() -> Peer {
        Peer {
            conn: None,
            queue: VecDeque::new(),
            writer: Rc::new(Notify::new()),
            incarnation: None,
        }
    }

    pub(crate) fn conn_id(&self) -> Option<usize> {
        self.conn.as_ref().map(Connection::stable_id)
    }
}
