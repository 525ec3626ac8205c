//! The master actor: the cluster's bookkeeper and the frameworks' single
//! point of contact, as Mesos's master.
//!
//! It admits agents and watches them with pings, subscribes frameworks and
//! keeps them through disconnections for their `failover_timeout`, turns
//! the allocator's decisions into offers ([`OfferBook`]), validates every
//! accept before launching tasks on agents, forwards status updates to
//! frameworks and their acknowledgements back to agents (agents retry until
//! acknowledged, so the master itself never needs to), and answers
//! reconciliation.
//!
//! The allocator runs as its own actor ([`AllocatorActor`]), spawned by the
//! master on its node; the master tells it every change and it answers with
//! allocations.
//!
//! Everything from the network is checked before it changes state: messages
//! from actors that are not subscribed frameworks or admitted agents are
//! refused with a [`FrameworkError`] or dropped with a log line, and a bad
//! accept is answered per task with TASK_ERROR or TASK_DROPPED/TASK_LOST.

mod agents;
mod allocations;
mod completed;
mod frameworks;
mod leadership;
mod metrics;
mod records;
mod tasks;
mod unreachable;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid, Time, TimerId};
use thiserror::Error;

use self::completed::CompletedFramework;
use self::leadership::Phase;
use self::metrics::Counters;
use self::records::{AgentRec, FrameworkRec, TaskRec};
use crate::allocator::messages::{Allocations, Recover};
use crate::allocator::{AllocatorActor, AllocatorActorConfig, AllocatorError};
use crate::offers::OfferBook;
use crate::registrar::{AgentEntry, LeaderEntry};
use crate::state::{GetLeadership, GetMetrics, GetState, Leadership, OperatorKill};
use corral_api::agent::{RegisterAgent, StatusUpdate};
use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkError, Heartbeat, Kill, Reconcile, Revive, Subscribe,
    Suppress, Teardown,
};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;

/// How the master runs. Defaults are Mesos's.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterConfig {
    /// The allocator's interval, weights and thresholds.
    pub allocator: AllocatorActorConfig,
    /// How often frameworks get a [`Heartbeat`] (15 s).
    pub heartbeat_interval: Duration,
    /// How often agents are pinged, and how long a ping may take (15 s;
    /// `--agent-ping-timeout`, Mesos's flag of that name).
    pub agent_ping_timeout: Duration,
    /// Pings an agent may miss in a row before it is unreachable (5).
    pub max_missed_pings: u32,
    /// Offers older than this are rescinded (Mesos: none by default).
    pub offer_timeout: Option<Duration>,
    /// Decline filter when a framework gives none (5 s).
    pub default_refuse: Duration,
    /// Completed tasks kept per framework for reconciliation and display
    /// (1000; Mesos's `--max_completed_tasks_per_framework`).
    pub max_completed_tasks: usize,
    /// Removed frameworks kept, with their completed tasks, for display
    /// (50; Mesos's `--max_completed_frameworks`): `/state` lists them and
    /// `corral task log` still finds their tasks' sandboxes.
    pub max_completed_frameworks: usize,
    /// Role of frameworks that name none (`*`).
    pub default_role: String,
    /// After a failover, how long the new leader waits for the agents its
    /// registry names before it removes them (Mesos: 10 min). Frameworks
    /// it recovers are kept at least this long.
    pub agent_reregister_timeout: Duration,
    /// How long an unreachable agent may take to come back before it is
    /// removed: its tasks become TASK_GONE (TASK_LOST was already said to
    /// frameworks that are not partition-aware) and, should it return, it
    /// is told to shut down (10 min).
    pub agent_removal_timeout: Duration,
    /// How often a replicated master asks its registrar whether it leads
    /// (100 ms).
    pub leader_poll: Duration,
    /// This master's HTTP base URL, recorded when it is elected so that the
    /// other masters can redirect operators to it.
    pub http_url: Option<String>,
    /// A known bug switched on so a simulation can show its checks catch
    /// it (`corral sim --plant-bug`); None (the default) everywhere else.
    pub planted: Option<MasterBug>,
}

/// Bugs the master can be told to have, for the simulator's checks to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterBug {
    /// Frees a task's resources when it starts running, not when it ends.
    FreeAtRunning,
    /// Rescinds expired offers without telling their frameworks.
    SilentRescind,
    /// Ignores frameworks' `Revive`.
    IgnoreRevive,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            allocator: AllocatorActorConfig::default(),
            heartbeat_interval: Duration::from_secs(15),
            agent_ping_timeout: Duration::from_secs(15),
            max_missed_pings: 5,
            offer_timeout: None,
            default_refuse: Duration::from_secs(5),
            max_completed_tasks: 1000,
            max_completed_frameworks: 50,
            default_role: "*".to_owned(),
            agent_reregister_timeout: Duration::from_secs(600),
            agent_removal_timeout: Duration::from_secs(600),
            leader_poll: Duration::from_millis(100),
            http_url: None,
            planted: None,
        }
    }
}

/// A master configuration value that cannot work.
#[derive(Debug, Error)]
pub enum MasterConfigError {
    /// The allocator's part is invalid.
    #[error(transparent)]
    Allocator(#[from] AllocatorError),
    /// A duration that must be above zero is zero.
    #[error("{0} must be above zero")]
    Zero(&'static str),
}

impl MasterConfig {
    /// Rejects zero intervals and limits, and bad allocator settings.
    pub fn validate(&self) -> Result<(), MasterConfigError> {
        self.allocator.validate()?;
        let zero = [
            ("heartbeat_interval", self.heartbeat_interval.is_zero()),
            ("agent_ping_timeout", self.agent_ping_timeout.is_zero()),
            ("max_missed_pings", self.max_missed_pings == 0),
            ("offer_timeout", self.offer_timeout == Some(Duration::ZERO)),
            ("max_completed_tasks", self.max_completed_tasks == 0),
            (
                "agent_reregister_timeout",
                self.agent_reregister_timeout.is_zero(),
            ),
            ("leader_poll", self.leader_poll.is_zero()),
            (
                "agent_removal_timeout",
                self.agent_removal_timeout.is_zero(),
            ),
        ];
        match zero.iter().find(|(_, z)| *z) {
            Some((name, _)) => Err(MasterConfigError::Zero(name)),
            None => Ok(()),
        }
    }
}

/// The master actor. Spawn it under [`Master::NAME`]; it spawns its
/// allocator next to itself when it starts.
///
/// Alone ([`Master::new`]) it always leads. Replicated
/// ([`Master::replicated`]) it leads while its registrar is the Raft
/// leader; see the `leadership` module.
pub struct Master {
    cfg: MasterConfig,
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
    /// a task it does not know lost (see `tasks.rs`, reconciliation).
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
    unreachable: BTreeMap<AgentId, (AgentRec, TimerId)>,
    /// Random per run, so ids of two runs never collide.
    prefix: String,
    next_agent: u64,
    next_framework: u64,
    start_time_ms: u64,
    /// When this master last took the lead, Unix ms.
    elected_ms: u64,
    allocator: Option<Pid>,
    agents: BTreeMap<AgentId, AgentRec>,
    agent_pids: BTreeMap<Pid, AgentId>,
    removed_agents: BTreeSet<AgentId>,
    frameworks: BTreeMap<FrameworkId, FrameworkRec>,
    framework_pids: BTreeMap<Pid, FrameworkId>,
    tasks: BTreeMap<(FrameworkId, TaskId), TaskRec>,
    /// Live tasks of frameworks this master no longer knows (removed, or
    /// removed before it was elected), by where they run and what they
    /// use: held from offers until their agent reports them ended.
    orphans: BTreeMap<(FrameworkId, TaskId), (AgentId, Resources)>,
    /// Removed frameworks with their last tasks, oldest first, for display
    /// only (kept in memory, as Mesos does: a new leader starts empty).
    completed_frameworks: std::collections::VecDeque<CompletedFramework>,
    offers: OfferBook,
    counters: Counters,
}

impl Master {
    /// The name masters are spawned under, so agents and frameworks can
    /// address `master@host:port`.
    pub const NAME: &'static str = "master";

    /// A master with `cfg`. Panics if `cfg` does not validate (a programmer
    /// error: binaries validate flags first).
    pub fn new(cfg: MasterConfig) -> Master {
        if let Err(e) = cfg.validate() {
            panic!("invalid master config: {e}");
        }
        Master {
            cfg,
            registrar: None,
            phase: Phase::Standby,
            leader_hint: None,
            leader_entry: None,
            recovering: BTreeMap::new(),
            settle_until: Time::ZERO,
            deferred_reconciles: Vec::new(),
            deferred_timer: false,
            admitting: BTreeSet::new(),
            unreachable: BTreeMap::new(),
            prefix: String::new(),
            next_agent: 0,
            next_framework: 0,
            start_time_ms: 0,
            elected_ms: 0,
            allocator: None,
            agents: BTreeMap::new(),
            agent_pids: BTreeMap::new(),
            removed_agents: BTreeSet::new(),
            frameworks: BTreeMap::new(),
            framework_pids: BTreeMap::new(),
            tasks: BTreeMap::new(),
            orphans: BTreeMap::new(),
            completed_frameworks: std::collections::VecDeque::new(),
            offers: OfferBook::new(""),
            counters: Counters::default(),
        }
    }

    /// A master among several, which leads while `registrar` (the
    /// registrar actor on its node) is the Raft leader.
    pub fn replicated(cfg: MasterConfig, registrar: Pid) -> Master {
        Master {
            registrar: Some(registrar),
            ..Master::new(cfg)
        }
    }

    /// Sends `msg` to the allocator actor.
    fn to_allocator<M: corral_runtime::Message>(&self, ctx: &mut Ctx<'_, Self>, msg: M) {
        if let Some(pid) = &self.allocator {
            ctx.send(pid, msg);
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
        ctx: &mut Ctx<'_, Self>,
    ) {
        for (agent, resources) in unused {
            let recover = Recover {
                framework: fw.clone(),
                agent,
                resources,
                refuse,
            };
            self.to_allocator(ctx, recover);
        }
    }

    fn heartbeat(&mut self, ctx: &mut Ctx<'_, Self>) {
        let pids: Vec<Pid> = self.framework_pids.keys().cloned().collect();
        for pid in pids {
            ctx.send(&pid, Heartbeat);
        }
        let every = self.cfg.heartbeat_interval;
        ctx.delay(every, |m: &mut Self, ctx| m.heartbeat(ctx));
    }
}

impl Actor for Master {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribe>()
            .on::<Accept>()
            .on::<Decline>()
            .on::<Revive>()
            .on::<Suppress>()
            .on::<Kill>()
            .on::<Acknowledge>()
            .on::<Reconcile>()
            .on::<Teardown>()
            .on::<RegisterAgent>()
            .on::<StatusUpdate>()
            .on::<Allocations>()
            .on::<GetState>()
            .on::<GetMetrics>()
            .on::<GetLeadership>()
            .on::<OperatorKill>();
    }

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let mut bytes = [0u8; 4];
        ctx.rng().fill_bytes(&mut bytes);
        self.prefix = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.offers = OfferBook::new(&self.prefix);
        self.start_time_ms = ctx.unix_time_ms();
        let allocator = AllocatorActor::new(ctx.me().clone(), self.cfg.allocator.clone());
        match ctx.spawn("allocator", allocator) {
            Ok(pid) => self.allocator = Some(pid),
            // Only a name clash on this node; without an allocator nothing
            // is ever offered, so say it loudly.
            Err(e) => tracing::error!(%e, "cannot start the allocator"),
        }
        let every = self.cfg.heartbeat_interval;
        ctx.delay(every, |m: &mut Self, ctx| m.heartbeat(ctx));
        let every = self.cfg.agent_ping_timeout;
        ctx.delay(every, |m: &mut Self, ctx| m.ping_agents(ctx));
        if let Some(timeout) = self.cfg.offer_timeout {
            ctx.delay(timeout, |m: &mut Self, ctx| m.expire_offers(ctx));
        }
        if self.registrar.is_some() {
            self.watch_leadership(ctx);
        } else {
            self.phase = Phase::Leading { term: 0 };
            // A restarted lone master knows nothing of its agents: give
            // them the time a live agent takes to notice it and come back.
            let wait = self.cfg.agent_ping_timeout * (self.cfg.max_missed_pings + 1);
            self.settle_until = ctx.now() + wait;
            self.lead_here(ctx);
        }
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        if let Some(fw) = self.framework_pids.get(pid).cloned() {
            self.framework_disconnected(fw, ctx);
        } else if let Some(agent) = self.agent_pids.get(pid) {
            // Pings decide whether it is gone; a quick reconnect is normal.
            tracing::info!(%agent, "agent disconnected");
        }
    }
}

impl Handler<GetLeadership> for Master {
    fn handle(&mut self, _: GetLeadership, ctx: &mut Ctx<'_, Self>) {
        let answer = Leadership {
            leading: self.leading(),
            leader: self.leader_hint.clone(),
            leader_http: self.leader_entry.as_ref().and_then(|e| e.http.clone()),
        };
        ctx.reply(answer);
    }
}

impl Handler<GetState> for Master {
    fn handle(&mut self, _: GetState, ctx: &mut Ctx<'_, Self>) {
        let state = self.snapshot(ctx.me());
        ctx.reply(state);
    }
}

/// Answers a message from an actor that is not a subscribed framework.
fn not_subscribed(ctx: &mut Ctx<'_, Master>, what: &str) {
    if let Some(from) = ctx.sender().cloned() {
        tracing::debug!(%from, "{what} from an unsubscribed actor");
        let message = format!("{what} refused: not subscribed (send Subscribe first)");
        ctx.send(&from, FrameworkError { message });
    }
}
