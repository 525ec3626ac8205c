//! Ending tasks and forgetting them: a task's end frees its resources and
//! stops its deadlines; once its last update is acknowledged it moves to
//! the completed list, and its executor, needed by no other task, is reaped.

use corral_api::executor as exec;
use corral_runtime::{Pid, Signal};

use super::phase::Deadlines;
use super::tasks::AgentStatus;
use super::{Action, AgentCore, LaunchId, Now, Orphan, Outgoing, Timer, KILL_MARGIN};
use crate::events::AgentEvent;
use crate::updates::TaskKey;

impl AgentCore {
    /// Marks a live task terminal: its deadlines stop and its resources
    /// are free. `killed`: a kill no executor had ends it. The caller
    /// queues (or has queued) the terminal update.
    pub(super) fn mark_terminal(&mut self, key: &TaskKey, killed: bool) {
        let Some(task) = self.tasks.get_mut(key) else {
            return;
        };
        if task.phase.is_ended() {
            return;
        }
        let deadlines = task.phase.end(killed);
        let seq = task.launch_seq;
        let resources = task.info.resources.clone();
        self.dirty.insert(key.clone());
        self.stop_deadlines(key, seq, deadlines);
        match self.used.checked_minus(&resources) {
            Some(left) => self.used = left,
            None => tracing::error!(task = %key.1, "task resources were not counted as used"),
        }
    }

    /// Cancels the deadlines of `key` (launch `seq`) that stop now.
    pub(super) fn stop_deadlines(&mut self, key: &TaskKey, seq: u64, deadlines: Deadlines) {
        let stray = self.stray_deadlines.remove(&(key.clone(), seq));
        if deadlines.registration || stray {
            self.cancel_timer(Timer::ExecutorRegistration(key.clone(), seq));
        }
        if deadlines.kill {
            self.cancel_timer(Timer::Kill(key.clone(), seq));
        }
    }

    /// Ends a live task with an update made by the agent.
    pub(super) fn end_task(&mut self, now: &mut Now<'_>, key: &TaskKey, status: AgentStatus) {
        self.end_task_as(now, key, status, false);
    }

    /// Ends a live task with an update made by the agent; `killed` when a
    /// kill that no executor had ends it.
    pub(super) fn end_task_as(
        &mut self,
        now: &mut Now<'_>,
        key: &TaskKey,
        status: AgentStatus,
        killed: bool,
    ) {
        if self.tasks.get(key).is_none_or(|t| t.phase.is_ended()) {
            return;
        }
        tracing::info!(framework = %key.0, task = %key.1, state = ?status.state, "{}", status.message);
        self.mark_terminal(key, killed);
        self.push_agent_status(now, key, status);
        self.maybe_forget(key);
    }

    /// Forgets a terminal task once its last update is acknowledged, and a
    /// stream of an unknown task once it is empty.
    pub(super) fn maybe_forget(&mut self, key: &TaskKey) {
        if !self.updates.is_empty_for(key) {
            return;
        }
        match self.tasks.get(key) {
            Some(task) if task.phase.is_ended() => {}
            Some(_) => return,
            None => {
                self.updates.remove(key);
                return;
            }
        }
        let Some(task) = self.tasks.remove(key) else {
            return;
        };
        self.updates.remove(key);
        self.dirty.insert(key.clone());
        if let Some(process) = task.process {
            self.release_process(process, key, task.phase.executor());
        }
        let summary = task.summary();
        self.notify(AgentEvent::TaskCompleted {
            framework_id: summary.framework_id.clone(),
            task_id: summary.task_id.clone(),
            state: summary.state,
        });
        self.completed.push_back(summary);
        while self.completed.len() > self.cfg.max_completed_tasks {
            self.completed.pop_front();
        }
    }

    /// Task `key` no longer needs its executor's `process`: the executor
    /// is reaped once no supervised task needs it.
    pub(super) fn release_process(
        &mut self,
        process: LaunchId,
        key: &TaskKey,
        executor: Option<&Pid>,
    ) {
        let Some(keys) = self.processes.get_mut(&process) else {
            return;
        };
        keys.remove(key);
        if keys.is_empty() {
            self.processes.remove(&process);
            self.reap(process, executor.cloned());
        }
    }

    /// Stops an executor whose task is forgotten. It normally exits by
    /// itself right after its last update was acknowledged, so only one
    /// that lingers past [`KILL_MARGIN`] is asked to shut down (if it
    /// registered), and SIGKILLed if it still runs after the grace.
    pub(super) fn reap(&mut self, process: LaunchId, executor: Option<Pid>) {
        let Some(executor) = executor else {
            self.act(Action::Signal {
                process,
                signal: Signal::Kill,
            });
            return;
        };
        let grace = self.cfg.kill_grace;
        self.set_timer(Timer::Orphan(process), KILL_MARGIN);
        self.orphans
            .insert(process, Orphan::Lingering { executor, grace });
    }

    /// An orphaned executor's timer fired.
    pub(super) fn orphan_timer(&mut self, process: LaunchId) {
        match self.orphans.get(&process) {
            None => {}
            Some(Orphan::Lingering { executor, grace }) => {
                let (executor, grace) = (executor.clone(), *grace);
                self.send(
                    &executor,
                    Outgoing::ShutdownExecutor(exec::ShutdownExecutor { grace }),
                );
                self.set_timer(Timer::Orphan(process), grace + KILL_MARGIN);
                self.orphans.insert(process, Orphan::ShuttingDown);
            }
            Some(Orphan::ShuttingDown) => {
                self.orphans.remove(&process);
                self.act(Action::Signal {
                    process,
                    signal: Signal::Kill,
                });
            }
        }
    }
}
