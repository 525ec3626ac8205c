//! Agents: admission and re-registration, health by pings, and loss.

use std::collections::{BTreeMap, BTreeSet};

use corral_runtime::{AskError, Pid};

use super::effects::{AfterWrite, Io, Question, Then, Timer};
use super::records::AgentRec;
use super::records::TaskRec;
use super::MasterCore;
use crate::allocator::messages::{AddAgent, HoldOrphaned};
use crate::registrar::Op;
use corral_api::agent::{
    http_url_problem, AgentRegistered, AgentTask, ExpectedTask, Pong, RegisterAgent,
    RegistrationRefused, ShutdownAgent, ShutdownFramework, MAX_REPORTED_TASKS,
};
use corral_api::ids::{id_problem, AgentId, FrameworkId, TaskId};
use corral_api::resources::{Attributes, Resources};

/// The most bytes an agent's host name may have.
const MAX_HOSTNAME_BYTES: usize = 255;

/// Why the registration cannot be admitted, if it cannot.
fn check_registration(m: &RegisterAgent) -> Option<String> {
    if m.hostname.is_empty() || m.hostname.len() > MAX_HOSTNAME_BYTES {
        return Some(format!(
            "host name must have 1 to {MAX_HOSTNAME_BYTES} bytes"
        ));
    }
    if m.resources.is_empty() {
        return Some("an agent must offer some resources".to_owned());
    }
    if let Err(e) = Attributes::parse(&m.attributes) {
        return Some(format!("bad attributes: {e}"));
    }
    if let Some(problem) = m.id.as_ref().and_then(|id| id_problem(&id.0)) {
        return Some(format!("bad agent id: {problem}"));
    }
    if let Some(problem) = m.http.as_deref().and_then(http_url_problem) {
        return Some(format!("bad HTTP URL: {problem}"));
    }
    if m.tasks.len() > MAX_REPORTED_TASKS || m.frameworks.len() > MAX_REPORTED_TASKS {
        return Some(format!("more than {MAX_REPORTED_TASKS} tasks reported"));
    }
    for t in &m.tasks {
        if let Some(problem) = id_problem(&t.framework_id.0).or_else(|| id_problem(&t.task_id.0)) {
            return Some(format!("bad reported task {}: {problem}", t.task_id));
        }
    }
    if m.frameworks.iter().any(|f| f.id.is_none()) {
        return Some("a reported framework has no id".to_owned());
    }
    None
}

impl MasterCore {
    /// Admits an agent (the registry holds it already), with the tasks and
    /// frameworks it reports: a newly elected master learns them this way,
    /// and the allocator counts what the tasks hold as used.
    pub(super) fn admit(&mut self, id: AgentId, m: RegisterAgent, io: &mut Io) {
        tracing::info!(agent = %id, pid = %m.pid, resources = %m.resources, tasks = m.tasks.len(), "agent registered");
        self.recovering.remove(&id);
        self.agent_pids.insert(m.pid.clone(), id.clone());
        io.link(&m.pid);
        // A master alone learns frameworks back from its agents. With a
        // registry, every live framework is in it, and so here since the
        // election: one an agent reports that is not was removed, and its
        // tasks are orphans to shut down, not a reason to bring it back.
        if self.registrar.is_none() {
            let grace = self.cfg.agent_reregister_timeout;
            for info in m.frameworks {
                if let Some(fw) = info.id.clone() {
                    self.recover_framework(&fw, info, grace, io);
                }
            }
        }
        let now_ms = io.unix_time_ms();
        let mut used: BTreeMap<FrameworkId, Resources> = BTreeMap::new();
        // Tasks this master holds live here that the agent does not report
        // (their launch was lost; the agent says so in an update once it
        // sees them expected): counted as used until then, since that
        // update gives their resources back.
        let reported: BTreeSet<(&FrameworkId, &TaskId)> = m
            .tasks
            .iter()
            .map(|r| (&r.framework_id, &r.task_id))
            .collect();
        for ((fw, task_id), t) in &self.tasks {
            let reported = reported.contains(&(fw, task_id));
            if t.agent == id && !reported && !t.state.holds_nothing() {
                let held = used.entry(fw.clone()).or_insert_with(Resources::empty);
                *held = held.plus(&t.resources);
            }
        }
        self.forget_orphans_on(&id);
        let orphaned = self.adopt_orphans(&id, &m.pid, &m.tasks, io);
        let mut added = Vec::new();
        for t in m.tasks {
            if !self.frameworks.contains_key(&t.framework_id) {
                continue;
            }
            let key = (t.framework_id.clone(), t.task_id.clone());
            match self.tasks.get(&key) {
                Some(rec) if rec.agent != id => {
                    tracing::warn!(agent = %id, task = %t.task_id, "reported task is on another agent here; ignored");
                    continue;
                }
                Some(_) => self.reported_again(&key, &id, t.state, io),
                None => {
                    let rec = TaskRec {
                        name: t.name.clone(),
                        agent: id.clone(),
                        resources: t.resources.clone(),
                        state: t.state,
                        history: vec![(t.state, now_ms)],
                        terminal_uuid: None,
                        published: Default::default(),
                    };
                    self.tasks.insert(key.clone(), rec);
                    added.push(key);
                }
            }
            // A LOST the agent reports has ended there (see the update
            // handler): it holds nothing.
            if !t.state.holds_nothing() {
                let held = used
                    .entry(t.framework_id.clone())
                    .or_insert_with(Resources::empty);
                *held = held.plus(&t.resources);
            }
        }
        let total = m.resources.clone();
        self.agents.insert(
            id.clone(),
            AgentRec {
                pid: m.pid,
                hostname: m.hostname,
                total: m.resources,
                attributes: m.attributes,
                missed_pings: 0,
                http: m.http,
                registered_ms: io.unix_time_ms(),
            },
        );
        let held = used.values().fold(Resources::empty(), |sum, r| sum.plus(r));
        self.note_agent_added(&id, held);
        for key in &added {
            self.note_task_added(key);
        }
        let used = used.into_iter().collect();
        io.tell_allocator(AddAgent {
            agent: id,
            total,
            used,
            orphaned,
        });
    }

    /// Answers a registration, naming the tasks this master holds on the
    /// agent: the agent reports those it does not know (their launch never
    /// reached it), and since this answer follows every `RunTasks` sent to
    /// it, a launch still on its way cannot be mistaken for a lost one.
    pub(super) fn registered(&self, id: &AgentId, to: &Pid, io: &mut Io) {
        let live = self
            .tasks
            .iter()
            .filter(|(_, t)| &t.agent == id && !t.state.is_terminal())
            .map(|(key, _)| key);
        // Removed frameworks' tasks held here too: one whose launch never
        // reached the agent is reported ended, which frees what it holds.
        let orphans = self
            .orphans
            .iter()
            .filter(|(_, (on, _))| on == id)
            .map(|(key, _)| key);
        let tasks = live
            .chain(orphans)
            .map(|(fw, task_id)| ExpectedTask {
                framework_id: fw.clone(),
                task_id: task_id.clone(),
                partition_aware: self
                    .frameworks
                    .get(fw)
                    .is_some_and(|f| f.info.partition_aware),
            })
            .collect();
        let msg = AgentRegistered {
            agent_id: id.clone(),
            ping_interval: self.cfg.agent_ping_timeout,
            tasks,
            term: self.term(),
        };
        io.send(to, msg);
    }

    /// Pings every agent; one that misses `max_missed_pings` in a row is
    /// lost.
    pub(super) fn ping_agents(&mut self, io: &mut Io) {
        let timeout = self.cfg.agent_ping_timeout;
        let agents: Vec<(AgentId, Pid)> = self
            .agents
            .iter()
            .map(|(id, a)| (id.clone(), a.pid.clone()))
            .collect();
        for (id, pid) in agents {
            let to = pid.clone();
            io.ask(&to, Question::Ping, timeout, Then::Ponged { id, pid });
        }
        io.delay(timeout, Timer::PingAgents);
    }

    pub(super) fn ponged(
        &mut self,
        id: &AgentId,
        pid: &Pid,
        r: Result<Pong, AskError>,
        io: &mut Io,
    ) {
        let max = self.cfg.max_missed_pings;
        // The agent may have re-registered from a new pid meanwhile.
        let Some(agent) = self.agents.get_mut(id).filter(|a| &a.pid == pid) else {
            return;
        };
        match r {
            Ok(Pong) => agent.missed_pings = 0,
            Err(e) => {
                agent.missed_pings += 1;
                tracing::info!(agent = %id, missed = agent.missed_pings, %e, "agent missed a ping");
                if agent.missed_pings >= max {
                    self.agent_lost(id, io);
                }
            }
        }
    }

    /// An agent that stopped answering becomes unreachable (see the
    /// `unreachable` module).
    fn agent_lost(&mut self, id: &AgentId, io: &mut Io) {
        self.mark_unreachable(id, io);
    }

    pub(super) fn on_register_agent(&mut self, m: RegisterAgent, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        if let Some(problem) = check_registration(&m) {
            tracing::warn!(pid = %m.pid, %problem, "agent registration refused");
            return;
        }
        if let Err(e) = self.authenticate_agent(m.credential.as_ref(), io.certified()) {
            tracing::warn!(pid = %m.pid, error = %e, "agent registration refused");
            let message = format!("registration refused: {e}");
            io.send(&m.pid, RegistrationRefused { message });
            return;
        }
        // The same agent again at the same address: a retry whose answer
        // was lost, or the agent restarted (its report then tells what it
        // still runs).
        if let Some(id) = self.agent_pids.get(&m.pid).cloned() {
            self.adopt_orphans_again(&id, &m, io);
            return self.registered(&id, &m.pid, io);
        }
        if self.admitting.contains(&m.pid) {
            // Its admission is being written; the answer follows.
            return;
        }
        let pid = m.pid.clone();
        match m.id.clone() {
            Some(id) if self.removed_agents.contains(&id) => {
                tracing::info!(agent = %id, "removed agent came back; shutting it down");
                let message = format!("agent {id} was removed after it became unreachable");
                io.send(&pid, ShutdownAgent { message });
            }
            Some(id) if self.agents.contains_key(&id) => {
                let hostname = m.hostname.clone();
                self.adopt_orphans_again(&id, &m, io);
                self.moved(id.clone(), m, io);
                self.record_address(id, hostname, pid, io);
            }
            Some(id) if self.unreachable.contains_key(&id) => self.rejoin(id, m, io),
            Some(id) if self.recovering.get(&id).is_some_and(|e| e.pid == pid) => {
                // Back after a failover, at the address the registry has.
                self.admit(id.clone(), m, io);
                self.registered(&id, &pid, io);
            }
            known => {
                // New, or known to an earlier master run at another
                // address: the registry learns it first.
                let id = known.unwrap_or_else(|| {
                    self.next_agent += 1;
                    AgentId(format!("{}-S{}", self.prefix, self.next_agent))
                });
                let op = Op::AdmitAgent {
                    id: id.clone(),
                    hostname: m.hostname.clone(),
                    pid: pid.clone(),
                };
                let guard = Some(pid.clone());
                let registration = Box::new(m);
                let after = AfterWrite::AdmitAgent {
                    id,
                    registration,
                    pid,
                };
                self.persist(op, guard, after, io);
            }
        }
    }

    /// Reported tasks of frameworks this master does not know still run on
    /// agent `id` (their `ShutdownFramework` was lost, or sent by an
    /// earlier leader): their frameworks are shut down there again, and
    /// what the tasks use and is not held yet is held from offers until the
    /// agent reports them ended. Returns what was newly held, for the
    /// caller to tell the allocator.
    fn adopt_orphans(
        &mut self,
        id: &AgentId,
        pid: &Pid,
        tasks: &[AgentTask],
        io: &mut Io,
    ) -> Resources {
        let mut held = Resources::empty();
        let mut strangers: BTreeSet<&FrameworkId> = BTreeSet::new();
        for t in tasks
            .iter()
            .filter(|t| !self.frameworks.contains_key(&t.framework_id))
        {
            strangers.insert(&t.framework_id);
            let key = (t.framework_id.clone(), t.task_id.clone());
            let live = !t.state.holds_nothing();
            if !live || self.orphans.contains_key(&key) {
                continue;
            }
            match held.checked_plus(&t.resources) {
                Some(sum) => {
                    held = sum;
                    self.orphans.insert(key, (id.clone(), t.resources.clone()));
                }
                None => {
                    tracing::warn!(agent = %id, task = %t.task_id, "reported tasks overlap in resources")
                }
            }
        }
        for framework_id in strangers {
            tracing::info!(agent = %id, framework = %framework_id, "the agent runs tasks of an unknown framework: shutting it down there");
            let framework_id = framework_id.clone();
            io.send(pid, ShutdownFramework { framework_id });
        }
        held
    }

    /// [`adopt_orphans`](Self::adopt_orphans) for an agent the allocator
    /// already has.
    fn adopt_orphans_again(&mut self, id: &AgentId, m: &RegisterAgent, io: &mut Io) {
        let resources = self.adopt_orphans(id, &m.pid, &m.tasks, io);
        if !resources.is_empty() {
            let agent = id.clone();
            io.tell_allocator(HoldOrphaned { agent, resources });
        }
    }

    /// The registry holds the agent's admission: admits and answers it
    /// (or, if it was admitted meanwhile from another address, moves it).
    pub(super) fn admission_written(
        &mut self,
        id: AgentId,
        m: RegisterAgent,
        pid: Pid,
        io: &mut Io,
    ) {
        if self.agents.contains_key(&id) {
            return self.moved(id, m, io);
        }
        self.admit(id.clone(), m, io);
        self.registered(&id, &pid, io);
    }

    /// The same agent from a new actor (e.g. restarted): moves it over
    /// and answers it (the caller sees to the registry).
    fn moved(&mut self, id: AgentId, m: RegisterAgent, io: &mut Io) {
        let pid = m.pid.clone();
        if let Some(agent) = self.agents.get_mut(&id) {
            let old = std::mem::replace(&mut agent.pid, pid.clone());
            agent.missed_pings = 0;
            // A restarted agent may serve HTTP on a new port.
            agent.http = m.http.clone();
            self.agent_pids.remove(&old);
            io.unlink(&old);
        }
        self.agent_pids.insert(pid.clone(), id.clone());
        io.link(&pid);
        tracing::info!(agent = %id, %pid, "agent re-registered");
        self.registered(&id, &pid, io);
    }

    /// Writes an admitted agent's new address to the registry, after the
    /// fact: the agent was already answered, and a lost write only means a
    /// later leader announces itself to the old address (the agent finds
    /// the leader through its list of masters anyway).
    pub(super) fn record_address(&mut self, id: AgentId, hostname: String, pid: Pid, io: &mut Io) {
        let op = Op::AdmitAgent { id, hostname, pid };
        self.persist(op, None, AfterWrite::Nothing, io);
    }
}
