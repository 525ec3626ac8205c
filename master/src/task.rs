//! Task states and status updates, with Mesos's meanings.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, FrameworkId, TaskId};

/// Where a task is in its life (MESOS-NOTES.md lists the meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskState {
    /// Accepted by the master, on its way to the agent.
    Staging,
    /// The executor is starting it.
    Starting,
    /// Running.
    Running,
    /// A kill was requested (only for frameworks that asked for this state).
    Killing,
    /// Exited 0.
    Finished,
    /// Exited non-zero, by a signal, or hit a limit (the message says which).
    Failed,
    /// Killed on request.
    Killed,
    /// The task description was invalid; it never launched.
    Error,
    /// Legacy catch-all for frameworks that are not partition-aware.
    Lost,
    /// Never reached the agent (partition-aware).
    Dropped,
    /// Its agent is unreachable; it may come back (partition-aware).
    Unreachable,
    /// Its agent was removed or came back with a new id (partition-aware).
    Gone,
    /// An operator declared its agent gone.
    GoneByOperator,
    /// The master does not know it (reconciliation, partition-aware).
    Unknown,
}

impl TaskState {
    /// Whether no further state can follow. `Lost` is not terminal: a task
    /// reported lost may be found running again when its agent returns.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Dropped
                | TaskState::Gone
                | TaskState::GoneByOperator
        )
    }
}

/// Who produced a status update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusSource {
    /// The master (validation, agent loss, reconciliation).
    Master,
    /// The agent (launch failures, executor loss).
    Agent,
    /// The executor running the task.
    Executor,
}

/// Why a status update was sent, when the state alone does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusReason {
    /// The command exited or was signalled (see the message).
    CommandExited,
    /// The task was killed on the framework's request.
    KilledByFramework,
    /// The task description was invalid.
    InvalidTask,
    /// An offer in the accept was unknown, used, or from another agent.
    InvalidOffers,
    /// The task asked for resources its offers did not hold.
    ResourcesNotOffered,
    /// The agent is unreachable or was removed.
    AgentUnreachable,
    /// The agent was removed.
    AgentRemoved,
    /// The unreachable agent came back before it was removed.
    AgentReregistered,
    /// The executor could not be started or died.
    ExecutorTerminated,
    /// An answer to reconciliation.
    Reconciliation,
    /// The task's container could not be created or started (missing
    /// image, Docker unreachable, ...; the message says which).
    ContainerLaunchFailed,
    /// The task's container was killed for exceeding its memory limit.
    ContainerMemoryLimit,
}

/// A task status, as it travels from agent to master to framework.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    /// The task.
    pub task_id: TaskId,
    /// Its framework.
    pub framework_id: FrameworkId,
    /// The agent it runs on, if it reached one.
    pub agent_id: Option<AgentId>,
    /// The new state.
    pub state: TaskState,
    /// Who says so.
    pub source: StatusSource,
    /// Why, when it matters.
    pub reason: Option<StatusReason>,
    /// Free text for people (e.g. "exited with code 3").
    pub message: String,
    /// Milliseconds since the Unix epoch at the source.
    pub timestamp_ms: u64,
    /// Set when the update must be acknowledged; it is retried until then.
    pub uuid: Option<[u8; 16]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_follow_mesos() {
        use TaskState::*;
        for s in [
            Finished,
            Failed,
            Killed,
            Error,
            Dropped,
            Gone,
            GoneByOperator,
        ] {
            assert!(s.is_terminal(), "{s:?}");
        }
        for s in [
            Staging,
            Starting,
            Running,
            Killing,
            Lost,
            Unreachable,
            Unknown,
        ] {
            assert!(!s.is_terminal(), "{s:?}");
        }
    }
}
