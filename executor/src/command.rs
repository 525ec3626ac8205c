//! The command executor: an [`Executor`] that carries [`Lifecycle`]'s
//! decisions out through the SDK's [`Control`].

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::ids::TaskId;
use corral_api::task::{StatusReason, TaskInfo, TaskState};
use corral_executor_sdk::{Control, Executor, ExecutorDriver, AGENT_LOST_GRACE};
use corral_runtime::{Ctx, ExitStatus, Handler, Handlers, Message, Pid, ProcessId, Time, TimerId};

pub use crate::config::Site;
use crate::container::{ContainerExit, ContainerExited, ContainerStarted, DriverCommand};
use crate::lifecycle::{Action, KillCause, Lifecycle};

/// Runs the shell commands of the tasks the agent launched together (as
/// processes), or one task in a container, and reports their statuses.
/// Run it in an [`ExecutorDriver`], which registers with the agent, hands
/// the tasks over and delivers each status until the agent holds it.
///
/// For each task it reports `TASK_STARTING`, launches the command in the
/// task's own sandbox ([`Site::for_task`]) and process group, reports
/// `TASK_RUNNING`, and reports the command's end (`TASK_FINISHED`,
/// `TASK_FAILED`, or `TASK_KILLED` after a kill or a shutdown: SIGTERM,
/// then SIGKILL after the grace). A kill stops its task alone. Once the
/// agent holds every task's end, the driver stops with
/// [`Outcome::Finished`](corral_executor_sdk::Outcome::Finished): the
/// agent gives an executor its tasks when it registers and never a later
/// one. If the agent goes away for good every command is killed (SIGKILL
/// after [`AGENT_LOST_GRACE`]); a checkpointing framework's tasks keep
/// running while the driver waits for the agent to come back.
///
/// A task with a container runs through the container driver actor named
/// by [`with_containers`](Self::with_containers) (the binary's edge starts
/// one; see [`crate::docker::actor`]): the executor sends it
/// [`DriverCommand`]s and believes [`ContainerStarted`] and
/// [`ContainerExited`] from that actor only. The driver runs one
/// container, so a container task runs alone in its executor (the agent
/// never sends it another). Without a driver, container tasks fail at once.
pub struct CommandExecutor {
    site: Site,
    tasks: BTreeMap<TaskId, Slot>,
    /// Which task each launched process runs.
    processes: BTreeMap<ProcessId, TaskId>,
    /// The task running in a container, if any.
    container_task: Option<TaskId>,
    /// The container driver actor, if container tasks can run.
    containers: Option<Pid>,
}

/// One task: its decisions, its process and its one timer.
struct Slot {
    core: Lifecycle,
    process: Option<ProcessId>,
    timer: Option<(TimerId, Time)>,
}

impl CommandExecutor {
    /// A command executor whose own sandbox is `site`'s.
    pub fn new(site: Site) -> CommandExecutor {
        CommandExecutor {
            site,
            tasks: BTreeMap::new(),
            processes: BTreeMap::new(),
            container_task: None,
            containers: None,
        }
    }

    /// This executor, running container tasks through the container
    /// driver actor `driver`.
    pub fn with_containers(mut self, driver: Pid) -> CommandExecutor {
        self.containers = Some(driver);
        self
    }

    /// Carries out task `id`'s actions, then re-arms its timer.
    fn drive(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId) {
        loop {
            let Some(slot) = self.tasks.get_mut(id) else {
                return;
            };
            let Some(action) = slot.core.poll_action() else {
                break;
            };
            match action {
                Action::Update {
                    state,
                    reason,
                    message,
                } => self.report(ex, id, state, reason, message),
                Action::Launch(spec) => {
                    let process = ex.launch(spec);
                    slot.process = Some(process);
                    self.processes.insert(process, id.clone());
                }
                Action::Signal(signal) => {
                    if let Some(process) = slot.process {
                        ex.signal(process, signal);
                    }
                }
                Action::StartContainer(spec) => match &self.containers {
                    Some(driver) => ex.ctx().send(driver, DriverCommand::Start(spec)),
                    None => {
                        let why = "this executor has no container driver";
                        slot.core.handle_container_exit(ContainerExit::failed(why));
                    }
                },
                Action::StopContainer { grace } => {
                    if let Some(driver) = &self.containers {
                        ex.ctx().send(driver, DriverCommand::Stop { grace });
                    }
                }
            }
        }
        self.arm_timer(ex, id);
    }

    fn report(
        &mut self,
        ex: &mut Control<'_, '_, Self>,
        id: &TaskId,
        state: TaskState,
        reason: Option<StatusReason>,
        message: String,
    ) {
        if let Err(e) = ex.update_because(id, state, reason, message) {
            // At most three updates per task, each once: the driver refuses
            // none of them unless the agent is gone, when nobody hears them.
            tracing::warn!(task = %id, "cannot report {state:?}: {e}");
        }
        if state.is_terminal() {
            self.finish_if_done(ex);
        }
    }

    /// Says the work is done once every task given has ended.
    fn finish_if_done(&self, ex: &mut Control<'_, '_, Self>) {
        if self.tasks.values().all(|s| s.core.has_ended()) {
            ex.finish();
        }
    }

    fn arm_timer(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId) {
        let Some(slot) = self.tasks.get_mut(id) else {
            return;
        };
        let want = slot.core.poll_timeout();
        if slot.timer.map(|(_, at)| at) == want {
            return;
        }
        if let Some((timer, _)) = slot.timer.take() {
            ex.cancel(timer);
        }
        if let Some(at) = want {
            let task = id.clone();
            let timer = ex.delay(at.saturating_since(ex.now()), move |me: &mut Self, ex| {
                if let Some(slot) = me.tasks.get_mut(&task) {
                    slot.timer = None;
                    slot.core.handle_timeout(ex.now());
                }
                me.drive(ex, &task);
            });
            slot.timer = Some((timer, at));
        }
    }

    fn kill_for(
        &mut self,
        ex: &mut Control<'_, '_, Self>,
        id: &TaskId,
        grace: Duration,
        cause: KillCause,
    ) {
        if let Some(slot) = self.tasks.get_mut(id) {
            slot.core.handle_kill(ex.now(), grace, cause);
            self.drive(ex, id);
        }
    }

    fn kill_all(&mut self, ex: &mut Control<'_, '_, Self>, grace: Duration, cause: KillCause) {
        let ids: Vec<TaskId> = self.tasks.keys().cloned().collect();
        for id in &ids {
            self.kill_for(ex, id, grace, cause);
        }
    }

    /// Why `task` cannot run here, if it cannot.
    fn refusal(&self, task: &TaskInfo) -> Option<String> {
        if let Some(running) = &self.container_task {
            return Some(format!(
                "task {running} runs in a container in this executor, and a container task runs alone"
            ));
        }
        if task.container.is_some() && !self.tasks.is_empty() {
            return Some("a container task runs alone in its executor".into());
        }
        if self.site.tasks_dir.is_none() && !self.tasks.is_empty() {
            return Some(
                "the agent gave this executor no directory for more than one task's sandbox".into(),
            );
        }
        None
    }
}

impl Executor for CommandExecutor {
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
        let id = task.task_id.clone();
        if self.tasks.contains_key(&id) {
            // The agent sent it again after a registration that crossed our
            // first report on it: it runs already.
            tracing::debug!(task = %id, "ignoring a task given again");
            return;
        }
        let site = match (self.refusal(&task), self.site.for_task(&id)) {
            (None, Some(site)) => site,
            (why, _) => {
                let why = why.unwrap_or_else(|| format!("task id {id} cannot name a sandbox"));
                if let Err(e) = ex.update_because(&id, TaskState::Error, None, why) {
                    tracing::warn!(task = %id, "cannot refuse a task: {e}");
                }
                self.finish_if_done(ex);
                return;
            }
        };
        if task.container.is_some() {
            self.container_task = Some(id.clone());
        }
        let mut core = Lifecycle::new(site);
        core.handle_launch(&task);
        let slot = Slot {
            core,
            process: None,
            timer: None,
        };
        self.tasks.insert(id.clone(), slot);
        self.drive(ex, &id);
    }

    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, task_id: &TaskId, grace: Duration) {
        self.kill_for(ex, task_id, grace, KillCause::Framework);
    }

    fn shutdown(&mut self, ex: &mut Control<'_, '_, Self>, grace: Duration) {
        self.kill_all(ex, grace, KillCause::Shutdown);
    }

    fn agent_lost(&mut self, ex: &mut Control<'_, '_, Self>) {
        self.kill_all(ex, AGENT_LOST_GRACE, KillCause::AgentLost);
    }

    fn process_exited(
        &mut self,
        ex: &mut Control<'_, '_, Self>,
        id: ProcessId,
        status: ExitStatus,
    ) {
        let Some(task) = self.processes.remove(&id) else {
            return;
        };
        if let Some(slot) = self.tasks.get_mut(&task) {
            slot.process = None;
            slot.core.handle_process_exit(status);
            self.drive(ex, &task);
        }
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
                let Some(id) = e.container_task.clone() else {
                    return;
                };
                if let Some(slot) = e.tasks.get_mut(&id) {
                    slot.core.handle_container_started(&msg.name);
                }
                e.drive(ex, &id);
            });
        }
    }
}

impl Handler<ContainerExited> for ExecutorDriver<CommandExecutor> {
    fn handle(&mut self, msg: ContainerExited, ctx: &mut Ctx<'_, Self>) {
        if from_driver::<ContainerExited>(self.executor().containers.as_ref(), ctx) {
            self.with(ctx, |e, ex| {
                let Some(id) = e.container_task.clone() else {
                    return;
                };
                if let Some(slot) = e.tasks.get_mut(&id) {
                    slot.core.handle_container_exit(msg.exit);
                }
                e.drive(ex, &id);
            });
        }
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod sim_tests;
