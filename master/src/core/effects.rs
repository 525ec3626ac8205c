//! The master core's inputs and outputs: what it is told ([`Input`]) and
//! what it asks its shell to carry out ([`Action`]), as plain values.
//!
//! The core never sees a socket, a clock or a timer id. It names its
//! timers itself ([`Timer`], with a [`TimerKey`] to cancel one), and a
//! question it asks another actor comes back as [`Input::Answer`] with the
//! [`Then`] it gave, so a reader finds what happens after a registry write
//! in the core, not in a closure the runtime holds.

use std::time::Duration;

use corral_runtime::{AskError, Message, Pid, Time};

use crate::allocator::messages::{
    AddAgent, AddFramework, Allocations, HoldOrphaned, Recover, ReleaseOrphaned, RemoveAgent,
    RemoveFramework, ReviveOffers, SuppressOffers,
};
use crate::registrar::{LeaderInfo, Op, Proposed, RegistrySnapshot};
use corral_api::agent::{
    AgentRegistered, ExecutorToFramework, ExitedExecutor, FrameworkToExecutor, KillTask, Pong,
    RegisterAgent, RegistrationRefused, RunTasks, ShutdownAgent, ShutdownFramework, StatusAck,
    StatusUpdate,
};
use corral_api::framework::{
    Accept, Acknowledge, Decline, ExecutorMessage, Failure, FrameworkError, FrameworkInfo,
    FrameworkMessage, Heartbeat, Kill, Offers, Reconcile, Rescind, Revive, Subscribe, Subscribed,
    Suppress, Teardown, Update,
};
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::leader::{LeaderElected, NotLeader};

/// The time of the event being handled: fixed for the whole event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Monotonic time, for deadlines.
    pub now: Time,
    /// Wall-clock Unix milliseconds, for what people read (task history).
    pub unix_ms: u64,
}

/// Defines an enum with one variant per message type, named after it,
/// and `From` for each, so the core writes `io.send(pid, Subscribed {..})`.
macro_rules! message_enum {
    ($(#[$doc:meta])* $name:ident { $($msg:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        #[allow(missing_docs)]
        pub enum $name {
            $($msg($msg)),*
        }
        $(impl From<$msg> for $name {
            fn from(m: $msg) -> Self {
                $name::$msg(m)
            }
        })*
        impl $name {
            /// Hands the message, as its own type, to `courier` for `to`.
            pub fn deliver(self, to: &Pid, courier: &mut impl Courier) {
                match self {
                    $($name::$msg(m) => courier.deliver(to, m)),*
                }
            }
        }
    };
}

/// What carries the core's messages: the shell's `Ctx`.
pub trait Courier {
    /// Sends `msg` to `to`.
    fn deliver<M: Message>(&mut self, to: &Pid, msg: M);
}

message_enum! {
    /// A message for a framework or an agent.
    Outgoing {
        FrameworkError, Heartbeat, Subscribed, Offers, Rescind, Update, NotLeader,
        LeaderElected, AgentRegistered, ShutdownAgent, ShutdownFramework, RunTasks,
        KillTask, StatusAck, RegistrationRefused, ExecutorMessage, Failure, FrameworkToExecutor,
    }
}

message_enum! {
    /// A message for the allocator the shell runs beside the master.
    ToAllocator {
        AddAgent, RemoveAgent, AddFramework, RemoveFramework, HoldOrphaned,
        ReleaseOrphaned, ReviveOffers, SuppressOffers, Recover,
    }
}

message_enum! {
    /// A message from a framework, an agent or the allocator.
    Incoming {
        Subscribe, Accept, Decline, Revive, Suppress, Kill, Acknowledge, Reconcile,
        Teardown, RegisterAgent, StatusUpdate, Allocations, FrameworkMessage,
        ExecutorToFramework, ExitedExecutor,
    }
}

/// Names a timer the core set, so that it can cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerKey(pub u64);

/// What a timer does when it fires.
#[derive(Clone, Debug, PartialEq)]
pub enum Timer {
    /// Heartbeat every framework.
    Heartbeat,
    /// Ping every agent.
    PingAgents,
    /// Rescind offers older than `offer_timeout`.
    ExpireOffers,
    /// Ask the registrar again who leads.
    WatchLeadership,
    /// The framework's failover timeout ran out (if still disconnected).
    FailoverTimeout(FrameworkId),
    /// Agents the registry named that are not back after the failover of
    /// `term` are removed.
    ReregisterTimeout {
        /// The term whose recovery this ends.
        term: u64,
    },
    /// The unreachable agent did not come back in time.
    RemoveUnreachable(AgentId),
    /// Answer reconciliation questions held while the master settles.
    DeferredReconciles,
}

/// A question for another actor, answered by [`Input::Answer`].
#[derive(Clone, Debug, PartialEq)]
pub enum Question {
    /// Is the agent alive? ([`corral_api::agent::Ping`])
    Ping,
    /// Who leads? ([`crate::registrar::GetLeader`])
    GetLeader,
    /// The registry's content ([`crate::registrar::GetRegistry`]).
    GetRegistry,
    /// Write `op` to the registry ([`crate::registrar::Propose`]).
    Propose(Box<Op>),
}

/// An answer to a [`Question`], or why none came.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// To [`Question::Ping`].
    Pong(Result<Pong, AskError>),
    /// To [`Question::GetLeader`].
    Leader(Result<LeaderInfo, AskError>),
    /// To [`Question::GetRegistry`].
    Registry(Result<RegistrySnapshot, AskError>),
    /// To [`Question::Propose`].
    Proposed(Result<Proposed, AskError>),
}

/// What the core does with an answer: the continuation of a question.
#[derive(Clone, Debug, PartialEq)]
pub enum Then {
    /// A ping of agent `id` at `pid`.
    Ponged {
        /// The agent pinged.
        id: AgentId,
        /// Where it was pinged (it may have moved since).
        pid: Pid,
    },
    /// Who leads: act on it, then ask again after `leader_poll`.
    LeaderKnown,
    /// The registry, read for the entry of leader `hint`.
    LeaderEntry {
        /// The leader the read was for.
        hint: Pid,
    },
    /// The election entry of `term` committed or not; next, read the
    /// registry with `registrar`.
    ElectionCommitted {
        /// The term being taken.
        term: u64,
        /// The registrar to read from.
        registrar: Pid,
    },
    /// The registry, read to take the lead in `term`.
    RegistryRead {
        /// The term being taken.
        term: u64,
    },
    /// A registry write made while leading in `term`, holding `guard` in
    /// `admitting` until it ends, and what to do once it commits.
    Written {
        /// The term it was written in.
        term: u64,
        /// The agent or framework whose registration it is.
        guard: Option<Pid>,
        /// What follows the commit.
        after: AfterWrite,
    },
}

/// What follows a committed registry write.
#[derive(Clone, Debug, PartialEq)]
pub enum AfterWrite {
    /// Nothing: the write followed the fact.
    Nothing,
    /// Admit the agent as `id`, and answer it at `pid`.
    AdmitAgent {
        /// Its id.
        id: AgentId,
        /// Its registration.
        registration: Box<RegisterAgent>,
        /// Where to answer it.
        pid: Pid,
    },
    /// Record the framework's (re-)subscription and answer it.
    RegisterFramework {
        /// Its id.
        id: FrameworkId,
        /// Where to answer it.
        from: Pid,
        /// What it subscribed with.
        info: Box<FrameworkInfo>,
        /// Its role.
        role: String,
    },
    /// An agent that did not come back after a failover is removed.
    AgentRemovedAfterFailover(AgentId),
    /// An unreachable agent is removed: its tasks are gone.
    UnreachableRemoved(AgentId),
}

/// Everything the core is told.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A message from another actor.
    Message(Incoming),
    /// A timer the core set fired.
    Timer(Timer),
    /// The answer to a question the core asked.
    Answer(Then, Answer),
    /// A linked actor (a framework or an agent) is gone.
    Exited(Pid),
}

impl Input {
    /// The input for message `m`.
    pub fn message(m: impl Into<Incoming>) -> Input {
        Input::Message(m.into())
    }
}

/// What the core asks its shell to do, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a message.
    Send(Pid, Outgoing),
    /// Tell the allocator.
    Allocator(ToAllocator),
    /// Ask `to`, waiting at most `timeout`; the answer (or the reason there
    /// is none) comes back as [`Input::Answer`] with `then`.
    Ask {
        /// Whom to ask.
        to: Pid,
        /// What.
        question: Question,
        /// How long to wait.
        timeout: Duration,
        /// What the answer is for.
        then: Then,
    },
    /// Watch an actor: its end comes back as [`Input::Exited`].
    Link(Pid),
    /// Stop watching an actor.
    Unlink(Pid),
    /// Fire `timer` after `after`, as [`Input::Timer`].
    SetTimer {
        /// Names it for [`Action::CancelTimer`].
        key: TimerKey,
        /// How long from now.
        after: Duration,
        /// What it does.
        timer: Timer,
    },
    /// Forget a timer set earlier (nothing if it fired already).
    CancelTimer(TimerKey),
}

/// One event's clock, sender and the actions it produced: what the core's
/// handlers use where an actor would use its `Ctx`.
#[derive(Debug)]
pub(crate) struct Io {
    clock: Clock,
    from: Option<Pid>,
    /// The principal the sender's certificate proved, if any.
    certified: Option<String>,
    next_timer: u64,
    actions: Vec<Action>,
}

impl Io {
    pub(crate) fn new(
        clock: Clock,
        from: Option<Pid>,
        certified: Option<String>,
        next_timer: u64,
    ) -> Io {
        Io {
            clock,
            from,
            certified,
            next_timer,
            actions: Vec::new(),
        }
    }

    /// The actions, and the next timer key to hand out.
    pub(crate) fn finish(self) -> (Vec<Action>, u64) {
        (self.actions, self.next_timer)
    }

    pub(crate) fn now(&self) -> Time {
        self.clock.now
    }

    pub(crate) fn unix_time_ms(&self) -> u64 {
        self.clock.unix_ms
    }

    /// Who sent the message being handled, if anyone.
    pub(crate) fn sender(&self) -> Option<&Pid> {
        self.from.as_ref()
    }

    /// The principal the sender's certificate proved (`Ctx::certified`).
    pub(crate) fn certified(&self) -> Option<&str> {
        self.certified.as_deref()
    }

    pub(crate) fn send(&mut self, to: &Pid, msg: impl Into<Outgoing>) {
        self.actions.push(Action::Send(to.clone(), msg.into()));
    }

    pub(crate) fn tell_allocator(&mut self, msg: impl Into<ToAllocator>) {
        self.actions.push(Action::Allocator(msg.into()));
    }

    pub(crate) fn ask(&mut self, to: &Pid, question: Question, timeout: Duration, then: Then) {
        self.actions.push(Action::Ask {
            to: to.clone(),
            question,
            timeout,
            then,
        });
    }

    pub(crate) fn link(&mut self, pid: &Pid) {
        self.actions.push(Action::Link(pid.clone()));
    }

    pub(crate) fn unlink(&mut self, pid: &Pid) {
        self.actions.push(Action::Unlink(pid.clone()));
    }

    pub(crate) fn delay(&mut self, after: Duration, timer: Timer) -> TimerKey {
        let key = TimerKey(self.next_timer);
        self.next_timer += 1;
        self.actions.push(Action::SetTimer { key, after, timer });
        key
    }

    pub(crate) fn cancel(&mut self, key: TimerKey) {
        self.actions.push(Action::CancelTimer(key));
    }
}
