//! The kernel: one node's actors, run queue, timers and links, with no I/O.
//!
//! It is the sans-IO core shared by every host. A host feeds it time
//! ([`Kernel::set_now`]), frames from peers ([`Kernel::handle_frame`]) and
//! peer failures ([`Kernel::handle_peer_down`]); runs it
//! ([`Kernel::fire_timers`], [`Kernel::run`]); and carries out what it asks
//! for by polling [`Kernel::take_outgoing`] (frames to write to other
//! nodes). The node host does that over QUIC; the simulator over its virtual
//! network. Calling order in one loop turn: `set_now`, inputs, `fire_timers`,
//! `run`, `take_outgoing`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::Serialize;

use crate::codec::{self, AskFailure, CodecError, Corr, Header};
use crate::envelope::{Body, Envelope};
use crate::message::Message;
use crate::metrics::Metrics;
use crate::pid::{validate_name, Pid, PidError};
use crate::process::{ExitStatus, ProcessId, ProcessRequest, ProcessSpec, Signal};
use crate::storage::Storage;
use crate::time::Time;

/// A local actor's slot and the generation of that slot, so an event for a
/// stopped actor never reaches a newer actor reusing the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LocalId {
    slot: u32,
    gen: u32,
}

/// Position of a timer in the kernel's queue: due time, then creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TimerKey {
    at: Time,
    seq: u64,
}

#[derive(Debug)]
pub(crate) enum TimerEntry {
    Delay(LocalId),
    AskTimeout { actor: LocalId, id: u64 },
}

/// Why an actor could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// An actor of that name already runs on this node.
    #[error("an actor named {0:?} already runs on this node")]
    NameTaken(String),
    /// The name is not a valid pid name.
    #[error(transparent)]
    BadName(#[from] PidError),
    /// The node has stopped.
    #[error("the node has stopped")]
    NodeStopped,
}

/// Why a frame from a peer was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame's header did not decode.
    #[error("undecodable frame: {0}")]
    Undecodable(CodecError),
    /// A connection-level frame (hello) arrived where a message was expected.
    #[error("unexpected hello in the middle of a stream")]
    UnexpectedHello,
    /// A pid or name inside the frame is malformed.
    #[error("bad name in frame: {0}")]
    BadName(PidError),
}

enum Event {
    Start(LocalId),
    Deliver(Envelope),
    Timer(TimerKey, LocalId),
    AskTimeout {
        actor: LocalId,
        id: u64,
    },
    AskFailed {
        actor: Arc<str>,
        id: u64,
        failure: AskFailure,
    },
    Exited {
        watcher: LocalId,
        pid: Pid,
    },
    ProcessExited {
        actor: LocalId,
        id: ProcessId,
        status: ExitStatus,
    },
    AskUnreachable {
        actor: LocalId,
        id: u64,
    },
}

struct Slot {
    gen: u32,
    actor: Option<Box<dyn AnyActor>>,
    name: Option<Arc<str>>,
}

/// Bytes waiting to go to one peer node.
#[derive(Default)]
struct PeerOut {
    buf: Vec<u8>,
    msgs: u64,
    in_flight_bytes: usize,
}

/// Frames for one peer node, taken by the host to write in one go.
#[derive(Debug)]
pub struct Outgoing {
    /// The peer node's address.
    pub addr: SocketAddr,
    /// Length-prefixed frames, in the order they were produced.
    pub bytes: Vec<u8>,
    /// How many messages (not link/control frames) the bytes hold.
    pub msgs: u64,
}

/// Limits and identity of one kernel.
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// The node's advertised address: pids with it are local.
    pub addr: SocketAddr,
    /// Seed of the kernel's random source.
    pub seed: u64,
    /// Unix time in milliseconds at `Time::ZERO`.
    pub unix_epoch_ms: u64,
    /// Largest frame sent or accepted, in bytes.
    pub max_message_bytes: usize,
    /// Largest outgoing backlog to one peer, in bytes; messages beyond it are dropped.
    pub max_backlog_bytes: usize,
    /// Encode local messages too (the simulator uses it to catch serde bugs).
    pub encode_local: bool,
}

/// A host's monotonic clock for measuring work ([`Kernel::set_clock`]).
pub type Clock = Box<dyn Fn() -> Time + Send>;

/// One node's actors and everything they are waiting for. See the module doc.
pub struct Kernel {
    cfg: KernelConfig,
    now: Time,
    rng: ChaCha12Rng,
    metrics: Arc<Metrics>,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    names: HashMap<Arc<str>, LocalId>,
    /// Actors removed so far: lets the simulator look for stand-ins of
    /// processes that stopped only when some actor did.
    removed: u64,
    queue: VecDeque<Event>,
    timers: BTreeMap<TimerKey, TimerEntry>,
    next_timer_seq: u64,
    /// Local watchers of local actors: target -> watchers.
    local_links: BTreeMap<LocalId, BTreeSet<LocalId>>,
    /// Local watchers of remote actors: (node, name) -> watchers.
    remote_links: BTreeMap<(SocketAddr, Arc<str>), BTreeSet<LocalId>>,
    /// Remote watchers of local actors: target -> watchers.
    remote_watchers: BTreeMap<LocalId, BTreeSet<Pid>>,
    out: BTreeMap<SocketAddr, PeerOut>,
    dirty_peers: Vec<SocketAddr>,
    storage: Option<Box<dyn Storage>>,
    /// The host's real clock, if it has one ([`Kernel::set_clock`]).
    clock: Option<Clock>,
    /// Asks waiting on actors of other nodes: node -> (asker, ask id).
    remote_asks: BTreeMap<SocketAddr, BTreeSet<(LocalId, u64)>>,
    /// Which actor launched each running process.
    processes: BTreeMap<ProcessId, LocalId>,
    next_process: u64,
    process_requests: Vec<ProcessRequest>,
}

impl Kernel {
    /// A kernel with no actors.
    pub fn new(cfg: KernelConfig, metrics: Arc<Metrics>) -> Kernel {
        Kernel {
            rng: ChaCha12Rng::seed_from_u64(cfg.seed),
            cfg,
            now: Time::ZERO,
            metrics,
            slots: Vec::new(),
            free_slots: Vec::new(),
            names: HashMap::new(),
            removed: 0,
            queue: VecDeque::new(),
            timers: BTreeMap::new(),
            next_timer_seq: 0,
            local_links: BTreeMap::new(),
            remote_links: BTreeMap::new(),
            remote_watchers: BTreeMap::new(),
            out: BTreeMap::new(),
            dirty_peers: Vec::new(),
            storage: None,
            clock: None,
            remote_asks: BTreeMap::new(),
            processes: BTreeMap::new(),
            next_process: 0,
            process_requests: Vec::new(),
        }
    }

    /// Gives the node's actors durable storage (see [`Storage`]).
    pub fn set_storage(&mut self, storage: Box<dyn Storage>) {
        self.storage = Some(storage);
    }

    pub(crate) fn storage(&mut self) -> Option<&mut dyn Storage> {
        match &mut self.storage {
            Some(s) => Some(s.as_mut()),
            None => None,
        }
    }

    /// The node's advertised address.
    pub fn addr(&self) -> SocketAddr {
        self.cfg.addr
    }

    /// The node's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub(crate) fn max_message_bytes(&self) -> usize {
        self.cfg.max_message_bytes
    }

    /// Advances the clock; time never goes backwards.
    pub fn set_now(&mut self, now: Time) {
        self.now = self.now.max(now);
    }

    /// The kernel's current time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Gives the kernel a clock that reads the host's monotonic time at the
    /// call, on the same epoch as [`Kernel::set_now`]. Only the node host
    /// sets one; without it [`Ctx::elapsed_clock`](crate::Ctx::elapsed_clock)
    /// reads [`Kernel::now`], which is what the simulator wants.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = Some(clock);
    }

    /// The clock's reading now (never before [`Kernel::now`]), or `now`
    /// without a clock.
    pub(crate) fn elapsed_clock(&self) -> Time {
        match &self.clock {
            Some(read) => read().max(self.now),
            None => self.now,
        }
    }

    pub(crate) fn unix_time_ms(&self) -> u64 {
        self.cfg.unix_epoch_ms + self.now.as_nanos() / 1_000_000
    }

    pub(crate) fn rng(&mut self) -> &mut dyn RngCore {
        &mut self.rng
    }

    /// Number of actors running.
    pub fn actor_count(&self) -> usize {
        self.names.len()
    }

    /// How many actors have been removed (stopped or killed) so far.
    pub(crate) fn actors_removed(&self) -> u64 {
        self.removed
    }

    /// Whether an actor of this name runs here.
    pub fn has_actor(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// Events waiting to run.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// When the earliest timer is due, if any.
    pub fn next_deadline(&self) -> Option<Time> {
        self.timers.keys().next().map(|k| k.at)
    }

    /// Sends `msg` to `to` on behalf of `from`, which need not be an actor
    /// (hosts use it for messages injected from outside the event loop).
    pub fn send<M: Message>(&mut self, from: Pid, to: &Pid, msg: M) {
        self.post(from, to, Corr::Tell, msg);
    }

    /// Starts an actor built by `make` under `name`.
    pub(crate) fn spawn(
        &mut self,
        name: &str,
        make: impl FnOnce(Pid, LocalId) -> Box<dyn AnyActor>,
    ) -> Result<Pid, SpawnError> {
        validate_name(name)?;
        if self.names.contains_key(name) {
            return Err(SpawnError::NameTaken(name.to_owned()));
        }
        let pid = Pid::new(name, self.cfg.addr)?;
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    actor: None,
                    name: None,
                });
                u32::try_from(self.slots.len() - 1).map_err(|_| SpawnError::NodeStopped)?
            }
        };
        let s = &mut self.slots[slot as usize];
        s.gen = s.gen.wrapping_add(1);
        let id = LocalId { slot, gen: s.gen };
        s.actor = Some(make(pid.clone(), id));
        s.name = Some(pid.shared_name().clone());
        self.names.insert(pid.shared_name().clone(), id);
        self.queue.push_back(Event::Start(id));
        Ok(pid)
    }

    /// Sends a message from `from` (which may be a pseudo-pid outside any
    /// actor, e.g. a node handle) to `to`, wherever it is.
    pub(crate) fn post<M: Message>(&mut self, from: Pid, to: &Pid, corr: Corr, msg: M) {
        if to.addr() == self.cfg.addr {
            Metrics::inc(&self.metrics.sent_local);
            let body = if self.cfg.encode_local {
                match codec::encode(&msg) {
                    Ok(bytes) => Body::Wire(bytes),
                    Err(e) => {
                        Metrics::inc(&self.metrics.dropped_too_large);
                        tracing::error!(name = M::NAME, error = %e, "message did not encode; dropped");
                        return;
                    }
                }
            } else {
                Body::Local(Box::new(msg))
            };
            self.queue.push_back(Event::Deliver(Envelope {
                to: to.shared_name().clone(),
                from,
                corr,
                name: Cow::Borrowed(M::NAME),
                body,
                certified: None,
            }));
            return;
        }
        let header = Header::Msg {
            to: to.name(),
            from,
            name: M::NAME,
            corr,
        };
        if self.append(to.addr(), &header, Some(&msg), true) {
            Metrics::inc(&self.metrics.sent_remote);
        }
    }

    /// Encodes a frame for `addr`, enforcing the size and backlog limits.
    fn append<B: Serialize + ?Sized>(
        &mut self,
        addr: SocketAddr,
        header: &Header<'_>,
        body: Option<&B>,
        is_msg: bool,
    ) -> bool {
        let max_backlog = self.cfg.max_backlog_bytes;
        let max_bytes = self.cfg.max_message_bytes;
        let peer = self.out.entry(addr).or_default();
        if peer.buf.len() + peer.in_flight_bytes >= max_backlog {
            Metrics::inc(&self.metrics.dropped_backlog);
            tracing::warn!(%addr, "outgoing backlog full; message dropped");
            return false;
        }
        let was_empty = peer.buf.is_empty();
        match codec::append_frame(&mut peer.buf, header, body, max_bytes) {
            Ok(_) => {
                if is_msg {
                    peer.msgs += 1;
                }
                if was_empty {
                    self.dirty_peers.push(addr);
                }
                true
            }
            Err(e) => {
                Metrics::inc(&self.metrics.dropped_too_large);
                tracing::error!(%addr, error = %e, "message not sent");
                false
            }
        }
    }

    /// Takes the frames produced since the last call, one batch per peer.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        let mut batches = Vec::with_capacity(self.dirty_peers.len());
        for addr in self.dirty_peers.drain(..) {
            if let Some(peer) = self.out.get_mut(&addr) {
                if peer.buf.is_empty() {
                    continue;
                }
                // The next batch is likely about as big: start it at that
                // capacity instead of growing from empty again.
                let next = Vec::with_capacity(peer.buf.len().min(64 * 1024));
                let bytes = std::mem::replace(&mut peer.buf, next);
                peer.in_flight_bytes += bytes.len();
                batches.push(Outgoing {
                    addr,
                    bytes,
                    msgs: std::mem::take(&mut peer.msgs),
                });
            }
        }
        batches
    }

    /// The host wrote (or dropped) `bytes` taken for `addr`.
    pub fn note_written(&mut self, addr: SocketAddr, bytes: usize) {
        if let Some(peer) = self.out.get_mut(&addr) {
            peer.in_flight_bytes = peer.in_flight_bytes.saturating_sub(bytes);
        }
    }

    pub(crate) fn add_timer(&mut self, at: Time, entry: TimerEntry) -> TimerKey {
        let key = TimerKey {
            at,
            seq: self.next_timer_seq,
        };
        self.next_timer_seq += 1;
        self.timers.insert(key, entry);
        key
    }

    pub(crate) fn cancel_timer(&mut self, key: TimerKey) {
        self.timers.remove(&key);
    }

    /// Moves every timer due at or before now into the run queue.
    pub fn fire_timers(&mut self) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().at > self.now {
                break;
            }
            let (key, timer) = entry.remove_entry();
            self.queue.push_back(match timer {
                TimerEntry::Delay(actor) => Event::Timer(key, actor),
                TimerEntry::AskTimeout { actor, id } => Event::AskTimeout { actor, id },
            });
        }
    }

    /// Answers a failed ask, locally or across the network.
    pub(crate) fn fail_ask(&mut self, asker: &Pid, id: u64, failure: AskFailure) {
        if asker.addr() == self.cfg.addr {
            self.queue.push_back(Event::AskFailed {
                actor: asker.shared_name().clone(),
                id,
                failure,
            });
        } else {
            let header = Header::AskFailed {
                to: asker.name(),
                id,
                failure,
            };
            self.append::<()>(asker.addr(), &header, None, false);
        }
    }

    pub(crate) fn link(&mut self, watcher: LocalId, watcher_pid: &Pid, target: &Pid) {
        if target.addr() == self.cfg.addr {
            match self.names.get(target.name()) {
                Some(&t) => {
                    self.local_links.entry(t).or_default().insert(watcher);
                }
                None => self.queue.push_back(Event::Exited {
                    watcher,
                    pid: target.clone(),
                }),
            }
            return;
        }
        let key = (target.addr(), target.shared_name().clone());
        if self.remote_links.entry(key).or_default().insert(watcher) {
            let header = Header::Link {
                watcher: watcher_pid.clone(),
                target: target.name(),
            };
            self.append::<()>(target.addr(), &header, None, false);
        }
    }

    pub(crate) fn unlink(&mut self, watcher: LocalId, watcher_pid: &Pid, target: &Pid) {
        if target.addr() == self.cfg.addr {
            if let Some(&t) = self.names.get(target.name()) {
                if let Some(w) = self.local_links.get_mut(&t) {
                    w.remove(&watcher);
                }
            }
            return;
        }
        let key = (target.addr(), target.shared_name().clone());
        let removed = self
            .remote_links
            .get_mut(&key)
            .is_some_and(|w| w.remove(&watcher));
        if removed {
            let header = Header::Unlink {
                watcher: watcher_pid.clone(),
                target: target.name(),
            };
            self.append::<()>(target.addr(), &header, None, false);
        }
    }

    /// Remembers an ask to another node, to fail it at once if that node is lost.
    pub(crate) fn track_ask(&mut self, target: SocketAddr, actor: LocalId, id: u64) {
        if target != self.cfg.addr {
            self.remote_asks
                .entry(target)
                .or_default()
                .insert((actor, id));
        }
    }

    /// The ask ended (answered, timed out, failed): stop tracking it.
    pub(crate) fn forget_ask(&mut self, target: SocketAddr, actor: LocalId, id: u64) {
        if let Some(asks) = self.remote_asks.get_mut(&target) {
            asks.remove(&(actor, id));
            if asks.is_empty() {
                self.remote_asks.remove(&target);
            }
        }
    }

    pub(crate) fn launch(&mut self, actor: LocalId, spec: ProcessSpec) -> ProcessId {
        let id = ProcessId(self.next_process);
        self.next_process += 1;
        self.processes.insert(id, actor);
        self.process_requests
            .push(ProcessRequest::Launch { id, spec });
        id
    }

    pub(crate) fn signal(&mut self, id: ProcessId, signal: Signal) -> bool {
        if !self.processes.contains_key(&id) {
            return false;
        }
        self.process_requests
            .push(ProcessRequest::Signal { id, signal });
        true
    }

    /// Takes the process launches and signals actors asked for, in order.
    pub fn take_process_requests(&mut self) -> Vec<ProcessRequest> {
        std::mem::take(&mut self.process_requests)
    }

    /// A process ended: its actor gets `process_exited` (if it still runs).
    pub fn handle_process_exit(&mut self, id: ProcessId, status: ExitStatus) {
        if let Some(actor) = self.processes.remove(&id) {
            self.queue
                .push_back(Event::ProcessExited { actor, id, status });
        }
    }

    /// Removes the actor `name` at once, without `stopped` (a process
    /// killed by a signal runs no cleanup); links and watchers hear it
    /// exited. Returns the processes it launched that still run, which
    /// are forgotten here (the host ends them: a process group dies
    /// together). None if no such actor runs. For the simulator's actors
    /// that stand in for processes.
    pub(crate) fn kill_actor(&mut self, name: &str) -> Option<Vec<ProcessId>> {
        let id = self.names.get(name).copied()?;
        let slot = self.slots.get_mut(id.slot as usize)?;
        // An actor in the middle of its own event is not in its slot; the
        // simulator only kills between events.
        drop(slot.actor.take());
        self.remove_actor(id);
        let orphans: Vec<ProcessId> = self
            .processes
            .iter()
            .filter(|(_, a)| **a == id)
            .map(|(p, _)| *p)
            .collect();
        for p in &orphans {
            self.processes.remove(p);
        }
        Some(orphans)
    }

    /// Processes launched and not yet reported ended.
    pub fn running_processes(&self) -> usize {
        self.processes.len()
    }

    /// Takes one frame payload received from the node at `from`, whose
    /// certificate proved principal `certified` (None: it proved none, or
    /// the connection is not mutual TLS).
    pub fn handle_frame(
        &mut self,
        from: SocketAddr,
        certified: Option<&Arc<str>>,
        payload: &[u8],
    ) -> Result<(), FrameError> {
        Metrics::inc(&self.metrics.frames_received);
        let (header, body) = codec::split_frame(payload).map_err(FrameError::Undecodable)?;
        match header {
            Header::Hello { .. } => return Err(FrameError::UnexpectedHello),
            Header::Msg {
                to,
                from: sender,
                name,
                corr,
            } => {
                validate_name(to).map_err(FrameError::BadName)?;
                self.queue.push_back(Event::Deliver(Envelope {
                    to: Arc::from(to),
                    from: sender,
                    corr,
                    name: Cow::Owned(name.to_owned()),
                    body: Body::Wire(body.to_vec()),
                    certified: certified.cloned(),
                }));
            }
            Header::Link { watcher, target } => match self.names.get(target) {
                Some(&t) => {
                    self.remote_watchers.entry(t).or_default().insert(watcher);
                }
                None => {
                    let header = Header::Exited {
                        target,
                        watcher: watcher.name(),
                    };
                    self.append::<()>(watcher.addr(), &header, None, false);
                }
            },
            Header::Unlink { watcher, target } => {
                if let Some(&t) = self.names.get(target) {
                    if let Some(w) = self.remote_watchers.get_mut(&t) {
                        w.remove(&watcher);
                    }
                }
            }
            Header::Exited { target, watcher } => {
                let target_pid = Pid::new(target, from).map_err(FrameError::BadName)?;
                let key = (from, target_pid.shared_name().clone());
                let watcher_id = self.names.get(watcher).copied();
                if let (Some(w), Some(set)) = (watcher_id, self.remote_links.get_mut(&key)) {
                    if set.remove(&w) {
                        self.queue.push_back(Event::Exited {
                            watcher: w,
                            pid: target_pid,
                        });
                    }
                    if set.is_empty() {
                        self.remote_links.remove(&key);
                    }
                }
            }
            Header::AskFailed { to, id, failure } => {
                validate_name(to).map_err(FrameError::BadName)?;
                self.queue.push_back(Event::AskFailed {
                    actor: Arc::from(to),
                    id,
                    failure,
                });
            }
        }
        Ok(())
    }

    /// The node at `addr` died, restarted or became unreachable: every link
    /// to its actors fires `exited`, and its actors' links to ours are forgotten.
    pub fn handle_peer_down(&mut self, addr: SocketAddr) {
        let keys: Vec<_> = self
            .remote_links
            .range((addr, Arc::from(""))..)
            .take_while(|((a, _), _)| *a == addr)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let Some(watchers) = self.remote_links.remove(&key) else {
                continue;
            };
            let pid = match Pid::new(&key.1, addr) {
                Ok(p) => p,
                Err(_) => continue,
            };
            for watcher in watchers {
                self.queue.push_back(Event::Exited {
                    watcher,
                    pid: pid.clone(),
                });
            }
        }
        for watchers in self.remote_watchers.values_mut() {
            watchers.retain(|w| w.addr() != addr);
        }
        for (actor, id) in self.remote_asks.remove(&addr).unwrap_or_default() {
            self.queue.push_back(Event::AskUnreachable { actor, id });
        }
        if let Some(peer) = self.out.get_mut(&addr) {
            if peer.msgs > 0 {
                Metrics::add(&self.metrics.dropped_unreachable, peer.msgs);
            }
            *peer = PeerOut::default();
        }
    }

    /// Runs up to `budget` events; returns how many ran.
    pub fn run(&mut self, budget: usize) -> usize {
        let mut ran = 0;
        while ran < budget {
            let Some(event) = self.queue.pop_front() else {
                break;
            };
            ran += 1;
            self.run_event(event);
        }
        ran
    }

    fn run_event(&mut self, event: Event) {
        match event {
            Event::Start(id) => self.with_actor(id, |a, k| a.on_start(k)),
            Event::Deliver(env) => match self.names.get(&*env.to).copied() {
                Some(id) => self.with_actor(id, |a, k| a.on_envelope(env, k)),
                None => self.undeliverable(env),
            },
            Event::Timer(key, id) => self.with_actor(id, |a, k| a.on_timer(key, k)),
            Event::AskTimeout { actor, id } => {
                self.with_actor(actor, |a, k| a.on_ask_timeout(id, k))
            }
            Event::AskFailed { actor, id, failure } => {
                if let Some(a) = self.names.get(&actor).copied() {
                    self.with_actor(a, |a, k| a.on_ask_failed(id, failure, k));
                }
            }
            Event::Exited { watcher, pid } => self.with_actor(watcher, |a, k| a.on_exited(&pid, k)),
            Event::AskUnreachable { actor, id } => self.with_actor(actor, |a, k| {
                a.on_ask_failed(id, AskFailure::Unreachable, k)
            }),
            Event::ProcessExited { actor, id, status } => {
                self.with_actor(actor, |a, k| a.on_process_exited(id, status, k))
            }
        }
    }

    fn undeliverable(&mut self, env: Envelope) {
        match env.corr {
            Corr::Reply(_) => Metrics::inc(&self.metrics.late_replies),
            Corr::Tell | Corr::Ask(_) => Metrics::inc(&self.metrics.dropped_no_actor),
        }
        tracing::debug!(to = %env.to, from = %env.from, name = %env.name, "no such actor; dropped");
        if let Corr::Ask(id) = env.corr {
            self.fail_ask(&env.from, id, AskFailure::NoSuchActor);
        }
    }

    /// Runs `f` on the live actor `id` (if it still lives), then finishes
    /// stopping it if it asked to stop.
    fn with_actor(&mut self, id: LocalId, f: impl FnOnce(&mut dyn AnyActor, &mut Kernel)) {
        let Some(slot) = self.slots.get_mut(id.slot as usize) else {
            return;
        };
        if slot.gen != id.gen {
            return;
        }
        let Some(mut actor) = slot.actor.take() else {
            return;
        };
        f(actor.as_mut(), self);
        if actor.wants_stop() {
            actor.on_stop(self);
            self.remove_actor(id);
        } else {
            self.slots[id.slot as usize].actor = Some(actor);
        }
    }

    fn remove_actor(&mut self, id: LocalId) {
        let slot = &mut self.slots[id.slot as usize];
        let Some(name) = slot.name.take() else {
            return;
        };
        self.names.remove(&name);
        self.removed += 1;
        self.free_slots.push(id.slot);
        let pid = match Pid::new(&name, self.cfg.addr) {
            Ok(p) => p,
            Err(_) => return,
        };
        for watcher in self.local_links.remove(&id).unwrap_or_default() {
            self.queue.push_back(Event::Exited {
                watcher,
                pid: pid.clone(),
            });
        }
        for watcher in self.remote_watchers.remove(&id).unwrap_or_default() {
            let header = Header::Exited {
                target: &name,
                watcher: watcher.name(),
            };
            self.append::<()>(watcher.addr(), &header, None, false);
        }
        for watchers in self.local_links.values_mut() {
            watchers.remove(&id);
        }
        let mut unlinks = Vec::new();
        for ((addr, target), watchers) in self.remote_links.iter_mut() {
            if watchers.remove(&id) {
                unlinks.push((*addr, target.clone(), watchers.is_empty()));
            }
        }
        for (addr, target, now_empty) in unlinks {
            if now_empty {
                self.remote_links.remove(&(addr, target.clone()));
            }
            let header = Header::Unlink {
                watcher: pid.clone(),
                target: &target,
            };
            self.append::<()>(addr, &header, None, false);
        }
    }
}

/// What the kernel can do with any actor, whatever its type.
pub(crate) trait AnyActor {
    fn on_start(&mut self, k: &mut Kernel);
    fn on_envelope(&mut self, env: Envelope, k: &mut Kernel);
    fn on_timer(&mut self, key: TimerKey, k: &mut Kernel);
    fn on_ask_timeout(&mut self, id: u64, k: &mut Kernel);
    fn on_ask_failed(&mut self, id: u64, failure: AskFailure, k: &mut Kernel);
    fn on_exited(&mut self, pid: &Pid, k: &mut Kernel);
    fn on_process_exited(&mut self, id: ProcessId, status: ExitStatus, k: &mut Kernel);
    fn on_stop(&mut self, k: &mut Kernel);
    fn wants_stop(&self) -> bool;
}
