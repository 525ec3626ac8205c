//! What executors tell the agent: that they are up (answered with their
//! tasks) and how each task is doing (acknowledged once durable, then owned
//! by the agent's update manager until the framework acknowledges it).

use corral_api::executor as exec;
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::TaskState;
use corral_runtime::Pid;

use super::tasks::Task;
use super::{Action, AgentCore, Now, Outgoing, Timer};
use crate::events::AgentEvent;
use crate::updates::{PushResult, TaskKey};

/// What an executor's (re-)registration may claim.
pub(super) enum Claim {
    /// No task here ever named the executor.
    Unknown,
    /// Its tasks all ended.
    Idle,
    /// Another executor process registered under the id.
    Taken(Pid),
    /// These live tasks, now the sender's.
    Tasks(Vec<TaskKey>),
}

impl AgentCore {
    /// An executor registered: it gets the live tasks it has not reported
    /// on (and its tasks' kills), or, when there are none, an
    /// [`exec::ExecutorReregistered`] saying it is taken.
    pub fn handle_register_executor(&mut self, from: Option<&Pid>, msg: exec::RegisterExecutor) {
        let Some(sender) = from.cloned() else {
            return;
        };
        let (framework, executor_id) = (msg.framework_id, msg.executor_id);
        let grace = self.cfg.kill_grace;
        let live = match self.executor_claim(&framework, &executor_id, &sender) {
            Claim::Unknown => {
                tracing::info!(%framework, executor = %executor_id, %sender, "ignoring registration of an unknown executor");
                return;
            }
            Claim::Idle => {
                // Too late (its tasks timed out or were killed): tell it to go away.
                tracing::info!(%framework, executor = %executor_id, "executor registered after its tasks ended; shutting it down");
                let shutdown = exec::ShutdownExecutor { grace };
                self.send(&sender, Outgoing::ShutdownExecutor(shutdown));
                return;
            }
            Claim::Taken(known) => {
                tracing::warn!(%framework, executor = %executor_id, %known, %sender, "ignoring a second executor under one id");
                return;
            }
            Claim::Tasks(live) => live,
        };
        let mut first = Vec::new();
        for key in &live {
            let Some(task) = self.tasks.get_mut(key) else {
                continue;
            };
            if task.phase.executor().is_none() {
                first.push(key.clone());
            }
            let seq = task.launch_seq;
            let launching = task.phase.executor_registered(sender.clone());
            let stray = self.stray_deadlines.remove(&(key.clone(), seq));
            if launching || stray {
                self.cancel_timer(Timer::ExecutorRegistration(key.clone(), seq));
            }
            self.dirty.insert(key.clone());
        }
        if live
            .iter()
            .any(|k| self.tasks.get(k).is_some_and(|t| t.process.is_none()))
        {
            // Started by an earlier run: only the link tells us it ends.
            self.act(Action::Link(sender.clone()));
        }
        // Where its updates come from must be durable before it gets its
        // tasks: a restarted agent takes it back only from this pid.
        self.write_checkpoints(None);
        let mut runs = Vec::new();
        let mut kills = Vec::new();
        for key in &live {
            let Some(task) = self.tasks.get(key) else {
                continue;
            };
            // A repeated registration means our RunTask may have been lost,
            // unless the executor has reported on the task: then it has it,
            // and a second launch would run it twice (a Mesos executor
            // that re-subscribes does not expect its tasks again).
            if task.state == TaskState::Staging {
                runs.push(exec::RunTask {
                    framework_id: key.0.clone(),
                    task: task.info.clone(),
                });
            }
            if task.phase.kill_requested() {
                kills.push(exec::KillTask {
                    task_id: key.1.clone(),
                    grace,
                });
            }
        }
        if runs.is_empty() {
            // Nothing new to run: the answer that says it is taken.
            self.send(
                &sender,
                Outgoing::ExecutorReregistered(exec::ExecutorReregistered { executor_id }),
            );
        }
        for run in runs {
            self.send(&sender, Outgoing::RunTask(run));
        }
        for kill in kills {
            self.send(&sender, Outgoing::KillTask(kill));
        }
        for key in first {
            self.notify(AgentEvent::ExecutorRegistered {
                framework_id: key.0,
                task_id: key.1,
                executor: sender.clone(),
            });
        }
    }

    /// The tasks of `framework`: a range of the task map (keyed by framework
    /// first), not a walk over every framework's tasks on each launch and
    /// registration.
    pub(super) fn tasks_of<'a>(
        &'a self,
        framework: &'a FrameworkId,
    ) -> impl Iterator<Item = (&'a TaskKey, &'a Task)> + 'a {
        self.tasks
            .range((framework.clone(), TaskId(String::new()))..)
            .take_while(move |((f, _), _)| f == framework)
    }

    /// What `sender`, registering as executor `executor_id` of
    /// `framework`, may take: the live tasks naming that executor (one
    /// for the command executor, any number for a framework's own).
    pub(super) fn executor_claim(
        &self,
        framework: &FrameworkId,
        executor_id: &str,
        sender: &Pid,
    ) -> Claim {
        let named: Vec<(&TaskKey, &Task)> = self
            .tasks_of(framework)
            .filter(|(_, t)| t.executor_id() == executor_id)
            .collect();
        if named.is_empty() {
            return Claim::Unknown;
        }
        let live: Vec<(&TaskKey, &Task)> = named
            .into_iter()
            .filter(|(_, t)| !t.phase.is_ended())
            .collect();
        if live.is_empty() {
            return Claim::Idle;
        }
        let other = live
            .iter()
            .filter_map(|(_, t)| t.phase.executor())
            .find(|known| *known != sender);
        match other {
            Some(known) => Claim::Taken(known.clone()),
            None => Claim::Tasks(live.into_iter().map(|(k, _)| k.clone()).collect()),
        }
    }

    /// An executor reports a task's status. It is acknowledged once the
    /// agent holds it durably (or it is a resend, or about a task the agent
    /// forgot); updates from anyone but the task's executor are ignored.
    pub fn handle_executor_update(
        &mut self,
        now: &Now<'_>,
        from: Option<&Pid>,
        msg: exec::ExecutorUpdate,
    ) {
        let Some(sender) = from.cloned() else {
            return;
        };
        let mut status = msg.status;
        let Some(uuid) = status.uuid else {
            tracing::warn!(task = %status.task_id, %sender, "ignoring an executor update without uuid");
            return;
        };
        let key = (status.framework_id.clone(), status.task_id.clone());
        let ack = Outgoing::UpdateAck(exec::UpdateAck {
            task_id: status.task_id.clone(),
            uuid,
        });
        let Some(task) = self.tasks.get(&key) else {
            // Likely a resend whose ack was lost after the task was
            // forgotten: acknowledge so the executor can stop.
            tracing::debug!(framework = %key.0, task = %key.1, "acknowledging an update of an unknown task");
            self.send(&sender, ack);
            return;
        };
        if task.phase.executor() != Some(&sender) {
            tracing::warn!(framework = %key.0, task = %key.1, %sender, "ignoring an update from a sender that is not the task's executor");
            return;
        }
        if task.phase.is_ended() {
            tracing::debug!(framework = %key.0, task = %key.1, state = ?status.state, "dropping an update after the task's terminal state");
            self.send(&sender, ack);
            return;
        }
        status.agent_id = self.agent_id.clone();
        let terminal = status.state.is_terminal();
        match self.push_status(status, now.time) {
            PushResult::Queued => {
                if terminal {
                    self.mark_terminal(&key, false);
                    self.maybe_forget(&key);
                }
                // The ack tells the executor the agent owns the update: it
                // must survive a crash of the agent first.
                self.write_checkpoints(Some((sender, ack)));
                self.flush(now.time);
            }
            PushResult::Duplicate | PushResult::AfterTerminal => {
                self.write_checkpoints(Some((sender, ack)));
            }
            PushResult::Full | PushResult::NoUuid => {
                // Not acknowledged: the executor resends later.
                tracing::warn!(framework = %key.0, task = %key.1, "too many pending updates; not accepting more yet");
            }
        }
    }
}
