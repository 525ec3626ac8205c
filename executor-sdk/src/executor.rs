//! What an executor decides: the [`Executor`] trait, and the two types it
//! names: the [`ExecutorDriver`] actor that runs it and the [`Control`]
//! handle it acts through (their behaviour is in `driver.rs`).

use std::time::Duration;

use corral_api::ids::TaskId;
use corral_api::task::TaskInfo;
use corral_runtime::{Ctx, ExitStatus, Handlers, ProcessId};

use crate::state::Core;

/// How long an executor whose agent is gone (and whose framework does not
/// checkpoint) gives its tasks to stop, by default.
pub const AGENT_LOST_GRACE: Duration = Duration::from_secs(5);

/// An executor's decisions. The [`ExecutorDriver`] calls these methods on
/// its actor's event loop and does everything else: registering with the
/// agent, receiving tasks, sending each status update until the agent
/// holds it, taking the agent back after it restarts, and stopping.
/// Each method gets a [`Control`] to act through: report a task's state
/// with [`Control::update`], run processes with [`Control::launch`].
///
/// Only [`launch`](Executor::launch) and [`kill`](Executor::kill) must be
/// written.
pub trait Executor: Sized + 'static {
    /// The agent took the executor: tasks follow.
    fn registered(&mut self, _ex: &mut Control<'_, '_, Self>) {}

    /// A restarted agent took the executor back (a checkpointing
    /// framework's executor outlives its agent); the updates it did not
    /// acknowledge are being resent.
    fn reregistered(&mut self, _ex: &mut Control<'_, '_, Self>) {}

    /// Run `task`. Report `TASK_STARTING`/`TASK_RUNNING` as it starts and
    /// one terminal state when it ends; until then it holds its resources.
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo);

    /// Stop `task` within `grace`, then report `TASK_KILLED`.
    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, task_id: &TaskId, grace: Duration);

    /// The agent wants the executor gone: by default every live task is
    /// killed with `grace`. The driver stops once each has reported its
    /// end and the agent holds every update.
    fn shutdown(&mut self, ex: &mut Control<'_, '_, Self>, grace: Duration) {
        for task_id in ex.live_tasks() {
            self.kill(ex, &task_id, grace);
        }
    }

    /// The agent is gone and the framework does not checkpoint (or it did
    /// not come back within the recovery timeout): nobody will hear of
    /// the tasks again, so by default each is killed with
    /// [`AGENT_LOST_GRACE`]. The driver stops once each has ended.
    fn agent_lost(&mut self, ex: &mut Control<'_, '_, Self>) {
        for task_id in ex.live_tasks() {
            self.kill(ex, &task_id, AGENT_LOST_GRACE);
        }
    }

    /// The executor's framework sent `data` (Mesos's `frameworkMessage`).
    /// Best effort: a message sent while the executor was not registered
    /// is lost.
    fn framework_message(&mut self, _ex: &mut Control<'_, '_, Self>, _data: &[u8]) {}

    /// A process started with [`Control::launch`] ended.
    fn process_exited(
        &mut self,
        _ex: &mut Control<'_, '_, Self>,
        _id: ProcessId,
        _status: ExitStatus,
    ) {
    }

    /// Declares the executor's own messages, each handled by an
    /// `impl Handler<M> for ExecutorDriver<Self>` that calls
    /// [`ExecutorDriver::with`]. None by default.
    fn handlers(_h: &mut Handlers<ExecutorDriver<Self>>) {}
}

/// Runs an [`Executor`] for the agent that started it. Spawn it under
/// [`crate::actor_name`] of its executor id (what [`crate::run`] does).
///
/// It registers with the agent (resending every `retry_interval` until
/// the first task arrives, and stopping with
/// [`Outcome::RegistrationTimedOut`](crate::Outcome::RegistrationTimedOut) after `registration_timeout`), hands
/// each task to [`Executor::launch`], kills to [`Executor::kill`], and
/// sends each update reported through [`Control::update`], per task in
/// order, until the agent acknowledges it. If the agent's link fails, a
/// checkpointing framework's executor keeps its tasks and re-registers
/// until `recovery_timeout`; otherwise [`Executor::agent_lost`] stops
/// them. Messages from anyone but the agent are dropped.
pub struct ExecutorDriver<E: Executor> {
    pub(crate) executor: E,
    pub(crate) core: Core,
}

/// What an executor acts through, inside its methods: status updates,
/// processes, timers, and the raw actor context for anything else.
pub struct Control<'a, 'c, E: Executor> {
    pub(crate) core: &'a mut Core,
    pub(crate) ctx: &'a mut Ctx<'c, ExecutorDriver<E>>,
}
