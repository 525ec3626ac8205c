//! The master's decisions, without I/O: [`MasterCore`].
//!
//! The master is the cluster's bookkeeper and the frameworks' single point
//! of contact, as Mesos's master. It admits agents and watches them with
//! pings, subscribes frameworks and keeps them through disconnections for
//! their `failover_timeout`, turns the allocator's decisions into offers,
//! validates every accept before launching tasks on agents, forwards
//! status updates to frameworks and their acknowledgements back to agents
//! (agents retry until acknowledged, so the master itself never needs to),
//! and answers reconciliation.
//!
//! The core is a plain struct: it is given each event with its time
//! ([`MasterCore::handle`]) and answers with [`Action`]s, values its shell
//! (the [`Master`](crate::master::Master) actor) carries out in order. Each
//! decision has a file named for it:
//!
//! - `authentication`: whether a framework or agent proves its principal,
//!   and whether that principal may register where it asks;
//! - `agents`: admitting agents, their re-registration and pings;
//! - `unreachable`: an agent that stopped answering, and its removal;
//! - `frameworks`: subscription, failover timeouts and removal;
//! - `allocations`: the allocator's decisions made offers, and offers
//!   that time out;
//! - `answers`: what frameworks do with offers (accept, decline — where
//!   the decline filter is applied —, revive, suppress);
//! - [`offers`]: the offer book and Mesos's accept validation;
//! - `tasks`: status updates, acknowledgements and kills;
//! - `reconcile`: reconciliation;
//! - `messages`: framework messages relayed both ways, and the failures
//!   (executor ended, agent lost) frameworks are told of;
//! - `leadership` and `registry`: which of several masters acts, and the
//!   registry writes that must commit before it acts;
//! - `records`, `completed`, `metrics`: what it remembers and shows;
//! - `feed`: the changes it records for subscribed operators
//!   ([`crate::events`]);
//! - `task_table`: the live tasks, noting which changed since the last
//!   publication took them;
//! - `views`: the state it shows observers, built afresh or, for
//!   publication, from the last one ([`ViewCache`]); `view_metrics`: the
//!   metrics it publishes with it.
//!
//! Everything from the network is checked before it changes state:
//! messages from actors that are not subscribed frameworks or admitted
//! agents are refused with a [`FrameworkError`] or dropped with a log line,
//! and a bad accept is answered per task with TASK_ERROR or
//! TASK_DROPPED/TASK_LOST.

mod agents;
mod allocations;
mod answers;
mod authentication;
mod completed;
pub mod config;
pub mod effects;
mod feed;
mod frameworks;
mod leadership;
mod messages;
mod metrics;
pub mod offers;
mod reconcile;
mod records;
mod registry;
mod task_table;
mod tasks;
#[cfg(test)]
mod tests;
mod unreachable;
mod view_metrics;
mod views;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_runtime::{Pid, Time};

use self::completed::CompletedFramework;
use self::config::MasterConfig;
use self::effects::{Action, Clock, Incoming, Input, Io, Timer};
use self::metrics::Counters;
use self::offers::OfferBook;
use self::records::{AgentRec, FrameworkRec};
pub use self::views::ViewCache;
use crate::allocator::messages::Recover;
use crate::events::OperatorEvent;
use crate::registrar::{AgentEntry, LeaderEntry};
use crate::state::{KillOutcome, Leadership, OperatorKill, OperatorTeardown};
use corral_api::framework::{FrameworkError, Heartbeat};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;

/// The name master actors run under, so agents and frameworks can
/// address `master@host:port`.
pub const MASTER_NAME: &str = "master";

/// Where a master stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not leading: everyone is answered `NotLeader`.
    Standby,
    /// Its registrar leads in `term`: committing `Op::Elected`, then
    /// reading the registry.
    Electing { term: u64 },
    /// Acting as the leader for `term` (0 for a master alone).
    Leading { term: u64 },
}

/// The master's state and decisions. See the module doc.
pub struct MasterCore {
    cfg: MasterConfig,
    /// The master actor itself.
    me: Pid,
    /// The registrar on this node, if masters are replicated.
    registrar: Option<Pid>,
    phase: Phase,
    /// The leading master, as far as this one knows (itself when leading).
    leader_hint: Option<Pid>,
    /// The leading master's registry entry (with its HTTP base URL), once
    /// read.
    leader_entry: Option<LeaderEntry>,
    /// Agents the registry names that have not re-registered since this
    /// master was elected.
    recovering: BTreeMap<AgentId, AgentEntry>,
    /// Until when a master that started without a registry (alone) waits
    /// for the agents of its previous run to re-register before it calls
    /// a task it does not know lost (see `reconcile.rs`).
    settle_until: Time,
    /// Reconciliation questions about unknown tasks, held while agents may
    /// still come back with them, and whether a timer will answer them.
    deferred_reconciles: Vec<(FrameworkId, TaskId)>,
    deferred_timer: bool,
    /// Agents whose admission is being written to the registry.
    admitting: BTreeSet<Pid>,
    /// Agents that stopped answering pings, each with the timer that
    /// removes it; their partition-aware frameworks' tasks wait as
    /// TASK_UNREACHABLE.
    unreachable: BTreeMap<AgentId, (AgentRec, effects::TimerKey)>,
    /// Random per run, so ids of two runs never collide.
    prefix: String,
    next_agent: u64,
    next_framework: u64,
    /// The key the next timer gets.
    next_timer: u64,
    start_time_ms: u64,
    /// When this master last took the lead, Unix ms.
    elected_ms: u64,
    agents: BTreeMap<AgentId, AgentRec>,
    agent_pids: BTreeMap<Pid, AgentId>,
    removed_agents: BTreeSet<AgentId>,
    frameworks: BTreeMap<FrameworkId, FrameworkRec>,
    framework_pids: BTreeMap<Pid, FrameworkId>,
    tasks: task_table::TaskTable,
    /// Live tasks of frameworks this master no longer knows (removed, or
    /// removed before it was elected), by where they run and what they
    /// use: held from offers until their agent reports them ended.
    orphans: BTreeMap<(FrameworkId, TaskId), (AgentId, Resources)>,
    /// Removed frameworks with their last tasks, oldest first, for display
    /// only (kept in memory, as Mesos does: a new leader starts empty).
    completed_frameworks: VecDeque<CompletedFramework>,
    offers: OfferBook,
    counters: Counters,
    /// The changes made since the last publication took them, for
    /// subscribed operators; None unless asked for (see `feed`).
    feed: Option<Vec<OperatorEvent>>,
}

impl MasterCore {
    /// The core of master actor `me` with `cfg`, replicated through
    /// `registrar` if given (it then leads while that registrar is the Raft
    /// leader), alone otherwise; `random` makes its ids unlike any other
    /// run's. Start it with [`handle_started`](Self::handle_started).
    /// Panics if `cfg` does not validate (a programmer error: binaries
    /// validate flags first).
    pub fn new(cfg: MasterConfig, registrar: Option<Pid>, me: Pid, random: [u8; 4]) -> MasterCore {
        if let Err(e) = cfg.validate() {
            panic!("invalid master config: {e}");
        }
        let prefix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        MasterCore {
            cfg,
            me,
            registrar,
            phase: Phase::Standby,
            leader_hint: None,
            leader_entry: None,
            recovering: BTreeMap::new(),
            settle_until: Time::ZERO,
            deferred_reconciles: Vec::new(),
            deferred_timer: false,
            admitting: BTreeSet::new(),
            unreachable: BTreeMap::new(),
            offers: OfferBook::new(&prefix),
            prefix,
            next_agent: 0,
            next_framework: 0,
            next_timer: 0,
            start_time_ms: 0,
            elected_ms: 0,
            agents: BTreeMap::new(),
            agent_pids: BTreeMap::new(),
            removed_agents: BTreeSet::new(),
            frameworks: BTreeMap::new(),
            framework_pids: BTreeMap::new(),
            tasks: task_table::TaskTable::default(),
            orphans: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            counters: Counters::default(),
            feed: None,
        }
    }

    /// The master started: sets its periodic timers and, alone, takes
    /// the lead.
    pub fn handle_started(&mut self, clock: Clock) -> Vec<Action> {
        self.start_time_ms = clock.unix_ms;
        self.step(clock, None, None, |core, io| {
            io.delay(core.cfg.heartbeat_interval, Timer::Heartbeat);
            io.delay(core.cfg.agent_ping_timeout, Timer::PingAgents);
            if let Some(timeout) = core.cfg.offer_timeout {
                io.delay(timeout, Timer::ExpireOffers);
            }
            if core.registrar.is_some() {
                core.watch_leadership(io);
            } else {
                core.phase = Phase::Leading { term: 0 };
                // A restarted lone master knows nothing of its agents:
                // give them the time a live agent takes to notice it and
                // come back.
                let wait = core.cfg.agent_ping_timeout * (core.cfg.max_missed_pings + 1);
                core.settle_until = io.now() + wait;
                core.lead_here(io);
            }
        })
    }

    /// Handles one event `from` an actor (None for timers and answers).
    pub fn handle(&mut self, clock: Clock, from: Option<&Pid>, input: Input) -> Vec<Action> {
        self.handle_certified(clock, from, None, input)
    }

    /// Handles one event `from` an actor whose certificate proved
    /// principal `certified` (see `Ctx::certified`).
    pub fn handle_certified(
        &mut self,
        clock: Clock,
        from: Option<&Pid>,
        certified: Option<&str>,
        input: Input,
    ) -> Vec<Action> {
        let certified = certified.map(str::to_owned);
        self.step(clock, from.cloned(), certified, |core, io| {
            core.on_input(input, io)
        })
    }

    fn on_input(&mut self, input: Input, io: &mut Io) {
        match input {
            Input::Message(m) => self.on_message(m, io),
            Input::Timer(timer) => self.on_timer(timer, io),
            Input::Answer(then, answer) => self.on_answer(then, answer, io),
            Input::Exited(pid) => self.on_exited(&pid, io),
        }
    }

    /// An operator's kill (see [`OperatorKill`]): what came of it.
    pub fn handle_operator_kill(
        &mut self,
        clock: Clock,
        m: OperatorKill,
    ) -> (KillOutcome, Vec<Action>) {
        self.operator_step(clock, |core, io| core.operator_kill(m, io))
    }

    /// An operator's teardown (see [`OperatorTeardown`]): what came of it.
    pub fn handle_operator_teardown(
        &mut self,
        clock: Clock,
        m: OperatorTeardown,
    ) -> (KillOutcome, Vec<Action>) {
        self.operator_step(clock, |core, io| core.operator_teardown(m, io))
    }

    /// One step for an operator's request: its outcome and what it made
    /// the master do.
    fn operator_step(
        &mut self,
        clock: Clock,
        act: impl FnOnce(&mut MasterCore, &mut Io) -> KillOutcome,
    ) -> (KillOutcome, Vec<Action>) {
        let mut outcome = KillOutcome::NotLeader;
        let actions = self.step(clock, None, None, |core, io| outcome = act(core, io));
        (outcome, actions)
    }

    /// Whether this master leads, and who does as far as it knows.
    pub fn leadership(&self) -> Leadership {
        Leadership {
            leading: self.leading(),
            leader: self.leader_hint.clone(),
            leader_http: self.leader_entry.as_ref().and_then(|e| e.http.clone()),
        }
    }

    /// One event from `from`, whose certificate proved `certified`.
    fn step(
        &mut self,
        clock: Clock,
        from: Option<Pid>,
        certified: Option<String>,
        f: impl FnOnce(&mut Self, &mut Io),
    ) -> Vec<Action> {
        let mut io = Io::new(clock, from, certified, self.next_timer);
        f(self, &mut io);
        let (actions, next_timer) = io.finish();
        self.next_timer = next_timer;
        actions
    }

    fn on_message(&mut self, m: Incoming, io: &mut Io) {
        match m {
            Incoming::Subscribe(m) => self.on_subscribe(m, io),
            Incoming::Accept(m) => self.on_accept(m, io),
            Incoming::Decline(m) => self.on_decline(m, io),
            Incoming::Revive(_) => self.on_revive(io),
            Incoming::Suppress(_) => self.on_suppress(io),
            Incoming::Kill(m) => self.on_kill(m, io),
            Incoming::Acknowledge(m) => self.on_acknowledge(m, io),
            Incoming::Reconcile(m) => self.on_reconcile(m, io),
            Incoming::Teardown(_) => self.on_teardown(io),
            Incoming::RegisterAgent(m) => self.on_register_agent(m, io),
            Incoming::StatusUpdate(m) => self.on_status_update(m, io),
            Incoming::FrameworkMessage(m) => self.on_framework_message(m, io),
            Incoming::ExecutorToFramework(m) => self.on_executor_to_framework(m, io),
            Incoming::ExitedExecutor(m) => self.on_exited_executor(m, io),
            Incoming::Allocations(m) => self.on_allocations(m, io),
        }
    }

    fn on_timer(&mut self, timer: Timer, io: &mut Io) {
        match timer {
            Timer::Heartbeat => self.heartbeat(io),
            Timer::PingAgents => self.ping_agents(io),
            Timer::ExpireOffers => self.expire_offers(io),
            Timer::WatchLeadership => self.watch_leadership(io),
            Timer::FailoverTimeout(fw) => self.failover_timeout(&fw, io),
            Timer::ReregisterTimeout { term } => self.reregister_timeout(term, io),
            Timer::RemoveUnreachable(agent) => self.remove_unreachable(&agent, io),
            Timer::DeferredReconciles => self.answer_deferred(io),
        }
    }

    fn on_exited(&mut self, pid: &Pid, io: &mut Io) {
        if let Some(fw) = self.framework_pids.get(pid).cloned() {
            self.framework_disconnected(fw, io);
        } else if let Some(agent) = self.agent_pids.get(pid) {
            // Pings decide whether it is gone; a quick reconnect is normal.
            tracing::info!(%agent, "agent disconnected");
        }
    }

    /// Gives resources a framework held back to the allocator, with the
    /// decline filter `refuse` if any: the one way the master returns
    /// offers, unused parts of accepts and ended tasks' resources.
    fn give_back(
        &self,
        fw: &FrameworkId,
        unused: impl IntoIterator<Item = (AgentId, Resources)>,
        refuse: Option<Duration>,
        io: &mut Io,
    ) {
        for (agent, resources) in unused {
            let recover = Recover {
                framework: fw.clone(),
                agent,
                resources,
                refuse,
            };
            io.tell_allocator(recover);
        }
    }

    fn heartbeat(&mut self, io: &mut Io) {
        for pid in self.framework_pids.keys() {
            io.send(pid, Heartbeat);
        }
        io.delay(self.cfg.heartbeat_interval, Timer::Heartbeat);
    }
}

/// Answers a message from an actor that is not a subscribed framework.
fn not_subscribed(io: &mut Io, what: &str) {
    if let Some(from) = io.sender().cloned() {
        tracing::debug!(%from, "{what} from an unsubscribed actor");
        let message = format!("{what} refused: not subscribed (send Subscribe first)");
        io.send(
            &from,
            FrameworkError {
                message,
                removed: false,
            },
        );
    }
}
