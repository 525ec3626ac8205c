//! Agents that stop answering pings: unreachable first, removed after
//! `agent_removal_timeout`, as in Mesos.
//!
//! When an agent misses `max_missed_pings` pings in a row its offers are
//! rescinded and its resources leave the allocator. Tasks of
//! partition-aware frameworks become TASK_UNREACHABLE and wait; tasks of
//! other frameworks are reported TASK_LOST at once (Lost is not final in
//! Mesos either). If the agent comes back in time it is re-admitted from
//! its own report: waiting tasks take the state it reports (their
//! frameworks are told), and tasks already reported LOST that still run
//! are killed, since their frameworks have written them off. Otherwise the
//! registry records the removal, waiting tasks become TASK_GONE, and the
//! agent is told to shut down should it ever return. Connected frameworks
//! hear of the agent's loss once, when it becomes unreachable
//! ([`Failure`](corral_api::framework::Failure) without an executor).

use super::effects::{AfterWrite, Io, Timer};
use super::MasterCore;
use crate::allocator::messages::RemoveAgent;
use crate::registrar::Op;
use corral_api::agent::{KillTask, RegisterAgent};
use corral_api::framework::{Rescind, Update};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};

impl MasterCore {
    /// Takes an agent that stopped answering out of service.
    pub(super) fn mark_unreachable(&mut self, id: &AgentId, io: &mut Io) {
        let Some(agent) = self.agents.remove(id) else {
            return;
        };
        tracing::warn!(agent = %id, "agent unreachable");
        self.agent_pids.remove(&agent.pid);
        io.unlink(&agent.pid);
        for (fw, offer_id) in self.offers.remove_agent(id) {
            self.counters.offers_rescinded += 1;
            self.send_to_framework(&fw, Rescind { offer_id }, io);
        }
        io.tell_allocator(RemoveAgent { agent: id.clone() });
        self.forget_orphans_on(id);
        let message = format!("agent {id} stopped answering pings");
        for (fw, task_id) in self.live_tasks_on(id) {
            let aware = self
                .frameworks
                .get(&fw)
                .is_some_and(|f| f.info.partition_aware);
            let state = if aware {
                TaskState::Unreachable
            } else {
                TaskState::Lost
            };
            let reason = StatusReason::AgentUnreachable;
            self.tell(&fw, &task_id, state, reason, &message, io);
            if !aware {
                if let Some(task) = self.tasks.remove(&(fw.clone(), task_id.clone())) {
                    self.retire(&fw, task_id, task);
                }
            }
        }
        self.note_agent_removed(id);
        // After its tasks' updates, as Mesos's FAILURE follows them.
        self.announce_agent_lost(id, io);
        let after = self.cfg.agent_removal_timeout;
        let timer = io.delay(after, Timer::RemoveUnreachable(id.clone()));
        self.unreachable.insert(id.clone(), (agent, timer));
    }

    /// The agent did not come back in time: the registry records its
    /// removal, then its waiting tasks are GONE.
    pub(super) fn remove_unreachable(&mut self, id: &AgentId, io: &mut Io) {
        if !self.unreachable.contains_key(id) {
            return;
        }
        let op = Op::RemoveAgent { id: id.clone() };
        let after = AfterWrite::UnreachableRemoved(id.clone());
        self.persist(op, None, after, io);
    }

    /// The registry records the unreachable agent's removal: its waiting
    /// tasks are GONE, and it is told to shut down should it return.
    pub(super) fn unreachable_removed(&mut self, id: AgentId, io: &mut Io) {
        if self.unreachable.remove(&id).is_none() {
            return;
        }
        tracing::warn!(agent = %id, "unreachable agent removed");
        self.removed_agents.insert(id.clone());
        let message = format!("agent {id} was removed after it stayed unreachable");
        let on_agent: Vec<(FrameworkId, TaskId)> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.agent == id)
            .map(|(k, _)| k.clone())
            .collect();
        for (fw, task_id) in on_agent {
            let reason = StatusReason::AgentRemoved;
            self.tell(&fw, &task_id, TaskState::Gone, reason, &message, io);
            if let Some(task) = self.tasks.remove(&(fw.clone(), task_id.clone())) {
                self.retire(&fw, task_id, task);
            }
        }
    }

    /// The unreachable agent registered again before its removal.
    pub(super) fn rejoin(&mut self, id: AgentId, m: RegisterAgent, io: &mut Io) {
        let Some((old, timer)) = self.unreachable.remove(&id) else {
            return;
        };
        io.cancel(timer);
        tracing::info!(agent = %id, "unreachable agent is back");
        // Tasks still running there that their frameworks were told are
        // LOST: those frameworks may have replaced them already.
        let lost: Vec<(FrameworkId, TaskId)> = m
            .tasks
            .iter()
            .filter(|t| !t.state.is_terminal())
            .filter(|t| {
                !self
                    .tasks
                    .contains_key(&(t.framework_id.clone(), t.task_id.clone()))
            })
            .filter(|t| {
                self.frameworks.get(&t.framework_id).is_some_and(|f| {
                    f.completed
                        .iter()
                        .any(|(tid, rec)| *tid == t.task_id && rec.state == TaskState::Lost)
                })
            })
            .map(|t| (t.framework_id.clone(), t.task_id.clone()))
            .collect();
        let pid = m.pid.clone();
        let hostname = m.hostname.clone();
        self.admit(id.clone(), m, io);
        for (framework_id, task_id) in lost {
            tracing::info!(agent = %id, task = %task_id, "killing a task its framework was told is lost");
            io.send(
                &pid,
                KillTask {
                    framework_id,
                    task_id,
                },
            );
        }
        self.registered(&id, &pid, io);
        if old.pid != pid {
            self.record_address(id, hostname, pid, io);
        }
    }

    /// A task the master already has, reported by its agent on coming
    /// back: a task waiting as UNREACHABLE takes the reported state, and
    /// its framework is told.
    pub(super) fn reported_again(
        &mut self,
        key: &(FrameworkId, TaskId),
        agent: &AgentId,
        state: TaskState,
        io: &mut Io,
    ) {
        let unreachable = self
            .tasks
            .get(key)
            .is_some_and(|t| t.state == TaskState::Unreachable && state != TaskState::Unreachable);
        if !unreachable {
            return;
        }
        let message = format!("agent {agent} is reachable again");
        let reason = StatusReason::AgentReregistered;
        self.tell(&key.0, &key.1, state, reason, &message, io);
    }

    /// Moves a task to `state` and tells its framework, if it changed.
    fn tell(
        &mut self,
        fw: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        reason: StatusReason,
        message: &str,
        io: &mut Io,
    ) {
        let now_ms = io.unix_time_ms();
        let Some(task) = self.tasks.get_mut(&(fw.clone(), task_id.clone())) else {
            return;
        };
        if !task.transition(state, now_ms) {
            return;
        }
        let status = TaskStatus {
            task_id: task_id.clone(),
            framework_id: fw.clone(),
            agent_id: Some(task.agent.clone()),
            state,
            source: StatusSource::Master,
            reason: Some(reason),
            message: message.to_owned(),
            timestamp_ms: now_ms,
            uuid: None,
        };
        self.note_task_updated(&status);
        self.send_to_framework(fw, Update { status }, io);
    }

    /// The keys of the non-terminal tasks on `agent`.
    fn live_tasks_on(&self, agent: &AgentId) -> Vec<(FrameworkId, TaskId)> {
        self.tasks
            .iter()
            .filter(|(_, t)| &t.agent == agent && !t.state.is_terminal())
            .map(|(k, _)| k.clone())
            .collect()
    }
}
