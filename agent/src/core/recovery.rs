//! Surviving restarts: the checkpoint records the agent writes as its state
//! changes, taking back the tasks of an earlier run's checkpoint at start,
//! and the executors that run them (or cleaning them up).
//!
//! The agent cannot wait on processes it did not start in this run: a
//! recovered task's executor is reattached by its `ReregisterExecutor` (and
//! watched through a link), not by a process exit.

use corral_api::executor as exec;
use corral_api::leader::LeaderTerm;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{Pid, StorageError, Time};

use super::executors::Claim;
use super::launch::executor_sandbox;
use super::phase::Phase;
use super::tasks::{AgentStatus, Task};
use super::{Action, AgentCore, Now, Outgoing, Timer};
use crate::checkpoint::{Checkpoint, CheckpointError, TaskCheckpoint, TaskRecord};
use crate::config::RecoverMode;
use crate::events::AgentEvent;
use crate::updates::TaskKey;

impl AgentCore {
    /// The agent starts as `me`, with what the shell read from its store:
    /// it takes back an earlier run's tasks, then registers.
    pub fn handle_start(
        &mut self,
        now: &mut Now<'_>,
        me: Pid,
        loaded: Result<Checkpoint, CheckpointError>,
    ) {
        self.me = Some(me);
        self.recover(now, loaded);
        self.start_registering(now);
    }

    /// Checkpoint records of these tasks were not made durable: they are
    /// written again with the next checkpoint.
    pub fn handle_checkpoint_failed(&mut self, keys: impl IntoIterator<Item = TaskKey>) {
        if self.checkpointing {
            self.dirty.extend(keys);
        }
    }

    /// Writes the records of the tasks that changed, then syncs; `then` is
    /// sent once they are durable (at once when the node keeps no
    /// checkpoint). An empty write still goes out after an earlier write of
    /// the same input, which the shell retries in it if that one failed.
    pub(super) fn write_checkpoints(&mut self, then: Option<(Pid, Outgoing)>) {
        if !self.checkpointing {
            self.dirty.clear();
            if let Some((to, msg)) = then {
                self.send(&to, msg);
            }
            return;
        }
        let records: Vec<TaskRecord> = self.dirty.iter().map(|k| self.record(k)).collect();
        self.dirty.clear();
        let earlier = self
            .actions
            .iter()
            .any(|a| matches!(a, Action::Checkpoint { records, .. } if !records.is_empty()));
        if records.is_empty() && !earlier {
            if let Some((to, msg)) = then {
                self.send(&to, msg);
            }
            return;
        }
        self.act(Action::Checkpoint { records, then });
    }

    /// The record of `key` as the agent holds it now.
    fn record(&self, key: &TaskKey) -> TaskRecord {
        TaskRecord {
            framework_id: key.0.clone(),
            task_id: key.1.clone(),
            task: self.tasks.get(key).map(|t| {
                let (executor, terminal, kill_requested) = t.phase.stored();
                TaskCheckpoint {
                    framework: t.framework.clone(),
                    info: t.info.clone(),
                    executor,
                    state: t.state,
                    terminal,
                    kill_requested,
                    shared_executor: t.shared_executor.clone(),
                }
            }),
            pending: self.updates.pending_of(key).cloned().collect(),
        }
    }

    /// Checkpoints the id the master gave (synced: a restart must come back
    /// under it).
    pub(super) fn checkpoint_agent_id(&mut self) {
        let Some(agent_id) = self.agent_id.clone() else {
            return;
        };
        if !self.checkpointing {
            return;
        }
        let term = self.leader_term.latest();
        self.act(Action::SaveRegistration { agent_id, term });
    }

    /// Forgets the whole checkpoint (the master removed this agent).
    pub(super) fn clear_checkpoint(&mut self) {
        self.dirty.clear();
        if self.checkpointing {
            self.act(Action::ClearCheckpoint);
        }
    }

    /// Asks an executor (of an earlier run) to kill its task and exit.
    pub(super) fn shut_down_executor(&mut self, executor: Option<Pid>) {
        if let Some(executor) = executor {
            let grace = self.cfg.kill_grace;
            let shutdown = exec::ShutdownExecutor { grace };
            self.send(&executor, Outgoing::ShutdownExecutor(shutdown));
        }
    }

    /// At start: takes the checkpoint of an earlier run back as `recover`
    /// says.
    fn recover(&mut self, now: &mut Now<'_>, loaded: Result<Checkpoint, CheckpointError>) {
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
        let mut live = Vec::new();
        for record in found.tasks {
            if let Some(key) = self.restore(record, now.time) {
                live.push(key);
            }
        }
        let mut waiting = false;
        for key in live {
            waiting |= self.resume(now, &key);
        }
        if waiting {
            self.set_timer(Timer::Recovery, self.cfg.recovery_timeout);
        }
        self.write_checkpoints(None);
        let tasks = self.tasks.keys().map(|k| k.1.clone()).collect();
        self.notify(AgentEvent::Recovered {
            agent_id: self.agent_id.clone(),
            tasks,
        });
    }

    /// Puts one record back: its pending updates and its task. Returns the
    /// key of a task that had not ended.
    fn restore(&mut self, record: TaskRecord, now: Time) -> Option<TaskKey> {
        let key = (record.framework_id, record.task_id);
        for status in record.pending {
            self.updates.push(status, now);
        }
        let saved = record.task?;
        let Some(sandbox) = executor_sandbox(&self.cfg.work_dir, &key.0, &saved.info) else {
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
        let phase = Phase::restored(&saved);
        let live = !phase.is_ended();
        self.tasks.insert(
            key.clone(),
            Task {
                framework_id: key.0.clone(),
                framework: saved.framework,
                info: saved.info,
                sandbox,
                process: None,
                phase,
                state: saved.state,
                launch_seq,
                shared_executor: saved.shared_executor,
            },
        );
        live.then_some(key)
    }

    /// Decides about one recovered live task; true if it now waits for its
    /// executor to re-register.
    fn resume(&mut self, now: &mut Now<'_>, key: &TaskKey) -> bool {
        let Some(task) = self.tasks.get_mut(key) else {
            return false;
        };
        let executor = task.phase.executor().cloned();
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
                task.phase.await_executor();
                return true;
            }
        };
        self.shut_down_executor(executor);
        let status = AgentStatus::new(state, StatusReason::ExecutorTerminated, why);
        self.end_task(now, key, status);
        false
    }

    /// The recovery timeout passed: tasks whose executor has not come back
    /// fail.
    pub(super) fn recovery_timed_out(&mut self, now: &mut Now<'_>) {
        let lost: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.phase.is_reconnecting())
            .map(|(k, _)| k.clone())
            .collect();
        for key in lost {
            let executor = self
                .tasks
                .get(&key)
                .and_then(|t| t.phase.executor().cloned());
            self.shut_down_executor(executor);
            let why = "executor did not reconnect after agent restart";
            let status = AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why);
            self.end_task(now, &key, status);
        }
        self.flush(now.time);
    }

    /// A linked executor of a recovered task went away (its process is not
    /// ours to wait on): its task failed unless it already ended.
    pub(super) fn recovered_executor_lost(&mut self, now: &mut Now<'_>, pid: &Pid) {
        let lost: Vec<TaskKey> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                t.process.is_none() && !t.phase.is_ended() && t.phase.executor() == Some(pid)
            })
            .map(|(k, _)| k.clone())
            .collect();
        // A framework's own executor is told to the master after its
        // tasks' ends, as one this run launched; its wait status is not
        // known.
        let own = lost.iter().find_map(|key| {
            let task = self.tasks.get(key)?;
            task.info.executor.as_ref()?;
            Some((key.0.clone(), task.executor_id().to_owned()))
        });
        for key in lost {
            let Some(task) = self.tasks.get(&key) else {
                continue;
            };
            let status = if task.phase.kill_requested() {
                let why = "executor was lost after the kill";
                AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why)
            } else {
                let why = "executor was lost before its task ended";
                AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why)
            };
            self.end_task(now, &key, status);
        }
        self.flush(now.time);
        if let Some((framework_id, executor_id)) = own {
            self.report_exit_of(framework_id, executor_id, None);
        }
    }

    /// An executor that outlived its agent's link (a restart of this agent,
    /// or a broken connection) asks to be taken back, with all its tasks.
    pub fn handle_reregister_executor(
        &mut self,
        from: Option<&Pid>,
        msg: exec::ReregisterExecutor,
    ) {
        let Some(sender) = from.cloned() else {
            return;
        };
        let (framework, executor_id) = (msg.framework_id, msg.executor_id);
        let grace = self.cfg.kill_grace;
        let live = match self.executor_claim(&framework, &executor_id, &sender) {
            Claim::Unknown | Claim::Idle => {
                tracing::info!(%framework, executor = %executor_id, %sender, "an executor with no live task here re-registered; shutting it down");
                let shutdown = exec::ShutdownExecutor { grace };
                self.send(&sender, Outgoing::ShutdownExecutor(shutdown));
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
            // A launching task's registration deadline is left to fire:
            // it finds the task running and does nothing.
            if task.phase.executor_registered(sender.clone()) {
                self.stray_deadlines.insert((key.clone(), task.launch_seq));
            }
            watch |= task.process.is_none();
            if task.phase.kill_requested() {
                kills.push(key.1.clone());
            }
            self.dirty.insert(key.clone());
        }
        if watch {
            self.act(Action::Link(sender.clone()));
        }
        self.write_checkpoints(None);
        let reregistered = exec::ExecutorReregistered { executor_id };
        self.send(&sender, Outgoing::ExecutorReregistered(reregistered));
        for task_id in kills {
            self.send(
                &sender,
                Outgoing::KillTask(exec::KillTask { task_id, grace }),
            );
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
