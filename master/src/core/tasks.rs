//! Tasks: status updates from agents, acknowledgements from frameworks,
//! kills and reconciliation.

use super::config::MasterBug;
use super::effects::Io;
use super::records::{keep_latest, FrameworkRec, TaskRec};
use super::{not_subscribed, MasterCore};
use crate::acls::Acls;
use crate::allocator::messages::ReleaseOrphaned;
use crate::state::{KillOutcome, OperatorKill, OperatorTeardown};
use corral_api::agent::{KillTask, StatusAck, StatusUpdate};
use corral_api::framework::{Acknowledge, FrameworkError, Kill, Update};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::task::TaskState;

impl MasterCore {
    /// A task of a framework this master no longer knows ended on `agent`:
    /// what it used may be offered again.
    fn orphan_ended(&mut self, fw: &FrameworkId, task_id: &TaskId, agent: &AgentId, io: &mut Io) {
        let key = (fw.clone(), task_id.clone());
        if self.orphans.get(&key).is_some_and(|(on, _)| on == agent) {
            if let Some((agent, resources)) = self.orphans.remove(&key) {
                io.tell_allocator(ReleaseOrphaned { agent, resources });
            }
        }
    }

    /// Forgets the orphaned tasks on `agent`: it left the allocator, and
    /// its report holds them again if it comes back.
    pub(super) fn forget_orphans_on(&mut self, agent: &AgentId) {
        self.orphans.retain(|_, (on, _)| on != agent);
    }

    /// Keeps an ended task among the framework's latest completed ones.
    pub(super) fn retire(&mut self, fw: &FrameworkId, id: TaskId, task: TaskRec) {
        let max = self.cfg.max_completed_tasks;
        if let Some(f) = self.frameworks.get_mut(fw) {
            f.completed.push_back((id, task));
            keep_latest(&mut f.completed, max);
        }
    }

    /// The record of a task that ended under this master, if it is still
    /// kept.
    pub(super) fn completed(
        &self,
        fw: &FrameworkId,
        task_id: &TaskId,
    ) -> Option<&(TaskId, TaskRec)> {
        self.frameworks
            .get(fw)
            .and_then(|f| f.completed.iter().rev().find(|(id, _)| id == task_id))
    }

    /// Whether `task_id` ended under this master (its end is known).
    pub(super) fn ended_here(&self, fw: &FrameworkId, task_id: &TaskId) -> bool {
        self.completed(fw, task_id).is_some()
    }

    pub(super) fn on_status_update(&mut self, m: StatusUpdate, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let status = m.status;
        let Some(from) = io.sender().cloned() else {
            return;
        };
        let Some(agent) = self.agent_pids.get(&from).cloned() else {
            tracing::debug!(%from, "status update from an unknown agent dropped");
            return;
        };
        let Some(uuid) = status.uuid else {
            tracing::debug!(%from, "status update without a uuid dropped");
            return;
        };
        let fw = status.framework_id.clone();
        let ack = StatusAck {
            framework_id: fw.clone(),
            task_id: status.task_id.clone(),
            uuid,
        };
        if !self.frameworks.contains_key(&fw) {
            let ends = status.state.holds_nothing();
            if ends {
                self.orphan_ended(&fw, &status.task_id, &agent, io);
            }
            // Nobody will acknowledge it: do so, so the agent stops retrying.
            io.send(&from, ack);
            return;
        }
        let now_ms = io.unix_time_ms();
        let key = (fw.clone(), status.task_id.clone());
        let mut freed = None;
        let mut moved = false;
        if let Some(task) = self.tasks.get_mut(&key).filter(|t| t.agent == agent) {
            let was_live = !task.state.holds_nothing();
            // An agent's TASK_LOST ends the task, as in Mesos (it is not
            // final for the master's own reports of unreachable agents).
            let ends = status.state.holds_nothing();
            let early = self.cfg.planted == Some(MasterBug::FreeAtRunning)
                && status.state == TaskState::Running
                && task.state != TaskState::Running;
            if early {
                freed = Some(task.resources.clone());
            }
            moved = task.transition(status.state, now_ms);
            if was_live && ends {
                task.terminal_uuid = Some(uuid);
                freed = Some(task.resources.clone());
            } else if task.terminal_uuid.is_none() && ends {
                // Reported already ended by its agent after a failover: its
                // resent terminal update's acknowledgement retires it.
                task.terminal_uuid = Some(uuid);
            }
        }
        if moved {
            self.note_task_updated(&status);
        }
        if let Some(resources) = freed {
            self.give_back(&fw, [(agent.clone(), resources)], None, io);
        }
        let connected = self.frameworks.get(&fw).is_some_and(|f| f.pid.is_some());
        if connected {
            self.send_to_framework(&fw, Update { status }, io);
        }
    }

    pub(super) fn on_acknowledge(&mut self, m: Acknowledge, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "acknowledge");
        };
        let key = (fw.clone(), m.task_id.clone());
        let retired = self
            .tasks
            .get(&key)
            .is_some_and(|t| t.terminal_uuid == Some(m.uuid));
        if retired {
            if let Some(task) = self.tasks.remove(&key) {
                self.retire(&fw, m.task_id.clone(), task);
            }
        }
        let Some(agent) = self.agents.get(&m.agent_id) else {
            tracing::debug!(agent = %m.agent_id, "acknowledgement for an unknown agent dropped");
            return;
        };
        let ack = StatusAck {
            framework_id: fw,
            task_id: m.task_id,
            uuid: m.uuid,
        };
        io.send(&agent.pid, ack);
    }

    /// Sends a kill for the framework's task to its agent, if it is live.
    fn kill_task(&self, fw: &FrameworkId, task_id: &TaskId, io: &mut Io) -> KillOutcome {
        let key = (fw.clone(), task_id.clone());
        let Some(task) = self.tasks.get(&key) else {
            let completed = self
                .frameworks
                .get(fw)
                .is_some_and(|f| f.completed.iter().any(|(id, _)| id == task_id));
            return if completed {
                KillOutcome::AlreadyEnded
            } else {
                KillOutcome::UnknownTask
            };
        };
        if task.state.is_terminal() {
            // Its terminal update is on its way.
            return KillOutcome::AlreadyEnded;
        }
        // A live task's agent is admitted: losing an agent retires its tasks.
        let Some(agent) = self.agents.get(&task.agent) else {
            return KillOutcome::UnknownTask;
        };
        let kill = KillTask {
            framework_id: fw.clone(),
            task_id: task_id.clone(),
        };
        io.send(&agent.pid.clone(), kill);
        KillOutcome::Accepted
    }

    pub(super) fn on_kill(&mut self, m: Kill, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "kill");
        };
        let known = self.tasks.contains_key(&(fw.clone(), m.task_id.clone()));
        self.kill_task(&fw, &m.task_id, io);
        if !known {
            // Never launched, or retired: say what the master knows of it.
            let status = self.unknown_status(&fw, &m.task_id, io.unix_time_ms());
            self.send_to_framework(&fw, Update { status }, io);
        }
    }

    /// An operator's kill: sent to the task's agent if the task is live.
    pub(super) fn operator_kill(&mut self, m: OperatorKill, io: &mut Io) -> KillOutcome {
        if !self.leading() {
            return KillOutcome::NotLeader;
        }
        let outcome = match self.frameworks.get(&m.framework_id) {
            None => KillOutcome::UnknownFramework,
            Some(f) if !self.may_operate(&m.principal, f, Acls::may_kill) => KillOutcome::Denied,
            Some(_) => self.kill_task(&m.framework_id, &m.task_id, io),
        };
        tracing::info!(framework = %m.framework_id, task = %m.task_id, principal = ?m.principal, ?outcome, "operator kill");
        outcome
    }

    /// An operator's teardown (see [`OperatorTeardown`]): the framework is
    /// forgotten and its tasks shut down, as when it tears itself down; a
    /// connected framework is told why first.
    pub(super) fn operator_teardown(&mut self, m: OperatorTeardown, io: &mut Io) -> KillOutcome {
        if !self.leading() {
            return KillOutcome::NotLeader;
        }
        let outcome = match self.frameworks.get(&m.framework_id) {
            None => KillOutcome::UnknownFramework,
            Some(f) if !self.may_operate(&m.principal, f, Acls::may_teardown) => {
                KillOutcome::Denied
            }
            Some(f) => {
                if let Some(pid) = f.pid.clone() {
                    let message =
                        "Framework has been removed (torn down by an operator)".to_owned();
                    let removed = true;
                    io.send(&pid, FrameworkError { message, removed });
                }
                self.remove_framework(&m.framework_id, io);
                KillOutcome::Accepted
            }
        };
        tracing::info!(framework = %m.framework_id, principal = ?m.principal, ?outcome, "operator teardown");
        outcome
    }

    /// Whether operator `principal` may act on framework `f` by `rule`.
    fn may_operate(
        &self,
        principal: &Option<String>,
        f: &FrameworkRec,
        rule: fn(&Acls, Option<&str>, Option<&str>) -> bool,
    ) -> bool {
        rule(
            &self.cfg.acls,
            principal.as_deref(),
            f.info.principal.as_deref(),
        )
    }
}
