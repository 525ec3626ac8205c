//! Surviving restarts: writing the checkpoint as the agent's state changes,
//! reading it back at start, and taking back (or cleaning up) the executors
//! an earlier run of the agent started.
//!
//! The agent cannot wait on processes it did not start in this run: a
//! recovered task's executor is reattached by its `ReregisterExecutor` (and
//! watched through a link), not by `process_exited`.

use corral_api::executor as exec;
use corral_api::leader::LeaderTerm;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{Ctx, Handler, Pid, StorageError};

use super::executors::Claim;
use super::Agent;
use crate::checkpoint::{self, CheckpointError, TaskCheckpoint, TaskRecord};
use crate::config::RecoverMode;
use crate::events::AgentEvent;
use crate::sandbox::Sandbox;
use crate::tasks::{AgentStatus, Task};
use crate::updates::TaskKey;

impl Agent {
    /// Writes the records of the tasks that changed, then syncs. True when
    /// they are durable (or the node keeps no checkpoint at all), so that
    /// what an executor was told is safe stays safe across a crash.
    pub(super) fn write_checkpoints(&mut self, ctx: &mut Ctx<'_, Self>) -> bool {
        if !self.checkpointing {
            self.dirty.clear();
            return true;
        }
        if self.dirty.is_empty() {
            return true;
        }
        let records: Vec<TaskRecord> = self.dirty.iter().map(|k| self.record(k)).collect();
        let mut store = ctx.store();
        let result = records
            .iter()
            .try_for_each(|r| checkpoint::save_task(&mut store, r))
            .and_then(|()| store.sync().map_err(CheckpointError::from));
        match result {
            Ok(()) => {
                self.dirty.clear();
                true
            }
            Err(e) => {
                // Kept dirty: the next write tries again.
                tracing::warn!("cannot checkpoint tasks: {e}");
                false
            }
        }
    }

    /// The record of `key` as the agent holds it now.
    fn record(&self, key: &TaskKey) -> TaskRecord {
        TaskRecord {
            framework_id: key.0.clone(),
            task_id: key.1.clone(),
            task: self.tasks.get(key).map(|t| TaskCheckpoint {
                framework: t.framework.clone(),
                info: t.info.clone(),
                executor: t.executor.clone(),
                state: t.state,
                terminal: t.terminal,
                kill_requested: t.kill_requested,
            }),
            pending: self.updates.pending_of(key).cloned().collect(),
        }
    }

    /// Checkpoints the id the master gave (synced: a restart must come back
    /// under it).
    pub(super) fn checkpoint_agent_id(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(id) = self.agent_id.clone() else {
            return;
        };
        if !self.checkpointing {
            return;
        }
        let mut store = ctx.store();
        let term = self.leader_term.latest();
        let result = checkpoint::save_registration(&mut store, &id, term)
            .and_then(|()| store.sync().map_err(CheckpointError::from));
        if let Err(e) = result {
            tracing::warn!("cannot checkpoint the agent id: {e}");
        }
    }

    /// Forgets the whole checkpoint (the master removed this agent).
    pub(super) fn clear_checkpoint(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.dirty.clear();
        if !self.checkpointing {
            return;
        }
        let mut store = ctx.store();
        let result = checkpoint::clear(&mut store)
            .and_then(|()| store.sync().map_err(CheckpointError::from));
        if let Err(e) = result {
            tracing::warn!("cannot clear the checkpoint: {e}");
        }
    }

    /// Asks an executor (of an earlier run) to kill its task and exit.
    pub(super) fn shut_down_executor(&mut self, executor: Option<&Pid>, ctx: &mut Ctx<'_, Self>) {
        if let Some(executor) = executor {
            let grace = self.cfg.kill_grace;
            ctx.send(executor, exec::ShutdownExecutor { grace });
        }
    }

    /// At start: reads the checkpoint of an earlier run and takes its tasks
    /// back as `recover` says.
    pub(super) fn recover(&mut self, ctx: &mut Ctx<'_, Self>) {
        let loaded = checkpoint::load(&ctx.store());
        let found = match loaded {
            Ok(found) => found,
            Err(CheckpointError::Storage(StorageError::NotConfigured)) => {
                tracing::info!("this node has no store: tasks will not survive an agent restart");
                self.checkpointing = false;
                return;
            }
            Err(e) => {
                tracing::error!("cannot read the checkpoint; starting without it: {e}");
                return;
            }
        };
        if found.agent_id.is_none() && found.tasks.is_empty() {
            return;
        }
        tracing::info!(agent_id = ?found.agent_id, tasks = found.tasks.len(), mode = ?self.cfg.recover, "recovering from the checkpoint");
        self.agent_id = found.agent_id;
        self.leader_term = LeaderTerm::new(found.leader_term);
        let now = ctx.now();
        let mut live = Vec::new();
        for record in found.tasks {
            if let Some(key) = self.restore(record, now) {
                live.push(key);
            }
        }
        let mut waiting = false;
        for key in live {
            waiting |= self.resume(&key, ctx);
        }
        if waiting {
            ctx.delay(self.cfg.recovery_timeout, |a: &mut Agent, ctx| {
                a.recovery_timed_out(ctx);
            });
        }
        self.write_checkpoints(ctx);
        self.notify(AgentEvent::Recovered {
            agent_id: self.agent_id.clone(),
            tasks: self.tasks.keys().map(|k| k.1.clone()).collect(),
        });
    }

    /// Puts one record back: its pending updates and its task. Returns the
    /// key of a task that had not ended.
    fn restore(&mut self, record: TaskRecord, now: corral_runtime::Time) -> Option<TaskKey> {
        let key = (record.framework_id, record.task_id);
        for status in record.pending {
            self.updates.push(status, now);
        }
        let saved = record.task?;
        let Some(sandbox) = Sandbox::new(&self.cfg.work_dir, &key.0 .0, &key.1 .0) else {
            tracing::warn!(framework = %key.0, task = %key.1, "skipping a checkpointed task with an unsafe id");
            return None;
        };
        if !saved.terminal {
            match self.used.checked_plus(&saved.info.resources) {
                Some(used) => self.used = used,
                None => tracing::error!(task = %key.1, "checkpointed tasks overlap in resources"),
            }
        }
        let launch_seq = self.next_launch_seq;
        self.next_launch_seq += 1;
        let terminal = saved.terminal;
        self.tasks.insert(
            key.clone(),
            Task {
                framework_id: key.0.clone(),
                framework: saved.framework,
                info: saved.info,
                sandbox,
                process: None,
                awaiting_executor: false,
                executor: saved.executor,
                kill_requested: saved.kill_requested,
                state: saved.state,
                terminal,
                launch_seq,
                registration_timer: None,
                kill_timer: None,
            },
        );
        (!terminal).then_some(key)
    }

    /// Decides about one recovered live task; true if it now waits for its
    /// executor to re-register.
    fn resume(&mut self, key: &TaskKey, ctx: &mut Ctx<'_, Self>) -> bool {
        let Some(task) = self.tasks.get(key) else {
            return false;
        };
        let executor = task.executor.clone();
        let (state, why) = match self.cfg.recover {
            RecoverMode::Cleanup => (
                TaskState::Killed,
                "killed: the agent restarted with --recover=cleanup",
            ),
            RecoverMode::Reconnect if !task.framework.checkpoint => (
                TaskState::Failed,
                "the agent restarted and the framework does not checkpoint",
            ),
            RecoverMode::Reconnect => {
                if let Some(task) = self.tasks.get_mut(key) {
                    task.awaiting_executor = true;
                }
                return true;
            }
        };
        self.shut_down_executor(executor.as_ref(), ctx);
        let status = AgentStatus::new(state, StatusReason::ExecutorTerminated, why);
        self.end_task(key, status, ctx);
        false
    }

    /// The recovery timeout passed: tasks whose executor has not come back
    /// fail.
    fn recovery_timed_out(&mut self, ctx: &mut Ctx<'_, Self>) {
        let lost: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.awaiting_executor && !t.terminal)
            .map(|(k, _)| k.clone())
            .collect();
        for key in lost {
            let executor = self.tasks.get(&key).and_then(|t| t.executor.clone());
            self.shut_down_executor(executor.as_ref(), ctx);
            let why = "executor did not reconnect after agent restart";
            let status = AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why);
            self.end_task(&key, status, ctx);
        }
        self.flush(ctx);
    }

    /// A linked executor of a recovered task went away (its process is not
    /// ours to wait on): its task failed unless it already ended.
    pub(super) fn recovered_executor_lost(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        let lost: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.process.is_none() && !t.terminal && t.executor.as_ref() == Some(pid))
            .map(|(k, _)| k.clone())
            .collect();
        for key in lost {
            let Some(task) = self.tasks.get(&key) else {
                continue;
            };
            let status = if task.kill_requested {
                let why = "executor was lost after the kill";
                AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why)
            } else {
                let why = "executor was lost before its task ended";
                AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why)
            };
            self.end_task(&key, status, ctx);
        }
        self.flush(ctx);
    }
}

impl Handler<exec::ReregisterExecutor> for Agent {
    /// An executor that outlived its agent's link (a restart of this agent,
    /// or a broken connection) asks to be taken back, with all its tasks.
    fn handle(&mut self, msg: exec::ReregisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let Some(sender) = ctx.sender().cloned() else {
            return;
        };
        let (framework, executor_id) = (msg.framework_id, msg.executor_id);
        let grace = self.cfg.kill_grace;
        let live = match self.executor_claim(&framework, &executor_id, &sender) {
            Claim::Unknown | Claim::Idle => {
                tracing::info!(%framework, executor = %executor_id, %sender, "an executor with no live task here re-registered; shutting it down");
                ctx.send(&sender, exec::ShutdownExecutor { grace });
                return;
            }
            Claim::Taken(known) => {
                tracing::warn!(%framework, executor = %executor_id, %known, %sender, "ignoring a re-registration from another executor than the tasks'");
                return;
            }
            Claim::Tasks(live) => live,
        };
        tracing::info!(%framework, executor = %executor_id, %sender, "executor re-registered");
        let mut watch = false;
        let mut kills = Vec::new();
        for key in &live {
            let Some(task) = self.tasks.get_mut(key) else {
                continue;
            };
            task.executor = Some(sender.clone());
            task.awaiting_executor = false;
            watch |= task.process.is_none();
            if task.kill_requested {
                kills.push(key.1.clone());
            }
            self.dirty.insert(key.clone());
        }
        if watch {
            ctx.link(&sender);
        }
        self.write_checkpoints(ctx);
        ctx.send(&sender, exec::ExecutorReregistered { executor_id });
        for task_id in kills {
            ctx.send(&sender, exec::KillTask { task_id, grace });
        }
        for key in live {
            self.notify(AgentEvent::ExecutorRegistered {
                framework_id: key.0,
                task_id: key.1,
                executor: sender.clone(),
            });
        }
    }
}
