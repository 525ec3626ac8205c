//! Tasks: what a framework asks to run ([`TaskInfo`], carried by all three
//! protocols), and their states and status updates, with Mesos's meanings.

use serde::{Deserialize, Serialize};

use crate::container::ContainerInfo;
use crate::ids::{AgentId, FrameworkId, TaskId};
use crate::resources::Resources;

/// A task to launch: a shell command and the resources it may use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Unique within the framework.
    pub task_id: TaskId,
    /// Display name.
    pub name: String,
    /// Run with `/bin/sh -c`. May be empty only for a container task, which
    /// then runs its image's default command.
    pub command: String,
    /// Environment for the command.
    pub env: Vec<(String, String)>,
    /// What the task may use; must be inside the accepted offers.
    pub resources: Resources,
    /// Run the command in this (Docker) container instead of as a plain
    /// process; None for a process task.
    pub container: Option<ContainerInfo>,
    /// The framework's own executor to run the task, instead of the
    /// command executor; the agent starts it once per executor id and
    /// hands it each task naming that id. None: the command executor runs
    /// `command`.
    #[serde(default)]
    pub executor: Option<ExecutorInfo>,
}

/// A framework's own executor: a program the agent starts in a sandbox of
/// its own, which registers with the agent and runs the tasks it is sent
/// (`corral-executor-sdk` writes one). Tasks naming the same executor id
/// on one agent share one executor process, while it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    /// Unique within the framework on an agent; a safe name (1-255 of
    /// `A-Z a-z 0-9 . _ -`, not `.` or `..`).
    pub executor_id: String,
    /// Started with `/bin/sh -c` in the executor's sandbox.
    pub command: String,
    /// Extra environment for the executor process.
    #[serde(default)]
    pub env: Vec<(String, String)>,
}

impl TaskInfo {
    /// A process task running `command` with `resources`, named after its
    /// id, with no extra environment.
    pub fn command(task_id: TaskId, command: &str, resources: Resources) -> TaskInfo {
        TaskInfo {
            name: task_id.0.clone(),
            task_id,
            command: command.to_owned(),
            env: Vec::new(),
            resources,
            container: None,
            executor: None,
        }
    }

    /// The id of the executor that runs this task: its custom executor's,
    /// or, for the command executor (one per task), the task's own.
    pub fn executor_id(&self) -> &str {
        match &self.executor {
            Some(e) => &e.executor_id,
            None => &self.task_id.0,
        }
    }
}

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

    /// Whether the task holds nothing where it ran: a terminal state, or
    /// `Lost` (ended there, though not terminal: a task its agent
    /// reported lost may only come back in a new report).
    pub fn holds_nothing(self) -> bool {
        self.is_terminal() || self == TaskState::Lost
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
    /// The framework's principal may not run tasks as its user (`--acls`).
    TaskUnauthorized,
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
    /// Free text for people (e.g. "exited with status 3").
    pub message: String,
    /// Milliseconds since the Unix epoch at the source.
    pub timestamp_ms: u64,
    /// Set when the update must be acknowledged; it is retried until then.
    pub uuid: Option<[u8; 16]>,
}

/// A version 4 uuid (a status update's id) from 16 random bytes: the
/// version and variant bits set, the rest as given.
pub fn uuid_v4(mut random: [u8; 16]) -> [u8; 16] {
    random[6] = (random[6] & 0x0f) | 0x40;
    random[8] = (random[8] & 0x3f) | 0x80;
    random
}

/// Every task state, in lifecycle order.
pub const TASK_STATES: [TaskState; 14] = [
    TaskState::Staging,
    TaskState::Starting,
    TaskState::Running,
    TaskState::Killing,
    TaskState::Finished,
    TaskState::Failed,
    TaskState::Killed,
    TaskState::Error,
    TaskState::Lost,
    TaskState::Dropped,
    TaskState::Unreachable,
    TaskState::Gone,
    TaskState::GoneByOperator,
    TaskState::Unknown,
];

/// Mesos's name of a task state, e.g. `TASK_RUNNING`.
pub fn task_state_name(state: TaskState) -> &'static str {
    match state {
        TaskState::Staging => "TASK_STAGING",
        TaskState::Starting => "TASK_STARTING",
        TaskState::Running => "TASK_RUNNING",
        TaskState::Killing => "TASK_KILLING",
        TaskState::Finished => "TASK_FINISHED",
        TaskState::Failed => "TASK_FAILED",
        TaskState::Killed => "TASK_KILLED",
        TaskState::Error => "TASK_ERROR",
        TaskState::Lost => "TASK_LOST",
        TaskState::Dropped => "TASK_DROPPED",
        TaskState::Unreachable => "TASK_UNREACHABLE",
        TaskState::Gone => "TASK_GONE",
        TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
        TaskState::Unknown => "TASK_UNKNOWN",
    }
}

/// The state Mesos calls `name`, if any (the inverse of
/// [`task_state_name`]).
pub fn parse_task_state(name: &str) -> Option<TaskState> {
    TASK_STATES
        .into_iter()
        .find(|s| task_state_name(*s) == name)
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

    #[test]
    fn state_names_are_mesos_names_and_parse_back() {
        // Mesos's TaskState names (mesos.proto), written out here rather
        // than read from the table under test.
        let mesos = [
            (TaskState::Staging, "TASK_STAGING"),
            (TaskState::Starting, "TASK_STARTING"),
            (TaskState::Running, "TASK_RUNNING"),
            (TaskState::Killing, "TASK_KILLING"),
            (TaskState::Finished, "TASK_FINISHED"),
            (TaskState::Failed, "TASK_FAILED"),
            (TaskState::Killed, "TASK_KILLED"),
            (TaskState::Error, "TASK_ERROR"),
            (TaskState::Lost, "TASK_LOST"),
            (TaskState::Dropped, "TASK_DROPPED"),
            (TaskState::Unreachable, "TASK_UNREACHABLE"),
            (TaskState::Gone, "TASK_GONE"),
            (TaskState::GoneByOperator, "TASK_GONE_BY_OPERATOR"),
            (TaskState::Unknown, "TASK_UNKNOWN"),
        ];
        for (state, name) in mesos {
            assert_eq!(task_state_name(state), name, "{state:?}");
            assert_eq!(parse_task_state(name), Some(state), "{name}");
        }
        // The list the parser walks holds every state, each once.
        assert_eq!(TASK_STATES.len(), mesos.len());
        for (state, _) in mesos {
            let listed = TASK_STATES.iter().filter(|s| **s == state).count();
            assert_eq!(listed, 1, "{state:?} in TASK_STATES");
        }
        assert_eq!(parse_task_state("RUNNING"), None);
        assert_eq!(parse_task_state("task_running"), None);
    }
}
