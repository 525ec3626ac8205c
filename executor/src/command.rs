//! The command executor: an [`Executor`] that carries [`Lifecycle`]'s
//! decisions out through the SDK's [`Control`].

use std::time::Duration;

use corral_api::ids::TaskId;
use corral_api::task::{StatusReason, TaskInfo, TaskState};
use corral_executor_sdk::{Control, Executor, ExecutorDriver, AGENT_LOST_GRACE};
use corral_runtime::{Ctx, ExitStatus, Handler, Handlers, Message, Pid, ProcessId, Time, TimerId};

pub use crate::config::Site;
use crate::container::{ContainerExit, ContainerExited, ContainerStarted, DriverCommand};
use crate::lifecycle::{Action, KillCause, Lifecycle};

/// Runs one task's shell command (as a process, or in a container) for
/// the agent that launched it. Run it in an [`ExecutorDriver`], which
/// registers with the agent, hands the task over and delivers each
/// status until the agent holds it.
///
/// It reports `TASK_STARTING`, launches the command in the sandbox,
/// reports `TASK_RUNNING`, and reports the command's end
/// (`TASK_FINISHED`, `TASK_FAILED`, or `TASK_KILLED` after a kill or a
/// shutdown: SIGTERM, then SIGKILL after the grace). Once the agent holds
/// the end, the driver stops with
/// [`Outcome::Finished`](corral_executor_sdk::Outcome::Finished). If the
/// agent goes away for good the command is killed (SIGKILL after
/// [`AGENT_LOST_GRACE`]); a checkpointing framework's task keeps running
/// while the driver waits for the agent to come back.
///
/// A task with a container runs through the container driver actor named
/// by [`with_containers`](Self::with_containers) (the binary's edge starts
/// one; see [`crate::docker::actor`]): the executor sends it
/// [`DriverCommand`]s and believes [`ContainerStarted`] and
/// [`ContainerExited`] from that actor only. Without a driver, container
/// tasks fail at once.
///
/// It runs one task: a second one is answered with `TASK_ERROR`.
pub struct CommandExecutor {
    core: Lifecycle,
    process: Option<ProcessId>,
    timer: Option<(TimerId, Time)>,
    /// The container driver actor, if container tasks can run.
    containers: Option<Pid>,
}

impl CommandExecutor {
    /// A command executor running its task at `site`.
    pub fn new(site: Site) -> CommandExecutor {
        CommandExecutor {
            core: Lifecycle::new(site),
            process: None,
            timer: None,
            containers: None,
        }
    }

    /// This executor, running container tasks through the container
    /// driver actor `driver`.
    pub fn with_containers(mut self, driver: Pid) -> CommandExecutor {
        self.containers = Some(driver);
        self
    }

    /// Carries out the core's actions, then re-arms the one timer.
    fn drive(&mut self, ex: &mut Control<'_, '_, Self>) {
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Update {
                    state,
                    reason,
                    message,
                } => self.report(ex, state, reason, message),
                Action::Launch(spec) => self.process = Some(ex.launch(spec)),
                Action::Signal(signal) => {
                    if let Some(id) = self.process {
                        ex.signal(id, signal);
                    }
                }
                Action::StartContainer(spec) => match &self.containers {
                    Some(driver) => ex.ctx().send(driver, DriverCommand::Start(spec)),
                    None => {
                        let why = "this executor has no container driver";
                        self.core.handle_container_exit(ContainerExit::failed(why));
                    }
                },
                Action::StopContainer { grace } => {
                    if let Some(driver) = &self.containers {
                        ex.ctx().send(driver, DriverCommand::Stop { grace });
                    }
                }
            }
        }
        self.arm_timer(ex);
    }

    fn report(
        &mut self,
        ex: &mut Control<'_, '_, Self>,
        state: TaskState,
        reason: Option<StatusReason>,
        message: String,
    ) {
        let Some(task_id) = self.core.task_id().cloned() else {
            return;
        };
        if let Err(e) = ex.update_because(&task_id, state, reason, message) {
            // At most three updates, each once: the driver refuses none of
            // them unless the agent is gone, when nobody hears them anyway.
            tracing::warn!(task = %task_id, "cannot report {state:?}: {e}");
        }
        if state.is_terminal() {
            ex.finish();
        }
    }

    fn arm_timer(&mut self, ex: &mut Control<'_, '_, Self>) {
        let want = self.core.poll_timeout();
        if self.timer.map(|(_, at)| at) == want {
            return;
        }
        if let Some((id, _)) = self.timer.take() {
            ex.cancel(id);
        }
        if let Some(at) = want {
            let id = ex.delay(at.saturating_since(ex.now()), |me: &mut Self, ex| {
                me.timer = None;
                me.core.handle_timeout(ex.now());
                me.drive(ex);
            });
            self.timer = Some((id, at));
        }
    }

    fn kill_for(&mut self, ex: &mut Control<'_, '_, Self>, grace: Duration, cause: KillCause) {
        self.core.handle_kill(ex.now(), grace, cause);
        self.drive(ex);
    }
}

impl Executor for CommandExecutor {
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
        if let Some(running) = self.core.task_id() {
            let why = format!("a command executor runs one task, and it runs {running}");
            let id = task.task_id;
            if let Err(e) = ex.update_because(&id, TaskState::Error, None, why) {
                tracing::warn!(task = %id, "cannot refuse a second task: {e}");
            }
            return;
        }
        self.core.handle_launch(&task);
        self.drive(ex);
    }

    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, task_id: &TaskId, grace: Duration) {
        if self.core.task_id() == Some(task_id) {
            self.kill_for(ex, grace, KillCause::Framework);
        }
    }

    fn shutdown(&mut self, ex: &mut Control<'_, '_, Self>, grace: Duration) {
        self.kill_for(ex, grace, KillCause::Shutdown);
    }

    fn agent_lost(&mut self, ex: &mut Control<'_, '_, Self>) {
        self.kill_for(ex, AGENT_LOST_GRACE, KillCause::AgentLost);
    }

    fn process_exited(
        &mut self,
        ex: &mut Control<'_, '_, Self>,
        id: ProcessId,
        status: ExitStatus,
    ) {
        if self.process != Some(id) {
            return;
        }
        self.process = None;
        self.core.handle_process_exit(status);
        self.drive(ex);
    }

    fn handlers(h: &mut Handlers<ExecutorDriver<Self>>) {
        h.on::<ContainerStarted>().on::<ContainerExited>();
    }
}

/// Whether `ctx`'s current message comes from this executor's container
/// driver; logged if not.
fn from_driver<M: Message>(
    driver: Option<&Pid>,
    ctx: &Ctx<'_, ExecutorDriver<CommandExecutor>>,
) -> bool {
    let ok = driver.is_some() && ctx.sender() == driver;
    if !ok {
        tracing::warn!(
            sender = ?ctx.sender(),
            message = M::NAME,
            "dropping a container report that does not come from this executor's driver"
        );
    }
    ok
}

impl Handler<ContainerStarted> for ExecutorDriver<CommandExecutor> {
    fn handle(&mut self, msg: ContainerStarted, ctx: &mut Ctx<'_, Self>) {
        if from_driver::<ContainerStarted>(self.executor().containers.as_ref(), ctx) {
            self.with(ctx, |e, ex| {
                e.core.handle_container_started(&msg.name);
                e.drive(ex);
            });
        }
    }
}

impl Handler<ContainerExited> for ExecutorDriver<CommandExecutor> {
    fn handle(&mut self, msg: ContainerExited, ctx: &mut Ctx<'_, Self>) {
        if from_driver::<ContainerExited>(self.executor().containers.as_ref(), ctx) {
            self.with(ctx, |e, ex| {
                e.core.handle_container_exit(msg.exit);
                e.drive(ex);
            });
        }
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod sim_tests;
