//! The executor ↔ agent protocol. Wire names `executor.*`.
//!
//! The agent launches an executor process with the agent's pid and the
//! executor's identity in its environment (see `corral_executor::env`). The executor
//! registers; the agent answers with the task to run; the executor reports
//! each status change with a fresh uuid and resends it until the agent
//! acknowledges it (the agent then owns the update: it forwards it to the
//! master and retries until the framework acknowledges). A kill carries the
//! grace period between SIGTERM and SIGKILL. Framework messages pass
//! through the agent both ways ([`FrameworkMessage`] to the executor,
//! [`ExecutorMessage`] from it), best effort, unacknowledged.

use std::time::Duration;

use crate::ids::{FrameworkId, TaskId};
use crate::task::{TaskInfo, TaskStatus};
use corral_runtime::message;
use serde::{Deserialize, Serialize};

/// Executor → agent: I am up; send me my task. Resent every second until a
/// [`RunTask`] arrives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterExecutor {
    /// The framework the executor belongs to.
    pub framework_id: FrameworkId,
    /// The executor's id (the command executor uses its task's id).
    pub executor_id: String,
}

/// Agent → executor: run this task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunTask {
    /// Whose task.
    pub framework_id: FrameworkId,
    /// The task.
    pub task: TaskInfo,
}

/// Agent → executor: kill the task: SIGTERM, then SIGKILL after `grace`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KillTask {
    /// The task.
    pub task_id: TaskId,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// Executor → agent: a status change of the task, with a uuid; resent until
/// [`UpdateAck`] names that uuid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorUpdate {
    /// The status (`uuid` always set).
    pub status: TaskStatus,
}

/// Agent → executor: the agent holds the update with this uuid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateAck {
    /// The task.
    pub task_id: TaskId,
    /// The update's uuid.
    pub uuid: [u8; 16],
}

/// Agent → executor: kill the task if it runs (as [`KillTask`]) and exit
/// once its last update is acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutdownExecutor {
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// Executor → agent, after the agent's link failed (a checkpointing
/// framework's executor keeps its task running): I still run this task for
/// you; take me back. Resent every second until [`ExecutorReregistered`]
/// arrives or the executor's recovery timeout passes. Updates not yet
/// acknowledged are resent as [`ExecutorUpdate`]s once it is answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReregisterExecutor {
    /// The framework the executor belongs to.
    pub framework_id: FrameworkId,
    /// The executor's id (the command executor uses its task's id).
    pub executor_id: String,
    /// The task it runs, if it was given one.
    pub task_id: Option<TaskId>,
}

/// Agent → executor: the (restarted) agent took the executor back; it
/// resends its unacknowledged updates now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorReregistered {
    /// The executor's id, as it re-registered.
    pub executor_id: String,
}

/// Agent → executor: bytes its framework sent it (see
/// [`crate::framework::FrameworkMessage`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkMessage {
    /// The bytes, opaque to Corral.
    pub data: Vec<u8>,
}

/// Executor → agent: bytes for the executor's framework, relayed through
/// the master; best effort, at most
/// [`MAX_MESSAGE_DATA_BYTES`](crate::framework::MAX_MESSAGE_DATA_BYTES).
/// The agent relays it only from the process registered as that executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorMessage {
    /// The executor's framework.
    pub framework_id: FrameworkId,
    /// The executor's id.
    pub executor_id: String,
    /// The bytes.
    pub data: Vec<u8>,
}

message!(RegisterExecutor = "executor.RegisterExecutor");
message!(ReregisterExecutor = "executor.ReregisterExecutor");
message!(ExecutorReregistered = "executor.ExecutorReregistered");
message!(RunTask = "executor.RunTask");
message!(KillTask = "executor.KillTask");
message!(ExecutorUpdate = "executor.ExecutorUpdate");
message!(UpdateAck = "executor.UpdateAck");
message!(ShutdownExecutor = "executor.ShutdownExecutor");
message!(FrameworkMessage = "executor.FrameworkMessage");
message!(ExecutorMessage = "executor.ExecutorMessage");
