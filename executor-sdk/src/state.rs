//! The executor driver's own state and vocabulary: what it keeps apart
//! from the executor it runs, how it ends, and why a request fails.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use corral_api::ids::TaskId;
use corral_api::task::{TaskState, TaskStatus};
use corral_runtime::Time;

use crate::config::ExecutorConfig;

/// Unacknowledged updates one task may queue before [`Control::update`](crate::Control::update)
/// refuses more: a task that reports faster than its agent takes them is
/// told so instead of growing without bound.
pub const MAX_PENDING_PER_TASK: usize = 100;

/// Why an executor stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The executor said its work is done ([`Control::finish`](crate::Control::finish)), and
    /// every task ended with the agent holding every update.
    Finished,
    /// The agent asked it to shut down, and every task ended with the
    /// agent holding every update.
    Shutdown,
    /// The agent went away (and did not come back within the recovery
    /// timeout, for a checkpointing framework); every task ended.
    AgentLost,
    /// The agent never took the executor within the registration timeout.
    RegistrationTimedOut,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Finished => "its work is done and the agent holds every update",
            Outcome::Shutdown => "shut down by the agent",
            Outcome::AgentLost => "the agent is gone",
            Outcome::RegistrationTimedOut => "the agent did not take the executor in time",
        })
    }
}

/// Called once with the [`Outcome`] when the executor stops.
pub type OnDone = Box<dyn FnOnce(Outcome) + Send>;

/// Why the driver could not do what was asked. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecutorError {
    /// No task with this id was given to this executor.
    #[error("task {0} was not given to this executor")]
    UnknownTask(TaskId),
    /// The task already reported a terminal state; nothing may follow.
    #[error("task {0} already ended")]
    Ended(TaskId),
    /// An executor may not report this state (the agent and master report
    /// staging, loss and the like).
    #[error("an executor cannot report {0:?}")]
    NotAnExecutorState(TaskState),
    /// The task has [`MAX_PENDING_PER_TASK`] updates the agent has not
    /// acknowledged yet.
    #[error("task {0} has {MAX_PENDING_PER_TASK} unacknowledged updates; try again later")]
    Backlog(TaskId),
    /// A framework message longer than
    /// [`MAX_MESSAGE_DATA_BYTES`](corral_api::framework::MAX_MESSAGE_DATA_BYTES).
    #[error("a framework message of {0} bytes is over the limit of {max} bytes", max = corral_api::framework::MAX_MESSAGE_DATA_BYTES)]
    TooLarge(usize),
    /// The agent has not taken the executor (registering, or re-registering
    /// after the agent's link failed): a message now would be dropped.
    #[error("the executor is not registered with its agent")]
    NotRegistered,
}

/// Where the executor stands with its agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Registering since then, until the first task arrives.
    Registering(Time),
    /// The agent took the executor; updates flow.
    Registered,
    /// The agent's link failed at that time; re-registering (checkpointing
    /// frameworks only).
    Reregistering(Time),
    /// The agent is gone for good: tasks are being stopped.
    Lost,
}

/// The driver's state, apart from the executor.
pub(crate) struct Core {
    pub(crate) cfg: ExecutorConfig,
    pub(crate) phase: Phase,
    /// Tasks given and not ended, with the latest state reported.
    pub(crate) live: BTreeMap<TaskId, TaskState>,
    /// Tasks that reported a terminal state (a repeated `RunTask` of one
    /// is not run again).
    pub(crate) ended: BTreeSet<TaskId>,
    /// Per task, updates the agent has not acknowledged, oldest first; the
    /// oldest is the one sent (in order, one at a time).
    pub(crate) pending: BTreeMap<TaskId, VecDeque<TaskStatus>>,
    /// The agent asked for a shutdown.
    pub(crate) shutting_down: bool,
    /// The executor said its work is done.
    pub(crate) finishing: bool,
    pub(crate) on_done: Option<OnDone>,
    pub(crate) stopped: bool,
}
