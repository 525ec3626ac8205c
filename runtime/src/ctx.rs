//! `Ctx`: an actor's only door to the world.

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;

use crate::codec::Corr;
use crate::envelope::Body;
use crate::kernel::{Kernel, LocalId, TimerEntry, TimerKey};
use crate::message::{Message, Request};
use crate::pid::Pid;
use crate::process::{ProcessId, ProcessSpec, Signal};
use crate::storage::Store;
use crate::time::Time;
use std::collections::BTreeMap;

/// Why an [`ask`](Ctx::ask) produced no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// No reply within the timeout (the peer may be slow, dead or unreachable).
    #[error("no reply within the timeout")]
    Timeout,
    /// The target node has no actor of that name.
    #[error("no such actor")]
    NoSuchActor,
    /// The target actor does not handle this message.
    #[error("the actor does not handle this message")]
    NoHandler,
    /// The target could not decode the request.
    #[error("the actor could not decode the request")]
    Undecodable,
    /// The target's node died, restarted or became unreachable before it
    /// answered (reported as soon as the link layer knows, not at the timeout).
    #[error("the target's node was lost before it answered")]
    Unreachable,
    /// The reply did not decode as the request's reply type.
    #[error("the reply did not decode: {0}")]
    BadReply(String),
    /// The target answered with another message type than the request's reply.
    #[error("expected reply {expected:?}, got {got:?}")]
    WrongReply {
        /// The request's declared reply name.
        expected: &'static str,
        /// The name that came back.
        got: String,
    },
}

/// Where to send the answer to an ask, kept to answer later
/// ([`Ctx::reply_to`], [`Ctx::respond`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    to: Pid,
    id: u64,
}

impl ReplyTo {
    /// The asking actor.
    pub fn asker(&self) -> &Pid {
        &self.to
    }
}

/// A timer set with [`Ctx::delay`], for [`Ctx::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(TimerKey);

#[derive(Clone)]
pub(crate) struct Current {
    pub(crate) from: Pid,
    pub(crate) corr: Corr,
    pub(crate) certified: Option<Arc<str>>,
}

/// The context of one actor while it handles one event.
///
/// Everything an actor does to the world goes through here: sending, asking,
/// replying, timers, links, spawning, stopping, time and randomness. The host
/// behind it (a real node or the simulator) decides what those mean, so an
/// actor written against `Ctx` runs unchanged on both.
pub struct Ctx<'a, A> {
    kernel: &'a mut Kernel,
    cell: &'a mut CellState<A>,
    current: Option<Current>,
}

impl<'a, A: 'static> Ctx<'a, A> {
    pub(crate) fn new(
        kernel: &'a mut Kernel,
        cell: &'a mut CellState<A>,
        current: Option<Current>,
    ) -> Ctx<'a, A> {
        Ctx {
            kernel,
            cell,
            current,
        }
    }

    /// The node's kernel, for the spawning glue in `cell.rs`.
    pub(crate) fn kernel(&mut self) -> &mut Kernel {
        self.kernel
    }

    /// This actor's address.
    pub fn me(&self) -> &Pid {
        &self.cell.pid
    }

    /// The sender of the message being handled (None in timers, `started`,
    /// `exited` and ask continuations).
    pub fn sender(&self) -> Option<&Pid> {
        self.current.as_ref().map(|c| &c.from)
    }

    /// The principal the sender's node proved with its certificate, for a
    /// message that came from another node over mutual TLS (the node has
    /// a cluster CA, `TlsConfig::ca_pem`): the common name of the peer's
    /// certificate, which the CA vouches for. None for local messages,
    /// without mutual TLS, for certificates that name no principal (made
    /// without one: their common name is the shared node name), and outside
    /// message handlers. The sender's `Pid` is what the message claims; this
    /// is what the connection proved.
    pub fn certified(&self) -> Option<&str> {
        self.current.as_ref()?.certified.as_deref()
    }

    /// Sends a one-way message. Delivery is best effort: a message for an
    /// unknown actor, an unreachable node or over the size limit is dropped,
    /// logged and counted; protocols that need delivery acknowledge.
    /// Messages from one actor to another arrive in the order sent.
    pub fn send<M: Message>(&mut self, to: &Pid, msg: M) {
        let from = self.cell.pid.clone();
        self.kernel.post(from, to, Corr::Tell, msg);
    }

    /// Sends a request and calls `then` with the reply, or with an error if
    /// none comes within `timeout`. `then` runs on this actor like a handler.
    pub fn ask<M, F>(&mut self, to: &Pid, msg: M, timeout: Duration, then: F)
    where
        M: Request,
        F: FnOnce(&mut A, Result<M::Reply, AskError>, &mut Ctx<'_, A>) + 'static,
    {
        let id = self.cell.next_ask_id;
        self.cell.next_ask_id += 1;
        let max_bytes = self.kernel.max_message_bytes();
        let timeout = self.kernel.add_timer(
            self.kernel.now() + timeout,
            TimerEntry::AskTimeout {
                actor: self.cell.id,
                id,
            },
        );
        let then = Box::new(
            move |a: &mut A, r: Result<Body, AskError>, ctx: &mut Ctx<'_, A>| {
                let reply = r.and_then(|body| {
                    body.open::<M::Reply>(max_bytes)
                        .map_err(|e| AskError::BadReply(e.to_string()))
                });
                then(a, reply, ctx);
            },
        );
        self.cell.asks.insert(
            id,
            PendingAsk {
                then,
                timeout,
                reply_name: <M::Reply as Message>::NAME,
                target: to.addr(),
            },
        );
        self.kernel.track_ask(to.addr(), self.cell.id, id);
        let from = self.cell.pid.clone();
        self.kernel.post(from, to, Corr::Ask(id), msg);
    }

    /// Answers the ask being handled. Returns false (and sends nothing) when
    /// the current message was not an ask.
    pub fn reply<R: Message>(&mut self, msg: R) -> bool {
        match self.reply_to() {
            Some(rt) => {
                self.respond(rt, msg);
                true
            }
            None => false,
        }
    }

    /// Where the answer to the current ask goes, to answer it later with
    /// [`respond`](Ctx::respond) (e.g. after a write is durable).
    pub fn reply_to(&self) -> Option<ReplyTo> {
        match self.current.as_ref()? {
            Current {
                from,
                corr: Corr::Ask(id),
                ..
            } => Some(ReplyTo {
                to: from.clone(),
                id: *id,
            }),
            _ => None,
        }
    }

    /// Answers an ask kept from an earlier message.
    pub fn respond<R: Message>(&mut self, to: ReplyTo, msg: R) {
        let from = self.cell.pid.clone();
        self.kernel.post(from, &to.to, Corr::Reply(to.id), msg);
    }

    /// Calls `f` on this actor after `after` (on the host's clock).
    pub fn delay<F>(&mut self, after: Duration, f: F) -> TimerId
    where
        F: FnOnce(&mut A, &mut Ctx<'_, A>) + 'static,
    {
        let at = self.kernel.now() + after;
        let key = self.kernel.add_timer(at, TimerEntry::Delay(self.cell.id));
        self.cell.timers.insert(key, Box::new(f));
        TimerId(key)
    }

    /// Cancels a timer; false if it already fired or was cancelled.
    pub fn cancel(&mut self, timer: TimerId) -> bool {
        self.kernel.cancel_timer(timer.0);
        self.cell.timers.remove(&timer.0).is_some()
    }

    /// Asks to be told ([`crate::Actor::exited`]) when `pid` stops, or when its node
    /// dies or becomes unreachable (within the host's link timeout). Linking to
    /// an actor that does not exist fires `exited` at once.
    pub fn link(&mut self, pid: &Pid) {
        let me = self.cell.pid.clone();
        self.kernel.link(self.cell.id, &me, pid);
    }

    /// Undoes [`link`](Ctx::link).
    pub fn unlink(&mut self, pid: &Pid) {
        let me = self.cell.pid.clone();
        self.kernel.unlink(self.cell.id, &me, pid);
    }

    /// Stops this actor once the current event is handled: [`crate::Actor::stopped`]
    /// runs, linked actors get `exited`, pending asks and timers are dropped.
    pub fn stop(&mut self) {
        self.cell.stopping = true;
    }

    /// The host's monotonic time.
    pub fn now(&self) -> Time {
        self.kernel.now()
    }

    /// The host's clock read at this call, for measuring how long work
    /// inside one handler takes (e.g. an allocation pass): subtract two
    /// readings. Unlike [`now`](Ctx::now), which is fixed for the whole
    /// event, the node host reads its real monotonic clock here, so time
    /// moves while the handler runs. In the simulator it is virtual time,
    /// constant within an event, so durations measured this way are zero
    /// there. Use it for metrics only, never to decide anything: a decision
    /// on it would make simulated and real runs differ.
    pub fn elapsed_clock(&self) -> Time {
        self.kernel.elapsed_clock()
    }

    /// Wall-clock milliseconds since the Unix epoch, for timestamps shown to
    /// people; never for measuring intervals (use [`now`](Ctx::now)).
    pub fn unix_time_ms(&self) -> u64 {
        self.kernel.unix_time_ms()
    }

    /// The host's random source (seeded: the simulator replays it).
    pub fn rng(&mut self) -> &mut dyn RngCore {
        self.kernel.rng()
    }

    /// Starts an OS process (a simulated one in the simulator); its end comes
    /// back as [`crate::Actor::process_exited`]. Processes outlive the actor that
    /// launched them (an agent's tasks survive the agent).
    pub fn launch(&mut self, spec: ProcessSpec) -> ProcessId {
        self.kernel.launch(self.cell.id, spec)
    }

    /// Signals a process this node launched; false if it already ended.
    pub fn signal(&mut self, id: ProcessId, signal: Signal) -> bool {
        self.kernel.signal(id, signal)
    }

    /// This actor's view of the node's durable store (keys are namespaced by
    /// actor name). Errors with `NotConfigured` on nodes without storage.
    pub fn store(&mut self) -> Store<'_> {
        let prefix = Store::prefix(self.cell.pid.name());
        Store::new(self.kernel.storage(), prefix)
    }
}

pub(crate) type AskFn<A> = Box<dyn FnOnce(&mut A, Result<Body, AskError>, &mut Ctx<'_, A>)>;
pub(crate) type TimerFn<A> = Box<dyn FnOnce(&mut A, &mut Ctx<'_, A>)>;

impl<A> PendingAsk<A> {
    /// The ask `id` of `actor` ended (answered, failed, timed out or its
    /// actor stopped): the kernel drops its timeout and its peer tracking.
    pub(crate) fn retire(&self, k: &mut Kernel, actor: LocalId, id: u64) {
        k.cancel_timer(self.timeout);
        k.forget_ask(self.target, actor, id);
    }
}

pub(crate) struct PendingAsk<A> {
    pub(crate) then: AskFn<A>,
    pub(crate) timeout: TimerKey,
    pub(crate) reply_name: &'static str,
    /// The asked actor's node, so its loss can fail the ask at once.
    pub(crate) target: std::net::SocketAddr,
}

/// Per-actor runtime state that `Ctx` reads and writes.
pub(crate) struct CellState<A> {
    pub(crate) pid: Pid,
    pub(crate) id: LocalId,
    pub(crate) asks: BTreeMap<u64, PendingAsk<A>>,
    pub(crate) timers: BTreeMap<TimerKey, TimerFn<A>>,
    pub(crate) next_ask_id: u64,
    pub(crate) stopping: bool,
}
