//! The production host: one OS thread running one single-threaded actix-rt
//! event loop that drives a [`Kernel`], with QUIC (quinn + rustls) to other
//! nodes.
//!
//! Why one thread: on small machines the cost of waking a sleeping thread
//! (~30 µs measured here) dominates message latency, and a single loop keeps
//! actors, timers and I/O on one core without locks. Outgoing messages are
//! encoded straight into one buffer per peer and written as large chunks when
//! the run queue drains; each peer pair talks over one bidirectional stream,
//! which is what keeps per-sender order.
//!
//! [`Node`] is the handle the rest of the process holds: spawn actors, send or
//! ask from outside, read metrics, shut down.

// The node host is the seam between actors and the machine: it does the
// file, process, thread and clock work that actor code may not (clippy.toml).
#![allow(clippy::disallowed_methods)]

mod config;
mod conn;
mod event_loop;
mod host;
mod process;
mod proxy;
mod redb_store;
mod reset_key;
mod socket;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

pub use config::{ConfigError, NodeConfig};
pub use process::user_ids;
pub use redb_store::RedbStorage;
pub use reset_key::{ResetKeyError, RESET_KEY_BYTES, RESET_KEY_FILE};

use crate::actor::Actor;
use crate::ctx::AskError;
use crate::kernel::{Kernel, SpawnError};
use crate::message::{Message, Request};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::pid::{Pid, PidError};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS identity could not be loaded or built.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The node's thread could not be started or died while starting.
    #[error("node thread failed: {0}")]
    Thread(String),
    /// The durable store under `data_dir` could not be opened.
    #[error("cannot open the node's store at {}: {error}", path.display())]
    Storage {
        /// The database file.
        path: std::path::PathBuf,
        /// Why it failed.
        error: crate::storage::StorageError,
    },
    /// The stateless-reset key file could not be read or created.
    #[error("cannot use the node's reset key file {}: {error}", path.display())]
    ResetKey {
        /// The key file.
        path: std::path::PathBuf,
        /// Why it failed.
        error: ResetKeyError,
    },
}

pub(crate) type Command = Box<dyn FnOnce(&mut Kernel) + Send>;

pub(crate) enum Control {
    Run(Command),
    Shutdown,
}

/// A running node: the handle to its event loop thread.
///
/// Dropping it shuts the node down (its actors stop without `stopped`
/// callbacks, its connections close).
pub struct Node {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    control: tokio::sync::mpsc::UnboundedSender<Control>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
    next_proxy: AtomicU64,
    handle_pid: Pid,
}

impl Node {
    /// Starts a node: binds its QUIC endpoint, then runs its event loop on a
    /// new thread. Returns once the node is listening.
    pub fn start(cfg: NodeConfig) -> Result<Node, NodeError> {
        cfg.validate()?;
        let metrics = Arc::new(Metrics::default());
        let (control, control_rx) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread_metrics = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("corral-node".into())
            .spawn(move || event_loop::run(cfg, thread_metrics, control_rx, ready_tx))
            .map_err(|e| NodeError::Thread(e.to_string()))?;
        let addr = match ready_rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(NodeError::Thread("exited before it was ready".into()));
            }
        };
        let thread_id = thread.thread().id();
        let handle_pid = Pid::new("$node", addr).map_err(|e| NodeError::Thread(e.to_string()))?;
        Ok(Node {
            addr,
            metrics,
            control,
            thread: Some(thread),
            thread_id,
            next_proxy: AtomicU64::new(0),
            handle_pid,
        })
    }

    /// The node's advertised address (with the real port if it bound port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The pid an actor named `name` has on this node.
    pub fn pid(&self, name: &str) -> Result<Pid, PidError> {
        Pid::new(name, self.addr)
    }

    /// The node's live counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Shared counters, for metrics endpoints that read them continuously.
    pub fn metrics_handle(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Runs `f` on the event loop with the node's kernel and waits for its result.
    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Kernel) -> R + Send + 'static,
    ) -> Option<R> {
        assert_ne!(
            std::thread::current().id(),
            self.thread_id,
            "blocking Node calls from inside the node's own event loop would deadlock"
        );
        let (tx, rx) = mpsc::channel();
        let cmd: Command = Box::new(move |k| {
            let _ = tx.send(f(k));
        });
        self.control.send(Control::Run(cmd)).ok()?;
        rx.recv().ok()
    }

    /// Starts `actor` under `name` on this node.
    pub fn spawn<A: Actor + Send>(&self, name: &str, actor: A) -> Result<Pid, SpawnError> {
        let name = name.to_owned();
        self.call(move |k| k.spawn_actor(&name, actor))
            .unwrap_or(Err(SpawnError::NodeStopped))
    }

    /// Spawns the actor that `make` builds on the node's event loop thread,
    /// for actors that cannot cross threads (they hold `Rc`s, e.g. an
    /// observer callback).
    pub fn spawn_with<A, F>(&self, name: &str, make: F) -> Result<Pid, SpawnError>
    where
        A: Actor,
        F: FnOnce() -> A + Send + 'static,
    {
        let name = name.to_owned();
        self.call(move |k| k.spawn_actor(&name, make()))
            .unwrap_or(Err(SpawnError::NodeStopped))
    }

    /// Sends a one-way message from outside any actor (the sender is the
    /// node's pseudo-pid `$node`, which has no handlers).
    pub fn send<M: Message>(&self, to: &Pid, msg: M) {
        let from = self.handle_pid.clone();
        let to = to.clone();
        let cmd: Command = Box::new(move |k| k.send(from, &to, msg));
        let _ = self.control.send(Control::Run(cmd));
    }

    /// Asks from outside any actor and blocks this thread for the reply.
    ///
    /// # Panics
    /// When called on the node's own event-loop thread (it would deadlock).
    pub fn ask<M: Request>(
        &self,
        to: &Pid,
        msg: M,
        timeout: Duration,
    ) -> Result<M::Reply, AskError> {
        let n = self.next_proxy.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let proxy = proxy::AskProxy::new(to.clone(), msg, timeout, tx);
        let spawned = self.call(move |k| k.spawn_actor(&format!("$ask-{n}"), proxy));
        match spawned {
            Some(Ok(_)) => rx.recv().unwrap_or(Err(AskError::Timeout)),
            // Only a node that stopped refuses a fresh `$ask-N` name.
            _ => Err(AskError::Timeout),
        }
    }

    /// Whether the node's event loop has ended (shut down, or its thread
    /// died), for a binary that shares the node and must not outlive it.
    pub fn is_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the event loop and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_thread();
    }

    /// Blocks until the node stops (for binaries whose main job is the node).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn stop_thread(&mut self) {
        let _ = self.control.send(Control::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
