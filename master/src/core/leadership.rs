//! Leadership: which of several masters acts, and what a newly elected one
//! rebuilds.
//!
//! With a registrar (see [`MasterCore::new`]), the master leads exactly
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
//! Registry writes (`registry.rs`) complete before the master acts on
//! them, so a new leader never misses an admitted agent or a known
//! framework; a write that fails leaves the master's state unchanged and
//! the agent or framework retries.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral_runtime::{AskError, Pid};

use super::effects::{AfterWrite, Io, Question, Then, Timer};
use super::offers::OfferBook;
use super::records::FrameworkRec;
use super::registry::PROPOSE_TIMEOUT;
use super::{MasterCore, Phase};
use crate::allocator::messages::{AddFramework, RemoveAgent, RemoveFramework, SuppressOffers};
use crate::registrar::{LeaderEntry, LeaderInfo, Op, Proposed, Registry, RegistrySnapshot};
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::leader::{LeaderElected, NotLeader};

impl MasterCore {
    /// Records this master as the leader others are sent to.
    pub(super) fn lead_here(&mut self, io: &Io) {
        self.elected_ms = io.unix_time_ms();
        let master = self.me.clone();
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
    pub(super) fn refuse_unless_leading(&self, io: &mut Io) -> bool {
        if self.leading() {
            return false;
        }
        if let Some(from) = io.sender().cloned() {
            let leader = self.leader_hint.clone();
            io.send(&from, NotLeader { leader });
        }
        true
    }

    /// Asks the registrar who leads; the answer schedules the next ask, so
    /// one is in flight at most.
    pub(super) fn watch_leadership(&mut self, io: &mut Io) {
        let Some(registrar) = self.registrar.clone() else {
            return;
        };
        let timeout = self.cfg.leader_poll.max(Duration::from_secs(1));
        io.ask(&registrar, Question::GetLeader, timeout, Then::LeaderKnown);
    }

    /// Acts on who leads, then asks again after `leader_poll`.
    pub(super) fn leader_answered(&mut self, r: Result<LeaderInfo, AskError>, io: &mut Io) {
        self.leader_known(r, io);
        io.delay(self.cfg.leader_poll, Timer::WatchLeadership);
    }

    fn leader_known(&mut self, r: Result<LeaderInfo, AskError>, io: &mut Io) {
        let info = match r {
            Ok(info) => info,
            Err(e) => {
                // A registrar that does not answer cannot vouch for this
                // master's lead.
                if self.phase != Phase::Standby {
                    tracing::warn!(%e, "the registrar does not answer; giving up the lead");
                    self.abdicate(io);
                }
                return;
            }
        };
        match self.phase {
            Phase::Standby => {
                self.note_leader(info.leader.as_ref(), io);
                if info.is_leader {
                    self.phase = Phase::Electing { term: info.term };
                    self.elect(info.term, io);
                }
            }
            Phase::Electing { term } | Phase::Leading { term } => {
                if !info.is_leader || info.term != term {
                    tracing::warn!(
                        term,
                        now = info.term,
                        "the registrar is no longer the leader; giving up the lead"
                    );
                    self.abdicate(io);
                    self.note_leader(info.leader.as_ref(), io);
                }
            }
        }
    }

    /// Remembers the leading master (on the leading registrar's node) for
    /// redirects, and reads its registry entry (with its HTTP URL) once per
    /// leader: again only while the entry does not name it yet (its
    /// `Elected` is not applied here yet).
    fn note_leader(&mut self, registrar: Option<&Pid>, io: &mut Io) {
        let hint = registrar.and_then(|r| Pid::new(super::MASTER_NAME, r.addr()).ok());
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
        let then = Then::LeaderEntry { hint };
        io.ask(&registrar, Question::GetRegistry, PROPOSE_TIMEOUT, then);
    }

    /// Commits `Elected`, then reads the registry and takes the lead.
    fn elect(&mut self, term: u64, io: &mut Io) {
        let Some(registrar) = self.registrar.clone() else {
            return;
        };
        let op = Op::Elected {
            master: self.me.clone(),
            http: self.cfg.http_url.clone(),
        };
        tracing::info!(term, "the registrar leads; committing the election");
        let then = Then::ElectionCommitted {
            term,
            registrar: registrar.clone(),
        };
        io.ask(
            &registrar,
            Question::Propose(Box::new(op)),
            PROPOSE_TIMEOUT,
            then,
        );
    }

    /// The registry read for the leader named `hint`: its entry, once it
    /// names it.
    pub(super) fn leader_entry_read(&mut self, hint: Pid, r: Result<RegistrySnapshot, AskError>) {
        let Ok(snapshot) = r else { return };
        if self.leader_hint.as_ref() != Some(&hint) {
            return;
        }
        self.leader_entry = snapshot.registry.leader.filter(|l| l.master == hint);
    }

    /// The election entry of `term` committed (or not): next, the registry
    /// is read.
    pub(super) fn election_committed(
        &mut self,
        term: u64,
        registrar: Pid,
        r: Result<Proposed, AskError>,
        io: &mut Io,
    ) {
        if self.phase != (Phase::Electing { term }) {
            return;
        }
        if let Err(e) = r
            .map_err(|e| e.to_string())
            .and_then(|p| p.result.map_err(|e| e.to_string()))
        {
            tracing::info!(term, %e, "the election entry did not commit; standing by");
            self.phase = Phase::Standby;
            return;
        }
        let then = Then::RegistryRead { term };
        io.ask(&registrar, Question::GetRegistry, PROPOSE_TIMEOUT, then);
    }

    /// The registry, read to take the lead in `term`.
    pub(super) fn registry_read(
        &mut self,
        term: u64,
        r: Result<RegistrySnapshot, AskError>,
        io: &mut Io,
    ) {
        if self.phase != (Phase::Electing { term }) {
            return;
        }
        match r {
            Ok(snapshot) => self.take_lead(term, snapshot.registry, io),
            Err(e) => {
                tracing::info!(term, %e, "cannot read the registry; standing by");
                self.phase = Phase::Standby;
            }
        }
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

    fn take_lead(&mut self, term: u64, registry: Registry, io: &mut Io) {
        self.phase = Phase::Leading { term };
        self.offers = OfferBook::new(&format!("{}t{term}", self.prefix));
        self.lead_here(io);
        self.removed_agents = registry.removed;
        let me = self.me.clone();
        let grace = self.cfg.agent_reregister_timeout;
        for (id, entry) in &registry.frameworks {
            self.recover_framework(id, entry.info.clone(), grace, io);
            let leader = me.clone();
            io.send(&entry.pid, LeaderElected { leader, term });
        }
        for entry in registry.agents.values() {
            let leader = me.clone();
            io.send(&entry.pid, LeaderElected { leader, term });
        }
        tracing::info!(
            term,
            agents = registry.agents.len(),
            frameworks = registry.frameworks.len(),
            "leading; waiting for agents to re-register"
        );
        self.recovering = registry.agents;
        if !self.recovering.is_empty() {
            io.delay(grace, Timer::ReregisterTimeout { term });
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
        io: &mut Io,
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
                registered_ms: io.unix_time_ms(),
            },
        );
        let framework = id.clone();
        io.tell_allocator(AddFramework { framework, role });
        let framework = id.clone();
        io.tell_allocator(SuppressOffers { framework });
        self.arm_failover(id, timeout, io);
        self.note_framework(id, true);
    }

    /// Agents the registry named that did not come back in time are
    /// removed (and told to shut down should they return).
    pub(super) fn reregister_timeout(&mut self, term: u64, io: &mut Io) {
        if self.phase != (Phase::Leading { term }) {
            return;
        }
        let late: Vec<AgentId> = self.recovering.keys().cloned().collect();
        for id in late {
            tracing::warn!(agent = %id, "agent did not re-register after the failover; removing it");
            let op = Op::RemoveAgent { id: id.clone() };
            let after = AfterWrite::AgentRemovedAfterFailover(id);
            self.persist(op, None, after, io);
        }
    }

    /// Stops acting: everyone connected is told to look elsewhere, and
    /// everything this master knew is forgotten (the next leader rebuilds
    /// it from the registry and the agents).
    pub(super) fn abdicate(&mut self, io: &mut Io) {
        if self.phase == Phase::Standby {
            return;
        }
        self.phase = Phase::Standby;
        if self.leader_hint.as_ref() == Some(&self.me) {
            self.leader_hint = None;
            self.leader_entry = None;
        }
        let leader = self.leader_hint.clone();
        let agents = std::mem::take(&mut self.agents);
        for (id, agent) in agents {
            io.send(
                &agent.pid,
                NotLeader {
                    leader: leader.clone(),
                },
            );
            io.unlink(&agent.pid);
            io.tell_allocator(RemoveAgent { agent: id });
        }
        let frameworks = std::mem::take(&mut self.frameworks);
        for (id, rec) in frameworks {
            if let Some(pid) = &rec.pid {
                io.send(
                    pid,
                    NotLeader {
                        leader: leader.clone(),
                    },
                );
                io.unlink(pid);
            }
            if let Some(timer) = rec.failover {
                io.cancel(timer);
            }
            let still_running = Vec::new();
            io.tell_allocator(RemoveFramework {
                framework: id,
                still_running,
            });
        }
        self.agent_pids = BTreeMap::new();
        self.framework_pids = BTreeMap::new();
        self.removed_agents = BTreeSet::new();
        self.recovering = BTreeMap::new();
        self.admitting = BTreeSet::new();
        for (_, (_, timer)) in std::mem::take(&mut self.unreachable) {
            io.cancel(timer);
        }
        self.tasks.clear();
        self.orphans = BTreeMap::new();
        self.offers = OfferBook::new(&self.prefix);
    }
}
