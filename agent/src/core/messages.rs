//! Framework messages through the agent, both ways, and the news that a
//! framework's own executor ended (Mesos's `ExitedExecutorMessage`).
//!
//! The agent keeps nothing of a message: it hands bytes from the master
//! to the executor the framework named, and bytes from an executor to the
//! master, and drops (with a debug line) what it cannot place. A message
//! goes to an executor only from its own framework (the master names the
//! framework from its sender), and is relayed from an executor only when
//! it comes from the process registered as that executor.

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::framework::MAX_MESSAGE_DATA_BYTES;
use corral_api::ids::FrameworkId;
use corral_runtime::{ExitStatus, Pid};

use super::{AgentCore, LaunchId, Outgoing};

impl AgentCore {
    /// The master relays bytes from a framework to one of its executors.
    pub fn handle_framework_to_executor(
        &mut self,
        from: Option<&Pid>,
        msg: master::FrameworkToExecutor,
    ) {
        if !self.sent_by_master("FrameworkToExecutor", from) {
            return;
        }
        let Some(executor) = self.executor_pid(&msg.framework_id, &msg.executor_id) else {
            tracing::debug!(framework = %msg.framework_id, executor = %msg.executor_id, "framework message for an executor not registered here dropped");
            return;
        };
        let data = msg.data;
        self.send(
            &executor,
            Outgoing::FrameworkMessage(exec::FrameworkMessage { data }),
        );
    }

    /// An executor sends bytes to its framework: relayed to the master
    /// while the agent is registered.
    pub fn handle_executor_message(&mut self, from: Option<&Pid>, msg: exec::ExecutorMessage) {
        let registered = self.executor_pid(&msg.framework_id, &msg.executor_id);
        if from.is_none() || registered.as_ref() != from {
            tracing::debug!(framework = %msg.framework_id, executor = %msg.executor_id, sender = ?from, "executor message from a sender that is not that executor dropped");
            return;
        }
        if !self.is_registered() || msg.data.len() > MAX_MESSAGE_DATA_BYTES {
            tracing::debug!(framework = %msg.framework_id, executor = %msg.executor_id, bytes = msg.data.len(), registered = self.is_registered(), "executor message dropped");
            return;
        }
        let relay = master::ExecutorToFramework {
            framework_id: msg.framework_id,
            executor_id: msg.executor_id,
            data: msg.data,
        };
        let to = self.master.clone();
        self.send(&to, Outgoing::ExecutorToFramework(relay));
    }

    /// The registered pid of executor `executor_id` of `framework`, from
    /// the tasks that name it.
    fn executor_pid(&self, framework: &FrameworkId, executor_id: &str) -> Option<Pid> {
        self.tasks_of(framework)
            .filter(|(_, t)| t.executor_id() == executor_id)
            .find_map(|(_, t)| t.phase.executor().cloned())
    }

    /// Remembers that `launch` runs a framework's own executor, whose end
    /// the master is told of.
    pub(super) fn note_custom_executor(
        &mut self,
        launch: LaunchId,
        framework: &FrameworkId,
        executor_id: &str,
    ) {
        let who = (framework.clone(), executor_id.to_owned());
        self.custom_executors.insert(launch, who);
    }

    /// Process `launch` ended: if it was a framework's own executor, the
    /// master hears of it (not a command executor's end, as in Mesos: the
    /// framework knows no such executor).
    pub(super) fn report_executor_exit(&mut self, launch: LaunchId, status: &ExitStatus) {
        let Some((framework_id, executor_id)) = self.custom_executors.remove(&launch) else {
            return;
        };
        self.report_exit_of(framework_id, executor_id, wait_status(status));
    }

    /// Tells the master that executor `executor_id` of `framework_id`
    /// ended, if it is registered (not retried, as in Mesos).
    pub(super) fn report_exit_of(
        &mut self,
        framework_id: FrameworkId,
        executor_id: String,
        status: Option<i32>,
    ) {
        if !self.is_registered() {
            return;
        }
        let exited = master::ExitedExecutor {
            framework_id,
            executor_id,
            status,
        };
        let to = self.master.clone();
        self.send(&to, Outgoing::ExitedExecutor(exited));
    }
}

/// How a process ended as a Unix wait status, as Mesos reports it: the
/// exit code in the second byte, or the signal number; None if it never
/// ran.
fn wait_status(status: &ExitStatus) -> Option<i32> {
    match status {
        ExitStatus::Exited(code) => Some((code & 0xff) << 8),
        ExitStatus::Signaled(signal) => Some(signal & 0x7f),
        ExitStatus::FailedToStart(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_wait_statuses() {
        assert_eq!(wait_status(&ExitStatus::Exited(0)), Some(0));
        assert_eq!(wait_status(&ExitStatus::Exited(3)), Some(768));
        assert_eq!(wait_status(&ExitStatus::Signaled(9)), Some(9));
        assert_eq!(wait_status(&ExitStatus::FailedToStart("x".into())), None);
    }
}
