//! What the agent keeps about each task it supervises, and the pure helpers
//! that turn its life into status updates.

use corral_master::ids::{AgentId, FrameworkId, TaskId};
use corral_master::protocol::{FrameworkInfo, TaskInfo};
use corral_master::resources::Resources;
use corral_master::task::{StatusReason, StatusSource, TaskState, TaskStatus};
use corral_runtime::{ExitStatus, Pid, ProcessId, TimerId};

use crate::sandbox::Sandbox;
use crate::updates::TaskKey;

/// One task and its executor, from launch until its last update is
/// acknowledged.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) framework_id: FrameworkId,
    /// The framework's description (whether it checkpoints).
    pub(crate) framework: FrameworkInfo,
    pub(crate) info: TaskInfo,
    pub(crate) sandbox: Sandbox,
    /// The executor process; it may outlive the task's terminal update.
    /// None for a task recovered from a checkpoint: its executor was
    /// started by an earlier run of the agent, which cannot signal it.
    pub(crate) process: Option<ProcessId>,
    /// Recovered from a checkpoint and its executor has not re-registered
    /// yet.
    pub(crate) awaiting_executor: bool,
    /// The executor's actor, once it registered.
    pub(crate) executor: Option<Pid>,
    /// The framework (or the agent) asked for the task to be killed.
    pub(crate) kill_requested: bool,
    /// The latest state queued for the master.
    pub(crate) state: TaskState,
    /// A terminal update was queued: resources are free, nothing follows.
    pub(crate) terminal: bool,
    /// Tells timers of an earlier launch under the same id apart.
    pub(crate) launch_seq: u64,
    pub(crate) registration_timer: Option<TimerId>,
    pub(crate) kill_timer: Option<TimerId>,
}

impl Task {
    pub(crate) fn summary(&self) -> TaskSummary {
        TaskSummary {
            framework_id: self.framework_id.clone(),
            task_id: self.info.task_id.clone(),
            name: self.info.name.clone(),
            state: self.state,
            resources: self.info.resources.clone(),
            sandbox: self.sandbox.dir.display().to_string(),
        }
    }
}

/// A task as shown to observers and kept after it completed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskSummary {
    /// Its framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// Its display name.
    pub name: String,
    /// The latest state the agent queued for it.
    pub state: TaskState,
    /// What it was given.
    pub resources: Resources,
    /// Its sandbox directory.
    pub sandbox: String,
}

/// What the agent says about a task: everything but the uuid and time, which
/// come from `Ctx`.
#[derive(Clone, Debug)]
pub(crate) struct AgentStatus {
    pub(crate) state: TaskState,
    pub(crate) reason: StatusReason,
    pub(crate) message: String,
}

impl AgentStatus {
    pub(crate) fn new(state: TaskState, reason: StatusReason, message: impl Into<String>) -> Self {
        AgentStatus {
            state,
            reason,
            message: message.into(),
        }
    }

    /// The full status, stamped by the agent.
    pub(crate) fn into_status(
        self,
        key: &TaskKey,
        agent_id: Option<AgentId>,
        timestamp_ms: u64,
        uuid: [u8; 16],
    ) -> TaskStatus {
        TaskStatus {
            task_id: key.1.clone(),
            framework_id: key.0.clone(),
            agent_id,
            state: self.state,
            source: StatusSource::Agent,
            reason: Some(self.reason),
            message: self.message,
            timestamp_ms,
            uuid: Some(uuid),
        }
    }
}

/// How an executor process ended, in words.
pub(crate) fn describe_exit(status: &ExitStatus) -> String {
    match status {
        ExitStatus::Exited(code) => format!("exited with code {code}"),
        ExitStatus::Signaled(signal) => format!("was killed by signal {signal}"),
        ExitStatus::FailedToStart(why) => format!("failed to start: {why}"),
    }
}

/// A version 4 uuid from 16 random bytes (the bytes come from `Ctx::rng`).
pub(crate) fn uuid_v4(mut bytes: [u8; 16]) -> [u8; 16] {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_read_as_words() {
        assert_eq!(describe_exit(&ExitStatus::Exited(3)), "exited with code 3");
        assert_eq!(
            describe_exit(&ExitStatus::Signaled(9)),
            "was killed by signal 9"
        );
        assert!(describe_exit(&ExitStatus::FailedToStart("no sh".into())).contains("no sh"));
    }

    #[test]
    fn uuids_carry_version_and_variant() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u[6] >> 4, 4);
        assert_eq!(u[8] >> 6, 0b10);
        let u = uuid_v4([0; 16]);
        assert_eq!(u[6], 0x40);
        assert_eq!(u[8], 0x80);
    }
}
