//! The simulator host: many nodes' kernels in one thread, on a virtual clock,
//! over a simulated network, every random choice drawn from one seed.
//!
//! Events sit in one queue ordered by (virtual time, sequence); [`Sim::step`]
//! takes the first, applies it to its node's [`Kernel`] and schedules what
//! follows (frames to deliver, timers to wake). The same seed gives the same
//! run, checked by [`Sim::trace_hash`], a hash folded over every event.
//!
//! The network model follows what the node host's QUIC connections show
//! actors: each direction between two nodes is one ordered pipe with a seeded
//! latency; frames never reorder inside a pipe, but pipes race each other. A
//! cut pipe holds its frames; healed within the link timeout they arrive late
//! (QUIC retransmits), otherwise the connection dies: frames are lost and both
//! kernels get `handle_peer_down`, as the node host's idle timeout does. A
//! crashed node loses its kernel (memory); peers notice after the link timeout,
//! or at once when the restarted node, with a new incarnation, reaches them.

mod check;
mod disk;
mod net;
mod procs;
mod trace;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;

use crate::codec::DEFAULT_MAX_MESSAGE_BYTES;
use crate::kernel::{Kernel, KernelConfig};
use crate::message::Message;
use crate::metrics::Metrics;
use crate::pid::Pid;
use crate::process::{ExitStatus, ProcessId, ProcessRequest};
use crate::time::Time;

pub use check::{Invariant, Violation};
use disk::{DiskState, SimDisk};
pub use net::{Latency, PipeState};
use net::{Pipe, Ship};
pub use procs::{default_model, ProcessActors, ProcessModel, SimProcess};
use trace::Trace;

/// Events run per node per step before other nodes get a turn, so an actor
/// that keeps messaging itself cannot stall virtual time.
const RUN_BUDGET: usize = 10_000;

/// The simulated world's parameters. Durations are virtual.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The one seed every random choice comes from.
    pub seed: u64,
    /// One-way latency of every pipe, unless [`Sim::set_latency`] overrides
    /// a link. Default uniform between 100 µs and 2 ms.
    pub latency: Latency,
    /// How long a silent peer takes to be declared dead. Default 10 s.
    pub link_timeout: Duration,
    /// Probability that sending a batch breaks its connection. Default 0.
    pub break_probability: f64,
    /// Largest clock drift of a node, in parts per million (each node draws
    /// its own within ±). Default 0.
    pub max_drift_ppm: u32,
    /// Largest message, in bytes. Default 16 MiB.
    pub max_message_bytes: usize,
    /// Encode local messages too, catching serde bugs (default true).
    pub encode_local: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 0,
            latency: Latency::Uniform {
                min: Duration::from_micros(100),
                max: Duration::from_millis(2),
            },
            link_timeout: Duration::from_secs(10),
            break_probability: 0.0,
            max_drift_ppm: 0,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            encode_local: true,
        }
    }
}

/// Spawns a node's actors into a fresh kernel, at start and at each restart.
pub type Boot = Box<dyn FnMut(&mut Kernel)>;

struct SimNode {
    kernel: Option<Kernel>,
    boot: Boot,
    metrics: Arc<Metrics>,
    incarnation: u64,
    drift_ppm: i64,
    /// The earliest wake-up already queued for this node.
    wake_at: Option<Time>,
    /// The incarnation of each peer this node last heard from.
    seen: BTreeMap<SocketAddr, u64>,
    /// The node's disk: survives crashes, minus unsynced writes.
    disk: Rc<RefCell<DiskState>>,
    /// Simulated processes still running.
    processes: BTreeSet<ProcessId>,
    /// Running processes that an actor on this node stands in for, with
    /// the actor's name (see [`Sim::set_process_actors`]).
    actor_processes: BTreeMap<ProcessId, String>,
    /// The kernel's count of removed actors when `actor_processes` was last
    /// checked; None when it must be checked at the next run (an entry was
    /// added, or a new kernel booted). An agent node holds one stand-in per
    /// task, so checking them all after every run was quadratic.
    checked_at_removals: Option<u64>,
}

#[derive(Debug)]
enum Event {
    Arrive {
        from: SocketAddr,
        to: SocketAddr,
        epoch: u64,
        incarnation: u64,
        bytes: Vec<u8>,
    },
    Wake(SocketAddr),
    /// A pipe cut at `cut_epoch` times out if it is still cut.
    CutTimeout {
        from: SocketAddr,
        to: SocketAddr,
        cut_epoch: u64,
    },
    /// `node` tried to reach a node that is not there: its dial timed out.
    DialFailed {
        node: SocketAddr,
        peer: SocketAddr,
    },
    /// A simulated process ends: by itself, or `forced` by a signal.
    ProcessEnd {
        node: SocketAddr,
        incarnation: u64,
        id: ProcessId,
        status: ExitStatus,
        forced: bool,
    },
    /// `node` stops hearing from `peer`'s incarnation `incarnation`.
    Silence {
        node: SocketAddr,
        peer: SocketAddr,
        incarnation: u64,
    },
}

/// Why a simulator call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No node has this address.
    #[error("no simulated node at {0}")]
    NoSuchNode(SocketAddr),
    /// A node with this address exists already.
    #[error("a simulated node at {0} exists already")]
    NodeExists(SocketAddr),
    /// The node is crashed.
    #[error("simulated node {0} is down")]
    NodeDown(SocketAddr),
}

/// A simulated cluster. See the module doc.
pub struct Sim {
    cfg: SimConfig,
    now: Time,
    rng: ChaCha12Rng,
    nodes: BTreeMap<SocketAddr, SimNode>,
    pipes: BTreeMap<(SocketAddr, SocketAddr), Pipe>,
    events: BTreeMap<(Time, u64), Event>,
    next_seq: u64,
    trace: Trace,
    steps: u64,
    process_model: ProcessModel,
    process_actors: Option<ProcessActors>,
    invariants: Vec<(&'static str, Invariant)>,
}

impl Sim {
    /// An empty world at virtual time zero.
    pub fn new(cfg: SimConfig) -> Sim {
        Sim {
            rng: ChaCha12Rng::seed_from_u64(cfg.seed),
            cfg,
            now: Time::ZERO,
            nodes: BTreeMap::new(),
            pipes: BTreeMap::new(),
            events: BTreeMap::new(),
            next_seq: 0,
            trace: Trace::default(),
            steps: 0,
            process_model: Box::new(default_model),
            process_actors: None,
            invariants: Vec::new(),
        }
    }

    /// Virtual time now.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Events applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The hash of every event so far: equal for equal seeds.
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }

    /// Keeps a readable line per event (for replaying a failing seed).
    pub fn record_trace(&mut self, on: bool) {
        self.trace.record(on);
    }

    /// The recorded event lines, if recording is on.
    pub fn trace_lines(&self) -> &[String] {
        self.trace.lines()
    }

    /// Draws from the simulation's random source (for fault schedules).
    pub fn rng(&mut self) -> &mut impl RngCore {
        &mut self.rng
    }

    /// Adds a node at `addr`; `boot` spawns its actors now and after each restart.
    pub fn add_node(
        &mut self,
        addr: SocketAddr,
        boot: impl FnMut(&mut Kernel) + 'static,
    ) -> Result<(), SimError> {
        if self.nodes.contains_key(&addr) {
            return Err(SimError::NodeExists(addr));
        }
        let max = i64::from(self.cfg.max_drift_ppm);
        let drift_ppm = if max == 0 {
            0
        } else {
            self.rng.random_range(-max..=max)
        };
        let metrics = Arc::new(Metrics::default());
        let disk = Rc::new(RefCell::new(DiskState::new(self.rng.next_u64())));
        self.nodes.insert(
            addr,
            SimNode {
                kernel: None,
                boot: Box::new(boot),
                metrics,
                incarnation: 0,
                drift_ppm,
                wake_at: None,
                seen: BTreeMap::new(),
                disk,
                processes: BTreeSet::new(),
                actor_processes: BTreeMap::new(),
                checked_at_removals: None,
            },
        );
        self.boot(addr);
        Ok(())
    }

    fn boot(&mut self, addr: SocketAddr) {
        let seed = self.rng.next_u64();
        let cfg = &self.cfg;
        let Some(node) = self.nodes.get_mut(&addr) else {
            return;
        };
        node.incarnation += 1;
        let mut kernel = Kernel::new(
            KernelConfig {
                addr,
                seed,
                unix_epoch_ms: 1_700_000_000_000,
                max_message_bytes: cfg.max_message_bytes,
                max_backlog_bytes: usize::MAX / 2,
                encode_local: cfg.encode_local,
            },
            node.metrics.clone(),
        );
        kernel.set_now(local_time(self.now, node.drift_ppm));
        kernel.set_storage(Box::new(SimDisk(node.disk.clone())));
        (node.boot)(&mut kernel);
        node.kernel = Some(kernel);
        node.checked_at_removals = None;
        node.wake_at = None;
        let incarnation = node.incarnation;
        self.trace
            .note(self.now, "boot", addr, &incarnation.to_le_bytes(), || {
                format!("incarnation {incarnation}")
            });
        self.schedule(self.now, Event::Wake(addr));
    }

    /// A node's counters (they survive restarts).
    pub fn metrics(&self, addr: SocketAddr) -> Option<&Arc<Metrics>> {
        self.nodes.get(&addr).map(|n| &n.metrics)
    }

    /// Whether the node is up.
    pub fn is_up(&self, addr: SocketAddr) -> bool {
        self.nodes.get(&addr).is_some_and(|n| n.kernel.is_some())
    }

    /// Node addresses, in order.
    pub fn node_addrs(&self) -> Vec<SocketAddr> {
        self.nodes.keys().copied().collect()
    }

    /// Sends a message from outside any actor (`from` need not exist).
    pub fn send<M: Message>(&mut self, from: Pid, to: &Pid, msg: M) -> Result<(), SimError> {
        let addr = to.addr();
        let node = self
            .nodes
            .get_mut(&addr)
            .ok_or(SimError::NoSuchNode(addr))?;
        let kernel = node.kernel.as_mut().ok_or(SimError::NodeDown(addr))?;
        kernel.send(from, to, msg);
        self.schedule(self.now, Event::Wake(addr));
        Ok(())
    }

    /// Crashes a node: its actors, timers and unsent frames vanish; frames to
    /// it are lost; peers notice after the link timeout.
    pub fn crash(&mut self, addr: SocketAddr) -> Result<(), SimError> {
        let node = self
            .nodes
            .get_mut(&addr)
            .ok_or(SimError::NoSuchNode(addr))?;
        if node.kernel.take().is_none() {
            return Err(SimError::NodeDown(addr));
        }
        let incarnation = node.incarnation;
        node.seen.clear();
        // The machine goes down with its processes and unsynced writes.
        node.processes.clear();
        node.actor_processes.clear();
        let lost = node.disk.borrow_mut().crash() as u64;
        let data = [incarnation, lost].map(u64::to_le_bytes).concat();
        self.trace.note(self.now, "crash", addr, &data, || {
            format!("incarnation {incarnation}, {lost} unsynced writes lost")
        });
        for ((a, b), pipe) in self.pipes.iter_mut() {
            if *a == addr || *b == addr {
                pipe.reset();
            }
        }
        let at = self.now + self.cfg.link_timeout;
        let peers: Vec<SocketAddr> = self.nodes.keys().copied().filter(|p| *p != addr).collect();
        for peer in peers {
            self.schedule(
                at,
                Event::Silence {
                    node: peer,
                    peer: addr,
                    incarnation,
                },
            );
        }
        Ok(())
    }

    /// Restarts a crashed node: a fresh kernel booted by its `boot`.
    pub fn restart(&mut self, addr: SocketAddr) -> Result<(), SimError> {
        let node = self.nodes.get(&addr).ok_or(SimError::NoSuchNode(addr))?;
        if node.kernel.is_some() {
            return Err(SimError::NodeExists(addr));
        }
        self.boot(addr);
        Ok(())
    }

    /// Cuts the pipe from `from` to `to` (one way). Frames are held; if not
    /// healed within the link timeout the connection dies on both ends.
    pub fn cut(&mut self, from: SocketAddr, to: SocketAddr) {
        let pipe = self.pipes.entry((from, to)).or_default();
        if let Some(cut_epoch) = pipe.cut() {
            self.trace.note(self.now, "cut", from, &port_bytes(to), || {
                format!("peer {}", to)
            });
            self.schedule_cut_timeout(from, to, cut_epoch);
        }
    }

    /// A cut connection dies if the cut still holds a link timeout from now.
    fn schedule_cut_timeout(&mut self, from: SocketAddr, to: SocketAddr, cut_epoch: u64) {
        let at = self.now + self.cfg.link_timeout;
        self.schedule(
            at,
            Event::CutTimeout {
                from,
                to,
                cut_epoch,
            },
        );
    }

    /// Cuts both directions between `a` and `b`.
    pub fn partition(&mut self, a: SocketAddr, b: SocketAddr) {
        self.cut(a, b);
        self.cut(b, a);
    }

    /// Heals the pipe from `from` to `to`: held frames go on, late.
    pub fn heal(&mut self, from: SocketAddr, to: SocketAddr) {
        let Some(pipe) = self.pipes.get_mut(&(from, to)) else {
            return;
        };
        let held = pipe.heal();
        self.trace
            .note(self.now, "heal", from, &port_bytes(to), || {
                format!("peer {}", to)
            });
        for (incarnation, bytes) in held {
            self.ship(from, to, incarnation, bytes);
        }
    }

    /// Heals both directions between `a` and `b`.
    pub fn heal_both(&mut self, a: SocketAddr, b: SocketAddr) {
        self.heal(a, b);
        self.heal(b, a);
    }

    /// From now on, each put, delete and sync on the node's disk fails with
    /// this probability (0 to 1).
    pub fn set_write_failure(
        &mut self,
        addr: SocketAddr,
        probability: f64,
    ) -> Result<(), SimError> {
        let node = self.nodes.get(&addr).ok_or(SimError::NoSuchNode(addr))?;
        node.disk.borrow_mut().set_fail_probability(probability);
        Ok(())
    }

    /// Entries on the node's disk that would survive a crash now.
    pub fn durable_entries(&self, addr: SocketAddr) -> Option<usize> {
        self.nodes.get(&addr).map(|n| n.disk.borrow().durable_len())
    }

    /// Replaces the model deciding how simulated processes behave.
    pub fn set_process_model(&mut self, model: ProcessModel) {
        self.process_model = model;
    }

    /// Lets actors stand in for some launched processes: for each launch,
    /// `hook` sees the process's spec and the launching node's kernel; if
    /// it spawns an actor there and returns its name, that actor *is* the
    /// process (the process model is not consulted). The process ends,
    /// `Exited(0)`, when the actor stops by itself; a signal kills the
    /// actor at once (no `stopped`) together with the processes it
    /// launched, and the launcher sees `Signaled`; a crash takes it with
    /// the node. This is how a whole program — e.g. the command executor
    /// an agent starts — runs inside the simulation, on its machine.
    pub fn set_process_actors(&mut self, hook: ProcessActors) {
        self.process_actors = Some(hook);
    }

    /// Simulated processes running on a node.
    pub fn running_processes(&self, addr: SocketAddr) -> usize {
        self.nodes.get(&addr).map_or(0, |n| n.processes.len())
    }

    /// Sets the latency of the link from `from` to `to` (one direction).
    pub fn set_latency(&mut self, from: SocketAddr, to: SocketAddr, latency: Latency) {
        self.pipes
            .entry((from, to))
            .or_default()
            .set_latency(latency);
    }

    /// Frames from `from` to `to` arrive no earlier than `until` (a slow link).
    pub fn clog(&mut self, from: SocketAddr, to: SocketAddr, until: Time) {
        self.pipes.entry((from, to)).or_default().clog(until);
    }

    fn schedule(&mut self, at: Time, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.insert((at.max(self.now), seq), event);
    }

    /// When the next event is due, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.events.keys().next().map(|(t, _)| *t)
    }

    /// Applies the next event; false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), event)) = self.events.pop_first() else {
            return false;
        };
        self.now = at;
        self.steps += 1;
        match event {
            Event::Wake(addr) => {
                if let Some(n) = self.nodes.get_mut(&addr) {
                    if n.wake_at == Some(at) {
                        n.wake_at = None;
                    }
                }
                self.run_node(addr);
            }
            Event::Arrive {
                from,
                to,
                epoch,
                incarnation,
                bytes,
            } => self.arrive(from, to, epoch, incarnation, &bytes),
            Event::CutTimeout {
                from,
                to,
                cut_epoch,
            } => {
                let timed_out = self
                    .pipes
                    .get_mut(&(from, to))
                    .is_some_and(|p| p.time_out(cut_epoch));
                if timed_out {
                    self.trace
                        .note(self.now, "conn-lost", from, &port_bytes(to), || {
                            format!("peer {}", to)
                        });
                    self.connection_lost(from, to);
                }
            }
            Event::ProcessEnd {
                node,
                incarnation,
                id,
                status,
                forced,
            } => self.end_process(node, incarnation, id, status, forced),
            Event::DialFailed { node, peer } => {
                if !self.is_up(peer) {
                    self.peer_down(node, peer);
                }
            }
            Event::Silence {
                node,
                peer,
                incarnation,
            } => {
                let heard = self
                    .nodes
                    .get(&node)
                    .and_then(|n| n.seen.get(&peer))
                    .copied();
                if heard == Some(incarnation) {
                    self.peer_down(node, peer);
                }
            }
        }
        true
    }

    /// Runs until virtual time passes `until` or nothing is left to happen.
    pub fn run_until(&mut self, until: Time) {
        while self.next_event_time().is_some_and(|t| t <= until) {
            self.step();
        }
        self.now = self.now.max(until);
    }

    fn connection_lost(&mut self, a: SocketAddr, b: SocketAddr) {
        for key in [(a, b), (b, a)] {
            if let Some(p) = self.pipes.get_mut(&key) {
                p.reset();
            }
        }
        self.peer_down(a, b);
        self.peer_down(b, a);
    }

    fn peer_down(&mut self, node: SocketAddr, peer: SocketAddr) {
        let Some(n) = self.nodes.get_mut(&node) else {
            return;
        };
        n.seen.remove(&peer);
        if let Some(k) = n.kernel.as_mut() {
            k.handle_peer_down(peer);
            self.trace
                .note(self.now, "peer-down", node, &port_bytes(peer), || {
                    format!("peer {}", peer)
                });
            self.schedule(self.now, Event::Wake(node));
        }
    }

    fn arrive(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        epoch: u64,
        incarnation: u64,
        bytes: &[u8],
    ) {
        let current = self
            .pipes
            .get(&(from, to))
            .is_some_and(|p| p.epoch() == epoch);
        let Some(node) = self.nodes.get_mut(&to) else {
            return;
        };
        if !current || node.kernel.is_none() {
            self.trace
                .note(self.now, "lost", to, &port_bytes(from), || {
                    format!("peer {}", from)
                });
            return;
        }
        // A new incarnation of the sender: the node host sees a new hello
        // and fails the old connection's links at once.
        let restarted = node
            .seen
            .insert(from, incarnation)
            .is_some_and(|old| old != incarnation);
        if restarted {
            if let Some(k) = node.kernel.as_mut() {
                k.handle_peer_down(from);
            }
        }
        self.trace.note(self.now, "arrive", to, bytes, || {
            describe_frames(from, bytes)
        });
        if let Some(kernel) = node.kernel.as_mut() {
            // Batches come from a kernel's own encoder: whole frames, each
            // already checked against the size limit when it was written.
            for payload in crate::codec::whole_frames(bytes) {
                if let Err(e) = kernel.handle_frame(from, None, payload) {
                    tracing::warn!(node = %to, error = %e, "frame dropped");
                }
            }
        }
        self.run_node(to);
    }

    fn run_node(&mut self, addr: SocketAddr) {
        let Some(node) = self.nodes.get_mut(&addr) else {
            return;
        };
        let drift = node.drift_ppm;
        let incarnation = node.incarnation;
        let Some(kernel) = node.kernel.as_mut() else {
            return;
        };
        kernel.set_now(local_time(self.now, drift));
        kernel.fire_timers();
        let ran = kernel.run(RUN_BUDGET);
        // A stand-in can only have ended if some actor was removed since
        // the last check (or it was never checked).
        let removals = Some(kernel.actors_removed());
        let ended = if node.checked_at_removals == removals {
            Vec::new()
        } else {
            node.checked_at_removals = removals;
            ended_actor_processes(&mut node.actor_processes, kernel)
        };
        for id in &ended {
            node.processes.remove(id);
            kernel.handle_process_exit(*id, ExitStatus::Exited(0));
        }
        let more = kernel.queue_len() > 0;
        let outgoing = kernel.take_outgoing();
        // The simulated network takes every batch at once: written now.
        for out in &outgoing {
            kernel.note_written(out.addr, out.bytes.len());
        }
        let requests = kernel.take_process_requests();
        let deadline = kernel.next_deadline().map(|t| global_time(t, drift));
        let delivered = node
            .metrics
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&(ran as u64).to_le_bytes());
        data[8..].copy_from_slice(&delivered.to_le_bytes());
        self.trace.note(self.now, "run", addr, &data, || {
            format!("{ran} events ({delivered} messages delivered so far)")
        });
        for id in ended {
            self.trace
                .note(self.now, "exit", addr, &id.0.to_le_bytes(), || {
                    format!("process {} (its actor stopped)", id.0)
                });
        }
        for out in outgoing {
            self.send_batch(addr, out.addr, incarnation, out.bytes);
        }
        for req in requests {
            self.process_request(addr, incarnation, req);
        }
        if more {
            self.schedule(self.now, Event::Wake(addr));
        }
        if let Some(at) = deadline {
            let node = self.nodes.get_mut(&addr);
            if let Some(n) = node {
                if n.wake_at.is_none_or(|w| at < w) {
                    n.wake_at = Some(at);
                    self.schedule(at, Event::Wake(addr));
                }
            }
        }
    }

    fn process_request(&mut self, addr: SocketAddr, incarnation: u64, req: ProcessRequest) {
        match req {
            ProcessRequest::Launch { id, spec } => {
                if self.launch_actor(addr, id, &spec) {
                    return;
                }
                let p = (self.process_model)(&spec, &mut self.rng);
                if let Some(n) = self.nodes.get_mut(&addr) {
                    n.processes.insert(id);
                }
                let status = ExitStatus::Exited(p.exit_code);
                let at = self.now + p.runs_for;
                self.schedule_end("launch", at, addr, incarnation, id, status, false);
            }
            ProcessRequest::Signal { id, signal } => {
                let running = self
                    .nodes
                    .get_mut(&addr)
                    .is_some_and(|n| n.processes.remove(&id));
                if running {
                    self.kill_process_actor(addr, id);
                    let status = ExitStatus::Signaled(signal.number());
                    self.schedule_end("signal", self.now, addr, incarnation, id, status, true);
                }
            }
        }
    }

    /// Offers a launch to the process-actor hook; true if an actor now
    /// stands in for the process.
    fn launch_actor(&mut self, addr: SocketAddr, id: ProcessId, spec: &crate::ProcessSpec) -> bool {
        let Some(hook) = self.process_actors.as_mut() else {
            return false;
        };
        let Some(node) = self.nodes.get_mut(&addr) else {
            return false;
        };
        let Some(kernel) = node.kernel.as_mut() else {
            return false;
        };
        let Some(name) = hook(spec, kernel) else {
            return false;
        };
        node.processes.insert(id);
        self.trace
            .note(self.now, "launch-actor", addr, &id.0.to_le_bytes(), || {
                format!("process {} is actor {name}", id.0)
            });
        node.actor_processes.insert(id, name);
        node.checked_at_removals = None;
        // The new actor starts on the node's next run.
        self.schedule(self.now, Event::Wake(addr));
        true
    }

    /// A signal reached a process an actor stands in for: the actor dies
    /// with the processes it launched.
    fn kill_process_actor(&mut self, addr: SocketAddr, id: ProcessId) {
        let Some(node) = self.nodes.get_mut(&addr) else {
            return;
        };
        let Some(name) = node.actor_processes.remove(&id) else {
            return;
        };
        let Some(kernel) = node.kernel.as_mut() else {
            return;
        };
        for orphan in kernel.kill_actor(&name).unwrap_or_default() {
            node.processes.remove(&orphan);
        }
        self.trace
            .note(self.now, "kill-actor", addr, &id.0.to_le_bytes(), || {
                format!("process {} (actor {name}) killed", id.0)
            });
        self.schedule(self.now, Event::Wake(addr));
    }

    /// Traces a launch or signal and schedules the process's end.
    #[allow(clippy::too_many_arguments)] // one call site per request kind
    fn schedule_end(
        &mut self,
        kind: &str,
        at: Time,
        node: SocketAddr,
        incarnation: u64,
        id: ProcessId,
        status: ExitStatus,
        forced: bool,
    ) {
        self.trace
            .note(self.now, kind, node, &id.0.to_le_bytes(), || {
                format!(
                    "process {} ends {status:?} at {:.6}s",
                    id.0,
                    at.as_nanos() as f64 / 1e9
                )
            });
        let end = Event::ProcessEnd {
            node,
            incarnation,
            id,
            status,
            forced,
        };
        self.schedule(at, end);
    }

    fn end_process(
        &mut self,
        addr: SocketAddr,
        incarnation: u64,
        id: ProcessId,
        status: ExitStatus,
        forced: bool,
    ) {
        let Some(node) = self.nodes.get_mut(&addr) else {
            return;
        };
        // A process of an earlier run of the node died with it; one already
        // killed by a signal does not end a second time.
        if node.incarnation != incarnation || !(forced || node.processes.remove(&id)) {
            return;
        }
        let Some(kernel) = node.kernel.as_mut() else {
            return;
        };
        kernel.handle_process_exit(id, status);
        self.trace
            .note(self.now, "exit", addr, &id.0.to_le_bytes(), || {
                format!("process {}", id.0)
            });
        self.run_node(addr);
    }

    fn send_batch(&mut self, from: SocketAddr, to: SocketAddr, incarnation: u64, bytes: Vec<u8>) {
        if !self.is_up(to) {
            // Nobody there: the frames are lost and the dial (or the dead
            // connection) times out.
            self.trace
                .note(self.now, "lost", from, &port_bytes(to), || {
                    format!("peer {}", to)
                });
            let at = self.now + self.cfg.link_timeout;
            self.schedule(
                at,
                Event::DialFailed {
                    node: from,
                    peer: to,
                },
            );
            return;
        }
        if self.cfg.break_probability > 0.0
            && self.rng.random_bool(self.cfg.break_probability.min(1.0))
        {
            self.trace
                .note(self.now, "break", from, &port_bytes(to), || {
                    format!("peer {}", to)
                });
            self.connection_lost(from, to);
            return;
        }
        self.ship(from, to, incarnation, bytes);
    }

    fn ship(&mut self, from: SocketAddr, to: SocketAddr, incarnation: u64, bytes: Vec<u8>) {
        let now = self.now;
        let model = self
            .pipes
            .get(&(from, to))
            .and_then(Pipe::latency)
            .unwrap_or(self.cfg.latency);
        let delay = model.sample(&mut self.rng);
        let pipe = self.pipes.entry((from, to)).or_default();
        match pipe.ship(now + delay, incarnation, bytes) {
            Ship::At(at, epoch, bytes) => self.schedule(
                at,
                Event::Arrive {
                    from,
                    to,
                    epoch,
                    incarnation,
                    bytes,
                },
            ),
            Ship::Held(timeout) => {
                self.trace.note(now, "held", from, &port_bytes(to), || {
                    format!("peer {}", to)
                });
                if let Some(cut_epoch) = timeout {
                    self.schedule_cut_timeout(from, to, cut_epoch);
                }
            }
        }
    }
}

/// Processes whose stand-in actor has stopped by itself, taken out of
/// `actor_processes`.
fn ended_actor_processes(
    actor_processes: &mut BTreeMap<ProcessId, String>,
    kernel: &Kernel,
) -> Vec<ProcessId> {
    let ended: Vec<ProcessId> = actor_processes
        .iter()
        .filter(|(_, name)| !kernel.has_actor(name))
        .map(|(id, _)| *id)
        .collect();
    for id in &ended {
        actor_processes.remove(id);
    }
    ended
}

/// What a batch of frames holds, for the readable trace.
fn describe_frames(from: SocketAddr, bytes: &[u8]) -> String {
    let mut parts = Vec::new();
    for payload in crate::codec::whole_frames(bytes) {
        parts.push(match crate::codec::split_frame(payload) {
            Ok((
                crate::codec::Header::Msg {
                    to,
                    from: sender,
                    name,
                    corr,
                },
                _,
            )) => {
                format!("{name} {sender}->{to} {corr:?}")
            }
            Ok((header, _)) => format!("{header:?}"),
            Err(e) => format!("undecodable: {e}"),
        });
    }
    format!("from {from}: {}", parts.join("; "))
}

fn port_bytes(addr: SocketAddr) -> [u8; 2] {
    addr.port().to_le_bytes()
}

/// A node's local clock for global virtual time `t`, given its drift.
fn local_time(t: Time, drift_ppm: i64) -> Time {
    let t = i128::from(t.as_nanos());
    let local = t + t * i128::from(drift_ppm) / 1_000_000;
    Time::from_nanos(u64::try_from(local.max(0)).unwrap_or(u64::MAX))
}

/// The global virtual time at which a node's local clock reads `t`.
fn global_time(t: Time, drift_ppm: i64) -> Time {
    let t = i128::from(t.as_nanos());
    // Round up so a timer never fires before its local deadline.
    let denom = 1_000_000 + i128::from(drift_ppm);
    let global = (t * 1_000_000 + denom - 1) / denom;
    Time::from_nanos(u64::try_from(global.max(0)).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
