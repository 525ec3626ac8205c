//! Tasks: status updates from agents, acknowledgements from frameworks,
//! kills and reconciliation.

use std::time::Duration;

use corral_runtime::{Ctx, Handler, Time};

use super::records::{keep_latest, TaskRec};
use super::{not_subscribed, Master, MasterBug};
use crate::allocator::messages::ReleaseOrphaned;
use crate::state::{KillOutcome, OperatorKill};
use corral_api::agent::{KillTask, StatusAck, StatusUpdate};
use corral_api::framework::{Acknowledge, Kill, Reconcile, Update};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};

impl Master {
    /// A task of a framework this master no longer knows ended on `agent`:
    /// what it used may be offered again.
    fn orphan_ended(
        &mut self,
        fw: &FrameworkId,
        task_id: &TaskId,
        agent: &AgentId,
        ctx: &mut Ctx<'_, Self>,
    ) {
        let key = (fw.clone(), task_id.clone());
        if self.orphans.get(&key).is_some_and(|(on, _)| on == agent) {
            if let Some((agent, resources)) = self.orphans.remove(&key) {
                self.to_allocator(ctx, ReleaseOrphaned { agent, resources });
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
    fn completed(&self, fw: &FrameworkId, task_id: &TaskId) -> Option<&(TaskId, TaskRec)> {
        self.frameworks
            .get(fw)
            .and_then(|f| f.completed.iter().rev().find(|(id, _)| id == task_id))
    }

    /// Whether `task_id` ended under this master (its end is known).
    fn ended_here(&self, fw: &FrameworkId, task_id: &TaskId) -> bool {
        self.completed(fw, task_id).is_some()
    }

    /// What the master says about a task it has no live record of.
    fn unknown_status(&self, fw: &FrameworkId, task_id: &TaskId, now_ms: u64) -> TaskStatus {
        let completed = self.completed(fw, task_id);
        let aware = self
            .frameworks
            .get(fw)
            .is_some_and(|f| f.info.partition_aware);
        let (state, agent_id, message) = match completed {
            Some((_, t)) => (t.state, Some(t.agent.clone()), "task ended".to_owned()),
            None if aware => (TaskState::Unknown, None, "unknown task".to_owned()),
            None => (TaskState::Lost, None, "unknown task".to_owned()),
        };
        TaskStatus {
            task_id: task_id.clone(),
            framework_id: fw.clone(),
            agent_id,
            state,
            source: StatusSource::Master,
            reason: Some(StatusReason::Reconciliation),
            message,
            timestamp_ms: now_ms,
            uuid: None,
        }
    }

    fn reconciled(&self, fw: &FrameworkId, id: &TaskId, t: &TaskRec, now_ms: u64) -> TaskStatus {
        TaskStatus {
            task_id: id.clone(),
            framework_id: fw.clone(),
            agent_id: Some(t.agent.clone()),
            state: t.state,
            source: StatusSource::Master,
            reason: Some(StatusReason::Reconciliation),
            message: "reconciliation".to_owned(),
            timestamp_ms: now_ms,
            uuid: None,
        }
    }
}

impl Handler<StatusUpdate> for Master {
    fn handle(&mut self, m: StatusUpdate, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let status = m.status;
        let Some(from) = ctx.sender().cloned() else {
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
                self.orphan_ended(&fw, &status.task_id, &agent, ctx);
            }
            // Nobody will acknowledge it: do so, so the agent stops retrying.
            ctx.send(&from, ack);
            return;
        }
        let now_ms = ctx.unix_time_ms();
        let key = (fw.clone(), status.task_id.clone());
        let mut freed = None;
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
            task.transition(status.state, now_ms);
            if was_live && ends {
                task.terminal_uuid = Some(uuid);
                freed = Some(task.resources.clone());
            } else if task.terminal_uuid.is_none() && ends {
                // Reported already ended by its agent after a failover: its
                // resent terminal update's acknowledgement retires it.
                task.terminal_uuid = Some(uuid);
            }
        }
        if let Some(resources) = freed {
            self.give_back(&fw, [(agent.clone(), resources)], None, ctx);
        }
        let connected = self.frameworks.get(&fw).is_some_and(|f| f.pid.is_some());
        if connected {
            self.send_to_framework(&fw, Update { status }, ctx);
        }
    }
}

impl Handler<Acknowledge> for Master {
    fn handle(&mut self, m: Acknowledge, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(fw) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "acknowledge");
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
        ctx.send(&agent.pid, ack);
    }
}

impl Master {
    /// Sends a kill for the framework's task to its agent, if it is live.
    fn kill_task(
        &self,
        fw: &FrameworkId,
        task_id: &TaskId,
        ctx: &mut Ctx<'_, Self>,
    ) -> KillOutcome {
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
        ctx.send(&agent.pid.clone(), kill);
        KillOutcome::Accepted
    }
}

impl Handler<Kill> for Master {
    fn handle(&mut self, m: Kill, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(fw) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "kill");
        };
        let known = self.tasks.contains_key(&(fw.clone(), m.task_id.clone()));
        self.kill_task(&fw, &m.task_id, ctx);
        if !known {
            // Never launched, or retired: say what the master knows of it.
            let status = self.unknown_status(&fw, &m.task_id, ctx.unix_time_ms());
            self.send_to_framework(&fw, Update { status }, ctx);
        }
    }
}

impl Handler<OperatorKill> for Master {
    fn handle(&mut self, m: OperatorKill, ctx: &mut Ctx<'_, Self>) {
        if !self.leading() {
            ctx.reply(KillOutcome::NotLeader);
            return;
        }
        let outcome = if self.frameworks.contains_key(&m.framework_id) {
            self.kill_task(&m.framework_id, &m.task_id, ctx)
        } else {
            KillOutcome::UnknownFramework
        };
        tracing::info!(framework = %m.framework_id, task = %m.task_id, ?outcome, "operator kill");
        ctx.reply(outcome);
    }
}

impl Handler<Reconcile> for Master {
    fn handle(&mut self, m: Reconcile, ctx: &mut Ctx<'_, Self>) {
        if self.refuse_unless_leading(ctx) {
            return;
        }
        let Some(fw) = self.sender_framework(ctx) else {
            return not_subscribed(ctx, "reconcile");
        };
        let now_ms = ctx.unix_time_ms();
        let statuses: Vec<TaskStatus> = if m.task_ids.is_empty() {
            self.tasks
                .iter()
                .filter(|((f, _), _)| f == &fw)
                .map(|((_, id), t)| self.reconciled(&fw, id, t, now_ms))
                .collect()
        } else {
            let mut known = Vec::new();
            for id in &m.task_ids {
                let unknown = !self.tasks.contains_key(&(fw.clone(), id.clone()));
                if unknown && self.settling(ctx.now()) && !self.ended_here(&fw, id) {
                    self.deferred_reconciles.push((fw.clone(), id.clone()));
                } else {
                    known.push(self.answer(&fw, id, now_ms));
                }
            }
            self.answer_deferred_later(ctx);
            known
        };
        for status in statuses {
            self.send_to_framework(&fw, Update { status }, ctx);
        }
    }
}

impl Master {
    /// What the master says of one task to an explicit reconciliation.
    fn answer(&self, fw: &FrameworkId, id: &TaskId, now_ms: u64) -> TaskStatus {
        match self.tasks.get(&(fw.clone(), id.clone())) {
            Some(t) => self.reconciled(fw, id, t, now_ms),
            None => self.unknown_status(fw, id, now_ms),
        }
    }

    /// Whether agents of before this master led may still re-register
    /// with tasks it does not know: the registry's agents not back yet, or
    /// a lone master's first moments. Like Mesos's master, it says nothing
    /// about an unknown task until then rather than call it lost.
    fn settling(&self, now: Time) -> bool {
        !self.recovering.is_empty() || now < self.settle_until
    }

    /// Answers the deferred questions once the master has settled,
    /// checking every second.
    fn answer_deferred_later(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.deferred_reconciles.is_empty() || self.deferred_timer {
            return;
        }
        self.deferred_timer = true;
        ctx.delay(Duration::from_secs(1), |m: &mut Self, ctx| {
            m.deferred_timer = false;
            if m.settling(ctx.now()) {
                m.answer_deferred_later(ctx);
                return;
            }
            let now_ms = ctx.unix_time_ms();
            for (fw, id) in std::mem::take(&mut m.deferred_reconciles) {
                if !m.frameworks.contains_key(&fw) {
                    continue;
                }
                let status = m.answer(&fw, &id, now_ms);
                m.send_to_framework(&fw, Update { status }, ctx);
            }
        });
    }
}
