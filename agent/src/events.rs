//! What the agent tells an embedding binary (or a test) as it works, through
//! an optional observer hook ([`Agent::with_observer`](crate::Agent::with_observer)).
//!
//! Events are informational: the agent does not wait for the observer, and
//! the observer cannot change what the agent does. Keep observers quick —
//! they run on the node's event loop.

use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::task::{TaskState, TaskStatus};
use corral_runtime::{Pid, ProcessId};

/// Something the agent did or learned.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentEvent {
    /// The master admitted the agent (first time or again).
    Registered {
        /// The id the agent now uses.
        agent_id: AgentId,
    },
    /// The agent left the master it was registered with (the link broke,
    /// the master stepped down, or another master was elected); it
    /// registers again.
    Disconnected,
    /// An executor process was started for a task.
    TaskLaunched {
        /// Its framework.
        framework_id: FrameworkId,
        /// The task.
        task_id: TaskId,
        /// The executor process.
        process: ProcessId,
    },
    /// A task's executor registered and was sent its task.
    ExecutorRegistered {
        /// Its framework.
        framework_id: FrameworkId,
        /// The task.
        task_id: TaskId,
        /// The executor's actor.
        executor: Pid,
    },
    /// A status update was queued for the master.
    StatusQueued(TaskStatus),
    /// A task's last update was acknowledged; it moved to the completed list.
    TaskCompleted {
        /// Its framework.
        framework_id: FrameworkId,
        /// The task.
        task_id: TaskId,
        /// Its final state.
        state: TaskState,
    },
    /// The agent read the checkpoint of an earlier run at start.
    Recovered {
        /// The id it had (it registers under it again).
        agent_id: Option<AgentId>,
        /// The tasks it took back (live, or ended with updates pending).
        tasks: Vec<TaskId>,
    },
    /// A master answered in an older Raft term than one the agent followed
    /// (a deposed leader that has not noticed yet): the answer was ignored.
    IgnoredDeposedMaster {
        /// The master.
        master: Pid,
        /// The term it answered in.
        term: u64,
        /// The latest term the agent followed.
        latest: u64,
    },
    /// The master removed the agent; it dropped its tasks and registers anew.
    ShutDown {
        /// The master's reason.
        message: String,
    },
    /// The master refused to admit the agent (its credential); it keeps
    /// trying.
    Refused {
        /// The master's reason.
        message: String,
    },
}

/// The observer hook: called with each event, on the agent's event loop.
pub type Observer = Box<dyn FnMut(AgentEvent) + Send>;
