//! Ending tasks: kills from the master, framework shutdowns, executors that
//! ignore a kill, and executor processes that end.

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::ids::TaskId;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::{Ctx, ExitStatus, Handler, ProcessId, Signal};

use super::{Agent, KILL_MARGIN};
use crate::tasks::AgentStatus;
use crate::updates::TaskKey;

impl Handler<master::KillTask> for Agent {
    fn handle(&mut self, msg: master::KillTask, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_master("KillTask", ctx) {
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
                self.push_agent_status(&key, status, ctx);
            }
            Some(task) if task.terminal || task.kill_requested => {
                tracing::debug!(framework = %key.0, task = %key.1, "task already ended or being killed");
            }
            Some(_) => self.kill_task(&key, ctx),
        }
        self.flush(ctx);
    }
}

impl Handler<master::ShutdownFramework> for Agent {
    fn handle(&mut self, msg: master::ShutdownFramework, ctx: &mut Ctx<'_, Self>) {
        if !self.sent_by_master("ShutdownFramework", ctx) {
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
                .is_some_and(|t| !t.terminal && !t.kill_requested)
            {
                self.kill_task(&key, ctx);
            }
            self.maybe_forget(&key, ctx);
        }
        self.flush(ctx);
    }
}

impl Agent {
    /// Kills a live task: at once if its executor has not registered,
    /// otherwise through the executor, with the agent's own SIGKILL if the
    /// executor has not ended the task after the grace and a margin.
    pub(super) fn kill_task(&mut self, key: &TaskKey, ctx: &mut Ctx<'_, Self>) {
        let grace = self.cfg.kill_grace;
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        task.kill_requested = true;
        self.dirty.insert(key.clone());
        let Some(executor) = task.executor.clone() else {
            // The executor never got the task. One that other tasks wait
            // for too is left to run theirs.
            let shared = task
                .process
                .and_then(|p| self.processes.get(&p))
                .is_some_and(|keys| keys.len() > 1);
            if let (Some(process), false) = (task.process, shared) {
                ctx.signal(process, Signal::Kill);
            }
            let why = "killed before its executor registered";
            let status = AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why);
            self.end_task(key, status, ctx);
            return;
        };
        let task_id: TaskId = key.1.clone();
        ctx.send(&executor, exec::KillTask { task_id, grace });
        let (timer_key, seq) = (key.clone(), task.launch_seq);
        let timer = ctx.delay(grace + KILL_MARGIN, move |a: &mut Agent, ctx| {
            a.kill_timed_out(&timer_key, seq, ctx);
        });
        if let Some(old) = task.kill_timer.replace(timer) {
            ctx.cancel(old);
        }
    }

    /// The executor had the grace and a margin to end a killed task. It is
    /// SIGKILLed: a framework's own executor with other tasks takes them
    /// down too (they fail as its exit says), since the agent cannot tell
    /// what still holds the killed task's resources.
    fn kill_timed_out(&mut self, key: &TaskKey, launch_seq: u64, ctx: &mut Ctx<'_, Self>) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        if task.launch_seq != launch_seq || task.terminal {
            return;
        }
        task.kill_timer = None;
        if let Some(process) = task.process {
            ctx.signal(process, Signal::Kill);
        }
        let secs = (self.cfg.kill_grace + KILL_MARGIN).as_secs_f64();
        let why =
            format!("the executor did not end the task within {secs} s of the kill; killed it");
        let status = AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why);
        self.end_task(key, status, ctx);
        self.flush(ctx);
    }

    /// An executor process ended. Its task, if not ended yet, failed (or was
    /// killed, if a kill was asked for).
    pub(super) fn executor_exited(
        &mut self,
        id: ProcessId,
        status: ExitStatus,
        ctx: &mut Ctx<'_, Self>,
    ) {
        if let Some(timer) = self.orphans.remove(&id) {
            ctx.cancel(timer);
            return;
        }
        let Some(keys) = self.processes.remove(&id) else {
            return;
        };
        let how = status.to_string();
        for key in keys {
            let Some(task) = self.tasks.get(&key) else {
                continue;
            };
            if task.terminal {
                continue;
            }
            let update = if task.kill_requested {
                let why = format!("executor {how} after the kill");
                AgentStatus::new(TaskState::Killed, StatusReason::KilledByFramework, why)
            } else {
                let log = if task.info.executor.is_none() {
                    format!(" (its log: {} in the sandbox)", super::launch::EXECUTOR_LOG)
                } else {
                    String::new()
                };
                let why = format!("executor {how} before its task ended{log}");
                AgentStatus::new(TaskState::Failed, StatusReason::ExecutorTerminated, why)
            };
            self.end_task(&key, update, ctx);
        }
        self.flush(ctx);
    }
}
