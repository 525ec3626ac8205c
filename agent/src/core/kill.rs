//! Ending tasks: kills from the master, framework shutdowns, executors that
//! ignore a kill, and executor processes that end.

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::ids::FrameworkId;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{ExitStatus, Pid, Signal};

use super::phase::KillPath;
use super::tasks::AgentStatus;
use super::{
    Action, AgentCore, LaunchId, Now, Outgoing, Timer, KILL_MARGIN, MAX_REMOVED_FRAMEWORKS,
};
use crate::updates::TaskKey;

impl AgentCore {
    /// The framework asks for a task to be killed (if `from` is the
    /// master). An unknown task is answered TASK_LOST, unless its
    /// framework was shut down here.
    pub fn handle_kill_task(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::KillTask,
    ) {
        if !self.sent_by_master("KillTask", from) {
            return;
        }
        let key = (msg.framework_id, msg.task_id);
        match self.tasks.get(&key) {
            None if self.removed_frameworks.contains(&key.0) => {}
            None => {
                // Mesos answers TASK_LOST ("cannot find executor") here.
                tracing::info!(framework = %key.0, task = %key.1, "kill of an unknown task");
                let status = AgentStatus::new(
                    TaskState::Lost,
                    StatusReason::ExecutorTerminated,
                    "unknown task",
                );
                self.push_agent_status(now, &key, status);
            }
            Some(task) if task.phase.is_ended() || task.phase.kill_requested() => {
                tracing::debug!(framework = %key.0, task = %key.1, "task already ended or being killed");
            }
            Some(_) => self.kill_task(now, &key),
        }
        self.flush(now.time);
    }

    /// The master forgot a framework (if `from` is the master): its tasks
    /// are killed and its updates dropped, but for each task's end.
    pub fn handle_shutdown_framework(
        &mut self,
        now: &mut Now<'_>,
        from: Option<&Pid>,
        msg: master::ShutdownFramework,
    ) {
        if !self.sent_by_master("ShutdownFramework", from) {
            return;
        }
        let fw = msg.framework_id;
        tracing::info!(framework = %fw, "shutting down a framework's tasks");
        // The master forgot the framework: nobody will acknowledge its
        // updates, so they are dropped, now and as its tasks end.
        self.remember_removed(&fw);
        let streams: Vec<TaskKey> = self
            .updates
            .keys()
            .filter(|(f, _)| *f == fw)
            .cloned()
            .collect();
        self.dirty.extend(streams);
        self.updates.remove_framework(&fw);
        let keys: Vec<TaskKey> = self
            .tasks
            .keys()
            .filter(|(f, _)| *f == fw)
            .cloned()
            .collect();
        for key in keys {
            if self
                .tasks
                .get(&key)
                .is_some_and(|t| !t.phase.is_ended() && !t.phase.kill_requested())
            {
                self.kill_task(now, &key);
            }
            self.maybe_forget(&key);
        }
        self.flush(now.time);
    }

    /// Kills a live task: at once if its executor has not registered,
    /// otherwise through the executor, with the agent's own SIGKILL if the
    /// executor has not ended the task after the grace and a margin.
    pub(super) fn kill_task(&mut self, now: &mut Now<'_>, key: &TaskKey) {
        let grace = self.cfg.kill_grace;
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        let path = task.phase.kill();
        let (process, seq) = (task.process, task.launch_seq);
        self.dirty.insert(key.clone());
        let executor = match path {
            KillPath::Executor(executor) => executor,
            KillPath::EndNow => {
                // The executor never got the task. One that other tasks
                // wait for too is left to run theirs.
                let shared = process
                    .and_then(|p| self.processes.get(&p))
                    .is_some_and(|keys| keys.len() > 1);
                if let (Some(process), false) = (process, shared) {
                    self.act(Action::Signal {
                        process,
                        signal: Signal::Kill,
                    });
                }
                let why = "killed before its executor registered";
                let status =
                    AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why);
                self.end_task_as(now, key, status, true);
                return;
            }
        };
        let task_id = key.1.clone();
        self.send(
            &executor,
            Outgoing::KillTask(exec::KillTask { task_id, grace }),
        );
        self.set_timer(Timer::Kill(key.clone(), seq), grace + KILL_MARGIN);
    }

    /// The executor had the grace and a margin to end a killed task. It is
    /// SIGKILLed: a framework's own executor with other tasks takes them
    /// down too (they fail as its exit says), since the agent cannot tell
    /// what still holds the killed task's resources.
    pub(super) fn kill_timed_out(&mut self, now: &mut Now<'_>, key: &TaskKey, launch_seq: u64) {
        let Some(task) = self.tasks.get(key) else {
            return;
        };
        if task.launch_seq != launch_seq || task.phase.is_ended() {
            return;
        }
        if let Some(process) = task.process {
            self.act(Action::Signal {
                process,
                signal: Signal::Kill,
            });
        }
        let secs = (self.cfg.kill_grace + KILL_MARGIN).as_secs_f64();
        let why =
            format!("the executor did not end the task within {secs} s of the kill; killed it");
        let status = AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why);
        self.end_task(now, key, status);
        self.flush(now.time);
    }

    /// An executor process ended. Its task, if not ended yet, failed (or was
    /// killed, if a kill was asked for).
    pub fn handle_process_exit(&mut self, now: &mut Now<'_>, id: LaunchId, status: &ExitStatus) {
        if self.orphans.remove(&id).is_some() {
            self.cancel_timer(Timer::Orphan(id));
            self.report_executor_exit(id, status);
            return;
        }
        let Some(keys) = self.processes.remove(&id) else {
            self.report_executor_exit(id, status);
            return;
        };
        let how = status.to_string();
        for key in keys {
            let Some(task) = self.tasks.get(&key) else {
                continue;
            };
            if task.phase.is_ended() {
                continue;
            }
            let update = if task.phase.kill_requested() {
                let why = format!("executor {how} after the kill");
                AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why)
            } else if let ExitStatus::FailedToStart(_) = status {
                // It never ran, so it wrote no log: the reason is all there is.
                let why = format!("executor {how}");
                AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why)
            } else {
                let log = if task.info.executor.is_none() {
                    format!(" (its log: {} in the sandbox)", super::launch::EXECUTOR_LOG)
                } else {
                    String::new()
                };
                let why = format!("executor {how} before its task ended{log}");
                AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why)
            };
            self.end_task(now, &key, update);
        }
        self.flush(now.time);
        // After its tasks' ends, as in Mesos.
        self.report_executor_exit(id, status);
    }

    /// Remembers that a framework was shut down (bounded).
    pub(super) fn remember_removed(&mut self, framework_id: &FrameworkId) {
        if self.removed_frameworks.insert(framework_id.clone()) {
            self.removed_order.push_back(framework_id.clone());
            if self.removed_order.len() > MAX_REMOVED_FRAMEWORKS {
                if let Some(old) = self.removed_order.pop_front() {
                    self.removed_frameworks.remove(&old);
                }
            }
        }
    }
}
