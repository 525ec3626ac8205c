//! Leadership: which of several masters acts, and what a newly elected one
//! rebuilds.
//!
//! With a registrar ([`Master::replicated`]), the master leads exactly
//! while its registrar is the Raft leader. It learns that by asking the
//! registrar ([`GetLeader`]) every `leader_poll`; on winning it commits an
//! [`Op::Elected`] entry (once that is applied, every earlier entry is
//! too), reads the registry, and only then acts: agents the registry names
//! are awaited for `agent_reregister_timeout`, frameworks it names are
//! kept as disconnected for their failover timeout (at least as long as
//! agents are awaited, so that no task is killed because a master failed
//! over), and all of them are told where the new leader is
//! ([`LeaderElected`]). Tasks come back with their agents' reports.
//!
//! A master that loses the lead (its registrar steps down, or stops
//! answering) forgets everything it knew and stands by; the new leader
//! rebuilds from the registry and the agents. While standing by it answers
//! every framework and agent with [`NotLeader`], naming the leader it
//! knows.
//!
//! Registry writes ([`Master::persist`]) complete before the master acts
//! on them, so a new leader never misses an admitted agent or a known
//! framework; a write that fails leaves the master's state unchanged and
//! the agent or framework retries.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_runtime::{AskError, Ctx, Pid};

use super::records::FrameworkRec;
use super::Master;
use crate::allocator::messages::{AddFramework, RemoveAgent, RemoveFramework, SuppressOffers};
use crate::offers::OfferBook;
use crate::registrar::{
    GetLeader, GetRegistry, LeaderEntry, LeaderInfo, Op, Propose, ProposeError, Registry,
};
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::leader::{LeaderElected, NotLeader};

/// How long a registry write may take before it is given up (the agent
/// or framework that caused it retries).
const PROPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a master stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Not leading: everyone is answered [`NotLeader`].
    Standby,
    /// Its registrar leads in `term`: committing [`Op::Elected`], then
    /// reading the registry.
    Electing { term: u64 },
    /// Acting as the leader for `term` (0 for a master alone).
    Leading { term: u64 },
}

impl Master {
    /// Records this master as the leader others are sent to.
    pub(super) fn lead_here(&mut self, ctx: &Ctx<'_, Self>) {
        self.elected_ms = ctx.unix_time_ms();
        let master = ctx.me().clone();
        self.leader_hint = Some(master.clone());
        let http = self.cfg.http_url.clone();
        self.leader_entry = Some(LeaderEntry { master, http });
    }

    /// Whether this master acts.
    pub(super) fn leading(&self) -> bool {
        matches!(self.phase, Phase::Leading { .. })
    }

    /// If this master does not lead, tells the sender who does and returns
    /// true: the message is not for it.
    pub(super) fn refuse_unless_leading(&self, ctx: &mut Ctx<'_, Self>) -> bool {
        if self.leading() {
            return false;
        }
        if let Some(from) = ctx.sender().cloned() {
            let leader = self.leader_hint.clone();
            ctx.send(&from, NotLeader { leader });
        }
        true
    }

    /// Asks the registrar who leads; the answer schedules the next ask, so
    /// one is in flight at most.
    pub(super) fn watch_leadership(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(registrar) = self.registrar.clone() else {
            return;
        };
        let timeout = self.cfg.leader_poll.max(Duration::from_secs(1));
        ctx.ask(&registrar, GetLeader, timeout, |m: &mut Self, r, ctx| {
            m.leader_known(r, ctx);
            let every = m.cfg.leader_poll;
            ctx.delay(every, |m: &mut Self, ctx| m.watch_leadership(ctx));
        });
    }

    fn leader_known(&mut self, r: Result<LeaderInfo, AskError>, ctx: &mut Ctx<'_, Self>) {
        let info = match r {
            Ok(info) => info,
            Err(e) => {
                // A registrar that does not answer cannot vouch for this
                // master's lead.
                if self.phase != Phase::Standby {
                    tracing::warn!(%e, "the registrar does not answer; giving up the lead");
                    self.abdicate(ctx);
                }
                return;
            }
        };
        match self.phase {
            Phase::Standby => {
                self.note_leader(info.leader.as_ref(), ctx);
                if info.is_leader {
                    self.phase = Phase::Electing { term: info.term };
                    self.elect(info.term, ctx);
                }
            }
            Phase::Electing { term } | Phase::Leading { term } => {
                if !info.is_leader || info.term != term {
                    tracing::warn!(
                        term,
                        now = info.term,
                        "the registrar is no longer the leader; giving up the lead"
                    );
                    self.abdicate(ctx);
                    self.note_leader(info.leader.as_ref(), ctx);
                }
            }
        }
    }

    /// Remembers the leading master (on the leading registrar's node) for
    /// redirects, and reads its registry entry (with its HTTP URL) once per
    /// leader: again only while the entry does not name it yet (its
    /// `Elected` is not applied here yet).
    fn note_leader(&mut self, registrar: Option<&Pid>, ctx: &mut Ctx<'_, Self>) {
        let hint = registrar.and_then(|r| Pid::new(Master::NAME, r.addr()).ok());
        if hint != self.leader_hint {
            self.leader_hint = hint.clone();
            self.leader_entry = None;
        }
        let Some(hint) = hint else {
            return;
        };
        if self.leader_entry.is_some() {
            return;
        }
        let Some(registrar) = self.registrar.clone() else {
            return;
        };
        ctx.ask(
            &registrar,
            GetRegistry,
            PROPOSE_TIMEOUT,
            move |m: &mut Self, r, _| {
                let Ok(snapshot) = r else { return };
                if m.leader_hint.as_ref() != Some(&hint) {
                    return;
                }
                m.leader_entry = snapshot.registry.leader.filter(|l| l.master == hint);
            },
        );
    }

    /// Commits `Elected`, then reads the registry and takes the lead.
    fn elect(&mut self, term: u64, ctx: &mut Ctx<'_, Self>) {
        let Some(registrar) = self.registrar.clone() else {
            return;
        };
        let op = Op::Elected {
            master: ctx.me().clone(),
            http: self.cfg.http_url.clone(),
        };
        tracing::info!(term, "the registrar leads; committing the election");
        let to = registrar.clone();
        ctx.ask(
            &to,
            Propose { op },
            PROPOSE_TIMEOUT,
            move |m: &mut Self, r, ctx| {
                if m.phase != (Phase::Electing { term }) {
                    return;
                }
                if let Err(e) = r
                    .map_err(|e| e.to_string())
                    .and_then(|p| p.result.map_err(|e| e.to_string()))
                {
                    tracing::info!(term, %e, "the election entry did not commit; standing by");
                    m.phase = Phase::Standby;
                    return;
                }
                ctx.ask(
                    &registrar,
                    GetRegistry,
                    PROPOSE_TIMEOUT,
                    move |m: &mut Self, r, ctx| {
                        if m.phase != (Phase::Electing { term }) {
                            return;
                        }
                        match r {
                            Ok(snapshot) => m.take_lead(term, snapshot.registry, ctx),
                            Err(e) => {
                                tracing::info!(term, %e, "cannot read the registry; standing by");
                                m.phase = Phase::Standby;
                            }
                        }
                    },
                );
            },
        );
    }

    /// Rebuilds what the registry says and starts acting.
    /// The term this master leads in; 0 while it does not lead (it then
    /// sends nothing that carries a term).
    pub(super) fn term(&self) -> u64 {
        match self.phase {
            Phase::Leading { term } => term,
            _ => 0,
        }
    }

    fn take_lead(&mut self, term: u64, registry: Registry, ctx: &mut Ctx<'_, Self>) {
        self.phase = Phase::Leading { term };
        self.offers = OfferBook::new(&format!("{}t{term}", self.prefix));
        self.lead_here(ctx);
        self.removed_agents = registry.removed;
        let me = ctx.me().clone();
        let grace = self.cfg.agent_reregister_timeout;
        for (id, entry) in &registry.frameworks {
            self.recover_framework(id, entry.info.clone(), grace, ctx);
            let leader = me.clone();
            ctx.send(&entry.pid, LeaderElected { leader, term });
        }
        for entry in registry.agents.values() {
            let leader = me.clone();
            ctx.send(&entry.pid, LeaderElected { leader, term });
        }
        tracing::info!(
            term,
            agents = registry.agents.len(),
            frameworks = registry.frameworks.len(),
            "leading; waiting for agents to re-register"
        );
        self.recovering = registry.agents;
        if !self.recovering.is_empty() {
            ctx.delay(grace, move |m: &mut Self, ctx| {
                m.reregister_timeout(term, ctx)
            });
        }
    }

    /// A framework the registry or an agent's report names, which has not
    /// re-subscribed to this master yet: kept as disconnected for its
    /// failover timeout, but at least `grace`.
    pub(super) fn recover_framework(
        &mut self,
        id: &FrameworkId,
        info: FrameworkInfo,
        grace: Duration,
        ctx: &mut Ctx<'_, Self>,
    ) {
        if self.frameworks.contains_key(id) {
            return;
        }
        let role = super::frameworks::check_info(&info, &self.cfg.default_role)
            .unwrap_or_else(|_| self.cfg.default_role.clone());
        let timeout = info.failover_timeout.max(grace);
        let info = FrameworkInfo {
            id: Some(id.clone()),
            ..info
        };
        self.frameworks.insert(
            id.clone(),
            FrameworkRec {
                info,
                role: role.clone(),
                pid: None,
                failover: None,
                completed: VecDeque::new(),
                registered_ms: ctx.unix_time_ms(),
            },
        );
        let framework = id.clone();
        self.to_allocator(ctx, AddFramework { framework, role });
        let framework = id.clone();
        self.to_allocator(ctx, SuppressOffers { framework });
        self.arm_failover(id, timeout, ctx);
    }

    /// Agents the registry named that did not come back in time are
    /// removed (and told to shut down should they return).
    fn reregister_timeout(&mut self, term: u64, ctx: &mut Ctx<'_, Self>) {
        if self.phase != (Phase::Leading { term }) {
            return;
        }
        let late: Vec<AgentId> = self.recovering.keys().cloned().collect();
        for id in late {
            tracing::warn!(agent = %id, "agent did not re-register after the failover; removing it");
            let op = Op::RemoveAgent { id: id.clone() };
            self.persist(op, None, ctx, move |m: &mut Self, _| {
                if m.recovering.remove(&id).is_some() {
                    m.removed_agents.insert(id);
                }
            });
        }
    }

    /// Writes `op` to the registry, then runs `then`; with no registrar
    /// (a master alone) runs `then` at once. Nothing runs if the write
    /// fails or this master stops leading meanwhile. `guard`, an agent or
    /// framework whose registration is being written, is held in
    /// `admitting` until the write ends, so that its retries meanwhile are
    /// not written twice.
    pub(super) fn persist<F>(
        &mut self,
        op: Op,
        guard: Option<Pid>,
        ctx: &mut Ctx<'_, Self>,
        then: F,
    ) where
        F: FnOnce(&mut Self, &mut Ctx<'_, Self>) + 'static,
    {
        let Some(registrar) = self.registrar.clone() else {
            return then(self, ctx);
        };
        let Phase::Leading { term } = self.phase else {
            return;
        };
        if let Some(pid) = &guard {
            self.admitting.insert(pid.clone());
        }
        ctx.ask(
            &registrar,
            Propose { op },
            PROPOSE_TIMEOUT,
            move |m: &mut Self, r, ctx| {
                if m.phase != (Phase::Leading { term }) {
                    return;
                }
                if let Some(pid) = &guard {
                    m.admitting.remove(pid);
                }
                match r.map(|p| p.result) {
                    Ok(Ok(_)) => then(m, ctx),
                    Ok(Err(ProposeError::NotLeader { .. })) => {
                        tracing::warn!("the registrar lost the lead during a write");
                        m.abdicate(ctx);
                    }
                    Ok(Err(e)) => tracing::warn!(%e, "registry write failed"),
                    Err(e) => tracing::warn!(%e, "registry write got no answer"),
                }
            },
        );
    }

    /// Stops acting: everyone connected is told to look elsewhere, and
    /// everything this master knew is forgotten (the next leader rebuilds
    /// it from the registry and the agents).
    pub(super) fn abdicate(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.phase == Phase::Standby {
            return;
        }
        self.phase = Phase::Standby;
        if self.leader_hint.as_ref() == Some(ctx.me()) {
            self.leader_hint = None;
            self.leader_entry = None;
        }
        let leader = self.leader_hint.clone();
        let agents = std::mem::take(&mut self.agents);
        for (id, agent) in agents {
            ctx.send(
                &agent.pid,
                NotLeader {
                    leader: leader.clone(),
                },
            );
            ctx.unlink(&agent.pid);
            self.to_allocator(ctx, RemoveAgent { agent: id });
        }
        let frameworks = std::mem::take(&mut self.frameworks);
        for (id, rec) in frameworks {
            if let Some(pid) = &rec.pid {
                ctx.send(
                    pid,
                    NotLeader {
                        leader: leader.clone(),
                    },
                );
                ctx.unlink(pid);
            }
            if let Some(timer) = rec.failover {
                ctx.cancel(timer);
            }
            let still_running = Vec::new();
            self.to_allocator(
                ctx,
                RemoveFramework {
                    framework: id,
                    still_running,
                },
            );
        }
        self.agent_pids = BTreeMap::new();
        self.framework_pids = BTreeMap::new();
        self.removed_agents = BTreeSet::new();
        self.recovering = BTreeMap::new();
        self.admitting = BTreeSet::new();
        for (_, (_, timer)) in std::mem::take(&mut self.unreachable) {
            ctx.cancel(timer);
        }
        self.tasks = BTreeMap::new();
        self.orphans = BTreeMap::new();
        self.offers = OfferBook::new(&self.prefix);
    }
}
